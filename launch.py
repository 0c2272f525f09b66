"""`python launch.py [--host H] [--port P] [--auth user:pass] [--lang ja|en]`: the lab's UI.

Binds 127.0.0.1 by default; any other address needs --auth (or --workshop), so a lab is never open
to a network without a password.

Workshop mode, one server for a room:
    python launch.py --workshop --users users.csv          (username,password[,role] per line)
    python launch.py --workshop --participants 30           (prints 30 accounts + a facilitator)
turns on login; each participant gets their own workspace (WORKSPACE/users/<name>); runs wait in one
queue (--max-runs per device, --max-runs-per-user); the facilitator account sees everything.
Passwords are kept as scrypt hashes only (generated ones are printed once; --accounts-sheet FILE
writes them for the facilitator, mode 0600); five wrong passwords lock an account for 30 s; each
participant has a disk quota (--quota-gb) and a limit of waiting runs (--max-queued-per-user).

Endpoints (both modes): `--endpoint NAME=URL[,key_env=VAR]` (repeatable) or `--endpoints FILE.yaml`
names the OpenAI-compatible servers the Judge and RAG tabs may call; in workshop mode they are the
only ones, and participants pick them by name (lab/endpoints.py)."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import ipaddress
import os
import sys
from pathlib import Path


def patient_self_check(seconds: float = 120.0) -> None:
    """Gradio's launch() checks its own URL with one 3-second request and, if that times out, refuses
    to start ("localhost is not accessible"). The first page build of the lab's ~1,000 components can
    take longer on a busy machine (a room of runs, a CI box), so wait for the answer instead."""
    import time

    import httpx
    from gradio import networking

    def url_ok(url: str) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if httpx.head(url, timeout=max(1.0, deadline - time.monotonic()), verify=False).status_code < 500:
                    return True
            except httpx.TransportError:
                time.sleep(0.5)
        return False

    networking.url_ok = url_ok


def concurrency_limit(events: int) -> None:
    """How many runs of one event handler may run at once. Given to gr.Blocks() through Gradio's documented
    variable rather than demo.queue(default_concurrency_limit=…): queue() rebuilds the whole FastAPI app of a
    page of ~800 components, a few tenths of a second of the start (bench/ui_cold_start.py)."""
    os.environ["GRADIO_DEFAULT_CONCURRENCY_LIMIT"] = str(events)


@contextlib.contextmanager
def gc_paused():
    """The page's modules and ~800 components are hundreds of thousands of objects that live as long as the
    server; the cyclic collector's passes over them while they are made cost about a quarter of the build
    (bench/ui_cold_start.py). Collection resumes once the page is built and served."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
    patient_self_check()
    parser = argparse.ArgumentParser(description="Serve the LLM Lab UI")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--auth", help="user:pass (required when --host is not loopback)")
    parser.add_argument("--lang", choices=["ja", "en"], default="ja")
    parser.add_argument("--runs-dir")
    parser.add_argument("--endpoint", action="append", default=[], metavar="NAME=URL[,key_env=VAR]",
                        help="an OpenAI-compatible endpoint the Judge and RAG tabs may call, by name (repeatable)")
    parser.add_argument("--endpoints", metavar="FILE.yaml", help="endpoints from a file: endpoints: [{name, url, key_env}]")
    parser.add_argument("--hash-users", metavar="USERS.csv", help="replace the passwords of a users.csv by scrypt hashes, then exit")
    ws = parser.add_argument_group("workshop mode")
    ws.add_argument("--workshop", action="store_true", help="login, a workspace per participant, one shared run queue")
    ws.add_argument("--users", help="CSV of accounts: username,password[,role] (role: participant|facilitator)")
    ws.add_argument("--participants", type=int, help="generate this many accounts (and a facilitator) and print them")
    ws.add_argument("--max-runs", type=int, help="runs at once per device kind (default: 1 on CPU, one per GPU)")
    ws.add_argument("--max-runs-per-user", type=int, default=1)
    ws.add_argument("--max-upload-mb", type=int, default=20)
    ws.add_argument("--quota-gb", type=float, default=5.0, help="disk per participant: runs, uploads, indexes (default 5)")
    ws.add_argument("--max-queued-per-user", type=int, default=3, help="runs a participant may have waiting (default 3)")
    ws.add_argument("--accounts-sheet", metavar="FILE", help="with --participants: also write the passwords here (mode 0600)")
    args = parser.parse_args(argv)
    if args.hash_users:
        return hash_users(args.hash_users)
    from lab.errors import UserError
    try:
        configure_endpoints(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
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

    if args.runs_dir:  # everything that resolves `run:<id>` (chat, RAG, judge) reads the runs folder from here
        os.environ["LAB_RUNS_DIR"] = str(os.path.abspath(args.runs_dir))
    concurrency_limit(8)
    with gc_paused():
        from lab.runs import RunStore
        from ui.app import build_app, launch_kwargs
        demo = build_app(RunStore(args.runs_dir), lang=args.lang)
        print(f"LLM Lab: http://{args.host}:{args.port}", flush=True)
        demo.launch(server_name=args.host, server_port=args.port, auth=auth, show_error=True, quiet=True,
                    prevent_thread_lock=True, **launch_kwargs())
    demo.block_thread()
    return 0


def configure_endpoints(args) -> None:
    from lab import endpoints
    listed = endpoints.load_file(args.endpoints) if args.endpoints else []
    listed += [endpoints.parse_flag(text) for text in args.endpoint]
    if listed or args.workshop:  # a workshop without endpoints calls none: not even one inherited
        endpoints.configure(listed)


def hash_users(path: str) -> int:
    from lab.errors import UserError
    from lab.users import load_csv, write_csv
    try:
        accounts = load_csv(path)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    write_csv(accounts, Path(path))
    print(f"{path}: {len(accounts)} accounts, passwords replaced by scrypt hashes (mode 0600)")
    return 0


def serve_workshop(args) -> int:
    from lab.errors import UserError
    from lab.paths import shared_workspace
    from lab.users import generate, has_plaintext, load_csv, write_csv, write_sheet
    from lab.workshop import Workshop

    if bool(args.users) == bool(args.participants):
        print("error: --workshop needs either --users users.csv or --participants N", file=sys.stderr)
        return 2
    if args.accounts_sheet and not args.participants:
        print("error: --accounts-sheet goes with --participants (a users.csv already holds its passwords)", file=sys.stderr)
        return 2
    try:
        issued = generate(args.participants) if args.participants else []
        accounts = load_csv(args.users) if args.users else [a for a, _ in issued]
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not any(a.is_facilitator for a in accounts):
        print("note: no account has role 'facilitator'; nobody will see the facilitator tab", file=sys.stderr)
    if args.users and has_plaintext(args.users):
        print(f"note: {args.users} holds passwords in clear; `python launch.py --hash-users {args.users}` keeps "
              "only their hashes", file=sys.stderr)
    if issued:
        store = shared_workspace() / ".workshop" / "accounts.csv"
        write_csv(accounts, store)  # hashes only: usable again as --users after a restart
        if args.accounts_sheet:
            write_sheet(issued, Path(args.accounts_sheet))
        where = f"; also in {args.accounts_sheet}, mode 0600" if args.accounts_sheet else ""
        print(f"{len(accounts)} accounts (passwords shown once{where}; hashes in {store}):")
        for account, password in issued:
            print(f"  {account.name:16} {password}  {account.role}")
    os.environ["LAB_QUOTA_GB"] = str(args.quota_gb)
    os.environ["LAB_MAX_QUEUED_PER_USER"] = str(args.max_queued_per_user)
    workshop = Workshop(accounts, max_runs=args.max_runs, per_user=args.max_runs_per_user,
                        max_upload_mb=args.max_upload_mb)

    async def login(name: str, password: str) -> bool:
        # scrypt takes tens of milliseconds: off the event loop, so a room logging in does not stall pages
        return await asyncio.to_thread(workshop.login, name, password)

    concurrency_limit(16)
    with gc_paused():
        with workshop.as_user(None):  # what the page is built with is nobody's: an empty workspace
            from ui.app import build_app, launch_kwargs
            demo = build_app(lang=args.lang, workshop=workshop)
        print(f"LLM Lab (workshop, {len(accounts)} accounts): http://{args.host}:{args.port}", flush=True)
        demo.launch(
            server_name=args.host, server_port=args.port, auth=login, show_error=True, quiet=True,
            max_file_size=f"{args.max_upload_mb}mb", auth_message="LLM Lab workshop", prevent_thread_lock=True,
            **launch_kwargs())
    demo.block_thread()
    return 0


if __name__ == "__main__":
    sys.exit(main())
