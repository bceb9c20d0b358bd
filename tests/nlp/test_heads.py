"""Linear heads: profiles (general, brand = general + domain delta, source profiles) survive save and load."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from pipelines.nlp.heads import HeadStack, LinearHead
from pipelines.nlp.selection import augment, offsets_by_cv, split_augmented


def _head(rng: np.random.Generator, n: int = 40, k: int = 1) -> LinearHead:
    coef = rng.normal(size=(n, k)).astype(np.float32)
    coef[::3] = 0  # some rows are stored sparsely
    one = np.ones(k, dtype=np.float32)
    return LinearHead("offensive", "it", "binary", ("not", "offensive"), coef, 0.1 * one, one, 0 * one, 0.5 * one, {"hash_bits": 5})


def test_profiles_round_trip_through_the_npz(tmp_path):
    rng = np.random.default_rng(3)
    head = _head(rng)
    head.domain_delta = rng.normal(size=head.coef.shape).astype(np.float32)
    head.domain_intercept = np.array([0.7], dtype=np.float32)
    head.source_deltas = {"hodi_it": (rng.normal(size=head.coef.shape).astype(np.float32), np.array([-0.4], dtype=np.float32))}
    head.save(tmp_path / "offensive.npz")
    back = LinearHead.load(tmp_path / "offensive.npz")
    assert back.profiles == ("brand", "general", "hodi_it")
    for profile in back.profiles:
        assert np.allclose(back.weights(profile), head.weights(profile), atol=2e-3)  # stored as float16
        assert np.allclose(back.bias(profile), head.bias(profile))
    assert back.bias("brand")[0] == pytest.approx(0.8) and back.bias("hodi_it")[0] == pytest.approx(-0.3)
    assert back.bias("general")[0] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="unknown profile 'haspeede3_it'"):
        back.weights("haspeede3_it")


def test_stack_scores_with_the_profile_bias():
    rng = np.random.default_rng(4)
    head = _head(rng)
    head.domain_delta = np.zeros_like(head.coef)
    head.domain_intercept = np.array([2.0], dtype=np.float32)
    x = sp.csr_matrix(rng.random((3, head.coef.shape[0])).astype(np.float32))
    general = x @ head.coef + head.intercept
    brand = HeadStack([head], "brand").scores(x)["offensive"]
    assert np.allclose(brand, general + 2.0, atol=1e-5)


def test_augment_and_split_give_back_shared_and_group_weights():
    x = sp.csr_matrix(np.eye(4, dtype=np.float32))
    out = augment(x, [np.array([0, 1]), np.array([3])])
    assert out.shape == (4, 3 * 4 + 2)
    dense = out.toarray()
    assert dense[0, 4 + 0] == 1 and dense[2, 4 + 2] == 0 and dense[3, 8 + 3] == 1  # group copies only on their rows
    assert dense[:, 12].tolist() == [1, 1, 0, 0] and dense[:, 13].tolist() == [0, 0, 0, 1]  # intercept indicators
    coef = np.arange(14, dtype=float).reshape(14, 1)
    shared, groups = split_augmented(coef, 2)
    assert shared.ravel().tolist() == [0, 1, 2, 3]
    assert groups[0][0].ravel().tolist() == [4, 5, 6, 7] and groups[0][1].tolist() == [12]
    assert groups[1][0].ravel().tolist() == [8, 9, 10, 11] and groups[1][1].tolist() == [13]


def test_class_shifts_repair_a_biased_arg_max_and_are_checked_by_nested_cv():
    rng = np.random.default_rng(5)
    y = np.array(["neg"] * 120 + ["neu"] * 60 + ["pos"] * 60)
    centres = {"neg": [1.0, 0.0, 0.0], "neu": [0.0, 1.0, 0.0], "pos": [0.0, 0.0, 1.0]}
    logits = np.array([centres[c] for c in y]) + rng.normal(scale=0.6, size=(len(y), 3))
    logits[:, 0] += 0.8  # the model over-predicts "neg"
    shift, plain, nested = offsets_by_cv(y, logits, ("neg", "neu", "pos"), folds=5, seed=1)
    assert shift[0] == 0 and shift[1] > 0.3 and shift[2] > 0.3
    assert nested > plain + 0.02
