"""The three views of RAG quality, each scored 0–1 by a judge model with its evidence kept:

- context relevance: do the retrieved chunks hold what the question needs?  (question, context)
- groundedness:      is every claim of the answer backed by the chunks?      (context, answer)
- answer relevance:  does the answer address the question at all?           (question, answer)

An OpenAI-compatible judge writes a short reason and a rating "[[1]]"…"[[5]]"; the reason is the
evidence. A local model is asked for the rating only and read by the probability it gives each of
"1"…"5" after "[[": the score is the expected rating, and the five probabilities are the evidence
(a small model rarely writes a parseable rating, but it always has a distribution)."""
from __future__ import annotations

import re

from ..errors import UserError
from .spec import RagJudgeSpec

VIEWS = ("context_relevance", "groundedness", "answer_relevance")

INSTRUCTIONS = {
    "context_relevance": (
        "あなたは検索システムの評価者です。質問と、検索で見つかった資料を読み、資料が質問に答えるための情報を"
        "どれだけ含んでいるかを1から5で評価してください。\n"
        "5: 答えがはっきり書かれている　3: 関係はあるが答えは一部だけ　1: 質問とまったく関係がない"),
    "groundedness": (
        "あなたは回答の裏付けを確かめる評価者です。回答に書かれている内容が資料によって裏付けられているかを"
        "1から5で評価してください。正しそうに見えても、資料に書かれていなければ裏付けはありません。\n"
        "5: すべて資料に書かれている　3: 資料にない内容が一部ある　1: ほとんどが資料にない内容か、資料と矛盾する"),
    "answer_relevance": (
        "あなたは回答の評価者です。回答が質問されたことに答えているかを1から5で評価してください。"
        "内容の正しさではなく、質問に向き合っているかを見ます。\n"
        "5: 的確に答えている　3: 一部だけ答えている　1: まったく答えていない"),
}
FIELDS = {"context_relevance": ("question", "context"), "groundedness": ("context", "answer"),
          "answer_relevance": ("question", "answer")}
LABELS = {"question": "[質問]", "context": "[資料]", "answer": "[回答]"}
ASK_REASON = "まず理由を一、二文で書き、最後の行に「評価: [[評点]]」の形で評点を書いてください（例: 評価: [[4]]）。"
ASK_RATING = "評点だけを [[1]] から [[5]] の形で答えてください。"
RATING = re.compile(r"\[\[\s*([1-5])\s*\]\]")
RATINGS = ("1", "2", "3", "4", "5")  # scored right after "[[" (lab/models/logprob_judge.py)
MIN_CONTEXT_CHARS = 60


def judge_prompt(view: str, texts: dict[str, str], rating_only: bool) -> list[dict]:
    body = "\n\n".join(f"{LABELS[f]}\n{(texts.get(f) or '').strip() or '（なし）'}" for f in FIELDS[view])
    ask = ASK_RATING if rating_only else ASK_REASON
    return [{"role": "user", "content": f"{INSTRUCTIONS[view]}\n\n{body}\n\n{ask}"}]


def rating_to_score(rating: float) -> float:
    return round((rating - 1.0) / 4.0, 4)


# ---- an OpenAI-compatible judge ---------------------------------------------------------------------
def judge_endpoint(spec: RagJudgeSpec, view: str, texts: dict[str, str]) -> dict:
    from ..models.openai_client import EndpointChat
    # the endpoint and its key are checked here, at the call (lab/endpoints.py)
    chat = EndpointChat(spec.base_url, spec.model, spec.api_key_env, timeout=120.0, max_retries=1,
                        field="judge.base_url", model_field="judge.model")
    reply = chat.ask(judge_prompt(view, texts, False), temperature=0.0, max_tokens=spec.max_tokens)
    if reply.error:
        raise UserError(f"judge.base_url: {spec.base_url} failed ({reply.error})")
    text = reply.text
    found = RATING.findall(text)
    if not found:
        return {"score": None, "rating": None, "reason": text.strip()[:1000], "error": "no [[rating]] in the reply"}
    rating = int(found[-1])
    return {"score": rating_to_score(rating), "rating": rating, "reason": text.strip()[:1000]}


# ---- a local judge, read by its rating distribution ---------------------------------------------------
def judge_local(spec: RagJudgeSpec, view: str, texts: dict[str, str]) -> dict:
    from ..models.logprob_judge import LogprobJudge
    judge = LogprobJudge(spec.model)  # kept beside the generator: a RAG evaluation alternates the two
    limit = judge.context_tokens() - 4
    context = texts.get("context") or ""
    chars = len(context)
    while True:
        shown = dict(texts, context=context if chars >= len(context) else context[:chars] + "…")
        messages = judge_prompt(view, shown, True)
        if judge.prompt_tokens(messages) <= limit:
            break
        if "context" not in FIELDS[view] or chars < MIN_CONTEXT_CHARS:
            break  # the question or answer alone is too long: the judge keeps the prompt's end
        chars = int(chars * 0.75)
    scored = judge.verdict_probs(messages, RATINGS)
    dist = scored.probs
    expected = sum((i + 1) * p for i, p in enumerate(dist))
    return {"score": rating_to_score(expected), "rating": round(expected, 3),
            "probabilities": {str(i + 1): round(p, 4) for i, p in enumerate(dist)}, "rating_mass": round(scored.mass, 6),
            "context_chars_shown": min(chars, len(context))}


def judge_all(spec: RagJudgeSpec, question: str, context: str, answer: str) -> dict[str, dict]:
    texts = {"question": question, "context": context, "answer": answer}
    fn = judge_endpoint if spec.base_url else judge_local
    return {view: fn(spec, view, texts) for view in VIEWS}
