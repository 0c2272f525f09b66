"""Workshop mode a room can trust (issue 13, points 1-4, 8, 9), attacked the way a participant could: through
the HTTP API of a real `python launch.py --workshop --users users.csv` server, with any values.

alice and bob are participants. Each has a "trained" run (its model folder a copy of a built model: alice's
is the pre-trained tiny model, bob's the untrained tiny-init, so their answers differ) under the SAME run
id, plus one of their own; alice also has a real dedup run and a real RAG index, made by the CLI as her."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO, LabServer

pytestmark = pytest.mark.integration

USERS = {"alice": "alice-pw", "bob": "bob-pw", "teacher": "teacher-pw"}
SAME_ID = "sft-20260101-000000-same"
BOB_ONLY = "sft-20260101-000000-bbbb"
QUESTION = "図書館の休館日は？"


def fake_trained_run(runs: Path, run_id: str, model: Path) -> Path:
    """A finished SFT run as the worker leaves it (job.yaml, status.json, artifacts/model)."""
    from lab.presets import dump_spec, load_preset
    run = runs / run_id
    (run / "artifacts").mkdir(parents=True)
    shutil.copytree(model, run / "artifacts" / "model")
    (run / "job.yaml").write_text(dump_spec(load_preset("sft-tiny")), encoding="utf-8")
    now = time.time()
    (run / "status.json").write_text(json.dumps({"state": "succeeded", "kind": "sft", "created_at": now,
                                                 "started_at": now, "ended_at": now, "exit_code": 0}))
    (run / "events.jsonl").write_text("")
    return run


def cli_as(ws: Path, user: str, *args: str) -> dict:
    env = {**os.environ, "LAB_WORKSPACE": str(ws / "users" / user), "LAB_MODELS_DIR": str(ws / "models")}
    proc = subprocess.run([sys.executable, "-m", "lab.cli", "run", *args, "--json"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory, tiny_models_dir):
    ws = tmp_path_factory.mktemp("workshop-security")
    (ws / "models").symlink_to(tiny_models_dir)
    users = ws / "users.csv"
    users.write_text("username,password,role\nalice,alice-pw\nbob,bob-pw\nteacher,teacher-pw,facilitator\n",
                     encoding="utf-8")
    alice, bob = ws / "users" / "alice", ws / "users" / "bob"
    fake_trained_run(alice / "runs", SAME_ID, tiny_models_dir / "tiny")
    fake_trained_run(bob / "runs", SAME_ID, tiny_models_dir / "tiny-init")
    fake_trained_run(bob / "runs", BOB_ONLY, tiny_models_dir / "tiny-init")
    (alice / "docs").mkdir(parents=True)
    (alice / "docs" / "library.md").write_text("湊市の図書館は毎週月曜日が休館日です。開館は午前九時です。\n", encoding="utf-8")
    cli_as(ws, "alice", "presets/rag-index.yaml", "--set", "docs=docs")
    dedup = cli_as(ws, "alice", "presets/dedup-exact.yaml")
    server = LabServer(ws, args=("--workshop", "--users", str(users))).start()
    yield {"server": server, "ws": ws, "users_csv": users, "dedup": dedup["run_id"]}
    server.stop()


def client(lab, user):
    from gradio_client import Client
    return Client(lab["server"].url, auth=(user, USERS[user]), verbose=False)


def rag_reply(c, model: str, index: str = "default") -> str:
    """The RAG chat's answer text (the chat API takes any model and index name a participant types)."""
    history = c.predict(QUESTION, [], [], False, index, "bm25", 3, 0.5, "", model, "", "", 0, 8, "", api_name="/send_4")[0]
    return "".join(part.get("text", "") for part in history[-1]["content"])


def sft_chat_reply(c, run_id: str) -> str:
    """The SFT tab's chat with a run of the caller's (picked the way the page does: load, then watch)."""
    c.predict(api_name="/load_tabs")  # every tab's page load, one event (ui/app.py)
    c.predict(run_id, api_name="/watch_1")
    trained = c.predict("こんにちは", 12, 0, api_name="/send")[0]
    return "".join(part.get("text", "") for part in trained[-1]["content"])


def no_server_folder(text: str, lab) -> None:
    assert str(lab["ws"]) not in text and str(REPO) not in text, text


# ---- 1. generation works for participants ------------------------------------------------------------------
def test_a_participant_chats_with_their_own_run_in_the_sft_and_rag_chats(lab):
    alice = client(lab, "alice")
    reply = sft_chat_reply(alice, SAME_ID)
    assert reply and not reply.startswith("⚠"), reply
    answer = rag_reply(alice, f"run:{SAME_ID}")
    assert answer and not answer.startswith("⚠") and "library.md" in answer, answer


# ---- 2 and 8. an identifier is a name; errors name no server folder and tell nothing of others' runs -------
def test_run_ids_are_names_and_another_participants_run_is_as_absent_as_a_made_up_one(lab):
    alice = client(lab, "alice")
    for attack in (f"run:../../bob/runs/{BOB_ONLY}", f"run:..\\..\\bob\\runs\\{BOB_ONLY}", "run:../../../users.csv",
                   f"run:{lab['ws']}/users/bob/runs/{BOB_ONLY}", f"run:{BOB_ONLY}\n", f"../bob/runs/{BOB_ONLY}/artifacts/model",
                   f"{lab['ws']}/users/bob/runs/{BOB_ONLY}/artifacts/model"):
        answer = rag_reply(alice, attack)
        assert answer.startswith("⚠") and "\n" not in answer.strip(), answer
        if str(lab["ws"]) not in attack:
            no_server_folder(answer, lab)
    theirs, made_up = rag_reply(alice, f"run:{BOB_ONLY}"), rag_reply(alice, "run:sft-20260101-000000-zzzz")
    assert theirs.startswith("⚠") and theirs.replace(BOB_ONLY, "X") == made_up.replace("sft-20260101-000000-zzzz", "X")
    assert "in runs" in made_up
    no_server_folder(made_up, lab)


def test_index_preset_and_run_names_cannot_walk_out(lab):
    from gradio_client.exceptions import AppError
    alice = client(lab, "alice")
    for index in ("../bob/rag/default", "../../users/bob/rag/default", f"{lab['ws']}/users/bob/rag/default"):
        answer = rag_reply(alice, "tiny", index)
        assert answer.startswith("⚠") and "outside your workspace" in answer, answer
    for name in ("../../users.csv", f"{lab['users_csv']}"):  # preset pickers take only the listed presets
        with pytest.raises(AppError):
            alice.predict(name, api_name="/load")
    alice.predict(api_name="/runs_table")
    for run_id in (f"../bob/runs/{BOB_ONLY}", f"../../bob/runs/{BOB_ONLY}", BOB_ONLY):
        with pytest.raises(AppError, match="no run"):
            alice.predict(run_id, api_name="/run_detail")
    form = list(alice.predict("sft-tiny", api_name="/load_named_1"))[:21]  # the SFT form, as the page fills it
    for name in ("../../../escape", "..", "a/b", "x\ny"):
        saved, _, error = alice.predict(name, *form, api_name="/save_preset")
        assert "⚠" in str(error) and not isinstance(saved, str), (name, error)
    assert not list(lab["ws"].glob("**/escape*")) and not (lab["ws"] / "users" / "alice" / "presets" / "a").exists()
    saved, _, error = alice.predict("mine", *form, api_name="/save_preset")
    assert not error and Path(saved).name == "mine.yaml"  # served from Gradio's cache; kept in alice's presets
    assert (lab["ws"] / "users" / "alice" / "presets" / "mine.yaml").is_file()


# ---- 3. what a participant's files say is data: report.json cannot make the server serve the accounts ----
def test_report_json_cannot_point_the_data_tab_at_a_server_file(lab):
    alice_runs = lab["ws"] / "users" / "alice" / "runs"
    report_path = alice_runs / lab["dedup"] / "artifacts" / "report.json"
    report = json.loads(report_path.read_text(encoding="utf-8"))
    kept = Path(report["outputs"]["kept"])
    for key in ("kept", "removed", "clusters"):
        report["outputs"][key] = str(lab["users_csv"])
    report["outputs"]["slurm_script"] = str(lab["users_csv"])
    report["outputs"]["kept_text"] = "../../../../users.csv"
    report_path.write_text(json.dumps(report), encoding="utf-8")

    alice = client(lab, "alice")
    alice.predict(api_name="/load_tabs")  # the Data tab opens alice's latest run, as the page does
    alice.predict(api_name="/tick")
    results = alice.predict(0.8, 20, 5, api_name="/draw_finished")
    shown = json.dumps(results, ensure_ascii=False, default=str)
    assert "alice-pw" not in shown and "users.csv" not in shown, shown[:2000]
    assert str(kept) not in shown  # the real kept.jsonl is no longer named by report.json either
    # and the page's file route does not hand the accounts file out either
    url = f"{lab['server'].url}/gradio_api/file={urllib.parse.quote(str(lab['users_csv']))}"
    try:
        body = urllib.request.urlopen(url, timeout=10).read().decode("utf-8", "replace")
    except urllib.error.HTTPError:
        body = ""
    assert "alice-pw" not in body


def test_an_upload_lands_in_uploads_and_never_replaces_a_run_file(lab, tmp_path):
    from gradio_client import handle_file
    alice = client(lab, "alice")
    run_files = [lab["ws"] / "users" / "alice" / "runs" / lab["dedup"] / "artifacts" / "report.json",
                 lab["ws"] / "users" / "alice" / "runs" / SAME_ID / "job.yaml"]
    before = [f.read_bytes() for f in run_files]
    evil = tmp_path / "report.json"  # the attack: an upload named like a run's file
    evil.write_text(json.dumps({"outputs": {"kept": str(lab["users_csv"])}}), encoding="utf-8")
    kept = Path(alice.predict(handle_file(str(evil)), api_name="/take_upload_1"))  # the SFT tab's dataset upload
    assert kept.parent == (lab["ws"] / "users" / "alice" / "uploads").resolve() and kept.name == "report.json"
    assert [f.read_bytes() for f in run_files] == before


# ---- 4. every folder a participant writes to is in their workspace -----------------------------------------
def dedup_form(c, **changes):
    from ui.tabs.dedup import FORM_KEYS
    values = list(c.predict("dedup-exact", api_name="/load_named"))[:len(FORM_KEYS)]
    form = dict(zip(FORM_KEYS, values))
    form.update(changes)
    return [form[k] for k in FORM_KEYS]


def test_a_dedup_output_folder_stays_in_the_participants_workspace(lab):
    alice = client(lab, "alice")
    bob_home, models = lab["ws"] / "users" / "bob", lab["ws"] / "models"
    before = sorted(p.name for p in bob_home.iterdir())
    for target in (str(bob_home / "out"), "../bob/out", str(models / "stolen"), "uploads", "runs/" + SAME_ID, str(lab["ws"])):
        result = alice.predict(*dedup_form(alice, output_dir=target), api_name="/start")
        error = result[0] if isinstance(result, (list, tuple)) else result
        assert "⚠" in json.dumps(result, ensure_ascii=False) and ("outside your workspace" in str(error) or "manages" in str(error)), (target, error)
    assert sorted(p.name for p in bob_home.iterdir()) == before
    assert not (models / "stolen").exists()
    for index in ("../bob/rag/x", str(bob_home / "rag" / "x"), str(models / "idx"), "uploads/rag/x"):
        result = alice.predict(index, "docs", 250, 50, "multilingual-e5-small-q4", "sudachi", api_name="/start_index")
        assert "⚠" in json.dumps(result, ensure_ascii=False), (index, result)
    assert not (bob_home / "rag").exists() and not (models / "idx").exists()


# ---- 9. caches are keyed by what was resolved ----------------------------------------------------------------
def test_the_same_run_id_is_each_participants_own_model(lab):
    alice, bob = client(lab, "alice"), client(lab, "bob")
    mine = sft_chat_reply(alice, SAME_ID)  # loads and caches alice's model first
    theirs = sft_chat_reply(bob, SAME_ID)
    assert mine and theirs and not mine.startswith("⚠") and not theirs.startswith("⚠")
    assert theirs != mine  # bob's run:<id> is bob's model (tiny-init), not alice's cached one (tiny)
    # his other run holds the same weights: the same greedy answer (a new session: the chat keeps its history)
    assert theirs == sft_chat_reply(client(lab, "bob"), BOB_ONLY)


# ---- 6. values that reach a generated script are checked, through the page's own API ---------------------------
def test_a_newline_or_semicolon_for_a_slurm_field_is_refused_in_one_line(lab):
    alice = client(lab, "alice")
    runs_before = sorted(p.name for p in (lab["ws"] / "users" / "alice" / "runs").iterdir())
    for field, value in (("slurm_partition", "debug\n#SBATCH --wrap=id"), ("slurm_partition", "debug; id"),
                         ("slurm_time", "01:00:00\nid")):
        result = alice.predict(*dedup_form(alice, executor="datatrove-slurm", methods=["minhash"], **{field: value}),
                               api_name="/start")
        text = json.dumps(result, ensure_ascii=False)
        error = next((str(r) for r in (result if isinstance(result, (list, tuple)) else [result]) if "⚠" in str(r)), "")
        assert error and "\n" not in error.strip() and "Traceback" not in text, (field, value, result)
        assert field.removeprefix("slurm_") in error and "not allowed" in error, error
    assert sorted(p.name for p in (lab["ws"] / "users" / "alice" / "runs").iterdir()) == runs_before
