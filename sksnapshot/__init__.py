"""sksnapshot: snapshot ensembles (train 1, get M for free) as scikit-learn estimators."""

from ._classifier import SnapshotEnsembleClassifier
from ._persistence import load, save
from ._regressor import SnapshotEnsembleRegressor
from ._schedule import (
    SnapshotLearningRateSchedule,
    cosine_annealing,
    cycle_lengths,
    simulate_learning_rates,
    triangular,
)

__all__ = [
    "SnapshotEnsembleClassifier",
    "SnapshotEnsembleRegressor",
    "SnapshotLearningRateSchedule",
    "cosine_annealing",
    "cycle_lengths",
    "load",
    "save",
    "simulate_learning_rates",
    "triangular",
]

__version__ = "0.1.0"
