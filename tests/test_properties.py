"""Property-based tests: any data either fits and predicts correctly or gets a clear error.

Never a raw TensorFlow/Keras failure: every error must be raised by sksnapshot,
scikit-learn, scikeras or numpy code, as a ValueError or TypeError (or our
FloatingPointError for a diverged run), with a message that is not TensorFlow's.
On well-formed data (finite floats of moderate scale, at least 2 rows of each of at
least 2 classes) no error at all is accepted: such data must fit and predict.
"""

import os
import tempfile
import traceback
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.extra import numpy as hnp

from sksnapshot import SnapshotEnsembleClassifier

# Hypothesis keeps caches in ./.hypothesis; tests write nothing to the working directory.
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "sksnapshot-hypothesis"))

PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    database=None,  # nothing written to the working directory
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CLEAR_ERRORS = (ValueError, TypeError, FloatingPointError)
FOREIGN = ("/tensorflow/", "/keras/", "/tf_keras/")
OVERFLOW = "float32 activations overflowed"

X_DTYPES = ["float32", "float64", "float16", "int8", "int64", "uint8", "bool", "object", "str"]
LABEL_KINDS = {
    "int": st.integers(-1000, 1000),
    "negative int": st.integers(-5, -1),
    "str": st.text(alphabet="abcxyz", min_size=1, max_size=3),
    "bool": st.booleans(),
    "integral float": st.integers(-3, 3).map(float),
}


def _elements(dtype, allow_nan):
    if dtype in ("float32", "float64", "float16"):
        finite = hnp.from_dtype(
            np.dtype(dtype), min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False
        )
        return finite | st.sampled_from([np.nan, np.inf]) if allow_nan else finite
    if dtype == "bool":
        return st.booleans()
    if dtype == "object":
        return st.one_of(st.floats(-10, 10), st.integers(-10, 10), st.text(max_size=2))
    if dtype == "str":
        return st.text(alphabet="0123456789.ab", min_size=1, max_size=3)
    return hnp.from_dtype(np.dtype(dtype))


@st.composite
def datasets(draw):
    n_rows = draw(st.integers(1, 24))
    n_features = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from(X_DTYPES))
    allow_nan = draw(st.booleans()) and draw(st.booleans())  # rarely
    X = draw(
        hnp.arrays(
            dtype=object if dtype == "object" else dtype,
            shape=(n_rows, n_features),
            elements=_elements(dtype, allow_nan),
        )
    )
    kind = draw(st.sampled_from(sorted(LABEL_KINDS)))
    n_classes = draw(st.sampled_from([1, 2, 2, 3, 4]))  # mostly learnable problems
    labels = draw(st.lists(LABEL_KINDS[kind], min_size=n_classes, max_size=n_classes, unique=True))
    y = draw(st.lists(st.sampled_from(labels), min_size=n_rows, max_size=n_rows))
    y[: len(labels)] = labels[: len(y)]  # every label present, when there are enough rows
    y = np.array(y)
    if kind == "str" and draw(st.booleans()):
        y = y.astype(object)
    return X, y


def _assert_clear(error):
    assert isinstance(error, CLEAR_ERRORS), f"{type(error).__module__}.{type(error).__name__}"
    assert not type(error).__module__.startswith(("tensorflow", "keras"))
    raised_in = traceback.extract_tb(error.__traceback__)[-1].filename
    assert not any(part in raised_in for part in FOREIGN), f"raised in {raised_in}: {error}"
    assert "tensorflow" not in str(error).lower()
    assert str(error).strip()


def _assert_correct(clf, X, y):
    classes = np.unique(y)
    np.testing.assert_array_equal(clf.classes_, classes)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), len(classes))
    assert np.all(np.isfinite(proba)) and np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    predicted = clf.predict(X)
    assert predicted.shape == (len(X),)
    assert set(predicted.tolist()) <= set(classes.tolist())
    np.testing.assert_array_equal(predicted, clf.classes_[np.argmax(proba, axis=1)])


def _fit(X, y):
    clf = SnapshotEnsembleClassifier(hidden_layer_sizes=(3,), n_cycles=2, epochs=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a diverged run's ConvergenceWarning is fine
        return clf.fit(X, y)


@PROPERTY_SETTINGS
@given(data=datasets())
def test_fit_and_predict_succeed_or_fail_clearly(data):
    X, y = data
    try:
        clf = _fit(X, y)
    except CLEAR_ERRORS as error:
        event(f"refused: {type(error).__name__}: {str(error)[:40]}")
        _assert_clear(error)
        return
    except Exception as error:  # noqa: BLE001 - the property: nothing else escapes
        pytest.fail(f"unclear {type(error).__module__}.{type(error).__name__}: {error}")
    event("fitted")
    try:
        _assert_correct(clf, X, y)
    except CLEAR_ERRORS as error:
        # Only one refusal is allowed on data that fitted: unscaled inputs (of order
        # 1e14) whose float32 activations overflow.
        event(f"prediction refused: {type(error).__name__}: {str(error)[:40]}")
        _assert_clear(error)
        assert isinstance(error, FloatingPointError) and OVERFLOW in str(error), str(error)


@st.composite
def well_formed_datasets(draw):
    """Finite floats of moderate scale, 2 to 4 classes of at least 2 rows each."""
    n_classes = draw(st.integers(2, 4))
    counts = draw(st.lists(st.integers(2, 6), min_size=n_classes, max_size=n_classes))
    n_features = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from(["float32", "float64"]))
    X = draw(
        hnp.arrays(
            dtype=dtype,
            shape=(sum(counts), n_features),
            elements=st.floats(-10, 10, width=32),
        )
    )
    kind = draw(st.sampled_from(["int", "negative int", "str"]))
    labels = draw(st.lists(LABEL_KINDS[kind], min_size=n_classes, max_size=n_classes, unique=True))
    y = np.repeat(np.array(labels), counts)
    order = draw(st.permutations(range(len(y))))
    return X, y[list(order)]


@settings(PROPERTY_SETTINGS, max_examples=12)
@given(data=well_formed_datasets())
def test_well_formed_data_always_fits_and_predicts(data):
    """No exception at all is accepted here: not even a clear one."""
    X, y = data
    clf = SnapshotEnsembleClassifier(hidden_layer_sizes=(3,), n_cycles=2, epochs=2)
    clf.fit(X, y)
    assert len(clf.snapshots_) == 2
    _assert_correct(clf, X, y)
    members = clf.member_predict_proba(X)  # every (snapshot, network) pair: 2 x 4 default
    assert members.shape == (2 * 4, len(X), len(np.unique(y)))
    np.testing.assert_allclose(members.sum(axis=2), 1.0, atol=1e-6)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.RandomState(0)
    X = rng.rand(30, 3)
    return SnapshotEnsembleClassifier(
        hidden_layer_sizes=(3,), n_cycles=2, epochs=2, random_state=0
    ).fit(X, np.array(["a", "b", "c"])[rng.randint(3, size=30)])


@PROPERTY_SETTINGS
@given(
    X=st.sampled_from([0, 1, 2, 3, 3, 3, 4]).flatmap(
        lambda n_features: hnp.arrays(
            dtype=st.sampled_from(["float32", "float64", "int64", "bool"]),
            shape=st.tuples(st.integers(0, 20), st.just(n_features)),
        )
    )
)
def test_prediction_on_any_array_succeeds_or_fails_clearly(fitted, X):
    try:
        proba = fitted.predict_proba(X)
        predicted = fitted.predict(X)
    except CLEAR_ERRORS as error:
        _assert_clear(error)
        return
    assert X.shape[1] == 3 and len(X) > 0
    assert proba.shape == (len(X), 3)
    assert set(predicted.tolist()) <= {"a", "b", "c"}
