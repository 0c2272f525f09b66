"""Retrieve → prompt → generate, streaming, with numbered citations.

The default prompt (Japanese) numbers the retrieved chunks [1], [2], … and asks the model to answer
only from them and to cite the numbers it used; `sources` ties each number back to its chunk, and
`cited` says whether the answer mentions it. The same question can also be answered without
retrieval, side by side, to see what the documents change.

Generators: a model the lab loads (tiny, run:<id>, a folder or Hub id; streamed by
lab.models.chat) or an OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp, OpenAI; streamed through
lab/models/openai_client.py). A small local model's context window is respected by giving it the best chunks whole, as many as fit."""
from __future__ import annotations

import queue
import re
from typing import TYPE_CHECKING, Iterator

from ..errors import UserError
from ..threads import start_thread
from .spec import GeneratorSpec, RetrievalSpec

if TYPE_CHECKING:
    from .retrieve import Hit

DEFAULT_PROMPT = (
    "以下の資料だけを根拠にして、質問に日本語で簡潔に答えてください。\n"
    "答えの根拠にした資料の番号を、文中に [1]、[2] のように書いてください。\n"
    "資料に答えが書かれていないときは「資料からは分かりません」と答えてください。\n\n"
    "資料:\n{context}\n\n質問: {question}")
CITATION = re.compile(r"\[(\d{1,3})\]")
MIN_CHUNK_CHARS = 40


def check_prompt(prompt: str | None) -> str:
    """The template, checked: exactly the placeholders {context} and {question}."""
    from langchain_core.prompts import PromptTemplate
    template = prompt if prompt and prompt.strip() else DEFAULT_PROMPT
    try:
        names = set(PromptTemplate.from_template(template).input_variables)
    except (ValueError, KeyError) as e:
        raise UserError(f"generator.prompt: not a valid template ({str(e).splitlines()[0][:120]})") from None
    if names != {"context", "question"}:
        extra = sorted(names - {"context", "question"})
        missing = sorted({"context", "question"} - names)
        what = f"unknown placeholder {{{extra[0]}}}" if extra else f"missing placeholder {{{missing[0]}}}"
        raise UserError(f"generator.prompt: {what} (write literal braces as {{{{ }}}})")
    return template


def format_context(hits: list[Hit], max_chars: int | None = None) -> str:
    blocks = []
    for h in hits:
        text = h.text if max_chars is None or len(h.text) <= max_chars else h.text[:max_chars] + "…"
        blocks.append(f"[{h.rank}] {h.title or h.source}（{h.source}）\n{text}")
    return "\n\n".join(blocks)


def rag_messages(question: str, hits: list[Hit], prompt: str | None = None, max_chars: int | None = None) -> list[dict]:
    from langchain_core.prompts import ChatPromptTemplate
    template = ChatPromptTemplate.from_messages([("human", check_prompt(prompt))])
    messages = template.format_messages(context=format_context(hits, max_chars) or "（資料なし）", question=question)
    return [{"role": "user", "content": m.content} for m in messages]


def plain_messages(question: str) -> list[dict]:
    return [{"role": "user", "content": question}]


# ---- fitting a small model's context window --------------------------------------------------------
def prompt_budget(context: int, max_new_tokens: int) -> int:
    """Tokens a local model's prompt may take: its context minus the answer (and a small margin)."""
    return context - max_new_tokens - 8


def token_counter(tokenizer):
    """count(messages) -> tokens of the chat prompt as the model is given it (generation prompt included)."""
    def count(messages: list[dict]) -> int:
        # rendered, then tokenized as apply_chat_template(tokenize=True) does, without its warning that a
        # prompt is longer than the model's window: measuring that is the point here
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return len(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
    return count


def _local_budget(generator: GeneratorSpec):
    """(count tokens of a message list, tokens available for the prompt) for a local model."""
    from ..models.cache import cached_model
    model, tokenizer = cached_model(generator.model)
    limit = getattr(model.config, "max_position_embeddings", None) or 4096
    return token_counter(tokenizer), prompt_budget(limit, generator.max_new_tokens)


def fit_hits(question: str, hits: list[Hit], prompt: str | None, count, budget: int) -> tuple[list[dict], list[Hit]]:
    """The RAG prompt for a context of `budget` tokens (`count` measures a message list): the best
    chunks whole, in rank order, as many as fit — a small window is better spent on the top chunk in
    full than on five cut ones, whose answer may be in the part cut off. When even the top chunk
    alone does not fit, it is shortened."""
    messages = rag_messages(question, hits, prompt)
    if count(messages) <= budget:
        return messages, list(hits)
    kept: list[Hit] = []
    for hit in hits:
        if count(rag_messages(question, [*kept, hit], prompt)) > budget:
            break
        kept.append(hit)
    if kept:
        return rag_messages(question, kept, prompt), kept
    if hits:
        chars = int(len(hits[0].text) * 0.75)
        while chars >= MIN_CHUNK_CHARS:
            messages = rag_messages(question, hits[:1], prompt, chars)
            if count(messages) <= budget:
                return messages, hits[:1]
            chars = int(chars * 0.75)
    messages = rag_messages(question, [], prompt)
    if count(messages) > budget:
        raise UserError(f"the question and prompt alone exceed the model's context ({budget} tokens)")
    return messages, []


def fitted_messages(question: str, hits: list[Hit], generator: GeneratorSpec) -> tuple[list[dict], list[Hit]]:
    """The RAG prompt for the generator: endpoints get the chunks whole; a local model's context
    window must hold prompt + answer (fit_hits)."""
    if generator.base_url:
        return rag_messages(question, hits, generator.prompt), hits
    count, budget = _local_budget(generator)
    return fit_hits(question, hits, generator.prompt, count, budget)


# ---- streaming -------------------------------------------------------------------------------------
def endpoint_chat(generator: GeneratorSpec, api_key: str | None = None):
    """The generator's endpoint through the lab's one OpenAI-compatible client (lab/models/openai_client.py:
    the URL and key are checked there, at the call, whatever the spec said). One retry: a person is waiting."""
    from ..models.openai_client import EndpointChat
    return EndpointChat(generator.base_url, generator.model, getattr(generator, "api_key_env", None), timeout=120.0,
                        max_retries=1, api_key=api_key, field="generator.base_url", model_field="generator.model")


def stream_endpoint(generator: GeneratorSpec, messages: list[dict], api_key: str | None = None, chat=None) -> Iterator[str]:
    chat = chat or endpoint_chat(generator, api_key)
    yield from chat.stream(messages, temperature=generator.temperature, max_tokens=generator.max_new_tokens)


def stream_many(generator: GeneratorSpec, conversations: list[list[dict]], api_key: str | None = None) -> Iterator[list[str]]:
    """The text so far of every conversation, each time one of them grows (they run concurrently)."""
    if not generator.base_url:
        from ..models import chat
        yield from chat.stream_many([generator.model] * len(conversations), conversations,
                                    generator.max_new_tokens, generator.temperature)
        return
    try:  # here, as the caller: the check must not depend on a thread's context
        endpoint = endpoint_chat(generator, api_key)
    except UserError as e:
        yield [f"⚠ {e}"] * len(conversations)
        return
    out: queue.Queue = queue.Queue()
    replies = [""] * len(conversations)

    def worker(i: int, messages: list[dict]):
        try:
            for text in stream_endpoint(generator, messages, chat=endpoint):
                out.put((i, text))
        except UserError as e:
            out.put((i, f"⚠ {e}"))
        out.put((i, None))

    for i, messages in enumerate(conversations):
        start_thread(worker, i, messages)
    live = set(range(len(conversations)))
    while live:
        i, text = out.get()
        if text is None:
            live.discard(i)
        else:
            replies[i] = text
        yield list(replies)


def generate(generator: GeneratorSpec, messages: list[dict], api_key: str | None = None) -> str:
    reply = ""
    for replies in stream_many(generator, [messages], api_key):
        reply = replies[0]
    if reply.startswith("⚠ "):
        raise UserError(reply[2:])
    return reply


# ---- citations ---------------------------------------------------------------------------------------
def cited_numbers(answer: str, n_hits: int) -> list[int]:
    return sorted({int(m) for m in CITATION.findall(answer or "") if 1 <= int(m) <= n_hits})


def sources_json(hits: list[Hit], answer: str) -> list[dict]:
    cited = set(cited_numbers(answer, len(hits)))
    return [{"n": h.rank, **h.as_json(), "cited": h.rank in cited} for h in hits]


def ask(index: str, question: str, retrieval: RetrievalSpec | None = None, generator: GeneratorSpec | None = None,
        api_key: str | None = None, use_retrieval: bool = True) -> dict:
    """One question, answered in full: {"answer", "sources": [{n, source, chunk_id, score, text, cited}]}."""
    from .retrieve import retrieve
    generator = generator or GeneratorSpec()
    check_prompt(generator.prompt)
    if not use_retrieval:
        return {"answer": generate(generator, plain_messages(question), api_key), "sources": []}
    hits = retrieve(index, question, retrieval or RetrievalSpec())
    messages, used = fitted_messages(question, hits, generator)
    answer = generate(generator, messages, api_key)
    return {"answer": answer, "sources": sources_json(used, answer)}
