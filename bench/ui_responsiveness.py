"""How quickly the lab's page answers clicks in Chromium: a tab change before and after the ja/en switch, and the
switch itself, on a fresh workspace (no runs).

    python bench/ui_responsiveness.py [--rounds 2]

Starts `python launch.py --lang en` on a free port in a temporary workspace (the tiny models linked in, as the
tests do), opens it in Debian's Chromium through Playwright, visits every tab in English, switches to ja, then
visits every tab again `--rounds` times. A tab change is timed from the click to its status line being in the page;
the switch from the click to the tab titles reading Japanese, and, per tab after it, until that tab's status line
is Japanese. Beside them: the page's main-thread time (CDP `TaskDuration`) over the switch and over 5 idle seconds
after it — the cost every server event puts on the page in Gradio 6 (session 4 found idle 1 s timers making each
tab change after the switch take 8–12 s on this box). Run it on a quiet machine: it measures wall time."""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TABS = {"sft": "#sft-status", "dpo": "#dpo-status", "dedup": "#dedup-status", "launch": "#launch-status",
        "rag": "#rag-index-status", "judge": "#judge-status"}


def main() -> None:
    from playwright.sync_api import sync_playwright

    from tests.conftest import SHARED_WORKSPACE
    from tests.e2e.conftest import LabServer, chromium_path
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=2, help="walks over every tab after the switch")
    a = p.parse_args()
    if not (SHARED_WORKSPACE / "models" / "tiny").exists():
        sys.exit("the tiny model is missing: run `make bootstrap` (or `make run`) first")
    ws = Path(tempfile.mkdtemp(prefix="lab-ui-bench-"))
    (ws / "models").symlink_to(SHARED_WORKSPACE / "models")
    server = LabServer(ws).start()
    out: dict = {"tab_change_en_s": {}, "tab_change_ja_s": [], "until_tab_in_ja_s": []}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path())
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")

            def task_s() -> float:
                return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}["TaskDuration"]

            t = time.perf_counter()
            page.goto(server.url, wait_until="domcontentloaded")
            page.wait_for_selector("#lang")
            out["page_ready_s"] = round(time.perf_counter() - t, 2)
            for tab, status in TABS.items():
                t = time.perf_counter()
                page.locator(f"#tab-{tab}-button").click()
                page.wait_for_selector(status)
                out["tab_change_en_s"][tab] = round(time.perf_counter() - t, 2)
            page.locator("#tab-home-button").click()
            time.sleep(2)
            cpu, t = task_s(), time.perf_counter()
            page.locator("#lang label", has_text="ja").click()
            page.wait_for_function("() => [...document.querySelectorAll('button[role=tab]')]"
                                   ".some(b => b.innerText.includes('実行一覧'))")
            out["switch_s"] = round(time.perf_counter() - t, 2)
            time.sleep(3)
            out["switch_page_cpu_s"] = round(task_s() - cpu, 2)
            cpu = task_s()
            time.sleep(5)
            out["idle_5s_page_cpu_s"] = round(task_s() - cpu, 2)
            for _ in range(a.rounds):
                for tab, status in TABS.items():
                    t = time.perf_counter()
                    page.locator(f"#tab-{tab}-button").click()
                    page.wait_for_selector(status)
                    out["tab_change_ja_s"].append(round(time.perf_counter() - t, 2))
                    page.wait_for_function("sel => document.querySelector(sel).textContent.includes('まだ')", arg=status)
                    out["until_tab_in_ja_s"].append(round(time.perf_counter() - t, 2))
            browser.close()
    finally:
        server.stop()
    en, ja = list(out["tab_change_en_s"].values()), out["tab_change_ja_s"]
    print(f"page ready {out['page_ready_s']} s; tab change in en: median {round(statistics.median(en), 2)} s, max {max(en)} s")
    print(f"ja/en switch: {out['switch_s']} s until the tab titles change; page main-thread time over it "
          f"{out['switch_page_cpu_s']} s; over the next 5 idle seconds {out['idle_5s_page_cpu_s']} s")
    print(f"tab change after the switch ({len(ja)}): median {round(statistics.median(ja), 2)} s, max {max(ja)} s; until the tab "
          f"reads Japanese: median {round(statistics.median(out['until_tab_in_ja_s']), 2)} s, max {max(out['until_tab_in_ja_s'])} s")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
