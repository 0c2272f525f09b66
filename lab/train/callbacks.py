"""The bridge from a transformers/TRL Trainer to the run folder: every log becomes a metric event
(with the Trainer's own key names), progress and ETA are emitted as the steps go, and a stop
request makes the trainer save and stop at the next step."""
from __future__ import annotations

import time

from transformers import TrainerCallback

PROGRESS_EVERY = 0.5  # seconds between progress events


class EventsCallback(TrainerCallback):
    def __init__(self, ctx, samples_per_step: int):
        self.ctx = ctx
        self.samples_per_step = samples_per_step
        self._t0 = self._last_progress = 0.0
        self._last_log = None  # (time, step, num_tokens)
        self._stopping = False
        self._start_step = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self._t0 = time.time()
        self._start_step = state.global_step
        self._last_log = (self._t0, state.global_step, None)
        self.ctx.emit("progress", step=state.global_step, total=state.max_steps, eta_s=None)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        metrics = {k: v for k, v in logs.items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("epoch", "step")}
        now = time.time()
        t_prev, step_prev, tokens_prev = self._last_log
        if state.global_step > step_prev and now > t_prev and "loss" in metrics:
            dt = now - t_prev
            metrics["samples_per_second"] = (state.global_step - step_prev) * self.samples_per_step / dt
            if "num_tokens" in metrics and tokens_prev is not None:
                metrics["tokens_per_second"] = (metrics["num_tokens"] - tokens_prev) / dt
            self._last_log = (now, state.global_step, metrics.get("num_tokens", tokens_prev))
        elif "num_tokens" in metrics and tokens_prev is None:
            self._last_log = (t_prev, step_prev, metrics["num_tokens"])
        self.ctx.emit("metric", step=state.global_step, epoch=round(state.epoch or 0, 4), **metrics)

    def on_step_end(self, args, state, control, **kwargs):
        now = time.time()
        if state.is_world_process_zero and (now - self._last_progress >= PROGRESS_EVERY or state.global_step >= state.max_steps):
            done = state.global_step - self._start_step
            rate = done / (now - self._t0) if now > self._t0 and done else None
            eta = (state.max_steps - state.global_step) / rate if rate else None
            self.ctx.emit("progress", step=state.global_step, total=state.max_steps,
                          eta_s=round(eta, 1) if eta is not None else None)
            self._last_progress = now
        if not self._stopping and self.ctx.cancel_requested():
            self._stopping = True
            control.should_training_stop = True
            control.should_save = args.save_strategy != "no"
            self.ctx.emit("log", message=f"stopping at step {state.global_step}: saving a checkpoint")
        return control

    def on_save(self, args, state, control, **kwargs):
        self.ctx.emit("artifact", name="checkpoint", step=state.global_step,
                      path=f"{args.output_dir}/checkpoint-{state.global_step}")

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        pass  # eval metrics reach on_log too
