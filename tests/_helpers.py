"""Test helpers shared by several test modules."""

import keras
import numpy as np


class StepRecorder(keras.callbacks.Callback):
    """Records the optimizer's step count and learning rate at cycle starts and ends."""

    def __init__(self):
        super().__init__()
        self.begin, self.end, self.begin_rates = [], [], []

    def _step(self):
        return int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_epoch_begin(self, epoch, logs=None):
        self.begin.append(self._step())
        rate = self.model.optimizer.learning_rate
        self.begin_rates.append(float(keras.ops.convert_to_numpy(rate)))

    def on_epoch_end(self, epoch, logs=None):
        self.end.append(self._step())


def hand_member_outputs(estimator, X, weights_list=None):
    """Every snapshot's raw output through a separate Keras model and plain ``predict``."""
    twin = keras.models.clone_model(estimator.model_)
    outputs = []
    for weights in estimator.snapshots_ if weights_list is None else weights_list:
        twin.set_weights(weights)
        outputs.append(twin.predict(np.asarray(X, dtype=np.float32), verbose=0))
    return np.array(outputs)


def as_probabilities(raw):
    """Two columns for one sigmoid unit, as the classifier reports them."""
    return np.concatenate([1 - raw, raw], axis=-1) if raw.shape[-1] == 1 else raw


class StartWeights(keras.callbacks.Callback):
    """The model's weights when each training run begins (``on_train_begin``)."""

    def __init__(self):
        super().__init__()
        self.weights = []

    def on_train_begin(self, logs=None):
        self.weights.append([np.array(w, copy=True) for w in self.model.get_weights()])


def assert_continues(estimator, recorder, fit, n_new_cycles):
    """Run ``fit``, a warm-started fit of ``estimator``, and check that it continued.

    ``recorder`` is a :class:`StartWeights` among the estimator's callbacks since its
    first fit (a callback set with ``set_params`` after that is not used by a
    warm-started fit). The fit must start from the last snapshot of the previous fit,
    keep the previous snapshots, and append ``n_new_cycles`` entries to every list of
    ``history_``.
    """
    last = [np.array(w, copy=True) for w in estimator.snapshots_[-1]]
    previous = [[np.array(w, copy=True) for w in s] for s in estimator.snapshots_]
    history = {key: list(values) for key, values in estimator.history_.items()}
    n_runs = len(recorder.weights)
    fit()
    assert len(recorder.weights) == n_runs + 1
    for got, want in zip(recorder.weights[-1], last, strict=True):
        np.testing.assert_array_equal(got, want)
    assert len(estimator.snapshots_) == len(previous) + n_new_cycles
    for kept, before in zip(estimator.snapshots_[: len(previous)], previous, strict=True):
        for a, b in zip(kept, before, strict=True):
            np.testing.assert_array_equal(a, b)
    assert set(estimator.history_) == set(history)
    for key, values in history.items():
        assert len(estimator.history_[key]) == len(values) + n_new_cycles, key
        assert list(estimator.history_[key][: len(values)]) == values, key


class PoisonWeights(keras.callbacks.Callback):
    """Sets every weight to NaN when cycle ``cycle`` (0-based) begins."""

    def __init__(self, cycle):
        super().__init__()
        self.cycle = cycle

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.cycle:
            self.model.set_weights([np.full_like(w, np.nan) for w in self.model.get_weights()])


def user_model(meta):
    """A model of the user's: Keras' default (unseeded) initializers, compiled by itself."""
    model = keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    return model
