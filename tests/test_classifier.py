"""SnapshotEnsembleClassifier: training, snapshots, prediction and the scikit-learn API."""

import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import joblib
import keras
import numpy as np
import pytest
from _helpers import (
    StartWeights,
    StepRecorder,
    as_probabilities,
    assert_continues,
    hand_member_outputs,
)
from sklearn.base import clone, is_classifier
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, StratifiedKFold, check_cv, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sksnapshot import SnapshotEnsembleClassifier, cycle_lengths, simulate_learning_rates


def _hand_member_probabilities(clf, X):
    """Every snapshot's probabilities through a separate Keras model and plain predict."""
    return as_probabilities(hand_member_outputs(clf, X))


def test_is_classifier_and_stratified_cv():
    clf = SnapshotEnsembleClassifier()
    assert is_classifier(clf)
    assert isinstance(
        check_cv(3, np.array([0, 1] * 10), classifier=is_classifier(clf)), StratifiedKFold
    )


def test_repr_shows_changed_parameters_only():
    assert repr(SnapshotEnsembleClassifier(n_cycles=3)) == "SnapshotEnsembleClassifier(n_cycles=3)"


@pytest.mark.parametrize("lr_update", ["batch", "epoch"])
def test_snapshots_are_taken_at_every_cycle_end(blobs, lr_update):
    X, y = blobs[0][:100], blobs[1][:100]  # 100 rows, batch 32: 4 steps per epoch
    recorder = StepRecorder()
    clf = SnapshotEnsembleClassifier(
        hidden_layer_sizes=(8,),
        n_cycles=3,
        epochs=7,
        lr_update=lr_update,
        max_learning_rate=0.02,
        callbacks=[recorder],
        random_state=0,
    ).fit(X, y)
    steps_per_unit = 1 if lr_update == "batch" else 4
    n_units = 28 if lr_update == "batch" else 7
    ends = np.cumsum(cycle_lengths(n_units, 3)) * steps_per_unit
    assert recorder.end == ends.tolist()
    assert recorder.begin == [0, *ends[:-1].tolist()]
    # Every cycle starts again at the maximum rate.
    np.testing.assert_allclose(recorder.begin_rates, 0.02, rtol=1e-6)
    assert len(clf.snapshots_) == 3
    rates, _ = simulate_learning_rates(n_units, 3, 0.02)
    np.testing.assert_allclose(clf.learning_rates_, rates)
    # The last snapshot is the final model; earlier ones differ from it.
    for got, want in zip(clf.snapshots_[-1], clf.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(clf.snapshots_[0][0], clf.snapshots_[-1][0])
    assert len(clf.history_["loss"]) == 3


def test_n_cycles_larger_than_steps_is_refused(blobs):
    X, y = blobs[0][:40], blobs[1][:40]  # 2 steps per epoch
    clf = SnapshotEnsembleClassifier(n_cycles=5, epochs=2, hidden_layer_sizes=(4,))
    with pytest.raises(
        ValueError, match=r"n_cycles=5 is larger than the number of training steps \(4"
    ):
        clf.fit(X, y)
    clf.set_params(lr_update="epoch", n_cycles=3)
    with pytest.raises(ValueError, match=r"number of epochs \(2"):
        clf.fit(X, y)


def test_predict_proba_is_the_mean_of_the_members(blobs, tiny_params):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**tiny_params).fit(X, y)
    members = _hand_member_probabilities(clf, X)
    np.testing.assert_allclose(clf.member_predict_proba(X), members, atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(X), members.mean(axis=0), atol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[members.mean(0).argmax(1)])
    assert clf.score(X, y) > 0.8


def test_n_members_selects_the_last_snapshots_without_retraining(blobs, tiny_params):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**tiny_params).fit(X, y)
    members = clf.member_predict_proba(X)
    clf.set_params(n_members=1)
    np.testing.assert_allclose(clf.predict_proba(X), members[-1], atol=1e-7)
    clf.set_params(n_members=2)
    np.testing.assert_allclose(clf.predict_proba(X), members[-2:].mean(0), atol=1e-7)
    clf.set_params(n_members=4)
    with pytest.raises(ValueError, match="n_members=4 but only 3 snapshots"):
        clf.predict_proba(X)


@pytest.mark.parametrize(
    ("fraction", "expected"), [(0.3, 1), (0.34, 2), (2 / 3, 2), (0.7, 3), (1.0, 3)]
)
def test_a_fraction_of_n_members_counts_the_last_snapshots_rounded_up(
    blobs, tiny_params, fraction, expected
):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**{**tiny_params, "n_networks": 1}).fit(X, y)
    members = clf.member_predict_proba(X)  # 3 snapshots
    clf.set_params(n_members=fraction)
    assert clf.n_members_ == expected
    np.testing.assert_allclose(clf.predict_proba(X), members[-expected:].mean(0), atol=1e-7)


def test_a_fraction_of_ten_snapshots_is_exact():
    # 0.3 * 10 is 3.0000000000000004 in floating point: still the last 3, not 4.
    clf = SnapshotEnsembleClassifier(n_members=0.3)
    clf.snapshots_ = [[np.zeros(1)]] * 10
    assert clf.n_members_ == 3
    clf.snapshots_ = [[np.zeros(1)]] * 7
    assert clf.n_members_ == 3  # 2.1 rounded up


def test_staged_predictions(blobs, tiny_params):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**tiny_params).fit(X, y)
    members = clf.member_predict_proba(X)
    staged = list(clf.staged_predict_proba(X))
    assert len(staged) == 3
    for k, proba in enumerate(staged, start=1):
        np.testing.assert_allclose(proba, members[-k:].mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(staged[-1], clf.predict_proba(X), atol=1e-12)
    labels = list(clf.staged_predict(X))
    np.testing.assert_array_equal(labels[-1], clf.predict(X))


def test_member_and_staged_shapes(blobs, binary, tiny_params):
    for X, y in (blobs, binary):
        clf = SnapshotEnsembleClassifier(**tiny_params).fit(X, y)
        n_classes = len(np.unique(y))
        assert clf.member_predict_proba(X[:7]).shape == (3, 7, n_classes)
        staged = clf.staged_predict_proba(X[:7])
        assert not isinstance(staged, list | tuple | np.ndarray)  # a generator, as in sklearn
        assert [p.shape for p in staged] == [(7, n_classes)] * 3
        assert [p.shape for p in clf.staged_predict(X[:7])] == [(7,)] * 3


def test_probabilities_sum_to_one_for_log_loss(blobs, tiny_params):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**tiny_params).fit(X, y)
    for proba in (clf.predict_proba(X), *clf.member_predict_proba(X)):
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        log_loss(y, clf.predict_proba(X))


@pytest.mark.parametrize("labels", [np.array(["no", "yes"]), np.array([-1, 1]), np.array([3, 7])])
def test_binary_uses_one_sigmoid_unit_and_keeps_label_kind(binary, labels):
    X, y01 = binary
    y = labels[y01]
    clf = SnapshotEnsembleClassifier(
        hidden_layer_sizes=(8,), n_cycles=2, epochs=10, random_state=0
    ).fit(X, y)
    # One sigmoid unit for each of the 4 default networks, trained on binary cross-entropy.
    assert clf.model_.output_shape == (None, 4, 1)
    assert clf.model_.loss.loss.__name__ == "binary_crossentropy"
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    predicted = clf.predict(X)
    assert predicted.dtype == clf.classes_.dtype
    assert set(np.unique(predicted)) <= set(labels)
    # The averaged probability of classes_[1] is rounded; a tie goes to classes_[0].
    np.testing.assert_array_equal(predicted, np.where(proba[:, 1] > 0.5, labels[1], labels[0]))
    assert clf.score(X, y) > 0.7


def test_multiclass_string_labels(blobs, tiny_params):
    X, y = blobs
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = SnapshotEnsembleClassifier(**tiny_params).fit(X, names)
    assert clf.predict_proba(X).shape == (len(X), 3)
    assert set(clf.predict(X)) <= set(names)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]


def test_predict_on_one_row_keeps_two_dimensions(blobs, tiny_params):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**tiny_params).fit(X, y)
    assert clf.predict_proba(X[:1]).shape == (1, 3)
    assert clf.predict(X[:1]).shape == (1,)


def test_random_state_reproducible_and_seeds_differ(blobs, tiny_params):
    X, y = blobs
    first = SnapshotEnsembleClassifier(**tiny_params).fit(X, y).predict_proba(X)
    again = SnapshotEnsembleClassifier(**tiny_params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, again)
    other = SnapshotEnsembleClassifier(**{**tiny_params, "random_state": 1}).fit(X, y)
    assert not np.array_equal(first, other.predict_proba(X))


def test_pipeline_and_cross_val_score(blobs, tiny_params):
    X, y = blobs
    order = np.argsort(y, kind="stable")  # sorted labels: unstratified folds would fail
    pipe = make_pipeline(StandardScaler(), SnapshotEnsembleClassifier(**tiny_params))
    scores = cross_val_score(pipe, X[order], y[order], cv=3)
    assert scores.min() > 0.8


def test_grid_search_in_two_processes(blobs):
    X, y = blobs
    grid = GridSearchCV(
        SnapshotEnsembleClassifier(epochs=6, random_state=0),
        {
            "n_cycles": [2, 3],
            "max_learning_rate": [0.01, 0.05],
            "hidden_layer_sizes": [(4,), (8,)],
        },
        cv=2,
        n_jobs=2,
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 8
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert len(grid.best_estimator_.snapshots_) == grid.best_params_["n_cycles"]
    serial = GridSearchCV(
        SnapshotEnsembleClassifier(epochs=6, random_state=0),
        {"n_cycles": [2, 3], "max_learning_rate": [0.01, 0.05], "hidden_layer_sizes": [(4,), (8,)]},
        cv=2,
        n_jobs=1,
    ).fit(X, y)
    np.testing.assert_array_equal(
        grid.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )


def test_pickle_joblib_and_clone_round_trips(blobs, tiny_params, tmp_path):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**tiny_params).fit(X, y)
    expected = clf.predict_proba(X)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), expected)
    assert len(restored.snapshots_) == 3
    for a, b in zip(restored.snapshots_[0], clf.snapshots_[0], strict=True):
        np.testing.assert_array_equal(a, b)
    joblib.dump(clf, tmp_path / "clf.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "clf.joblib").predict_proba(X), expected)
    fresh = clone(clf)
    assert fresh.get_params() == clf.get_params()
    assert not hasattr(fresh, "snapshots_")
    np.testing.assert_array_equal(fresh.fit(X, y).predict_proba(X), expected)


def test_routed_parameters_survive_clone(blobs):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(
        hidden_layer_sizes=(4,), n_cycles=2, epochs=4, optimizer__nesterov=True
    )
    fresh = clone(clf)
    assert fresh.get_params()["optimizer__nesterov"] is True
    fresh.fit(X, y)
    assert fresh.model_.optimizer.nesterov is True
    assert fresh.model_.optimizer.momentum == pytest.approx(0.9)


def test_optimizer_choice_and_momentum(blobs):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(hidden_layer_sizes=(4,), n_cycles=2, epochs=4, momentum=0.5)
    assert clf.fit(X, y).model_.optimizer.momentum == pytest.approx(0.5)
    clf.set_params(optimizer="adam", max_learning_rate=0.01)
    clf.fit(X, y)
    assert isinstance(clf.model_.optimizer, keras.optimizers.Adam)
    assert float(keras.ops.convert_to_numpy(clf.model_.optimizer.learning_rate)) < 0.01


def test_user_supplied_model_callable_and_instance(blobs):
    X, y = blobs

    def build(meta, units=6):
        model = keras.Sequential(
            [
                keras.Input((meta["n_features_in_"],)),
                keras.layers.Dense(units, activation="tanh"),
                keras.layers.Dense(meta["n_classes_"], activation="softmax"),
            ]
        )
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
        return model

    clf = SnapshotEnsembleClassifier(build, n_cycles=2, epochs=6, model__units=5, random_state=0)
    clf.fit(X, y)
    assert clf.model_.layers[0].units == 5
    assert clf.predict_proba(X).shape == (len(X), 3)
    np.testing.assert_allclose(
        clf.predict_proba(X), _hand_member_probabilities(clf, X).mean(0), atol=1e-6
    )

    instance = build({"n_features_in_": 2, "n_classes_": 3})
    clf = SnapshotEnsembleClassifier(instance, n_cycles=2, epochs=6, random_state=0).fit(X, y)
    assert len(clf.snapshots_) == 2


def test_user_callbacks_run_once_per_cycle(blobs):
    X, y = blobs
    recorder = StepRecorder()
    SnapshotEnsembleClassifier(
        hidden_layer_sizes=(4,), n_cycles=4, epochs=8, callbacks=[recorder]
    ).fit(X, y)
    assert len(recorder.end) == 4


def test_validation_split_scores_every_cycle(blobs, tiny_params):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**tiny_params, validation_split=0.2).fit(X, y)
    assert len(clf.history_["val_loss"]) == 3
    assert np.all(np.isfinite(clf.history_["val_loss"]))


def test_validation_split_scores_with_the_rows_weights(blobs, tiny_params):
    X, y = blobs
    n_valid = len(y) - int(len(y) * 0.8)  # the last rows, as Keras takes them
    weights = np.ones(len(y))
    weights[-n_valid:] = np.where(y[-n_valid:] == 0, 0.25, 2.0)
    clf = SnapshotEnsembleClassifier(**tiny_params, validation_split=0.2)
    clf.fit(X, y, sample_weight=weights)
    # The validation loss is the weighted loss of the final network on those rows.
    X_valid, y_valid, w_valid = X[-n_valid:], y[-n_valid:], weights[-n_valid:]
    proba = clf.model_.predict(X_valid, verbose=0)
    losses = -np.log(proba[np.arange(n_valid), y_valid])
    expected = np.sum(losses * w_valid) / n_valid  # Keras: mean over the batch
    assert clf.history_["val_loss"][-1] == pytest.approx(expected, rel=1e-4)


def test_sample_and_class_weights_multiply(blobs, tiny_params):
    X, y = blobs
    weights = np.ones(len(y))
    weights[y == 0] = 0.0  # rows of weight 0 are not trained on
    weights[::7] = 3.0
    original = weights.copy()
    clf = SnapshotEnsembleClassifier(**tiny_params, class_weight={0: 1.0, 1: 2.0, 2: 1.0})
    clf.fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(weights, original)  # the caller's array is intact
    # The same training as with the product of the two as sample_weight.
    product = weights * np.where(y == 1, 2.0, 1.0)
    same = SnapshotEnsembleClassifier(**tiny_params).fit(X, y, sample_weight=product)
    for got, want in zip(clf.snapshots_, same.snapshots_, strict=True):
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)
    unweighted = SnapshotEnsembleClassifier(**tiny_params).fit(X, y)
    assert not np.allclose(clf.predict_proba(X), unweighted.predict_proba(X))


def test_warm_start_appends_snapshots(blobs, tiny_params):
    X, y = blobs
    recorder = StartWeights()
    clf = SnapshotEnsembleClassifier(**tiny_params, warm_start=True, callbacks=[recorder])
    clf.fit(X, y)
    first = [w.copy() for w in clf.snapshots_[-1]]
    # Starts from the last snapshot, appends three snapshots and three history entries.
    assert_continues(clf, recorder, lambda: clf.fit(X, y), n_new_cycles=3)
    assert len(clf.snapshots_) == 6
    assert len(clf.learning_rates_) == 2 * 9 * 10  # 300 rows -> 10 steps per epoch
    np.testing.assert_array_equal(clf.snapshots_[2][0], first[0])
    clf.set_params(warm_start=False).fit(X, y)
    assert len(clf.snapshots_) == 3


def test_partial_fit_is_hidden():
    assert not hasattr(SnapshotEnsembleClassifier(), "partial_fit")


@pytest.mark.parametrize(
    "params, match",
    [
        ({"max_learning_rate": 0.0}, "max_learning_rate"),
        ({"max_learning_rate": -1.0}, "max_learning_rate"),
        ({"min_learning_rate": 0.5, "max_learning_rate": 0.1}, "min_learning_rate=0.5 is larger"),
        ({"lr_update": "step"}, "lr_update"),
        ({"n_cycles": 0}, "n_cycles"),
        ({"hidden_layer_sizes": (4, 0)}, "hidden_layer_sizes"),
        ({"optimizer__learning_rate": 0.1}, "max_learning_rate"),
        ({"n_cycle": 3}, "unexpected parameters"),
        ({"activation": "nonsense"}, "activation='nonsense'"),
    ],
)
def test_bad_parameters_get_clear_errors(blobs, params, match):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(epochs=2, n_cycles=2, hidden_layer_sizes=(4,))
    clf.set_params(**params) if "n_cycle" not in params else None
    if "n_cycle" in params:
        clf = SnapshotEnsembleClassifier(**params)
    with pytest.raises((ValueError, TypeError), match=match):
        clf.fit(X, y)


def test_bad_targets_get_clear_errors(blobs, tiny_params):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**tiny_params)
    with pytest.raises(ValueError, match="multi-output or multilabel"):
        clf.fit(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="only one class"):
        clf.fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(X, np.linspace(0, 1, len(X)))
    with pytest.warns(DataConversionWarning):
        clf.fit(X, y.reshape(-1, 1))
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        SnapshotEnsembleClassifier().predict(X)


def test_wrong_feature_count_and_sparse_input(blobs, tiny_params):
    from scipy import sparse

    X, y = blobs
    clf = SnapshotEnsembleClassifier(**tiny_params).fit(X, y)
    with pytest.raises(
        ValueError,
        match="X has 3 features, but SnapshotEnsembleClassifier is expecting 2 features",
    ):
        clf.predict(np.hstack([X, X[:, :1]]))
    with pytest.raises(TypeError, match="[Ss]parse"):
        SnapshotEnsembleClassifier(**tiny_params).fit(sparse.csr_matrix(X), y)


def test_nothing_is_written_to_disk(blobs, tiny_params, tmp_path, monkeypatch):
    X, y = blobs
    monkeypatch.chdir(tmp_path)
    clf = SnapshotEnsembleClassifier(**tiny_params).fit(X, y)
    clf.predict_proba(X)
    assert list(tmp_path.iterdir()) == []


def test_seeded_then_unseeded_fit_in_a_fresh_process():
    code = textwrap.dedent(
        """
        import os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import numpy as np
        from sksnapshot import SnapshotEnsembleClassifier
        X = np.random.RandomState(0).rand(40, 3).astype("float32")
        y = (X[:, 0] > 0.5).astype(int)
        kw = dict(hidden_layer_sizes=(4,), n_cycles=2, epochs=4)
        SnapshotEnsembleClassifier(**kw, random_state=0).fit(X, y)
        a = SnapshotEnsembleClassifier(**kw).fit(X, y).predict_proba(X)
        b = SnapshotEnsembleClassifier(**kw).fit(X, y).predict_proba(X)
        print("DIFFERENT" if not np.array_equal(a, b) else "SAME")
        """
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("DIFFERENT")


def test_no_keras_warnings_during_fit(blobs, tiny_params):
    X, y = blobs
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        SnapshotEnsembleClassifier(**tiny_params).fit(X, y)


def test_a_warm_started_fit_uses_callbacks_set_after_the_first_fit(blobs, tiny_params):
    X, y = blobs
    recorder = StepRecorder()
    clf = SnapshotEnsembleClassifier(**tiny_params, warm_start=True).fit(X, y)
    clf.set_params(callbacks=[recorder]).fit(X, y)
    assert len(recorder.end) == tiny_params["n_cycles"]  # every new cycle's end
