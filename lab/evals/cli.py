"""`lab serve MODEL_OR_RUN [--port P] [--host H] [--name NAME] [--api-key KEY]`: an OpenAI-compatible
server for a model the lab can load. Imports stay light here; the server loads on use."""
from __future__ import annotations

import os
import sys


def cmd_serve(args) -> int:
    from .serve import serve

    def ready(url: str) -> None:
        name = args.name or args.model
        print(f"serving {args.model} as '{name}' at {url} (Ctrl+C stops)", flush=True)
        print(f"  try: curl {url}/models", file=sys.stderr, flush=True)

    try:
        serve(args.model, host=args.host, port=args.port, served_name=args.name,
              api_key=args.api_key or os.environ.get("LAB_SERVE_API_KEY") or None, log_level=args.log_level,
              on_ready=ready, device=args.device)
    except KeyboardInterrupt:
        return 0
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("serve", help="serve a model (tiny, run:ID, folder, Hub id) as an OpenAI-compatible API",
                              description="OpenAI-compatible /v1/models and /v1/chat/completions (streaming too) "
                                          "for any model the lab can load.")
    p.add_argument("model", metavar="MODEL_OR_RUN", help="tiny | run:<RUN_ID> | a folder | a Hugging Face id")
    p.add_argument("--port", type=int, default=8000, help="0 picks a free port (printed when ready)")
    p.add_argument("--host", default="127.0.0.1", help="other than loopback needs --api-key")
    p.add_argument("--name", help="the model id clients ask for (default: MODEL_OR_RUN as given)")
    p.add_argument("--api-key", help="require `Authorization: Bearer KEY` (default: $LAB_SERVE_API_KEY)")
    p.add_argument("--device", default="auto", help="auto (the first visible GPU, else the CPU) | cpu | cuda | cuda:N")
    p.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(func=cmd_serve)
