"""Same seed, same probabilities across processes and beside busy threads; threaded prediction."""

import os
import pickle
import random
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
from _helpers import user_model
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV

from sksnapshot import SnapshotEnsembleClassifier
from sksnapshot._seeding import isolated_default_seeds


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


def test_seeded_fit_is_unaffected_by_other_threads_drawing_from_python_random(blobs):
    # A dask worker's event loop draws from Python's shared `random` (tornado's callback
    # jitter) while a task builds its model; Keras takes its default initializer seeds
    # from there. Before sksnapshot/_seeding.py every fit below differed from the quiet one.
    X, y = blobs

    def probabilities(model):
        clf = SnapshotEnsembleClassifier(
            model, hidden_layer_sizes=(8,), n_cycles=2, epochs=4, random_state=0
        )
        return clf.fit(X, y).predict_proba(X)

    quiet = {"default": probabilities(None), "user": probabilities(user_model)}
    stop = threading.Event()

    def draw():
        while not stop.is_set():
            random.random()

    drawer = threading.Thread(target=draw, daemon=True)
    drawer.start()
    try:
        busy = [
            (name, probabilities(model))
            for _ in range(3)
            for name, model in (("default", None), ("user", user_model))
        ]
    finally:
        stop.set()
        drawer.join()
    for name, proba in busy:
        np.testing.assert_array_equal(proba, quiet[name], err_msg=name)


def test_grid_search_in_threads_equals_the_serial_search(blobs):
    # Seeded fits running side by side in threads of one process (joblib's threading
    # backend, or a dask worker with several threads) give the serial search's scores.
    X, y = blobs

    def search():
        return GridSearchCV(
            SnapshotEnsembleClassifier(hidden_layer_sizes=(16,), epochs=12, random_state=0),
            {"n_cycles": [2, 4], "max_learning_rate": [0.02, 0.1]},
            cv=2,
        )

    serial = search().set_params(n_jobs=1).fit(X, y)
    with parallel_config(backend="threading"):
        threaded = search().set_params(n_jobs=3).fit(X, y)
    for key in ("split0_test_score", "split1_test_score"):
        np.testing.assert_array_equal(threaded.cv_results_[key], serial.cv_results_[key])


def test_isolated_default_seeds_follow_random_seed_in_this_thread_only():
    expected = random.Random(5)
    want = [expected.randint(1, int(1e9)) for _ in range(2)]
    random.seed(123)
    other_want = random.Random(123).randint(1, int(1e9))
    other_seeds = []

    def other_thread_builds():
        other_seeds.append(keras.initializers.GlorotUniform().seed)

    with isolated_default_seeds(5):
        first = keras.initializers.GlorotUniform().seed
        other = threading.Thread(target=other_thread_builds)
        other.start()
        other.join()
        second = keras.initializers.HeUniform().seed
    # This thread drew the sequence random.seed(5) starts, undisturbed by the other
    # thread, which drew its seed from the shared generator.
    assert [first, second] == want
    assert other_seeds == [other_want]
    # Afterwards Keras draws from the shared generator again.
    random.seed(9)
    assert keras.initializers.GlorotUniform().seed == random.Random(9).randint(1, int(1e9))
