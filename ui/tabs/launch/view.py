"""What the Launch tab draws: the machine's hardware as markdown, and a run's live chart with a line
per rank for step time and memory."""
from __future__ import annotations

import plotly.graph_objects as go

from lab.distributed import hardware

from ...live import training_figure
from ...runview import RunView
from .text import PANELS_TITLES, WAITING


def hardware_markdown(lang: str) -> str:
    hw = hardware.detect()
    ja = lang == "ja"
    lines = [f"**CPU**: {hw['cpu_cores']} {'コア' if ja else 'cores'} · {hw['memory_gb']} GB "
             f"({hw['memory_available_gb']} GB {'空き' if ja else 'free'})"]
    if hw["gpus"]:
        # bf16 ✓ only where the card computes it natively (sm80+); elsewhere the lab trains in fp16.
        lines += ["", "| GPU | name | memory | free | util | bf16 |", "|---|---|---|---|---|---|"]
        lines += [f"| {g['index']} | {g['name']} | {g['memory_gb']} GB | {g['free_gb']} GB | "
                  f"{'' if g['utilization'] is None else str(g['utilization']) + '%'} | "
                  f"{'?' if g['bf16'] is None else '✓' if g['bf16'] else '–'} |"
                  for g in hw["gpus"]]
    else:
        lines.append("")
        lines.append("GPU なし：CPU で gloo バックエンドの分散学習（torchrun / accelerate）を実行できます。" if ja else
                     "No GPU: distributed runs use CPU processes with the gloo backend (torchrun / accelerate).")
    return "\n".join(lines)


def rank_panels(series: dict) -> tuple:
    ranks_time = tuple(sorted(k for k in series if k.endswith("/step_time_s")))
    ranks_mem = tuple(sorted(k for k in series if k.endswith("/rss_mb") or k.endswith("/gpu_mem_mb")))
    return (("loss", ("loss", "eval_loss")), ("step time", ranks_time or ("rank0/step_time_s",)),
            ("memory", ranks_mem or ("rss_mb",)), ("throughput", ("tokens_per_second",)))


def figure(view: RunView | None, lang: str) -> go.Figure:
    series = view.series if view else {}
    return training_figure(series, False, PANELS_TITLES[lang], rank_panels(series), WAITING[lang])
