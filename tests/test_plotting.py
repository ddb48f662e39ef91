"""sksnapshot.plotting: the Display objects' data (not their pixels)."""

import inspect
import subprocess
import sys
import textwrap

import keras
import matplotlib
import numpy as np
import pytest
from _helpers import StartWeights, assert_continues
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sksnapshot import SnapshotEnsembleClassifier, SnapshotEnsembleRegressor
from sksnapshot._inspection import one_network_last_k, snapshot_outputs
from sksnapshot.plotting import EnsembleCurveDisplay, LearningRateDisplay

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _hand_member_accuracies(clf, X, y):
    """Every snapshot's accuracy through a separate Keras model and plain predict."""
    twin = keras.models.clone_model(clf.model_)
    scores = []
    for snapshot in clf.snapshots_:
        twin.set_weights(snapshot)
        proba = twin.predict(np.asarray(X, dtype=np.float32), verbose=0)
        scores.append(np.mean(clf.classes_[proba.argmax(axis=1)] == y))
    return np.array(scores)


@pytest.mark.parametrize("lr_update", ["batch", "epoch"])
def test_learning_rate_display_from_estimator(blobs, lr_update):
    X, y = blobs
    X, y = X[:100], y[:100]  # 4 steps per epoch at batch 32
    clf = SnapshotEnsembleClassifier(
        hidden_layer_sizes=(8,), n_cycles=3, epochs=10, lr_update=lr_update, random_state=0
    ).fit(X, y)
    display = LearningRateDisplay.from_estimator(clf)
    np.testing.assert_array_equal(display.learning_rates, clf.learning_rates_)
    # 40 steps in cycles of 14, 13, 13 (or 10 epochs in 4, 3, 3).
    expected = [13, 26, 39] if lr_update == "batch" else [3, 6, 9]
    assert display.snapshot_units.tolist() == expected
    assert display.unit == ("step" if lr_update == "batch" else "epoch")
    # What is drawn is the data (1-based units on the x axis).
    np.testing.assert_array_equal(display.line_.get_ydata(), clf.learning_rates_)
    np.testing.assert_array_equal(display.snapshot_markers_.get_xdata(), np.add(expected, 1))
    np.testing.assert_array_equal(
        display.snapshot_markers_.get_ydata(), clf.learning_rates_[expected]
    )
    assert display.ax_.get_xlabel() == ("training step" if lr_update == "batch" else "epoch")
    assert display.figure_ is display.ax_.figure


@pytest.mark.parametrize(
    "params",
    [
        dict(lr_update="batch", batch_size=32),
        dict(lr_update="batch", batch_size=7, validation_split=0.2),
        dict(lr_update="batch", batch_size=-1),
        dict(lr_update="epoch", min_learning_rate=0.01),
        dict(lr_update="batch", schedule="triangular", max_learning_rate_decay=0.5),
        dict(lr_update="batch", cycle_length_mult=2.0, n_members="auto"),
        dict(lr_update="batch", n_members="auto", validation_fraction=0.3),
    ],
)
def test_learning_rate_display_from_params_mirrors_fit(blobs, params):
    X, y = blobs
    X, y = X[:90], y[:90]
    common = dict(n_cycles=4, epochs=9, max_learning_rate=0.1, **params)
    clf = SnapshotEnsembleClassifier(hidden_layer_sizes=(4,), random_state=0, **common).fit(X, y)
    display = LearningRateDisplay.from_params(n_samples=len(X), **common)
    np.testing.assert_allclose(display.learning_rates, clf.learning_rates_)
    fitted = LearningRateDisplay.from_estimator(clf)
    np.testing.assert_array_equal(display.snapshot_units, fitted.snapshot_units)
    assert len(display.snapshot_units) == len(clf.snapshots_) == 4


def test_learning_rate_display_from_params_needs_rows_for_batch_updates():
    with pytest.raises(ValueError, match="n_samples is needed"):
        LearningRateDisplay.from_params(epochs=5, n_cycles=2)
    with pytest.raises(ValueError, match="lr_update"):
        LearningRateDisplay.from_params(epochs=5, n_cycles=2, lr_update="cycle")
    display = LearningRateDisplay.from_params(epochs=6, n_cycles=3, lr_update="epoch")
    assert display.snapshot_units.tolist() == [1, 3, 5]


@pytest.mark.parametrize(
    "base, change",
    [
        ({}, dict(schedule="triangular")),
        ({}, dict(schedule=lambda t, T, c: 0.01 * (c + 1))),
        ({}, dict(cycle_length_mult=2.0)),
        ({}, dict(max_learning_rate_decay=0.5)),
        ({}, dict(min_learning_rate=0.01)),
        ({}, dict(n_members="auto")),
        (dict(n_members="auto"), dict(validation_fraction=0.5)),
        ({}, dict(validation_split=0.5)),
        ({}, dict(batch_size=10)),
    ],
)
def test_learning_rate_display_from_params_takes_every_schedule_parameter(base, change):
    common = dict(n_samples=100, epochs=12, n_cycles=3, max_learning_rate=0.1, **base)
    before = LearningRateDisplay.from_params(**common).learning_rates
    after = LearningRateDisplay.from_params(**common, **change).learning_rates
    assert before.shape != after.shape or not np.allclose(before, after)


def test_learning_rate_display_from_params_defaults_are_the_estimators():
    signature = inspect.signature(LearningRateDisplay.from_params).parameters
    defaults = SnapshotEnsembleClassifier().get_params()
    own = {"n_samples", "ax", "kwargs"}
    assert {name: signature[name].default for name in signature if name not in own} == {
        name: defaults[name] for name in signature if name not in own
    }


@pytest.mark.parametrize(
    "schedule, title",
    [
        ("cosine", "Cosine annealing with warm restarts: 3 cycles"),
        ("triangular", "Triangular cycles with warm restarts: 3 cycles"),
        (lambda t, T, c: 0.01, "Cyclic learning rate (custom schedule): 3 cycles"),
    ],
)
def test_learning_rate_display_title_names_the_schedule(blobs, tiny_params, schedule, title):
    display = LearningRateDisplay.from_params(
        epochs=6, n_cycles=3, lr_update="epoch", schedule=schedule
    )
    assert display.ax_.get_title() == title
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**tiny_params, schedule=schedule).fit(X[:60], y[:60])
    assert LearningRateDisplay.from_estimator(clf).ax_.get_title() == title


def test_learning_rate_display_of_a_regressor_in_a_transformed_target(blobs, tiny_params):
    X, y = blobs
    model = TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), SnapshotEnsembleRegressor(**tiny_params)),
        transformer=StandardScaler(),
    ).fit(X[:60], y[:60].astype(float))
    display = LearningRateDisplay.from_estimator(model)
    np.testing.assert_array_equal(display.learning_rates, model.regressor_[-1].learning_rates_)


def test_learning_rate_display_after_warm_start_and_in_a_pipeline(blobs, tiny_params):
    X, y = blobs
    recorder = StartWeights()
    clf = SnapshotEnsembleClassifier(**tiny_params, warm_start=True, callbacks=[recorder])
    pipe = make_pipeline(StandardScaler(), clf)
    pipe.fit(X, y)
    pipe.set_params(snapshotensembleclassifier__n_cycles=2)
    assert_continues(clf, recorder, lambda: pipe.fit(X, y), n_new_cycles=2)
    assert pipe[-1] is clf
    display = LearningRateDisplay.from_estimator(pipe)
    n_first = len(clf.learning_rates_) - 9 * 10  # 300 rows: 10 steps per epoch, 9 epochs
    assert n_first == 90
    first = np.cumsum([30, 30, 30]) - 1
    second = 90 + np.cumsum([45, 45]) - 1
    assert display.snapshot_units.tolist() == [*first, *second]
    assert len(clf.snapshots_) == 5


def test_ensemble_curve_display_from_estimator(blobs, tiny_params):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**tiny_params).fit(X[:200], y[:200])
    X_test, y_test = X[200:], y[200:]
    display = EnsembleCurveDisplay.from_estimator(
        clf, X_test, y_test, reference_lines={"Bayes limit": 0.97, "single": 0.9}
    )
    np.testing.assert_allclose(
        display.member_scores, _hand_member_accuracies(clf, X_test, y_test), atol=1e-12
    )
    members = clf.member_predict_proba(X_test)
    expected = [np.mean(members[-k:].mean(0).argmax(1) == y_test) for k in (1, 2, 3)]
    np.testing.assert_allclose(display.ensemble_scores, expected)
    assert display.ensemble_scores[-1] == clf.score(X_test, y_test)
    assert display.n_members.tolist() == [1, 2, 3]
    # At k the dot is the k-th from last snapshot; the line is the last-k ensemble.
    np.testing.assert_allclose(display.dots_.get_ydata(), display.member_scores[::-1])
    np.testing.assert_allclose(display.line_.get_ydata(), display.ensemble_scores)
    assert [line.get_ydata()[0] for line in display.reference_lines_] == [0.97, 0.9]
    assert display.ax_.get_ylabel() == "accuracy"
    # One network: the figure of before, without the lines of several networks.
    assert display.one_network_line_ is None and display.network_dots_ is None
    assert display.n_networks == 1
    assert display.line_.get_label() == "ensemble of the last k"
    assert display.dots_.get_label() == "snapshot k"


def test_ensemble_curve_display_log_loss_in_a_pipeline(blobs, tiny_params):
    X, y = blobs
    pipe = make_pipeline(StandardScaler(), SnapshotEnsembleClassifier(**tiny_params))
    pipe.fit(X, y)
    display = EnsembleCurveDisplay.from_estimator(pipe, X, y, scoring="log_loss")
    members = pipe[-1].member_predict_proba(pipe[0].transform(X))
    np.testing.assert_allclose(display.member_scores, [log_loss(y, p) for p in members])
    assert display.ensemble_scores[-1] == pytest.approx(log_loss(y, pipe.predict_proba(X)))
    assert display.ax_.get_ylabel() == "log loss"


def test_ensemble_curve_display_of_several_runs():
    members = np.array([[0.6, 0.7, 0.8], [0.7, 0.8, 0.9]])
    ensembles = np.array([[0.8, 0.82, 0.83], [0.9, 0.9, 0.91]])
    fig, ax = plt.subplots()
    display = EnsembleCurveDisplay(members, ensembles).plot(ax=ax)
    assert display.ax_ is ax
    dots = display.dots_.lines[0].get_ydata()
    line = display.line_.lines[0].get_ydata()
    np.testing.assert_allclose(dots, [0.85, 0.75, 0.65])
    np.testing.assert_allclose(line, [0.85, 0.86, 0.87])


def test_ensemble_curve_display_errors(blobs, tiny_params):
    with pytest.raises(ValueError, match="same shape"):
        EnsembleCurveDisplay([0.1, 0.2], [0.1, 0.2, 0.3])
    X, y = blobs
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        EnsembleCurveDisplay.from_estimator(SnapshotEnsembleClassifier(), X, y)
    with pytest.raises(TypeError, match="SnapshotEnsembleClassifier"):
        EnsembleCurveDisplay.from_estimator(LogisticRegression().fit(X, y), X, y)
    clf = SnapshotEnsembleClassifier(**tiny_params).fit(X, y)
    with pytest.raises(ValueError, match="scoring"):
        EnsembleCurveDisplay.from_estimator(clf, X, y, scoring="f1")


def test_plotting_imports_without_matplotlib():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["matplotlib"] = None  # as if it were not installed
        from sksnapshot.plotting import LearningRateDisplay
        display = LearningRateDisplay([0.1, 0.05], [1], unit="epoch")
        try:
            display.plot()
        except ImportError as exc:
            assert "pip install 'sksnapshot[plot]'" in str(exc), exc
            print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.stdout.strip() == "ok", result.stderr


@pytest.mark.parametrize(
    "mult, units",
    [(1, [2, 4, 6]), (2, [0, 2, 6])],  # cycles of 3, 2, 2 epochs; of 1, 2, 4 epochs
)
def test_learning_rate_display_marks_the_recorded_snapshots_when_rates_are_flat(blobs, mult, units):
    # A flat rate has no restarts to read the cycle ends from: the fit records them.
    X, y = blobs
    clf = SnapshotEnsembleClassifier(
        hidden_layer_sizes=(4,),
        n_cycles=3,
        epochs=7,
        lr_update="epoch",
        cycle_length_mult=mult,
        max_learning_rate=0.05,
        min_learning_rate=0.05,
        random_state=0,
    ).fit(X, y)
    assert clf.snapshot_units_.tolist() == units
    display = LearningRateDisplay.from_estimator(clf)
    assert display.snapshot_units.tolist() == units
    np.testing.assert_array_equal(display.snapshot_markers_.get_xdata(), np.add(units, 1))


def test_snapshot_units_cover_only_the_snapshots_taken(blobs):
    X, y = blobs

    class StopAfterFirstCycle(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    clf = SnapshotEnsembleClassifier(
        hidden_layer_sizes=(4,),
        n_cycles=3,
        epochs=6,
        lr_update="epoch",
        callbacks=[StopAfterFirstCycle()],
        random_state=0,
    ).fit(X, y)
    assert len(clf.snapshots_) == 1
    assert clf.snapshot_units_.tolist() == [1]  # the first cycle's 2 epochs
    assert len(clf.learning_rates_) == 6  # as planned for the whole fit


# -- several networks per snapshot ----------------------------------------------------
@pytest.fixture(scope="module")
def two_networks(blobs):
    """A tiny classifier of 2 networks and 3 snapshots, and held-out rows."""
    X, y = blobs
    clf = SnapshotEnsembleClassifier(
        hidden_layer_sizes=(8,), n_cycles=3, epochs=6, n_networks=2, random_state=0
    )
    return clf.fit(X[:200], y[:200]), X[200:], y[200:]


def test_snapshot_outputs_by_network(two_networks, blobs, tiny_params):
    clf, X, y = two_networks
    members, last_k = snapshot_outputs(clf, X, by_network=True)
    assert members.shape == (3, 2, 100, 3) and last_k.shape == (3, 100, 3)
    flat = clf.member_predict_proba(X)  # by snapshot, then network
    assert flat.shape == (6, 100, 3)
    np.testing.assert_array_equal(members[1, 0], flat[2])
    np.testing.assert_array_equal(members[2, 1], flat[5])
    np.testing.assert_allclose(last_k[1], flat[2:].mean(0), atol=1e-6)  # last 2 snapshots
    with pytest.raises(ValueError, match="n_networks=2.*by_network=True"):
        snapshot_outputs(clf, X)
    # One network: the same outputs, with a network axis of length 1.
    one = SnapshotEnsembleClassifier(**tiny_params).fit(*blobs)
    plain, staged = snapshot_outputs(one, X)
    grid, staged_too = snapshot_outputs(one, X, by_network=True)
    assert plain.shape == (3, 100, 3) and grid.shape == (3, 1, 100, 3)
    np.testing.assert_array_equal(grid[:, 0], plain)
    np.testing.assert_array_equal(staged_too, staged)


def test_one_network_last_k_by_hand():
    # 3 snapshots x 2 networks, one row, one output; network 1 diverged in the last
    # snapshot (NaN).
    members = np.array([[1.0, 10.0], [2.0, 20.0], [4.0, np.nan]])[:, :, None, None]
    last_k = one_network_last_k(members)[:, :, 0, 0]
    expected = [[4.0, np.nan], [3.0, 20.0], [7 / 3, 15.0]]
    np.testing.assert_allclose(last_k, expected)


def test_ensemble_curve_display_of_two_networks(two_networks):
    clf, X, y = two_networks
    display = EnsembleCurveDisplay.from_estimator(clf, X, y)
    # By hand, from the members' probabilities (snapshot s, network n at 2 * s + n).
    proba = clf.member_predict_proba(X).reshape(3, 2, len(X), 3)

    def accuracy(p):
        return np.mean(clf.classes_[p.argmax(axis=1)] == y)

    each = np.array([[accuracy(proba[s, n]) for n in range(2)] for s in range(3)])
    one = [np.mean([accuracy(proba[-k:, n].mean(0)) for n in range(2)]) for k in (1, 2, 3)]
    every = [accuracy(proba[-k:].reshape(-1, len(X), 3).mean(0)) for k in (1, 2, 3)]
    np.testing.assert_allclose(display.network_member_scores, each)
    np.testing.assert_allclose(display.member_scores, each.mean(axis=1))
    np.testing.assert_allclose(display.one_network_scores, one)
    np.testing.assert_allclose(display.ensemble_scores, every)
    assert display.ensemble_scores[-1] == clf.score(X, y)
    assert display.n_networks == 2
    # What is drawn: at k the k-th from last snapshot's members.
    np.testing.assert_allclose(display.one_network_line_.get_ydata(), one)
    np.testing.assert_allclose(display.network_dots_.get_xdata(), [1, 1, 2, 2, 3, 3])
    np.testing.assert_allclose(display.network_dots_.get_ydata(), each[::-1].ravel())
    assert display.line_.get_label() == "ensemble of the last k snapshots, all 2 networks"
    assert display.one_network_line_.get_label().startswith(
        "ensemble of the last k snapshots, one network"
    )
    # Log loss, and weight averaging: no one-network line (not a mean of outputs).
    losses = EnsembleCurveDisplay.from_estimator(clf, X, y, scoring="log_loss")
    hand = [np.mean([log_loss(y, proba[-k:, n].mean(0)) for n in range(2)]) for k in (1, 2, 3)]
    np.testing.assert_allclose(losses.one_network_scores, hand, rtol=1e-6)
    clf.set_params(combine="weights")
    try:
        weights = EnsembleCurveDisplay.from_estimator(clf, X, y)
    finally:
        clf.set_params(combine="members")
    assert weights.one_network_scores is None and weights.one_network_line_ is None
    np.testing.assert_allclose(weights.network_member_scores, each)


def test_ensemble_curve_display_one_network_line_of_several_runs():
    members = np.array([[0.6, 0.7, 0.8], [0.7, 0.8, 0.9]])
    ensembles = np.array([[0.8, 0.82, 0.83], [0.9, 0.9, 0.91]])
    ones = np.array([[0.8, 0.8, 0.8], [0.9, 0.86, 0.84]])
    display = EnsembleCurveDisplay(members, ensembles, one_network_scores=ones).plot()
    np.testing.assert_allclose(display.one_network_line_.lines[0].get_ydata(), [0.85, 0.83, 0.82])
    label = display.one_network_line_.get_label()
    assert "one network" in label and "2 runs" in label
    assert display.network_dots_ is None
    with pytest.raises(ValueError, match="one_network_scores must have the shape"):
        EnsembleCurveDisplay(members, ensembles, one_network_scores=ones[0])
    with pytest.raises(ValueError, match="network_member_scores must have the shape"):
        EnsembleCurveDisplay(members, ensembles, network_member_scores=np.ones((3, 2)))
    with pytest.raises(ValueError, match="network_member_scores must have the shape"):
        EnsembleCurveDisplay([0.1, 0.2], [0.1, 0.2], network_member_scores=[0.1, 0.2])
