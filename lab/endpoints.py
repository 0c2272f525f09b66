"""The OpenAI-compatible endpoints the lab may call, and the key each call carries.

In workshop mode the server calls out only to the endpoints the facilitator configured
(`python launch.py --endpoint NAME=URL[,key_env=VAR]`, repeatable, or `--endpoints FILE.yaml`), and a
participant picks them by name. The key sent is, in order: the key the participant pasted into
their page (kept in their session; a worker gets it in its own environment, never in a file), the
facilitator's variable for that endpoint, or none. A participant cannot name a URL of their own or
a server environment variable, and no message they see tells which variables exist.

Single-user mode (nobody confined) keeps its freedom: any URL, `api_key_env`, OPENAI_API_KEY.

The list lives in the environment (LAB_ENDPOINTS, JSON) so that every worker reads the same one."""
from __future__ import annotations

import json
import os
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import AfterValidator

from .errors import UserError
from .paths import confined

ENV = "LAB_ENDPOINTS"
WORKER_KEY_ENV = "LAB_PASTED_API_KEY"  # set by RunStore.launch for one worker only (worker_env)
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
URL_RE = re.compile(r"^https?://[^\s/]+")
NO_ENV = ("api_key_env: naming a server environment variable is the facilitator's to configure; "
          "paste your own API key in the page instead")

_PASTED: ContextVar[str | None] = ContextVar("lab_pasted_api_key", default=None)


@dataclass(frozen=True)
class Endpoint:
    name: str
    url: str
    key_env: str | None = None


# ---- the facilitator's list ------------------------------------------------------------------------
def _endpoint(name: str, url: str, key_env: str | None, where: str) -> Endpoint:
    name, url, key_env = (name or "").strip(), (url or "").strip(), (key_env or "").strip() or None
    if not NAME_RE.match(name):
        raise UserError(f"{where}: name: '{name}' must be letters, digits, '.', '_' or '-'")
    if not URL_RE.match(url):
        raise UserError(f"{where}: url: '{url}' is not an http(s) URL such as http://127.0.0.1:8000/v1")
    if key_env is not None and not VAR_RE.match(key_env):
        raise UserError(f"{where}: key_env: '{key_env}' is not an environment variable name")
    return Endpoint(name, url.rstrip("/"), key_env)


def parse_flag(text: str) -> Endpoint:
    """`NAME=URL[,key_env=VAR]` as given to `launch.py --endpoint`."""
    name, sep, rest = (text or "").partition("=")
    if not sep:
        raise UserError(f"--endpoint {text}: expected NAME=URL[,key_env=VAR]")
    url, _, options = rest.partition(",")
    key_env = None
    for option in filter(None, (o.strip() for o in options.split(","))):
        key, _, value = option.partition("=")
        if key.strip() != "key_env":
            raise UserError(f"--endpoint {text}: unknown option '{key.strip()}' (only key_env=VAR)")
        key_env = value
    return _endpoint(name, url, key_env, f"--endpoint {name}")


def load_file(path: str | Path) -> list[Endpoint]:
    """`endpoints: [{name, url, key_env}]`, or a mapping `NAME: URL` / `NAME: {url, key_env}`."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise UserError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if isinstance(data, dict) and isinstance(data.get("endpoints"), list):
        items = data["endpoints"]
    elif isinstance(data, dict):
        items = [{"name": k, **(v if isinstance(v, dict) else {"url": v})} for k, v in data.items()]
    else:
        raise UserError(f"{path}: expected `endpoints:` with a list of {{name, url, key_env}}")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or set(item) - {"name", "url", "key_env"}:
            raise UserError(f"{path}: endpoints.{i}: expected name, url and optionally key_env")
        out.append(_endpoint(str(item.get("name") or ""), str(item.get("url") or ""), item.get("key_env"),
                             f"{path}: endpoints.{i}"))
    return out


def configure(endpoints: list[Endpoint]) -> None:
    """Make `endpoints` the list this process and every worker it starts may call."""
    names, urls = set(), set()
    for ep in endpoints:
        if ep.name in names:
            raise UserError(f"endpoint '{ep.name}' is given twice")
        if ep.url in urls:  # a URL names its endpoint (a spec holds the URL): one key per URL
            raise UserError(f"endpoint '{ep.name}': {ep.url} is already another endpoint's URL")
        names.add(ep.name)
        urls.add(ep.url)
    os.environ[ENV] = json.dumps([asdict(ep) for ep in endpoints])


def configured() -> dict[str, Endpoint]:
    try:
        items = json.loads(os.environ.get(ENV) or "[]")
        return {i["name"]: Endpoint(i["name"], i["url"], i.get("key_env")) for i in items}
    except (ValueError, KeyError, TypeError):
        return {}


def names() -> list[str]:
    return list(configured())


def by_url(url: str | None) -> Endpoint | None:
    url = (url or "").strip().rstrip("/")
    return next((ep for ep in configured().values() if ep.url == url), None)


# ---- what a spec may name ------------------------------------------------------------------------------
def resolve_url(value: str | None) -> str | None:
    """A spec's base_url: empty → None, an endpoint's name → its URL, else an http(s) URL, which a
    confined participant may give only when it is one of the facilitator's. Raises ValueError (the
    spec's validators turn it into `file: field: message`)."""
    if value is None or not str(value).strip():
        return None
    value = str(value).strip()
    known = configured()
    if value in known:
        return known[value].url
    if confined():
        if by_url(value) is not None:
            return value.rstrip("/")
        offer = ", ".join(known) or "none are configured"
        raise ValueError(f"in workshop mode only the facilitator's endpoints are called; pick one by name ({offer})")
    if not URL_RE.match(value):
        raise ValueError("expected an http(s) URL such as http://127.0.0.1:8000/v1 (or an endpoint's name)")
    return value.rstrip("/")


def check_key_env(value: str | None) -> str | None:
    """A spec's api_key_env: the facilitator's (single-user) choice, refused to a confined participant
    before any variable is looked at, so the answer is the same whether it exists or not."""
    if value is None or not str(value).strip():
        return None
    if confined():
        raise ValueError(NO_ENV.removeprefix("api_key_env: "))
    if not VAR_RE.match(str(value).strip()):
        raise ValueError(f"'{value}' is not an environment variable name")
    return str(value).strip()


# A spec field typed with these is checked by the functions above (one place for every spec that names an
# endpoint: judge, contestants, RAG generator and RAG judge).
EndpointURL = Annotated[str | None, AfterValidator(resolve_url)]
KeyEnv = Annotated[str | None, AfterValidator(check_key_env)]


# ---- the key a call carries ----------------------------------------------------------------------------
@contextmanager
def pasted_key(key: str | None):
    """While inside, calls and workers started here carry this participant's own key."""
    token = _PASTED.set((key or "").strip() or None)
    try:
        yield
    finally:
        _PASTED.reset(token)


def current_pasted_key() -> str | None:
    return _PASTED.get() or os.environ.get(WORKER_KEY_ENV) or None


def worker_env() -> dict[str, str]:
    """Environment of one worker: the pasted key, or an empty value so it never inherits one."""
    return {WORKER_KEY_ENV: _PASTED.get() or ""}


def connection(base_url: str | None, key_env: str | None = None, api_key: str | None = None,
               field: str = "base_url") -> tuple[str, str]:
    """(URL, key) for one call, checked at the moment it is made (whatever the spec said). Its one
    caller is lab/models/openai_client.connect, so every endpoint call follows these rules."""
    url = (base_url or "").strip().rstrip("/")
    endpoint = by_url(url)
    pasted = (api_key or "").strip() or current_pasted_key()
    if confined():
        if endpoint is None:
            raise UserError(f"{field}: in workshop mode only the facilitator's endpoints are called; pick one by name")
        if key_env:
            raise UserError(NO_ENV)
        if pasted:
            return url, pasted
        if endpoint.key_env:
            value = os.environ.get(endpoint.key_env)
            if not value:
                raise UserError(f"endpoint '{endpoint.name}': the server holds no key for it (ask the facilitator, "
                                "or paste your own API key)")
            return url, value
        return url, "EMPTY"  # local servers (vLLM, Ollama, `lab serve`) accept any key, but the client insists on one
    if pasted:
        return url, pasted
    variable = key_env or (endpoint.key_env if endpoint else None)
    if variable:
        value = os.environ.get(variable)
        if not value:
            raise UserError(f"api_key_env: the environment variable {variable} is not set")
        return url, value
    return url, os.environ.get("OPENAI_API_KEY") or "EMPTY"


def redact(text: str, *keys: str | None) -> str:
    """`text` with the pasted key (and any `keys`) blanked out: an error a server sends back may quote it."""
    for key in (*keys, current_pasted_key()):
        if key and len(key) >= 4 and key != "EMPTY":
            text = text.replace(key, "***")
    return text
