"""Workshop accounts: a users.csv (username,password[,role]) or N generated accounts whose passwords
are printed once. Roles: participant (default) and facilitator (sees and may cancel every run).

A password is kept only as a salted scrypt hash, in memory and in every file the lab writes; a
users.csv may hold either the facilitator's plaintext (hashed as it is read) or such hashes
(`python launch.py --hash-users users.csv` turns the one into the other). Failed logins back off
per account: after MAX_FAILURES wrong passwords in a row the account refuses every password, the
right one too, for LOCK_SECONDS, so a room cannot guess a neighbour's password."""
from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError

ROLES = ("participant", "facilitator")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # also a folder name: no '/', no '..'
MAX_FAILURES = 5
LOCK_SECONDS = 30.0

# scrypt at n=2**14, r=8 (16 MB, a few tens of ms): OWASP's minimum for interactive logins.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
HASH_RE = re.compile(r"^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, salt: bytes | None = None, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """`scrypt$N$r$p$salt$hash`, all a later check needs."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=128 * n * r * p + 2**20)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def is_hash(text: str) -> bool:
    return bool(HASH_RE.match(text or ""))


def verify_password(stored: str, password: str) -> bool:
    m = HASH_RE.match(stored or "")
    if not m:
        return False
    n, r, p = (int(x) for x in m.group(1, 2, 3))
    candidate = hash_password(password or "", base64.b64decode(m.group(4)), n, r, p)
    return hmac.compare_digest(candidate.encode(), stored.encode())


@dataclass(frozen=True)
class Account:
    name: str
    password_hash: str
    role: str = "participant"

    @property
    def is_facilitator(self) -> bool:
        return self.role == "facilitator"

    def __repr__(self) -> str:  # the hash stays out of logs and tracebacks
        return f"Account({self.name!r}, role={self.role!r})"


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
        if password.startswith("scrypt$") and not is_hash(password):
            raise UserError(f"{path}:{line}: password: looks like a scrypt hash but is not one (scrypt$N$r$p$salt$hash)")
        accounts[name] = Account(name, password if is_hash(password) else hash_password(password), role)
    if not accounts:
        raise UserError(f"{path}: no accounts (columns: username,password[,role])")
    return list(accounts.values())


def has_plaintext(path: str | Path) -> bool:
    """Whether a users.csv still holds a password in clear (a row whose password is not a hash)."""
    rows = list(csv.reader(Path(path).read_text(encoding="utf-8-sig").splitlines()))
    for row in rows:
        cells = [c.strip() for c in row] + [""]
        if cells[0] and not cells[0].startswith("#") and cells[:2] != ["username", "password"] and not is_hash(cells[1]):
            return True
    return False


def generate(participants: int, facilitator: str = "facilitator") -> list[tuple[Account, str]]:
    """participant01…participantNN and one facilitator, each with a fresh easy-to-type password:
    (account holding its hash, the password to hand out once)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (l/1, o/0, i)
    word = lambda: "".join(secrets.choice(alphabet) for _ in range(10))  # noqa: E731 - 49 bits
    width = max(2, len(str(participants)))
    names = [(facilitator, "facilitator")] + [(f"participant{i:0{width}d}", "participant") for i in range(1, participants + 1)]
    issued = []
    for name, role in names:
        password = word()
        issued.append((Account(name, hash_password(password), role), password))
    return issued


def _write_private(path: Path, rows: list[list[str]]) -> None:
    """A CSV only its owner can read, from the first byte (created 0600, then moved into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    os.chmod(tmp, 0o600)  # in case the file existed with wider bits
    os.replace(tmp, path)


def write_csv(accounts: list[Account], path: Path) -> None:
    """The accounts as the server keeps them: hashes only (usable again as --users)."""
    _write_private(Path(path), [["username", "password", "role"]] + [[a.name, a.password_hash, a.role] for a in accounts])


def write_sheet(issued: list[tuple[Account, str]], path: Path) -> None:
    """The handout with the passwords in clear, for the facilitator alone (mode 0600)."""
    _write_private(Path(path), [["username", "password", "role"]] + [[a.name, pw, a.role] for a, pw in issued])


_DUMMY_HASH = hash_password(secrets.token_hex(8))


def check_password(accounts: list[Account], name: str, password: str) -> Account | None:
    account = {a.name: a for a in accounts}.get(name)
    # Hash even for an unknown name, so timing does not tell which names exist.
    ok = verify_password(account.password_hash if account else _DUMMY_HASH, password or "")
    return account if account and ok else None


class LoginGuard:
    """Failed logins per account name (known or not, so the lock does not tell which names exist)."""

    def __init__(self, max_failures: int = MAX_FAILURES, lock_seconds: float = LOCK_SECONDS, clock=time.monotonic):
        self.max_failures, self.lock_seconds, self.clock = max_failures, lock_seconds, clock
        self._failures: dict[str, tuple[int, float]] = {}  # name -> (failures in a row, locked until)
        self._lock = threading.Lock()

    def locked_for(self, name: str) -> float:
        """Seconds this account still refuses every password (0 = not locked)."""
        with self._lock:
            _, until = self._failures.get(name, (0, 0.0))
        return max(0.0, until - self.clock())

    def failed(self, name: str) -> int:
        with self._lock:
            if len(self._failures) > 10_000:  # names made up by a script: forget the oldest half
                for key in list(self._failures)[:5_000]:
                    del self._failures[key]
            count = self._failures.get(name, (0, 0.0))[0] + 1
            until = self.clock() + self.lock_seconds if count >= self.max_failures else 0.0
            self._failures[name] = (count, until)
            return count

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)
