"""Saving a form as a preset and stopping a run from a click, the two things every tab did its own way:
a saved preset is validated, named by a plain name and found again by name; a bad name or a bad field is
refused in one line; a click's cancel writes the stop request at once and finishes in the background."""
import subprocess
import sys

import pytest
import yaml

from backends.local import wait_until
from lab.cancel import cancel_in_background
from lab.errors import UserError
from lab.preset_save import save_preset
from lab.presets import find_preset, list_presets, read_yaml
from lab.runs import RunStore
from lab.spec import SFTSpec


def _form():
    return {"kind": "sft", "model": {"name": "tiny"}, "dataset": {"path": "x.jsonl"}, "train": {"max_steps": 7}}


def test_saved_preset_is_found_by_name_and_listed(workspace):
    path = save_preset("my-sft_1.2", _form())
    assert path == workspace / "presets" / "my-sft_1.2.yaml"
    assert find_preset("my-sft_1.2") == path
    assert path in list_presets("sft")
    data, _ = read_yaml(path)
    assert data["train"]["max_steps"] == 7 and data["kind"] == "sft"


def test_a_validated_spec_is_saved_as_is(workspace):
    path = save_preset(" spaced ", SFTSpec(dataset={"path": "y.jsonl"}))
    assert path.name == "spaced.yaml"
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["dataset"]["path"] == "y.jsonl"


@pytest.mark.parametrize("name", ["", "   ", "../evil", "a/b", "sp ace", "x;rm", None])
def test_bad_preset_names_are_refused_in_one_line(workspace, name):
    with pytest.raises(UserError) as e:
        save_preset(name, _form())
    assert "preset name" in str(e.value) and "\n" not in str(e.value)
    assert not (workspace / "presets").exists() or not list((workspace / "presets").iterdir())


def test_a_bad_field_is_refused_before_anything_is_written(workspace):
    data = _form()
    data["train"]["max_stepz"] = 3
    with pytest.raises(UserError) as e:
        save_preset("ok-name", data)
    assert "max_stepz" in str(e.value)
    assert not (workspace / "presets" / "ok-name.yaml").exists()


def test_cancel_in_background_requests_at_once_and_ends_the_process(workspace):
    store = RunStore()
    run = store.create(SFTSpec(dataset={"path": "x.jsonl"}))
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    try:
        run.set_status(state="running", pid=proc.pid, pgid=proc.pid)
        thread = cancel_in_background(store, run.id, grace=0.5, kill_grace=0.5)
        assert run.cancel_requested()  # written before the call returns; the page need not wait
        # nothing in the sleeping process honours the request: the background cancel ends its group
        assert wait_until(lambda: proc.poll() is not None, 60, 0.2)
        thread.join(60)
        assert not thread.is_alive()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_cancel_without_a_run_does_nothing(workspace):
    assert cancel_in_background(RunStore(), None) is None
