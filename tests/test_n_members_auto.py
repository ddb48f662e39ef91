"""n_members="auto" against an independent computation of the held-out losses.

The held-out rows are rebuilt here from the seed, as scikit-learn's MLP does it
(``train_test_split`` with ``test_size=validation_fraction``, stratified for the
classifier, ``random_state`` the estimator's int seed), and every ensemble of the last k
snapshots is scored by hand with scikit-learn's metrics.
"""

import numpy as np
import pytest
from _helpers import hand_member_outputs
from sklearn.datasets import make_friedman1
from sklearn.metrics import log_loss, mean_squared_error
from sklearn.model_selection import train_test_split

from sksnapshot import SnapshotEnsembleClassifier, SnapshotEnsembleRegressor

SEED = 3


def _largest_best_k(losses):
    """The number of members of smallest loss; on a tie, the larger number."""
    losses = np.asarray(losses)
    return max(k for k in range(1, len(losses) + 1) if losses[k - 1] == losses.min())


def _averaged(snapshots):
    return [np.mean(layer, axis=0) for layer in zip(*snapshots, strict=True)]


def _assert_same_snapshots(got, want):
    assert len(got) == len(want)
    for a_snapshot, b_snapshot in zip(got, want, strict=True):
        for a, b in zip(a_snapshot, b_snapshot, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("combine", ["members", "weights"])
def test_classifier_auto_members_scores_the_held_out_rows(blobs, combine):
    X, y = blobs
    names = np.array(["ant", "bee", "cat"])[y]
    params = dict(
        hidden_layer_sizes=(8,),
        n_cycles=4,
        epochs=8,
        max_learning_rate=0.1,
        validation_fraction=0.2,
        combine=combine,
        n_networks=1,  # several networks: test_networks.py checks "auto" by hand
        random_state=SEED,
    )
    clf = SnapshotEnsembleClassifier(**params, n_members="auto").fit(X, names)
    X_train, X_held, y_train, y_held = train_test_split(
        X, names, test_size=0.2, stratify=names, random_state=SEED
    )
    assert len(X_held) == 60

    # Trained on the other rows only: the same snapshots as a plain fit on them.
    plain = SnapshotEnsembleClassifier(**params).fit(X_train, y_train)
    _assert_same_snapshots(clf.snapshots_, plain.snapshots_)

    n = len(clf.snapshots_)
    assert n == 4
    if combine == "members":
        members = clf.member_predict_proba(X_held)
        ensembles = [members[-k:].mean(axis=0) for k in range(1, n + 1)]
    else:
        weights = [_averaged(clf.snapshots_[-k:]) for k in range(1, n + 1)]
        ensembles = list(hand_member_outputs(clf, X_held, weights))
    expected = [log_loss(y_held, p / p.sum(axis=1, keepdims=True)) for p in ensembles]
    # The losses differ between ensembles, so scoring other rows cannot match by chance.
    assert np.ptp(expected) > 1e-3
    np.testing.assert_allclose(clf.holdout_losses_, expected, rtol=1e-4)
    assert clf.n_members_ == _largest_best_k(clf.holdout_losses_)
    assert clf.n_members_ == int(np.argmin(expected)) + 1
    np.testing.assert_allclose(
        clf.predict_proba(X_held), ensembles[clf.n_members_ - 1], rtol=1e-5, atol=1e-6
    )


def test_regressor_auto_members_scores_the_held_out_rows():
    X, y = make_friedman1(n_samples=200, noise=0.5, random_state=0)
    X = X.astype(np.float32)
    y = (y - y.mean()) / y.std()
    params = dict(
        hidden_layer_sizes=(8,),
        n_cycles=4,
        epochs=12,
        max_learning_rate=0.02,
        validation_fraction=0.25,
        random_state=SEED,
    )
    reg = SnapshotEnsembleRegressor(**params, n_members="auto").fit(X, y)
    X_train, X_held, y_train, y_held = train_test_split(X, y, test_size=0.25, random_state=SEED)
    assert len(X_held) == 50
    plain = SnapshotEnsembleRegressor(**params).fit(X_train, y_train)
    _assert_same_snapshots(reg.snapshots_, plain.snapshots_)

    members = reg.member_predict(X_held)
    n = len(reg.snapshots_)
    ensembles = [members[-k:].mean(axis=0) for k in range(1, n + 1)]
    expected = [mean_squared_error(y_held, p) for p in ensembles]
    assert np.ptp(expected) > 1e-4
    np.testing.assert_allclose(reg.holdout_losses_, expected, rtol=1e-4)
    assert reg.n_members_ == _largest_best_k(reg.holdout_losses_)
    assert reg.n_members_ == int(np.argmin(expected)) + 1
