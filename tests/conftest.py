import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.datasets import make_blobs, make_classification  # noqa: E402


@pytest.fixture(scope="session")
def blobs():
    """The reference problem, scaled down: 3 classes, 2 features."""
    X, y = make_blobs(n_samples=300, centers=3, n_features=2, cluster_std=1.0, random_state=2)
    return X.astype(np.float32), y


@pytest.fixture(scope="session")
def binary():
    X, y = make_classification(
        n_samples=120, n_features=5, n_informative=3, n_redundant=0, random_state=0
    )
    return X.astype(np.float32), y


@pytest.fixture
def tiny_params():
    """A small, fast configuration of the estimator, one network (0.1.0's default)."""
    return dict(hidden_layer_sizes=(16,), n_cycles=3, epochs=9, n_networks=1, random_state=0)
