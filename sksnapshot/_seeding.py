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
"""

import random
import threading
from contextlib import contextmanager

__all__ = ["isolated_default_seeds"]

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
