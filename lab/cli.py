"""The `lab` command: run presets headless, list/follow/cancel runs, build the embedded model.

Exit codes: 0 succeeded, 1 the run failed, 2 user error (bad preset, key, value, data file),
130 cancelled."""
from __future__ import annotations

import argparse
import importlib
import json
import signal
import sys
import time

from .errors import UserError

EXIT = {"succeeded": 0, "failed": 1, "cancelled": 130}
# Subcommands that live beside their feature: each module has `register(subparsers)` that adds its
# parser with set_defaults(func=...) (keep its top-level imports light: no torch at import time).
FEATURE_COMMANDS: list[str] = ["lab.evals.cli", "lab.rag.cli", "lab.distributed.plan_cli", "lab.train.cli"]


def _store(args):
    from .runs import RunStore
    return RunStore(getattr(args, "runs_dir", None))


def _result(summary: dict) -> dict:
    return {"run_id": summary["run_id"], "run_dir": summary["run_dir"], "status": summary.get("state"),
            "metrics": summary.get("metrics", {}), **({"error": summary["error"]} if summary.get("error") else {})}


def _exit_code(status: dict) -> int:
    if status.get("state") == "failed" and status.get("exit_code") == 2:
        return 2
    return EXIT.get(status.get("state"), 1)


def follow(store, run_id: str, quiet: bool = False, print_events: bool = False) -> dict:
    """Wait for the run to end, showing progress; Ctrl+C asks it to stop (it saves first)."""
    from tqdm import tqdm

    from .events import EventTail
    run = store.get(run_id)
    tail = EventTail(run.events_path)
    show_bar = not (quiet or print_events)
    bar = None
    last_metrics: dict = {}
    try:
        while True:
            for ev in tail.new():
                if print_events:
                    print(json.dumps(ev, ensure_ascii=False), flush=True)
                    continue
                if not show_bar:
                    continue
                if bar is None and ev["type"] == "progress" and ev.get("total"):
                    bar = tqdm(total=ev["total"], unit="step", dynamic_ncols=True, file=sys.stderr, mininterval=1.0)
                if bar is None:
                    if ev["type"] in ("log", "status"):
                        print(f"[{ev['type']}] {ev.get('message') or ev.get('state')}", file=sys.stderr)
                    continue
                if ev["type"] == "progress" and ev.get("total"):
                    bar.total = ev["total"]
                    bar.update(ev["step"] - bar.n)
                elif ev["type"] == "metric":
                    last_metrics.update({k: v for k, v in ev.items() if k in ("loss", "eval_loss", "learning_rate")})
                    bar.set_postfix({k: f"{v:.4g}" for k, v in last_metrics.items()}, refresh=False)
                elif ev["type"] in ("log", "status"):
                    bar.write(f"[{ev['type']}] {ev.get('message') or ev.get('state')}" + (f": {ev['error']}" if ev.get("error") else ""))
            status = store.status(run_id)
            if status.get("state") not in ("queued", "running"):
                for ev in tail.new():
                    if print_events:
                        print(json.dumps(ev, ensure_ascii=False), flush=True)
                return status
            time.sleep(0.25)
    except KeyboardInterrupt:
        if bar is not None:
            bar.write("stopping: the trainer saves and stops at its next step (Ctrl+C again to kill)")
        signal.signal(signal.SIGINT, signal.default_int_handler)
        return store.cancel(run_id)
    finally:
        if bar is not None:
            bar.close()


def cmd_run(args) -> int:
    from .jobs import submit
    from .presets import load_preset
    store = _store(args)
    if args.resume:
        run = store.resume(args.resume)
    elif args.continue_from:
        from .continuation import continue_run
        run = continue_run(store, args.continue_from, args.set or [])
    else:
        if not args.preset:
            raise UserError("lab run: give a PRESET.yaml (or --resume RUN_ID, or --continue RUN_ID)")
        run = submit(store, load_preset(args.preset, args.set or []))
    if args.detach:
        summary = store.summary(run.id)
        summary["state"] = "running" if summary.get("state") == "queued" else summary.get("state")
    else:
        if not args.json:
            print(f"run {run.id} → {run.dir}", file=sys.stderr)
        follow(store, run.id, quiet=args.json)
        summary = store.summary(run.id)
    if args.json:
        print(json.dumps(_result(summary), ensure_ascii=False))
    else:
        _print_summary(summary)
    return 0 if args.detach else _exit_code(summary)


def _print_summary(s: dict) -> None:
    metrics = ", ".join(f"{k}={v:.4g}" for k, v in s.get("metrics", {}).items() if k in ("loss", "eval_loss", "train_loss"))
    line = f"{s['run_id']}: {s.get('state')}" + (f" ({metrics})" if metrics else "")
    if s.get("error") and s.get("state") != "cancelled":
        line += f" — {s['error']}"
    print(line)


def _names(text: str | None) -> tuple[str, ...] | None:
    return tuple(n.strip() for n in text.split(",") if n.strip()) or None if text else None


def cmd_runs(args) -> int:
    store = _store(args)
    if args.action == "list":
        rows = store.list(kind=_names(args.kind), state=_names(args.state), has_model=args.has_model or None)
        if args.json:
            print(json.dumps([_result(r) | {"kind": r.get("kind"), "created_at": r.get("created_at")} for r in rows], ensure_ascii=False))
        else:
            for r in rows:
                dur = f"{r['duration']:.0f}s" if r.get("duration") else "-"
                loss = r["metrics"].get("loss")
                print(f"{r['run_id']:40} {r.get('state', '?'):10} {dur:>6}  loss={loss:.4g}" if loss is not None
                      else f"{r['run_id']:40} {r.get('state', '?'):10} {dur:>6}")
        return 0
    if not args.run_id:
        raise UserError(f"lab runs {args.action}: give a RUN_ID")
    if args.action == "show":
        summary = store.summary(args.run_id)
        if args.json:
            print(json.dumps({**_result(summary), **{k: summary.get(k) for k in (
                "kind", "pid", "pgid", "created_at", "started_at", "ended_at", "exit_code", "error", "parent", "duration", "inputs")}},
                ensure_ascii=False))
        else:
            for key, value in summary.items():
                print(f"{key}: {value}")
        return 0
    if args.action == "diff":
        from .compare import diff_runs, to_text
        diff = diff_runs(store, [args.run_id, *args.more_ids])
        print(json.dumps(diff, ensure_ascii=False) if args.json else to_text(diff))
        return 0
    if args.action == "follow":
        status = follow(store, args.run_id, print_events=args.json)
        if not args.json:
            _print_summary(store.summary(args.run_id))
        return _exit_code(status)
    if args.action == "report":
        from .report import write_report
        path = write_report(store.get(args.run_id), lang=args.lang)
        print(json.dumps({"run_id": args.run_id, "report": str(path)}, ensure_ascii=False) if args.json else path)
        return 0
    if args.action == "cancel":
        status = store.cancel(args.run_id, grace=args.grace)
        summary = store.summary(args.run_id)
        print(json.dumps(_result(summary), ensure_ascii=False) if args.json else f"{args.run_id}: {status.get('state')}")
        return 0
    return 2


def cmd_models(args) -> int:
    from .models import tiny
    if args.action == "bootstrap":
        if tiny.is_built() and not args.force:
            print(f"embedded models already built: {tiny.tiny_dir()}, {tiny.tiny_dir(tiny.READER)}")
            return 0
        from .paths import models_dir
        print(f"building the tokenizer and the initial model in {models_dir() / 'tiny-init'}", file=sys.stderr)
        tiny.build_init_model(models_dir() / "tiny-init")
        store = _store(args)
        previous = None
        for name, stage in tiny.bootstrap_stages(args.steps):
            spec = stage(previous)
            run = store.submit(spec)
            print(f"{name}: {spec.meta.title.get('en') or spec.kind}, run {run.id}", file=sys.stderr)
            status = follow(store, run.id)
            if status.get("state") != "succeeded":
                break
            previous = run.id
            print(f"{name} ready: {tiny.install(run.id, name)}")
        if status.get("state") != "succeeded":
            print(f"bootstrap {status.get('state')}: {status.get('error')}", file=sys.stderr)
        return _exit_code(status)
    if args.action == "list":
        from .paths import models_dir
        for path in sorted(models_dir().glob("*/config.json")):
            print(path.parent.name, path.parent)
        return 0
    return 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lab", description="LLM Lab: run presets, follow runs, manage models")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a preset (a JobSpec in YAML)")
    r.add_argument("preset", nargs="?")
    r.add_argument("--set", action="append", metavar="dotted.key=value", help="override a key (repeatable)")
    r.add_argument("--runs-dir")
    r.add_argument("--detach", action="store_true", help="start and return at once")
    r.add_argument("--json", action="store_true", help="last stdout line is a JSON result")
    r.add_argument("--resume", metavar="RUN_ID", help="continue a training run from its last checkpoint")
    r.add_argument("--continue", dest="continue_from", metavar="RUN_ID",
                   help="a new run that trains RUN_ID on: --set train.max_steps=N means N more steps")
    r.set_defaults(func=cmd_run)

    rs = sub.add_parser("runs", help="list, show, follow or cancel runs; write a run's HTML report")
    rs.add_argument("action", choices=["list", "show", "follow", "cancel", "report", "diff"])
    rs.add_argument("run_id", nargs="?")
    rs.add_argument("more_ids", nargs="*", metavar="RUN_ID", help="diff: the other runs (2 to 4 in all)")
    rs.add_argument("--runs-dir")
    rs.add_argument("--json", action="store_true")
    rs.add_argument("--grace", type=float, default=30.0, help="cancel: seconds to wait for a clean stop before SIGTERM")
    rs.add_argument("--lang", choices=["en", "ja"], default="en", help="report: the language of its headings")
    rs.add_argument("--kind", help="list: only runs of these kinds (comma-separated: sft,dpo)")
    rs.add_argument("--state", help="list: only runs in these states (comma-separated: running,queued)")
    rs.add_argument("--has-model", action="store_true", help="list: only runs that saved a model")
    rs.set_defaults(func=cmd_runs)

    m = sub.add_parser("models", help="the embedded tiny model")
    m.add_argument("action", choices=["bootstrap", "list"])
    m.add_argument("--force", action="store_true")
    m.add_argument("--steps", type=int, default=None, help="bootstrap: pre-training steps (default: the preset's)")
    m.add_argument("--runs-dir")
    m.set_defaults(func=cmd_models)
    for module in FEATURE_COMMANDS:
        importlib.import_module(module).register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        if getattr(args, "json", False):
            print(json.dumps({"run_id": None, "status": "error", "error": str(e)}, ensure_ascii=False))
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
