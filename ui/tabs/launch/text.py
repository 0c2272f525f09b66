"""The Launch tab's words (en, ja): its own labels, the launch fields' labels keyed by spec path, and
the chart panel titles."""
from __future__ import annotations

from ...run_panel import COMMON_TEXT

TEXT = {
    "launch.tab": ("Launch", "分散学習"),
    "launch.hardware": ("Hardware", "ハードウェア"),
    "launch.preset": ("Training preset", "学習のプリセット"),
    "launch.max_steps": ("Max steps (override)", "最大ステップ数（上書き）"),
    "launch.dataset.path": ("Dataset file (override)", "データセットファイル（上書き）"),
    "launch.dataset.format": ("Dataset format", "データセットの形式"),
    "launch.how": ("How it runs", "実行のしかた"),
    "launch.preview": ("Before anything starts: the command and the generated files",
                       "開始する前に：実行するコマンドと生成されるファイル"),
    "launch.download": ("Download the launch files", "起動ファイルをダウンロード"),
    "launch.check": ("Check the DeepSpeed config with DeepSpeed", "DeepSpeed の設定を DeepSpeed で検査"),
    "launch.save_name": ("Save as preset (name)", "プリセットとして保存（名前）"),
    "launch.save": ("Save as preset", "プリセットとして保存"),
    "launch.start": ("Start", "開始"),
    "launch.stop": ("Stop", "停止"),
    "launch.planners": ("Planners", "見積もり"),
    "launch.memory": ("Memory: ZeRO stages and offload", "メモリ：ZeRO の段階とオフロード"),
    "launch.parallel": ("3D parallelism (TP × PP × DP)", "3 次元並列（TP × PP × DP）"),
    "launch.compute": ("Compute: tokens, FLOPs and wall-clock", "計算量：トークン数・FLOPs・所要時間"),
    "launch.model": ("Model (tiny, llama-2-7b, a folder, or leave empty and give params)",
                     "モデル（tiny、llama-2-7b、フォルダ。空なら下のパラメータ数）"),
    "launch.params": ("Parameters", "パラメータ数"),
    "launch.largest": ("Largest layer parameters", "最大の層のパラメータ数"),
    "launch.gpus_per_node": ("GPUs per node", "ノードあたり GPU 数"),
    "launch.nodes": ("Nodes", "ノード数"),
    "launch.lora_r": ("LoRA rank (0 = full fine-tuning)", "LoRA のランク（0 は全パラメータ）"),
    "launch.estimate": ("Estimate", "見積もる"),
    "launch.gpus_total": ("GPUs", "GPU 数"),
    "launch.tp": ("Tensor parallel (TP)", "テンソル並列（TP）"),
    "launch.pp": ("Pipeline parallel (PP)", "パイプライン並列（PP）"),
    "launch.micro": ("Micro batch", "マイクロバッチ"),
    "launch.global": ("Global batch", "グローバルバッチ"),
    "launch.llama_example": ("The book's Llama-2-7B example (TP=2, PP=2)", "本書の Llama-2-7B の例（TP=2、PP=2）"),
    "launch.tokens": ("Tokens (empty = Chinchilla-optimal, 20 per parameter)", "トークン数（空なら Chinchilla 最適＝パラメータの 20 倍）"),
    "launch.gpu_type": ("GPU type", "GPU の種類"),
    "launch.mfu": ("Assumed MFU", "想定 MFU"),
    "launch.no_run": ("No distributed run yet.", "まだ分散実行はありません。"),
}
LABELS = {
    "launch.launcher": ("Launcher", "ランチャー"), "launch.nproc_per_node": ("Processes (GPUs) per node", "ノードあたりのプロセス（GPU）数"),
    "launch.gpus": ("GPU ids (e.g. 0,1)", "使う GPU の番号（例 0,1）"), "launch.nnodes": ("Nodes", "ノード数"),
    "launch.node_rank": ("This node's rank", "このノードの番号"), "launch.master_addr": ("Master address", "マスターのアドレス"),
    "launch.master_port": ("Master port", "マスターのポート"), "launch.rdzv_endpoint": ("Rendezvous endpoint (host:port)", "ランデブーの接続先（host:port）"),
    "launch.zero_stage": ("DeepSpeed ZeRO stage", "DeepSpeed ZeRO の段階"), "launch.offload_optimizer": ("Offload optimizer", "オプティマイザのオフロード"),
    "launch.offload_param": ("Offload parameters", "パラメータのオフロード"), "launch.fsdp": ("FSDP (full shard, wrap by layer)", "FSDP（全シャード、層ごとにラップ）"),
    "launch.mixed_precision": ("Mixed precision", "混合精度"), "launch.hostfile": ("DeepSpeed hostfile ('host slots=N', comma separated)", "DeepSpeed の hostfile（'host slots=N' をカンマ区切り）"),
    "launch.slurm.partition": ("Slurm partition", "Slurm のパーティション"), "launch.slurm.account": ("Slurm account", "Slurm のアカウント"),
    "launch.slurm.time": ("Slurm time limit", "Slurm の制限時間"), "launch.slurm.gpus_per_node": ("Slurm GPUs per node (0: one per process where GPUs are)", "Slurm のノードあたり GPU 数（0: GPU があればプロセスごとに 1 つ）"),
    "launch.slurm.node_launcher": ("Launcher on each Slurm node", "各ノードで使うランチャー"),
}
PANELS_TITLES = {"en": ("loss", "step time per rank (s)", "memory per rank (MB)", "throughput (tokens/s)"),
                 "ja": ("損失（loss）", "ランクごとのステップ時間（秒）", "ランクごとのメモリ（MB）", "スループット（トークン/秒）")}
WAITING = dict(zip(("en", "ja"), COMMON_TEXT["waiting"]))
