"""Training under a tf.distribute strategy: two logical CPU devices stand in for two GPUs."""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    import numpy as np
    from sklearn.datasets import make_blobs
    from sksnapshot import SnapshotEnsembleClassifier

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2

    def build(meta):
        with strategy.scope():
            model = keras.Sequential([
                keras.Input((meta["n_features_in_"],)),
                keras.layers.Dense(16, activation="relu"),
                keras.layers.Dense(meta["n_classes_"], activation="softmax"),
            ])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
        return model

    class RateRecorder(keras.callbacks.Callback):
        # The optimizer's step count and learning rate before every training call.

        def __init__(self):
            super().__init__()
            self.steps, self.rates = [], []

        def on_train_batch_begin(self, batch, logs=None):
            optimizer = self.model.optimizer
            self.steps.append(int(keras.ops.convert_to_numpy(optimizer.iterations)))
            self.rates.append(float(keras.ops.convert_to_numpy(optimizer.learning_rate)))

    recorder = RateRecorder()
    X, y = make_blobs(n_samples=200, centers=3, random_state=0)
    clf = SnapshotEnsembleClassifier(
        build, n_cycles=3, epochs=6, random_state=0, callbacks=[recorder]
    ).fit(X, y)
    assert type(clf.model_.distribute_strategy).__name__ == "MirroredStrategy"
    assert type(clf.model_.weights[0].value).__name__ == "MirroredVariable"
    assert len(clf.snapshots_) == 3
    # 200 rows in batches of 32 -> 7 steps per epoch, 6 epochs: 42 steps, 14 per cycle.
    assert int(clf.model_.optimizer.iterations.numpy()) == 0  # final optimizer is fresh
    assert len(clf.learning_rates_) == 42
    # One step per call under two replicas: the rate of every step the optimizer took
    # is the planned one.
    assert recorder.steps == list(range(42)), recorder.steps
    np.testing.assert_allclose(recorder.rates, clf.learning_rates_, rtol=1e-6)
    assert recorder.rates[0] > 10 * recorder.rates[13]  # annealed within the first cycle
    members = clf.member_predict_proba(X)
    assert members.shape == (3, 200, 3)
    assert not np.allclose(members[0], members[-1])
    np.testing.assert_allclose(clf.predict_proba(X), members.mean(0), atol=1e-12)
    print("SCORE", clf.score(X, y))
    """
)


def test_mirrored_strategy_on_two_logical_devices():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    score = float(result.stdout.split("SCORE")[-1])
    assert score > 0.8
