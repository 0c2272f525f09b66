"""Stopping a run from a click: the stop request is written at once (the trainer sees it at its next
step and saves), and the rest of the cancel — waiting out the grace period, then ending the process
group (RunStore.cancel) — runs in a background thread so the page answers immediately. The thread
starts through lab.threads, so it runs as the participant who clicked."""
from __future__ import annotations

from .threads import start_thread


def cancel_in_background(store, run_id: str | None, **cancel_kwargs):
    """Request the stop now and finish the cancel (RunStore.cancel(run_id, **cancel_kwargs)) in a thread;
    returns that thread (None without a run)."""
    if not run_id:
        return None
    store.request_cancel(run_id)
    return start_thread(store.cancel, run_id, name=f"cancel-{run_id}", **cancel_kwargs)
