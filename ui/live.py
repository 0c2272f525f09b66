"""Live charts from run events. The figure builders live in lab/charts.py (the offline report draws
the same charts without gradio); this module keeps the names the tabs import."""
from __future__ import annotations

from lab.charts import MAX_POINTS, PANELS, downsample, overlay_figure, training_figure

__all__ = ["MAX_POINTS", "PANELS", "downsample", "overlay_figure", "training_figure"]
