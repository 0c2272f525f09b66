"""A preset is a spec in YAML: unknown keys and bad values are one line naming file, line, key."""
import pytest

from lab.errors import UserError
from lab.presets import apply_overrides, diff_as_overrides, list_presets, load_preset, parse_override


def write(tmp_path, text, name="p.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BASE = """kind: sft
model:
  name: tiny
dataset:
  path: samples/sft_ja.jsonl
train:
  max_steps: 5
"""


def test_every_bundled_preset_validates():
    presets = list_presets()
    assert {p.stem for p in presets} >= {"sft-tiny", "pretrain-tiny"}
    for path in presets:
        spec = load_preset(path)
        assert spec.meta.title.get("en") and spec.meta.title.get("ja"), path


def test_unknown_key_names_file_line_and_key(tmp_path):
    path = write(tmp_path, BASE.replace("  max_steps: 5", "  max_steps: 5\n  learning_rat: 0.1"))
    with pytest.raises(UserError) as e:
        load_preset(path)
    assert str(e.value) == f"{path}:8: train.learning_rat: unknown key (not a field of SFTConfig)"


def test_unknown_top_level_key(tmp_path):
    path = write(tmp_path, BASE + "colour: blue\n")
    with pytest.raises(UserError, match=r"p.yaml:8: colour: unknown key"):
        load_preset(path)


def test_bad_value_names_line(tmp_path):
    path = write(tmp_path, BASE.replace("max_steps: 5", "max_steps: lots"))
    with pytest.raises(UserError, match=r"p.yaml:7: train.max_steps: input should be a valid integer"):
        load_preset(path)


def test_missing_field(tmp_path):
    path = write(tmp_path, "kind: sft\nmodel:\n  name: tiny\n")
    with pytest.raises(UserError, match=r"p.yaml:1: dataset: field required"):
        load_preset(path)


def test_bad_kind(tmp_path):
    with pytest.raises(UserError, match=r"kind: must be one of"):
        load_preset(write(tmp_path, "kind: nonsense\n"))


def test_real_trl_field_accepted_verbatim(tmp_path):
    spec = load_preset(write(tmp_path, BASE), ["train.neftune_noise_alpha=5", "train.learning_rate=1e-4"])
    assert spec.train.model_extra["neftune_noise_alpha"] == 5
    assert spec.train.learning_rate == pytest.approx(1e-4)


def test_override_of_unknown_key_names_the_set(tmp_path):
    with pytest.raises(UserError, match=r"^--set train.nonsense: unknown key"):
        load_preset(write(tmp_path, BASE), ["train.nonsense=1"])
    with pytest.raises(UserError, match=r"^--set lora.rank: unknown key"):
        load_preset(write(tmp_path, BASE), ["lora.rank=4"])


def test_override_parsing():
    assert parse_override("a.b=3") == ("a.b", 3)
    assert parse_override("a=true") == ("a", True)
    assert parse_override("a=[x, y]") == ("a", ["x", "y"])
    with pytest.raises(UserError):
        parse_override("novalue")
    data = {"a": 1}
    with pytest.raises(UserError, match="not a section"):
        apply_overrides(data, ["a.b=2"])


def test_invalid_yaml_names_line(tmp_path):
    with pytest.raises(UserError, match=r"p.yaml:3: invalid YAML"):
        load_preset(write(tmp_path, "kind: sft\nmodel:\n\tname: tiny\n"))


def test_bom_and_crlf_preset_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.replace("\n", "\r\n").encode())
    assert load_preset(path).train.max_steps == 5


def test_diff_as_overrides_round_trip(tmp_path):
    base = {"train": {"max_steps": 5, "packing": False}, "model": {"name": "tiny"}}
    new = {"train": {"max_steps": 9, "packing": True}, "model": {"name": "tiny"}}
    sets = diff_as_overrides(base, new)
    assert sets == ["train.max_steps=9", "train.packing=true"]
    apply_overrides(base, sets)
    assert base == new
