"""The XLA-compiled training program (``jit_compile``): same training, static shapes."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import sksnapshot._program as program
from sksnapshot import SnapshotEnsembleClassifier, SnapshotEnsembleRegressor

TINY = dict(hidden_layer_sizes=(8,), n_cycles=2, epochs=4, random_state=0)


def _xla_compilations():
    """Shapes the shared XLA programs of this process have been compiled for."""
    return sum(
        p.compilations
        for p in program._SHARED._items.values()
        if isinstance(p, program.XlaTrainingProgram)
    )


@pytest.mark.parametrize("weighted", [False, True])
def test_one_epoch_under_xla_equals_the_plain_program(blobs, weighted):
    # 100 rows in batches of 32: the last batch of the epoch has 4 rows, which XLA pads
    # with rows of weight zero and a scaled weight: the same loss and gradient.
    X, y = blobs[0][:100], blobs[1][:100]
    weights = np.where(y == 1, 2.5, 1.0) if weighted else None
    params = dict(hidden_layer_sizes=(8,), n_cycles=1, epochs=1, random_state=0)
    fits = {
        jit: SnapshotEnsembleClassifier(**params, jit_compile=jit).fit(X, y, sample_weight=weights)
        for jit in (True, False)
    }
    for got, want in zip(fits[True].snapshots_[0], fits[False].snapshots_[0], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # ...and not trivially: the epoch moved the weights.
    fresh = SnapshotEnsembleClassifier(**{**params, "epochs": 1, "max_learning_rate": 1e-12})
    start = fresh.fit(X, y).snapshots_[0]
    moved = zip(start, fits[True].snapshots_[0], strict=True)
    assert max(np.abs(a - b).max() for a, b in moved) > 1e-3


def test_class_weight_under_xla_equals_the_plain_program(blobs):
    X, y = blobs[0][:90], blobs[1][:90]
    params = dict(TINY, class_weight={0: 3.0, 1: 1.0, 2: 0.5}, batch_size=20)
    xla = SnapshotEnsembleClassifier(**params, jit_compile=True).fit(X, y)
    plain = SnapshotEnsembleClassifier(**params, jit_compile=False).fit(X, y)
    np.testing.assert_allclose(xla.predict_proba(X), plain.predict_proba(X), atol=1e-5)


def test_folds_of_different_sizes_reuse_one_compiled_program(blobs):
    X, y = blobs
    SnapshotEnsembleClassifier(**TINY, jit_compile=True).fit(X[:80], y[:80])
    compiled = _xla_compilations()
    assert compiled >= 1
    for n_rows in (81, 95, 64):  # other fold sizes, same network and batch size
        SnapshotEnsembleClassifier(**TINY, jit_compile=True).fit(X[:n_rows], y[:n_rows])
    assert _xla_compilations() == compiled


def test_same_seed_gives_bit_identical_fits_under_xla(blobs):
    X, y = blobs
    first, second = (
        SnapshotEnsembleClassifier(**TINY, jit_compile=True).fit(X, y) for _ in range(2)
    )
    for a, b in zip(first.snapshots_[-1], second.snapshots_[-1], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


class _NoXla(keras.layers.Layer):
    """Adds zero computed by an operation XLA has no kernel for (StatelessShuffle)."""

    def call(self, x):
        shuffled = tf.random.experimental.stateless_shuffle(tf.range(3), seed=[1, 2])
        return x + 0.0 * tf.cast(tf.reduce_sum(shuffled), x.dtype)


def _no_xla_model(meta):
    inputs = keras.Input((meta["n_features_in_"],))
    hidden = _NoXla()(keras.layers.Dense(8, activation="relu")(inputs))
    outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    return model


def test_auto_falls_back_with_one_warning_naming_the_reason(blobs):
    X, y = blobs
    with pytest.warns(UserWarning, match="training without XLA because XLA cannot compile") as w:
        clf = SnapshotEnsembleClassifier(**TINY, model=_no_xla_model).fit(X, y)
    assert len([r for r in w if "without XLA" in str(r.message)]) == 1
    assert "StatelessShuffle" in str(w[0].message)
    assert len(clf.snapshots_) == 2 and np.isfinite(clf.predict_proba(X)).all()
    # The plain program is what it fell back to: the same fit as with jit_compile=False.
    plain = SnapshotEnsembleClassifier(**TINY, model=_no_xla_model, jit_compile=False).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), plain.predict_proba(X))


def test_jit_compile_true_raises_where_xla_cannot_be_used(blobs):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**TINY, model=_no_xla_model, jit_compile=True)
    with pytest.raises(ValueError, match=r"jit_compile=True, but XLA cannot train .*StatelessShuf"):
        clf.fit(X, y)
    assert not hasattr(clf, "snapshots_")  # nothing half-fitted is left
    eager = SnapshotEnsembleRegressor(**TINY, run_eagerly=True, jit_compile=True)
    with pytest.raises(ValueError, match=r"jit_compile=True.*run_eagerly=True"):
        eager.fit(X, y.astype(float))


def test_run_eagerly_with_auto_trains_without_xla_and_says_so(blobs):
    X, y = blobs
    with pytest.warns(UserWarning, match=r"without XLA because the model runs eagerly"):
        SnapshotEnsembleRegressor(**TINY, run_eagerly=True).fit(X[:40], y[:40].astype(float))


def test_jit_compile_is_validated():
    with pytest.raises(ValueError, match="The 'jit_compile' parameter"):
        SnapshotEnsembleClassifier(jit_compile="yes").fit([[0.0], [1.0]], [0, 1])


def test_a_small_block_budget_splits_calls_without_changing_the_training(blobs, monkeypatch):
    # Full-batch training of wide rows would make one call's block of batches large: the
    # program then runs fewer steps per compiled call. Forced here with a tiny budget.
    X, y = blobs[0][:90], blobs[1][:90]
    params = dict(TINY, batch_size=-1, epochs=12, n_cycles=2)
    plain = SnapshotEnsembleClassifier(**params, jit_compile=False).fit(X, y)
    monkeypatch.setattr(program, "XLA_MAX_BLOCK_BYTES", 4 * 90 * 16)  # 2 steps a call
    compiled = _xla_compilations()
    split = SnapshotEnsembleClassifier(**params, jit_compile=True).fit(X, y)
    assert _xla_compilations() > compiled  # a new (smaller) block shape
    np.testing.assert_allclose(split.predict_proba(X), plain.predict_proba(X), atol=1e-5)
