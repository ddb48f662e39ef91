"""Memory across many fits: what a fit built is released, TensorFlow's registry stays flat."""

import gc
import json
import os
import subprocess
import sys
import weakref
from contextlib import nullcontext
from pathlib import Path

import pytest

import sksnapshot._training
from sksnapshot import SnapshotEnsembleClassifier, _tensorflow

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "memory_many_fits.py"
SMALL = dict(hidden_layer_sizes=(4,), n_cycles=2, epochs=2)


def _registry_size():
    registry = _tensorflow._gradient_registry()
    assert registry is not None, "TensorFlow's gradient registry moved: update _tensorflow.py"
    return sum(key.startswith("CustomGradient-") for key in registry)


def test_fits_leave_no_entries_in_the_gradient_registry(blobs):
    X, y = blobs
    SnapshotEnsembleClassifier(**SMALL).fit(X, y)  # warm-up
    before = _registry_size()
    for seed in range(3):
        SnapshotEnsembleClassifier(**SMALL, random_state=seed).fit(X, y).predict(X)
    assert _registry_size() == before


def test_without_the_cleanup_the_registry_grows(blobs, monkeypatch):
    # Shows what the cleanup is for (and that the test above can fail).
    X, y = blobs
    monkeypatch.setattr(sksnapshot._training, "released_graph_state", nullcontext)
    registry = _tensorflow._gradient_registry()
    keys = set(registry)
    # A network structure no other test uses: fits of one structure share a traced
    # training program, and only tracing registers gradients.
    SnapshotEnsembleClassifier(**{**SMALL, "hidden_layer_sizes": (37, 3)}).fit(X, y)
    added = [k for k in registry if k not in keys and k.startswith("CustomGradient-")]
    assert added
    for key in added:  # leave the registry as the other tests expect it
        registry.pop(key)


def test_a_missing_registry_is_skipped_silently(blobs, monkeypatch):
    X, y = blobs
    monkeypatch.setattr(_tensorflow, "_gradient_registry", lambda: None)
    assert len(SnapshotEnsembleClassifier(**SMALL).fit(X, y).snapshots_) == 2


def test_the_network_of_a_fit_is_released_with_its_estimator(blobs):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(**SMALL).fit(X, y)
    clf.predict_proba(X)
    first = weakref.ref(clf.model_)
    clf.fit(X, y)  # a refit builds a new network; the old one must go
    gc.collect()
    assert first() is None
    second = weakref.ref(clf.model_)
    del clf
    gc.collect()
    assert second() is None


@pytest.mark.slow
def test_memory_stays_bounded_over_200_fits():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, str(BENCHMARK), "--variant", "cleanup", "--fits", "200"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    curve = json.loads(result.stdout.strip().splitlines()[-1])["curve"]
    # After the warm-up (the first 20 fits fill TensorFlow's and Keras' caches), the next
    # 180 fits may add at most 100 MB. Measured: +14 MB with the cleanup (the curve moves
    # by about +-25 MB as the allocator returns memory), +675 MB without it.
    warm = dict(curve)[20]
    assert max(rss for n, rss in curve if n >= 20) - warm < 100, curve
