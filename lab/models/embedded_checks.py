"""The figures that say whether the embedded model teaches something: how close its greedy answers to
its own SFT training questions are (character F1), how many sampled replies carry U+FFFD, whether a
DPO policy prefers the chosen answers of held-out pairs (implicit reward accuracy), and whether a RAG
answer quotes the gold span of the retrieved text. Shared by bench/embedded_model.py and the tests."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..paths import SAMPLES_DIR
from . import utf8

SFT_PRESET, DPO_PRESET = "sft-tiny", "dpo-tiny"
RAG_MODEL = "tiny-rag"  # tiny after the bootstrap's reading stage: the RAG tab's default generator
# what dpo-tiny's bundled pairs teach: the chosen reply opens with it, the rejected one is the same without
DPO_TRAIT = "ご質問ありがとうございます"


@dataclass
class F1Result:
    mean: float
    questions: list[str]
    references: list[str]
    answers: list[str]
    scores: list[float]


@dataclass
class RewardResult:
    accuracy: float
    margin: float
    n: int


@dataclass
class TraitResult:
    share: float  # held-out prompts whose greedy reply opens with DPO_TRAIT
    n: int
    replies: list[str]


@dataclass
class SpanResult:
    n: int
    with_retrieval: float
    without_retrieval: float
    examples: list[tuple] = field(default_factory=list)


def _split(path, preset: str, formats: tuple[str, ...], sets: tuple[str, ...] = ()):
    """(train rows, held-out rows) exactly as the preset's job (with `--set` overrides) splits them."""
    from ..data.formats import load_rows
    from ..presets import load_preset
    from ..train.common import split_rows

    spec = load_preset(preset, list(sets))
    rows, _ = load_rows(path, "auto", formats, spec.dataset.max_samples)
    train, held = split_rows(rows, spec.dataset.eval_split, spec.train.seed)
    key = lambda r: json.dumps(r, ensure_ascii=False, sort_keys=True)  # noqa: E731
    held_keys = {key(r) for r in held} if held is not None else set()
    return [r for r in rows if key(r) not in held_keys], [r for r in rows if key(r) in held_keys]


def sft_questions(n: int = 10, sets: tuple[str, ...] = ()) -> list[tuple[list[dict], str]]:
    """The first `n` training conversations of sft-tiny (run with `sets`): (messages before the last
    answer, that answer)."""
    from ..train.sft import SFT_FORMATS

    train, _ = _split(SAMPLES_DIR / "sft_ja.jsonl", SFT_PRESET, SFT_FORMATS, sets)
    out = []
    for row in train[:n]:
        messages = row["messages"]
        last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
        out.append((messages[:last], messages[last]["content"]))
    return out


def _model(name: str):
    from .load import load_causal_lm
    model, tokenizer = load_causal_lm(name)
    model.eval()
    return model, tokenizer


def answer(model, tokenizer, messages: list[dict], max_new_tokens: int = 128) -> str:
    from ..evals.generation import generate
    return generate(model, tokenizer, messages, max_new_tokens=max_new_tokens, temperature=0.0).text


def sft_f1(name: str, n: int = 10, sets: tuple[str, ...] = ()) -> F1Result:
    from ..evals.metrics.char_f1.char_f1 import char_f1

    model, tokenizer = _model(name)
    items = sft_questions(n, sets)
    answers = [answer(model, tokenizer, messages) for messages, _ in items]
    scores = [char_f1(a, ref) for a, (_, ref) in zip(answers, items)]
    return F1Result(sum(scores) / len(scores), [m[-1]["content"] for m, _ in items], [r for _, r in items], answers, scores)


def fffd_count(name: str, n: int = 200, temperature: float = 1.0, max_new_tokens: int = 64) -> int:
    """Replies sampled as the chat samples them (the model's generation config and the UTF-8
    constraint), `n` in all over ten prompts; how many contain U+FFFD."""
    import torch

    model, tokenizer = _model(name)
    prompts = [m for m, _ in sft_questions(10)]
    per_prompt = max(1, n // len(prompts))
    bad = done = 0
    torch.manual_seed(0)
    for messages in prompts:
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        count = min(per_prompt, n - done)
        if count <= 0:
            break
        with torch.no_grad():
            out = model.generate(input_ids=ids["input_ids"].repeat(count, 1), attention_mask=ids["attention_mask"].repeat(count, 1),
                                 do_sample=True, temperature=temperature, top_p=1.0, max_new_tokens=max_new_tokens,
                                 logits_processor=[utf8.utf8_processor(tokenizer, model)],
                                 pad_token_id=tokenizer.pad_token_id)
        for row in out[:, ids["input_ids"].shape[1]:]:
            bad += utf8.REPLACEMENT in tokenizer.decode(row, skip_special_tokens=True)
        done += count
    return bad


def _completion_logp(model, tokenizer, prompt: list[dict], completion: list[dict]) -> float:
    import torch

    head = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]
    full = tokenizer.apply_chat_template(prompt + completion, tokenize=True, return_dict=True)["input_ids"]
    ids = torch.tensor([list(full)])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, :-1].float()
    logp = torch.log_softmax(logits, -1).gather(1, ids[0, 1:, None])[:, 0]
    return float(logp[len(head) - 1:].sum())


def heldout_pairs() -> list[dict]:
    """The pairs dpo-tiny holds out (its eval split): prompts the policy never trained on."""
    from ..paths import resolve_input
    from ..presets import load_preset

    _, held = _split(resolve_input(load_preset(DPO_PRESET).dataset.path, "dataset"), DPO_PRESET, ("preference", "hh_rlhf"))
    return held


def dpo_reward_accuracy(policy: str, reference: str, beta: float | None = None) -> RewardResult:
    """DPO's implicit reward β·(log π(y|x) − log π_ref(y|x)) of chosen vs rejected, on held-out pairs."""
    from ..presets import load_preset

    beta = beta if beta is not None else load_preset(DPO_PRESET).train.beta
    pol, tok = _model(policy)
    ref, _ = _model(reference)
    wins, margins = 0, []
    pairs = heldout_pairs()
    for row in pairs:
        reward = {}
        for side in ("chosen", "rejected"):
            reward[side] = beta * (_completion_logp(pol, tok, row["prompt"], row[side]) - _completion_logp(ref, tok, row["prompt"], row[side]))
        wins += reward["chosen"] > reward["rejected"]
        margins.append(reward["chosen"] - reward["rejected"])
    return RewardResult(wins / len(pairs), sum(margins) / len(margins), len(pairs))


def dpo_trait(policy: str, max_new_tokens: int = 24) -> TraitResult:
    """Asked the held-out prompts (greedy), how many replies open with the trait the pairs teach."""
    model, tokenizer = _model(policy)
    replies = [answer(model, tokenizer, row["prompt"], max_new_tokens) for row in heldout_pairs()]
    return TraitResult(sum(r.startswith(DPO_TRAIT) for r in replies) / len(replies), len(replies), replies)


def side_by_side(a: str, b: str, n: int = 3) -> list[tuple[str, str, str]]:
    ma, ta = _model(a)
    mb, tb = _model(b)
    out = []
    for row in heldout_pairs()[:n]:
        out.append((row["prompt"][-1]["content"], answer(ma, ta, row["prompt"]), answer(mb, tb, row["prompt"])))
    return out


def reading_items(split: str | None = None) -> list[dict]:
    rows = [json.loads(line) for line in (SAMPLES_DIR / "rag_reading_ja.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split is None or r.get("split", "train") == split]


def rag_span_hits(name: str, index: str = "default", splits=("train", "heldout")) -> dict[str, SpanResult]:
    """Asked through the RAG chain (retrieval from `index`, the default prompt, greedy), does the answer
    contain the gold span? Also without retrieval (the question alone)."""
    from ..rag.chain import ask
    from ..rag.spec import GeneratorSpec

    generator = GeneratorSpec(model=name, temperature=0.0)
    out = {}
    for split in splits:
        items = reading_items(split)
        hit_with = hit_without = 0
        examples = []
        for item in items:
            with_r = ask(index, item["question"], generator=generator)["answer"]
            without_r = ask(index, item["question"], generator=generator, use_retrieval=False)["answer"]
            hit_with += item["span"] in with_r
            hit_without += item["span"] in without_r
            examples.append((item["question"], item["span"], with_r, without_r))
        out[split] = SpanResult(len(items), hit_with / max(1, len(items)), hit_without / max(1, len(items)), examples)
    return out
