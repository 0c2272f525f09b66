"""RAG tab: build an index from uploaded files or a folder (chunk preview first, then a `rag_index`
job with progress), see and prune its sources, chat over it with numbered citations that link to the
retrieved chunks (optionally beside the same model without retrieval), and run a `rag_eval` job with
live charts and per-question evidence. Jobs go through the run store; the chat and the chunk
preview are quick interactive calls into lab.rag."""
from __future__ import annotations

import html
import json

import gradio as gr
import pandas as pd
import plotly.graph_objects as go
from pydantic import ValidationError
from plotly.subplots import make_subplots

from lab.endpoints import pasted_key
from lab.errors import UserError
from lab.jobs import submit
from lab.kinds import model_kinds
from lab.paths import confined
from lab.presets import find_preset, read_yaml, validate, validation_error_line
from lab.rag.chain import CITATION, DEFAULT_PROMPT, cited_numbers
from lab.rag.spec import BUNDLED_EMBEDDERS
from lab.runs import RunStore
from lab.threads import start_thread

from ..endpoint_fields import endpoint_field, key_field
from ..endpoint_fields import shown as shown_endpoint
from ..i18n import I18n
from ..live import downsample, timer_after_idle_poll
from ..runview import RunView
from ..run_panel import equivalent_command, status_html
from ..uploads import keep_upload, safe_name, upload_folder

TEXT = {
    "rag.tab": ("RAG", "RAG（検索拡張生成）"),
    "rag.intro": ("Chat over your own documents: build an index, look at what retrieval finds, and measure it. "
                  "Answers cite the chunks they were given as [1], [2], …",
                  "自分の文書を使って答えるチャットです。索引を作り、検索で何が見つかるかを確かめ、その性能を測ります。"
                  "回答は渡された資料を [1]、[2] のように引用します。"),
    "rag.build": ("1. Build an index", "1. 索引を作る"),
    "rag.index": ("Index (name or folder)", "索引（名前またはフォルダ）"),
    "rag.docs": ("Documents folder (txt, md, html, pdf, jsonl)", "文書のフォルダ（txt・md・html・pdf・jsonl）"),
    "rag.upload": ("Upload files", "ファイルをアップロード"),
    "rag.size": ("Chunk size (characters)", "チャンクの大きさ（文字数）"),
    "rag.overlap": ("Overlap (characters)", "重なり（文字数）"),
    "rag.embedder": ("Embedding model (embedded = English only; a folder or Hub id also works)",
                     "埋め込みモデル（embedded は英語専用。フォルダや Hub の ID も可）"),
    "rag.tokenizer": ("BM25 tokenizer", "BM25 の形態素解析器"),
    "rag.preview": ("Preview chunks", "チャンクを確認"),
    "rag.start_index": ("Build index", "索引を作る"),
    "rag.stop": ("Stop", "停止"),
    "rag.command": ("Equivalent command", "同じことをするコマンド"),
    "rag.log": ("Log", "ログ"),
    "rag.no_index_run": ("No indexing run yet.", "まだ索引づくりの実行はありません。"),
    "rag.indexes": ("2. Indexes and sources", "2. 索引と文書"),
    "rag.refresh": ("Refresh", "更新"),
    "rag.source": ("Source to delete", "削除する文書"),
    "rag.delete": ("Delete source", "文書を削除"),
    "rag.chat": ("3. Chat with citations", "3. 引用つきチャット"),
    "rag.mode": ("Retrieval", "検索の方法"),
    "rag.k": ("Chunks given to the model (k)", "モデルに渡すチャンク数（k）"),
    "rag.dense_weight": ("Dense weight (BM25 gets the rest)", "密ベクトルの重み（残りが BM25）"),
    "rag.rerank": ("Cross-encoder for reranking (local folder, optional)", "並べ替え用クロスエンコーダー（ローカルのフォルダ、任意）"),
    "rag.model": ("Model (tiny, run:ID, folder, Hub id, or the endpoint's model)", "モデル（tiny、run:ID、フォルダ、Hub の ID、またはエンドポイントのモデル名）"),
    "rag.base_url": ("OpenAI-compatible endpoint (base URL, optional)", "OpenAI 互換エンドポイント（ベース URL、任意）"),
    "rag.api_key": ("Your API key for the endpoints: chat and evaluation (kept in this page only)",
                    "エンドポイント用の自分の API キー：チャットと評価（このページの中だけで使います）"),
    "rag.temperature": ("Temperature", "温度"),
    "rag.max_new": ("Max new tokens", "最大生成トークン数"),
    "rag.compare": ("Also answer without retrieval (side by side)", "検索なしの回答も並べて表示"),
    "rag.prompt": ("Prompt ({context} and {question} are filled in)", "プロンプト（{context} と {question} が埋め込まれます）"),
    "rag.with": ("With retrieval", "検索あり"),
    "rag.without": ("Without retrieval", "検索なし"),
    "rag.message": ("Question", "質問"),
    "rag.send": ("Ask", "質問する"),
    "rag.clear": ("Clear", "クリア"),
    "rag.chunks_title": ("Retrieved chunks", "検索されたチャンク"),
    "rag.no_chunks": ("Ask a question to see the chunks retrieval finds.", "質問すると、検索で見つかったチャンクがここに表示されます。"),
    "rag.sources_label": ("Sources", "資料"),
    "rag.eval": ("4. Evaluate (recall@k, MRR, three judged views)", "4. 評価（recall@k・MRR・三つの観点）"),
    "rag.qa": ("QA set (JSONL: question, answer, source)", "QA セット（JSONL: question・answer・source）"),
    "rag.max_questions": ("Questions (0 = all)", "質問数（0 はすべて）"),
    "rag.judge_model": ("Judge model (empty = skip the judged views)", "審査モデル（空なら三つの観点を省略）"),
    "rag.judge_url": ("Judge endpoint (base URL, optional)", "審査のエンドポイント（ベース URL、任意）"),
    "rag.judge_key_env": ("Judge key: environment variable name", "審査の API キーを入れた環境変数の名前"),
    "rag.eval_start": ("Start evaluation", "評価を開始"),
    "rag.no_eval_run": ("No evaluation run yet.", "まだ評価の実行はありません。"),
    "rag.evidence": ("Per-question evidence", "質問ごとの根拠"),
    "rag.evidence_n": ("Question", "質問"),
    "rag.evidence_detail": ("Evidence (retrieved chunks, answer, judge)", "根拠（検索したチャンク・回答・審査）"),
}
PLOT_TITLES = {"en": ("retrieval", "judged views (0–1)"), "ja": ("検索", "審査による評価（0〜1）")}
RETRIEVAL_SERIES = ("recall_at_k", "mrr")
JUDGED_SERIES = ("context_relevance", "groundedness", "answer_relevance", "answer_f1")
INDEX_COLUMNS = ["index", "chunks", "sources", "embedder", "tokenizer"]
SOURCE_COLUMNS = ["source", "title", "chunks"]
PREVIEW_COLUMNS = ["source", "#", "chars", "text"]
EVIDENCE_COLUMNS = ["n", "question", "gold", "rank", "recall", "rr", "context_rel", "grounded", "answer_rel", "f1"]
PREVIEW_MAX_FILES = 200
UPLOAD_SUFFIXES = [".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl"]


# ---- rendering -----------------------------------------------------------------------------------------
def chunks_html(hits: list, cited: set[int], i18n: I18n, lang: str) -> str:
    if not hits:
        return f"<div id='rag-chunks-list' data-count='0'><i>{html.escape(i18n.t('rag.no_chunks', lang))}</i></div>"
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
            f"data-score='{h.score:.6f}' data-cited='{str(h.rank in cited).lower()}' "
            f"style='border-left:4px solid {border};padding:4px 8px;margin:6px 0'>"
            f"<div><b>[{h.rank}]</b> {html.escape(h.title or h.source)} · <code>{html.escape(h.source)}</code>"
            f" · {' · '.join(parts)}{' · <b>cited</b>' if h.rank in cited else ''}</div>"
            f"<div style='white-space:pre-wrap;font-size:0.92em;color:#333'>{html.escape(h.text)}</div></div>")
    title = html.escape(i18n.t("rag.chunks_title", lang))
    return f"<div id='rag-chunks-list' data-count='{len(hits)}'><b>{title}</b>{''.join(items)}</div>"


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


def eval_figure(series: dict, lang: str) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=PLOT_TITLES[lang], horizontal_spacing=0.1)
    for col, names in ((1, RETRIEVAL_SERIES), (2, JUDGED_SERIES)):
        # an empty trace keeps the panel's axes drawn before the first question is scored
        fig.add_trace(go.Scatter(x=[], y=[], showlegend=False, hoverinfo="skip"), row=1, col=col)
        for name in names:
            points = downsample(series.get(name, []))
            if points:
                fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], name=name,
                                         mode="lines+markers"), row=1, col=col)
        fig.update_xaxes(title_text="question" if lang == "en" else "質問", tickformat="d", row=1, col=col)
        fig.update_yaxes(range=[-0.02, 1.02], row=1, col=col)
    fig.update_layout(height=320, margin=dict(l=50, r=20, t=40, b=40), legend=dict(orientation="h", y=-0.3),
                      uirevision="keep")
    return fig


def evidence_table(records: list[dict]) -> pd.DataFrame:
    def f(x):
        return "" if x is None else f"{x:.2f}"
    rows = [[r["n"], r["question"][:60], ", ".join(r.get("gold_sources", [])), r.get("gold_rank") or "–",
             f(r.get("recall_at_k")), f(r.get("mrr")), f(r.get("context_relevance")), f(r.get("groundedness")),
             f(r.get("answer_relevance")), f(r.get("answer_f1"))] for r in records]
    return pd.DataFrame(rows, columns=EVIDENCE_COLUMNS)


# ---- data for tables ---------------------------------------------------------------------------------------
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
    return ["tiny", *(f"run:{run_id}" for run_id in store.find(kind=model_kinds(), state="succeeded"))]


def build(store: RunStore, i18n: I18n, lang_state: gr.State) -> dict:
    i18n.add(TEXT)
    lang = i18n.lang
    t = lambda key: i18n.t(key, lang)  # noqa: E731
    index_preset = find_preset("rag-index")
    eval_preset = find_preset("rag-eval")
    index_base, _ = read_yaml(index_preset)
    eval_base, _ = read_yaml(eval_preset)
    index_names = [r for r in indexes_frame()[1]] or ["default"]

    with gr.Tab(t("rag.tab"), id="rag", elem_id="tab-rag") as tab:
        i18n.bind(tab, "rag.tab")
        i18n.bind(gr.Markdown(t("rag.intro")), "rag.intro", "value")
        index_view = gr.State(None)
        eval_view = gr.State(None)
        hits_state = gr.State([])

        # ---- 1. build an index ------------------------------------------------------------------
        with gr.Accordion(t("rag.build"), open=True) as acc_build:
            i18n.bind(acc_build, "rag.build")
            with gr.Row():
                with gr.Column(scale=1, min_width=320):
                    index_name = i18n.bind(gr.Dropdown(choices=index_names, value=index_base.get("index", "default"),
                                                       allow_custom_value=True, label=t("rag.index"),
                                                       elem_id="rag-index-name"), "rag.index")
                    docs = i18n.bind(gr.Textbox(value=index_base.get("docs", ""), label=t("rag.docs"), elem_id="rag-docs"), "rag.docs")
                    upload = i18n.bind(gr.File(label=t("rag.upload"), file_count="multiple", file_types=UPLOAD_SUFFIXES,
                                               height=140, elem_id="rag-upload"), "rag.upload")
                    with gr.Row():
                        size = i18n.bind(gr.Slider(50, 2000, value=index_base["chunking"]["size"], step=10,
                                                   label=t("rag.size"), elem_id="rag-size"), "rag.size")
                        overlap = i18n.bind(gr.Slider(0, 500, value=index_base["chunking"]["overlap"], step=10,
                                                      label=t("rag.overlap"), elem_id="rag-overlap"), "rag.overlap")
                    embedder = i18n.bind(gr.Dropdown(choices=list(BUNDLED_EMBEDDERS), value=index_base["embedding"]["model"],
                                                     allow_custom_value=True, label=t("rag.embedder"),
                                                     elem_id="rag-embedder"), "rag.embedder")
                    tokenizer = i18n.bind(gr.Radio(["sudachi", "fugashi"], value=index_base.get("tokenizer", "sudachi"),
                                                   label=t("rag.tokenizer"), elem_id="rag-tokenizer"), "rag.tokenizer")
                    with gr.Row():
                        preview_btn = i18n.bind(gr.Button(t("rag.preview"), elem_id="rag-preview-btn"), "rag.preview", "value")
                        build_btn = i18n.bind(gr.Button(t("rag.start_index"), variant="primary", elem_id="rag-build"),
                                              "rag.start_index", "value")
                        stop_btn = i18n.bind(gr.Button(t("rag.stop"), variant="stop", elem_id="rag-stop"), "rag.stop", "value")
                with gr.Column(scale=2):
                    index_command = i18n.bind(gr.Code(value=equivalent_command(str(index_preset), index_base, index_base),
                                                      language="shell", label=t("rag.command"), interactive=False, lines=2,
                                                      elem_id="rag-command"), "rag.command")
                    index_error = gr.Markdown("", elem_id="rag-error")
                    index_status = gr.HTML(status_html("rag-index", None, t("rag.no_index_run")))
                    preview_info = gr.Markdown("", elem_id="rag-preview-info")
                    preview_table = gr.Dataframe(pd.DataFrame(columns=PREVIEW_COLUMNS), interactive=False, wrap=True,
                                                 max_height=260, elem_id="rag-preview")
                    index_log = i18n.bind(gr.Textbox(label=t("rag.log"), lines=4, max_lines=6, interactive=False,
                                                     autoscroll=True, elem_id="rag-index-log"), "rag.log")

        # ---- 2. indexes and sources -------------------------------------------------------------
        with gr.Accordion(t("rag.indexes"), open=True) as acc_list:
            i18n.bind(acc_list, "rag.indexes")
            with gr.Row():
                indexes_table = gr.Dataframe(indexes_frame()[0], interactive=False, elem_id="rag-indexes", scale=2)
                sources_table = gr.Dataframe(pd.DataFrame(columns=SOURCE_COLUMNS), interactive=False, max_height=240,
                                             elem_id="rag-sources", scale=3)
            with gr.Row():
                refresh_btn = i18n.bind(gr.Button(t("rag.refresh"), scale=0, elem_id="rag-refresh"), "rag.refresh", "value")
                source_dd = i18n.bind(gr.Dropdown(choices=[], label=t("rag.source"), elem_id="rag-source-dd", scale=3),
                                      "rag.source")
                delete_btn = i18n.bind(gr.Button(t("rag.delete"), variant="stop", scale=1, elem_id="rag-delete"),
                                       "rag.delete", "value")

        # ---- 3. chat ----------------------------------------------------------------------------
        with gr.Accordion(t("rag.chat"), open=True) as acc_chat:
            i18n.bind(acc_chat, "rag.chat")
            with gr.Row():
                with gr.Column(scale=1, min_width=320):
                    retrieval = eval_base["retrieval"]
                    mode = i18n.bind(gr.Radio(["hybrid", "dense", "bm25"], value=retrieval["mode"], label=t("rag.mode"),
                                              elem_id="rag-mode"), "rag.mode")
                    k = i18n.bind(gr.Slider(1, 20, value=retrieval["k"], step=1, label=t("rag.k"), elem_id="rag-k"), "rag.k")
                    dense_weight = i18n.bind(gr.Slider(0.0, 1.0, value=retrieval["dense_weight"], step=0.05,
                                                       label=t("rag.dense_weight"), elem_id="rag-dense-weight"), "rag.dense_weight")
                    rerank = i18n.bind(gr.Textbox(value="", label=t("rag.rerank"), elem_id="rag-rerank"), "rag.rerank")
                    model = i18n.bind(gr.Dropdown(choices=model_choices(store), value="tiny", allow_custom_value=True,
                                                  label=t("rag.model"), elem_id="rag-model"), "rag.model")
                    base_url = i18n.bind(endpoint_field("", t("rag.base_url"), "rag-base-url"), "rag.base_url")
                    api_key = i18n.bind(key_field(t("rag.api_key"), "rag-api-key"), "rag.api_key")
                    with gr.Row():
                        temperature = i18n.bind(gr.Slider(0.0, 1.5, value=0.0, step=0.05, label=t("rag.temperature"),
                                                          elem_id="rag-temperature"), "rag.temperature")
                        max_new = i18n.bind(gr.Slider(8, 1024, value=96, step=8, label=t("rag.max_new"),
                                                      elem_id="rag-max-new"), "rag.max_new")
                    compare = i18n.bind(gr.Checkbox(value=False, label=t("rag.compare"), elem_id="rag-compare"), "rag.compare")
                    prompt = i18n.bind(gr.Textbox(value=DEFAULT_PROMPT, lines=7, label=t("rag.prompt"), elem_id="rag-prompt"),
                                       "rag.prompt")
                with gr.Column(scale=2):
                    with gr.Row():
                        bot_rag = i18n.bind(gr.Chatbot(label=t("rag.with"), height=340, elem_id="rag-chat"), "rag.with")
                        bot_plain = i18n.bind(gr.Chatbot(label=t("rag.without"), height=340, visible=False,
                                                         elem_id="rag-chat-plain"), "rag.without")
                    with gr.Row():
                        msg = i18n.bind(gr.Textbox(label=t("rag.message"), scale=4, elem_id="rag-msg"), "rag.message")
                        send_btn = i18n.bind(gr.Button(t("rag.send"), variant="primary", scale=1, elem_id="rag-send"),
                                             "rag.send", "value")
                        clear_btn = i18n.bind(gr.Button(t("rag.clear"), scale=1, elem_id="rag-clear"), "rag.clear", "value")
                    chunks_panel = gr.HTML(chunks_html([], set(), i18n, lang), elem_id="rag-chunks")

        # ---- 4. evaluation ----------------------------------------------------------------------
        with gr.Accordion(t("rag.eval"), open=True) as acc_eval:
            i18n.bind(acc_eval, "rag.eval")
            with gr.Row():
                with gr.Column(scale=1, min_width=320):
                    qa = i18n.bind(gr.Textbox(value=eval_base["qa"], label=t("rag.qa"), elem_id="rag-eval-qa"), "rag.qa")
                    max_questions = i18n.bind(gr.Number(value=eval_base.get("max_questions") or 0, precision=0, minimum=0,
                                                        label=t("rag.max_questions"), elem_id="rag-eval-max"), "rag.max_questions")
                    judge_model = i18n.bind(gr.Textbox(value=eval_base["judge"].get("model") or "", label=t("rag.judge_model"),
                                                       elem_id="rag-judge-model"), "rag.judge_model")
                    judge_url = i18n.bind(endpoint_field("", t("rag.judge_url"), "rag-judge-url"), "rag.judge_url")
                    # naming a server variable is the facilitator's (launch.py --endpoint NAME=URL,key_env=VAR)
                    judge_key_env = i18n.bind(gr.Textbox(value="", label=t("rag.judge_key_env"), placeholder="OPENAI_API_KEY",
                                                         elem_id="rag-judge-key-env", visible=not confined()),
                                              "rag.judge_key_env")
                    with gr.Row():
                        eval_btn = i18n.bind(gr.Button(t("rag.eval_start"), variant="primary", elem_id="rag-eval-start"),
                                             "rag.eval_start", "value")
                        eval_stop = i18n.bind(gr.Button(t("rag.stop"), variant="stop", elem_id="rag-eval-stop"), "rag.stop", "value")
                with gr.Column(scale=2):
                    eval_command = i18n.bind(gr.Code(value=equivalent_command(str(eval_preset), eval_base, eval_base),
                                                     language="shell", label=t("rag.command"), interactive=False, lines=2,
                                                     elem_id="rag-eval-command"), "rag.command")
                    eval_error = gr.Markdown("", elem_id="rag-eval-error")
                    eval_status = gr.HTML(status_html("rag-eval", None, t("rag.no_eval_run")))
                    eval_plot = gr.Plot(eval_figure({}, lang), elem_id="rag-eval-plot", show_label=False)
            i18n.bind(gr.Markdown(f"**{t('rag.evidence')}**"), "rag.evidence", "value")
            evidence = gr.Dataframe(pd.DataFrame(columns=EVIDENCE_COLUMNS), interactive=False, wrap=True, max_height=300,
                                    elem_id="rag-evidence")
            with gr.Row():
                evidence_n = i18n.bind(gr.Dropdown(choices=[], label=t("rag.evidence_n"), elem_id="rag-evidence-n", scale=1),
                                       "rag.evidence_n")
                evidence_detail = i18n.bind(gr.Code(language="json", label=t("rag.evidence_detail"), interactive=False, max_lines=30,
                                                    elem_id="rag-evidence-detail", scale=4), "rag.evidence_detail")
        # one timer per job, on while its run is watched (see live.timer_after_idle_poll)
        index_timer = gr.Timer(1.0, active=False)
        eval_timer = gr.Timer(1.0, active=False)

    # ---- specs from the form -------------------------------------------------------------------------
    def index_dict(index_, docs_, size_, overlap_, embedder_, tokenizer_) -> dict:
        data = json.loads(json.dumps(index_base))
        data.update(index=(index_ or "").strip(), docs=(docs_ or "").strip(), tokenizer=tokenizer_)
        data["chunking"] = {**data["chunking"], "size": int(size_), "overlap": int(overlap_)}
        data["embedding"] = {**data["embedding"], "model": (embedder_ or "").strip() or index_base["embedding"]["model"]}
        return data

    def retrieval_dict(mode_, k_, dense_w, rerank_) -> dict:
        return {**eval_base["retrieval"], "mode": mode_, "k": int(k_), "dense_weight": round(float(dense_w), 4),
                "bm25_weight": round(1.0 - float(dense_w), 4), **({"rerank_model": rerank_.strip()} if (rerank_ or "").strip() else {})}

    def generator_dict(model_, base_url_, temperature_, max_new_, prompt_) -> dict:
        data = {**eval_base["generator"], "model": (model_ or "").strip(), "temperature": float(temperature_),
                "max_new_tokens": int(max_new_)}
        if (base_url_ or "").strip():
            data["base_url"] = base_url_.strip()
        if (prompt_ or "").strip() and prompt_.strip() != DEFAULT_PROMPT.strip():
            data["prompt"] = prompt_
        return data

    def eval_dict(index_form, retrieval_form, generator_form, qa_, max_q, judge_model_, judge_url_, judge_env_) -> dict:
        index_ = index_dict(*index_form)
        data = json.loads(json.dumps(eval_base))
        data.update(index=index_["index"], docs=index_["docs"] or None, qa=(qa_ or "").strip(),
                    max_questions=int(max_q) if max_q else None, chunking=index_["chunking"],
                    embedding=index_["embedding"], tokenizer=index_["tokenizer"],
                    retrieval=retrieval_dict(*retrieval_form), generator=generator_dict(*generator_form))
        judge = {"model": (judge_model_ or "").strip() or None}
        if (judge_url_ or "").strip():
            judge["base_url"] = judge_url_.strip()
        if (judge_env_ or "").strip():
            judge["api_key_env"] = judge_env_.strip()
        data["judge"] = {**data["judge"], **judge}
        return data

    index_inputs = [index_name, docs, size, overlap, embedder, tokenizer]
    retrieval_inputs = [mode, k, dense_weight, rerank]
    generator_inputs = [model, base_url, temperature, max_new, prompt]
    eval_inputs = [qa, max_questions, judge_model, judge_url, judge_key_env]
    n_index, n_ret, n_gen = len(index_inputs), len(retrieval_inputs), len(generator_inputs)

    def split_eval(values):
        a, b, c = n_index, n_index + n_ret, n_index + n_ret + n_gen
        return values[:a], values[a:b], values[b:c], values[c:]

    def update_index_command(*values):
        return equivalent_command(str(index_preset), index_base, index_dict(*values))

    gr.on([w.change for w in index_inputs], update_index_command, index_inputs, [index_command], show_progress="hidden")

    all_eval_inputs = index_inputs + retrieval_inputs + generator_inputs + eval_inputs

    def update_eval_command(*values):
        idx, ret, gen, ev = split_eval(list(values))
        return equivalent_command(str(eval_preset), eval_base, eval_dict(idx, ret, gen, *ev))

    gr.on([w.change for w in all_eval_inputs], update_eval_command, all_eval_inputs, [eval_command], show_progress="hidden")

    # ---- upload and preview ----------------------------------------------------------------------------
    def take_upload(files, index_):
        if not files:
            return gr.skip()
        folder_name = safe_name((index_ or "default").strip() or "default")
        for file in files:  # checked (type, size, UTF-8) and kept under uploads/, like every upload
            keep_upload(file, "rag", folder_name, allowed=set(UPLOAD_SUFFIXES))
        return str(upload_folder("rag", folder_name))

    upload.upload(take_upload, [upload, index_name], [docs])

    def preview(docs_, size_, overlap_):
        from lab.paths import resolve_input
        from lab.rag.chunking import split_documents
        from lab.rag.loaders import list_files, load_file, source_name
        try:
            data = validate(index_dict("default", docs_, size_, overlap_, "", "sudachi"), "form")
            root = resolve_input(data.docs, "docs")
            files = list_files(root)
        except UserError as e:
            return gr.skip(), f"⚠ {e}", gr.skip()
        documents, errors = [], []
        for path in files[:PREVIEW_MAX_FILES]:
            for item in load_file(path, source_name(path, root)):
                (documents if hasattr(item, "page_content") else errors).append(item)
        chunks = split_documents(documents, data.chunking.size, data.chunking.overlap)
        rows = [[c.source, c.position, len(c.text), c.text] for c in chunks[:500]]
        more = f" (first {PREVIEW_MAX_FILES} of {len(files)} files)" if len(files) > PREVIEW_MAX_FILES else ""
        info = f"**{len(files)}** files{more} → **{len(documents)}** documents → **{len(chunks)}** chunks"
        if errors:
            info += "  \n" + "  \n".join(f"⚠ skipped {html.escape(str(e))}" for e in errors[:20])
        return pd.DataFrame(rows, columns=PREVIEW_COLUMNS), "", info

    preview_btn.click(preview, [docs, size, overlap], [preview_table, index_error, preview_info])

    # ---- index job ----------------------------------------------------------------------------------------
    def start_index(*values):
        try:
            run = submit(store, validate(index_dict(*values), "form"))
        except UserError as e:
            gr.Warning(str(e))
            return gr.skip(), f"⚠ {e}", gr.skip()
        return RunView.open(store, run.id), "", gr.Timer(active=True)

    build_btn.click(start_index, index_inputs, [index_view, index_error, index_timer])

    def stop_run(view):
        if view is not None:
            store.request_cancel(view.run_id)
            start_thread(store.cancel, view.run_id)

    stop_btn.click(stop_run, [index_view], None)
    eval_stop.click(stop_run, [eval_view], None)

    def refresh(index_):
        frame, names = indexes_frame()
        sources, source_names = sources_frame((index_ or "").strip() or "default")
        return frame, sources, gr.update(choices=source_names, value=None), gr.update(choices=names or ["default"])

    refresh_outputs = [indexes_table, sources_table, source_dd, index_name]
    refresh_btn.click(refresh, [index_name], refresh_outputs)
    index_name.change(refresh, [index_name], refresh_outputs, show_progress="hidden")

    def delete(index_, source):
        from lab.rag.index import delete_source
        if not source:
            return [gr.skip()] * len(refresh_outputs) + [gr.skip()]
        try:
            removed = delete_source((index_ or "").strip(), source)
        except UserError as e:
            gr.Warning(str(e))
            return [gr.skip()] * len(refresh_outputs) + [f"⚠ {e}"]
        gr.Info(f"{source}: {removed} chunks removed")
        return [*refresh(index_), ""]

    delete_btn.click(delete, [index_name, source_dd], refresh_outputs + [index_error])

    def tick_index(view, index_, lang_):
        if view is None or not view.poll(store):
            return [gr.skip()] * (3 + len(refresh_outputs)) + [timer_after_idle_poll(view)]
        log_text = "\n".join(view.logs[-8:])
        tables = refresh(index_) if view.finished else [gr.skip()] * len(refresh_outputs)
        return [view, status_html("rag-index", view, i18n.t("rag.no_index_run", lang_)), log_text, *tables, gr.skip()]

    index_timer.tick(tick_index, [index_view, index_name, lang_state],
                     [index_view, index_status, index_log, *refresh_outputs, index_timer], show_progress="hidden")

    # ---- chat -----------------------------------------------------------------------------------------------
    def toggle_plain(on):
        return gr.update(visible=bool(on))

    compare.change(toggle_plain, [compare], [bot_plain])

    def send(text, history_rag, history_plain, compare_on, index_, mode_, k_, dense_w, rerank_, model_, base_url_,
             key, temperature_, max_new_, prompt_, lang_):
        from lab.rag import chain
        from lab.rag.retrieve import retrieve
        from lab.rag.spec import GeneratorSpec, RetrievalSpec
        question = (text or "").strip()
        if not question:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        user = {"role": "user", "content": question}
        history_rag = list(history_rag or []) + [user]
        history_plain = list(history_plain or []) + ([user] if compare_on else [])
        try:
            settings = RetrievalSpec(**retrieval_dict(mode_, k_, dense_w, rerank_))
            generator = GeneratorSpec(**generator_dict(model_, base_url_, temperature_, max_new_, prompt_))
            hits = retrieve((index_ or "").strip(), question, settings)
            messages, hits = chain.fitted_messages(question, hits, generator)
        except (UserError, ValueError) as e:
            line = validation_error_line(e, "chat") if isinstance(e, ValidationError) else str(e).splitlines()[0]
            reply = {"role": "assistant", "content": f"⚠ {line}"}
            yield history_rag + [reply], history_plain, gr.skip(), [], ""
            return
        panel = chunks_html(hits, set(), i18n, lang_)
        conversations = [messages] + ([chain.plain_messages(question)] if compare_on else [])
        answer = plain = ""
        yield history_rag + [{"role": "assistant", "content": "…"}], history_plain, panel, hits, ""
        for replies in chain.stream_many(generator, conversations, (key or "").strip() or None):
            answer = replies[0]
            plain = replies[1] if compare_on else ""
            yield (history_rag + [{"role": "assistant", "content": linked_answer(answer, hits, i18n, lang_)}],
                   history_plain + ([{"role": "assistant", "content": plain or "…"}] if compare_on else []),
                   gr.skip(), gr.skip(), "")
        cited = set(cited_numbers(answer, len(hits)))
        final_rag = history_rag + [{"role": "assistant", "content": linked_answer(answer, hits, i18n, lang_)}]
        final_plain = history_plain + ([{"role": "assistant", "content": plain}] if compare_on else [])
        yield final_rag, final_plain, chunks_html(hits, cited, i18n, lang_), hits, ""

    chat_inputs = [msg, bot_rag, bot_plain, compare, index_name, mode, k, dense_weight, rerank, model, base_url, api_key,
                   temperature, max_new, prompt, lang_state]
    chat_outputs = [bot_rag, bot_plain, chunks_panel, hits_state, msg]
    send_btn.click(send, chat_inputs, chat_outputs)
    msg.submit(send, chat_inputs, chat_outputs)
    clear_btn.click(lambda lang_: ([], [], chunks_html([], set(), i18n, lang_), []), [lang_state],
                    [bot_rag, bot_plain, chunks_panel, hits_state])

    # ---- evaluation job --------------------------------------------------------------------------------------
    def start_eval(*values):
        *values, key = values
        idx, ret, gen, ev = split_eval(list(values))
        try:
            with pasted_key(key):  # to this run's worker alone, never into job.yaml
                run = submit(store, validate(eval_dict(idx, ret, gen, *ev), "form"))
        except UserError as e:
            gr.Warning(str(e))
            return gr.skip(), f"⚠ {e}", gr.skip()
        return RunView.open(store, run.id), "", gr.Timer(active=True)

    eval_btn.click(start_eval, [*all_eval_inputs, api_key], [eval_view, eval_error, eval_timer])

    def tick_eval(view, lang_, selected):
        if view is None or not view.poll(store):
            return [gr.skip()] * 5 + [timer_after_idle_poll(view)]
        from lab.rag.evaluate import read_evidence
        records = read_evidence(store.get(view.run_id).dir)
        choices = [str(r["n"]) for r in records]
        pick = selected if selected in choices else (choices[0] if choices else None)
        return (view, status_html("rag-eval", view, i18n.t("rag.no_eval_run", lang_)), eval_figure(view.series, lang_),
                evidence_table(records), gr.update(choices=choices, value=pick), gr.skip())

    eval_timer.tick(tick_eval, [eval_view, lang_state, evidence_n],
                    [eval_view, eval_status, eval_plot, evidence, evidence_n, eval_timer], show_progress="hidden")

    def show_evidence(view, n):
        if view is None or not n:
            return ""
        from lab.rag.evaluate import read_evidence
        for record in read_evidence(store.get(view.run_id).dir):
            if str(record["n"]) == str(n):
                return json.dumps(record, ensure_ascii=False, indent=1)
        return ""

    evidence_n.change(show_evidence, [eval_view, evidence_n], [evidence_detail], show_progress="hidden")

    # ---- on load: the latest runs of this tab, the index lists ------------------------------------------------
    def latest(kind):
        ids = store.find(kind=kind)
        active = [i for i in ids if store.status(i).get("state") in ("queued", "running")]
        pick = (active or ids or [None])[0]
        return RunView.open(store, pick) if pick else None

    def on_load(index_):
        index_run, eval_run = latest("rag_index"), latest("rag_eval")
        return [index_run, eval_run, *refresh(index_), gr.update(choices=model_choices(store)),
                gr.Timer(active=index_run is not None), gr.Timer(active=eval_run is not None)]

    # ---- opened from the Home tab: rag-index fills the index form, rag-eval every form it reads ----------------
    def spec_values(name):
        spec = validate(read_yaml(find_preset(name))[0], name)
        index_values = [spec.index, spec.docs or "", spec.chunking.size, spec.chunking.overlap, spec.embedding.model,
                        spec.tokenizer]
        if spec.kind == "rag_index":
            return index_values + [gr.skip()] * (len(all_eval_inputs) - n_index)
        r, g, j = spec.retrieval, spec.generator, spec.judge
        return index_values + [r.mode, r.k, r.dense_weight, r.rerank_model or "", g.model, shown_endpoint(g.base_url),
                               g.temperature, g.max_new_tokens, g.prompt or DEFAULT_PROMPT, spec.qa,
                               spec.max_questions or 0, j.model or "", shown_endpoint(j.base_url), j.api_key_env or ""]

    def open_preset(name):
        try:
            return spec_values(name)
        except UserError as e:
            gr.Warning(str(e))
            return [gr.skip()] * len(all_eval_inputs)

    return {"tab": tab, "on_load": (on_load, [index_name], [index_view, eval_view, *refresh_outputs, model, index_timer, eval_timer]),
            "open_preset": (open_preset, [], all_eval_inputs), "open_scroll": {"rag-eval": "#rag-eval-qa"},
            "relabel_plot": (lambda v, iv, hits, lang_: (eval_figure(v.series if v else {}, lang_),
                                                          status_html("rag-eval", v, i18n.t("rag.no_eval_run", lang_)),
                                                          status_html("rag-index", iv, i18n.t("rag.no_index_run", lang_)),
                                                          gr.skip() if hits else chunks_html([], set(), i18n, lang_)),
                             [eval_view, index_view, hits_state, lang_state], [eval_plot, eval_status, index_status, chunks_panel])}

