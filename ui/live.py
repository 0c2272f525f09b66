"""Live charts from run events, and the timers that poll them. The figure builders live in lab/charts.py (the
offline report draws the same charts without gradio); this module keeps the names the tabs import."""
from __future__ import annotations

import gradio as gr

from lab.charts import MAX_POINTS, PANELS, downsample, overlay_figure, training_figure

from .runview import RunView

__all__ = ["MAX_POINTS", "PANELS", "downsample", "overlay_figure", "training_figure", "timer_after_idle_poll"]


def timer_after_idle_poll(*views: RunView | None):
    """A tab's timer output when its poll found nothing new: off once every watched run has ended and been drawn so
    (nothing more will come), else unchanged. Timers run only while needed: in Gradio 6 every tick costs the page a
    pass over all its components, and idle 1 s timers once made each click take seconds."""
    return gr.Timer(active=False) if all(v is None or v.finished for v in views) else gr.skip()
