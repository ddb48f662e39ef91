"""Keras' default seeds drawn from a generator of the building thread's own.

Keras 3 gives every initializer built without an explicit ``seed`` (``Dense``'s default
``glorot_uniform`` included), and every layer that makes its own seed, one drawn with
``random.randint`` from Python's process-wide generator. scikeras seeds that generator
with ``random.seed(random_state)`` just before it calls the model builder, so a seeded
fit draws the same initial weights every time -- as long as no other thread of the
process draws from ``random`` in between. Dask workers do: their event loop runs
tornado periodic callbacks whose jitter comes from ``random.random()``. So seeded fits
on a dask worker started from different initial weights now and then, and a
``GridSearchCV`` on the cluster did not reproduce the serial search.

:func:`isolated_default_seeds` makes the Keras default seeds drawn *by the building
thread* come from ``random.Random(seed)``: the same sequence ``random.seed(seed)``
starts, so the weights of a fit in a quiet process do not change, while every other
thread keeps drawing from ``random``. It replaces the ``python_random`` name that
Keras' ``keras.src.random.seed_generator`` module draws from (private, so the function
does nothing if a future Keras moves it; ``tests/test_reproducibility.py`` then fails).

:func:`seeded` is the seeded context of a fit: scikeras' ``tensorflow_random_state``
(Python's and numpy's generators, TensorFlow's global seed, op determinism), except
that it can set TensorFlow's global seed *without clearing TensorFlow's kernel cache*.
``tf.random.set_seed`` clears that cache (so that a stateful random kernel, such as
``tf.random.normal`` called eagerly, starts its sequence again); the next call of every
compiled function then instantiates it anew: about 60 ms for the training program's
batch drawing, more than half of a reference fit, at each of the four seed changes of
a seeded fit. The default network draws all its randomness from Keras' default seeds
and stateless operations, so its fits keep the cache; a ``model`` of the user's may
call stateful random operations, so its fits clear it as before.
"""

import os
import random
import threading
from contextlib import contextmanager

import numpy as np
import tensorflow as tf
from tensorflow.python.eager import context
from tensorflow.python.framework import config

__all__ = ["isolated_default_seeds", "seeded"]

# Model builds in threads of one process take turns: each installs and restores the
# module attribute, which must not interleave.
_BUILD_LOCK = threading.RLock()


class _ThreadOwnRandom:
    """``random``-like: one thread draws from its own generator, all others from ``shared``."""

    def __init__(self, shared, owner, own):
        self._shared = shared
        self._owner = owner
        self._own = own

    def __getattr__(self, name):
        source = self._own if threading.get_ident() == self._owner else self._shared
        return getattr(source, name)


def _keras_seed_module():
    try:
        from keras.src.random import seed_generator
    except ImportError:  # pragma: no cover - layout of a future Keras
        return None
    if not hasattr(getattr(seed_generator, "python_random", None), "randint"):
        return None  # pragma: no cover - layout of a future Keras
    return seed_generator


@contextmanager
def isolated_default_seeds(seed):
    """Within the block, this thread's Keras default seeds come from ``Random(seed)``.

    Parameters
    ----------
    seed : int
        Seed of the private generator, the one scikeras passes to ``random.seed``.
    """
    module = _keras_seed_module()
    if module is None:  # pragma: no cover - layout of a future Keras
        yield
        return
    with _BUILD_LOCK:
        shared = module.python_random
        module.python_random = _ThreadOwnRandom(shared, threading.get_ident(), random.Random(seed))
        try:
            yield
        finally:
            module.python_random = shared


def _set_global_seed(seed, reset_kernels):
    """``tf.random.set_seed(seed)``; without ``reset_kernels``, keep the kernel cache.

    TensorFlow's eager context keeps the global seed and the generator of operation
    seeds drawn from it in two attributes (private: where a future TensorFlow moves
    them, this falls back to ``tf.random.set_seed``).
    """
    ctx = context.context()
    if reset_kernels or not (hasattr(ctx, "_seed") and hasattr(ctx, "_rng")):
        tf.random.set_seed(seed)
        return
    ctx._seed = seed
    ctx._rng = random.Random(seed) if seed is not None else None


@contextmanager
def seeded(seed, reset_kernels=True):
    """Seed Python, numpy and TensorFlow for the block, and turn on op determinism.

    The same as scikeras' ``tensorflow_random_state`` (the state is restored after
    the block), except that with ``reset_kernels=False`` TensorFlow's global seed is set
    without clearing its kernel cache (see the module's docstring). A no-op for
    ``seed=None``.

    Parameters
    ----------
    seed : int or None
        The fit's integer seed.
    reset_kernels : bool, default=True
        Whether stateful random kernels start their sequences anew (as
        ``tf.random.set_seed`` has them do), at the cost of instantiating every compiled
        function again at its next call.
    """
    if seed is None:
        yield
        return
    previous_flag = os.environ.get("TF_DETERMINISTIC_OPS")
    python_state, numpy_state = random.getstate(), np.random.get_state()
    previous_seed = context.global_seed()
    was_deterministic = config.is_op_determinism_enabled()
    try:
        os.environ["TF_DETERMINISTIC_OPS"] = "1"
        random.seed(seed)
        np.random.seed(seed)
        _set_global_seed(seed, reset_kernels)
        config.enable_op_determinism()
        yield
    finally:
        if previous_flag is None:
            os.environ.pop("TF_DETERMINISTIC_OPS", None)
        else:
            os.environ["TF_DETERMINISTIC_OPS"] = previous_flag
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        _set_global_seed(previous_seed, reset_kernels)
        if not was_deterministic:
            config.disable_op_determinism()
