"""`lab inspect PRESET [--n N] [--set k=v] [--json]`: the first samples of a training preset as the
trainer tokenizes them, every token marked trained or not (lab/train/inspect.py)."""
from __future__ import annotations

import contextlib
import json
import sys


def cmd_inspect(args) -> int:
    from ..presets import load_preset
    from .inspect import inspect_spec, to_text

    spec = load_preset(args.preset, args.set or [])
    # Libraries loaded on the way (DeepSpeed through accelerate) log to stdout; stdout is the result's.
    with contextlib.redirect_stdout(sys.stderr):
        result = inspect_spec(spec, args.n)
    if args.json:
        samples = [{k: v for k, v in s.items() if k != "segments"} for s in result["samples"]]
        for s in samples:
            for side in ("chosen", "rejected"):
                if side in s:
                    s[side] = {k: v for k, v in s[side].items() if k != "segments"}
        print(json.dumps({**result, "samples": samples}, ensure_ascii=False))
    else:
        print(to_text(result))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("inspect", help="show which tokens of a training preset's first samples are trained")
    p.add_argument("preset", help="a preset file or name (sft, pretrain or dpo)")
    p.add_argument("--n", type=int, default=3, help="how many samples (default 3)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a preset key (repeatable)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_inspect)
