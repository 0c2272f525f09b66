"""What the RAG tab renders from lab.rag's results: the retrieved chunks (cited ones marked), an
answer whose [n] link to its chunks, the evaluation's evidence table, and the index and source lists."""
from __future__ import annotations

import html

import pandas as pd

from lab.errors import UserError
from lab.kinds import model_kinds
from lab.rag.chain import CITATION, cited_numbers
from lab.runs import RunStore

from ...i18n import I18n
from .text import EVIDENCE_COLUMNS, INDEX_COLUMNS, SOURCE_COLUMNS


def chunks_html(hits: list, cited: set[int] | None, i18n: I18n, lang: str) -> str:
    """The chunks the model was given. `cited` is None while the answer is still streaming: then no chunk
    says whether it was cited, and the list's data-answered is false (a browser test, or a script, waits on it)."""
    if not hits:
        return f"<div id='rag-chunks-list' data-count='0'><i>{html.escape(i18n.t('rag.no_chunks', lang))}</i></div>"
    answered = cited is not None
    cited = cited or set()

    def cited_attr(rank: int) -> str:
        return f" data-cited='{str(rank in cited).lower()}'" if answered else ""

    items = []
    for h in hits:
        parts = [f"score {h.score:.4f}"]
        if h.dense_score is not None:
            parts.append(f"dense {h.dense_score:.3f}")
        if h.bm25_score is not None:
            parts.append(f"BM25 {h.bm25_score:.2f}")
        border = "#0b57d0" if h.rank in cited else "#ccc"
        items.append(
            f"<div class='rag-chunk' id='rag-chunk-{h.rank}' data-rank='{h.rank}' data-source='{html.escape(h.source)}' "
            f"data-score='{h.score:.6f}'{cited_attr(h.rank)} "
            f"style='border-left:4px solid {border};padding:4px 8px;margin:6px 0'>"
            f"<div><b>[{h.rank}]</b> {html.escape(h.title or h.source)} · <code>{html.escape(h.source)}</code>"
            f" · {' · '.join(parts)}{' · <b>cited</b>' if h.rank in cited else ''}</div>"
            f"<div style='white-space:pre-wrap;font-size:0.92em;color:#333'>{html.escape(h.text)}</div></div>")
    title = html.escape(i18n.t("rag.chunks_title", lang))
    return (f"<div id='rag-chunks-list' data-count='{len(hits)}' data-answered='{str(answered).lower()}'>"
            f"<b>{title}</b>{''.join(items)}</div>")


def linked_answer(answer: str, hits: list, i18n: I18n, lang: str) -> str:
    """The answer with each [n] turned into a link to its chunk, and the numbered sources under it."""
    n = len(hits)

    def link(m):
        k = int(m.group(1))
        return f"[\\[{k}\\]](#rag-chunk-{k})" if 1 <= k <= n else m.group(0)
    text = CITATION.sub(link, answer or "") or "…"
    if not hits:
        return text
    cited = set(cited_numbers(answer, n))
    refs = " ".join(f"[\\[{h.rank}\\]{'★' if h.rank in cited else ''} {h.source}](#rag-chunk-{h.rank})" for h in hits)
    return f"{text}\n\n{i18n.t('rag.sources_label', lang)}: {refs}"


def evidence_table(records: list[dict]) -> pd.DataFrame:
    def f(x):
        return "" if x is None else f"{x:.2f}"
    rows = [[r["n"], r["question"][:60], ", ".join(r.get("gold_sources", [])), r.get("gold_rank") or "–",
             f(r.get("recall_at_k")), f(r.get("mrr")), f(r.get("context_relevance")), f(r.get("groundedness")),
             f(r.get("answer_relevance")), f(r.get("answer_f1"))] for r in records]
    return pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)


def indexes_frame() -> tuple[pd.DataFrame, list[str]]:
    from lab.rag.index import list_indexes
    rows = list_indexes()
    frame = pd.DataFrame([[r["name"], r.get("chunks", ""), r.get("sources", ""), r.get("embedder", ""),
                           r.get("tokenizer", r.get("error", ""))] for r in rows], columns=INDEX_COLUMNS)
    return frame, [r["name"] for r in rows]


def sources_frame(index_name: str) -> tuple[pd.DataFrame, list[str]]:
    from lab.rag.index import RagIndex
    try:
        rows = RagIndex.open(index_name).sources()
    except UserError:
        rows = []
    return pd.DataFrame([[r["source"], r["title"], r["chunks"]] for r in rows], columns=SOURCE_COLUMNS), \
        [r["source"] for r in rows]


def model_choices(store: RunStore) -> list[str]:
    return ["tiny-rag", "tiny", *(f"run:{run_id}" for run_id in store.find(kind=model_kinds(), state="succeeded"))]
