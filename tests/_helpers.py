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
