"""nlu.linear: the same optimum as scikit-learn's multinomial LogisticRegression, and errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.sparse
from sklearn.linear_model import LogisticRegression

from nlu.linear import FitError, _Banded, fit_softmax, minimize_lbfgs


def _data(seed: int = 0) -> tuple[scipy.sparse.csr_matrix, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.array(["a", "b", "c", "d"], dtype=object)[rng.integers(0, 4, 300)]
    labels[:5] = "rare"
    centres = {name: rng.normal(size=8) for name in sorted(set(labels))}  # not hash order
    dense = np.stack([centres[name] + rng.normal(scale=1.5, size=8) for name in labels])
    sparse = scipy.sparse.random(300, 40, density=0.1, format="csr", random_state=seed)
    return sparse, dense, labels


@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_same_probabilities_as_scikit_learn(class_weight: str | None) -> None:
    sparse, dense, labels = _data()
    ours = fit_softmax(sparse, dense, list(labels), C=3.0, class_weight=class_weight,
                       max_iter=2000, tol=1e-8)
    reference = LogisticRegression(C=3.0, class_weight=class_weight, max_iter=2000, tol=1e-8)
    reference.fit(scipy.sparse.hstack([sparse, scipy.sparse.csr_matrix(dense)]).tocsr(), labels)
    assert list(ours.classes_) == list(reference.classes_)
    test_sparse, test_dense, _ = _data(seed=1)
    expected = reference.predict_proba(
        scipy.sparse.hstack([test_sparse, scipy.sparse.csr_matrix(test_dense)]).tocsr()
    )
    got = ours.predict_proba(test_sparse, test_dense)
    assert np.abs(got - expected).max() < 1e-3
    # the same optimum: the objective both minimise, at each one's weights
    features = scipy.sparse.hstack([sparse, scipy.sparse.csr_matrix(dense)]).tocsr()
    y = np.searchsorted(ours.classes_, labels)
    sample = (np.ones(len(y)) if class_weight is None
              else (len(y) / (len(ours.classes_) * np.bincount(y)))[y])

    def objective(weights: np.ndarray, intercept: np.ndarray) -> float:
        scores = np.asarray(features @ weights) + intercept
        scores -= scores.max(axis=1, keepdims=True)
        log_p = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
        return float(-(sample * log_p[np.arange(len(y)), y]).sum()
                     + 0.5 / 3.0 * (weights * weights).sum())

    mine = objective(np.vstack([ours.sparse_coef, ours.dense_coef]), ours.intercept)
    theirs = objective(reference.coef_.T, reference.intercept_)
    assert abs(mine - theirs) <= 1e-6 * theirs, (mine, theirs)
    np.testing.assert_allclose(got.sum(axis=1), 1.0)


def test_balanced_weights_raise_the_rare_class() -> None:
    sparse, dense, labels = _data()
    plain = fit_softmax(sparse, dense, list(labels), C=1.0)
    balanced = fit_softmax(sparse, dense, list(labels), C=1.0, class_weight="balanced")
    rare = list(plain.classes_).index("rare")
    assert (balanced.predict_proba(sparse, dense)[:, rare].mean()
            > plain.predict_proba(sparse, dense)[:, rare].mean())


def test_one_block_alone() -> None:
    sparse, dense, labels = _data()
    dense_only = fit_softmax(None, dense, list(labels), C=1.0)
    assert dense_only.predict_proba(None, dense).shape == (300, 5)
    with pytest.raises(FitError, match="trained with dense features"):
        dense_only.predict_proba(sparse, None)
    sparse_only = fit_softmax(sparse, None, list(labels), C=1.0)
    assert sparse_only.predict_proba(sparse, None).shape == (300, 5)


@pytest.mark.parametrize("threads", [2, 3, 7])
def test_threads_change_nothing_but_the_time(threads: int) -> None:
    # bands of rows multiplied on several threads: the very same weights as on one thread
    sparse, dense, labels = _data()
    one = fit_softmax(sparse, dense, list(labels), C=3.0, threads=1)
    many = fit_softmax(sparse, dense, list(labels), C=3.0, threads=threads)
    assert one.n_iter == many.n_iter > 5
    for block in ("sparse_coef", "dense_coef", "intercept"):
        np.testing.assert_array_equal(getattr(one, block), getattr(many, block))


def test_bands_cover_every_row_once_with_even_entries() -> None:
    matrix = scipy.sparse.random(500, 60, density=0.05, format="csr", random_state=3)
    with ThreadPoolExecutor(max_workers=3) as pool:
        banded = _Banded(matrix, pool, 3)
        product = banded.times(np.arange(120, dtype=np.float64).reshape(60, 2))
    spans = [(start, stop) for start, stop, _ in banded.bands]
    assert spans[0][0] == 0 and spans[-1][1] == 500 and len(spans) == 3
    assert all(stop == start for (_, stop), (start, _) in zip(spans, spans[1:], strict=False))
    entries = [rows.nnz for _, _, rows in banded.bands]
    assert max(entries) - min(entries) <= 0.2 * matrix.nnz / 3 + 60
    np.testing.assert_array_equal(product,
                                  matrix @ np.arange(120, dtype=np.float64).reshape(60, 2))


@pytest.mark.parametrize(
    ("labels", "kwargs", "message"),
    [
        ([], {}, "no training examples"),
        (["a"] * 300, {}, "at least two classes"),
        (["a", "b"] * 150, {"class_weight": "auto"}, "class_weight must be"),
        (["a", "b"] * 150, {"C": 0.0}, "C must be positive"),
        (["a", "b"] * 10, {}, "dense features have 300 rows for 20 labels"),
        (["a", "b"] * 150, {"threads": 0}, "threads must be at least 1"),
    ],
)
def test_bad_input_is_rejected(labels: list[str], kwargs: dict[str, object], message: str
                               ) -> None:
    _, dense, _ = _data()
    with pytest.raises(FitError, match=message):
        fit_softmax(None, dense, labels, **kwargs)  # type: ignore[arg-type]


def test_lbfgs_finds_a_quadratics_minimum_and_respects_its_limits() -> None:
    rng = np.random.default_rng(3)
    basis = rng.normal(size=(30, 30))
    hessian = basis @ basis.T + 0.5 * np.eye(30)  # positive definite, badly conditioned
    target = rng.normal(size=30)

    def quadratic(x: np.ndarray) -> tuple[float, np.ndarray]:
        gap = x - target
        return 0.5 * float(gap @ hessian @ gap), hessian @ gap

    found, iterations = minimize_lbfgs(quadratic, np.zeros(30), max_iter=500, gtol=1e-8,
                                       ftol=0.0)
    np.testing.assert_allclose(found, target, atol=1e-6)
    assert 0 < iterations < 500
    _, capped = minimize_lbfgs(quadratic, np.zeros(30), max_iter=3, gtol=1e-8)
    assert capped == 3
    start, none = minimize_lbfgs(quadratic, target.copy(), max_iter=50, gtol=1e-8)
    assert none == 0 and np.array_equal(start, target)  # already at the minimum
