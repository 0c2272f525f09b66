"""What the Data tab shows as text: the run's status line, the summary of a report, the corpus's fields,
a cluster with its character-level differences and pairwise Jaccard, the removed documents of a reason,
the hand-off of the kept corpus, and the files Gradio may serve."""
from __future__ import annotations

import html
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from lab.dedup.results import char_diff, kept_dataset, pairwise_jaccard
from lab.errors import UserError

from ...run_panel import format_eta
from ...runview import RunView
from .text import P


def status_html(view: RunView | None, no_run: str) -> str:
    if view is None:
        return f"<div id='{P}-status' data-state=''>{html.escape(no_run)}</div>"
    p = view.progress
    step, total = p.get("step", 0), p.get("total") or 0
    rate = (view.series.get("docs_per_second") or [(0, 0.0)])[-1][1]
    pct = int(100 * step / total) if total else (100 if view.finished else 0)
    error = (f"<div class='lab-error'>⚠ {html.escape(view.status.get('error') or '')}</div>"
             if view.state == "failed" else "")
    return (f"<div id='{P}-status' data-state='{view.state}' data-docs='{step}'>"
            f"<b>{html.escape(view.run_id)}</b> · <span class='lab-state lab-{view.state}'>{view.state}</span>"
            f" · {step:,}/{total:,} docs · <b id='{P}-rate'>{rate:,.0f} docs/s</b> · ETA {format_eta(p.get('eta_s'))}"
            f"<br><progress max='100' value='{pct}' style='width:100%'></progress>{error}</div>")


def summary_md(report: dict | None, lang: str) -> str:
    if not report:
        return ""
    ja = lang == "ja"
    n, kept = report["docs_in"], report["docs_kept"]
    removed = n - kept
    chars_in, chars_out = report.get("chars_in", 0), report.get("chars_removed", 0)
    tok_out = report.get("approx_tokens_removed", 0)
    share = lambda a, b: f"{100 * a / b:.1f}%" if b else "–"  # noqa: E731
    params = report["parameters"]
    lines = [
        (f"**{n:,} → {kept:,} 文書**（{removed:,} 件・{share(removed, n)} を除去）" if ja else
         f"**{n:,} → {kept:,} documents** ({removed:,} removed, {share(removed, n)})"),
        (f"除いた文字数 {chars_out:,}（{share(chars_out, chars_in)}）、おおよそのトークン数 {tok_out:,}" if ja else
         f"removed characters {chars_out:,} ({share(chars_out, chars_in)}), approx. tokens {tok_out:,}"),
        (f"処理速度 **{report['docs_per_second']:,.0f} 文書/秒**（読み書きとモデルの読み込みを除く）・実行方法 {report.get('executor')}" if ja else
         f"speed **{report['docs_per_second']:,.0f} docs/s** (reading, writing and model loading excluded) · executor {report.get('executor')}"),
    ]
    if "minhash" in report["methods"] and "bands" in params:
        m = report.get("minhash", {})
        lines.append(
            (f"MinHash（{params.get('engine')}）：{params.get('shingle')} {params['ngram']}-gram、b={params['bands']} × r={params['rows']}（{'閾値から' if params['bands_rows_source'] == 'optimal' else '手動'}）、"
             f"候補 {m.get('candidate_pairs', '–')} ペア → 検証で統合 {m.get('verified_pairs', '–')}、棄却 {m.get('rejected_pairs', '–')}" if ja else
             f"MinHash ({params.get('engine')}): {params.get('shingle')} {params['ngram']}-grams, b={params['bands']} × r={params['rows']} ({params['bands_rows_source']}), "
             f"{m.get('candidate_pairs', '–')} candidate pairs → {m.get('verified_pairs', '–')} verified, {m.get('rejected_pairs', '–')} rejected"))
        if "unverified_pairs_below_threshold" in m:
            lines.append((f"datatrove は候補を検証しないため、統合したペアのうち {m['unverified_pairs_below_threshold']} 組が閾値未満でした" if ja else
                          f"datatrove does not verify candidates: {m['unverified_pairs_below_threshold']} merged pairs are below the threshold"))
    return "\n\n".join(lines)


def fields_summary(path: str, fmt: str, text_field: str, id_field: str, lang: str) -> str:
    """The corpus's size and the fields of its first record (a quick look, not a validation of the file)."""
    from lab.dedup.readers import Corpus
    from lab.paths import resolve_input
    try:
        corpus = Corpus(resolve_input(path, "input"), fmt, text_field or "text", id_field or None)
        first = corpus.first()
        n = corpus.source_count()
    except UserError as e:
        return f"⚠ {e}"
    fields = ", ".join(f"`{k}`" for k in first.record)
    return f"{corpus.name}: {n:,} {'文書' if lang == 'ja' else 'documents'} · {fields}"


def cluster_label(c: dict) -> str:
    sims = [p[2] for p in c["pairs"]]
    low = f" · min {min(sims):.2f}" if sims else ""
    return f"#{c['cluster_id']} {c['method']} · {len(c['members'])} docs{low}"


def _segments_html(segments, mark: str) -> str:
    out = []
    for kind, text in segments:
        t = html.escape(text).replace("\n", "<br>")
        out.append(t if kind == "same" else f"<mark class='{mark}' style='background:{'#ffd7d5' if mark == 'del' else '#c9f2d0'};"
                                             f"padding:0'>{t}</mark>")
    return "".join(out)


def cluster_html(c: dict | None, report: dict | None, lang: str) -> str:
    if not c:
        return f"<div id='{P}-cluster-view'></div>"
    ja = lang == "ja"
    texts = c.get("texts") or []
    kept = next((t for t in texts if t["kept"]), texts[0] if texts else None)
    params = (report or {}).get("parameters", {})
    removed = c.get("removed", {})
    cards = []
    for t in texts:
        if t is kept:
            body = html.escape(t["text"]).replace("\n", "<br>")
            if len(texts) == 2:  # with one other member, show the kept side of the difference too
                other = next(x for x in texts if x is not t)
                body = _segments_html(char_diff(t["text"], other["text"])[0], "del")
            head = (f"<b>{html.escape(str(t['id']))}</b> · <span style='color:#1b7f3b'>{'残す' if ja else 'kept'}</span>"
                    f" — {html.escape(c.get('keep_reason', ''))}")
        else:
            info = removed.get(str(t["id"]), {})
            body = _segments_html(char_diff(kept["text"], t["text"])[1], "ins")
            measure = "cosine" if c["method"] == "semantic" else "Jaccard"
            head = (f"<b>{html.escape(str(t['id']))}</b> · <span style='color:#b00020'>{'除く' if ja else 'removed'}</span>"
                    f" — {c['method']} · {measure} {info.get('similarity', '')} vs {html.escape(str(info.get('duplicate_of', '')))}")
        cards.append(f"<div class='{P}-card' style='flex:1 1 300px;min-width:280px;border:1px solid #ddd;border-radius:8px;"
                     f"padding:8px;font-size:13px;line-height:1.6'><div style='margin-bottom:6px'>{head}"
                     f" · {t['length']} {'文字' if ja else 'chars'}</div><div>{body}</div></div>")
    matrix = ""
    if params.get("ngram") and texts:
        m = pairwise_jaccard([t["text"] for t in texts], params["ngram"], params.get("shingle") or "char",
                             params.get("normalize"))
        ids = [html.escape(str(t["id"])) for t in texts]
        rows = "".join(f"<tr><th style='text-align:left;padding:2px 8px'>{ids[i]}</th>" +
                       "".join(f"<td style='padding:2px 8px;text-align:right;background:rgba(232,116,59,{m[i][j] * 0.6 if i != j else 0:.2f})'>"
                               f"{m[i][j]:.3f}</td>" for j in range(len(ids))) + "</tr>" for i in range(len(ids)))
        caption = (f"ペアごとの正確な Jaccard 係数（{params.get('shingle')} {params['ngram']}-gram）" if ja else
                   f"Exact Jaccard of each pair ({params.get('shingle')} {params['ngram']}-grams)")
        matrix = (f"<table id='{P}-jaccard' style='margin-top:10px;border-collapse:collapse;font-size:13px'>"
                  f"<caption style='text-align:left'>{caption}</caption><tr><th></th>"
                  + "".join(f"<th style='padding:2px 8px'>{i}</th>" for i in ids) + f"</tr>{rows}</table>")
    legend = ("<span style='background:#c9f2d0'>緑</span>：残す文書にない文字　<span style='background:#ffd7d5'>赤</span>：相手にない文字"
              if ja else "<span style='background:#c9f2d0'>green</span>: characters the kept document does not have · "
                         "<span style='background:#ffd7d5'>red</span>: characters the other one does not have")
    return (f"<div id='{P}-cluster-view'><div style='font-size:12px;color:#555;margin-bottom:6px'>{legend}</div>"
            f"<div style='display:flex;gap:10px;flex-wrap:wrap'>{''.join(cards)}</div>{matrix}</div>")


def removed_table(rows: list[dict]) -> pd.DataFrame:
    out = []
    for r in rows:
        if "value" in r:
            measured, against = r["value"], f"{r.get('threshold')} ({r.get('lang')})"
        else:
            measured, against = r.get("similarity"), r.get("duplicate_of")
        text = r.get("text", "").replace("\n", " ")
        out.append([r["id"], measured, against, text[:160] + ("…" if len(text) > 160 else "")])
    return pd.DataFrame(out, columns=["id", "value", "threshold / duplicate of", "text"])


def handoff_md(report: dict | None, lang: str) -> str:
    if not report:
        return ""
    path = kept_dataset(report)
    if path is None:
        return ""
    ja = lang == "ja"
    head = ("残したコーパスは、そのまま事前学習や SFT のデータセットとして使えます（形式 `text`）。"
            "下のボタンで SFT タブや事前学習（分散学習タブ）のフォームに入れるか、コマンドで渡してください。" if ja else
            "The kept corpus is ready as a dataset (format `text`). The buttons below put it into the SFT form or the "
            "pretraining form (Launch tab); or pass it on the command line.")
    # plain text has no assistant turns: SFT on it needs the loss on every token
    return (f"{head}\n\n```\n{path}\n```\n\n```shell\nlab run presets/pretrain-tiny.yaml --set dataset.path={path} "
            f"--set dataset.format=text\nlab run presets/sft-tiny.yaml --set dataset.path={path} --set dataset.format=text "
            f"--set train.assistant_only_loss=false\n```")


def servable(path: str | None) -> str | None:
    """A path Gradio may serve: files outside the working folder and the temp folder are copied to temp."""
    if not path or not Path(path).exists():
        return None
    p = Path(path).resolve()
    for root in (Path.cwd().resolve(), Path(tempfile.gettempdir()).resolve()):
        if p.is_relative_to(root):
            return str(p)
    target = Path(tempfile.mkdtemp(prefix="lab-dedup-")) / p.name
    shutil.copyfile(p, target)
    return str(target)
