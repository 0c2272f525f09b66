"""Workshop mode with a real server and real logins: each participant sees only their own runs, in
the page and through the HTTP API; the facilitator sees everyone's, pauses the queue and
broadcasts a message that appears in participants' pages."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.e2e.conftest import REPO, LabServer, screenshot

pytestmark = pytest.mark.e2e

USERS = {"alice": "alice-pw", "bob": "bob-pw", "teacher": "teacher-pw"}


@pytest.fixture(scope="module")
def workshop(tmp_path_factory, tiny_models_dir):
    ws = tmp_path_factory.mktemp("workshop")
    (ws / "models").symlink_to(tiny_models_dir)
    users = ws / "users.csv"
    users.write_text("username,password,role\nalice,alice-pw\nbob,bob-pw\nteacher,teacher-pw,facilitator\n",
                     encoding="utf-8")
    # alice has one finished run in her workspace before the session starts (made by the real CLI)
    env = {**os.environ, "LAB_WORKSPACE": str(ws / "users" / "alice"), "LAB_MODELS_DIR": str(ws / "models")}
    proc = subprocess.run([sys.executable, "-m", "lab.cli", "run", "presets/dedup-exact.yaml", "--json"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    run_id = json.loads(proc.stdout.strip().splitlines()[-1])["run_id"]
    server = LabServer(ws, args=("--workshop", "--users", str(users))).start()
    yield server, run_id
    server.stop()


def login(browser, server, user):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server.url)
    page.locator("input[type=text]").first.fill(user)
    page.locator("input[type=password]").fill(USERS[user])
    page.get_by_role("button", name="Login").click()
    page.wait_for_function(f"(document.querySelector('#ws-user') || {{}}).innerText?.includes('{user}')")
    return page


def open_runs(page) -> None:
    page.locator("#tab-runs-button, button[role=tab]:has-text('Runs')").first.click()
    page.locator("#runs-refresh").click()
    page.locator("#runs-table").wait_for()


def test_participants_see_only_their_own_runs_and_the_facilitator_sees_all(workshop, browser):
    server, run_id = workshop
    alice = login(browser, server, "alice")
    open_runs(alice)
    alice.wait_for_function(f"document.querySelector('#runs-table')?.innerText.includes('{run_id}')")
    assert alice.locator("#tab-facilitator").count() == 0 or not alice.locator("#tab-facilitator").is_visible()
    screenshot(alice, "workshop-alice")

    bob = login(browser, server, "bob")
    open_runs(bob)
    bob.wait_for_function("document.querySelector('#runs-table')?.innerText.includes('kind')")
    assert run_id not in bob.locator("#runs-table").inner_text()

    teacher = login(browser, server, "teacher")
    teacher.get_by_role("tab", name="Facilitator").click()
    teacher.wait_for_function(f"document.querySelector('#ws-runs')?.innerText.includes('{run_id}')")
    assert "alice" in teacher.locator("#ws-runs").inner_text()
    teacher.locator("#ws-message textarea").fill("Break until 15:00 / 15時まで休憩")
    teacher.locator("#ws-send").click()
    screenshot(teacher, "workshop-facilitator")
    # the broadcast reaches a participant's open page by itself
    bob.wait_for_function("document.querySelector('#ws-broadcast')?.innerText.includes('15:00')")
    screenshot(bob, "workshop-broadcast")
    for page in (alice, bob, teacher):
        page.context.close()


def test_the_http_api_enforces_the_same_isolation(workshop):
    from gradio_client import Client

    server, run_id = workshop
    run_dir = server.workspace / "users" / "alice" / "runs" / run_id
    alice = Client(server.url, auth=("alice", USERS["alice"]), verbose=False)
    bob = Client(server.url, auth=("bob", USERS["bob"]), verbose=False)

    assert run_id in json.dumps(alice.predict(api_name="/runs_table"), ensure_ascii=False)
    assert run_id not in json.dumps(bob.predict(api_name="/runs_table"), ensure_ascii=False)
    job_yaml = alice.predict(run_id, api_name="/run_detail")[0]
    assert "kind: dedup" in job_yaml
    with pytest.raises(Exception, match="no run"):
        bob.predict(run_id, api_name="/run_detail")
    try:
        bob.predict(run_id, api_name="/cancel_run")
    except Exception:  # noqa: BLE001 - refused is fine; what matters is that nothing happened
        pass
    assert not (run_dir / "cancel.request").exists()

    with pytest.raises(Exception, match="only the facilitator"):
        bob.predict(api_name="/workshop_pause")
    teacher = Client(server.url, auth=("teacher", USERS["teacher"]), verbose=False)
    teacher.predict(api_name="/workshop_pause")
    assert (server.workspace / ".queue" / "paused").exists()
    teacher.predict(api_name="/workshop_resume")
    assert not (server.workspace / ".queue" / "paused").exists()

    with pytest.raises(Exception):
        Client(server.url, auth=("bob", "wrong-password"), verbose=False)
