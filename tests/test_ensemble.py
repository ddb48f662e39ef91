"""Ensemble controls: voting, weight averaging, choosing the members, the schedule family."""

import numpy as np
import pytest
from _helpers import StepRecorder, as_probabilities, hand_member_outputs

from sksnapshot import SnapshotEnsembleClassifier, simulate_learning_rates
from sksnapshot._ensemble import average_weights, best_member_count, hard_vote, vote_fractions

# -- pure functions ------------------------------------------------------------------


def test_vote_fractions_and_hard_vote_with_a_tie():
    # Row 0: votes 2 x class 1, 1 x class 0 -> class 1 although the mean favours 0.
    # Row 1: votes 1 / 1 / 1 over three classes -> tie broken by the mean probability.
    probas = np.array(
        [
            [[0.98, 0.01, 0.01], [0.50, 0.30, 0.20]],
            [[0.40, 0.60, 0.00], [0.10, 0.60, 0.30]],
            [[0.45, 0.55, 0.00], [0.05, 0.15, 0.80]],
        ]
    )
    np.testing.assert_allclose(vote_fractions(probas), [[1 / 3, 2 / 3, 0], [1 / 3, 1 / 3, 1 / 3]])
    assert probas.mean(0)[0].argmax() == 0  # soft voting would say class 0
    # Row 1 means: [0.217, 0.35, 0.433] -> class 2 wins the tie.
    assert hard_vote(probas).tolist() == [1, 2]


def test_average_weights_is_the_elementwise_mean():
    a = [np.array([[1.0, 2.0]], dtype=np.float32), np.array([0.0], dtype=np.float32)]
    b = [np.array([[3.0, 6.0]], dtype=np.float32), np.array([1.0], dtype=np.float32)]
    mean = average_weights([a, b])
    np.testing.assert_array_equal(mean[0], [[2.0, 4.0]])
    np.testing.assert_array_equal(mean[1], [0.5])
    assert mean[0].dtype == np.float32


def test_best_member_count_prefers_more_members_on_ties():
    assert best_member_count([0.3, 0.2, 0.25]) == 2
    assert best_member_count([0.3, 0.2, 0.2]) == 3
    assert best_member_count([0.1, 0.2, 0.3]) == 1


# -- on a fitted classifier ----------------------------------------------------------


@pytest.fixture(scope="module")
def fitted(blobs):
    X, y = blobs
    params = dict(
        hidden_layer_sizes=(16,),
        n_cycles=4,
        epochs=12,
        max_learning_rate=0.1,
        n_networks=1,  # the several-network combinations: test_networks.py
        random_state=0,
    )
    return SnapshotEnsembleClassifier(**params).fit(X, y), X, y


def test_hard_voting(fitted):
    clf, X, y = fitted
    members = clf.member_predict_proba(X)
    clf.set_params(voting="hard")
    try:
        np.testing.assert_allclose(clf.predict_proba(X), vote_fractions(members))
        np.testing.assert_array_equal(clf.predict(X), clf.classes_[hard_vote(members)])
        staged = list(clf.staged_predict_proba(X))
        np.testing.assert_allclose(staged[0], vote_fractions(members[-1:]))
        np.testing.assert_allclose(staged[-1], clf.predict_proba(X))
    finally:
        clf.set_params(voting="soft")


def test_weight_averaged_network_equals_a_hand_average(fitted):
    clf, X, y = fitted
    averaged = [np.mean(layer, axis=0) for layer in zip(*clf.snapshots_, strict=True)]
    expected = as_probabilities(hand_member_outputs(clf, X, [averaged]))[0]
    clf.set_params(combine="weights")
    try:
        np.testing.assert_allclose(clf.predict_proba(X), expected, atol=1e-6)
        clf.set_params(n_members=2)
        last_two = [np.mean(layer, axis=0) for layer in zip(*clf.snapshots_[-2:], strict=True)]
        expected = as_probabilities(hand_member_outputs(clf, X, [last_two]))[0]
        np.testing.assert_allclose(clf.predict_proba(X), expected, atol=1e-6)
        staged = list(clf.staged_predict_proba(X))
        np.testing.assert_allclose(staged[1], expected, atol=1e-6)
    finally:
        clf.set_params(combine="members", n_members=None)


def test_prediction_parameters_are_checked_at_prediction(fitted):
    clf, X, _ = fitted
    clf.set_params(voting="majority")
    try:
        with pytest.raises(ValueError, match="voting"):
            clf.predict(X)
    finally:
        clf.set_params(voting="soft")


def test_n_members_auto_chooses_on_held_out_rows(blobs):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(
        hidden_layer_sizes=(16,),
        n_cycles=4,
        epochs=8,
        n_members="auto",
        n_networks=1,
        random_state=0,
    ).fit(X, y)
    assert clf.holdout_losses_.shape == (4,)
    # The held-out rows, their losses and the choice are rebuilt by hand in
    # test_n_members_auto.py; here, the plan and the prediction of the chosen members.
    # 10 % of the 300 rows are held out: 270 rows -> 9 steps per epoch.
    assert len(clf.learning_rates_) == 8 * 9
    rates, _ = clf.simulate_learning_rates(len(X))
    np.testing.assert_array_equal(rates, clf.learning_rates_)
    members = clf.member_predict_proba(X)
    np.testing.assert_allclose(clf.predict_proba(X), members[-clf.n_members_ :].mean(0), atol=1e-12)
    # Choosing "auto" after a fit with another n_members is refused at prediction.
    other = SnapshotEnsembleClassifier(hidden_layer_sizes=(4,), n_cycles=2, epochs=2).fit(X, y)
    with pytest.raises(ValueError, match="n_members='auto' is chosen during fit"):
        other.set_params(n_members="auto").predict(X)


@pytest.mark.parametrize(
    "params",
    [
        {"schedule": "triangular"},
        {"cycle_length_mult": 2.0},
        {"max_learning_rate_decay": 0.5, "lr_update": "epoch"},
        {"schedule": lambda t, T, c: 0.05 * (1 - t / T) / (c + 1)},
        {"validation_split": 0.2, "batch_size": 20},
    ],
)
def test_schedule_family_in_training(blobs, params):
    X, y = blobs[0][:100], blobs[1][:100]  # 4 steps per epoch
    recorder = StepRecorder()
    clf = SnapshotEnsembleClassifier(
        hidden_layer_sizes=(8,),
        n_cycles=3,
        epochs=14,
        max_learning_rate=0.05,
        callbacks=[recorder],
        random_state=0,
        **params,
    )
    rates, snapshot_units = clf.simulate_learning_rates(len(X))
    clf.fit(X, y)
    np.testing.assert_array_equal(clf.learning_rates_, rates)
    steps_per_unit = 4 if params.get("lr_update") == "epoch" else 1
    assert recorder.end == ((snapshot_units + 1) * steps_per_unit).tolist()
    # 100 rows in batches of 32, or 80 training rows in batches of 20: 4 steps per epoch.
    n_units = 14 if steps_per_unit == 4 else 56
    expected, ends = simulate_learning_rates(
        n_units,
        3,
        0.05,
        schedule=params.get("schedule", "cosine"),
        cycle_length_mult=params.get("cycle_length_mult", 1.0),
        max_learning_rate_decay=params.get("max_learning_rate_decay", 1.0),
    )
    np.testing.assert_array_equal(snapshot_units, ends)
    np.testing.assert_allclose(rates, expected)
    # The optimizer really used those rates at every cycle start.
    np.testing.assert_allclose(recorder.begin_rates, rates[np.r_[0, ends[:-1] + 1]], rtol=1e-6)
    assert len(clf.snapshots_) == 3
