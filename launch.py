"""`python launch.py [--host H] [--port P] [--auth user:pass] [--lang ja|en]`: the lab's UI.

Binds 127.0.0.1 by default; any other address needs --auth (or --workshop), so a lab is never open
to a network without a password.

Workshop mode, one server for a room:
    python launch.py --workshop --users users.csv          (username,password[,role] per line)
    python launch.py --workshop --participants 30           (prints 30 accounts + a facilitator)
turns on login; each participant gets their own workspace (WORKSPACE/users/<name>); runs wait in one
queue (--max-runs per device, --max-runs-per-user); the facilitator account sees everything."""
from __future__ import annotations

import argparse
import ipaddress
import os
import sys


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    # Gradio recomputes a pandas summary of its last 10,000 events after every event, for a monitoring
    # page the lab does not turn on: 60-200 ms of CPU per event once a room is using the lab.
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(10**9))
    parser = argparse.ArgumentParser(description="Serve the LLM Lab UI")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--auth", help="user:pass (required when --host is not loopback)")
    parser.add_argument("--lang", choices=["ja", "en"], default="ja")
    parser.add_argument("--runs-dir")
    ws = parser.add_argument_group("workshop mode")
    ws.add_argument("--workshop", action="store_true", help="login, a workspace per participant, one shared run queue")
    ws.add_argument("--users", help="CSV of accounts: username,password[,role] (role: participant|facilitator)")
    ws.add_argument("--participants", type=int, help="generate this many accounts (and a facilitator) and print them")
    ws.add_argument("--max-runs", type=int, help="runs at once per device kind (default: 1 on CPU, one per GPU)")
    ws.add_argument("--max-runs-per-user", type=int, default=1)
    ws.add_argument("--max-upload-mb", type=int, default=20)
    args = parser.parse_args(argv)
    if args.workshop:
        return serve_workshop(args)

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

    if args.runs_dir:  # everything that resolves `run:<id>` (chat, RAG, judge) reads the runs folder from here
        os.environ["LAB_RUNS_DIR"] = str(os.path.abspath(args.runs_dir))
    demo = build_app(RunStore(args.runs_dir), lang=args.lang)
    print(f"LLM Lab: http://{args.host}:{args.port}", flush=True)
    demo.queue(default_concurrency_limit=8).launch(server_name=args.host, server_port=args.port, auth=auth,
                                                    show_error=True, quiet=True, **launch_kwargs())
    return 0


def serve_workshop(args) -> int:
    from lab.errors import UserError
    from lab.paths import shared_workspace
    from lab.users import generate, load_csv, write_csv
    from lab.workshop import Workshop

    if bool(args.users) == bool(args.participants):
        print("error: --workshop needs either --users users.csv or --participants N", file=sys.stderr)
        return 2
    try:
        accounts = load_csv(args.users) if args.users else generate(args.participants)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not any(a.is_facilitator for a in accounts):
        print("note: no account has role 'facilitator'; nobody will see the facilitator tab", file=sys.stderr)
    if args.participants:
        sheet = shared_workspace() / ".workshop" / "accounts.csv"
        write_csv(accounts, sheet)
        print(f"{len(accounts)} accounts (also in {sheet}):")
        for a in accounts:
            print(f"  {a.name:16} {a.password}  {a.role}")
    workshop = Workshop(accounts, max_runs=args.max_runs, per_user=args.max_runs_per_user,
                        max_upload_mb=args.max_upload_mb)

    from ui.app import build_app, launch_kwargs

    with workshop.as_user(None):  # what the page is built with is nobody's: an empty workspace
        demo = build_app(lang=args.lang, workshop=workshop)
    print(f"LLM Lab (workshop, {len(accounts)} accounts): http://{args.host}:{args.port}", flush=True)
    demo.queue(default_concurrency_limit=16).launch(
        server_name=args.host, server_port=args.port, auth=workshop.login, show_error=True, quiet=True,
        max_file_size=f"{args.max_upload_mb}mb", auth_message="LLM Lab workshop", **launch_kwargs())
    return 0


if __name__ == "__main__":
    sys.exit(main())
