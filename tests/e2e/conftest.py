"""The lab served by `python launch.py` in a subprocess, driven by Playwright in Debian's Chromium."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from backends.local import wait_until

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "tests" / "e2e" / "screenshots"


def chromium_path() -> str:
    path = os.environ.get("LAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        pytest.fail("Chromium not found: `make test` installs Debian's chromium (or set LAB_CHROMIUM)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except urllib.error.HTTPError as e:
        return e.code in (401, 403)  # up, behind a login (workshop mode)
    except OSError:
        return False


class LabServer:
    def __init__(self, workspace: Path, port: int | None = None, args: tuple[str, ...] = (), env: dict | None = None):
        self.workspace, self.port = workspace, port or free_port()
        self.args, self.env = tuple(args), env or {}
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "LabServer":
        env = {**os.environ, "LAB_WORKSPACE": str(self.workspace), "GRADIO_ANALYTICS_ENABLED": "False", **self.env}
        log = open(self.workspace / f"ui-{self.port}.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "launch.py", "--port", str(self.port), "--lang", "en", *self.args],
                                     cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        if not wait_until(lambda: _up(self.url) or self.proc.poll() is not None, 90, 0.25) or self.proc.poll() is not None:
            raise RuntimeError(f"the lab did not start: {(self.workspace / f'ui-{self.port}.log').read_text()[-2000:]}")
        return self

    def kill(self, sig=9) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def lab_server(tiny_workspace):
    server = LabServer(tiny_workspace).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield new_page(context)
    context.close()


def new_page(context):
    """A page with the suite's timeouts (also for a test that opens a second page, e.g. after a reload)."""
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.set_default_navigation_timeout(60_000)  # a page load on a 2-core box busy with two test files and a run
    return pg


def screenshot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
