"""Every kind of bad input gets an error (or warning) whose message names the problem.

Parameter errors (max_learning_rate <= 0, min > max, unknown lr_update, ...), one class,
multi-output targets and a column y are covered in ``test_classifier.py``.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from sksnapshot import SnapshotEnsembleClassifier

TINY = dict(hidden_layer_sizes=(4,), n_cycles=2, epochs=4, random_state=0)


def _data():
    rng = np.random.RandomState(0)
    X = rng.rand(40, 3).astype(np.float32)
    return X, (X[:, 0] > 0.5).astype(int)


def _with(X, row, col, value):
    X = X.astype(np.float64)
    X[row, col] = value
    return X


X, Y = _data()

FIT_CASES = {
    "NaN in X": (
        lambda: (_with(X, 3, 1, np.nan), Y),
        ValueError,
        "Input X contains NaN",
    ),
    "inf in X": (
        lambda: (_with(X, 3, 1, np.inf), Y),
        ValueError,
        "Input X contains infinity",
    ),
    "value too large for float32 in X": (
        lambda: (_with(X, 3, 1, 1e300), Y),
        ValueError,
        "infinity or a value too large for dtype",
    ),
    "1-D X": (lambda: (X[:, 0], Y), ValueError, "Expected 2D array, got 1D array"),
    "3-D X": (lambda: (X.reshape(40, 3, 1), Y), ValueError, "Found array with dim 3"),
    "empty X": (lambda: (X[:0], Y[:0]), ValueError, r"Found array with 0 sample\(s\)"),
    "X without features": (lambda: (X[:, :0], Y), ValueError, r"0 feature\(s\)"),
    "X and y of different lengths": (
        lambda: (X, Y[:-1]),
        ValueError,
        r"inconsistent numbers of samples: \[40, 39\]",
    ),
    "strings in X": (
        lambda: (np.where(X > 0.5, "high", "low"), Y),
        ValueError,
        r"needs numeric X, but X has dtype <U4 .*could not convert string to float: "
        r".*OneHotEncoder",
    ),
    "objects in X": (
        lambda: (np.array([[1.0, "a", None]] * 40, dtype=object), Y),
        ValueError,
        r"needs numeric X, but X has dtype object",
    ),
    "a dict in X": (
        lambda: (np.array([[1.0, {"a": 1}]] * 40, dtype=object), Y),
        TypeError,
        r"needs numeric X, but X has dtype object \(float\(\) argument must be a string or a "
        r"real number, not 'dict'\)",
    ),
    "complex X": (lambda: (X + 1j, Y), ValueError, "Complex data not supported"),
    "sparse X": (
        lambda: (sparse.csr_matrix(X), Y),
        TypeError,
        "Sparse data was passed for X, but dense data is required",
    ),
    "NaN in y": (
        lambda: (X, np.where(Y == 1, np.nan, 0.0)),
        ValueError,
        "Input y contains NaN",
    ),
    "y is None": (lambda: (X, None), ValueError, "requires y to be passed, but the target y"),
    "labels mixing strings and numbers": (
        lambda: (X, np.array(["a", 1] * 20, dtype=object)),
        ValueError,
        r"needs class labels of one kind, but y mixes strings and other values "
        r"\(e.g. 'a' and 1\)",
    ),
    "continuous y": (
        lambda: (X, np.linspace(0, 1, 40)),
        ValueError,
        "Unknown label type: continuous",
    ),
    "multi-output y": (
        lambda: (X, np.column_stack([Y, Y])),
        ValueError,
        r"does not support multi-output or multilabel targets: y has shape \(40, 2\)",
    ),
    "one class": (lambda: (X, np.ones(40, int)), ValueError, "contains only one class: 1."),
    "one class of strings": (
        lambda: (X, np.full(40, "spam", dtype=object)),
        ValueError,
        "contains only one class: 'spam'",
    ),
}


@pytest.mark.parametrize("case", list(FIT_CASES))
def test_bad_training_data(case):
    make, error, match = FIT_CASES[case]
    X_bad, y_bad = make()
    with pytest.raises(error, match=match):
        SnapshotEnsembleClassifier(**TINY).fit(X_bad, y_bad)


def test_dataframe_columns_that_are_not_numeric_are_named():
    frame = pd.DataFrame({"size": X[:, 0], "colour": np.where(Y == 1, "red", "blue")})
    with pytest.raises(ValueError, match=r"the columns \['colour'\] of X are not numeric"):
        SnapshotEnsembleClassifier(**TINY).fit(frame, Y)


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        (np.ones(3), r"sample_weight.shape == \(3,\), expected \(40,\)"),
        (np.full(40, np.nan), "Input sample_weight contains NaN"),
        (np.zeros(40), "Sample weights must contain at least one non-zero number"),
    ],
)
def test_bad_sample_weight(sample_weight, match):
    with pytest.raises(ValueError, match=match):
        SnapshotEnsembleClassifier(**TINY).fit(X, Y, sample_weight=sample_weight)


@pytest.fixture(scope="module")
def fitted():
    return SnapshotEnsembleClassifier(**TINY).fit(X, Y)


PREDICT_CASES = {
    "wrong number of features": (
        lambda: X[:, :2],
        ValueError,
        "X has 2 features, but SnapshotEnsembleClassifier is expecting 3 features as input",
    ),
    "NaN in X": (lambda: _with(X, 0, 0, np.nan), ValueError, "Input X contains NaN"),
    "inf in X": (lambda: _with(X, 0, 0, -np.inf), ValueError, "Input X contains infinity"),
    "1-D X": (lambda: X[0], ValueError, "Expected 2D array, got 1D array"),
    "empty X": (lambda: X[:0], ValueError, r"Found array with 0 sample\(s\)"),
    "strings in X": (
        lambda: np.full((2, 3), "a"),
        ValueError,
        "needs numeric X, but X has dtype <U1",
    ),
    "sparse X": (lambda: sparse.csr_matrix(X), TypeError, "Sparse data was passed for X"),
}


@pytest.mark.parametrize("method", ["predict", "predict_proba", "member_predict_proba"])
@pytest.mark.parametrize("case", list(PREDICT_CASES))
def test_bad_prediction_data(fitted, case, method):
    make, error, match = PREDICT_CASES[case]
    with pytest.raises(error, match=match):
        getattr(fitted, method)(make())


def test_staged_prediction_checks_its_data(fitted):
    with pytest.raises(ValueError, match="X has 2 features"):
        next(fitted.staged_predict_proba(X[:, :2]))


def test_n_members_above_the_number_of_snapshots(fitted):
    clf = SnapshotEnsembleClassifier(**{**TINY, "n_members": 3}).fit(X, Y)
    with pytest.raises(ValueError, match=r"n_members=3 but only 2 snapshots were taken"):
        clf.predict(X)
    # Nothing to retrain: lowering n_members is enough.
    assert clf.set_params(n_members=2).predict(X).shape == (40,)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_cycles": 9, "epochs": 4}, r"n_cycles=9 is larger than the number of training steps"),
        ({"n_cycles": 5, "lr_update": "epoch"}, r"n_cycles=5 is larger than the number of epochs"),
        ({"n_members": 0}, "The 'n_members' parameter"),
        ({"n_members": 0.0}, "The 'n_members' parameter"),
        ({"n_members": 1.5}, "The 'n_members' parameter"),
        ({"epochs": 0}, "The 'epochs' parameter"),
        ({"batch_size": 0}, "The 'batch_size' parameter"),
        ({"momentum": 1.5}, "The 'momentum' parameter"),
        ({"validation_split": 1.0}, "The 'validation_split' parameter"),
        ({"validation_split": 0.99}, r"validation_split=0.99 leaves 0 of 40 rows"),
        ({"min_learning_rate": -0.1}, "The 'min_learning_rate' parameter"),
        ({"max_learning_rate": float("nan")}, "The 'max_learning_rate' parameter"),
        ({"model": "mlp"}, "model must be None"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        SnapshotEnsembleClassifier(**{**TINY, **params}).fit(X, Y)
