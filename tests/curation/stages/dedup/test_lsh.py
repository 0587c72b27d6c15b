"""LSH parameters, candidate pairs, components and the keep policy."""

from __future__ import annotations

import numpy as np
import pytest

from curation.stages.dedup.keep import choose_kept
from curation.stages.dedup.lsh import (
    band_keys,
    candidate_pairs,
    candidate_probability,
    components,
    optimal_params,
)


def test_optimal_params_match_datasketch() -> None:
    datasketch_lsh = pytest.importorskip("datasketch.lsh")
    for threshold, perms in ((0.7, 256), (0.8, 128), (0.5, 64)):
        assert optimal_params(threshold, perms) == datasketch_lsh._optimal_param(threshold, perms, 0.5, 0.5)
    bands, rows = optimal_params(0.7, 256)
    assert candidate_probability(0.9, bands, rows) > 0.99
    assert candidate_probability(0.4, bands, rows) < 0.01


def test_candidate_pairs_from_shared_bands() -> None:
    rng = np.random.default_rng(0)
    sig = rng.integers(0, 2**32, size=(5, 8), dtype=np.uint64).astype(np.uint32)
    sig[3, :4] = sig[0, :4]  # shares band 0 (rows 0-3) with row 0
    sig[4, 4:] = sig[3, 4:]  # shares band 1 with row 3
    pairs = candidate_pairs(band_keys(sig, bands=2, rows=4))
    assert pairs.tolist() == [[0, 3], [3, 4]]
    labels = components(5, pairs)
    assert labels[0] == labels[3] == labels[4] and len({labels[0], labels[1], labels[2]}) == 3


def test_same_values_in_different_bands_do_not_collide() -> None:
    sig = np.array([[1, 2, 3, 4], [3, 4, 1, 2]], dtype=np.uint32)
    assert len(candidate_pairs(band_keys(sig, bands=2, rows=2))) == 0


def test_keep_policy_votes_then_length_then_order() -> None:
    groups = np.array([0, 0, 0, 1, 1, 2, 2])
    votes = np.array([5, 9, 9, np.nan, 1, np.nan, np.nan])
    lengths = np.array([100, 10, 50, 500, 1, 7, 7])
    kept = choose_kept(groups, votes, lengths)
    assert kept.tolist() == [2, 2, 2, 4, 4, 5, 5]
