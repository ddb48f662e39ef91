"""The reference experiment: the snapshot-ensemble tutorial's blobs problem.

Three Gaussian blobs in two dimensions (``make_blobs(n_samples=1100, centers=3,
n_features=2, cluster_std=2, random_state=2)``); the first 100 rows train, the other 1000
test. A Dense(50, relu) network, SGD with momentum 0.9, batch 32, 500 epochs in 10
cosine cycles of 50 epochs with a peak rate of 0.01 set once per epoch.
"""

import numpy as np
from sklearn.datasets import make_blobs

__all__ = ["REFERENCE_PARAMS", "reference_data", "snapshot_accuracies"]

#: Estimator parameters of the reference experiment.
REFERENCE_PARAMS = {
    "hidden_layer_sizes": (50,),
    "n_cycles": 10,
    "epochs": 500,
    "max_learning_rate": 0.01,
    "lr_update": "epoch",
    "batch_size": 32,
}


def reference_data():
    """``(X_train, y_train, X_test, y_test)`` of the reference problem (100 / 1000 rows)."""
    X, y = make_blobs(n_samples=1100, centers=3, n_features=2, cluster_std=2, random_state=2)
    return X[:100], y[:100], X[100:], y[100:]


def snapshot_accuracies(estimator, X, y):
    """Accuracy of every snapshot alone and of the ensemble of the last k, k = 1..M.

    Returns
    -------
    members : ndarray of shape (n_snapshots,)
        Accuracy of snapshot k (oldest first).
    ensembles : ndarray of shape (n_snapshots,)
        Accuracy of the ensemble of the last k snapshots, k = 1..n_snapshots.
    """
    y = np.asarray(y)
    members = estimator.member_predict_proba(X)
    member_acc = np.array([np.mean(estimator.classes_[p.argmax(1)] == y) for p in members])
    ensemble_acc = np.array([np.mean(pred == y) for pred in estimator.staged_predict(X)])
    return member_acc, ensemble_acc
