"""The embedded models: a tokenizer trained on the bundled texts and a small Llama-architecture model
with a ChatML chat template, pre-trained by the lab's own `pretrain` job (`tiny`, the base every lesson
starts from), then given a reading stage by its own `sft` job (`tiny-rag`, the RAG tab's generator).
Deterministic: the same corpus and seed give the same tokenizer and initial weights.

Why it looks the way it does (bench/embedded_model.py measures each point):
- The tokenizer is character-level BPE: every character of the bundled texts is a token of its own
  (then merges), and only characters never seen fall back to byte tokens (<0xE3> …). The byte tokens
  are suppressed in the generation config, so the model can only write whole characters — never a
  byte sequence that fails to decode as UTF-8 ("�").
- Pre-training (presets/pretrain-tiny.yaml) reads the bundled corpus and the RAG documents in the RAG
  chat's prompt layout (reading examples: passages, a question of the bundled reading set, an answer
  quoting the passage). Its preset packs with "bfd", which cuts each example at the 256-token block,
  so pre-training sees the passages, many times, and not the answers; the SFT and DPO lessons were
  measured on this model.
- The reading stage (presets/reading-tiny.yaml) trains the answers: each reading question in the RAG
  chain's own prompt, fitted to the model's window as the chain fits it, beside the passages retrieval
  would put near it, questions on one passage sharing its prompts, loss on the answer only. At
  2.4 M parameters it memorises these questions with their passages — asked one through the RAG chat,
  tiny-rag quotes the gold span, and without the passages mostly does not; a new question gets no span
  (it does not read). Teaching reading itself (whole reading examples in pre-training, a copy task) did
  not work within the bootstrap's budget: bench/embedded_reading.py, README."""
from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from ..paths import SAMPLES_DIR, models_dir

CORPUS = SAMPLES_DIR / "pretrain_corpus.jsonl"
READING = SAMPLES_DIR / "rag_reading_ja.jsonl"
RAG_DOCS = SAMPLES_DIR / "rag_docs"
# every bundled text, so each character a lesson shows is a whole token
TOKENIZER_TEXTS = (CORPUS, SAMPLES_DIR / "sft_ja.jsonl", SAMPLES_DIR / "sft_alpaca_ja.jsonl", SAMPLES_DIR / "dpo_ja.jsonl",
                   SAMPLES_DIR / "kto_ja.jsonl", SAMPLES_DIR / "hh_ja.jsonl", SAMPLES_DIR / "judge_questions_ja.jsonl",
                   SAMPLES_DIR / "rag_qa.jsonl", READING)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
BYTE_TOKENS = [f"<0x{b:02X}>" for b in range(256)]
VOCAB_SIZE = 4096
SEED = 1234
BOOTSTRAP_CORPUS = "bootstrap_corpus.jsonl"  # written into tiny-init/: corpus + RAG documents + reading task
READING_PASSAGES = 3  # chunks shown per reading example (the gold one among them)
READING_COPIES = 3  # each question with different distractors and positions
READING_SET = "reading_set.jsonl"  # written into tiny-init/: the reading stage's conversations
# Reading-stage prompts per passage (other passages beside it, other answer lengths), each asked with
# every question that passage answers: more variety, fewer repeats of each prompt, the same steps.
# Measured (bench/embedded_reading.py, 200 steps; gold span in the RAG answer of the 46 training
# questions, with / without retrieval; training seeds 1234 and 1): 3 → 63% / 9%; 6 → 78% / 28%;
# 10 → 91% / 24% and 78% / 28%; 16 → 96% / 33% and 76% / 11%. 16 answers more without retrieval
# (the Fuji question among them), blurring the lesson; 10 it is.
READING_STAGE_COPIES = 10
READING_STAGE_NEAR = 6  # the passages nearest a question (BM25) that its reading examples draw from
READING_STAGE_ANSWER_TOKENS = (64, 128)  # the RAG chat's and the chain's default max_new_tokens: both prompt sizes

# ChatML with {% generation %} markers, so TRL's assistant_only_loss can mask everything but the
# assistant's turns (the end-of-turn token included, so the model learns to stop).
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

# max_position_embeddings is the window the model is trained to read in (pre-training blocks of 256,
# the reading stage's prompts up to 512): the RAG chain fits its prompt to it (lab/rag/chain.fit_hits).
MODEL_SHAPE = dict(hidden_size=192, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4,
                   num_key_value_heads=2, max_position_embeddings=512, rope_theta=10000.0,
                   tie_word_embeddings=True)


_NOT_TEXT = {"id", "lang", "source", "kind", "split", "role", "category", "label", "question_id"}


def _strings(value, key: str = ""):
    if key in _NOT_TEXT:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, key)


def _texts():
    for path in TOKENIZER_TEXTS:
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                yield from _strings(json.loads(line))
    for path in sorted(RAG_DOCS.iterdir()) if RAG_DOCS.exists() else ():
        if path.is_file():
            yield path.read_text(encoding="utf-8", errors="replace")


def build_tokenizer():
    """Character-level BPE with byte fallback: all characters of the bundled texts, then merges up to
    VOCAB_SIZE, then the 256 byte tokens for anything else a user types."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    texts = list(_texts())
    alphabet = sorted({c for text in texts for c in text} - {" ", "\ufffd"})  # " " becomes "▁" below
    tok = Tokenizer(models.BPE(byte_fallback=True))
    # spaces become "▁" and start a word (English); Japanese runs are words of their own
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="never")
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()])
    trainer = trainers.BpeTrainer(vocab_size=VOCAB_SIZE - len(BYTE_TOKENS), special_tokens=SPECIAL_TOKENS, min_frequency=2,
                                  initial_alphabet=alphabet, limit_alphabet=len(alphabet) + 16, show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    # the byte tokens are ordinary vocabulary (not special: decoding must not drop them)
    state = json.loads(tok.to_str())
    vocab = state["model"]["vocab"]
    for piece in BYTE_TOKENS:
        vocab.setdefault(piece, len(vocab))
    tok = Tokenizer.from_str(json.dumps(state))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   bos_token=None, unk_token=None, model_max_length=MODEL_SHAPE["max_position_embeddings"])
    fast.chat_template = CHAT_TEMPLATE
    return fast


def byte_token_ids(tokenizer) -> list[int]:
    return tokenizer.convert_tokens_to_ids(BYTE_TOKENS)


def build_init_model(out_dir: Path) -> Path:
    """Tokenizer + randomly initialised model (safetensors) + the bootstrap corpus, in `out_dir`."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(SEED)
    tokenizer = build_tokenizer()
    config = LlamaConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id,
                         eos_token_id=tokenizer.eos_token_id, bos_token_id=None, **MODEL_SHAPE)
    model = LlamaForCausalLM(config)
    # suppress_tokens: only whole characters come out (the byte tokens exist for reading user text)
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                                               do_sample=True, temperature=0.7, top_p=0.9, max_new_tokens=128,
                                               suppress_tokens=byte_token_ids(tokenizer))
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    write_bootstrap_corpus(tmp / BOOTSTRAP_CORPUS, tokenizer)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    return out_dir


# ---- the bootstrap corpus: bundled text + a reading task from the RAG documents -----------------
def reading_items(split: str | None = "train") -> list[dict]:
    rows = [json.loads(line) for line in READING.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split is None or r.get("split", "train") == split]


def _rag_chunks():
    from ..rag.chunking import split_documents
    from ..rag.loaders import load_documents
    from ..rag.spec import ChunkingSpec

    chunking = ChunkingSpec()
    return split_documents(load_documents(RAG_DOCS).documents, chunking.size, chunking.overlap)


def _as_hits(chunks) -> list:
    from ..rag.retrieve import Hit
    return [Hit(rank=i + 1, source=c.source, chunk_id=c.id, score=0.0, text=c.text, title=c.title) for i, c in enumerate(chunks)]


def _cited(answer: str, number: int) -> str:
    """The reference answer citing passage `number`, as the RAG prompt asks: 「…です[2]。」."""
    answer = answer.strip()
    return answer[:-1] + f"[{number}]。" if answer.endswith("。") else answer + f" [{number}]"


def reading_conversations(seed: int = SEED) -> list[list[dict]]:
    """Passages (the one holding the answer among others), the question in the RAG chat's prompt, and
    the reference answer citing the passage's number."""
    from ..rag.chain import rag_messages

    rng = random.Random(seed)
    chunks = _rag_chunks()
    out = []
    for item in reading_items("train"):
        holding = [c for c in chunks if c.source == item["source"] and item["span"] in c.text]
        if not holding:
            continue
        others = [c for c in chunks if item["span"] not in c.text]
        for _ in range(READING_COPIES):
            shown = rng.sample(others, READING_PASSAGES - 1)
            where = rng.randrange(READING_PASSAGES)
            shown.insert(where, rng.choice(holding))
            out.append(rag_messages(item["question"], _as_hits(shown))
                       + [{"role": "assistant", "content": _cited(item["answer"], where + 1)}])
    rng.shuffle(out)
    return out


def _similar_first(question: str, chunks: list) -> list:
    """`chunks` ranked by BM25 against the question, with the terms the RAG index uses: the passages
    retrieval would put beside the answer (its neighbours in the same document, others on the subject)."""
    from ..rag.bm25 import SparseBM25
    from ..rag.tokenizers import get_tokenizer

    terms = get_tokenizer("sudachi")
    scores = SparseBM25([terms(c.text) for c in chunks]).get_scores(terms(question))
    return [chunks[i] for i in sorted(range(len(chunks)), key=lambda i: -scores[i])]


def reading_stage_conversations(tokenizer, seed: int = SEED, window: int | None = None,
                                copies: int | None = None) -> list[dict]:
    """The reading stage's data: each training question of the bundled reading set in the RAG chain's
    own prompt, fitted to the tiny model's window exactly as the chain fits it (fit_hits: the best
    chunks whole) — the passage holding the answer, first more often than not (as retrieval puts it),
    among others (mostly passages retrieval would rank near it, some random) — and the reference
    answer citing that passage's number.

    Questions answered by the same passage get the same prompts but for the question: a model this
    small otherwise learns "this passage → that answer" and gives every question on the shinkansen
    passage the same reply (measured: the N700S question answered 「0系です[1]。」)."""
    from ..rag.chain import fit_hits, prompt_budget, token_counter

    rng = random.Random(seed)
    count = token_counter(tokenizer)
    chunks = _rag_chunks()
    budgets = [prompt_budget(window or MODEL_SHAPE["max_position_embeddings"], n) for n in READING_STAGE_ANSWER_TOKENS]
    by_passage: dict[str, list] = {}
    for item in reading_items("train"):
        holding = [c for c in chunks if c.source == item["source"] and item["span"] in c.text]
        if holding:
            by_passage.setdefault(holding[0].id, []).append(item)
    ids = {c.id: c for c in chunks}
    out = []
    for passage_id, items in by_passage.items():
        passage = ids[passage_id]
        others = [c for c in chunks if not any(i["span"] in c.text for i in items)]
        near = _similar_first(" ".join(i["question"] for i in items), others)[:READING_STAGE_NEAR]
        for copy in range(copies or READING_STAGE_COPIES):
            n_near = rng.randint(1, 3)
            shown = rng.sample(near, n_near)
            shown += rng.sample([c for c in others if c not in shown], 4 - n_near)
            rng.shuffle(shown)
            shown.insert(0 if rng.random() < 0.7 else rng.randrange(1, 3), passage)
            for item in items:
                messages, used = fit_hits(item["question"], _as_hits(shown), None, count, budgets[copy % len(budgets)])
                where = next((h.rank for h in used if item["span"] in h.text), None)
                if where is None:  # the window held only passages before it
                    continue
                out.append({"messages": messages + [{"role": "assistant", "content": _cited(item["answer"], where)}]})
    rng.shuffle(out)
    return out


def _write_texts(path: Path, texts: list[str]) -> Path:
    random.Random(SEED).shuffle(texts)
    with path.open("w", encoding="utf-8") as f:
        for text in texts:
            f.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
    return path


def write_bootstrap_corpus(path: Path, tokenizer) -> Path:
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [r["text"] for r in rows if r.get("text")]
    texts += [tokenizer.apply_chat_template(conv, tokenize=False) for conv in reading_conversations()]
    _write_texts(path, texts)
    with (path.parent / READING_SET).open("w", encoding="utf-8") as f:
        for row in reading_stage_conversations(tokenizer):
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


READER = "tiny-rag"  # tiny after its reading stage: the RAG tab's default generator


def tiny_dir(name: str = "tiny") -> Path:
    return models_dir() / name


def is_built() -> bool:
    return all((tiny_dir(name) / "model.safetensors").exists() for name in ("tiny", READER))


def bootstrap_stages(max_steps: int | None = None) -> list:
    """The runs that build the embedded models, as (model name, spec from the previous run's id):
    pre-training (presets/pretrain-tiny.yaml on the corpus build_init_model wrote) makes `tiny`, the
    base every lesson starts from; the reading stage (presets/reading-tiny.yaml on its reading set,
    from that run) makes `tiny-rag`, the RAG tab's generator. `max_steps` shortens every stage."""
    from ..presets import load_preset
    init = models_dir() / "tiny-init"
    steps = [f"train.max_steps={max_steps}"] if max_steps else []

    def pretraining(_previous):
        return load_preset("pretrain-tiny", [f"dataset.path={init / BOOTSTRAP_CORPUS}", *steps])

    def reading(previous):
        return load_preset("reading-tiny", [f"model.name=run:{previous}", f"dataset.path={init / READING_SET}", *steps])
    return [("tiny", pretraining), (READER, reading)]


def install(run_id: str, name: str) -> Path:
    """Copy run `run_id`'s model to models/<name>/ (replacing it whole, never half-written)."""
    from .load import resolve_model
    source = Path(resolve_model(f"run:{run_id}"))
    target = tiny_dir(name)
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp, ignore=shutil.ignore_patterns("training_args.bin", "checkpoint-*"))
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return target
