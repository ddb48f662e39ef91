"""GridSearchCV on a dask.distributed cluster of worker processes (the [dask] recipe)."""

import os

import dask
import distributed  # the [dask] extra, part of [test]
import numpy as np
import pytest
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV

from sksnapshot import SnapshotEnsembleClassifier

GRID = {"n_cycles": [2, 4], "max_learning_rate": [0.02, 0.1]}


def _search():
    return GridSearchCV(
        SnapshotEnsembleClassifier(hidden_layer_sizes=(16,), epochs=20, random_state=0),
        GRID,
        cv=2,
    )


@pytest.mark.slow
def test_grid_search_on_a_local_cluster_matches_the_serial_search(blobs):
    X, y = blobs
    serial = _search().set_params(n_jobs=1).fit(X, y)
    # dask's nanny starts workers with OMP_NUM_THREADS=1 (and MKL/OpenBLAS likewise):
    # TensorFlow's kernels then round differently in the last bits, and SGD amplifies
    # that over thousands of steps. Start them with this process's thread settings.
    environ = {"MALLOC_TRIM_THRESHOLD_": 65536}
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ": environ}),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        threads = client.run(lambda: os.environ.get("OMP_NUM_THREADS"))
        assert set(threads.values()) == {os.environ.get("OMP_NUM_THREADS")}
        with parallel_config(backend="dask"):
            on_cluster = _search().set_params(n_jobs=-1).fit(X, y)
    # Every candidate was scored on the cluster, on the same folds.
    assert len(on_cluster.cv_results_["params"]) == len(serial.cv_results_["params"]) == 4
    assert on_cluster.cv_results_["params"] == serial.cv_results_["params"]
    # KNOWN ISSUE (see docs/scaling.md): fits on dask workers differ from the same seeded
    # fits in this process by float rounding that SGD amplifies, so a fold's accuracy can
    # differ by a few of its 150 test rows; in plain subprocesses and in loky workers they
    # are bit-identical (tests/test_reproducibility.py, tests/test_classifier.py). Until
    # that is found, the scores must agree to within 0.05 (about 7 test rows per fold).
    np.testing.assert_allclose(
        on_cluster.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"], atol=0.05
    )
    assert on_cluster.best_score_ == pytest.approx(serial.best_score_, abs=0.05)
    assert on_cluster.best_score_ > 0.9
