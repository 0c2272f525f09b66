"""`lab serve MODEL_OR_RUN`: an OpenAI-compatible server for any model the lab can load (`tiny`,
`run:<id>`, a folder, a Hub id), so the lab's own models can be judged, chatted with from other
tools, and used as judges.

Endpoints: GET /v1/models, GET /v1/models/{id}, POST /v1/chat/completions (with "stream": true as
server-sent events ending in `data: [DONE]`), GET /health. Errors have OpenAI's shape
{"error": {"message", "type", "param", "code"}}. One generation runs at a time (a CPU box has no
room for two); other requests wait their turn. It binds 127.0.0.1; binding beyond the machine needs
an API key, which clients then send as `Authorization: Bearer KEY`."""
from __future__ import annotations

import ipaddress
import json
import secrets
import socket
import threading
import time
from typing import Any, Callable, Union

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import UserError

DEFAULT_MAX_TOKENS = 512


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: Union[str, list[dict], None] = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # penalties, logit_bias, user, … are accepted and ignored
    model: str
    messages: list[ChatMessage] = Field(..., min_length=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stream: bool = False
    stream_options: dict | None = None
    stop: Union[str, list[str], None] = None
    seed: int | None = None
    n: int = 1


class ApiError(Exception):
    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", param: str | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type_, param, code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def _text_of(message: ChatMessage, index: int) -> str:
    if message.content is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    parts = []
    for part in message.content:
        if part.get("type") != "text":
            raise ApiError(400, f"messages[{index}].content: only text parts are supported", param=f"messages[{index}].content")
        parts.append(str(part.get("text", "")))
    return "".join(parts)


def to_chat(messages: list[ChatMessage]) -> list[dict]:
    out = []
    for i, m in enumerate(messages):
        role = {"developer": "system"}.get(m.role, m.role)
        if role not in ("system", "user", "assistant"):
            raise ApiError(400, f"messages[{i}].role: '{m.role}' is not supported (system, user, assistant)",
                           param=f"messages[{i}].role")
        out.append({"role": role, "content": _text_of(m, i)})
    return out


class ServedModel:
    """A loaded model behind a lock: one generation at a time."""

    def __init__(self, name: str, served_name: str | None = None, device: str | None = None):
        from ..models.load import load_causal_lm
        self.name = name
        self.served_name = served_name or name
        self.model, self.tokenizer = load_causal_lm(name, device=device)
        self.model.eval()
        self.lock = threading.Lock()
        self.created = int(time.time())

    def settings(self, req: ChatRequest) -> dict:
        stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
        return dict(max_new_tokens=req.max_completion_tokens or req.max_tokens or DEFAULT_MAX_TOKENS,
                    temperature=1.0 if req.temperature is None else req.temperature,
                    top_p=1.0 if req.top_p is None else req.top_p, seed=req.seed, stop=stop)


def _check(served: ServedModel, req: ChatRequest) -> list[dict]:
    if req.model != served.served_name:
        raise ApiError(404, f"The model `{req.model}` does not exist (this server serves `{served.served_name}`).",
                       "NotFoundError", "model", "model_not_found")
    if req.n != 1:
        raise ApiError(400, "n: only n=1 is supported", param="n")
    return to_chat(req.messages)


def create_app(served: ServedModel, api_key: str | None = None):
    from .generation import Generated, generate, stream

    app = FastAPI(title="LLM Lab · OpenAI-compatible server", docs_url=None, redoc_url=None)

    @app.exception_handler(ApiError)
    async def _api_error(request, exc: ApiError):
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.middleware("http")
    async def _auth(request: Request, call_next):
        if api_key and request.url.path.startswith("/v1"):
            given = request.headers.get("authorization", "")
            if not secrets.compare_digest(given, f"Bearer {api_key}"):
                return JSONResponse(ApiError(401, "invalid API key", code="invalid_api_key").body(), status_code=401)
        return await call_next(request)

    def model_card() -> dict:
        return {"id": served.served_name, "object": "model", "created": served.created, "owned_by": "llm-lab"}

    @app.get("/health")
    async def health():
        return {"status": "ok", "model": served.served_name}

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [model_card()]}

    @app.get("/v1/models/{model_id:path}")
    async def model(model_id: str):
        if model_id != served.served_name:
            raise ApiError(404, f"The model `{model_id}` does not exist.", "NotFoundError", "model", "model_not_found")
        return model_card()

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request):
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ApiError(400, "the request body is not valid JSON") from None
        try:
            req = ChatRequest.model_validate(body)
        except ValidationError as e:
            err = e.errors()[0]
            param = ".".join(str(p) for p in err["loc"])
            raise ApiError(400, f"{param}: {err['msg']}", param=param) from None
        messages = _check(served, req)
        kwargs = served.settings(req)
        completion_id = f"chatcmpl-{secrets.token_hex(12)}"
        created = int(time.time())
        if not req.stream:
            def run() -> Generated:
                with served.lock:
                    return generate(served.model, served.tokenizer, messages, **kwargs)
            out = await run_in_threadpool(run)
            return {"id": completion_id, "object": "chat.completion", "created": created, "model": served.served_name,
                    "system_fingerprint": None,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": out.text},
                                 "logprobs": None, "finish_reason": out.finish_reason}],
                    "usage": _usage(out)}

        include_usage = bool((req.stream_options or {}).get("include_usage"))

        def chunk(delta: dict, finish: str | None = None, usage: dict | None = None, choices: bool = True) -> str:
            data: dict[str, Any] = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                                    "model": served.served_name, "system_fingerprint": None,
                                    "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}] if choices else []}
            if usage is not None:
                data["usage"] = usage
            return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

        def events():
            with served.lock:
                yield chunk({"role": "assistant", "content": ""})
                final = None
                for piece in stream(served.model, served.tokenizer, messages, **kwargs):
                    if isinstance(piece, Generated):
                        final = piece
                    else:
                        yield chunk({"content": piece})
                yield chunk({}, final.finish_reason if final else "stop")
                if include_usage and final is not None:
                    yield chunk({}, usage=_usage(final), choices=False)
                yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return app


def _usage(out) -> dict:
    return {"prompt_tokens": out.prompt_tokens, "completion_tokens": out.completion_tokens,
            "total_tokens": out.prompt_tokens + out.completion_tokens}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise UserError(f"--port {port}: cannot listen on {host}:{port} ({e.strerror})") from None
    sock.listen(128)
    return sock


def serve(model_name: str, host: str = "127.0.0.1", port: int = 8000, served_name: str | None = None,
          api_key: str | None = None, log_level: str = "warning",
          on_ready: Callable[[str], None] = lambda url: None, device: str | None = None) -> None:
    import uvicorn
    if not is_loopback(host) and not api_key:
        raise UserError(f"--host {host}: serving beyond this machine needs an API key (--api-key or LAB_SERVE_API_KEY)")
    from ..models.load import resolve_model
    resolve_model(model_name)  # a missing model is one line, before the slow imports
    served = ServedModel(model_name, served_name, device)
    sock = bind(host, port)
    app = create_app(served, api_key)
    actual_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    on_ready(f"http://{shown_host}:{actual_port}/v1")
    server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=2))
    server.run(sockets=[sock])
