"""Bands × rows follow the threshold the way datasketch chooses them, and the S-curve is the formula."""
import numpy as np
import pytest
from datasketch.lsh import _optimal_param

from lab.dedup import lsh
from lab.dedup.spec import DedupSpec
from lab.errors import UserError
from lab.presets import validate


@pytest.mark.parametrize("num_perm", [16, 64, 128, 256])
@pytest.mark.parametrize("weights", [(0.5, 0.5), (0.05, 0.95), (0.3, 0.7)])
def test_bands_rows_match_datasketch_optimal_param(num_perm, weights):
    for threshold in (0.5, 0.7, 0.8, 0.85, 0.9):
        assert lsh.optimal_params(threshold, num_perm, *weights) == _optimal_param(threshold, num_perm, *weights)


def test_s_curve_is_one_minus_one_minus_s_to_the_r_to_the_b():
    s = np.array([0.0, 0.5, 0.8, 1.0])
    assert np.allclose(lsh.s_curve(s, 16, 8), 1 - (1 - s ** 8) ** 16)
    assert lsh.s_curve(1.0, 3, 7) == 1.0 and lsh.s_curve(0.0, 3, 7) == 0.0


def test_recall_weighting_moves_the_curve_left_of_the_threshold():
    balanced = lsh.error_areas(0.8, *lsh.optimal_params(0.8, 128, 0.5, 0.5))
    recall_first = lsh.error_areas(0.8, *lsh.optimal_params(0.8, 128, 0.05, 0.95))
    assert recall_first["false_negative_area"] < balanced["false_negative_area"]
    assert recall_first["effective_threshold"] < 0.8 < balanced["effective_threshold"]


def test_spec_resolves_bands_and_rows_by_hand_or_from_the_threshold():
    assert lsh.resolve(DedupSpec(bands=20, rows=5))["bands_rows_source"] == "manual"
    auto = lsh.resolve(DedupSpec(threshold=0.8, num_perm=128))
    assert (auto["bands"], auto["rows"]) == lsh.optimal_params(0.8, 128, 0.05, 0.95)
    assert auto["bands"] * auto["rows"] <= 128


def test_bad_bands_rows_are_one_line_errors():
    with pytest.raises(UserError, match=r"bands: bands × rows = 400 exceeds num_perm = 128"):
        validate({"kind": "dedup", "bands": 20, "rows": 20})
    with pytest.raises(UserError, match=r"bands: set both bands and rows"):
        validate({"kind": "dedup", "bands": 20})


def test_candidate_pairs_from_shared_band_keys():
    sig = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [7, 7, 3, 4], [5, 6, 7, 8]], dtype=np.uint32)
    keys = lsh.band_keys(sig, bands=2, rows=2)
    pairs = lsh.candidate_pairs(keys, np.array([10, 11, 12, 13]))
    assert pairs.tolist() == [[10, 11], [10, 12]]


def test_a_huge_bucket_costs_linear_pairs_but_links_everyone():
    sig = np.zeros((500, 4), dtype=np.uint32)
    pairs = lsh.candidate_pairs(lsh.band_keys(sig, 2, 2), np.arange(500), full_bucket=64)
    assert len(pairs) < 2 * 500
    assert set(pairs.ravel().tolist()) == set(range(500))
