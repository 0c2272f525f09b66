"""Can the embedded tiny model learn to read (issue 18, point 4)? The two ways tried, measured by the
share of bundled reading questions whose RAG answer contains the gold span (the RAG chain as the chat
runs it: retrieval from the bundled documents, the default prompt, greedy), with and without retrieval:

1. whole reading examples in pre-training: the bootstrap as shipped, except that each ~500-token
   reading example continues in the next block (`packing_strategy=bfd_split`) instead of being cut at
   256 tokens before its answer (`bfd`, the shipped preset);
2. a reading stage after pre-training: sft (full, loss on the answer only) on the reading questions in
   the RAG chain's own prompt — the passage holding the answer among random others, fitted to the
   model's window as the chain fits them (lab/rag/chain.fit_hits) — from the shipped tiny model.

    .venv/bin/python bench/embedded_reading.py                     # both, defaults below
    .venv/bin/python bench/embedded_reading.py --stage-steps 300   # a longer reading stage

Runs in a temporary workspace (the shipped tiny model is linked from $LAB_SOURCE_WORKSPACE or
./workspace); prints every figure with the wall and CPU time of each job."""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from embedded_model import run_json, seconds  # noqa: E402

from lab.models import embedded_checks as checks  # noqa: E402


def reading_file(path: Path, copies: int, seed: int = 1234) -> tuple[Path, int, float]:
    """The train reading questions in the RAG chain's prompt (gold passage + random others, fitted to
    tiny's window for the chain's default answer length); (path, examples, mean prompt tokens)."""
    from lab.models import tiny
    from lab.models.cache import cached_model
    from lab.rag.chain import fit_hits
    from lab.rag.retrieve import Hit
    from lab.rag.spec import GeneratorSpec

    model, tok = cached_model("tiny")
    budget = model.config.max_position_embeddings - GeneratorSpec().max_new_tokens - 8

    def count(messages):
        return len(tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"])

    rng = random.Random(seed)
    chunks = tiny._rag_chunks()
    rows, lengths = [], []
    for item in checks.reading_items("train"):
        holding = [c for c in chunks if c.source == item["source"] and item["span"] in c.text]
        others = [c for c in chunks if item["span"] not in c.text]
        for _ in range(copies if holding else 0):
            shown = rng.sample(others, 4)
            shown.insert(0 if rng.random() < 0.7 else rng.randrange(3), rng.choice(holding))
            hits = [Hit(rank=i + 1, source=c.source, chunk_id=c.id, score=0.0, text=c.text, title=c.title) for i, c in enumerate(shown)]
            messages, used = fit_hits(item["question"], hits, None, count, budget)
            where = next((h.rank for h in used if item["span"] in h.text), None)
            if where is None:
                continue
            answer = item["answer"].strip()
            answer = answer[:-1] + f"[{where}]。" if answer.endswith("。") else answer + f" [{where}]"
            rows.append({"messages": messages + [{"role": "assistant", "content": answer}]})
            lengths.append(count(messages))
    rng.shuffle(rows)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path, len(rows), sum(lengths) / max(1, len(lengths))


def hits_rows(label: str, model: str) -> list[tuple[str, str]]:
    out = []
    for split, r in checks.rag_span_hits(model).items():
        out.append((f"{label}: gold span in the answer, {r.n} {split} questions",
                    f"with retrieval {r.with_retrieval:.0%}, without {r.without_retrieval:.0%}"))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--copies", type=int, default=3, help="reading examples per question in the reading stage")
    p.add_argument("--stage-steps", type=int, default=150, help="steps of the reading stage (batch 8)")
    p.add_argument("--skip-pretrain", action="store_true", help="only the reading stage")
    args = p.parse_args()

    ws = Path(tempfile.mkdtemp(prefix="embedded-reading-"))
    (ws / "runs").mkdir()
    (ws / "models").mkdir()
    source = Path(os.environ.get("LAB_SOURCE_WORKSPACE", REPO / "workspace")) / "models"
    (ws / "models" / "tiny").symlink_to((source / "tiny").resolve())
    env = {**os.environ, "LAB_WORKSPACE": str(ws)}
    os.environ["LAB_WORKSPACE"] = str(ws)
    rows = []
    _, wall, cpu = run_json(["run", "presets/rag-index.yaml", "--set", "index=default"], env)
    rows.append(("rag-index (bundled documents)", seconds(wall, cpu)))
    rows += hits_rows("shipped tiny", "tiny")

    if not args.skip_pretrain:
        from lab.models import tiny
        init = ws / "models" / "tiny-init"
        tiny.build_init_model(init)
        result, wall, cpu = run_json(["run", "presets/pretrain-tiny.yaml", "--set", f"model.name={init}",
                                      "--set", f"dataset.path={init / tiny.BOOTSTRAP_CORPUS}",
                                      "--set", "train.packing_strategy=bfd_split"], env)
        rows.append(("1. pre-training with whole reading examples (bfd_split)",
                     f"{seconds(wall, cpu)}, final loss {result['metrics'].get('loss', float('nan')):.2f}"))
        rows += hits_rows("1. that model", f"run:{result['run_id']}")

    data, n, mean_tokens = reading_file(ws / "reading.jsonl", args.copies)
    result, wall, cpu = run_json(["run", "presets/sft-tiny.yaml", "--set", "model.name=tiny", "--set", f"dataset.path={data}",
                                  "--set", "dataset.eval_split=0", "--set", "train.eval_strategy=no", "--set", "train.save_strategy=no",
                                  "--set", "train.max_length=1024", "--set", f"train.max_steps={args.stage_steps}"], env)
    m = result["metrics"]
    rows.append((f"2. reading stage: {n} examples (mean prompt {mean_tokens:.0f} tokens), {args.stage_steps} steps × 8",
                 f"{seconds(wall, cpu)}, final loss {m.get('loss', float('nan')):.2f}, token accuracy {m.get('mean_token_accuracy', 0):.2f}"))
    rows += hits_rows("2. that model", f"run:{result['run_id']}")

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nreading, measured on this machine ({os.cpu_count()} CPUs, load average {load} at the end)")
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    shutil.rmtree(ws, ignore_errors=True)


if __name__ == "__main__":
    main()
