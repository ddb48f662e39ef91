"""The grid search of docs/scaling.md, serial and on a local dask cluster, side by side.

Prints the wall time of the same seeded ``GridSearchCV`` run with ``n_jobs=1`` in this
process and on a ``LocalCluster`` of worker processes (cluster start reported apart),
their ratio, and whether the two searches agree exactly (they must: seeded fits are
bit-identical wherever they run).

    python benchmarks/dask_search.py [--workers 2] [--epochs 200]
"""

import argparse
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import distributed  # noqa: E402
import numpy as np  # noqa: E402
from joblib import parallel_config  # noqa: E402
from sklearn.datasets import make_blobs  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from sksnapshot import SnapshotEnsembleClassifier  # noqa: E402

GRID = {"n_cycles": [5, 10], "max_learning_rate": [0.01, 0.05, 0.1]}
KEYS = [f"split{i}_test_score" for i in range(5)]


def _search(epochs, n_jobs):
    return GridSearchCV(
        SnapshotEnsembleClassifier(epochs=epochs, n_networks=1, random_state=0),
        GRID,
        cv=5,
        n_jobs=n_jobs,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="dask worker processes")
    parser.add_argument("--epochs", type=int, default=200)
    args = parser.parse_args(argv)
    X, y = make_blobs(n_samples=300, centers=3, cluster_std=2.0, random_state=2)
    fits = len(GRID["n_cycles"]) * len(GRID["max_learning_rate"]) * 5 + 1
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical cores; "
          f"load average at start: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")  # fmt: skip
    print(f"GridSearchCV: {fits} fits of {args.epochs} epochs on {len(X)} rows, 5 folds")

    start = time.perf_counter()
    serial = _search(args.epochs, n_jobs=1).fit(X, y)
    t_serial = time.perf_counter() - start
    print(f"  {'n_jobs=1 in this process':50s}{t_serial:7.1f} s")

    start = time.perf_counter()
    with distributed.LocalCluster(
        n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        t_start = time.perf_counter() - start
        label = f"LocalCluster start ({args.workers} worker processes)"
        print(f"  {label:50s}{t_start:7.1f} s")
        with distributed.Client(cluster), parallel_config(backend="dask"):
            times = []
            for run in range(2):
                start = time.perf_counter()
                on_cluster = _search(args.epochs, n_jobs=-1).fit(X, y)
                times.append(time.perf_counter() - start)
                note = "first (workers import TensorFlow)" if run == 0 else "second (warm workers)"
                print(f"  {'on the cluster, ' + note:50s}{times[-1]:7.1f} s")
    same = all(np.array_equal(on_cluster.cv_results_[k], serial.cv_results_[k]) for k in KEYS)
    print(f"  -> serial / cluster (warm workers): {t_serial / times[-1]:.2f}")
    print(f"  -> every split score equal to the serial search: {same}; best "
          f"{on_cluster.best_params_} ({on_cluster.best_score_:.3f})")  # fmt: skip
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
