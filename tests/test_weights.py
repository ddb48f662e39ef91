"""What sample_weight and class_weight do, each on its own, for both estimators."""

import numpy as np
import pytest
from sklearn.datasets import make_friedman1

from sksnapshot import SnapshotEnsembleClassifier, SnapshotEnsembleRegressor

CLF = dict(hidden_layer_sizes=(8,), n_cycles=2, epochs=6, random_state=0)
REG = dict(hidden_layer_sizes=(8,), n_cycles=2, epochs=8, max_learning_rate=0.02, random_state=0)


@pytest.fixture(scope="module")
def friedman():
    X, y = make_friedman1(n_samples=200, noise=0.5, random_state=0)
    return X.astype(np.float32), (y - y.mean()) / y.std()


def _garbled(X, y, keep, y_garbage):
    """X and y whose rows outside ``keep`` hold other features and wrong targets."""
    X, y = X.copy(), y.copy()
    X[~keep] = X[~keep][::-1] + 3.0
    y[~keep] = y_garbage
    return X, y


def _assert_same_snapshots(got, want):
    assert len(got.snapshots_) == len(want.snapshots_)
    for a_snapshot, b_snapshot in zip(got.snapshots_, want.snapshots_, strict=True):
        for a, b in zip(a_snapshot, b_snapshot, strict=True):
            np.testing.assert_array_equal(a, b)


def test_classifier_rows_of_weight_zero_are_not_trained_on(blobs):
    X, y = blobs
    keep = np.random.RandomState(0).rand(len(y)) < 0.6
    X_bad, y_bad = _garbled(X, y, keep, (y[~keep] + 1) % 3)
    weighted = SnapshotEnsembleClassifier(**CLF).fit(X_bad, y_bad, sample_weight=keep * 1.0)
    # The same training as on the kept rows alone, with weights of 1 ...
    ones = SnapshotEnsembleClassifier(**CLF).fit(
        X[keep], y[keep], sample_weight=np.ones(keep.sum())
    )
    _assert_same_snapshots(weighted, ones)
    # ... and, up to float rounding, as without weights.
    plain = SnapshotEnsembleClassifier(**CLF).fit(X[keep], y[keep])
    np.testing.assert_allclose(weighted.predict_proba(X), plain.predict_proba(X), atol=1e-5)


def test_regressor_rows_of_weight_zero_are_not_trained_on(friedman):
    X, y = friedman
    keep = np.random.RandomState(0).rand(len(y)) < 0.6
    X_bad, y_bad = _garbled(X, y, keep, 10.0)
    weighted = SnapshotEnsembleRegressor(**REG).fit(X_bad, y_bad, sample_weight=keep * 1.0)
    ones = SnapshotEnsembleRegressor(**REG).fit(X[keep], y[keep], sample_weight=np.ones(keep.sum()))
    _assert_same_snapshots(weighted, ones)
    plain = SnapshotEnsembleRegressor(**REG).fit(X[keep], y[keep])
    np.testing.assert_allclose(weighted.predict(X), plain.predict(X), atol=1e-5)


def test_classifier_sample_weight_pulls_towards_the_heavy_rows(binary):
    X, y = binary
    weights = np.where(y == 1, 10.0, 1.0)
    heavy = SnapshotEnsembleClassifier(**CLF).fit(X, y, sample_weight=weights)
    plain = SnapshotEnsembleClassifier(**CLF).fit(X, y)
    assert heavy.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean() + 0.05
    assert (heavy.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()


def test_regressor_sample_weight_pulls_towards_the_heavy_rows(friedman):
    X, y = friedman
    weights = np.where(y > np.median(y), 10.0, 1.0)
    heavy = SnapshotEnsembleRegressor(**REG).fit(X, y, sample_weight=weights)
    plain = SnapshotEnsembleRegressor(**REG).fit(X, y)
    assert heavy.predict(X).mean() > plain.predict(X).mean() + 0.1


def test_class_weight_zero_drops_the_class_from_training(blobs):
    X, y = blobs
    dropped = SnapshotEnsembleClassifier(**CLF, class_weight={0: 0.0}).fit(X, y)
    # Exactly a sample weight of 0 on the class's rows ...
    masked = SnapshotEnsembleClassifier(**CLF).fit(X, y, sample_weight=(y != 0) * 1.0)
    _assert_same_snapshots(dropped, masked)
    np.testing.assert_array_equal(dropped.classes_, [0, 1, 2])
    # ... so that the class, never trained on, is not predicted even on its own rows,
    # which a fit with every class gets right.
    assert dropped.predict_proba(X[y == 0])[:, 0].max() < 0.5
    assert not np.any(dropped.predict(X) == 0)
    plain = SnapshotEnsembleClassifier(**CLF).fit(X, y)
    assert np.mean(plain.predict(X[y == 0]) == 0) > 0.9


def test_class_weight_pulls_towards_the_heavy_class(binary):
    X, y = binary
    heavy = SnapshotEnsembleClassifier(**CLF, class_weight={1: 10.0}).fit(X, y)
    weighted = SnapshotEnsembleClassifier(**CLF).fit(
        X, y, sample_weight=np.where(y == 1, 10.0, 1.0)
    )
    _assert_same_snapshots(heavy, weighted)
    plain = SnapshotEnsembleClassifier(**CLF).fit(X, y)
    assert heavy.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean() + 0.05
