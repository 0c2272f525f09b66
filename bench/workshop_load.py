"""Workshop load, measured: one lab in workshop mode on 127.0.0.1 and N simulated participants.

Each participant is a real HTTP session speaking the protocol the page's own JavaScript speaks:
cookie login (POST /login); the page (GET / with the config inside, the theme, the heartbeat stream
that keeps the session); the page's load events; then every event as POST /gradio_api/queue/join
plus one server-sent-event stream per session carrying the messages of all its pending events.
Like the page, a session switches a timer on or off when a handler returns gr.Timer(active=...),
keeps each component's value, and fires a component's change handlers when an event changes its
value. That is lighter than 30 Chromium pages on 2 cores and, unlike gradio_client, can fire the
handlers a browser fires that have no API name (the broadcast timer, the facilitator's refresh).
Endpoints are found in the page's config by what they touch (the Start button's elem_id, the
component a timer writes), never by auto-generated names.

A participant clicks through the Data, SFT and Runs tabs (whatever a tab does when shown runs, and
a shown tab's timer ticks while the page has it on), so it polls, as the page decides:
  - the Data tab's and the SFT tab's tick (1 s): the live charts of the run they watch;
  - the Runs tab's table refresh and its overlay chart (2 s each);
  - the broadcast banner;
and presses Start once (--runs-per-participant), staggered over --stagger seconds: a tiny dedup run
(the Data tab's defaults) or, for --sft-runs of them, a tiny SFT (the preset's form values,
max_steps overridden), then looks at the Runs tab again; --bad-runs of them first submit an SFT
whose dataset is outside their workspace, which must be refused with a one-line reason. A
facilitator session keeps the facilitator tab open (everyone's runs, the queue), and --browsers
real Chromium pages log in during the runs (page ready = from the login click until the page says
who is signed in).

Why mostly dedup runs: on the 2-core CPU box a 3-step SFT of the tiny model takes about a minute
(model load, a final eval, saving), so 30 of them through one CPU slot would take half an hour;
a dedup run takes a few seconds, so 30 of them queue behind one slot for a few minutes, long enough
to watch queue positions, per-user limits and every run's end, with a couple of SFT runs (the real
training load, live loss charts) among them.

Every call is timed from the join request to its completion message (what the page waits for);
"queue" is the part spent waiting in Gradio's queue before the handler started. A sample counts as
"while runs execute" when some run held the CPU slot at that moment (from the runs' status.json).
The report ends with PASS/FAIL for "p95 of a chart refresh < 1 s while runs execute" and for "every
submitted run finished or was refused with a reason" (no run lost or stuck, none failed).

To measure a change before it lands: --repo serves the lab from another checkout (a patched copy),
--server-env sets an environment variable for the server, and --timers active simulates tabs that
switch their timers off while the participant has no run of theirs queued or running.

    .venv/bin/python bench/workshop_load.py [--participants 30] [--duration 180] [--runs-per-participant 1]
        [--sft-runs 2] [--bad-runs 1] [--browsers 1] [--port 0] [--out FILE] [--repo DIR] [--keep]
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "workspace" / "models"
CALL_TIMEOUT = 60.0
TERMINAL = ("succeeded", "failed", "cancelled")
CHART_LABELS = ("chart: SFT tick", "chart: Data tick", "chart: runs overlay")
SHOWN_TABS = ("tab-dedup", "tab-sft", "tab-runs")  # the tabs a simulated participant has opened


# ---- the server ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(repo: Path, workspace: Path, port: int, accounts: int, max_runs_per_user: int,
                 extra_env: dict) -> subprocess.Popen:
    env = {**os.environ, "LAB_WORKSPACE": str(workspace), "GRADIO_ANALYTICS_ENABLED": "False", **extra_env}
    with open(workspace / "server.log", "ab") as log:
        return subprocess.Popen([sys.executable, "launch.py", "--workshop", "--participants", str(accounts), "--lang", "en",
                                 "--port", str(port), "--max-runs-per-user", str(max_runs_per_user),
                                 "--accounts-sheet", str(workspace / "accounts-sheet.csv")],
                                cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_up(url: str, proc: subprocess.Popen, workspace: Path, timeout: float = 180) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"the lab exited with {proc.returncode}: {(workspace / 'server.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return time.monotonic() - t0
        except urllib.error.HTTPError:
            return time.monotonic() - t0  # up, behind the login
        except OSError:
            time.sleep(0.25)
    raise SystemExit(f"the lab did not answer on {url} within {timeout:.0f} s")


def read_accounts(workspace: Path) -> list[dict]:
    with open(workspace / "accounts-sheet.csv", encoding="utf-8") as f:  # the lab keeps only hashes in .workshop/
        return list(csv.DictReader(f))


# ---- the page's endpoints, found in its config -----------------------------------------------------
@dataclass
class Endpoint:
    label: str
    fn_index: int
    trigger_id: int | None
    inputs: list[int]
    outputs: list[int]
    interval: float | None = None  # a timer's period
    handler: str = ""              # the Python function's name, from the config


class Page:
    """The config a browser gets: components by elem_id, and the dependency behind a click or a timer."""

    def __init__(self, config: dict):
        self.config = config
        self.api = config.get("api_prefix", "/gradio_api")
        self.comps = {c["id"]: c for c in config["components"]}
        self.by_elem = {c["props"]["elem_id"]: c["id"] for c in config["components"] if c.get("props", {}).get("elem_id")}

    def _endpoint(self, label: str, dep: dict, trigger: int | None) -> Endpoint:
        interval = None
        if trigger is not None and self.comps.get(trigger, {}).get("type") == "timer":
            interval = float(self.comps[trigger]["props"]["value"])
        name = dep["api_name"] if isinstance(dep.get("api_name"), str) else f"fn {dep['id']}"
        return Endpoint(label, dep["id"], trigger, dep["inputs"], dep["outputs"], interval, name)

    def clicked(self, label: str, elem_id: str, event: str = "click") -> Endpoint:
        found = self.handlers(label, elem_id, event)
        if not found:
            raise SystemExit(f"no {event} handler on #{elem_id} in the page: has the UI changed?")
        return found[0]

    def handlers(self, label: str, elem_id: str, event: str) -> list[Endpoint]:
        return self.handlers_of(label, self.by_elem.get(elem_id), event)

    def handlers_of(self, label: str, target: int | None, event: str) -> list[Endpoint]:
        return [self._endpoint(label, dep, target) for dep in self.config["dependencies"]
                if [target, event] in [list(t) for t in dep["targets"]] and dep.get("backend_fn", True)]

    def timer_writing(self, label: str, elem_id: str) -> Endpoint:
        """The timer tick handler whose outputs include the component with this elem_id."""
        out = self.by_elem.get(elem_id)
        for dep in self.config["dependencies"]:
            for target, event in dep["targets"]:
                if event == "tick" and out in dep["outputs"]:
                    return self._endpoint(label, dep, target)
        raise SystemExit(f"no timer writes #{elem_id}: has the UI changed?")

    def loads(self) -> list[Endpoint]:
        return [self._endpoint("page: load event", d, None) for d in self.config["dependencies"]
                if any(event == "load" for _, event in d["targets"]) and d.get("backend_fn", True)]

    def values(self, ep: Endpoint, overrides: dict | None = None, current: dict | None = None) -> list:
        """What the page sends: each input's current value (`current`, else its first value); states live on the server."""
        overrides, current = overrides or {}, current or {}
        out = []
        for i in ep.inputs:
            comp = self.comps[i]
            elem = comp.get("props", {}).get("elem_id")
            if elem in overrides:
                out.append(overrides[elem])
            else:
                out.append(None if comp["type"] == "state" else current.get(i, comp["props"].get("value")))
        return out

    def output(self, ep: Endpoint, data: list, elem_id: str):
        return data[ep.outputs.index(self.by_elem[elem_id])]


def embedded_config(html: str) -> dict:
    """The config the page carries (`window.gradio_config = {...};`): a browser does not fetch /config."""
    start = html.index("window.gradio_config")
    start = html.index("{", start)
    return json.JSONDecoder().raw_decode(html, start)[0]


# ---- one browser session ------------------------------------------------------------------------------
@dataclass
class Call:
    label: str
    user: str
    at: float            # wall clock when the page sent it
    total: float = 0.0   # until its completion message arrived
    queued: float = 0.0  # waiting in Gradio's queue (join → process_starts)
    ok: bool = True
    error: str = ""
    handler: str = ""
    data: list | None = field(default=None, repr=False)          # the outputs, for the caller
    warnings: list[str] = field(default_factory=list, repr=False)  # gr.Warning toasts it raised


class ServerError(Exception):
    """The handler failed and the page would show this message (a gr.Error)."""


class _Event:
    def __init__(self):
        self.messages: list[dict] = []
        self.done = asyncio.Event()


class Session:
    """One logged-in page: an httpx client with its cookie, a session hash, one SSE reader."""

    def __init__(self, url: str, user: str, password: str, calls: list[Call]):
        self.url, self.user, self.password, self.calls = url, user, password, calls
        # Idle connections are dropped before uvicorn's 5 s keep-alive ends, so that a request never
        # goes out on a connection the server is closing (a browser would silently retry it).
        # verify=False: plain HTTP, and no CA bundle loaded per client (0.2 s of CPU each).
        self.http = httpx.AsyncClient(base_url=url, timeout=CALL_TIMEOUT, limits=httpx.Limits(keepalive_expiry=3.0),
                                      verify=False)
        self.session_hash = secrets.token_hex(6)
        self.events: dict[str, _Event] = {}
        self.pending = 0
        self.reader: asyncio.Task | None = None
        self.heartbeat: asyncio.Task | None = None
        self.timer_on: dict[int, bool] = {}  # timer component id → on, as the page has it
        self.values: dict[int, object] = {}   # component id → its value in the page
        self.triggered: set[asyncio.Task] = set()
        self.page: Page | None = None

    async def timed(self, label: str, coro_fn, handler: str = "") -> Call:
        call = Call(label, self.user, time.time(), handler=handler)
        t0 = time.monotonic()
        try:
            await coro_fn(call)
        except Exception as e:  # noqa: BLE001 - every failure is a counted, reported error
            call.ok, call.error = False, f"{type(e).__name__}: {e}"[:300]
        call.total = time.monotonic() - t0
        self.calls.append(call)
        return call

    async def login(self) -> Call:
        async def go(call):
            r = await self.http.post("/login", data={"username": self.user, "password": self.password})
            r.raise_for_status()
        return await self.timed("login", go)

    async def open_page(self) -> None:
        """What a browser asks for (besides static assets): GET / (the HTML, with the config inside),
        the theme's CSS, the heartbeat stream that keeps the session, then the page's load events."""
        async def html(call):
            r = await self.http.get("/")
            r.raise_for_status()
            self.page = Page(embedded_config(r.text))
            self.timer_on = {i: c["props"].get("active", True) for i, c in self.page.comps.items() if c["type"] == "timer"}
            self.values = {i: c["props"].get("value") for i, c in self.page.comps.items() if c["type"] not in ("state", "timer")}
            (await self.http.get("/theme.css")).raise_for_status()
        t0 = time.monotonic()
        await self.timed("page: GET / + theme.css", html)
        if self.page is None:
            return
        page = self.page
        self.heartbeat = asyncio.create_task(self._heartbeat(page))
        loads = await asyncio.gather(*(self.event(ep, page) for ep in page.loads()))
        total = Call("page load (HTML + load events)", self.user, time.time(), time.monotonic() - t0,
                     ok=all(c.ok for c in loads))
        self.calls.append(total)

    async def _heartbeat(self, page: Page) -> None:
        try:
            async with self.http.stream("GET", f"{page.api}/heartbeat/{self.session_hash}",
                                        timeout=httpx.Timeout(CALL_TIMEOUT, read=None)) as r:
                async for _ in r.aiter_lines():
                    pass
        except httpx.HTTPError:
            pass

    async def event(self, ep: Endpoint, page: Page, overrides: dict | None = None) -> Call:
        """Fire one event the way the page does and wait for its completion message."""
        async def go(call):
            self.pending += 1
            try:
                body = {"data": page.values(ep, overrides, self.values), "event_data": None, "fn_index": ep.fn_index,
                        "trigger_id": ep.trigger_id, "session_hash": self.session_hash}
                r = await self.http.post(f"{page.api}/queue/join", json=body)
                r.raise_for_status()
                event_id = r.json()["event_id"]
                ev = self.events.setdefault(event_id, _Event())
                if self.reader is None or self.reader.done():
                    self.reader = asyncio.create_task(self._read(page))
                t0 = time.monotonic()
                try:
                    await asyncio.wait_for(ev.done.wait(), CALL_TIMEOUT)
                finally:
                    self.events.pop(event_id, None)
                starts = [m for m in ev.messages if m.get("msg") == "process_starts"]
                call.queued = max(0.0, starts[0]["_t"] - t0) if starts else 0.0
                call.warnings = [m.get("log", "") for m in ev.messages if m.get("msg") == "log"]
                done = ev.messages[-1]
                if done.get("msg") != "process_completed" or not done.get("success"):
                    out = done.get("output") or {}
                    raise ServerError((out.get("error") if isinstance(out, dict) else None) or done.get("message") or "")
                call.data = done["output"]["data"]
                self._apply(ep, page, call.data)
            finally:
                self.pending -= 1
        return await self.timed(ep.label, go, ep.handler)

    def _apply(self, ep: Endpoint, page: Page, data: list) -> None:
        """What the page does with an event's outputs: switch timers, keep the new values, and fire
        the change handlers of components whose value changed (a browser does, without waiting)."""
        for comp, value in zip(ep.outputs, data):
            kind = page.comps.get(comp, {}).get("type")
            if kind == "timer":
                if isinstance(value, dict) and "active" in value:
                    self.timer_on[comp] = bool(value["active"])
                continue
            if kind == "state":
                continue
            if isinstance(value, dict) and value.get("__type__") == "update":
                if "value" not in value:
                    continue
                value = value["value"]
            if self.values.get(comp) != value:
                self.values[comp] = value
                for change in page.handlers_of("triggered change", comp, "change"):
                    task = asyncio.create_task(self.event(change, page))
                    self.triggered.add(task)
                    task.add_done_callback(self.triggered.discard)

    async def _read(self, page: Page) -> None:
        """The session's message stream: reopened while any event of ours is pending."""
        while self.pending > 0:
            try:
                async with self.http.stream("GET", f"{page.api}/queue/data", params={"session_hash": self.session_hash},
                                            timeout=httpx.Timeout(CALL_TIMEOUT, read=None)) as r:
                    if r.status_code != 200:
                        await asyncio.sleep(0.05)
                        continue
                    async for line in r.aiter_lines():
                        if not line.startswith("data:"):
                            continue
                        msg = json.loads(line[5:])
                        msg["_t"] = time.monotonic()
                        kind, event_id = msg.get("msg"), msg.get("event_id")
                        if kind == "close_stream":
                            break
                        if event_id:
                            ev = self.events.setdefault(event_id, _Event())
                            ev.messages.append(msg)
                            if kind in ("process_completed", "unexpected_error"):
                                ev.done.set()
                        elif kind == "unexpected_error":
                            for ev in self.events.values():
                                ev.messages.append(msg)
                                ev.done.set()
            except httpx.HTTPError:
                await asyncio.sleep(0.2)

    async def close(self) -> None:
        for task in (self.reader, self.heartbeat, *self.triggered):
            if task and not task.done():
                task.cancel()
        await self.http.aclose()


async def poll(session: Session, ep: Endpoint, stop: asyncio.Event, active=lambda: True) -> None:
    """A gr.Timer: it fires every `interval` seconds, and a tick is dropped while the last one is
    still pending (trigger_mode 'once'), so the next call goes at the first beat after completion.
    It sends nothing while the page has it switched off (gr.Timer(active=False) from any handler)
    or `active()` is false."""
    start = time.monotonic()
    while not stop.is_set():
        if session.timer_on.get(ep.trigger_id, True) and active():
            await session.event(ep, session.page)
        beats = math.floor((time.monotonic() - start) / ep.interval) + 1
        try:
            await asyncio.wait_for(stop.wait(), max(0.0, start + beats * ep.interval - time.monotonic()))
        except asyncio.TimeoutError:
            pass


# ---- the participants --------------------------------------------------------------------------------
@dataclass
class Submission:
    user: str
    kind: str
    at: float
    run_id: str | None = None
    refused: str = ""        # the one-line reason shown, when the lab said no
    error: str = ""          # a failed call without a reason shown
    expect_refusal: bool = False
    final: dict = field(default_factory=dict)
    max_position: int = 0
    reasons: list[str] = field(default_factory=list)


async def submit(session: Session, kind: str, steps: int, bad: bool, subs: list[Submission]) -> None:
    page = session.page
    prefix = "sft" if kind == "sft" else "dedup"
    ep = page.clicked(f"Start ({kind})", f"{prefix}-start")
    overrides = {"sft-f-train-max-steps": steps} if kind == "sft" else {}
    if bad:
        overrides["sft-f-dataset-path"] = "/etc/passwd"
    sub = Submission(session.user, kind + (" (outside workspace)" if bad else ""), time.time(), expect_refusal=bad)
    subs.append(sub)
    call = await session.event(ep, page, overrides)
    if not call.ok:
        reason = call.error.removeprefix("ServerError: ") if call.error.startswith("ServerError: ") else ""
        sub.refused, sub.error = (reason, "") if reason.strip() else ("", call.error or "failed without a reason")
        return
    shown = str(page.output(ep, call.data, f"{prefix}-error") or "").strip()
    if shown:
        sub.refused = shown.lstrip("⚠ ").strip()
        return
    watch = page.output(ep, call.data, f"{prefix}-watch")
    sub.run_id = watch.get("value") if isinstance(watch, dict) else watch
    if not sub.run_id:
        sub.error = f"Start returned neither a run nor a reason (warnings: {call.warnings})"


def sft_participants(n: int, sft_runs: int) -> set[int]:
    """Who submits the SFT runs: spread over the submission window, so that training overlaps the queue."""
    return {int((j + 0.5) * n / sft_runs) for j in range(min(sft_runs, n))}


def timer_switch(mode: str, kind: str | None, user: str, subs: list[Submission]):
    """--timers page: a timer ticks whenever the page has it on (a tab's timer, once the tab has
    been shown, ticks until a handler switches it off).
    --timers active: on top of that, a tab's timer ticks only while one of the participant's runs of
    its kind is queued or running, plus a few seconds for the last render, and the runs overlay
    (nothing selected to compare) not at all: what the page would send if its tabs switched their
    timers off when idle (to measure that change before making it)."""
    if mode == "page" or kind is None:
        return lambda: True
    if kind == "overlay":
        return lambda: False

    def active() -> bool:
        return any(s.user == user and s.kind == kind and s.run_id
                   and (s.final.get("state") not in TERMINAL or time.time() - (s.final.get("ended_at") or 0) < 3)
                   for s in subs)
    return active


async def participant(i: int, n: int, account: dict, args, url: str, t0: float, calls: list, subs: list,
                      stop: asyncio.Event, done_submitting: list) -> None:
    session = Session(url, account["username"], account["password"], calls)
    pollers: list[asyncio.Task] = []
    try:
        await asyncio.sleep(i * args.login_spread / n)
        if not (await session.login()).ok:
            return
        await session.open_page()
        page = session.page
        if page is None:
            return
        for tab in SHOWN_TABS:  # the participant clicks through the tabs: whatever a tab does when shown
            for ep in page.handlers("tab shown", tab, "select"):
                await session.event(ep, page)
        timers = [(page.timer_writing("broadcast poll", "ws-broadcast"), None),
                  (page.timer_writing("chart: SFT tick", "sft-plot"), "sft"),
                  (page.timer_writing("chart: Data tick", "dedup-log"), "dedup"),
                  (page.timer_writing("runs-table refresh", "runs-table"), None),
                  (page.timer_writing("chart: runs overlay", "runs-plot"), "overlay")]
        pollers = [asyncio.create_task(poll(session, ep, stop, timer_switch(args.timers, kind, session.user, subs)))
                   for ep, kind in timers]
        for k in range(args.runs_per_participant):
            when = t0 + args.login_spread + (i + k * n) * args.stagger / (n * args.runs_per_participant)
            await asyncio.sleep(max(0.0, when - time.monotonic()))
            if i < args.bad_runs and k == 0:
                await submit(session, "sft", args.sft_steps, True, subs)
            kind = "sft" if k == 0 and i in sft_participants(n, args.sft_runs) else "dedup"
            await submit(session, kind, args.sft_steps, False, subs)
            for ep in page.handlers("tab shown", "tab-runs", "select"):  # then goes to look at the queue
                await session.event(ep, page)
        done_submitting.append(i)
        await stop.wait()
        await asyncio.gather(*pollers)
    finally:
        if i not in done_submitting:
            done_submitting.append(i)
        await session.close()


async def facilitator(account: dict, url: str, calls: list, stop: asyncio.Event) -> None:
    session = Session(url, account["username"], account["password"], calls)
    try:
        if not (await session.login()).ok:
            return
        await session.open_page()
        if session.page is None:
            return
        eps = [session.page.timer_writing("facilitator refresh", "ws-runs"),
               session.page.timer_writing("broadcast poll", "ws-broadcast")]
        await asyncio.gather(*(poll(session, ep, stop) for ep in eps))
    finally:
        await session.close()


async def browser_pages(accounts: list[dict], url: str, times: list[float], calls: list) -> None:
    """Real Chromium page loads at the given moments (time.monotonic()), one context each."""
    if not times:
        return
    from playwright.async_api import async_playwright

    chromium = os.environ.get("LAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        for account, when in zip(accounts, times):
            await asyncio.sleep(max(0.0, when - time.monotonic()))
            context = await browser.new_context(viewport={"width": 1400, "height": 1000})
            page = await context.new_page()
            call = Call("browser page ready (Chromium)", account["username"], time.time())
            t0 = time.monotonic()
            try:
                await page.goto(url, timeout=120_000)
                await page.locator("input[type=text]").first.fill(account["username"])
                await page.locator("input[type=password]").fill(account["password"])
                t0 = time.monotonic()  # from the login click: what the participant waits for
                await page.get_by_role("button", name="Login").click()
                await page.wait_for_function(
                    f"(document.querySelector('#ws-user') || {{}}).innerText?.includes('{account['username']}')",
                    timeout=180_000)
            except Exception as e:  # noqa: BLE001
                call.ok, call.error = False, f"{type(e).__name__}: {e}"[:300]
            call.total = time.monotonic() - t0
            calls.append(call)
            await context.close()
        await browser.close()


# ---- watching the runs (their folders; the bench reads the same files the UI does) --------------------
async def watch_runs(workspace: Path, subs: list[Submission], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for sub in subs:
            if sub.run_id and sub.final.get("state") not in TERMINAL:
                status = read_status(workspace, sub)
                if status:
                    sub.final = status
                    if status.get("queue_position"):
                        sub.max_position = max(sub.max_position, int(status["queue_position"]))
                    reason = status.get("queue_reason")
                    if reason and reason not in sub.reasons:
                        sub.reasons.append(reason)
        await asyncio.sleep(0.5)


def read_status(workspace: Path, sub: Submission) -> dict:
    try:
        return json.loads((workspace / "users" / sub.user / "runs" / sub.run_id / "status.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


class Sampler:
    """Load average, and the CPU time of the server and of its workers (the server reaps its workers,
    so theirs is the server's children time plus that of the ones still running)."""

    def __init__(self, server_pid: int):
        self.server = psutil.Process(server_pid)
        self.load: list[tuple[float, float]] = []
        self.t0 = time.monotonic()
        self._start = self._times()  # the server's start-up is not the bench's
        self.cpu_server = self.cpu_workers = self.cpu_client = 0.0

    def _times(self) -> tuple[float, float]:
        try:
            t = self.server.cpu_times()
            live = 0.0
            for child in self.server.children(recursive=True):
                try:
                    c = child.cpu_times()
                    live += c.user + c.system
                except psutil.Error:
                    pass
            return t.user + t.system, t.children_user + t.children_system + live
        except psutil.Error:
            return self.cpu_server + self._start[0], self.cpu_workers + self._start[1]

    def sample(self) -> None:
        self.load.append((round(time.monotonic() - self.t0, 1), os.getloadavg()[0]))
        server, workers = self._times()
        self.cpu_server, self.cpu_workers = server - self._start[0], max(self.cpu_workers, workers - self._start[1])

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.sample()
            try:
                await asyncio.wait_for(stop.wait(), 5)
            except asyncio.TimeoutError:
                pass
        self.sample()


# ---- the report ------------------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(q * len(s)) - 1)]


def stats(calls: list[Call]) -> dict:
    ok = [c.total for c in calls if c.ok]
    return {"calls": len(calls), "errors": sum(not c.ok for c in calls),
            "p50_s": _r(pct(ok, 0.5)), "p95_s": _r(pct(ok, 0.95)), "max_s": _r(max(ok) if ok else None),
            "queue_p95_s": _r(pct([c.queued for c in calls if c.ok], 0.95))}


def _r(x):
    return None if x is None else round(x, 3)


def busy_intervals(subs: list[Submission]) -> list[tuple[float, float]]:
    now = time.time()
    return [(s.final["started_at"], s.final.get("ended_at") or now) for s in subs
            if s.run_id and s.final.get("started_at")]


def during(call: Call, intervals) -> bool:
    return any(a <= call.at <= b for a, b in intervals)


def outcome(sub: Submission) -> str:
    if sub.refused:
        return "refused"
    if sub.error:
        return "error"
    state = sub.final.get("state")
    if state is None:
        return "lost"
    return state if state in TERMINAL else "stuck"


def report(calls: list[Call], subs: list[Submission], sampler: Sampler, args, info: dict) -> dict:
    labels = []
    for c in calls:
        if c.label not in labels:
            labels.append(c.label)
    by_label = {label: stats([c for c in calls if c.label == label]) for label in labels}
    loads = [c for c in calls if c.label == "page: load event"]
    by_load = {h: stats([c for c in loads if c.handler == h]) for h in sorted({c.handler for c in loads})}
    busy = busy_intervals(subs)
    charts_busy = [c for c in calls if c.label in CHART_LABELS and during(c, busy)]
    table_busy = [c for c in calls if c.label == "runs-table refresh" and during(c, busy)]
    chart = stats(charts_busy)
    outcomes: dict[str, int] = {}
    for s in subs:
        outcomes[outcome(s)] = outcomes.get(outcome(s), 0) + 1
    waits = [s.final["started_at"] - s.final["created_at"] for s in subs if s.final.get("started_at") and s.final.get("created_at")]
    runs_s = [s.final["ended_at"] - s.final["started_at"] for s in subs if s.final.get("ended_at") and s.final.get("started_at")]
    bad = [s for s in subs if outcome(s) not in ("succeeded", "refused") or (s.expect_refusal and outcome(s) != "refused")]
    chart_pass = chart["p95_s"] is not None and chart["p95_s"] < 1.0 and chart["calls"] >= 20
    runs_pass = bool(subs) and not bad and all(u["state"] in TERMINAL for u in info.get("untracked_runs", []))
    return {
        "bench": "workshop_load", "when": time.strftime("%Y-%m-%d %H:%M:%S"), "args": vars(args), **info,
        "cores": os.cpu_count(), "loadavg": {"start": info.get("loadavg_start"), "max": max((v for _, v in sampler.load), default=None),
                                              "end": os.getloadavg()[0], "samples": sampler.load},
        "cpu_seconds": {"server": round(sampler.cpu_server, 1), "workers": round(sampler.cpu_workers, 1),
                        "bench_client": round(sampler.cpu_client, 1)},
        "latency": by_label, "page_load_events_by_handler": by_load,
        "while_runs_execute": {"chart_refresh": chart, "runs_table_refresh": stats(table_busy),
                               "busy_seconds": round(sum(b - a for a, b in busy), 1)},
        "runs": {"submitted": len(subs), "outcomes": outcomes,
                 "queue_wait_s": {"p50": _r(pct(waits, 0.5)), "p95": _r(pct(waits, 0.95)), "max": _r(max(waits) if waits else None)},
                 "run_s": {"p50": _r(pct(runs_s, 0.5)), "max": _r(max(runs_s) if runs_s else None)},
                 "max_queue_position": max((s.max_position for s in subs), default=0),
                 "each": [{"user": s.user, "kind": s.kind, "run_id": s.run_id, "outcome": outcome(s),
                           "reason": s.refused or s.error or s.final.get("error") or "",
                           "queue_wait_s": _r(s.final["started_at"] - s.final["created_at"]) if s.final.get("started_at") else None,
                           "run_s": _r(s.final["ended_at"] - s.final["started_at"]) if s.final.get("ended_at") and s.final.get("started_at") else None,
                           "max_queue_position": s.max_position, "queue_reasons": s.reasons} for s in subs]},
        "errors": sorted({f"{c.label}: {c.error}" for c in calls if not c.ok})[:20],
        "pass": {"chart_refresh_p95_under_1s_while_runs_execute": chart_pass,
                 "every_run_finished_or_refused_with_reason": runs_pass},
    }


def _ms(x) -> str:
    return "–" if x is None else f"{1000 * x:.0f}"


def print_report(r: dict) -> None:
    la = r["loadavg"]
    runs = r["runs"]
    print(f"\nLLM Lab workshop load — {r['args']['participants']} participants + facilitator on {r['url']} "
          f"({r['cores']} cores, 1 CPU run slot, --max-runs-per-user {r['args']['max_runs_per_user']})")
    print(f"load average (1 min): {la['start']:.2f} at start, max {la['max']:.2f}, {la['end']:.2f} at end · "
          f"bench {r['wall_s']:.0f} s · CPU s: server {r['cpu_seconds']['server']}, workers {r['cpu_seconds']['workers']}, "
          f"bench client {r['cpu_seconds']['bench_client']}")
    print(f"timers: {r['args']['timers']} · lab served from {r['args']['repo']}")
    if r["args"]["server_env"]:
        print(f"server environment: {' '.join(r['args']['server_env'])}")
    print(f"\n{'':42} {'calls':>6} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queue p95':>10}")
    for label, s in r["latency"].items():
        print(f"{label:42} {s['calls']:>6} {s['errors']:>6} {_ms(s['p50_s']):>8} {_ms(s['p95_s']):>8} {_ms(s['max_s']):>8} "
              f"{_ms(s['queue_p95_s']):>10}")
    slow = sorted(r["page_load_events_by_handler"].items(), key=lambda kv: -(kv[1]["p50_s"] or 0))[:3]
    if slow:
        print(f"{'  slowest load handlers (p50 ms)':42} " + ", ".join(f"{h} {_ms(s['p50_s'])}" for h, s in slow))
    w = r["while_runs_execute"]
    for name, s in (("chart refresh while runs execute", w["chart_refresh"]), ("runs-table refresh while runs execute", w["runs_table_refresh"])):
        print(f"{name:42} {s['calls']:>6} {s['errors']:>6} {_ms(s['p50_s']):>8} {_ms(s['p95_s']):>8} {_ms(s['max_s']):>8} "
              f"{_ms(s['queue_p95_s']):>10}")
    q = runs["queue_wait_s"]
    print(f"\nruns: {runs['submitted']} submitted → " + ", ".join(f"{v} {k}" for k, v in sorted(runs["outcomes"].items())))
    print(f"queue wait (started_at − created_at): p50 {q['p50']} s, p95 {q['p95']} s, max {q['max']} s; "
          f"highest queue position seen #{runs['max_queue_position']}; run time p50 {runs['run_s']['p50']} s, max {runs['run_s']['max']} s")
    for s in runs["each"]:
        if s["outcome"] != "succeeded":
            print(f"  {s['user']} {s['kind']}: {s['outcome']} — {s['reason'] or '(no reason)'}")
    for u in r["untracked_runs"]:
        print(f"  a run no Start answer mentioned: {u['user']} {u['run_id']}: {u['state']} {u['error'] or ''}")
    for e in r["errors"]:
        print(f"  error: {e}")
    c = w["chart_refresh"]
    p = r["pass"]
    few = " — too few samples to judge (< 20)" if c["calls"] < 20 else ""
    print(f"\n{'PASS' if p['chart_refresh_p95_under_1s_while_runs_execute'] else 'FAIL'}  p95 chart refresh while runs execute: "
          f"{_ms(c['p95_s'])} ms over {c['calls']} calls (target < 1000 ms; {w['busy_seconds']} s with a run executing){few}")
    print(f"{'PASS' if p['every_run_finished_or_refused_with_reason'] else 'FAIL'}  every submitted run finished or was "
          f"refused with a reason: " + ", ".join(f"{v} {k}" for k, v in sorted(runs["outcomes"].items())))


# ---- main --------------------------------------------------------------------------------------------
async def run_bench(args, url: str, workspace: Path, server: subprocess.Popen) -> tuple[list, list, Sampler]:
    accounts = read_accounts(workspace)
    people = [a for a in accounts if a["role"] != "facilitator"][:args.participants]
    teacher = next((a for a in accounts if a["role"] == "facilitator"), None)
    calls: list[Call] = []
    subs: list[Submission] = []
    stop, watch_stop = asyncio.Event(), asyncio.Event()
    sampler = Sampler(server.pid)
    t0 = time.monotonic()
    cpu0 = time.process_time()
    window = args.login_spread + args.stagger
    browser_times = [t0 + args.login_spread + (b + 1) * args.stagger / (args.browsers + 1) for b in range(args.browsers)]
    done_submitting: list[int] = []
    tasks = [asyncio.create_task(participant(i, len(people), a, args, url, t0, calls, subs, stop, done_submitting))
             for i, a in enumerate(people)]
    if teacher:
        tasks.append(asyncio.create_task(facilitator(teacher, url, calls, stop)))
    tasks.append(asyncio.create_task(browser_pages(people, url, browser_times, calls)))
    side = [asyncio.create_task(sampler.run(watch_stop)), asyncio.create_task(watch_runs(workspace, subs, watch_stop))]
    while True:
        await asyncio.sleep(1)
        elapsed = time.monotonic() - t0
        all_in = len(done_submitting) == len(people) and all(s.refused or s.error or s.final.get("state") in TERMINAL for s in subs)
        if (elapsed >= max(args.duration, window) and all_in) or elapsed >= args.timeout:
            break
        if server.poll() is not None:
            print(f"the lab exited with {server.returncode} during the bench", file=sys.stderr)
            break
    stop.set()
    await asyncio.wait(tasks, timeout=CALL_TIMEOUT + 5)
    await asyncio.sleep(1.0)  # a last look at the runs
    watch_stop.set()
    await asyncio.gather(*side)
    sampler.cpu_client = time.process_time() - cpu0
    return calls, subs, sampler


def untracked_runs(workspace: Path, subs: list[Submission]) -> list[dict]:
    """Run folders in the participants' workspaces that no Start answer told the bench about
    (a lost answer would hide a run: it must not be one that never ends)."""
    known = {(s.user, s.run_id) for s in subs}
    out = []
    for status_path in sorted(workspace.glob("users/*/runs/*/status.json")):
        user, run_id = status_path.parts[-4], status_path.parent.name
        if (user, run_id) not in known:
            status = json.loads(status_path.read_text(encoding="utf-8"))
            out.append({"user": user, "run_id": run_id, "state": status.get("state"), "error": status.get("error")})
    return out


def stop_leftovers(subs: list[Submission]) -> None:
    """Workers of runs still queued or running when the bench gives up (the server started them for us)."""
    from backends.local import terminate_group

    for s in subs:
        if s.run_id and s.final.get("state") not in TERMINAL and s.final.get("pgid"):
            terminate_group(int(s.final["pgid"]), 5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=30)
    parser.add_argument("--duration", type=float, default=180, help="seconds of polling at least (then until every run ended)")
    parser.add_argument("--timeout", type=float, default=900, help="give up waiting for runs after this many seconds")
    parser.add_argument("--runs-per-participant", type=int, default=1)
    parser.add_argument("--sft-runs", type=int, default=2, help="how many of the runs are tiny SFTs (the rest: dedup)")
    parser.add_argument("--sft-steps", type=int, default=3)
    parser.add_argument("--bad-runs", type=int, default=1, help="participants who first submit a run that must be refused")
    parser.add_argument("--browsers", type=int, default=1, help="real Chromium page loads during the runs")
    parser.add_argument("--login-spread", type=float, default=30, help="participants arrive over this many seconds")
    parser.add_argument("--stagger", type=float, default=90, help="Start presses spread over this many seconds")
    parser.add_argument("--timers", choices=["page", "active"], default="page",
                        help="page: timers tick as the page has them on; active: also only while the participant has a run "
                             "of that tab queued or running (simulates tabs that switch their timers off when idle)")
    parser.add_argument("--max-runs-per-user", type=int, default=1)
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE",
                        help="an environment variable for the lab server (to try a setting without editing the lab)")
    parser.add_argument("--repo", default=str(REPO), help="serve the lab from this checkout (to measure a change before it lands)")
    parser.add_argument("--out", help="also write the report as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace (runs, server.log)")
    args = parser.parse_args(argv)

    if not (MODELS / "tiny").exists():
        print(f"error: no tiny model in {MODELS}: run `lab models bootstrap` first", file=sys.stderr)
        return 2
    workspace = Path(tempfile.mkdtemp(prefix="lab-workshop-load-"))
    (workspace / "models").symlink_to(MODELS)
    port = args.port or free_port()
    url = f"http://127.0.0.1:{port}"
    info = {"url": url, "workspace": str(workspace), "loadavg_start": os.getloadavg()[0]}
    extra_env = dict(kv.split("=", 1) for kv in args.server_env)
    server = start_server(Path(args.repo).resolve(), workspace, port, args.participants, args.max_runs_per_user, extra_env)
    subs: list[Submission] = []
    try:
        info["server_start_s"] = round(wait_up(url, server, workspace), 1)
        t0 = time.monotonic()
        calls, subs, sampler = asyncio.run(run_bench(args, url, workspace, server))
        info["wall_s"] = round(time.monotonic() - t0, 1)
        info["untracked_runs"] = untracked_runs(workspace, subs)
        result = report(calls, subs, sampler, args, info)
    finally:
        stop_leftovers(subs)
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
        if not args.keep:
            shutil.rmtree(workspace, ignore_errors=True)
    print_report(result)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
        print(f"\nJSON: {args.out}")
    return 0 if all(result["pass"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
