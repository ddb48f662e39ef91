"""Same seed, same probabilities across processes; prediction from several threads at once."""

import os
import pickle
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from sksnapshot import SnapshotEnsembleClassifier


def fitted_probabilities():
    """A seeded fit's probabilities on its training rows (also run in subprocesses)."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=200, centers=3, n_features=4, random_state=1)
    X = X.astype("float32")
    clf = SnapshotEnsembleClassifier(
        hidden_layer_sizes=(16,), n_cycles=3, epochs=12, validation_split=0.1, random_state=7
    )
    return clf.fit(X, y).predict_proba(X)


SUBPROCESS_CODE = """
import sys
import numpy as np
sys.path.insert(0, {tests!r})
from test_reproducibility import fitted_probabilities
np.save({out!r}, fitted_probabilities())
"""


def test_same_random_state_gives_identical_probabilities_in_separate_processes(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    tests = os.path.dirname(os.path.abspath(__file__))
    outputs = []
    for run in range(2):
        out = str(tmp_path / f"proba{run}.npy")
        code = SUBPROCESS_CODE.format(tests=tests, out=out)
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
        )
        assert result.returncode == 0, result.stderr[-3000:]
        outputs.append(np.load(out))
    np.testing.assert_array_equal(outputs[0], outputs[1])
    # ... and this process, which has already run other fits, agrees bit for bit too.
    np.testing.assert_array_equal(fitted_probabilities(), outputs[0])
    assert outputs[0].shape == (200, 3)


def _predict_in_threads(clf, inputs, repeats=5):
    """Every input predicted ``repeats`` times, from 4 threads started together."""
    barrier = threading.Barrier(4)

    def work(X):
        barrier.wait()
        return [clf.predict_proba(X) for _ in range(repeats)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(work, inputs))


def test_predict_proba_from_four_threads_equals_serial(blobs):
    X, y = blobs
    clf = SnapshotEnsembleClassifier(
        hidden_layer_sizes=(16,), n_cycles=4, epochs=8, random_state=0
    ).fit(X, y)
    # Different sizes (and so different compiled shapes), one shared by two threads.
    inputs = [X, X[:17], X[100:], X[:17]]
    # A copy that has never predicted: its first compilations happen in the threads.
    fresh = pickle.loads(pickle.dumps(clf))
    concurrent_fresh = _predict_in_threads(fresh, inputs)
    serial = [clf.predict_proba(x) for x in inputs]
    concurrent = _predict_in_threads(clf, inputs)
    for results in (concurrent, concurrent_fresh):
        for want, got in zip(serial, results, strict=True):
            for proba in got:
                np.testing.assert_array_equal(proba, want)
