"""The bridge from a transformers/TRL Trainer to the run folder: every log becomes a metric event
(with the Trainer's own key names), progress and ETA are emitted as the steps go, and a stop
request makes the trainer save and stop at the next step."""
from __future__ import annotations

import time

import psutil
import torch
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
        per_rank = self._gather_rank_stats(state) if args.world_size > 1 and logs and "loss" in logs else {}
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
        if "loss" in metrics:  # memory beside each training log: process RSS, and the GPU's peak where there is one
            metrics["rss_mb"] = psutil.Process().memory_info().rss / 2**20
            if torch.cuda.is_available():
                metrics["gpu_mem_mb"] = torch.cuda.max_memory_allocated() / 2**20
        self.ctx.emit("metric", step=state.global_step, epoch=round(state.epoch or 0, 4), **metrics, **per_rank)

    def _gather_rank_stats(self, state) -> dict:
        """Every rank's step time and memory, collected on rank 0 as rank<N>/… metrics. All ranks
        call this at the same log step (the Trainer logs on every rank), so the collective is safe."""
        import torch.distributed as dist

        now = time.time()
        t_prev, step_prev = getattr(self, "_rank_last", (self._t0, self._start_step))
        steps = max(1, state.global_step - step_prev)
        mine = {"step_time_s": (now - t_prev) / steps, "rss_mb": psutil.Process().memory_info().rss / 2**20}
        if torch.cuda.is_available():
            mine["gpu_mem_mb"] = torch.cuda.max_memory_allocated() / 2**20
        self._rank_last = (now, state.global_step)
        if not (dist.is_available() and dist.is_initialized()):
            return {}
        gathered: list = [None] * dist.get_world_size()
        dist.all_gather_object(gathered, mine)
        return {f"rank{r}/{k}": v for r, stats in enumerate(gathered) for k, v in stats.items()}

    def _stop_everywhere(self, args) -> bool:
        """Whether any rank saw the stop request: ranks must leave the loop at the same step, or the
        ones still training wait forever in their next all-reduce."""
        asked = self.ctx.cancel_requested()
        if args.world_size <= 1:
            return asked
        import torch.distributed as dist
        if not (dist.is_available() and dist.is_initialized()):
            return asked
        flag = torch.tensor([1 if asked else 0], dtype=torch.int32,
                            device="cuda" if torch.cuda.is_available() and dist.get_backend() == "nccl" else "cpu")
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return bool(flag.item())

    def on_step_end(self, args, state, control, **kwargs):
        now = time.time()
        if state.is_world_process_zero and (now - self._last_progress >= PROGRESS_EVERY or state.global_step >= state.max_steps):
            done = state.global_step - self._start_step
            rate = done / (now - self._t0) if now > self._t0 and done else None
            eta = (state.max_steps - state.global_step) / rate if rate else None
            self.ctx.emit("progress", step=state.global_step, total=state.max_steps,
                          eta_s=round(eta, 1) if eta is not None else None)
            self._last_progress = now
        if not self._stopping and self._stop_everywhere(args):
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
