"""GridSearchCV on a dask.distributed cluster of worker processes (the [dask] recipe)."""

import distributed  # the [dask] extra, part of [test]
import numpy as np
import pytest
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV

from sksnapshot import SnapshotEnsembleClassifier

GRID = {"n_cycles": [2, 3], "max_learning_rate": [0.01, 0.05]}


def _search():
    return GridSearchCV(
        SnapshotEnsembleClassifier(hidden_layer_sizes=(8,), epochs=6, random_state=0),
        GRID,
        cv=2,
    )


@pytest.mark.slow
def test_grid_search_on_a_local_cluster_equals_the_serial_search(blobs):
    X, y = blobs
    serial = _search().set_params(n_jobs=1).fit(X, y)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        with parallel_config(backend="dask"):
            on_cluster = _search().set_params(n_jobs=-1).fit(X, y)
    np.testing.assert_array_equal(
        on_cluster.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    assert on_cluster.best_params_ == serial.best_params_
    np.testing.assert_array_equal(
        on_cluster.best_estimator_.predict_proba(X), serial.best_estimator_.predict_proba(X)
    )
