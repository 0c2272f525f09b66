"""How fast the lab's UI starts, beside a one-component Gradio app started on the same machine in the same run.

    python bench/ui_cold_start.py [--rounds 3]

Each round starts, one after the other, a bare Gradio Blocks app (one Textbox) and `python launch.py --lang en`
(a temporary workspace with the tiny models linked in, as the tests do), each on a free port, and times from the
process start:
  - http: until GET / answers 200;
  - usable: until Chromium (Debian's, through Playwright, opened before the server starts) shows the first tab
    ready for a click: the bare app's textbox, the lab's Home tab with its first "open preset" button visible and
    the ja/en radio on the page. The page is requested as soon as the HTTP answer is 200.
The figures are the medians over the rounds; the ratios (lab / bare) are the ones issue 17 asks about
(http ≤ 1.5×, usable ≤ 2×). The machine's load average is printed with them: on a shared box the ratio measured in
one run is the figure, not the seconds."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BARE_APP = """
import sys
import gradio as gr
with gr.Blocks(title="bare") as demo:
    gr.Textbox(label="text", elem_id="bare")
demo.launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), quiet=True)
"""
READY = {"bare": "#bare textarea", "lab": "#tab-home button[id^=home-open-]"}


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_once(which: str, page, workspace: Path) -> dict:
    from tests.e2e.conftest import free_port
    port = free_port()
    env = {**os.environ, "LAB_WORKSPACE": str(workspace), "GRADIO_ANALYTICS_ENABLED": "False"}
    argv = ([sys.executable, "-c", BARE_APP, str(port)] if which == "bare"
            else [sys.executable, "launch.py", "--port", str(port), "--lang", "en"])
    url = f"http://127.0.0.1:{port}/"
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not http_ok(url):
            if proc.poll() is not None:
                raise RuntimeError(f"{which} exited with {proc.returncode} before answering")
            if time.perf_counter() - t0 > 180:
                raise RuntimeError(f"{which} did not answer within 180 s")
            time.sleep(0.02)
        http_s = time.perf_counter() - t0
        page.goto(url, wait_until="commit")
        page.wait_for_selector(READY[which], state="visible")
        if which == "lab":
            page.wait_for_selector("#lang", state="visible")
        usable_s = time.perf_counter() - t0
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {"http_s": round(http_s, 2), "usable_s": round(usable_s, 2)}


def main() -> None:
    from playwright.sync_api import sync_playwright

    from tests.conftest import SHARED_WORKSPACE
    from tests.e2e.conftest import chromium_path
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    if not (SHARED_WORKSPACE / "models" / "tiny").exists():
        sys.exit("the tiny model is missing: run `make bootstrap` (or `make run`) first")
    ws = Path(tempfile.mkdtemp(prefix="lab-ui-start-"))
    (ws / "models").symlink_to(SHARED_WORKSPACE / "models")
    runs: dict[str, list[dict]] = {"bare": [], "lab": []}
    load_before = os.getloadavg()[0]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"])
        for _ in range(a.rounds):
            for which in ("bare", "lab"):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(120_000)
                runs[which].append(start_once(which, page, ws))
                page.close()
        browser.close()
    med = {which: {k: round(statistics.median(r[k] for r in rs), 2) for k in ("http_s", "usable_s")}
           for which, rs in runs.items()}
    ratio = {k: round(med["lab"][k] / med["bare"][k], 2) for k in ("http_s", "usable_s")}
    load = (load_before, os.getloadavg()[0])
    print(f"load average (1 min) {load[0]:.2f} before, {load[1]:.2f} after; {os.cpu_count()} cores")
    for which in ("bare", "lab"):
        print(f"{which:4}: HTTP 200 after {med[which]['http_s']} s, first tab usable in Chromium after "
              f"{med[which]['usable_s']} s (median of {a.rounds})")
    print(f"lab / bare: HTTP {ratio['http_s']}x (target <= 1.5x), usable {ratio['usable_s']}x (target <= 2x)")
    print(json.dumps({"runs": runs, "median": med, "ratio": ratio, "load": load}))


if __name__ == "__main__":
    main()
