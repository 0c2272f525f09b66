"""Home tab: where a learner starts. The loop as a picture whose steps switch to their tabs, the course
path in the order of 大規模言語モデル入門Ⅱ (with the Swallow corpus work before it), and a gallery of
every bundled preset with its meta, each one click away from its tab with the preset in the form.
This module only lays out buttons; ui/app.py connects them to the other tabs' `open_preset`."""
from __future__ import annotations

import html
from dataclasses import dataclass

import gradio as gr

from lab.kinds import KINDS
from lab.paths import PRESETS_DIR
from lab.presets import list_presets, read_yaml
from lab.runs import RunStore

from ..i18n import I18n

# The tab that opens a preset of each kind, in the order of the loop (the gallery's order too): lab/kinds.py.
OPEN_IN = {name: k.tab for name, k in KINDS.items() if k.tab}
TAB_NAMES = {"dedup": ("Data", "データ"), "launch": ("Launch", "分散学習"), "sft": ("SFT", "SFT"),
             "dpo": ("DPO", "DPO"), "judge": ("Judge", "評価"), "rag": ("RAG", "RAG"), "runs": ("Runs", "実行一覧")}
EST_WORDS = {"not recommended": "非推奨"}

TEXT = {
    "home.tab": ("Home", "ホーム"),
    "home.intro": ("### Start here\nThe lab follows the loop a generative LLM goes through, from its corpus to its "
                   "evaluation. Click a step of the picture to go to its tab, follow the course path in the order of "
                   "the book 大規模言語モデル入門Ⅱ, or open any preset from the gallery.",
                   "### はじめに\nこの実習環境は、生成 LLM がコーパスから評価までたどる流れに沿って作られています。"
                   "図のステップを押すとそのタブへ移ります。『大規模言語モデル入門Ⅱ』の章の順に学習コースを進めるか、"
                   "ギャラリーから好きなプリセットを開いてください。"),
    "home.pipeline": ("The loop", "全体の流れ"),
    "home.pipeline_note": ("Every step is a job: a preset, a run folder, live charts. Dashed: optional here, because "
                           "the embedded tiny model is already pre-trained.",
                           "どのステップも同じ「ジョブ」です：プリセット、実行フォルダ、リアルタイムのグラフ。"
                           "点線は任意のステップです（同梱の tiny モデルは事前学習済みです）。"),
    "home.course": ("Course path", "学習コース"),
    "home.course_note": ("Chapters 10–14 of 大規模言語モデル入門Ⅱ, after the corpus work of the Swallow tutorial. "
                         "Each step: its goal, the preset to run, and what to look at in the charts.",
                         "Swallow チュートリアルのコーパス構築に続いて、『大規模言語モデル入門Ⅱ』の 10〜14 章を進みます。"
                         "各ステップに、ねらい、動かすプリセット、グラフで見るところを示します。"),
    "home.look": ("Look at", "見るところ"),
    "home.gallery": ("Preset gallery", "プリセットのギャラリー"),
    "home.gallery_note": ("Every preset in presets/. Open puts it into its tab's form; the same file runs headless "
                          "with `lab run presets/NAME.yaml`.",
                          "presets/ にあるすべてのプリセットです。「開く」でそのタブのフォームに読み込みます。"
                          "同じファイルは `lab run presets/NAME.yaml` でブラウザなしでも動きます。"),
    "home.est": ("Estimated time", "目安の時間"),
    "home.go_launch": ("Launch: any training step on many processes (ch. 14)", "分散学習：どの学習も複数プロセスで（14 章）"),
    "home.go_runs": ("Runs: every run, compared", "実行一覧：すべての実行を比べる"),
    **{f"home.open.{tab}": (f"Open in {en}", f"{ja} タブで開く") for tab, (en, ja) in TAB_NAMES.items()},
}

# The picture: (elem id suffix, tab, its short lines in en and ja, optional step). The last two share the
# end of the loop. Lines stay short so that no word breaks in a node, in either language.
PIPELINE = [
    ("corpus", "dedup", (("Corpus", "web, books, code", "Swallow"), ("コーパス", "Web・書籍・コード", "Swallow")), False),
    ("dedup", "dedup", (("Dedup", "quality filters", "Data tab"), ("重複除去", "品質フィルタ", "データタブ")), False),
    ("pretrain", "launch", (("Pre-training", "optional", "Launch tab"), ("事前学習", "任意", "分散学習タブ")), True),
    ("sft", "sft", (("SFT", "instruction tuning", "ch. 11"), ("SFT", "指示チューニング", "11 章")), False),
    ("dpo", "dpo", (("DPO", "preference tuning", "ch. 12"), ("DPO", "選好チューニング", "12 章")), False),
]
PIPELINE_ENDS = [
    ("judge", "judge", (("Judge · ch. 10", "metrics, LLM judge"), ("評価・10 章", "指標・LLM 審査")), False),
    ("rag", "rag", (("RAG · ch. 13", "retrieval, citations"), ("RAG・13 章", "検索と引用")), False),
]


@dataclass(frozen=True)
class Step:
    key: str
    badge: tuple[str, str]
    title: tuple[str, str]
    goal: tuple[str, str]        # two lines
    look: tuple[str, str]        # what to look at in the charts
    presets: tuple[tuple[str, str, tuple[str, str] | None], ...]  # (preset, tab, button text if not "▶ preset")


COURSE = (
    Step("dedup", ("Corpus · Swallow", "コーパス・Swallow"),
         ("Remove duplicates", "重複を取り除く"),
         ("A web corpus is full of copies, reposts and pages that differ by a few characters.\n"
          "Compare exact hashing, MinHash-LSH and SemDeDup on the same sample and see what each calls a duplicate.",
          "Web コーパスには、コピーや転載、数文字しか違わないページが大量に含まれます。\n"
          "完全一致・MinHash-LSH・SemDeDup を同じ標本で比べ、それぞれが何を重複とみなすかを確かめます。"),
         ("the S-curve — how bands × rows turn the Jaccard threshold into a chance of becoming a candidate, and where "
          "the verified pairs fall; then open a cluster to see the differences character by character.",
          "S 字曲線。バンド数 × 行数が Jaccard 閾値を「候補になる確率」にどう変えるか、検証したペアがどこに来るか。"
          "続いてクラスタを開き、文字単位の違いを見ます。"),
         (("dedup-exact", "dedup", None), ("dedup-minhash", "dedup", None), ("dedup-semantic", "dedup", None))),
    Step("quality", ("Corpus · Swallow", "コーパス・Swallow"),
         ("Filter by quality, then pre-train", "品質でふるい分けて事前学習"),
         ("Apply Swallow's rules to Japanese and Gopher's to English, and read why each removed document failed.\n"
          "Then pre-train the tiny model on the kept text (optional: the embedded tiny model is already pre-trained).",
          "日本語には Swallow の、英語には Gopher のルールを当てはめ、除かれた文書がなぜ落ちたのかを読みます。\n"
          "残ったテキストで tiny モデルを事前学習します（任意：同梱の tiny モデルは事前学習済みです）。"),
         ("the waterfall from input to kept documents, one bar per rule, and each removal's measured value against its "
          "threshold; in pre-training, the loss curve and tokens/s.",
          "入力から残りまでの滝グラフ（ルールごとの棒）と、除かれた文書の測定値と閾値。事前学習では loss の曲線とトークン/秒。"),
         (("dedup-quality", "dedup", None), ("pretrain-tiny", "launch", None))),
    Step("eval", ("Ch. 10", "第 10 章"),
         ("Evaluate first", "性能評価"),
         ("Measure the model before you change it: llm-jp-eval-style metrics, and an LLM judging answers side by side.\n"
          "These numbers are the baseline every later step is compared with.",
          "手を加える前にモデルを測ります。llm-jp-eval 方式の自動評価指標と、LLM が回答を比べる審査です。\n"
          "ここで得た数値が、以降のすべてのステップを比べる基準になります。"),
         ("the metrics table per run (exact match, character F1, acc / acc_norm); in judging, win rates with 95% "
          "intervals and the judge's position consistency — a verdict that flips when the answers swap is not one to trust.",
          "実行ごとの指標の表（完全一致・文字 F1・acc / acc_norm）。審査では 95% 信頼区間つきの勝率と、審査員の位置の一貫性。"
          "回答の順番を入れ替えると変わる判定は信用できません。"),
         (("eval-metrics", "judge", None), ("judge-pairwise", "judge", None), ("judge-single", "judge", None))),
    Step("sft", ("Ch. 11", "第 11 章"),
         ("Instruction tuning", "指示チューニング"),
         ("Teach the model to follow instructions: chat template, full fine-tuning (LoRA on the GPU presets), loss on the assistant's turns only.\n"
          "Then chat with the result beside the model it started from.",
          "チャットテンプレートと全パラメータの学習（GPU 向けプリセットでは LoRA）を使い、アシスタントの発話だけで損失を計算して、指示に従うように学習させます。\n"
          "学習後は、出発点のモデルと並べてチャットで比べます。"),
         ("loss and eval loss — both should fall; eval loss turning up while loss keeps falling is over-fitting. "
          "The learning rate warms up, then decays along a cosine. Then ask one of its training questions (「日本で一番大きい湖は"
          "どこですか？」): the base model rambles, the tuned one answers with the reference. A few-million-parameter model "
          "memorises; real models on a GPU generalise — ask something new and see the difference.",
          "loss と eval loss。どちらも下がるはずで、loss が下がり続けるのに eval loss が上がり始めたら過学習です。"
          "学習率はウォームアップの後、コサインに沿って下がります。学習後は学習データの質問（「日本で一番大きい湖はどこですか？」）を"
          "聞いてみます。元のモデルは脈絡のない文を続け、学習後のモデルは手本どおりに答えます。数百万パラメータのモデルは丸暗記し、"
          "GPU 上の本物のモデルは汎化します。新しい質問もして違いを確かめましょう。"),
         (("sft-tiny", "sft", None),)),
    Step("dpo", ("Ch. 12", "第 12 章"),
         ("Preference tuning", "選好チューニング"),
         ("Start from your SFT run and learn from a preferred and a rejected answer to the same prompt (DPO),\n"
          "or from single answers labelled good or bad (KTO); then compare with the SFT parent in the Judge tab.",
          "SFT の実行から始め、同じ指示への好ましい回答と好ましくない回答の組から学習します（DPO）。\n"
          "良い・悪いのラベルだけの回答からも学べます（KTO）。結果は評価タブで親の SFT と比べます。"),
         ("rewards/margins and rewards/accuracies should rise (eval: pairs the policy never saw); beside them, the SFT "
          "parent's eval loss — a model pulled far from its reference forgets what SFT taught it. The bundled pairs teach one trait you "
          "can see: the chosen reply opens with 「ご質問ありがとうございます。」, the rejected one is the same answer without it. "
          "Then ask a question it never saw, beside the SFT parent: the DPO reply opens with the thanks (the rest stays "
          "memorised fragments at this size).",
          "rewards/margins と rewards/accuracies が上がること（eval は方策が見ていないペア）。並べて表示される親 SFT の "
          "eval loss にも注目します。参照モデルから離れすぎると、SFT で覚えたことを忘れます。同梱のペアが教えるのは目に見える"
          "一つの特徴です。選ばれた回答は「ご質問ありがとうございます。」で始まり、選ばれなかった回答はお礼のない同じ答えです。"
          "学習後、見ていない質問を親の SFT と並べて聞くと、DPO の返事はお礼から始まります（続きはこの大きさでは丸暗記の断片のままです）。"),
         (("dpo-tiny", "dpo", None), ("kto-tiny", "dpo", None))),
    Step("rag", ("Ch. 13", "第 13 章"),
         ("Retrieval-augmented generation", "RAG（検索拡張生成）"),
         ("Index documents (dense embeddings + Japanese BM25) and let the model answer with numbered citations.\n"
          "Score retrieval and answers apart: a wrong answer often starts with a wrong chunk.",
          "文書を索引に入れ（密ベクトル＋日本語 BM25）、番号つきの引用を添えて答えさせます。\n"
          "検索と回答は分けて測ります。誤った回答の多くは、誤ったチャンクから始まります。"),
         ("recall@k and MRR for retrieval; context relevance, groundedness and answer relevance for each question, "
          "with the chunks it was given. In the chat, ask 「富士山の高さは何メートルですか？」 with and without retrieval: "
          "tiny-rag (the default model) quotes 3776メートル from the passage; without it, most of its answers are wrong or half-remembered. It memorised the "
          "bundled reading questions with their passages — a question it never saw gets no span; a real model "
          "(an endpoint or a Hub model) reads any document.",
          "検索の recall@k と MRR。質問ごとの文脈の関連性・根拠性・回答の関連性と、そのとき渡したチャンク。チャットで"
          "「富士山の高さは何メートルですか？」を検索あり・なしで聞き比べます。既定の tiny-rag は資料から 3776メートル を"
          "引用し、資料なしでは多くの質問に間違えるか、うろ覚えの答えになります。これは同梱の読解問題を資料ごと丸暗記したもので、見ていない質問には答えられません。"
          "本物のモデル（エンドポイントや Hub のモデル）はどの文書でも読めます。"),
         (("rag-index", "rag", None), ("rag-eval", "rag", None))),
    Step("dist", ("Ch. 14", "第 14 章"),
         ("Distributed training", "分散並列学習"),
         ("Run the same SFT preset as two processes under torchrun (gloo on a CPU) and read the exact command and files.\n"
          "Before renting GPUs, plan memory with ZeRO and the TP × PP × DP layout of a 7B model.",
          "同じ SFT のプリセットを torchrun で 2 プロセス（CPU では gloo）として動かし、実行するコマンドとファイルを確かめます。\n"
          "GPU を借りる前に、ZeRO でのメモリと 7B モデルの TP × PP × DP の組み方を見積もります。"),
         ("step time and memory per rank, and world size 2 in the status line; in the planners, GPU memory per device "
          "for each ZeRO stage.",
          "ランクごとのステップ時間とメモリ、状態欄の world size 2。見積もりでは ZeRO の段階ごとのデバイスあたり GPU メモリ。"),
         (("sft-tiny", "launch", ("▶ sft-tiny × 2 processes", "▶ sft-tiny を 2 プロセスで")),)),
)

CSS = """
#tab-home { max-width: 1280px; margin: 0 auto; }
.home-section > .label-wrap span { font-size: 1.05em; font-weight: 600; }
.home-flow { align-items: center !important; gap: 28px !important; flex-wrap: nowrap !important; }
.home-flow > button, .home-flow-ends > button { white-space: pre-line; line-height: 1.35; min-height: 64px;
  word-break: keep-all; overflow-wrap: anywhere; font-size: 13px !important; padding: 6px 8px !important;
  border: 2px solid var(--color-accent) !important; position: relative; overflow: visible !important; }
.home-flow > button::after, .home-flow-ends::before { content: "→"; position: absolute; right: -22px; top: 50%;
  transform: translateY(-50%); font-size: 18px; color: var(--body-text-color-subdued); }
.home-flow-ends { position: relative; overflow: visible !important; gap: 10px !important; }
.home-flow-ends::before { right: auto; left: -22px; }
.home-flow > button.home-optional { border-style: dashed !important; }
.home-step { border-left: 4px solid var(--color-accent); padding-left: 12px !important; margin: 6px 0 !important;
  align-items: center !important; }
.home-step-badge { display: inline-block; font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 10px;
  background: var(--color-accent-soft); color: var(--color-accent); margin-right: 6px; }
.home-step-title { font-size: 1.05em; font-weight: 700; }
.home-goal { margin: 4px 0; }
.home-look { font-size: 13px; line-height: 1.5; }
.home-step-buttons { gap: 6px !important; }
.home-card { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 12px !important;
  background: var(--block-background-fill); }
.home-card > button { flex: 0 0 auto !important; margin-top: auto; }
.home-card-top { display: flex; justify-content: space-between; align-items: center; gap: 6px; margin-bottom: 4px; }
.home-kind { font-size: 11px; font-weight: 700; letter-spacing: .03em; padding: 1px 7px; border-radius: 8px;
  background: var(--color-accent-soft); color: var(--color-accent); }
.home-card-title { font-weight: 700; margin-bottom: 4px; }
.home-card-desc { font-size: 13px; line-height: 1.55; }
.home-card-meta { font-size: 12px; margin-top: 6px; }
.home-tags span { display: inline-block; font-size: 11px; padding: 0 6px; margin: 4px 4px 0 0; border-radius: 6px;
  background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary); }
"""


def gallery_presets() -> list[tuple[str, str, dict]]:
    """(preset name, kind, meta) of every bundled preset, in the order of the loop, tiny before GPU."""
    out = []
    for path in list_presets():
        if path.parent.resolve() != PRESETS_DIR.resolve():
            continue  # a participant's saved presets live in each tab's preset list, not in the catalogue
        data, _ = read_yaml(path)
        out.append((path.stem, data.get("kind"), data.get("meta") or {}))
    order = list(OPEN_IN)
    return sorted(out, key=lambda p: (order.index(p[1]) if p[1] in order else len(order),
                                      "gpu" in p[2].get("tags", []), p[0]))


def _lang_pair(mapping: dict, fallback: str = "") -> tuple[str, str]:
    return mapping.get("en", fallback), mapping.get("ja", mapping.get("en", fallback))


def card_html(name: str, kind: str, meta: dict, lang: str) -> str:
    ja = lang == "ja"
    pick = lambda pair: pair[1] if ja else pair[0]  # noqa: E731
    title = pick(_lang_pair(meta.get("title", {}), name))
    desc = pick(_lang_pair(meta.get("description", {})))
    est = meta.get("est_time", {})
    when = lambda v: EST_WORDS.get(v, v) if ja else v  # noqa: E731
    est_text = " · ".join(f"{dev.upper()} {html.escape(when(str(est[dev])))}" for dev in ("cpu", "gpu") if dev in est)
    tags = "".join(f"<span>#{html.escape(str(t))}</span>" for t in meta.get("tags", []))
    head = TEXT["home.est"][1] + "：" if ja else TEXT["home.est"][0] + ": "
    return (f"<div class='home-card-body' id='home-card-{html.escape(name)}'>"
            f"<div class='home-card-top'><code>{html.escape(name)}.yaml</code><span class='home-kind'>{html.escape(kind)}</span></div>"
            f"<div class='home-card-title'>{html.escape(title)}</div><div class='home-card-desc'>{html.escape(desc)}</div>"
            f"<div class='home-card-meta'>{head}{est_text}</div><div class='home-tags'>{tags}</div></div>")


def step_html(step: Step, lang: str) -> str:
    i = 1 if lang == "ja" else 0
    goal = "<br>".join(html.escape(line) for line in step.goal[i].split("\n"))
    look = TEXT["home.look"][1] + "：" if lang == "ja" else TEXT["home.look"][0] + ": "
    return (f"<div class='home-step-text' id='home-step-{step.key}'><span class='home-step-badge'>{html.escape(step.badge[i])}</span>"
            f"<span class='home-step-title'>{html.escape(step.title[i])}</span><div class='home-goal'>{goal}</div>"
            f"<div class='home-look'><b>{look}</b>{html.escape(step.look[i])}</div></div>")


def _both(render, *args) -> tuple[str, str]:
    return render(*args, "en"), render(*args, "ja")


def build(store: RunStore, i18n: I18n, lang_state: gr.State) -> dict:
    i18n.add(TEXT)
    lang = i18n.lang
    t = lambda key: i18n.t(key, lang)  # noqa: E731
    goto: list[tuple[gr.Button, str]] = []
    opens: list[tuple[gr.Button, str, str]] = []

    def node(key, tab, lines, optional):
        i18n.add({f"home.node.{key}": ("\n".join(lines[0]), "\n".join(lines[1]))})
        button = i18n.bind(gr.Button(t(f"home.node.{key}"), elem_id=f"home-go-{key}", size="md", scale=1, min_width=120,
                                     elem_classes=["home-optional"] if optional else None), f"home.node.{key}", "value")
        goto.append((button, tab))

    with gr.Tab(t("home.tab"), id="home", elem_id="tab-home") as tab:
        i18n.bind(tab, "home.tab")
        i18n.bind(gr.Markdown(t("home.intro")), "home.intro", "value")

        with gr.Accordion(t("home.pipeline"), open=True, elem_classes=["home-section"]) as acc:
            i18n.bind(acc, "home.pipeline")
            with gr.Row(elem_id="home-flow", elem_classes=["home-flow"]):
                for spec in PIPELINE:
                    node(*spec)
                with gr.Column(scale=1, min_width=120, elem_classes=["home-flow-ends"]):
                    for spec in PIPELINE_ENDS:
                        node(*spec)
            with gr.Row():
                i18n.bind(gr.Markdown(t("home.pipeline_note")), "home.pipeline_note", "value")
            with gr.Row():
                for key, tab_id in (("launch", "launch"), ("runs", "runs")):
                    button = i18n.bind(gr.Button(t(f"home.go_{key}"), size="sm", elem_id=f"home-go-{key}-tab"),
                                       f"home.go_{key}", "value")
                    goto.append((button, tab_id))

        with gr.Accordion(t("home.course"), open=True, elem_classes=["home-section"]) as acc:
            i18n.bind(acc, "home.course")
            i18n.bind(gr.Markdown(t("home.course_note")), "home.course_note", "value")
            for step in COURSE:
                i18n.add({f"home.step.{step.key}": _both(step_html, step)})
                with gr.Row(elem_classes=["home-step"]):
                    with gr.Column(scale=3, min_width=420):
                        i18n.bind(gr.HTML(step_html(step, lang)), f"home.step.{step.key}", "value")
                    with gr.Column(scale=1, min_width=220, elem_classes=["home-step-buttons"]):
                        for name, tab_id, label in step.presets:
                            text = label or (f"▶ {name}", f"▶ {name}")
                            i18n.add({f"home.run.{step.key}.{name}": text})
                            button = i18n.bind(gr.Button(text[1] if lang == "ja" else text[0], size="sm",
                                                         elem_id=f"home-course-{step.key}-{name}"),
                                               f"home.run.{step.key}.{name}", "value")
                            opens.append((button, name, tab_id))

        with gr.Accordion(t("home.gallery"), open=True, elem_classes=["home-section"]) as acc:
            i18n.bind(acc, "home.gallery")
            i18n.bind(gr.Markdown(t("home.gallery_note")), "home.gallery_note", "value")
            presets = gallery_presets()
            for row_start in range(0, len(presets), 3):
                with gr.Row(equal_height=True):
                    for name, kind, meta in presets[row_start:row_start + 3]:
                        tab_id = OPEN_IN.get(kind)
                        with gr.Column(min_width=280, elem_classes=["home-card"], elem_id=f"home-preset-{name}"):
                            i18n.add({f"home.card.{name}": _both(card_html, name, kind, meta)})
                            i18n.bind(gr.HTML(card_html(name, kind, meta, lang)), f"home.card.{name}", "value")
                            if tab_id:
                                button = i18n.bind(gr.Button(t(f"home.open.{tab_id}"), size="sm", variant="primary",
                                                             elem_id=f"home-open-{name}"), f"home.open.{tab_id}", "value")
                                opens.append((button, name, tab_id))
                    for _ in range(3 - len(presets[row_start:row_start + 3])):
                        with gr.Column(min_width=280):  # keeps the last row's cards as wide as the others
                            pass

    return {"tab": tab, "goto": goto, "open": opens}

