"""An identifier is a name, never a path; a participant's paths stay in their workspace, and the errors
they see name no server folder (issue 13, points 2, 4 and 8)."""
from __future__ import annotations

import pytest

from lab.errors import UserError
from lab.names import check_name, inside, is_name
from lab.paths import as_user, check_inside, check_output_folder, check_writable, resolve_input, shown


@pytest.mark.parametrize("name", ["sft-20250101-abc", "default", "my_index.v2", "日本語のファイル.jsonl", "a"])
def test_plain_names_pass(name):
    assert check_name(name, "run id") == name


@pytest.mark.parametrize("name", ["", "..", ".", "../x", "a/..", "a/b", "a\\b", "/etc/passwd", "..\\x", "x\n",
                                  "x\x00y", "ok\rno", ".hidden", "~root", " lead", "C:evil", "a\u202eb", "x" * 201])
def test_paths_and_control_characters_are_refused_with_one_line(name):
    with pytest.raises(UserError) as e:
        check_name(name, "index")
    assert "\n" not in str(e.value) and str(e.value).startswith("index")
    assert not is_name(name)


def test_inside_refuses_a_symlink_that_leads_out(tmp_path):
    root, other = tmp_path / "runs", tmp_path / "elsewhere"
    root.mkdir(), other.mkdir()
    (root / "ok").mkdir()
    (root / "link").symlink_to(other)
    assert inside(root, "ok", "run id") == root.resolve() / "ok"
    with pytest.raises(UserError, match="outside its folder"):
        inside(root, "link", "run id")


@pytest.fixture
def alice(tmp_path, monkeypatch):
    base = tmp_path / "ws"
    (base / "users" / "alice" / "uploads").mkdir(parents=True)
    (base / "users" / "bob" / "runs" / "sft-1").mkdir(parents=True)
    (base / "users" / "bob" / "secret.txt").write_text("bob's")
    (base / "models").mkdir()
    monkeypatch.setenv("LAB_WORKSPACE", str(base))
    monkeypatch.delenv("LAB_MODELS_DIR", raising=False)
    monkeypatch.delenv("LAB_CONFINE", raising=False)
    with as_user("alice", base / "users" / "alice"):
        yield base


def test_another_participants_file_is_as_absent_as_a_typo_and_no_server_folder_is_named(alice):
    with pytest.raises(UserError) as there:
        resolve_input("../bob/secret.txt", "dataset")
    with pytest.raises(UserError) as missing:
        resolve_input("../bob/nothing.txt", "dataset")
    assert str(there.value).replace("secret", "nothing") == str(missing.value)
    assert str(alice) not in str(there.value)
    with pytest.raises(UserError, match="outside your workspace"):
        check_inside(alice / "users" / "bob" / "secret.txt", "dataset")
    with pytest.raises(UserError, match="outside your workspace"):
        check_inside(alice / "users" / "bob" / "nothing.txt", "dataset")


def test_shown_paths_are_relative_to_the_workspace(alice):
    assert shown(alice / "users" / "alice" / "runs" / "sft-1") == "runs/sft-1"
    assert shown(alice / "models" / "tiny") == "models/tiny"
    assert shown(alice / "users" / "bob") == "(a folder outside your workspace)"
    assert str(alice) not in shown("/etc/passwd")


def test_output_folders_stay_in_the_workspace_and_out_of_the_folders_the_lab_manages(alice):
    home = alice / "users" / "alice"
    assert check_writable("out", "output_dir") == (home / "out").resolve()
    assert check_output_folder("dedup-out", "output_dir") == (home / "dedup-out").resolve()
    for bad in (alice / "users" / "bob" / "out", alice / "models" / "tiny", "../bob", "/tmp/x"):
        with pytest.raises(UserError, match="outside your workspace"):
            check_output_folder(bad, "output_dir")
    for managed in ("uploads", "uploads/x", "runs/sft-1", "presets", ".", "rag/default"):
        with pytest.raises(UserError, match="manages"):
            check_output_folder(managed, "output_dir")


def test_single_user_mode_keeps_its_freedom(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.delenv("LAB_CONFINE", raising=False)
    assert check_output_folder(tmp_path / "anywhere", "output_dir") == (tmp_path / "anywhere").resolve()
    assert shown(tmp_path / "x") == str(tmp_path / "x")


def test_run_ids_resolve_only_in_the_participants_own_runs(alice):
    from lab.models.load import resolve_model
    bob_run = alice / "users" / "bob" / "runs" / "sft-1"
    (bob_run / "job.yaml").write_text("kind: sft\n")
    (bob_run / "artifacts" / "model").mkdir(parents=True)
    (bob_run / "artifacts" / "model" / "config.json").write_text("{}")
    for attack in ("run:../../bob/runs/sft-1", f"run:{bob_run}", "../bob/runs/sft-1/artifacts/model",
                   str(bob_run / "artifacts" / "model"), "run:sft-1/../../../bob/runs/sft-1"):
        with pytest.raises(UserError) as e:
            resolve_model(attack)
        assert "\n" not in str(e.value)
        if str(alice) not in attack:  # what was typed is echoed, nothing more
            assert str(alice) not in str(e.value)
    with pytest.raises(UserError) as theirs:
        resolve_model("run:sft-1")  # bob has one; alice has none
    with pytest.raises(UserError) as made_up:
        resolve_model("run:sft-2")
    assert str(theirs.value).replace("sft-1", "X") == str(made_up.value).replace("sft-2", "X")
    assert "in runs" in str(made_up.value) and str(alice) not in str(made_up.value)


def test_the_model_cache_is_keyed_by_the_resolved_folder(alice, monkeypatch):
    from lab.models import cache
    loaded = []
    monkeypatch.setattr(cache, "load_causal_lm", lambda name: (loaded.append(name) or _Model(), object()))
    monkeypatch.setattr(cache, "_CACHE", type(cache._CACHE)())
    for user in ("alice", "bob"):
        run = alice / "users" / user / "runs" / "sft-9"
        (run / "artifacts" / "model").mkdir(parents=True)
        (run / "job.yaml").write_text("kind: sft\n")
        (run / "artifacts" / "model" / "config.json").write_text("{}")
    mine = cache.cached_model("run:sft-9")
    with as_user("bob", alice / "users" / "bob"):
        theirs = cache.cached_model("run:sft-9")
    assert mine is not theirs and len(loaded) == 2
    assert set(cache._CACHE) == {str((alice / "users" / u / "runs" / "sft-9" / "artifacts" / "model").resolve())
                                for u in ("alice", "bob")}


class _Model:
    def eval(self):
        return self


def test_a_participants_errors_name_no_server_folder(alice):
    from lab.models.load import resolve_model
    home = alice / "users" / "alice"
    e = UserError(f"{home}/uploads/x.jsonl:3: messages: missing; see {alice}/users/bob/y and {home}")
    assert str(e) == "uploads/x.jsonl:3: messages: missing; see …/users/bob/y and your workspace"
    with pytest.raises(UserError) as missing:
        resolve_model("tiny")  # the shared models folder has no tiny model in this test
    assert str(alice) not in str(missing.value) and "models" in str(missing.value)


def test_outside_workshop_mode_errors_keep_their_paths(tmp_path, monkeypatch):
    monkeypatch.delenv("LAB_CONFINE", raising=False)
    assert str(UserError(f"{tmp_path}/x.jsonl:1: bad")) == f"{tmp_path}/x.jsonl:1: bad"


def test_presets_are_found_by_name_or_in_the_participants_area_only(alice):
    from lab.presets import find_preset
    from lab.paths import PRESETS_DIR
    assert find_preset("sft-tiny") == PRESETS_DIR / "sft-tiny.yaml"
    assert find_preset(str(PRESETS_DIR / "sft-tiny.yaml")) == (PRESETS_DIR / "sft-tiny.yaml").resolve()
    (alice / "users" / "bob" / "presets").mkdir(parents=True)
    (alice / "users" / "bob" / "presets" / "theirs.yaml").write_text("kind: sft\n")
    for attack in ("../bob/presets/theirs", "../bob/presets/theirs.yaml", str(alice / "users" / "bob" / "presets" / "theirs.yaml"),
                   "Makefile", "../../../../../etc/passwd"):
        with pytest.raises(UserError):
            find_preset(attack)


def test_only_an_account_has_runs_for_the_facilitator_to_cancel(alice, monkeypatch):
    import os
    from lab.users import load_csv
    from lab.workshop import Workshop
    monkeypatch.setattr(os, "environ", os.environ.copy())  # Workshop() sets the queue's variables for its workers
    sheet = alice / "accounts.csv"
    sheet.write_text("alice,pw-alice1\nbob,pw-bob12\n", encoding="utf-8")
    ws = Workshop(load_csv(sheet), base=alice)
    for user, run_id in (("../users/bob", "x"), ("nobody", "x"), ("bob", "../alice/runs/x"), ("bob", "a/b")):
        with pytest.raises(UserError):
            ws.cancel(user, run_id)
