"""Process-wide TensorFlow state that many fits in one process must not accumulate or leak.

Two facts about TensorFlow 2.21 / Keras 3 (see ``docs/robustness.md``):

* TensorFlow reads ``TF_DETERMINISTIC_OPS`` lazily, on first use. A seeded fit sets it
  inside its seeded context (:func:`sksnapshot._seeding.seeded`, as scikeras' does), so
  if the first read happens there, op determinism stays on for the whole process and a
  later *unseeded* fit fails ("Random ops require a seed").
  :func:`read_determinism_flag` makes the first read happen at import time instead.
* Every traced Keras train step registers a ``CustomGradient-<uid>`` entry in
  TensorFlow's process-wide gradient registry that is never removed and keeps the whole
  traced graph alive (2-3.5 MB per fit). :func:`released_graph_state` removes the
  entries a fit created once it is over; they are only consulted while tracing. The
  registry is private to TensorFlow, so the cleanup does nothing if it is missing.
"""

import threading
from contextlib import contextmanager

__all__ = ["read_determinism_flag", "released_graph_state"]

_PREFIX = "CustomGradient-"
# Fits in threads of one process are serialised while the registry is cleaned up, so
# that one fit never removes the entries another fit is still tracing with.
_FIT_LOCK = threading.RLock()


def read_determinism_flag():
    """Make TensorFlow read ``TF_DETERMINISTIC_OPS`` now, outside any seeded context.

    Uses the same private accessor as scikeras; does nothing if it is missing.
    """
    try:
        from tensorflow.python.framework import config
    except ImportError:  # pragma: no cover - layout of a future TensorFlow
        return None
    is_enabled = getattr(config, "is_op_determinism_enabled", None)
    return is_enabled() if is_enabled is not None else None


def _gradient_registry():
    try:
        from tensorflow.python.framework import ops
    except ImportError:  # pragma: no cover - layout of a future TensorFlow
        return None
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else None


@contextmanager
def released_graph_state():
    """Run a fit; afterwards drop the gradient-registry entries it created."""
    with _FIT_LOCK:
        registry = _gradient_registry()
        before = set(registry) if registry is not None else set()
        try:
            yield
        finally:
            if registry is not None:
                for key in [k for k in registry if k.startswith(_PREFIX) and k not in before]:
                    registry.pop(key, None)
