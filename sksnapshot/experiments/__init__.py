"""Experiments that show when a snapshot ensemble helps (what ``sksnapshot`` runs).

* :func:`run_reference`: the reference experiment (the snapshot-ensemble tutorial's
  blobs problem) over many seeds, against its final snapshot and a single model trained
  with the same budget, with the problem's Bayes-optimal accuracy.
* :func:`run_compare`: cross-validated comparison with a single network, a true ensemble
  of independently trained networks and scikit-learn classifiers on several datasets.
* The pieces they are made of: the datasets (:func:`reference_problem`,
  :func:`load_dataset`), the Bayes classifier of Gaussian blobs (:func:`bayes_posterior`,
  :func:`bayes_accuracy`), the baselines (:func:`independent_ensemble`,
  :func:`compare_estimators`), per-snapshot scores (:func:`snapshot_scores`) and the
  result files (:func:`save_reference`, :func:`save_compare`).
"""

from ._bayes import bayes_accuracy, bayes_posterior
from ._compare import CompareResult, run_compare
from ._datasets import (
    COMPARE_DATASETS,
    REFERENCE_PARAMS,
    ReferenceProblem,
    load_dataset,
    reference_problem,
)
from ._estimators import (
    COMPARE_ESTIMATORS,
    compare_estimators,
    estimator_label,
    independent_ensemble,
)
from ._outputs import save_compare, save_reference
from ._reference import ReferenceResult, member_disagreement, run_reference, snapshot_scores

__all__ = [
    "COMPARE_DATASETS",
    "COMPARE_ESTIMATORS",
    "REFERENCE_PARAMS",
    "CompareResult",
    "ReferenceProblem",
    "ReferenceResult",
    "bayes_accuracy",
    "bayes_posterior",
    "compare_estimators",
    "estimator_label",
    "independent_ensemble",
    "load_dataset",
    "member_disagreement",
    "reference_problem",
    "run_compare",
    "run_reference",
    "save_compare",
    "save_reference",
    "snapshot_scores",
]
