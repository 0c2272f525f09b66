"""Workshop accounts: a users.csv (username,password[,role]) or N generated accounts with printed
passwords. Roles: participant (default) and facilitator (sees and may cancel every run)."""
from __future__ import annotations

import csv
import hmac
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError

ROLES = ("participant", "facilitator")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # also a folder name: no '/', no '..'


@dataclass(frozen=True)
class Account:
    name: str
    password: str
    role: str = "participant"

    @property
    def is_facilitator(self) -> bool:
        return self.role == "facilitator"


def load_csv(path: str | Path) -> list[Account]:
    """users.csv → accounts; a bad row is refused as `file:line: field: reason`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror})") from None
    rows = list(csv.reader(text.splitlines()))
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["username", "password"]:
        start, rows = 2, rows[1:]
    else:
        start = 1
    accounts: dict[str, Account] = {}
    for line, row in enumerate(rows, start):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in row] + ["", ""]
        name, password, role = cells[0], cells[1], cells[2] or "participant"
        if not NAME_RE.match(name):
            raise UserError(f"{path}:{line}: username: '{name}' must be letters, digits, '.', '_' or '-' (up to 64)")
        if len(password) < 4:
            raise UserError(f"{path}:{line}: password: at least 4 characters")
        if role not in ROLES:
            raise UserError(f"{path}:{line}: role: '{role}' is not one of {', '.join(ROLES)}")
        if name in accounts:
            raise UserError(f"{path}:{line}: username: '{name}' appears twice")
        accounts[name] = Account(name, password, role)
    if not accounts:
        raise UserError(f"{path}: no accounts (columns: username,password[,role])")
    return list(accounts.values())


def generate(participants: int, facilitator: str = "facilitator") -> list[Account]:
    """participant01…participantNN and one facilitator, each with a fresh easy-to-type password."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (l/1, o/0, i)
    word = lambda: "".join(secrets.choice(alphabet) for _ in range(8))  # noqa: E731
    width = max(2, len(str(participants)))
    accounts = [Account(facilitator, word(), "facilitator")]
    accounts += [Account(f"participant{i:0{width}d}", word()) for i in range(1, participants + 1)]
    return accounts


def write_csv(accounts: list[Account], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["username", "password", "role"])
        for a in accounts:
            w.writerow([a.name, a.password, a.role])
    path.chmod(0o600)


def check_password(accounts: list[Account], name: str, password: str) -> Account | None:
    by_name = {a.name: a for a in accounts}
    account = by_name.get(name)
    # Compare even for an unknown name, so timing does not tell which names exist.
    ok = hmac.compare_digest((account.password if account else "\0").encode(), (password or "").encode())
    return account if account and ok else None
