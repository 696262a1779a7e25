"""Multinomial logistic regression over a sparse and a dense feature block, fitted with L-BFGS,
and the rows it reads: a Rasa message's sentence features.

    sparse, dense = sentence_features(message)     # the message's TEXT sentence features
    model = fit_softmax(sparse, dense, labels, C=10.0)
    model.predict_proba(sparse_rows, dense_rows)   -> (n, classes) probabilities

The model. The objective is scikit-learn's multinomial LogisticRegression (lbfgs): the
(weighted) sum of the cross-entropy plus 1/(2C) times the squared L2 norm of the weights, the
intercept not penalised, with the same stopping rule (projected gradient below `tol`). The two
blocks are kept apart so the dense one (sentence embeddings, every entry non-zero) is multiplied
with BLAS rather than as a sparse matrix. On 6,800 of this project's examples (32,000
sparse + 384 dense features, 31 classes) it reached the same optimum as scikit-learn in
half the time (84 s against 171 s on a loaded machine); tests/nlu/test_linear.py compares
the two. The minimiser is a plain L-BFGS (`minimize_lbfgs`), stopping as L-BFGS-B does:
scipy's L-BFGS-B spent as long on its own bookkeeping over the million weights (bounds it
does not need) as on the loss and gradient. The sparse products, most of a fit's time, run on
every core the process may use (`fit_threads`), each thread on its own band of rows: scipy's
sparse products release the GIL, and a band's rows are computed exactly as in one product, so
the fitted model is bit-identical whatever the thread count.

The rows. Sparse sentence features (e.g. CountVectorsFeaturizer counts) are joined side by
side, as Rasa combines them (`sparse_rows`), and reweighted with a sublinear TF-IDF (`tfidf`);
each dense sentence feature (e.g. each encoder's vector from
nlu.featurizers.SentenceEmbeddingFeaturizer) is scaled to unit length on its own (`unit`).
nlu.classifiers.LinearIntentClassifier assembles its input with these.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message

# --- the model -------------------------------------------------------------------------------

MEMORY = 10  # L-BFGS's remembered steps, as scipy's L-BFGS-B
FTOL = 2.220446049250313e-09  # L-BFGS-B's default relative decrease (factr 1e7 times eps)
ARMIJO = 1e-4  # sufficient decrease of the line search
BACKTRACK = 0.5
MAX_BACKTRACKS = 50  # as L-BFGS-B's maxls
CURVATURE_EPS = 1e-10  # a step pair is remembered only with positive curvature
FLAT_STEPS = 2  # full steps in a row that decrease the loss by at most ftol: converged
MAX_FIT_THREADS = 4  # more bands than this gain little over a few thousand rows


def fit_threads() -> int:
    """The threads a fit multiplies its sparse block on: the cores this process may use."""
    return max(1, min(MAX_FIT_THREADS, len(os.sched_getaffinity(0))))


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
    threads: int | None = None,
) -> SoftmaxRegression:
    """Fit the multinomial logistic regression; `class_weight="balanced"` as in scikit-learn.
    `threads` (default `fit_threads()`) changes the time only, never the result."""
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
    workers = fit_threads() if threads is None else threads
    if workers < 1:
        raise FitError(f"threads must be at least 1, got {threads!r}")
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
        if banded is not None:
            scores += banded.times(ws)
        if xd is not None:
            scores += xd @ wd
        top = scores.max(axis=1, keepdims=True)
        log_norm = top[:, 0] + np.log(np.exp(scores - top).sum(axis=1))
        loss = float(weights @ (log_norm - scores[np.arange(rows), y]))
        loss += 0.5 * alpha * float(theta[:split_dense] @ theta[:split_dense])
        residual = np.exp(scores - log_norm[:, None]) - onehot
        residual *= weights[:, None]
        grad = np.empty_like(theta)
        if banded_t is not None:
            grad[:split] = banded_t.times(residual).ravel() + alpha * theta[:split]
        if xd is not None:
            grad[split:split_dense] = (xd.T @ residual).ravel() + alpha * theta[split:split_dense]
        grad[split_dense:] = residual.sum(axis=0)
        return loss, grad

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fit") as pool:
        banded = _Banded(xs, pool, workers) if xs is not None else None
        banded_t = _Banded(xs.T.tocsr(), pool, workers) if xs is not None else None
        theta, iterations = minimize_lbfgs(loss_and_grad, np.zeros(split_dense + k),
                                           max_iter=max_iter, gtol=tol)
    return SoftmaxRegression(
        classes_=classes,
        sparse_coef=theta[:split].reshape(n_sparse, k).copy(),
        dense_coef=theta[split:split_dense].reshape(n_dense, k).copy(),
        intercept=theta[split_dense:].copy(),
        n_iter=iterations,
    )


class _Banded:
    """A CSR matrix cut into bands of rows with about the same number of entries; `times`
    multiplies each band on its own thread into its rows of the product."""

    def __init__(self, matrix: scipy.sparse.csr_matrix, pool: ThreadPoolExecutor,
                 bands: int) -> None:
        self.shape = matrix.shape
        self.pool = pool
        cuts = np.searchsorted(matrix.indptr, np.linspace(0, matrix.nnz, bands + 1)[1:-1])
        edges = [0, *sorted({int(cut) for cut in cuts} - {0, matrix.shape[0]}), matrix.shape[0]]
        self.bands = [(start, stop, matrix[start:stop])
                      for start, stop in zip(edges, edges[1:], strict=False) if stop > start]

    def times(self, dense: np.ndarray) -> np.ndarray:
        out = np.empty((self.shape[0], dense.shape[1]))

        def band(part: tuple[int, int, scipy.sparse.csr_matrix]) -> None:
            start, stop, rows = part
            out[start:stop] = rows @ dense

        if len(self.bands) == 1:
            band(self.bands[0])  # on this thread: one band needs no hand-over
        else:
            list(self.pool.map(band, self.bands))
        return out


def minimize_lbfgs(
    loss_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    start: np.ndarray,
    *,
    max_iter: int,
    gtol: float,
    ftol: float = FTOL,
    memory: int = MEMORY,
) -> tuple[np.ndarray, int]:
    """Minimise a smooth function from `start` by L-BFGS: the point and the iterations taken.

    It stops when the largest gradient entry is at most `gtol` (L-BFGS-B's rule), after
    `max_iter` iterations, or when two full steps in a row decreased the loss by a relative
    `ftol` or less (L-BFGS-B stops at the first such step; a backtracked step's small decrease
    says more about the line search than about the optimum). The step is the usual two-loop
    recursion over the last `memory` steps, scaled by the last curvature, with a backtracking
    (Armijo) line search that tries the full step first. Without bounds this is L-BFGS-B's
    method with a simpler line search and much less bookkeeping per iteration."""
    x = np.array(start, dtype=np.float64)
    loss, grad = loss_and_grad(x)
    steps: list[np.ndarray] = []
    changes: list[np.ndarray] = []
    rhos: list[float] = []
    iterations = 0
    small = 0
    while iterations < max_iter and np.abs(grad).max() > gtol:
        direction = _two_loop(grad, steps, changes, rhos)
        slope = float(grad @ direction)
        if slope >= 0:  # not a descent direction (numerical trouble): restart from the gradient
            steps.clear()
            changes.clear()
            rhos.clear()
            direction = -grad / max(float(np.linalg.norm(grad)), 1.0)
            slope = float(grad @ direction)
        size = 1.0
        for _ in range(MAX_BACKTRACKS):
            candidate = x + size * direction
            new_loss, new_grad = loss_and_grad(candidate)
            if new_loss <= loss + ARMIJO * size * slope:
                break
            size *= BACKTRACK
        else:
            break  # no decrease along the direction: as good as it gets
        iterations += 1
        step = candidate - x
        change = new_grad - grad
        curvature = float(step @ change)
        if curvature > CURVATURE_EPS * float(change @ change):
            if len(steps) == memory:
                del steps[0], changes[0], rhos[0]
            steps.append(step)
            changes.append(change)
            rhos.append(1.0 / curvature)
        decrease = (loss - new_loss) / max(abs(loss), abs(new_loss), 1.0)
        x, loss, grad = candidate, new_loss, new_grad
        small = small + 1 if decrease <= ftol and size == 1.0 else 0
        if small == FLAT_STEPS:
            break
    return x, iterations


def _two_loop(grad: np.ndarray, steps: list[np.ndarray], changes: list[np.ndarray],
              rhos: list[float]) -> np.ndarray:
    """The L-BFGS direction: minus the inverse-Hessian estimate times the gradient."""
    q = grad.copy()
    alphas = []
    for step, change, rho in zip(reversed(steps), reversed(changes), reversed(rhos), strict=True):
        alpha = rho * float(step @ q)
        q -= alpha * change
        alphas.append(alpha)
    if steps:
        q *= float(steps[-1] @ changes[-1]) / float(changes[-1] @ changes[-1])
    else:  # the first step: the gradient, at most unit length
        q /= max(float(np.linalg.norm(grad)), 1.0)
    for step, change, rho, alpha in zip(steps, changes, rhos, reversed(alphas), strict=True):
        beta = rho * float(change @ q)
        q += (alpha - beta) * step
    return -q


# --- the rows: a message's sentence features -------------------------------------------------

def sentence_features(message: Message) -> tuple[list[Any], list[np.ndarray]]:
    """The message's sparse (scipy) and dense sentence features of TEXT, in pipeline order."""
    sparse: list[Any] = []
    dense: list[np.ndarray] = []
    for feature in message.features:
        if feature.attribute != TEXT or feature.type != FEATURE_TYPE_SENTENCE:
            continue
        if feature.is_sparse():
            sparse.append(feature.features)
        else:
            dense.append(np.asarray(feature.features, dtype=np.float32).reshape(-1))
    return sparse, dense


def sparse_rows(rows: list[list[Any]], width: int) -> scipy.sparse.csr_matrix:
    """One CSR row per message: its sparse sentence features side by side (as Rasa combines
    them); a message whose features do not add up to `width` gets an empty row."""
    indptr = [0]
    indices: list[np.ndarray] = []
    data: list[np.ndarray] = []
    for parts in rows:
        offset = 0
        row_indices: list[np.ndarray] = []
        row_data: list[np.ndarray] = []
        for part in parts:
            coo = part.tocoo()
            row_indices.append(coo.col.astype(np.int64) + offset)
            row_data.append(coo.data.astype(np.float64))
            offset += coo.shape[1]
        if offset == width and row_indices:
            indices += row_indices
            data += row_data
            indptr.append(indptr[-1] + sum(len(i) for i in row_indices))
        else:
            indptr.append(indptr[-1])
    matrix = scipy.sparse.csr_matrix(
        (
            np.concatenate(data) if data else np.zeros(0),
            np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64),
            np.asarray(indptr, dtype=np.int64),
        ),
        shape=(len(rows), width),
    )
    matrix.sum_duplicates()
    matrix.eliminate_zeros()  # stored zeros would become log(0) in tfidf
    return matrix


def tfidf(matrix: scipy.sparse.csr_matrix, idf: np.ndarray) -> scipy.sparse.csr_matrix:
    """scikit-learn's TfidfTransformer(sublinear_tf=True).transform, without its overhead:
    1 + log(tf), times idf, rows scaled to unit length."""
    out = matrix.copy()
    np.log(out.data, out.data)
    out.data += 1.0
    out.data *= idf[out.indices]
    norms = np.sqrt(np.asarray(out.multiply(out).sum(axis=1)).ravel())
    norms[norms == 0.0] = 1.0
    out.data /= np.repeat(norms, np.diff(out.indptr))
    return out


def unit(vector: np.ndarray) -> np.ndarray:
    """The vector scaled to unit length; an all-zero vector (no features) stays zero."""
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0.0 else vector
