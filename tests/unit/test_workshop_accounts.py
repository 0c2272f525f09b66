"""Workshop accounts, per-participant workspaces, path confinement and upload checks."""
from __future__ import annotations

import os

import pytest

from lab import paths
from lab.errors import UserError
from lab.rag.index import index_path
from lab.upload_check import check_upload
from lab.users import check_password, generate, has_plaintext, load_csv, write_csv, write_sheet
from lab.workshop import Workshop


def test_users_csv_with_header_roles_and_comments(tmp_path):
    f = tmp_path / "users.csv"
    f.write_text("username,password,role\nalice,pw-alice\n# a comment\nteacher,pw-teacher,facilitator\n", encoding="utf-8")
    accounts = load_csv(f)
    assert [(a.name, a.role) for a in accounts] == [("alice", "participant"), ("teacher", "facilitator")]
    assert check_password(accounts, "alice", "pw-alice").name == "alice"
    assert check_password(accounts, "alice", "wrong") is None
    assert check_password(accounts, "nobody", "pw-alice") is None


@pytest.mark.parametrize("row, message", [
    ("../evil,password", "users.csv:2: username"),
    ("alice,pw", "users.csv:2: password"),
    ("alice,password,admin", "users.csv:2: role"),
])
def test_a_bad_row_names_file_line_and_field(tmp_path, row, message):
    f = tmp_path / "users.csv"
    f.write_text(f"username,password\n{row}\n", encoding="utf-8")
    with pytest.raises(UserError, match=message):
        load_csv(f)


def test_generated_accounts_are_unique_with_one_facilitator():
    issued = generate(30)
    accounts = [a for a, _ in issued]
    assert len({a.name for a in accounts}) == 31
    assert [a.name for a in accounts if a.is_facilitator] == ["facilitator"]
    assert accounts[1].name == "participant01" and len({pw for _, pw in issued}) == 31
    for account, password in issued[:3]:  # the account holds a salted hash, never the password
        assert password not in repr(account) and password not in account.password_hash
        assert check_password(accounts, account.name, password) is account


def test_each_participant_has_a_workspace_and_paths_stay_inside(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "environ", os.environ.copy())  # Workshop() sets the queue's variables for its workers
    monkeypatch.setenv("LAB_WORKSPACE", str(tmp_path))
    ws = Workshop(load_csv_text(tmp_path, "a,pw-a1\nb,pw-b1\n"))
    (tmp_path / "users" / "b").mkdir(parents=True)
    secret = tmp_path / "users" / "b" / "data.jsonl"
    secret.write_text("{}\n")
    with ws.as_user("a"):
        assert paths.workspace() == tmp_path / "users" / "a"
        assert paths.runs_dir() == tmp_path / "users" / "a" / "runs"
        assert paths.models_dir() == tmp_path / "models"  # shared
        assert paths.resolve_input("samples/sft_ja.jsonl") == paths.SAMPLES_DIR / "sft_ja.jsonl"
        with pytest.raises(UserError, match="outside your workspace"):
            paths.resolve_input(str(secret), "dataset")
        with pytest.raises(UserError, match="outside your workspace"):
            paths.resolve_input("../b/data.jsonl", "dataset")
        # a RAG index is written: a name lands in their workspace, a folder must be inside it
        assert index_path("notes") == tmp_path / "users" / "a" / "rag" / "notes"
        assert index_path(str(tmp_path / "users" / "a" / "mine")) == tmp_path / "users" / "a" / "mine"
        for elsewhere in (tmp_path / "users" / "b" / "rag" / "notes", tmp_path / "models" / "idx"):
            with pytest.raises(UserError, match="index: .* outside your workspace"):
                index_path(str(elsewhere))
    with ws.as_user("stranger"):  # no account: an empty workspace of nobody's
        assert paths.workspace() == tmp_path / ".workshop" / "nobody"
    assert paths.workspace() == tmp_path and not paths.confined()


def load_csv_text(tmp_path, text):
    f = tmp_path / "accounts.csv"
    f.write_text(text, encoding="utf-8")
    return load_csv(f)


def test_uploads_are_type_size_and_encoding_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_MAX_UPLOAD_MB", "0.001")  # about 1 KB
    ok = tmp_path / "ok.jsonl"
    ok.write_text('{"text": "こんにちは"}\n', encoding="utf-8")
    check_upload(ok)
    with pytest.raises(UserError, match="type '.exe'"):
        (tmp_path / "x.exe").write_bytes(b"MZ")
        check_upload(tmp_path / "x.exe")
    with pytest.raises(UserError, match="over the"):
        (tmp_path / "big.txt").write_text("a" * 5000)
        check_upload(tmp_path / "big.txt")
    with pytest.raises(UserError, match="not UTF-8"):
        (tmp_path / "sjis.csv").write_bytes("日本語のテキスト,です\n".encode("shift_jis"))
        check_upload(tmp_path / "sjis.csv")
    with pytest.raises(UserError, match="binary"):
        (tmp_path / "fake.jsonl").write_bytes(b"\x00\x01\x02")
        check_upload(tmp_path / "fake.jsonl")


# ---- passwords: salted hashes only, and a lock after repeated failures ---------------------------------
def test_a_users_csv_is_kept_as_salted_hashes_and_works_again_as_users(tmp_path):
    f = tmp_path / "users.csv"
    f.write_text("username,password,role\nalice,pw-alice\nbob,pw-alice\n", encoding="utf-8")
    accounts = load_csv(f)
    alice, bob = accounts
    assert alice.password_hash.startswith("scrypt$") and alice.password_hash != bob.password_hash  # salted
    assert "pw-alice" not in repr(accounts)
    stored = tmp_path / "stored.csv"
    write_csv(accounts, stored)
    assert "pw-alice" not in stored.read_text(encoding="utf-8") and (stored.stat().st_mode & 0o777) == 0o600
    again = load_csv(stored)  # a file of hashes is a users.csv too
    assert check_password(again, "alice", "pw-alice").name == "alice" and check_password(again, "bob", "x") is None
    assert has_plaintext(f) and not has_plaintext(stored)


def test_the_handout_sheet_is_created_private(tmp_path):
    sheet = tmp_path / "sheet.csv"
    write_sheet(generate(2), sheet)
    assert (sheet.stat().st_mode & 0o777) == 0o600 and sheet.read_text().count("\n") == 4


def test_five_wrong_passwords_lock_the_account_for_30_seconds_even_for_the_right_one(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "environ", os.environ.copy())
    monkeypatch.setenv("LAB_WORKSPACE", str(tmp_path))
    ws = Workshop(load_csv_text(tmp_path, "alice,pw-alice\nbob,pw-bob1\n"))
    now = [1000.0]
    ws._guard.clock = lambda: now[0]
    for _ in range(5):
        assert not ws.login("alice", "wrong")
    assert not ws.login("alice", "pw-alice")  # locked: the right password is refused too
    assert ws.login("bob", "pw-bob1")  # per account
    now[0] += 29.0
    assert not ws.login("alice", "pw-alice")
    now[0] += 1.5
    assert ws.login("alice", "pw-alice")  # after 30 s, and a success starts the count again
    for _ in range(4):
        assert not ws.login("alice", "wrong")
    assert ws.login("alice", "pw-alice")
