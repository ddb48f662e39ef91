"""pandas input: feature names checked as scikit-learn does, a Series as the target."""

import numpy as np
import pandas as pd
import pytest

from sksnapshot import SnapshotEnsembleClassifier, SnapshotEnsembleRegressor

PARAMS = dict(hidden_layer_sizes=(4,), n_cycles=2, epochs=4, random_state=0)
NAMES_MISMATCH = "The feature names should match those that were passed during fit"


@pytest.fixture(scope="module")
def data(blobs):
    X, y = blobs
    frame = pd.DataFrame(X, columns=["width", "height"])
    # A shuffled index: the rows of y go with the rows of X by position, as in scikit-learn.
    index = np.random.RandomState(0).permutation(len(y)) + 1000
    frame.index = index
    labels = pd.Series(np.array(["ant", "bee", "cat"])[y], index=index, name="animal")
    return frame, labels


@pytest.fixture(
    scope="module",
    params=[SnapshotEnsembleClassifier, SnapshotEnsembleRegressor],
    ids=["classifier", "regressor"],
)
def fitted(request, data):
    frame, labels = data
    if request.param is SnapshotEnsembleRegressor:
        target = pd.Series(frame["width"].to_numpy() / 10, index=frame.index)
        return request.param(**PARAMS, max_learning_rate=0.01).fit(frame, target)
    return request.param(**PARAMS).fit(frame, labels)


def test_prediction_needs_the_columns_of_fit_by_name_and_order(fitted, data):
    frame, _ = data
    np.testing.assert_array_equal(fitted.feature_names_in_, ["width", "height"])
    fitted.predict(frame)
    renamed = frame.rename(columns={"width": "depth"})
    with pytest.raises(ValueError, match=f"(?s){NAMES_MISMATCH}.*unseen at fit time:\n- depth"):
        fitted.predict(renamed)
    with pytest.raises(ValueError, match=f"(?s){NAMES_MISMATCH}.*must be in the same order"):
        fitted.predict(frame[["height", "width"]])
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        fitted.predict(frame.to_numpy())


def test_a_series_of_strings_as_y_keeps_its_labels(data):
    frame, labels = data
    clf = SnapshotEnsembleClassifier(**{**PARAMS, "epochs": 12}).fit(frame, labels)
    np.testing.assert_array_equal(clf.classes_, ["ant", "bee", "cat"])
    predicted = clf.predict(frame)
    assert isinstance(predicted, np.ndarray) and predicted.shape == (len(frame),)
    assert set(predicted.tolist()) <= {"ant", "bee", "cat"}
    # The same fit as on plain arrays: y is matched to X by position, not by index.
    plain = SnapshotEnsembleClassifier(**{**PARAMS, "epochs": 12})
    plain.fit(frame.to_numpy(), labels.to_numpy())
    np.testing.assert_array_equal(clf.predict_proba(frame), plain.predict_proba(frame.to_numpy()))
    assert np.mean(predicted == labels.to_numpy()) > 0.9


def test_a_series_as_the_regression_target(data):
    frame, _ = data
    target = pd.Series(frame["width"].to_numpy() / 10, index=frame.index)
    reg = SnapshotEnsembleRegressor(**PARAMS, max_learning_rate=0.01).fit(frame, target)
    assert reg.predict(frame).shape == (len(frame),)
    plain = SnapshotEnsembleRegressor(**PARAMS, max_learning_rate=0.01).fit(
        frame.to_numpy(), target.to_numpy()
    )
    np.testing.assert_array_equal(reg.predict(frame), plain.predict(frame.to_numpy()))
