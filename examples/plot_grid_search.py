"""
========================================================================
Tuning the number of cycles and the peak learning rate with GridSearchCV
========================================================================

``n_cycles`` and ``max_learning_rate`` decide how different the snapshots are: more
cycles give more, shorter-trained members; a higher peak rate kicks the network further
away from the previous minimum at every restart. The search below trains one network
(``n_networks=1``; the classifier's default trains 4 side by side), so that
``n_cycles=1`` is a single network with one cosine decay, the same budget without an
ensemble, and the grid also shows whether the snapshots help at all.

The snapshot ensemble is an ordinary scikit-learn estimator: it goes into a
``Pipeline`` after a ``StandardScaler`` and into ``GridSearchCV`` like any other.
"""

# %%
# The search
# ----------
# 3 x 3 settings, 3 stratified folds, on 200 rows of noisy two moons. Both accuracy and
# log loss are scored; the refit uses the log loss, which separates the settings better
# on so few test rows.
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sksnapshot import SnapshotEnsembleClassifier
from sksnapshot.experiments import load_dataset

X, y = load_dataset("moons_noisy")
pipe = make_pipeline(
    StandardScaler(),
    SnapshotEnsembleClassifier(hidden_layer_sizes=(100,), n_networks=1, epochs=100, random_state=0),
)
# The documentation build sets SKSNAPSHOT_QUICK=1: a 2 x 3 grid instead of 3 x 3.
quick = os.environ.get("SKSNAPSHOT_QUICK") == "1"
grid = {
    "snapshotensembleclassifier__n_cycles": [1, 10] if quick else [1, 5, 10],
    "snapshotensembleclassifier__max_learning_rate": [0.01, 0.05, 0.2],
}
search = GridSearchCV(
    pipe,
    grid,
    scoring={"accuracy": "accuracy", "log_loss": "neg_log_loss"},
    refit="log_loss",
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
)
search.fit(X, y)
print("best:", search.best_params_)
print(f"best log loss {-search.best_score_:.3f}")

# %%
# The grid as heat maps
# ---------------------
cycles = grid["snapshotensembleclassifier__n_cycles"]
rates = grid["snapshotensembleclassifier__max_learning_rate"]


def as_grid(key, sign=1.0):
    values = np.empty((len(cycles), len(rates)))
    for params, value in zip(search.cv_results_["params"], search.cv_results_[key], strict=True):
        i = cycles.index(params["snapshotensembleclassifier__n_cycles"])
        j = rates.index(params["snapshotensembleclassifier__max_learning_rate"])
        values[i, j] = sign * value
    return values


fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, key, title, sign in (
    (axes[0], "mean_test_accuracy", "accuracy", 1.0),
    (axes[1], "mean_test_log_loss", "log loss", -1.0),
):
    values = as_grid(key, sign)
    image = ax.imshow(values, cmap="viridis" if sign > 0 else "viridis_r")
    for (i, j), value in np.ndenumerate(values):
        ax.text(j, i, f"{value:.3f}", ha="center", va="center", color="w")
    ax.set_xticks(range(len(rates)), rates)
    ax.set_yticks(range(len(cycles)), cycles)
    ax.set_xlabel("max_learning_rate")
    ax.set_ylabel("n_cycles")
    ax.set_title(f"{title} (3-fold CV)")
    fig.colorbar(image, ax=ax)
fig.tight_layout()

# %%
# The chosen model
# ----------------
# ``best_estimator_`` is the refitted pipeline; its last step holds the snapshots.
best = search.best_estimator_[-1]
print(f"{len(best.snapshots_)} snapshots; learning rates of {len(best.learning_rates_)} steps")
