"""The Data tab's labels (en, ja), keyed by short names: a form field's key is its label key and, with
`-` for `_`, its element id (dedup-threshold, dedup-sem-model)."""
from __future__ import annotations

P = "dedup"  # element id prefix and i18n namespace
DEFAULT_PRESET = "dedup-minhash"

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


class Labels:
    """The tab's texts in the page's first language, and its bindings for a language switch."""

    def __init__(self, i18n, lang: str):
        self.i18n, self.lang = i18n, lang

    def t(self, key: str, lang: str | None = None) -> str:
        return self.i18n.t(f"{P}.{key}", lang or self.lang)

    def bind(self, component, key: str, attr: str = "label"):
        return self.i18n.bind(component, f"{P}.{key}", attr)
