"""The plain way to train a snapshot ensemble: the reference the fast path is checked against.

Keras' ``Model.fit`` on numpy arrays with real epochs (Keras shuffles every epoch), a
callback that sets the learning rate before every step and copies the weights after the
last step of every cycle. The estimators train the same schedule step for step and rate
for rate through :class:`~sksnapshot._program.TrainingProgram`; this runs at Keras'
speed (a fixed cost per epoch and per step) and serves tests and benchmarks only.
"""

import keras
import numpy as np

__all__ = ["plain_snapshot_fit"]


class _PlainSnapshots(keras.callbacks.Callback):
    """Set every step's rate before it; copy the weights after every cycle's last step."""

    def __init__(self, step_rates, step_lengths):
        super().__init__()
        self.step_rates = np.asarray(step_rates, dtype=np.float64)
        self.ends = set(np.cumsum(step_lengths).tolist())
        self.step = 0
        self.snapshots = []
        self.snapshot_steps = []

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate = float(self.step_rates[self.step])

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step in self.ends:
            self.snapshots.append([np.array(w, copy=True) for w in self.model.get_weights()])
            self.snapshot_steps.append(
                int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
            )


def plain_snapshot_fit(
    model,
    X,
    y,
    *,
    step_rates,
    step_lengths,
    epochs,
    batch_size,
    sample_weight=None,
    shuffle=True,
    callbacks=(),
):
    """Train ``model`` with ``Model.fit`` through a snapshot schedule, one step at a time.

    Parameters
    ----------
    model : keras.Model
        Compiled, with an optimizer whose learning rate is a float.
    X, y : ndarray
        Training data (``model.fit`` inputs).
    step_rates : ndarray of shape (n_steps,)
        Learning rate of every step.
    step_lengths : sequence of int
        Steps of every cycle (they sum to ``n_steps``).
    epochs, batch_size : int
        ``Model.fit``'s; ``epochs * ceil(len(X) / batch_size)`` must be ``n_steps``.
    sample_weight : ndarray or None
    shuffle : bool
    callbacks : sequence of keras.callbacks.Callback
        Further callbacks (run after the snapshot callback).

    Returns
    -------
    snapshots : list of list of ndarray
        The weights after the last step of every cycle.
    snapshot_steps : list of int
        The optimizer's step count when each snapshot was taken.
    """
    n_steps = epochs * -(-len(X) // batch_size)
    if n_steps != len(step_rates) or n_steps != int(np.sum(step_lengths)):
        raise ValueError(
            f"{epochs} epochs of batches of {batch_size} from {len(X)} rows are {n_steps} "
            f"steps, but step_rates has {len(step_rates)} and the cycles "
            f"{int(np.sum(step_lengths))}."
        )
    recorder = _PlainSnapshots(step_rates, step_lengths)
    model.fit(
        X,
        y,
        sample_weight=sample_weight,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        verbose=0,
        callbacks=[recorder, *callbacks],
    )
    return recorder.snapshots, recorder.snapshot_steps
