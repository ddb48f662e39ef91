"""What a fit does once per process, not once per fit (issue 12, target 1).

A reference fit is 2,000 steps of microseconds each; its time is the per-fit work around
them. These tests pin the three costs that made up most of it: TensorFlow's kernel
cache cleared by seeding, optimizers made (and named) anew, and compiled functions
dispatched through ``tf.function``.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from _helpers import user_model
from tensorflow.python.eager import context

import sksnapshot._program as program
from sksnapshot import SnapshotEnsembleClassifier

TINY = dict(hidden_layer_sizes=(8,), n_cycles=2, epochs=4, n_networks=1, random_state=0)


@pytest.fixture
def cache_clears(monkeypatch):
    """Count the clearings of TensorFlow's kernel cache (``tf.random.set_seed`` does it)."""
    calls = []
    clear = context.pywrap_tfe.TFE_ContextClearCaches

    def counted(handle):
        calls.append(handle)
        return clear(handle)

    monkeypatch.setattr(context.pywrap_tfe, "TFE_ContextClearCaches", counted)
    return calls


def test_a_seeded_fit_of_the_default_network_keeps_the_kernel_cache(blobs, cache_clears):
    X, y = blobs
    SnapshotEnsembleClassifier(**TINY).fit(X, y)
    assert cache_clears == []
    # ...while the seeds are still TensorFlow's during the fit, and restored after it.
    seen = []

    class Seed(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen.append(context.global_seed())

    tf.random.set_seed(None)
    cache_clears.clear()
    SnapshotEnsembleClassifier(**TINY, callbacks=[Seed()]).fit(X, y)
    assert seen == [0]
    assert context.global_seed() is None
    assert cache_clears == []


def test_a_seeded_fit_of_a_users_model_still_resets_the_random_kernels(blobs, cache_clears):
    # A model of the user's may draw from stateful TensorFlow random kernels, which only
    # a cleared cache starts anew: its fits seed TensorFlow as scikeras does.
    X, y = blobs
    SnapshotEnsembleClassifier(user_model, **TINY).fit(X, y)
    assert len(cache_clears) >= 2


def test_a_users_model_with_stateful_random_ops_is_still_reproducible(blobs):
    X, y = blobs

    def noisy_model(meta):
        model = user_model(meta)
        # Eager, stateful and unseeded: reproducible only if the kernel cache is reset.
        for weights in model.trainable_variables[:1]:
            weights.assign_add(tf.random.normal(weights.shape, stddev=0.3))
        return model

    first = SnapshotEnsembleClassifier(noisy_model, **TINY).fit(X, y).predict_proba(X)
    second = SnapshotEnsembleClassifier(noisy_model, **TINY).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)


def test_the_default_optimizer_is_made_once_under_a_fixed_name(blobs, monkeypatch):
    # Keras names optimizers sgd_1, sgd_2, ... and their variables after them; every
    # new variable name costs TensorFlow a new kernel (about 1 ms, kept for good).
    X, y = blobs
    made = []
    init = keras.optimizers.SGD.__init__

    def counted(self, *args, **kwargs):
        made.append(kwargs.get("name"))
        init(self, *args, **kwargs)

    # Warm-up: the optimizer's class is known and the shared programs (one per
    # optimizer configuration, each with an optimizer of its own) are made.
    for momentum in (0.5, 0.8):
        SnapshotEnsembleClassifier(**TINY, momentum=momentum).fit(X, y)
    monkeypatch.setattr(keras.optimizers.SGD, "__init__", counted)
    fits = [SnapshotEnsembleClassifier(**TINY, momentum=m).fit(X, y) for m in (0.5, 0.8)]
    assert made == ["sgd", "sgd"]
    for fit, momentum in zip(fits, (0.5, 0.8), strict=True):
        assert fit.model_.optimizer.name == "sgd"
        assert fit.model_.optimizer.momentum == momentum
    names = [[v.path for v in fit.model_.optimizer.variables] for fit in fits]
    assert names[0] == names[1]


def test_routed_optimizer_settings_still_win(blobs):
    X, y = blobs
    routed = SnapshotEnsembleClassifier(
        **TINY, optimizer__momentum=0.3, optimizer__name="mine", optimizer__nesterov=True
    ).fit(X, y)
    optimizer = routed.model_.optimizer
    assert (optimizer.momentum, optimizer.name, optimizer.nesterov) == (0.3, "mine", True)
    adam = SnapshotEnsembleClassifier(**TINY, optimizer="adam").fit(X, y)
    assert isinstance(adam.model_.optimizer, keras.optimizers.Adam)
    assert adam.model_.optimizer.name == "adam"
    given = keras.optimizers.SGD(momentum=0.2, name="given")
    own = SnapshotEnsembleClassifier(**TINY, optimizer=given).fit(X, y)
    assert (own.model_.optimizer.name, own.model_.optimizer.momentum) == ("given", 0.2)


def test_the_xla_program_is_traced_once_for_all_fits(blobs):
    X, y = blobs
    SnapshotEnsembleClassifier(**TINY, jit_compile=True).fit(X, y)
    programs = [
        p for p in program._SHARED._items.values() if isinstance(p, program.XlaTrainingProgram)
    ]
    assert programs
    traced = {id(p): p._steps.experimental_get_tracing_count() for p in programs}
    for seed in (1, 2, 3):
        SnapshotEnsembleClassifier(**{**TINY, "random_state": seed}, jit_compile=True).fit(X, y)
    assert {id(p): p._steps.experimental_get_tracing_count() for p in programs} == traced


def test_the_metrics_reset_inside_the_xla_call_restarts_every_cycle(blobs):
    # The XLA program zeroes the metrics in its first call of a cycle (no call of its
    # own): every cycle's logged loss is that cycle's, as with the plain program.
    X, y = blobs
    params = dict(TINY, n_cycles=4, epochs=40)
    xla = SnapshotEnsembleClassifier(**params, jit_compile=True).fit(X, y).history_["loss"]
    plain = SnapshotEnsembleClassifier(**params, jit_compile=False).fit(X, y).history_["loss"]
    # (The padded last batch of an epoch weighs like a full one in XLA's loss tracker.)
    np.testing.assert_allclose(xla, plain, rtol=0.05)
    assert plain[-1] < 0.5 * plain[0]  # a falling loss, so a running mean would differ


def test_snapshots_taken_from_the_xla_call_equal_the_models_weights(blobs, monkeypatch):
    # Without callbacks of the user's, nothing changes the weights between a cycle's
    # last compiled call and its end: the snapshot takes what that call read.
    import sksnapshot._snapshots as snapshots

    X, y = blobs
    reads = []
    read = snapshots._step_and_weights
    monkeypatch.setattr(
        snapshots, "_step_and_weights", lambda model: reads.append(1) or read(model)
    )
    params = dict(TINY, n_networks=2, jit_compile=True)
    fast = SnapshotEnsembleClassifier(**params).fit(X, y)
    assert reads == []
    observed = SnapshotEnsembleClassifier(**params, callbacks=[keras.callbacks.Callback()])
    observed.fit(X, y)
    assert len(reads) == TINY["n_cycles"]  # a callback of the user's: the model is read
    for got, want in zip(fast.snapshots_, observed.snapshots_, strict=True):
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fast.model_.get_weights()[0], fast.snapshots_[-1][0])


def test_a_callback_that_changes_the_weights_is_seen_by_the_snapshot(blobs):
    X, y = blobs

    class Zero(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.layers[-1].bias.assign(np.zeros(3, "float32"))

    fit = SnapshotEnsembleClassifier(**TINY, jit_compile=True, callbacks=[Zero()]).fit(X, y)
    for snapshot in fit.snapshots_:
        np.testing.assert_array_equal(snapshot[-1], np.zeros(3, "float32"))
