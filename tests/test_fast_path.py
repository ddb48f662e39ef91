"""The fast path (compiled training program, compiled member prediction) against plain Keras.

The plain path is ``Model.fit`` on numpy arrays with real epochs and a per-batch callback
that applies the schedule's rates and copies the weights at the cycle ends
(``tests/_plain.py``: ``plain_snapshot_fit``).
"""

import pickle

import keras
import numpy as np
import pytest
import tensorflow as tf
from _helpers import StepRecorder, as_probabilities, hand_member_outputs
from _plain import plain_snapshot_fit
from sklearn.datasets import make_blobs

import sksnapshot._cache as cache
import sksnapshot._program as program
import sksnapshot._training as training
from sksnapshot import SnapshotEnsembleClassifier, cycle_lengths
from sksnapshot._batches import batch_stream
from sksnapshot._inference import _forward_for, member_outputs

N_ROWS, BATCH, EPOCHS, N_CYCLES = 100, 32, 7, 3  # 4 steps per epoch (32, 32, 32, 4)
N_STEPS = EPOCHS * 4


@pytest.fixture(scope="module")
def rows():
    """Column 0 encodes the row number (row / 1000), so a batch's rows can be read back."""
    X, y = make_blobs(n_samples=N_ROWS, centers=3, n_features=1, random_state=0)
    X = np.column_stack([np.arange(N_ROWS) / 1000.0, X[:, 0] / 10.0]).astype(np.float32)
    return X, y


class _Log:
    """Per-step records, outside Keras' variable tracking (not part of the weights)."""

    def __init__(self):
        self.rates = tf.Variable(tf.fill([N_STEPS], -1.0))
        self.rows = tf.Variable(tf.fill([N_STEPS, BATCH], -1))

    def steps(self):
        rows = self.rows.numpy()
        return [r[r >= 0].tolist() for r in rows]


class RecordingModel(keras.Sequential):
    """Records, at every training step, the learning rate in force and the batch's rows."""

    def train_step(self, data):
        x = data[0]
        step = tf.cast(self.optimizer.iterations, tf.int32)
        rate = tf.cast(self.optimizer.learning_rate, tf.float32)
        ids = tf.cast(tf.round(x[:, 0] * 1000.0), tf.int32)
        if len(data) > 2 and data[2] is not None:
            # The XLA program pads the last, short batch of an epoch with rows of weight
            # zero: they are not trained on, so they are not recorded.
            ids = tf.where(data[2] > 0, ids, -1)
        ids = tf.pad(ids, [[0, BATCH - tf.shape(ids)[0]]], constant_values=-1)
        self.log.rates.scatter_nd_update([[step]], [rate])
        self.log.rows.scatter_nd_update([[step]], [ids])
        return super().train_step(data)


def _recording_builder(logs):
    def build(meta=None):
        model = RecordingModel(
            [
                keras.Input((2,)),
                keras.layers.Dense(8, activation="tanh"),
                keras.layers.Dense(3, activation="softmax"),
            ]
        )
        log = _Log()
        object.__setattr__(model, "log", log)  # not tracked by Keras
        logs.append(log)
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
        return model

    return build


@pytest.mark.parametrize("lr_update", ["batch", "epoch"])
def test_fast_and_plain_paths_take_snapshots_at_the_same_steps_with_the_same_rates(rows, lr_update):
    X, y = rows
    logs = []
    recorder = StepRecorder()
    clf = SnapshotEnsembleClassifier(
        _recording_builder(logs),
        n_cycles=N_CYCLES,
        epochs=EPOCHS,
        lr_update=lr_update,
        max_learning_rate=0.05,
        callbacks=[recorder],
        random_state=3,
    ).fit(X, y)
    fast = logs[-1]
    assert clf.model_.train_function is None  # Keras' Model.fit did not train it

    # The plan: rates per step and cycle lengths in steps, computed without training.
    per_unit = 1 if lr_update == "batch" else 4
    unit_rates, _ = clf.simulate_learning_rates(N_ROWS)
    step_rates = np.repeat(unit_rates, per_unit)
    step_lengths = np.asarray(cycle_lengths(N_STEPS // per_unit, N_CYCLES)) * per_unit
    ends = np.cumsum(step_lengths).tolist()

    plain_model = _recording_builder(logs)()
    plain_model.compile(
        loss="sparse_categorical_crossentropy",
        optimizer=keras.optimizers.SGD(0.0, momentum=0.9),
    )
    snapshots, plain_ends = plain_snapshot_fit(
        plain_model,
        X,
        y,
        step_rates=step_rates,
        step_lengths=step_lengths,
        epochs=EPOCHS,
        batch_size=BATCH,
    )
    plain = logs[-1]

    # Same snapshot steps, same learning rate at every step.
    assert recorder.end == ends == plain_ends
    assert len(clf.snapshots_) == len(snapshots) == N_CYCLES
    np.testing.assert_array_equal(fast.rates.numpy(), step_rates.astype(np.float32))
    np.testing.assert_array_equal(fast.rates.numpy(), plain.rates.numpy())
    # Every cycle restarts at the peak rate (what the optimizer shows at cycle start).
    np.testing.assert_allclose(recorder.begin_rates, 0.05, rtol=1e-6)

    # Same batch sizes; every epoch visits every row once, in a new order each epoch.
    fast_steps, plain_steps = fast.steps(), plain.steps()
    assert [len(b) for b in fast_steps] == [len(b) for b in plain_steps] == [32, 32, 32, 4] * 7
    for steps in (fast_steps, plain_steps):
        epochs = [sum(steps[4 * e : 4 * e + 4], []) for e in range(EPOCHS)]
        assert all(sorted(order) == list(range(N_ROWS)) for order in epochs)
        assert len({tuple(order) for order in epochs}) == EPOCHS
    # The fast path's batches are exactly those of the documented stream.
    stream = batch_stream((X,), batch_size=BATCH, start_step=0, n_steps=N_STEPS, seed=3)
    expected = [np.round(b[0].numpy()[:, 0] * 1000).astype(int).tolist() for b in stream]
    assert fast_steps == expected


def _dense_builder(init):
    def build(meta=None):
        model = keras.Sequential(
            [
                keras.Input((2,)),
                keras.layers.Dense(8, activation="relu"),
                keras.layers.Dense(3, activation="softmax"),
            ]
        )
        model.set_weights(init)
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
        return model

    return build


def test_fast_path_matches_plain_keras_fit_weight_for_weight(rows):
    """With the same batches (no shuffling) both paths compute the same snapshots."""
    X, y = rows
    keras.utils.set_random_seed(0)
    template = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(3)]
    )
    init = template.get_weights()
    weights = np.random.default_rng(0).uniform(0.5, 2.0, N_ROWS)
    clf = SnapshotEnsembleClassifier(
        _dense_builder(init),
        n_cycles=N_CYCLES,
        epochs=EPOCHS,
        max_learning_rate=0.1,
        shuffle=False,
        random_state=0,
    ).fit(X, y, sample_weight=weights)

    plain_model = _dense_builder(init)()
    # The optimizer the estimator trained with (the user's compiled "sgd").
    config = {**clf.model_.optimizer.get_config(), "learning_rate": 0.0}
    plain_model.compile(
        loss="sparse_categorical_crossentropy",
        optimizer=type(clf.model_.optimizer).from_config(config),
    )
    unit_rates, _ = clf.simulate_learning_rates(N_ROWS)
    snapshots, _ = plain_snapshot_fit(
        plain_model,
        X,
        y,
        sample_weight=weights,
        step_rates=unit_rates,
        step_lengths=cycle_lengths(N_STEPS, N_CYCLES),
        epochs=EPOCHS,
        batch_size=BATCH,
        shuffle=False,
    )
    assert not np.allclose(snapshots[0][0], init[0])  # it trained
    for fast, plain in zip(clf.snapshots_, snapshots, strict=True):
        for a, b in zip(fast, plain, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_shared_program_trains_like_the_models_own(blobs, monkeypatch):
    """A program shared between fits (a template network) gives the fit's own result."""
    X, y = blobs
    params = dict(hidden_layer_sizes=(16,), n_cycles=3, epochs=6, random_state=1)
    program._SHARED.clear()
    shared = SnapshotEnsembleClassifier(**params).fit(X, y)
    again = SnapshotEnsembleClassifier(**params).fit(X, y)
    assert len(program._SHARED) == 1  # traced once, used twice
    SnapshotEnsembleClassifier(**{**params, "hidden_layer_sizes": (17,)}).fit(X, y)
    assert len(program._SHARED) == 2  # another network, another program

    monkeypatch.setattr(training, "program_key", lambda model, arrays: None)
    own = SnapshotEnsembleClassifier(**params).fit(X, y)
    for a, b, c in zip(shared.snapshots_, again.snapshots_, own.snapshots_, strict=True):
        for wa, wb, wc in zip(a, b, c, strict=True):
            np.testing.assert_array_equal(wa, wb)
            np.testing.assert_allclose(wa, wc, rtol=1e-6, atol=1e-7)
    # The shared program left the fit's own optimizer where it would have been.
    assert len(shared.history_["loss"]) == 3


def test_program_keys_ignore_names_but_not_structure():
    def mlp(units, activation="relu"):
        inputs = keras.Input((3,))
        hidden = keras.layers.Dense(units, activation=activation)(inputs)
        return keras.Model(inputs, keras.layers.Dense(2)(hidden))

    assert cache.network_key(mlp(4)) is not None
    assert cache.network_key(mlp(4)) == cache.network_key(mlp(4))
    assert cache.network_key(mlp(4)) != cache.network_key(mlp(5))
    assert cache.network_key(mlp(4)) != cache.network_key(mlp(4, "tanh"))
    # An unpickled network (a pickled estimator's model_) keeps its key, hence its forward.
    assert cache.network_key(pickle.loads(pickle.dumps(mlp(4)))) == cache.network_key(mlp(4))

    class Custom(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    assert cache.network_key(Custom()) is None  # user code: never shared
    assert cache.network_key(mlp(4, activation=lambda x: 2 * x)) is None


class ScaleLayer(keras.layers.Layer):
    """A user-defined layer: user code, so the network is never shared between fits."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.scale


def _user_model(kind):
    def build(meta):
        n_features, n_classes = meta["n_features_in_"], meta["n_classes_"]
        if kind == "sequential":
            model = keras.Sequential(
                [
                    keras.Input((n_features,)),
                    keras.layers.Dense(16, activation="relu"),
                    keras.layers.BatchNormalization(),
                    keras.layers.Dropout(0.3),
                    keras.layers.Dense(n_classes, activation="softmax"),
                ]
            )
        elif kind == "custom layer":
            inputs = keras.Input((n_features,))
            hidden = keras.layers.Dense(16, activation="relu")(ScaleLayer()(inputs))
            hidden = keras.layers.Dropout(0.3)(keras.layers.BatchNormalization()(hidden))
            outputs = keras.layers.Dense(n_classes, activation="softmax")(hidden)
            model = keras.Model(inputs, outputs)
        else:
            inputs = keras.Input((n_features,))
            left = keras.layers.Dense(8, activation="tanh")(inputs)
            right = keras.layers.Dropout(0.2)(keras.layers.Dense(8, activation="relu")(inputs))
            merged = keras.layers.BatchNormalization()(keras.layers.Concatenate()([left, right]))
            outputs = keras.layers.Dense(n_classes, activation="softmax")(merged)
            model = keras.Model(inputs, outputs)
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
        return model

    return build


@pytest.mark.parametrize("kind", ["sequential", "functional", "custom layer"])
def test_user_model_with_dropout_and_batchnorm_predicts_through_the_member_path(kind):
    X, y = make_blobs(n_samples=1500, centers=3, n_features=4, random_state=0)
    X = X.astype(np.float32)
    clf = SnapshotEnsembleClassifier(
        _user_model(kind), n_cycles=3, epochs=4, max_learning_rate=0.02, random_state=0
    ).fit(X, y)
    # 1500 rows are padded to 2048; 200 rows to 256.
    for rows in (X, X[:200]):
        hand = as_probabilities(hand_member_outputs(clf, rows))  # set_weights + predict
        np.testing.assert_allclose(clf.member_predict_proba(rows), hand, atol=1e-5)
        np.testing.assert_allclose(clf.predict_proba(rows), hand.mean(0), atol=1e-5)
    forward = _forward_for(clf.model_)
    xla = kind != "custom layer"  # networks of built-in layers share an XLA forward
    if xla:  # (xla, members per call, rows per call): every row size compiled at once
        assert set(forward._functions) == {(True, 16, 128), (True, 16, 1024), (True, 16, 8192)}
    else:  # one plain graph for every number of members and rows
        assert set(forward._functions) == {(False,)}
    # A member's output does not depend on which members are evaluated with it.
    encoded = clf._prepare(X)
    members = member_outputs(clf.model_, clf.snapshots_, encoded)
    for k in (1, 2):
        last = member_outputs(clf.model_, clf.snapshots_[-k:], encoded)
        np.testing.assert_array_equal(last, members[-k:])
    # The fitted model's own weights are not those of every member: the path never
    # loads a snapshot into it.
    first = clf.snapshots_[0]
    assert not all(
        np.array_equal(a, b) for a, b in zip(clf.model_.get_weights(), first, strict=True)
    )


def test_prediction_is_chunked_and_padded_without_changing_results(blobs, tiny_params):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**tiny_params).fit(X, y)
    encoded = clf._prepare(X)
    whole = member_outputs(clf.model_, clf.snapshots_, encoded)
    chunked = member_outputs(clf.model_, clf.snapshots_, encoded, chunk_rows=70)
    np.testing.assert_allclose(chunked, whole, atol=1e-6)
    assert whole.shape == (3, len(X), 3)
    one_row = member_outputs(clf.model_, clf.snapshots_, encoded[:1])
    np.testing.assert_allclose(one_row, whole[:, :1], atol=1e-6)


def test_a_fit_compiles_the_network_once(blobs, monkeypatch):
    """The optimizer scikeras compiled trains the network and stays with it after fit."""
    X, y = blobs
    calls = []
    compile_ = keras.Model.compile

    def counting_compile(self, *args, **kwargs):
        calls.append(type(self).__name__)
        return compile_(self, *args, **kwargs)

    params = dict(hidden_layer_sizes=(8,), n_cycles=2, epochs=4, random_state=0)
    SnapshotEnsembleClassifier(**params).fit(X, y)  # the shared program exists now
    monkeypatch.setattr(keras.Model, "compile", counting_compile)
    clf = SnapshotEnsembleClassifier(**params).fit(X, y)
    assert len(calls) == 1
    # ...and trained with it: the optimizer counted every step of the fit.
    assert int(clf.model_.optimizer.iterations.numpy()) == 4 * int(np.ceil(len(X) / 32))
