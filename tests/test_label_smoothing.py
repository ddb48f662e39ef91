"""``label_smoothing``: the default loss trains towards smoothed targets.

The loss is checked against numpy and against Keras' own smoothed categorical
cross-entropy of one-hot targets; the fitted networks against the minimiser of the
smoothed loss (a network trained long on separable classes predicts the smoothed target,
not certainty).
"""

import pickle

import keras
import numpy as np
import pytest
from sklearn.datasets import make_blobs

from sksnapshot import SnapshotEnsembleClassifier, load, save
from sksnapshot._losses import SmoothedSparseCategoricalCrossentropy

#: Long enough on separable blobs to reach the loss' minimiser (about 0.01 away).
LONG = dict(hidden_layer_sizes=(16,), n_cycles=2, epochs=60, random_state=0)


def _blobs(n_classes):
    X, y = make_blobs(n_samples=120, centers=n_classes, cluster_std=0.3, random_state=0)
    X = ((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)
    return X, y


# -- the loss by hand ------------------------------------------------------------------
@pytest.mark.parametrize("eps", [0.0, 0.1, 0.35])
def test_smoothed_sparse_loss_by_hand(eps):
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(4), size=6).astype(np.float32)
    y = np.array([0, 1, 2, 3, 1, 0])
    target = np.full((6, 4), eps / 4) + (1 - eps) * np.eye(4)[y]
    expected = -(target * np.log(proba)).sum(axis=1).mean()
    loss = SmoothedSparseCategoricalCrossentropy(label_smoothing=eps)
    assert float(loss(y, proba)) == pytest.approx(expected, rel=1e-5)
    assert float(loss(y[:, None], proba)) == pytest.approx(expected, rel=1e-5)
    keras_loss = keras.losses.CategoricalCrossentropy(label_smoothing=eps)
    assert float(loss(y, proba)) == pytest.approx(float(keras_loss(np.eye(4)[y], proba)), rel=1e-5)


def test_smoothed_sparse_loss_survives_keras_serialization():
    loss = SmoothedSparseCategoricalCrossentropy(label_smoothing=0.2)
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, SmoothedSparseCategoricalCrossentropy)
    assert again.label_smoothing == 0.2


# -- what the networks learn -----------------------------------------------------------
@pytest.mark.parametrize("n_networks", [1, 2])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_networks_learn_the_smoothed_targets(n_classes, n_networks):
    # The smoothed loss is smallest at the smoothed target: 1 - eps + eps / K for the
    # true class. Without smoothing the same networks become nearly certain.
    X, y = _blobs(n_classes)
    eps = 0.3
    clf = SnapshotEnsembleClassifier(label_smoothing=eps, n_networks=n_networks, **LONG)
    top = clf.fit(X, y).predict_proba(X).max(axis=1)
    assert top.mean() == pytest.approx(1 - eps + eps / n_classes, abs=0.02)
    plain = SnapshotEnsembleClassifier(n_networks=n_networks, **LONG).fit(X, y)
    assert plain.predict_proba(X).max(axis=1).mean() > 0.97
    assert (clf.predict(X) == y).mean() == 1.0


def test_zero_smoothing_is_the_plain_loss():
    X, y = _blobs(3)
    tiny = dict(hidden_layer_sizes=(8,), n_cycles=2, epochs=4, n_networks=1, random_state=0)
    zero = SnapshotEnsembleClassifier(label_smoothing=0.0, **tiny).fit(X, y)
    plain = SnapshotEnsembleClassifier(loss="sparse_categorical_crossentropy", **tiny).fit(X, y)
    assert zero.model_.loss == "sparse_categorical_crossentropy"
    np.testing.assert_array_equal(zero.predict_proba(X), plain.predict_proba(X))


# -- errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [-0.1, 1.0, "0.1"])
def test_label_smoothing_out_of_range_is_refused(value):
    X, y = _blobs(2)
    with pytest.raises(ValueError, match="'label_smoothing' parameter"):
        SnapshotEnsembleClassifier(label_smoothing=value).fit(X, y)


@pytest.mark.parametrize(
    "own", [{"loss": "categorical_crossentropy"}, {"model": keras.Sequential}], ids=str
)
def test_label_smoothing_with_your_own_loss_or_model_is_refused(own):
    X, y = _blobs(2)
    with pytest.raises(ValueError, match=r"label_smoothing=0.1 smooths the default loss"):
        SnapshotEnsembleClassifier(label_smoothing=0.1, **own).fit(X, y)


# -- persistence and warm start ---------------------------------------------------------
@pytest.fixture(scope="module")
def smoothed():
    X, y = _blobs(3)
    tiny = dict(hidden_layer_sizes=(8,), n_cycles=2, epochs=4, random_state=0)
    return SnapshotEnsembleClassifier(label_smoothing=0.2, n_networks=2, **tiny).fit(X, y), X, y


def test_a_smoothed_estimator_pickles_and_saves(smoothed, tmp_path):
    clf, X, y = smoothed
    expected = clf.predict_proba(X)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), expected)
    save(clf, tmp_path / "clf")
    loaded = load(tmp_path / "clf")
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    assert loaded.label_smoothing == 0.2


def test_a_loaded_smoothed_estimator_trains_further_with_its_loss(smoothed, tmp_path):
    clf, X, y = smoothed
    save(clf, tmp_path / "clf")
    loaded = load(tmp_path / "clf").set_params(warm_start=True)
    before = [[np.array(w) for w in s] for s in loaded.snapshots_]
    loaded.fit(X, y)
    assert len(loaded.snapshots_) == len(before) + 2
    for kept, old in zip(loaded.snapshots_[: len(before)], before, strict=True):
        for a, b in zip(kept, old, strict=True):
            np.testing.assert_array_equal(a, b)
    one_network_loss = loaded.model_.loss.loss
    assert isinstance(one_network_loss, SmoothedSparseCategoricalCrossentropy)
    assert one_network_loss.label_smoothing == 0.2
