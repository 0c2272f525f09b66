"""The judge's prompts, in Japanese and English, written for this lab in the MT-bench conventions:
a pairwise judge ends with [[A]], [[B]] or [[C]] (tie); a grader ends with "[[rating]]" (1–10).
Four shapes: single, single with a reference, pairwise, pairwise with a reference. A multi-turn
question shows every turn, and the judge is asked to weigh the last one most.

The answer blocks are fenced by fixed markers (ANSWER_MARKERS) so a reader, or a rule-based test
judge, can find each answer again in the prompt."""
from __future__ import annotations

from dataclasses import dataclass

PROMPT_VERSION = "v1"

ANSWER_MARKERS = {
    "en": {"A": ("[The Start of Assistant A's Answer]", "[The End of Assistant A's Answer]"),
           "B": ("[The Start of Assistant B's Answer]", "[The End of Assistant B's Answer]"),
           "single": ("[The Start of the Assistant's Answer]", "[The End of the Assistant's Answer]")},
    "ja": {"A": ("[アシスタントAの回答ここから]", "[アシスタントAの回答ここまで]"),
           "B": ("[アシスタントBの回答ここから]", "[アシスタントBの回答ここまで]"),
           "single": ("[アシスタントの回答ここから]", "[アシスタントの回答ここまで]")},
}

TEXT = {
    "en": {
        "system_pair": (
            "You compare two AI assistants' answers to the same user question, as a fair and careful judge. "
            "Decide which answer serves the user better: is it correct, helpful, relevant, as deep and as "
            "detailed as the question needs? Treat the two answers alike: the order in which they appear "
            "says nothing about their quality, and a longer answer is not a better one by itself. Do not "
            "favour either assistant because of its name or style."),
        "system_single": (
            "You grade one AI assistant's answer to a user question, as a fair and careful judge. Consider "
            "correctness, helpfulness, relevance, depth and the right amount of detail. Length alone earns "
            "nothing."),
        "ref_note": "A reference answer is given; check the assistant's answer against it, and count mistakes heavily.",
        "multi_note": "The question has several turns; judge every answer, and weigh the answer to the last turn most.",
        "question": "[User Question]",
        "reference": "[Reference Answer]",
        "turn": "(turn {n})",
        "verdict_pair": ("First explain your comparison in a few sentences. Then give your final verdict on its own "
                         "line in exactly this format: \"[[A]]\" if assistant A is better, \"[[B]]\" if assistant B "
                         "is better, \"[[C]]\" for a tie."),
        "verdict_single": ("First explain your grade in a few sentences. Then rate the answer from 1 to 10 on its "
                           "own line in exactly this format: \"Rating: [[rating]]\", for example \"Rating: [[6]]\"."),
        "only_pair": "Reply with the verdict only: [[A]], [[B]] or [[C]].",
        "only_single": "Reply with the rating only, as [[1]] … [[10]].",
    },
    "ja": {
        "system_pair": (
            "あなたは公平で注意深い審査員です。同じユーザーの質問に対する二つの AI アシスタントの回答を比べ、"
            "どちらがユーザーの役に立つかを判定してください。内容の正確さ、有用さ、質問との関連、質問が求める"
            "深さと詳しさを見てください。二つの回答は対等に扱います。表示された順番は回答の良し悪しと関係が"
            "なく、長い回答がそれだけで良いわけでもありません。アシスタントの名前や文体で有利・不利をつけない"
            "でください。"),
        "system_single": (
            "あなたは公平で注意深い審査員です。ユーザーの質問に対する一つの AI アシスタントの回答を採点して"
            "ください。正確さ、有用さ、質問との関連、深さ、ちょうどよい詳しさを見ます。長さだけでは加点しません。"),
        "ref_note": "参考解答を示します。回答を参考解答と照らし合わせ、誤りは重く見てください。",
        "multi_note": "質問は複数のターンからなります。すべての回答を見たうえで、最後のターンへの回答を最も重視してください。",
        "question": "[ユーザーの質問]",
        "reference": "[参考解答]",
        "turn": "（ターン{n}）",
        "verdict_pair": ("まず比較の理由を数文で説明してください。そのあと最終判定を一行で、必ず次の形式で書いて"
                         "ください。アシスタントAが良ければ「[[A]]」、アシスタントBが良ければ「[[B]]」、"
                         "同等なら「[[C]]」。"),
        "verdict_single": ("まず採点の理由を数文で説明してください。そのあと1から10の評点を一行で、必ず"
                           "「評価: [[評点]]」の形式で書いてください（例：「評価: [[6]]」）。"),
        "only_pair": "判定だけを [[A]]、[[B]]、[[C]] のいずれかで答えてください。",
        "only_single": "評点だけを [[1]] から [[10]] の形で答えてください。",
    },
}


@dataclass(frozen=True)
class JudgePrompt:
    prompt_id: str
    messages: tuple[dict, ...]

    def as_list(self) -> list[dict]:
        return [dict(m) for m in self.messages]


def _turns_block(texts: list[str], lang: str) -> str:
    if len(texts) == 1:
        return texts[0].strip()
    return "\n\n".join(f"{TEXT[lang]['turn'].format(n=i + 1)}\n{t.strip()}" for i, t in enumerate(texts))


def _answer_block(which: str, answers: list[str], lang: str) -> str:
    start, end = ANSWER_MARKERS[lang][which]
    return f"{start}\n{_turns_block(answers, lang)}\n{end}"


def _head(turns: list[str], reference: list[str] | None, lang: str) -> list[str]:
    t = TEXT[lang]
    parts = [f"{t['question']}\n{_turns_block(turns, lang)}"]
    if reference:
        parts.append(f"{t['reference']}\n{_turns_block(reference, lang)}")
    return parts


def _notes(turns: list[str], reference: list[str] | None, lang: str) -> str:
    t = TEXT[lang]
    notes = [t["ref_note"]] if reference else []
    if len(turns) > 1:
        notes.append(t["multi_note"])
    return (" " + " ".join(notes)) if notes else ""


def pairwise_prompt(turns: list[str], answer_a: list[str], answer_b: list[str], lang: str = "ja",
                    reference: list[str] | None = None, verdict_only: bool = False) -> JudgePrompt:
    t = TEXT[lang]
    body = _head(turns, reference, lang) + [_answer_block("A", answer_a, lang), _answer_block("B", answer_b, lang),
                                            t["only_pair"] if verdict_only else t["verdict_pair"]]
    name = f"pair{'-ref' if reference else ''}{'-only' if verdict_only else ''}-{PROMPT_VERSION}-{lang}"
    return JudgePrompt(name, ({"role": "system", "content": t["system_pair"] + _notes(turns, reference, lang)},
                              {"role": "user", "content": "\n\n".join(body)}))


def single_prompt(turns: list[str], answer: list[str], lang: str = "ja", reference: list[str] | None = None,
                  verdict_only: bool = False) -> JudgePrompt:
    t = TEXT[lang]
    body = _head(turns, reference, lang) + [_answer_block("single", answer, lang),
                                            t["only_single"] if verdict_only else t["verdict_single"]]
    name = f"single{'-ref' if reference else ''}{'-only' if verdict_only else ''}-{PROMPT_VERSION}-{lang}"
    return JudgePrompt(name, ({"role": "system", "content": t["system_single"] + _notes(turns, reference, lang)},
                              {"role": "user", "content": "\n\n".join(body)}))


def extract_answers(prompt_text: str) -> dict[str, str]:
    """The answer blocks found in a judge prompt (keys A, B or single), in either language."""
    out = {}
    for markers in ANSWER_MARKERS.values():
        for which, (start, end) in markers.items():
            i = prompt_text.find(start)
            j = prompt_text.find(end, i + len(start)) if i >= 0 else -1
            if i >= 0 and j >= 0:
                out[which] = prompt_text[i + len(start):j].strip()
    return out
