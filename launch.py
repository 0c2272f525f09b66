"""`python launch.py [--host H] [--port P] [--auth user:pass] [--lang ja|en]`: the lab's UI.

Binds 127.0.0.1 by default; any other address needs --auth, so a lab is never open to a network
without a password."""
from __future__ import annotations

import argparse
import ipaddress
import sys


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the LLM Lab UI")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--auth", help="user:pass (required when --host is not loopback)")
    parser.add_argument("--lang", choices=["ja", "en"], default="ja")
    parser.add_argument("--runs-dir")
    args = parser.parse_args(argv)

    auth = None
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep or not user or not password:
            print("error: --auth takes user:pass", file=sys.stderr)
            return 2
        auth = (user, password)
    if not is_loopback(args.host) and auth is None:
        print(f"error: refusing to serve on {args.host} without --auth user:pass (the lab can run code and read files)",
              file=sys.stderr)
        return 2

    from lab.runs import RunStore
    from ui.app import build_app, launch_kwargs

    demo = build_app(RunStore(args.runs_dir), lang=args.lang)
    print(f"LLM Lab: http://{args.host}:{args.port}", flush=True)
    demo.queue(default_concurrency_limit=8).launch(server_name=args.host, server_port=args.port, auth=auth,
                                                    show_error=True, quiet=True, **launch_kwargs())
    return 0


if __name__ == "__main__":
    sys.exit(main())
