"""Parameter counts from a model's shape match the published sizes and the tiny model's own weights."""
from __future__ import annotations

import json
import struct

import pytest

from lab.distributed.model_size import KNOWN_ARCHITECTURES, ModelShape, count_params, load_shape, parse_count
from lab.errors import UserError


@pytest.mark.parametrize("name, total", [
    ("llama-2-7b", 6_738_415_616),
    ("llama-2-13b", 13_015_864_320),
    ("llama-2-70b", 68_976_648_192),
    ("llama-3-8b", 8_030_261_248),
])
def test_published_llama_sizes(name, total):
    assert count_params(load_shape(name)).total == total


def test_llama_2_7b_largest_layer_is_the_131m_embedding():
    counted = count_params(load_shape("llama-2-7b"))
    assert counted.largest_layer == 32000 * 4096 == 131_072_000
    assert counted.non_embedding == counted.total - 2 * 131_072_000


def test_plain_dict_with_short_keys():
    shape = ModelShape.from_mapping({"layers": 32, "hidden": 4096, "heads": 32, "intermediate": 11008,
                                     "vocab": 32000})
    assert count_params(shape).total == 6_738_415_616


def safetensors_param_count(path) -> int:
    with open(path, "rb") as fh:
        (size,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(size))
    total = 0
    for key, info in header.items():
        if key != "__metadata__":
            n = 1
            for dim in info["shape"]:
                n *= dim
            total += n
    return total


def test_tiny_model_count_equals_its_safetensors_weights(tiny_models_dir):
    tiny = tiny_models_dir / "tiny"
    counted = count_params(load_shape(str(tiny)))
    assert counted.total == safetensors_param_count(tiny / "model.safetensors")


def test_tiny_by_name_inside_the_workspace(tiny_workspace):
    assert load_shape("tiny").layers == json.loads((tiny_workspace / "models/tiny/config.json").read_text())[
        "num_hidden_layers"]


def test_inline_json_and_config_file(tmp_path):
    inline = '{"num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4, "vocab_size": 100}'
    assert load_shape(inline).hidden == 64
    (tmp_path / "config.json").write_text(inline, encoding="utf-8")
    assert load_shape(str(tmp_path)).layers == 2
    assert load_shape(str(tmp_path / "config.json")).heads == 4


def test_multimodal_config_reads_the_text_config():
    data = {"model_type": "llava", "text_config": KNOWN_ARCHITECTURES["llama-2-7b"]}
    assert count_params(ModelShape.from_mapping(data)).total == 6_738_415_616


@pytest.mark.parametrize("ref, needle", [
    ('{"hidden_size": 64}', "num_hidden_layers"),
    ('{"layers": 2, "hidden": -4, "heads": 1, "vocab": 10}', "hidden"),
    ('{"layers": 2,', "line 1"),
    ("some-org/some-hub-model", "not reachable"),  # no network here: a Hub id is one line, at once
])
def test_bad_model_refs_are_user_errors(ref, needle):
    with pytest.raises(UserError, match=needle):
        load_shape(ref)


def test_folder_without_config(tmp_path):
    with pytest.raises(UserError, match="config.json"):
        load_shape(str(tmp_path))


@pytest.mark.parametrize("text, value", [("7e9", 7e9), ("7B", 7e9), ("131M", 131e6), ("1.4T", 1.4e12),
                                         ("20k", 2e4), (7000, 7000.0), ("1_000", 1000.0)])
def test_parse_count(text, value):
    assert parse_count(text, "--params") == value


@pytest.mark.parametrize("text", ["-7", "0", "seven", "7X", "", "nan"])
def test_parse_count_rejects(text):
    with pytest.raises(UserError, match="--params"):
        parse_count(text, "--params")
