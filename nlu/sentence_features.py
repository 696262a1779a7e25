"""A Rasa message's sentence features as rows of a linear model's input.

Sparse sentence features (e.g. CountVectorsFeaturizer counts) are joined side by side, as Rasa
combines them, and reweighted with a sublinear TF-IDF; each dense sentence feature (e.g. each
encoder's vector from nlu.featurizers.SentenceEmbeddingFeaturizer) is scaled to unit length on
its own. nlu.classifiers.LinearIntentClassifier assembles its input with these.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message


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
