"""Experiments that show when a snapshot ensemble helps (what ``sksnapshot`` runs).

* :func:`run_reference`: the reference experiment (the snapshot-ensemble tutorial's
  blobs problem) over many seeds, against its final snapshot and a single model trained
  with the same budget, with the problem's Bayes-optimal accuracy and the estimator's
  defaults on the same data.
* :func:`run_compare`: cross-validated comparison with a single network, a true ensemble
  of independently trained networks and scikit-learn estimators on several datasets,
  for classification (``SnapshotEnsembleClassifier``) or regression
  (``SnapshotEnsembleRegressor``), with the snapshot variants ``combine="weights"``,
  ``n_members="auto"``, ``n_networks=1`` and ``n_networks=4``.
* The pieces they are made of: the datasets (:func:`reference_problem`,
  :func:`load_dataset`), the Bayes classifier of Gaussian blobs (:func:`bayes_posterior`,
  :func:`bayes_accuracy`), the baselines (:func:`single_network`,
  :func:`independent_ensemble`, :func:`compare_estimators`), per-snapshot scores
  (:func:`snapshot_scores`, :func:`regression_snapshot_scores`), the calibration scores
  of class probabilities (:func:`brier_score`, :func:`expected_calibration_error`) and
  the result files (:func:`save_reference`, :func:`save_compare`).
"""

from .._inspection import brier_score, expected_calibration_error
from ._bayes import bayes_accuracy, bayes_posterior
from ._compare import CompareResult, run_compare
from ._datasets import (
    COMPARE_DATASETS,
    REFERENCE_PARAMS,
    ReferenceProblem,
    dataset_task,
    friedman1_mean,
    load_dataset,
    reference_problem,
    task_datasets,
)
from ._estimators import (
    COMPARE_ESTIMATORS,
    DEFAULT_ESTIMATORS,
    SNAPSHOT_ESTIMATORS,
    compare_estimators,
    estimator_label,
    independent_ensemble,
    single_network,
)
from ._outputs import save_compare, save_reference
from ._reference import ReferenceResult, member_disagreement, run_reference, snapshot_scores
from ._tasks import TASKS, regression_snapshot_scores

__all__ = [
    "COMPARE_DATASETS",
    "COMPARE_ESTIMATORS",
    "DEFAULT_ESTIMATORS",
    "REFERENCE_PARAMS",
    "SNAPSHOT_ESTIMATORS",
    "TASKS",
    "CompareResult",
    "ReferenceProblem",
    "ReferenceResult",
    "bayes_accuracy",
    "bayes_posterior",
    "brier_score",
    "compare_estimators",
    "dataset_task",
    "estimator_label",
    "expected_calibration_error",
    "friedman1_mean",
    "independent_ensemble",
    "load_dataset",
    "member_disagreement",
    "reference_problem",
    "regression_snapshot_scores",
    "run_compare",
    "run_reference",
    "save_compare",
    "save_reference",
    "single_network",
    "snapshot_scores",
    "task_datasets",
]
