"""Faults during training: divergence, interruption, stopping callbacks, failed fits."""

import warnings

import keras
import numpy as np
import pytest
from _helpers import PoisonWeights, StartWeights, assert_continues
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from sksnapshot import SnapshotEnsembleClassifier, SnapshotEnsembleRegressor, cycle_lengths

# blobs: 300 rows, batch 32 -> 10 steps per epoch; 5 cycles of 2 epochs = 20 steps each.
PARAMS = dict(hidden_layer_sizes=(8,), n_cycles=5, epochs=10, n_networks=1, random_state=0)


def _step(model):
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


class LastStep(keras.callbacks.Callback):
    """The training optimizer's step count when training ends (the estimator then gives
    the network a fresh optimizer, so it cannot be read after ``fit``)."""

    def on_train_end(self, logs=None):
        self.step = _step(self.model)


class PoisonAtStep(keras.callbacks.Callback):
    """Sets the first weight to inf after the compiled call ending at optimizer step ``step``.

    It runs after the snapshot callback's loss check of that call (which then still sees a
    finite loss), so only the weight check at the cycle end can catch it.
    """

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if _step(self.model) == self.step:
            weights = self.model.get_weights()
            weights[0] = np.full_like(weights[0], np.inf)
            self.model.set_weights(weights)


class Interrupt(keras.callbacks.Callback):
    """Raises KeyboardInterrupt at the end of cycle ``end_of`` or inside cycle ``during``."""

    def __init__(self, end_of=None, during=None):
        super().__init__()
        self.end_of, self.during, self.epoch = end_of, during, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == self.during:
            raise KeyboardInterrupt

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.end_of:
            raise KeyboardInterrupt


class StopTraining(keras.callbacks.Callback):
    """Sets ``model.stop_training`` at the end of cycle ``end_of`` or inside cycle ``during``."""

    def __init__(self, end_of=None, during=None):
        super().__init__()
        self.end_of, self.during, self.epoch = end_of, during, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == self.during:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.end_of:
            self.model.stop_training = True


@pytest.fixture(scope="module")
def clean_run(blobs):
    """The same training without a fault: its first snapshots are the reference."""
    X, y = blobs
    return SnapshotEnsembleClassifier(**PARAMS).fit(X, y)


def _message(record, category):
    """The text of the first warning of ``category`` (Keras adds DeprecationWarnings)."""
    return next(str(w.message) for w in record if issubclass(w.category, category))


def _assert_usable_with(clf, X, clean, n_kept):
    """``clf`` kept the first ``n_kept`` snapshots of ``clean`` and predicts with them."""
    assert len(clf.snapshots_) == n_kept
    for kept, reference in zip(clf.snapshots_, clean.snapshots_[:n_kept], strict=True):
        for a, b in zip(kept, reference, strict=True):
            np.testing.assert_array_equal(a, b)
    members = clean.member_predict_proba(X)[:n_kept]
    np.testing.assert_allclose(clf.predict_proba(X), members.mean(axis=0), atol=1e-12)
    assert np.all(np.isfinite(clf.predict_proba(X)))
    np.testing.assert_allclose(clf.member_predict_proba(X), members, atol=1e-12)
    assert len(list(clf.staged_predict(X))) == n_kept
    for got, want in zip(clf.model_.get_weights(), clf.snapshots_[-1], strict=True):
        np.testing.assert_array_equal(got, want)  # the network is the last good snapshot
    assert len(clf.history_["loss"]) == n_kept
    assert np.all(np.isfinite(clf.history_["loss"]))
    clf.set_params(n_members=n_kept)
    np.testing.assert_allclose(clf.predict_proba(X), members.mean(axis=0), atol=1e-12)
    clf.set_params(n_members=n_kept + 1)
    with pytest.raises(ValueError, match=f"n_members={n_kept + 1} but only {n_kept} snapshots"):
        clf.predict(X)
    clf.set_params(n_members=None)


def test_nan_loss_mid_training_keeps_the_finished_snapshots(blobs, clean_run):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**PARAMS, callbacks=[PoisonWeights(cycle=2)])
    with pytest.warns(ConvergenceWarning) as record:
        clf.fit(X, y)
    message = _message(record, ConvergenceWarning)
    assert "training loss became nan in cycle 3 of 5" in message
    assert "2 of 5 cycles finished" in message
    assert "Lower max_learning_rate (now 0.05)" in message
    _assert_usable_with(clf, X, clean_run, n_kept=2)


def test_training_stops_within_one_compiled_call(blobs):
    X, y = blobs
    # 3 cycles of 300 steps, run as 2 compiled calls of 150 steps each.
    params = dict(hidden_layer_sizes=(8,), n_cycles=3, epochs=90, n_networks=1, random_state=0)
    last = LastStep()
    clf = SnapshotEnsembleClassifier(**params, callbacks=[PoisonWeights(cycle=1), last])
    with pytest.warns(ConvergenceWarning, match="1 of 3 cycles finished"):
        clf.fit(X, y)
    assert last.step == 300 + 150  # cycle 1, then one call of cycle 2
    assert len(clf.snapshots_) == 1


def test_non_finite_weights_at_a_cycle_end_are_refused(blobs, clean_run):
    X, y = blobs
    end_of_second = int(np.cumsum(cycle_lengths(100, 5))[1])
    clf = SnapshotEnsembleClassifier(**PARAMS, callbacks=[PoisonAtStep(end_of_second)])
    with pytest.warns(ConvergenceWarning, match="weights were no longer finite") as record:
        clf.fit(X, y)
    assert "end of cycle 2 of 5" in _message(record, ConvergenceWarning)
    assert "1 of 5 cycles finished" in _message(record, ConvergenceWarning)
    _assert_usable_with(clf, X, clean_run, n_kept=1)


def test_divergence_before_the_first_snapshot_raises(blobs):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**{**PARAMS, "max_learning_rate": 1e6})
    with pytest.raises(FloatingPointError, match="took no snapshot") as info:
        clf.fit(X, y)
    assert "training loss became nan in cycle 1 of 5" in str(info.value)
    assert "Lower max_learning_rate (now 1e+06)" in str(info.value)
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        clf.predict(X)


def test_keyboard_interrupt_at_a_cycle_end_keeps_that_snapshot(blobs, clean_run):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**PARAMS, callbacks=[Interrupt(end_of=1)])
    with pytest.warns(UserWarning, match="interrupted") as record:
        clf.fit(X, y)
    assert "KeyboardInterrupt" in _message(record, UserWarning)
    assert "2 of 5 cycles finished" in _message(record, UserWarning)
    _assert_usable_with(clf, X, clean_run, n_kept=2)


def test_keyboard_interrupt_inside_a_cycle_drops_only_that_cycle(blobs, clean_run):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**PARAMS, callbacks=[Interrupt(during=3)])
    with pytest.warns(UserWarning, match="interrupted .* in cycle 4 of 5"):
        clf.fit(X, y)
    _assert_usable_with(clf, X, clean_run, n_kept=3)


def test_keyboard_interrupt_before_the_first_snapshot_propagates(blobs):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**PARAMS, callbacks=[Interrupt(during=0)])
    with pytest.raises(KeyboardInterrupt, match="before any snapshot"):
        clf.fit(X, y)
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        clf.predict(X)


def test_a_callback_that_stops_at_a_cycle_end_is_obeyed_silently(blobs, clean_run):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**PARAMS, callbacks=[StopTraining(end_of=2)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        clf.fit(X, y)
    _assert_usable_with(clf, X, clean_run, n_kept=3)


def test_a_callback_that_stops_inside_a_cycle_is_reported(blobs):
    X, y = blobs
    # 3 cycles of 300 steps, 2 compiled calls each: a stop after the first call of a
    # cycle cuts it short.
    params = dict(hidden_layer_sizes=(8,), n_cycles=3, epochs=90, random_state=0)
    last = LastStep()
    clf = SnapshotEnsembleClassifier(**params, callbacks=[StopTraining(during=1), last])
    with pytest.warns(UserWarning, match="callback stopped training in the middle of cycle 2"):
        clf.fit(X, y)
    assert len(clf.snapshots_) == 1
    assert last.step == 300 + 150
    clf = SnapshotEnsembleClassifier(**params, callbacks=[StopTraining(during=0)])
    with pytest.raises(RuntimeError, match="took no snapshot"):
        clf.fit(X, y)


def test_a_failed_fit_leaves_a_fitted_estimator_as_it_was(blobs):
    X, y = blobs
    recorder = StartWeights()
    clf = SnapshotEnsembleClassifier(**{**PARAMS, "n_cycles": 2}, callbacks=[recorder])
    clf.fit(X, y)
    expected = clf.predict_proba(X)
    snapshots = [[w.copy() for w in s] for s in clf.snapshots_]
    bad = X.copy()
    bad[0, 0] = np.nan
    strings = np.full(X.shape, "a")
    for X_bad, y_bad, message in [
        (bad, y, "Input X contains NaN"),
        (X, np.zeros(len(y)), "only one class"),
        (strings, y, "needs numeric X"),
        (X, y[:-1], "inconsistent numbers of samples"),
    ]:
        with pytest.raises(ValueError, match=message):
            clf.fit(X_bad, y_bad)
        np.testing.assert_array_equal(clf.predict_proba(X), expected)
        np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    # A warm-started fit that diverges at once keeps the snapshots it continued from.
    clf.set_params(warm_start=True, max_learning_rate=1e6)
    with pytest.raises(FloatingPointError, match="took no snapshot: the training loss became nan"):
        clf.fit(X, y)
    assert len(clf.snapshots_) == 2
    for kept, before in zip(clf.snapshots_, snapshots, strict=True):
        for a, b in zip(kept, before, strict=True):
            np.testing.assert_array_equal(a, b)
    for got, want in zip(clf.model_.get_weights(), snapshots[-1], strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(clf.predict_proba(X), expected)
    # ... and can go on training from there with a sane rate.
    clf.set_params(max_learning_rate=0.05)
    assert_continues(clf, recorder, lambda: clf.fit(X, y), n_new_cycles=2)


# Unscaled inputs of order 1e14: SGD blows the weights up to ~1e18 while the training loss
# stays finite (Keras computes the cross-entropy from the logits), so no cycle is refused,
# but the float32 activations overflow when predicting.
HUGE_X = np.array([[-7329795.0], [5.44e14], [5.44e14], [1.0]])
OVERFLOW = "output is not finite .* rows of X: its float32 activations overflowed"


@pytest.mark.parametrize("combine", ["members", "weights"])
def test_overflowing_network_outputs_raise_instead_of_nan_probabilities(combine):
    clf = SnapshotEnsembleClassifier(
        hidden_layer_sizes=(3,), n_cycles=2, epochs=2, combine=combine, random_state=2
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(HUGE_X, [0, 1, 2, 0])
    # Without the check these were rows of NaN probabilities (and NaN-based predictions).
    for method in (clf.predict_proba, clf.predict, clf.member_predict_proba):
        with pytest.raises(FloatingPointError, match=OVERFLOW) as error:
            method(HUGE_X)
        assert "StandardScaler" in str(error.value)
        assert "5.44e+14" in str(error.value)  # the largest |value| of X
    with pytest.raises(FloatingPointError, match=OVERFLOW):
        list(clf.staged_predict_proba(HUGE_X))


def test_overflowing_regressor_outputs_raise_instead_of_nan_predictions():
    reg = SnapshotEnsembleRegressor(hidden_layer_sizes=(3,), n_cycles=2, epochs=2, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(HUGE_X, [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(FloatingPointError, match=OVERFLOW.replace(".* rows", ".*for 4 of 4 rows")):
        reg.predict(HUGE_X)
    with pytest.raises(FloatingPointError, match=OVERFLOW):
        reg.predict(HUGE_X, return_std=True)


def test_checked_outputs_counts_rows_and_accepts_large_finite_outputs():
    from sksnapshot._faults import checked_outputs

    clf = SnapshotEnsembleClassifier()
    X = np.array([[1.0], [-250.0], [3.0]])
    members = np.zeros((2, 3, 2))
    members[1, 0, 1] = np.nan  # member 2, row 1
    members[0, 2, 0] = np.inf  # member 1, row 3
    with pytest.raises(FloatingPointError, match=r"for 2 of 3 rows .* \|value\| here: 250\)"):
        checked_outputs(clf, members, X)
    with pytest.raises(FloatingPointError, match="for 1 of 3 rows"):
        checked_outputs(clf, members[1], X)  # one member (or the members' mean)
    # Finite outputs pass unchanged, also when their sum overflows float64.
    large = np.full((2, 3, 2), 1e308)
    assert checked_outputs(clf, large, X) is large
