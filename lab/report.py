"""A run's report: ONE self-contained HTML page (plotly.js inlined, no network needed) that a
participant can take home — the run's status and timings, its family and inputs (with sha256), a
chart of every metric series in events.jsonl, the final metrics, samples of what the run produced
(dedup clusters, judge verdicts, eval predictions, RAG answers, training data), its job.yaml and
the end of its log. `lab runs report RUN_ID` and the Runs tab's Report button write it to
RUN_DIR/artifacts/report.html."""
from __future__ import annotations

import html
import json
import os
from datetime import datetime
from pathlib import Path

from .charts import family_figure, metrics_figure
from .evals.outputs import outputs_dir, run_output
from .events import metric_series, read_events
from .kinds import KINDS

TEXT = {
    "report": ("Run report", "実行レポート"),
    "generated": ("Generated", "作成"),
    "overview": ("Status and timings", "状態と所要時間"),
    "state": ("State", "状態"), "kind": ("Kind", "種類"), "created": ("Created", "作成時刻"),
    "started": ("Started", "開始時刻"), "ended": ("Ended", "終了時刻"), "waited": ("Waited in the queue", "待ち時間"),
    "duration": ("Duration", "所要時間"), "exit_code": ("Exit code", "終了コード"), "error": ("Error", "エラー"),
    "resumed": ("Resumed", "再開時刻"), "environment": ("Environment", "実行環境"),
    "lineage": ("Lineage", "系譜"),
    "lineage_note": ("Inputs on the left, runs that used this one on the right. Arrows: input → the run that read it.",
                     "左が入力、右がこの実行を使った実行です。矢印は「入力 → それを読んだ実行」。"),
    "role.data": ("data", "データ"), "role.model": ("model", "モデル"), "role.compared": ("compared", "比較"),
    "role.judge": ("judge", "審査"), "role.index": ("index", "索引"), "role.answers": ("answers", "回答"),
    "role.embedder": ("embedder", "埋め込み"),
    "inputs": ("Inputs", "入力"), "field": ("Field", "項目"), "what": ("Input", "入力"), "role": ("Role", "役割"),
    "from_run": ("Made by run", "作った実行"), "size": ("Size", "サイズ"), "rows": ("Rows", "行数"),
    "no_inputs": ("No inputs recorded (a run made before lineage was kept).", "入力の記録がありません（系譜の記録より前の実行）。"),
    "charts": ("Charts", "グラフ"), "no_metrics": ("This run logged no metrics.", "この実行は指標を記録していません。"),
    "metrics": ("Final metrics", "最終指標"), "metric": ("Metric", "指標"), "value": ("Value", "値"),
    "step": ("Step", "ステップ"), "result": ("Result", "結果"),
    "samples": ("Samples", "サンプル"), "no_samples": ("Nothing to show yet.", "まだ表示するものがありません。"),
    "data_rows": ("First rows of the training data", "学習データの先頭"),
    "model_saved": ("Saved model", "保存したモデル"), "checkpoints": ("Checkpoints", "チェックポイント"),
    "dedup_summary": ("What was removed", "削除された文書"), "reason": ("Reason", "理由"), "count": ("Documents", "文書数"),
    "clusters": ("Duplicate clusters (first few)", "重複クラスタ（先頭のいくつか）"), "kept": ("kept", "残す"),
    "removed": ("removed", "削除"), "parameters": ("Parameters", "パラメータ"),
    "verdicts": ("Judge verdicts (examples)", "審査の判定（例）"), "question": ("Question", "質問"),
    "verdict": ("Verdict", "判定"), "rationale": ("Rationale", "理由"), "winner": ("Winner", "勝者"),
    "summary": ("Summary", "要約"), "predictions": ("Predictions (examples)", "予測（例）"),
    "answers": ("Answers (examples)", "回答（例）"), "reference": ("Reference", "参照解答"),
    "answer": ("Answer", "回答"), "sources": ("Retrieved sources", "検索された出典"), "files": ("Files", "ファイル"),
    "config": ("Configuration (job.yaml)", "設定（job.yaml）"), "log": ("Log (end of worker.log)", "ログ（worker.log の末尾）"),
}
SAMPLE_ROWS = 3
CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", "Hiragino Sans", "Noto Sans CJK JP", "Yu Gothic", Meiryo, sans-serif;
       margin: 0 auto; max-width: 1100px; padding: 1.5em; color: #1f2328; line-height: 1.5; }
h1 { margin-bottom: .1em; } h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2em; margin-top: 1.8em; }
.sub { color: #59636e; } .state { font-weight: 700; padding: .1em .5em; border-radius: .4em; color: white; }
.succeeded { background: #1b7f3b; } .failed { background: #b00020; } .cancelled { background: #8a6d00; }
.running { background: #0b57d0; } .queued { background: #777; }
table { border-collapse: collapse; margin: .5em 0; font-size: .92em; } td, th { border: 1px solid #d0d7de; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f8fa; padding: .8em; overflow-x: auto; font-size: .85em; white-space: pre-wrap; word-break: break-word; }
.card { border: 1px solid #d0d7de; border-radius: .5em; padding: .6em .9em; margin: .7em 0; }
.text { white-space: pre-wrap; word-break: break-word; } .clip { max-height: 14em; overflow-y: auto; } .muted { color: #59636e; font-size: .9em; }
.msg { margin: .3em 0; padding: .3em .6em; border-radius: .4em; background: #f6f8fa; white-space: pre-wrap; }
.msg.user { background: #eef4ff; } .msg.assistant { background: #eefbf0; } .role { font-weight: 600; margin-right: .4em; }
.keep { border-left: 4px solid #1b7f3b; } .drop { border-left: 4px solid #b00020; opacity: .85; }
code { font-size: .9em; } .error { color: #b00020; font-weight: 600; }
"""


def write_report(run, lang: str = "en") -> Path:
    """Write RUN_DIR/artifacts/report.html and return its path."""
    page = render_report(run, lang)
    run.artifacts.mkdir(parents=True, exist_ok=True)
    path = run.artifacts / "report.html"
    tmp = path.with_name(f".report.{os.getpid()}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    return path


def render_report(run, lang: str = "en") -> str:
    from plotly.offline import get_plotlyjs

    from .lineage import family, run_title
    from .runs import RunStore
    def t(key: str) -> str:
        return TEXT[key][1 if lang == "ja" else 0]
    store = RunStore(run.dir.parent)
    status = store.status(run.id)
    kind = store.kind(run.id)
    events, _ = read_events(run.events_path)
    title = run_title(run.dir, lang) or run.id
    parts = [f"<h1>{_e(title)}</h1>",
             f"<div class='sub'>{_e(t('report'))} · <code>{_e(run.id)}</code> · {_e(t('generated'))} {_when(datetime.now().timestamp())}</div>",
             _overview(status, kind, lang, events, t),
             f"<h2>{_e(t('lineage'))}</h2>", _lineage(store, run, status, t, family),
             f"<h2>{_e(t('charts'))}</h2>", _charts(events, t),
             f"<h2>{_e(t('metrics'))}</h2>", _final_metrics(events, status, t),
             f"<h2>{_e(t('samples'))}</h2>", _samples(run, kind, status, t),
             f"<h2>{_e(t('config'))}</h2>", _pre(_read(run.job_path)),
             f"<h2>{_e(t('log'))}</h2>", _pre(run.log_tail(80))]
    return ("<!DOCTYPE html>\n"
            f"<html lang='{'ja' if lang == 'ja' else 'en'}'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_e(title)} — {_e(run.id)}</title><style>{CSS}</style>"
            f"<script type='text/javascript'>{get_plotlyjs()}</script></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def role_names(t) -> dict[str, str]:
    """The edge labels of the family graph in the language of `t` (a key → text function)."""
    return {key.removeprefix("role."): t(key) for key in TEXT if key.startswith("role.")}


# ---- sections (each kind's samples renderer is named in lab/kinds.py) ------------------------------------------------------------------------------------
def _overview(status: dict, kind: str, lang: str, events: list[dict], t) -> str:
    state = status.get("state", "?")
    start, end, created = status.get("started_at"), status.get("ended_at"), status.get("created_at")
    kind_html = f"{_e(KINDS[kind].label(lang))} <code>{_e(kind)}</code>" if kind in KINDS else _e(kind)
    rows = [(t("state"), f"<span class='state {_e(state)}'>{_e(state)}</span>"), (t("kind"), kind_html),
            (t("created"), _when(created)), (t("started"), _when(start)), (t("ended"), _when(end))]
    if status.get("resumed_at"):
        rows.append((t("resumed"), _when(status["resumed_at"])))
    if start and created:
        rows.append((t("waited"), _seconds(start - created)))
    if start and end:
        rows.append((t("duration"), _seconds(end - start)))
    if status.get("exit_code") is not None:
        rows.append((t("exit_code"), _e(status["exit_code"])))
    if status.get("error") and state != "cancelled":
        rows.append((t("error"), f"<span class='error'>{_e(status['error'])}</span>"))
    out = _kv_table(rows)
    env = next((e for e in events if e.get("type") == "env"), None)
    if env:
        out += f"<h3>{_e(t('environment'))}</h3>" + _kv_table(
            [(k, _e(_short(v))) for k, v in env.items() if k not in ("t", "type")])
    return out


def _lineage(store, run, status: dict, t, family) -> str:
    graph = family(store, run.id)
    fig = family_figure(graph, role_names=role_names(t))
    out = f"<p class='muted'>{_e(t('lineage_note'))}</p>" + _fig(fig)
    inputs = status.get("inputs")
    if not inputs:
        return out + f"<p class='muted'>{_e(t('no_inputs'))}</p>"
    rows = []
    for ref in [inputs.get("model"), *inputs.get("files", []), *inputs.get("models", []), inputs.get("index"),
                inputs.get("answers")]:
        if not ref:
            continue
        what = ref.get("path") or ref.get("name") or ref.get("run", "")
        detail = []
        if ref.get("sha256"):
            detail.append(f"sha256 <code title='{_e(ref['sha256'])}'>{_e(ref['sha256'][:16])}…</code>")
        if ref.get("base_url"):
            detail.append(_e(ref["base_url"]))
        if ref.get("missing"):
            detail.append("<span class='error'>missing</span>")
        if ref.get("note"):
            detail.append(_e(ref["note"]))
        rows.append([_e(ref.get("field", "")), _e(ref.get("role", "")), f"<code>{_e(what)}</code><br>" + " · ".join(detail),
                     _e(_size(ref["size"])) if "size" in ref else "", _e(ref.get("rows", ref.get("files", ""))),
                     f"<code>{_e(ref['run'])}</code>" if ref.get("run") else ""])
    return out + f"<h3>{_e(t('inputs'))}</h3>" + _table(
        [t("field"), t("role"), t("what"), t("size"), t("rows"), t("from_run")], rows)


def _charts(events: list[dict], t) -> str:
    fig = metrics_figure(metric_series(events))
    return _fig(fig) if fig is not None else f"<p class='muted'>{_e(t('no_metrics'))}</p>"


def _final_metrics(events: list[dict], status: dict, t) -> str:
    series = metric_series(events)
    rows = [[_e(name), f"<span>{_e(_num(points[-1][1]))}</span>", _e(points[-1][0] if points[-1][0] is not None else "")]
            for name, points in series.items() if points]
    out = _table([t("metric"), t("value"), t("step")], rows, numeric=(1,)) if rows else f"<p class='muted'>{_e(t('no_metrics'))}</p>"
    result = status.get("result")
    if isinstance(result, dict) and result:
        out += f"<h3>{_e(t('result'))}</h3>" + _kv_table([(k, _e(_short(v))) for k, v in result.items()])
    return out


def _samples(run, kind: str, status: dict, t) -> str:
    """The kind's own renderer (lab/kinds.py names it); a kind the lab no longer knows shows what any
    training run would."""
    writer = KINDS[kind].samples_renderer() if kind in KINDS else training_samples
    try:
        body = writer(run, status, t)
    except (OSError, ValueError, KeyError, TypeError) as e:  # a half-written artifact must not sink the report
        body = f"<p class='muted'>{_e(type(e).__name__)}: {_e(e)}</p>"
    return body or f"<p class='muted'>{_e(t('no_samples'))}</p>"


def training_samples(run, status: dict, t) -> str:
    out = ""
    files = (status.get("inputs") or {}).get("files") or []
    data = next((f for f in files if f.get("field") == "dataset.path" and not f.get("missing")), None)
    if data and _may_read(data["path"]) and Path(data["path"]).is_file():
        records = _first_records(Path(data["path"]), SAMPLE_ROWS)
        if records:
            out += f"<h3>{_e(t('data_rows'))}</h3>" + "".join(f"<div class='card'>{_record(r)}</div>" for r in records)
    for sub in ("model", "adapter"):
        folder = run.artifacts / sub
        if folder.is_dir():
            size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
            out += f"<h3>{_e(t('model_saved'))}</h3><p><code>{_e(folder)}</code> ({_e(_size(size))})</p>"
            break
    checkpoints = sorted((run.artifacts / "checkpoints").glob("checkpoint-*"), key=lambda p: _int_suffix(p.name))
    if checkpoints:
        out += f"<h3>{_e(t('checkpoints'))}</h3><p>" + ", ".join(f"<code>{_e(p.name)}</code>" for p in checkpoints) + "</p>"
    return out


def dedup_samples(run, status: dict, t) -> str:
    from .dedup.charts import counts_figure, run_scurve_figure
    from .dedup.results import load_preview, load_report, output_folder
    folder = output_folder(run)
    if folder is None:
        return ""
    report = load_report(folder)
    out = ""
    reasons = report.get("removed_by_reason") or {}
    if reasons:
        out += f"<h3>{_e(t('dedup_summary'))}</h3>" + _table(
            [t("reason"), t("count")], [[_e(k), _e(v)] for k, v in reasons.items()], numeric=(1,))
    lang = "ja" if t("kept") == TEXT["kept"][1] else "en"  # the Data tab's charts, in the report's language
    if {"docs_in", "docs_kept", "methods", "removed_by_reason"} <= report.keys():
        out += _fig(counts_figure(report, lang))
    scurve = run_scurve_figure(report, lang)
    if scurve is not None:
        out += _fig(scurve)
    params = report.get("parameters") or {}
    if params:
        out += f"<h3>{_e(t('parameters'))}</h3>" + _kv_table([(k, _e(_short(v))) for k, v in params.items()])
    clusters = load_preview(folder)[:SAMPLE_ROWS]
    if clusters:
        out += f"<h3>{_e(t('clusters'))}</h3>"
        for c in clusters:
            members = ""
            for m in c.get("texts", [])[:4]:
                removed = (c.get("removed") or {}).get(str(m.get("id"))) or {}
                similarity = f" · {_num(removed['similarity'])}" if "similarity" in removed else ""
                members += (f"<div class='card {'keep' if m.get('kept') else 'drop'}'><span class='muted'>{_e(m.get('id'))} · "
                            f"{_e(t('kept') if m.get('kept') else t('removed'))}{_e(similarity)}</span>"
                            f"<div class='text clip'>{_e(_clip(m.get('text', ''), 1200))}</div></div>")
            out += (f"<div class='card'><b>#{_e(c.get('cluster_id'))}</b> <span class='muted'>{_e(c.get('method'))} · "
                    f"{_e(t('count'))} {len(c.get('members', []))}</span>{members}</div>")
    return out


def judge_samples(run, status: dict, t) -> str:
    from .evals import charts as judge_charts
    out_dir = outputs_dir(run.dir)
    summary = _json(out_dir / "summary.json")
    out = ""
    if summary:
        rows = []
        for key in ("win_rate", "adjusted_win_rate", "scores"):
            for model, value in (summary.get(key) or {}).items():
                rows.append([_e(key), _e(model), _e(_num(value))])
        out += f"<h3>{_e(t('summary'))}</h3>" + _table([t("metric"), "model", t("value")], rows, numeric=(2,))
        out += _kv_table([(k, _e(_num(summary[k]))) for k in ("n_questions", "n_judgments", "position_consistency",
                                                                  "unparsed_rate") if k in summary])
        lang = "ja" if t("summary") == TEXT["summary"][1] else "en"  # the Judge tab's charts, in the report's language
        if "table" in summary:
            out += _fig(judge_charts.results_figure(summary, lang))
        if summary.get("per_category"):
            out += _fig(judge_charts.category_figure(summary, lang))
    questions = {str(q.get("question_id")): q for q in _jsonl(out_dir / "questions.jsonl")}
    answers = {p.stem: {str(a.get("question_id")): a for a in _jsonl(p)} for p in sorted((out_dir / "answers").glob("*.jsonl"))}
    judgments = _jsonl(out_dir / "judgments.jsonl", SAMPLE_ROWS)
    if judgments:
        out += f"<h3>{_e(t('verdicts'))}</h3>"
    for j in judgments:
        q = questions.get(str(j.get("question_id")), {})
        shown = [j.get("model_a"), j.get("model_b")] if j.get("mode") == "pairwise" else [j.get("model")]
        cards = "".join(f"<div class='card'><b>{_e(name)}</b><div class='text'>{_e(_clip(_answer_text(answers.get(name, {}).get(str(j.get('question_id')))), 800))}</div></div>"
                        for name in shown if name)
        verdict = j.get("winner") or j.get("score") or j.get("verdict")
        out += (f"<div class='card'><b>{_e(t('question'))}</b> <span class='muted'>{_e(j.get('question_id'))} · {_e(j.get('category', ''))}</span>"
                f"<div class='text'>{_e(' / '.join(q.get('turns', [])))}</div>{cards}"
                f"<p><b>{_e(t('verdict'))}</b>: {_e(j.get('verdict'))} → {_e(verdict)}"
                + (f" <span class='muted'>({_e(j.get('order'))})</span>" if j.get("order") else "") + "</p>"
                + (f"<div class='muted text'>{_e(_clip(j.get('rationale') or '', 600))}</div>" if j.get("rationale") else "")
                + "</div>")
    return out


def eval_samples(run, status: dict, t) -> str:
    results = _json(run_output(run.dir, "results.json"))
    out = ""
    if results:
        out += f"<h3>{_e(t('summary'))}</h3>" + _table([t("metric"), t("value")],
                                                          [[_e(k), _e(_num(v))] for k, v in (results.get("scores") or {}).items()],
                                                          numeric=(1,))
    pred_dir = run_output(run.dir, "predictions")
    for path in sorted(pred_dir.glob("*.jsonl")) if pred_dir.is_dir() else []:
        rows = _jsonl(path, SAMPLE_ROWS)
        if rows:
            out += f"<h3>{_e(t('predictions'))}: {_e(path.stem)}</h3>" + "".join(f"<div class='card'>{_record(r)}</div>" for r in rows)
    return out


def rag_eval_samples(run, status: dict, t) -> str:
    from .rag.charts import eval_figure, has_scores
    summary = _json(run.artifacts / "summary.json")
    out = f"<h3>{_e(t('summary'))}</h3>" + _kv_table([(k, _e(_num(v))) for k, v in summary.items()]) if summary else ""
    series = metric_series(read_events(run.events_path)[0])
    if has_scores(series):  # the RAG tab's per-question chart, in the report's language
        out += _fig(eval_figure(series, "ja" if t("summary") == TEXT["summary"][1] else "en"))
    rows = _jsonl(run.artifacts / "evidence.jsonl", SAMPLE_ROWS)
    if rows:
        out += f"<h3>{_e(t('answers'))}</h3>"
    for r in rows:
        sources = ", ".join(str(h.get("source", "")) for h in (r.get("retrieved") or [])[:5] if isinstance(h, dict))
        scores = " · ".join(f"{k} {_num(r[k])}" for k in ("recall_at_k", "mrr", "answer_f1") if k in r)
        out += (f"<div class='card'><b>{_e(t('question'))}</b><div class='text'>{_e(r.get('question', ''))}</div>"
                f"<b>{_e(t('answer'))}</b><div class='text'>{_e(_clip(r.get('answer', ''), 800))}</div>"
                f"<b>{_e(t('reference'))}</b><div class='text'>{_e(r.get('reference', ''))}</div>"
                f"<div class='muted'>{_e(t('sources'))}: {_e(sources)}<br>{_e(scores)}</div></div>")
    return out


def rag_index_samples(run, status: dict, t) -> str:
    report = _json(run.artifacts / "report.json")
    if not report:
        return ""
    out = f"<h3>{_e(t('summary'))}</h3>" + _kv_table([(k, _e(_short(v))) for k, v in report.items()
                                                       if not isinstance(v, (list, dict))])
    files = [f for f in report.get("files_detail") or [] if isinstance(f, dict)][:20]
    if files:
        keys = [k for k in files[0] if not isinstance(files[0][k], (list, dict))]
        out += f"<h3>{_e(t('files'))}</h3>" + _table(keys, [[_e(_short(f.get(k))) for k in keys] for f in files])
    return out


# ---- html helpers --------------------------------------------------------------------------------
def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _fig(fig) -> str:
    # Plotly's JSON escapes "<" and ">", so text inside a figure cannot end the <script> it sits in.
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})


def _table(headers: list[str], rows: list[list[str]], numeric: tuple[int, ...] = ()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td class='num'>{c}</td>" if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _kv_table(rows: list[tuple[str, str]]) -> str:
    """Rows of (label, already-escaped html)."""
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _pre(text: str) -> str:
    return f"<pre>{_e(text)}</pre>"


def _record(record) -> str:
    """One data record: chat messages as turns, long strings as text, anything else as JSON."""
    if not isinstance(record, dict):
        return _pre(json.dumps(record, ensure_ascii=False, indent=1))
    out = []
    for key, value in record.items():
        if _is_chat(value):
            turns = "".join(f"<div class='msg {_e(m.get('role', ''))}'><span class='role'>{_e(m.get('role', ''))}</span>"
                            f"{_e(_clip(str(m.get('content', '')), 600))}</div>" for m in value)
            out.append(f"<div><b>{_e(key)}</b>{turns}</div>")
        elif isinstance(value, str):
            out.append(f"<div><b>{_e(key)}</b> <span class='text'>{_e(_clip(value, 800))}</span></div>")
        else:
            out.append(f"<div><b>{_e(key)}</b> <code>{_e(_clip(json.dumps(value, ensure_ascii=False), 400))}</code></div>")
    return "".join(out)


def _is_chat(value) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(m, dict) and "content" in m for m in value)


def _answer_text(answer: dict | None) -> str:
    if not answer:
        return ""
    choices = answer.get("choices") or [{}]
    return "\n---\n".join(str(turn) for turn in choices[0].get("turns", []))


def _first_records(path: Path, n: int) -> list:
    if path.suffix.lower() == ".json":
        if path.stat().st_size > 32 * 1024 ** 2:
            return []
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        return data[:n] if isinstance(data, list) else []
    return _jsonl(path, n)


def _jsonl(path: Path, limit: int | None = None) -> list:
    out = []
    try:
        with open(path, encoding="utf-8-sig") as f:
            for line in f:
                if limit is not None and len(out) >= limit:
                    break
                if line.strip():
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError:
                        continue  # a line still being written
    except FileNotFoundError:
        pass
    return out


def _may_read(path) -> bool:
    """A path read from a run's files is data: in workshop mode it is read only inside the participant's area."""
    from .errors import UserError
    from .paths import check_inside
    try:
        check_inside(Path(path), "file")
        return True
    except UserError:
        return False


def _json(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _read(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def _when(ts) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def _seconds(s: float) -> str:
    s = max(0.0, float(s))
    return f"{s:.1f} s" if s < 120 else f"{int(s // 60)} min {int(s % 60)} s"


def _num(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _short(value)
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _short(value, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return _clip(text, limit)


def _clip(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "…"


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _int_suffix(name: str) -> int:
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0
