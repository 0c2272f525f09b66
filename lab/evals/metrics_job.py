"""The `eval` job: automatic metrics in the llm-jp-eval manner for one model on a folder of tasks.

Generation tasks: the model completes a raw-text prompt (instruction, worked examples, question),
its answer is the first line of what it writes, scored by the lab's local `evaluate` modules
(exact_match, char_f1, set_f1). Multiple-choice tasks: no generation, each choice is scored by its
log-likelihood (acc and acc_norm).

RUN_DIR/artifacts/ (the run folder itself for runs made before: see outputs.py)
  predictions/<task>.jsonl   one line per sample: input, gold, prediction, per-sample scores
  results.json               {"model", "tasks": {task: {"n", "metrics": {name: value}}},
                              "scores": {"task/metric": value}, "average": mean of each task's first metric}
Every score is also a metric event ("task/metric"), so `lab run --json` and the Runs tab show them."""
from __future__ import annotations

import json
import time
from pathlib import Path

from .answers import append_line
from .outputs import outputs_dir
from .spec import EvalSpec
from .tasks import Task, load_tasks, prompt

PRIMARY = {"mc_loglik": "acc"}


def precheck(spec: EvalSpec) -> None:
    from ..models.load import resolve_model
    from ..paths import resolve_input
    spec.tasks = str(resolve_input(spec.tasks, "task folder"))  # pinned, so job.yaml means the same anywhere
    load_tasks(spec.tasks, spec.task_names)
    resolve_model(spec.model.name)


def first_line(text: str) -> str:
    for line in (text or "").strip().splitlines():
        if line.strip():
            return line.strip()
    return ""


def generate_raw(model, tokenizer, text: str, max_new_tokens: int) -> str:
    import torch
    ids = tokenizer(text, return_tensors="pt")
    ids = {k: v.to(model.device) for k, v in ids.items()}
    with torch.no_grad():
        # The answer is the first line, so generation stops at the first line break.
        out = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False, use_cache=True,
                             stop_strings=["\n"], tokenizer=tokenizer,
                             pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id)
    return tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)


def evaluate_task(task: Task, model, tokenizer, spec: EvalSpec, out_path: Path, on_sample=lambda: None,
                  should_stop=lambda: False) -> dict:
    from . import mc_loglik
    from .metrics import load as load_metric

    samples = task.samples[:spec.max_samples] if spec.max_samples else task.samples
    out_path.unlink(missing_ok=True)
    if task.is_mc:
        picks = []
        for s in samples:
            if should_stop():
                break
            pick = mc_loglik.score_choices(model, tokenizer, prompt(task, s, spec.num_few_shots), s.choices)
            picks.append(pick)
            append_line(out_path, {"input": s.input, "choices": s.choices, "gold": s.gold, "prediction": s.choices[pick["pred"]],
                                   "prediction_norm": s.choices[pick["pred_norm"]],
                                   "logliks": [round(x, 4) for x in pick["logliks"]]})
            on_sample()
        return {"n": len(picks), "metrics": mc_loglik.accuracy(picks, [s.gold for s in samples[:len(picks)]])}

    metrics = {name: load_metric(name) for name in task.metrics}
    predictions, references = [], []
    max_new = min(spec.max_new_tokens, task.output_length)
    for s in samples:
        if should_stop():
            break
        raw = generate_raw(model, tokenizer, prompt(task, s, spec.num_few_shots), max_new)
        pred = first_line(raw)
        predictions.append(pred)
        references.append(s.answer)
        per_sample = {name: list(m.compute(predictions=[pred], references=[s.answer]).values())[0] for name, m in metrics.items()}
        append_line(out_path, {"input": s.input, "gold": s.answer, "prediction": pred, "raw": raw, "scores": per_sample})
        on_sample()
    values = {}
    for name, metric in metrics.items():
        values.update(metric.compute(predictions=predictions, references=references))
    return {"n": len(predictions), "metrics": values}


def run(spec: EvalSpec, ctx) -> dict:
    from ..models.load import load_causal_lm

    tasks = load_tasks(spec.tasks, spec.task_names)
    total = sum(len(t.samples[:spec.max_samples] if spec.max_samples else t.samples) for t in tasks)
    ctx.emit("log", message=f"{spec.model.name}: {len(tasks)} tasks, {total} samples, {spec.num_few_shots}-shot")
    model, tokenizer = load_causal_lm(spec.model.name, spec.model.dtype, spec.model.trust_remote_code)
    model.eval()
    out_dir = outputs_dir(ctx.run.dir)
    pred_dir = out_dir / "predictions"
    pred_dir.mkdir(parents=True, exist_ok=True)
    done, start = 0, time.time()

    def tick():
        nonlocal done
        done += 1
        rate = done / max(1e-6, time.time() - start)
        ctx.emit("progress", step=done, total=total, eta_s=round((total - done) / rate, 1))

    results: dict = {"model": spec.model.name, "num_few_shots": spec.num_few_shots, "tasks": {}, "scores": {}}
    for i, task in enumerate(tasks):
        out = evaluate_task(task, model, tokenizer, spec, pred_dir / f"{task.name}.jsonl", tick, ctx.cancel_requested)
        results["tasks"][task.name] = {**out, "metric_names": task.metrics}
        scores = {f"{task.name}/{name}": value for name, value in out["metrics"].items()}
        results["scores"].update(scores)
        ctx.emit("metric", step=i + 1, **scores)
        ctx.emit("log", message=f"{task.name}: " + ", ".join(f"{k}={v:.3f}" for k, v in out["metrics"].items()))
        if ctx.cancel_requested():
            break
    firsts = [t["metrics"][PRIMARY.get(t["metric_names"][0], t["metric_names"][0])] for t in results["tasks"].values() if t["n"]]
    results["average"] = sum(firsts) / len(firsts) if firsts else None
    path = out_dir / "results.json"
    path.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    ctx.emit("artifact", name="results.json", path=str(path))
    if results["average"] is not None:
        ctx.emit("metric", step=len(tasks), average=results["average"])
    return {"average": results["average"]}
