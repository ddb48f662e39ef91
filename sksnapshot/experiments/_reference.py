"""The reference experiment, repeated over seeds: does the snapshot ensemble really help?

The data are fixed (:func:`reference_problem`); only the model's ``random_state``
changes from run to run. Every run trains one snapshot ensemble and, as the baseline
with the same training budget, a single model: the same estimator with ``n_cycles=1``,
``n_networks=1`` and ``n_members=None`` (:func:`single_network`: one network, one cosine
decay over all the epochs). Beside them, on the same rows, the estimator as the README
recommends using it: its own defaults behind a ``StandardScaler`` (whatever those defaults
are in this version). Gains are paired (same seed) and summarised as mean ± standard
deviation with won / tied / lost counts.
"""

import time
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from .. import SnapshotEnsembleClassifier
from .._inspection import (
    PROBA_METRICS,
    averages_outputs,
    curve_scores,
    proba_scores,
    snapshot_outputs,
    top_label,
    unwrap,
    valid_members,
)
from ._datasets import REFERENCE_PARAMS, reference_problem
from ._estimators import single_network
from ._progress import Progress
from ._report import environment, format_gain, format_mean_std, mean_std, paired_gain

__all__ = ["ReferenceResult", "member_disagreement", "run_reference", "snapshot_scores"]


def member_disagreement(member_proba):
    """Mean fraction of rows on which two snapshots predict different classes.

    Parameters
    ----------
    member_proba : ndarray of shape (n_snapshots, n_samples, n_classes)
        As returned by ``member_predict_proba``.

    Returns
    -------
    disagreement : float
        Averaged over all pairs of snapshots; 0.0 with a single snapshot.
    """
    labels = np.asarray(member_proba).argmax(axis=2)
    pairs = list(combinations(range(len(labels)), 2))
    if not pairs:
        return 0.0
    return float(np.mean([np.mean(labels[i] != labels[j]) for i, j in pairs]))


def snapshot_scores(estimator, X, y):
    """Accuracy, log loss, Brier and ECE of every snapshot and of the ensemble of the last k.

    Parameters
    ----------
    estimator : fitted SnapshotEnsembleClassifier or Pipeline ending in one
        The estimator (a Pipeline's other steps transform ``X`` first).
    X : array-like of shape (n_samples, n_features)
        Rows to score on.
    y : array-like of shape (n_samples,)
        Their labels.

    Returns
    -------
    scores : dict of ndarray of shape (n_snapshots,) and float
        For every score ``<s>`` of ``accuracy``, ``log_loss``, ``brier`` (see
        :func:`brier_score`) and ``ece`` (top-label expected calibration error, see
        :func:`expected_calibration_error`): ``member_<s>``, every snapshot alone,
        oldest first; ``ensemble_<s>``, the ensemble of the last k snapshots at index
        k - 1. And ``disagreement``: see :func:`member_disagreement`, over every pair
        of members. For an estimator fitted with ``n_networks > 1`` (several members
        per snapshot), ``member_*`` is the mean of the scores of a snapshot's networks,
        and the scores also hold ``network_member_<s>`` of shape (n_snapshots,
        n_networks), every member alone (NaN for a network that had diverged); with
        ``combine="members"`` and ``voting="soft"`` also ``one_network_<s>``: at index
        k - 1, the score of one network's ensemble of its last k snapshots, averaged
        over the networks (what the other networks add is the difference from
        ``ensemble_*``).

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sksnapshot import SnapshotEnsembleClassifier
    >>> from sksnapshot.experiments import snapshot_scores
    >>> X, y = make_blobs(n_samples=200, centers=3, random_state=0)
    >>> clf = SnapshotEnsembleClassifier(hidden_layer_sizes=(8,), n_cycles=3, epochs=6,
    ...                                  random_state=0).fit(X, y)
    >>> scores = snapshot_scores(clf, X, y)
    >>> scores["member_accuracy"].shape, scores["ensemble_accuracy"].shape
    ((3,), (3,))
    """
    classes = unwrap(estimator).estimator.classes_
    members, staged = snapshot_outputs(estimator, X, by_network=True)
    return _curve_dict(
        y, members, staged, tuple(PROBA_METRICS), classes, averages_outputs(estimator)
    ) | {"disagreement": member_disagreement(valid_members(members))}


def _curve_dict(y, members, staged, metrics, classes, one_network):
    """``member_<metric>`` and ``ensemble_<metric>`` of every metric, then (with several
    networks) ``network_member_<metric>`` and ``one_network_<metric>``."""
    scores, extra = {}, {}
    for metric in metrics:
        curves = curve_scores(y, members, staged, metric, classes, one_network=one_network)
        scores[f"member_{metric}"] = curves["member"]
        scores[f"ensemble_{metric}"] = curves["ensemble"]
        extra |= {f"{key}_{metric}": curves[key] for key in curves.keys() - {"member", "ensemble"}}
    return scores | dict(sorted(extra.items()))


#: The scores of the reference experiment: key, label in the table, whether higher is
#: better (the classification metrics of ``sksnapshot compare``).
_SCORES = (
    ("accuracy", "accuracy", True),
    ("log_loss", "log loss", False),
    ("brier", "Brier", False),
    ("ece", "top-label ECE", False),
)


#: How the table names the estimator's defaults on standardized inputs.
_DEFAULTS_LABEL = "estimator defaults, standardized"

#: The defaults the table's note spells out (those that shape the model and its training).
_DEFAULTS_SHOWN = (
    "hidden_layer_sizes", "n_networks", "n_cycles", "epochs", "max_learning_rate",
    "lr_update", "n_members", "label_smoothing",
)  # fmt: skip


def _defaults_model():
    """The estimator's defaults as the README recommends using them: standardized inputs."""
    return make_pipeline(StandardScaler(), SnapshotEnsembleClassifier())


def _plain_params(estimator):
    """The parameters of ``estimator`` that are plain data (for JSON and the table), but
    its ``random_state`` (the seed of each run)."""
    plain = (type(None), bool, int, float, str, tuple)
    params = estimator.get_params(deep=False).items()
    return {key: v for key, v in params if isinstance(v, plain) and key != "random_state"}


def _defaults_note(params):
    """The table's lines that say what the estimator-defaults line ran."""
    shown = ", ".join(f"{key}={params[key]!r}" for key in _DEFAULTS_SHOWN if key in params)
    return [
        f"{_DEFAULTS_LABEL[0].upper()}{_DEFAULTS_LABEL[1:]}: make_pipeline(StandardScaler(), "
        "SnapshotEnsembleClassifier(random_state=seed)) on the same training rows,",
        f"  the classifier's defaults: {shown}.",
    ]


@dataclass
class ReferenceResult:
    """Everything measured by :func:`run_reference`.

    Arrays have one row per seed; ``member_*`` columns are snapshots oldest first and
    ``ensemble_*`` column ``k - 1`` is the ensemble of the last k snapshots. The scores
    are the test accuracy, log loss, Brier score (:func:`brier_score`) and top-label
    expected calibration error (``ece``, :func:`expected_calibration_error`).

    Parameters
    ----------
    settings : dict
        The snapshot ensemble's parameters and whether the inputs were standardized.
    seeds : list of int
        The seed of every run.
    member_accuracy : ndarray of shape (n_seeds, n_snapshots)
        Test accuracy of every snapshot on its own, oldest first.
    ensemble_accuracy : ndarray of shape (n_seeds, n_snapshots)
        Test accuracy of the ensemble of the last k snapshots (column ``k - 1``).
    member_log_loss : ndarray of shape (n_seeds, n_snapshots)
        Test log loss of every snapshot on its own, oldest first.
    ensemble_log_loss : ndarray of shape (n_seeds, n_snapshots)
        Test log loss of the ensemble of the last k snapshots (column ``k - 1``).
    member_brier, ensemble_brier : ndarray of shape (n_seeds, n_snapshots)
        The same for the Brier score.
    member_ece, ensemble_ece : ndarray of shape (n_seeds, n_snapshots)
        The same for the top-label ECE.
    single_accuracy, single_log_loss : ndarray of shape (n_seeds,)
        Test accuracy and log loss of the single network trained with the same budget
        (one network, one cycle: see :func:`single_network`).
    single_brier, single_ece : ndarray of shape (n_seeds,)
        Its Brier score and top-label ECE.
    disagreement : ndarray of shape (n_seeds,)
        Disagreement of the members on the test rows (see :func:`member_disagreement`).
    fit_time, single_fit_time : ndarray of shape (n_seeds,)
        Seconds of the snapshot ensemble's and of the single network's ``fit``.
    bayes_accuracy : float
        Accuracy of the Bayes classifier on the test rows.
    bayes_population_accuracy : float
        Monte-Carlo estimate of the Bayes classifier's accuracy on the population.
    wall_time : float
        Seconds the whole experiment took.
    estimator : estimator or None, default=None
        The snapshot ensemble fitted with the first seed.
    single_estimator : estimator or None, default=None
        The single network fitted with the first seed.
    one_network_accuracy, one_network_log_loss : ndarray or None, default=None
        Of shape (n_seeds, n_snapshots), with ``n_networks > 1`` in ``settings``:
        test accuracy and log loss of one
        network's ensemble of its last k snapshots (column ``k - 1``), averaged over
        the networks; ``None`` with one network.
    one_network_brier, one_network_ece : ndarray or None, default=None
        The same for the Brier score and the top-label ECE.
    defaults_accuracy, defaults_log_loss : ndarray of shape (n_seeds,) or None, default=None
        Test accuracy and log loss of the estimator's defaults on standardized inputs
        (``make_pipeline(StandardScaler(), SnapshotEnsembleClassifier(random_state=seed))``)
        trained on the same rows; ``None`` when the run left that line out
        (``defaults_line=False``).
    defaults_brier, defaults_ece : ndarray of shape (n_seeds,) or None, default=None
        Its Brier score and top-label ECE.
    defaults_fit_time : ndarray of shape (n_seeds,) or None, default=None
        Seconds of its ``fit`` (the scaler's and the network's).
    defaults_estimator : Pipeline or None, default=None
        It, fitted with the first seed.
    defaults_params : dict or None, default=None
        The classifier's parameters it ran with (its defaults in this version; those
        that are plain data).
    top_label : dict, default={}
        ``"snapshot"`` (the ensemble of all snapshots), ``"single"`` (the single model)
        and ``"defaults"`` (the estimator's defaults, when they ran):
        ``(confidence, correct)``, the top-label confidence of every test row of every
        seed and whether its most probable class is right (see
        :func:`~sksnapshot._inspection.top_label`), for the reliability diagram.
    """

    settings: dict
    seeds: list
    member_accuracy: np.ndarray
    ensemble_accuracy: np.ndarray
    member_log_loss: np.ndarray
    ensemble_log_loss: np.ndarray
    member_brier: np.ndarray
    ensemble_brier: np.ndarray
    member_ece: np.ndarray
    ensemble_ece: np.ndarray
    single_accuracy: np.ndarray
    single_log_loss: np.ndarray
    single_brier: np.ndarray
    single_ece: np.ndarray
    disagreement: np.ndarray
    fit_time: np.ndarray
    single_fit_time: np.ndarray
    bayes_accuracy: float
    bayes_population_accuracy: float
    wall_time: float
    estimator: object = field(default=None, repr=False)
    single_estimator: object = field(default=None, repr=False)
    one_network_accuracy: np.ndarray | None = None
    one_network_log_loss: np.ndarray | None = None
    one_network_brier: np.ndarray | None = None
    one_network_ece: np.ndarray | None = None
    defaults_accuracy: np.ndarray | None = None
    defaults_log_loss: np.ndarray | None = None
    defaults_brier: np.ndarray | None = None
    defaults_ece: np.ndarray | None = None
    defaults_fit_time: np.ndarray | None = None
    defaults_estimator: object = field(default=None, repr=False)
    defaults_params: dict | None = None
    top_label: dict = field(default_factory=dict, repr=False)

    @property
    def n_snapshots(self):
        """Number of snapshots of every run."""
        return self.member_accuracy.shape[1]

    @property
    def _has_defaults(self):
        """Whether the run has the line of the estimator's defaults."""
        return self.defaults_accuracy is not None

    def _scores(self, prefix, key):
        """The array ``<prefix>_<key>`` (e.g. ``member_brier``)."""
        return getattr(self, f"{prefix}_{key}")

    def per_k(self):
        """One row per k: the k-th from last snapshot and the ensemble of the last k.

        Returns
        -------
        rows : list of dict
            ``k``, ``cycle`` and the mean and std over seeds of the snapshot's and of the
            ensemble's accuracy, log loss, Brier score and top-label ECE
            (``snapshot_<score>``, ``ensemble_<score>``; with several networks, the
            snapshot's is the mean over its networks, and one network's ensemble of its
            last k is added: ``one_network_<score>``).
        """
        rows = []
        m = self.n_snapshots
        for k in range(1, m + 1):
            row = {"k": k, "cycle": m - k + 1}
            columns = []
            for key, _, _ in _SCORES:
                columns += [
                    (f"snapshot_{key}", self._scores("member", key)[:, m - k]),
                    (f"ensemble_{key}", self._scores("ensemble", key)[:, k - 1]),
                ]
            if self.one_network_accuracy is not None:
                columns += [
                    (f"one_network_{key}", self._scores("one_network", key)[:, k - 1])
                    for key, _, _ in _SCORES
                ]
            for name, values in columns:
                row[f"{name}_mean"], row[f"{name}_std"] = map(float, mean_std(values))
            rows.append(row)
        return rows

    def per_seed(self):
        """One row per seed: the headline numbers of that run.

        Returns
        -------
        rows : list of dict
            ``seed``, the final scores (accuracy, log loss, Brier, top-label ECE) of the
            ensemble, its final snapshot, the single model and (when they ran) the
            estimator's defaults (``estimator_defaults_<score>``), disagreement, fit
            times and every snapshot's and last-k ensemble's accuracy.
        """
        rows = []
        defaults = self._has_defaults
        for i, seed in enumerate(self.seeds):
            row = {"seed": seed}
            for key, _, _ in _SCORES:
                row[f"ensemble_{key}"] = self._scores("ensemble", key)[i, -1]
                row[f"final_snapshot_{key}"] = self._scores("member", key)[i, -1]
                row[f"single_model_{key}"] = self._scores("single", key)[i]
                if defaults:
                    row[f"estimator_defaults_{key}"] = self._scores("defaults", key)[i]
            rows.append(
                row
                | {
                    "member_disagreement": self.disagreement[i],
                    "fit_time_s": self.fit_time[i],
                    "single_fit_time_s": self.single_fit_time[i],
                    **(
                        {"estimator_defaults_fit_time_s": self.defaults_fit_time[i]}
                        if defaults
                        else {}
                    ),
                    **{
                        f"snapshot_{j + 1}_accuracy": self.member_accuracy[i, j]
                        for j in range(self.n_snapshots)
                    },
                    **{
                        f"last_{k + 1}_ensemble_accuracy": self.ensemble_accuracy[i, k]
                        for k in range(self.n_snapshots)
                    },
                }
            )
        return [{key: float(v) if key != "seed" else v for key, v in r.items()} for r in rows]

    def _finals(self):
        """The final scores of every model per seed: ``{model: {score: ndarray}}``."""
        finals = {"ensemble": {key: self._scores("ensemble", key)[:, -1] for key, _, _ in _SCORES}}
        if self.one_network_accuracy is not None:
            finals["ensemble_one_network"] = {
                key: self._scores("one_network", key)[:, -1] for key, _, _ in _SCORES
            }
        finals["final_snapshot"] = {
            key: self._scores("member", key)[:, -1] for key, _, _ in _SCORES
        }
        finals["single_model"] = {key: self._scores("single", key) for key, _, _ in _SCORES}
        if self._has_defaults:
            finals["estimator_defaults"] = {
                key: self._scores("defaults", key) for key, _, _ in _SCORES
            }
        return finals

    def summary(self):
        """Headline numbers: means, paired gains, the Bayes limit.

        Returns
        -------
        summary : dict
            Mean and std over seeds of the ensemble's, final snapshot's and single
            network's accuracy, log loss, Brier score and top-label ECE, the paired
            gains, disagreement, fit times and the Bayes accuracies. When the
            estimator's defaults ran: their scores (``estimator_defaults``), their paired
            gains over the ensemble and over the single model
            (``defaults_gain_over_ensemble``, ``defaults_gain_over_single_model``) and
            their fit time (``fit_time_s["defaults"]``).
        """

        def stats(values):
            mean, std = mean_std(values)
            return {"mean": float(mean), "std": float(std)}

        finals = self._finals()
        models = {name: {key: stats(v) for key, v in got.items()} for name, got in finals.items()}

        def gains(over, of="ensemble"):
            return {
                key: paired_gain(finals[of][key], finals[over][key], higher_is_better=higher)
                for key, _, higher in _SCORES
            }

        fit_time = {"snapshot": stats(self.fit_time), "single": stats(self.single_fit_time)}
        defaults = {}
        if self._has_defaults:
            fit_time["defaults"] = stats(self.defaults_fit_time)
            defaults = {
                "defaults_gain_over_ensemble": gains("ensemble", of="estimator_defaults"),
                "defaults_gain_over_single_model": gains("single_model", of="estimator_defaults"),
            }
        return {
            "n_seeds": len(self.seeds),
            **models,
            "gain_over_final_snapshot": gains("final_snapshot"),
            "gain_over_single_model": gains("single_model"),
            **defaults,
            "member_disagreement": stats(self.disagreement),
            "fit_time_s": fit_time,
            "bayes_accuracy_test_rows": self.bayes_accuracy,
            "bayes_accuracy_population": self.bayes_population_accuracy,
        }

    def to_dict(self):
        """All results as plain data (for JSON).

        Returns
        -------
        data : dict
            Settings (with ``defaults_params``, the parameters of the estimator's
            defaults, when they ran), seeds, wall time, environment, summary and the
            per-k and per-seed rows.
        """
        return {
            "experiment": "reference",
            "settings": self.settings
            | ({"defaults_params": self.defaults_params} if self._has_defaults else {}),
            "seeds": self.seeds,
            "wall_time_s": self.wall_time,
            "environment": environment(),
            "summary": self.summary(),
            "per_k": self.per_k(),
            "per_seed": self.per_seed(),
        }

    def format_table(self):
        """The report printed by ``sksnapshot reference``.

        Returns
        -------
        table : str
            The report, one line per row.
        """
        s = self.settings
        m, n = self.n_snapshots, len(self.seeds)
        summary = self.summary()
        lines = [
            "Reference experiment: blobs (3 classes, 2 features), 100 training rows, "
            "1000 test rows.",
            f"Snapshot ensemble: {s['n_cycles']} cycles over {s['epochs']} epochs, max "
            f"learning rate {s['max_learning_rate']}, updated per {s['lr_update']}, "
            f"{'standardized' if s['scale'] else 'raw'} inputs, hidden layers "
            f"{tuple(s['hidden_layer_sizes'])}; {n} seeds ({self.seeds[0]}..{self.seeds[-1]}), "
            "data fixed. Test accuracy, mean ± std over seeds:",
        ]
        several = self.one_network_accuracy is not None
        if several:
            lines.insert(
                -1,
                f"{s['n_networks']} networks trained side by side (n_networks="
                f"{s['n_networks']}): a snapshot's score is the mean of its networks'; "
                "the single model is one network (n_cycles=1, n_networks=1).",
            )
        header = (
            f"{'k':>3}  {'cycle':>5}  {'snapshot (k-th from last)':>25}  {'ensemble of last k':>18}"
        )
        lines += ["", header + (f"  {'one network, last k':>19}" if several else "")]
        for row in self.per_k():
            line = (
                f"{row['k']:>3}  {row['cycle']:>5}  "
                f"{row['snapshot_accuracy_mean']:>17.3f} ± {row['snapshot_accuracy_std']:.3f}  "
                f"{row['ensemble_accuracy_mean']:>10.3f} ± {row['ensemble_accuracy_std']:.3f}"
            )
            if several:
                line += (
                    f"  {row['one_network_accuracy_mean']:>11.3f} ± "
                    f"{row['one_network_accuracy_std']:.3f}"
                )
            lines.append(line)
        finals = self._finals()
        models = [
            (f"ensemble of all {m} snapshots", "ensemble"),
            *([(f"one network, all {m} snapshots", "ensemble_one_network")] if several else []),
            ("final snapshot", "final_snapshot"),
            ("single model, same budget", "single_model"),
            *([(_DEFAULTS_LABEL, "estimator_defaults")] if self._has_defaults else []),
        ]
        bayes, population = self.bayes_accuracy, self.bayes_population_accuracy
        lines += ["", f"{'':<38}" + "  ".join(f"{label:>15}" for _, label, _ in _SCORES)]
        for label, name in models:
            lines.append(
                f"{label:<38}"
                + "  ".join(f"{format_mean_std(finals[name][key]):>15}" for key, _, _ in _SCORES)
            )
        lines += [
            f"{'Bayes-optimal, these 1000 test rows':<38}{bayes:>15.3f}",
            f"{'Bayes-optimal, population':<38}{population:>15.3f}",
            "Brier: squared error summed over the classes, mean over rows (0 to 2).",
            "Top-label ECE: expected calibration error of the most probable class "
            "(15 equal-width confidence bins).",
        ]
        if self._has_defaults:
            lines += _defaults_note(self.defaults_params)
        blocks = [
            (
                "the ensemble",
                [
                    ("its final snapshot", "gain_over_final_snapshot"),
                    ("a single model, same budget", "gain_over_single_model"),
                ],
            )
        ]
        if self._has_defaults:
            blocks.append(
                (
                    "the estimator defaults",
                    [
                        (f"the ensemble of all {m} snapshots", "defaults_gain_over_ensemble"),
                        ("a single model, same budget", "defaults_gain_over_single_model"),
                    ],
                )
            )
        width = max(len(label) for _, label, _ in _SCORES)
        for of, rivals in blocks:
            lines += ["", f"Paired gain of {of} over {n} seeds: mean ± std   won/tied/lost"]
            for name, key in rivals:
                lines.append(f"  over {name}:")
                for score, label, higher in _SCORES:
                    note = "" if higher else "  (negative is better)"
                    lines.append(f"    {label:<{width}}  {format_gain(summary[key][score])}{note}")
        defaults_time = (
            f", estimator defaults {format_mean_std(self.defaults_fit_time, 2)} s"
            if self._has_defaults
            else ""
        )
        lines += [
            "",
            "Snapshots disagree on "
            f"{format_mean_std(100 * self.disagreement, digits=1)} % of the test rows "
            "(mean over pairs of snapshots).",
            f"Fit time per model: snapshot ensemble {format_mean_std(self.fit_time, 2)} s, "
            f"single model {format_mean_std(self.single_fit_time, 2)} s{defaults_time}; "
            f"wall time {self.wall_time:.1f} s.",
        ]
        return "\n".join(lines)


def run_reference(
    n_seeds=10,
    *,
    n_cycles=REFERENCE_PARAMS["n_cycles"],
    epochs=REFERENCE_PARAMS["epochs"],
    max_learning_rate=REFERENCE_PARAMS["max_learning_rate"],
    lr_update=REFERENCE_PARAMS["lr_update"],
    hidden_layer_sizes=REFERENCE_PARAMS["hidden_layer_sizes"],
    scale=False,
    n_networks=REFERENCE_PARAMS["n_networks"],
    defaults_line=True,
    progress=None,
):
    """Run the reference experiment for seeds ``0..n_seeds-1``.

    For every seed: a snapshot ensemble, scored snapshot by snapshot and as the ensemble
    of its last k snapshots on the 1000 test rows, and a single model with the same
    budget (:func:`single_network`: ``n_cycles=1``, ``n_networks=1``,
    ``n_members=None``; one network, one cosine decay over all the epochs). The
    snapshot ensemble takes ``REFERENCE_PARAMS`` (the tutorial's settings, every one
    pinned, so that a change of the estimator's defaults does not move it) with the
    parameters below. With ``defaults_line``, also the estimator as the README
    recommends using it, on the same training and test rows:
    ``make_pipeline(StandardScaler(), SnapshotEnsembleClassifier(random_state=seed))``,
    the classifier's own defaults (whatever they are in this version), none of the
    parameters below.

    Parameters
    ----------
    n_seeds : int, default=10
        Number of runs (model seeds 0, 1, ...); the data never change.
    n_cycles : int, default=10
        The snapshot ensemble's ``n_cycles``. The defaults of this and the next four
        parameters are the tutorial's settings (``REFERENCE_PARAMS``).
    epochs : int, default=500
        The snapshot ensemble's ``epochs``.
    max_learning_rate : float, default=0.01
        The snapshot ensemble's ``max_learning_rate``.
    lr_update : {"batch", "epoch"}, default="epoch"
        The snapshot ensemble's ``lr_update``.
    hidden_layer_sizes : tuple of int, default=(50,)
        The snapshot ensemble's ``hidden_layer_sizes``.
    scale : bool, default=False
        Standardize the inputs (a ``StandardScaler`` in a ``Pipeline``).
    n_networks : int, default=1
        The snapshot ensemble's ``n_networks``: networks trained side by side, every
        snapshot holding all of them (1 is the tutorial's). The single model stays one
        network. With more than one, the result also has one network's ensemble of its
        last k snapshots (``one_network_accuracy``, ``one_network_log_loss``).
    defaults_line : bool, default=True
        Also fit and score the estimator's defaults on standardized inputs for every
        seed (``defaults_*`` of the result, one more line of the table and paired gains
        over the snapshot ensemble and the single model); ``False`` leaves them out.
    progress : file-like or None, default=None
        Where to report live progress (e.g. ``sys.stderr``); ``None`` is silent.

    Returns
    -------
    result : ReferenceResult
    """
    if int(n_seeds) < 1:
        raise ValueError(f"n_seeds must be at least 1, got {n_seeds}.")
    problem = reference_problem()
    params = {
        **REFERENCE_PARAMS,
        "n_cycles": int(n_cycles),
        "epochs": int(epochs),
        "max_learning_rate": float(max_learning_rate),
        "lr_update": lr_update,
        "hidden_layer_sizes": tuple(int(h) for h in np.atleast_1d(hidden_layer_sizes)),
        "n_networks": int(n_networks),
    }
    snapshot = SnapshotEnsembleClassifier(**params)
    single = single_network(snapshot)
    if scale:
        snapshot, single = (
            make_pipeline(StandardScaler(), snapshot),
            make_pipeline(StandardScaler(), single),
        )
    models = [("snapshot", snapshot, "snapshot ensemble"), ("single", single, "single model")]
    if defaults_line:
        models.append(("defaults", _defaults_model(), "estimator defaults"))
    seeds = list(range(int(n_seeds)))
    tracker = Progress(len(models) * len(seeds), stream=progress, enabled=progress is not None)
    start = time.perf_counter()
    runs, first = [], {}
    for seed in seeds:
        run = {}
        for name, template, label in models:
            tracker.start(f"seed {seed + 1}/{len(seeds)}: {label}")
            model = clone(template)
            prefix = f"{model.steps[-1][0]}__" if isinstance(model, Pipeline) else ""
            model.set_params(**{f"{prefix}random_state": seed})
            tick = time.perf_counter()
            model.fit(problem.X_train, problem.y_train)
            run[f"{name}_fit_time"] = time.perf_counter() - tick
            if name == "snapshot":
                run.update(snapshot_scores(model, problem.X_test, problem.y_test))
            proba = model.predict_proba(problem.X_test)
            if name != "snapshot":
                scores = proba_scores(problem.y_test, model.classes_, proba)
                run |= {f"{name}_{key}": value for key, value in scores.items()}
            run[f"{name}_top_label"] = top_label(problem.y_test, model.classes_, proba)
            first.setdefault(name, model)
            tracker.advance(
                1, f"seed {seed + 1}/{len(seeds)}: {label} in {run[f'{name}_fit_time']:.1f} s"
            )
        runs.append(run)
    tracker.close()

    def stack(key):
        return np.array([run[key] for run in runs])

    several = n_networks > 1
    ran = [name for name, _, _ in models]
    return ReferenceResult(
        settings={**params, "scale": bool(scale)},
        seeds=seeds,
        **{
            f"{prefix}_{key}": stack(f"{prefix}_{key}")
            for key in PROBA_METRICS
            for prefix in ("member", "ensemble", "single")
        },
        **{
            f"one_network_{key}": stack(f"one_network_{key}") if several else None
            for key in PROBA_METRICS
        },
        disagreement=stack("disagreement"),
        fit_time=stack("snapshot_fit_time"),
        single_fit_time=stack("single_fit_time"),
        bayes_accuracy=problem.bayes_accuracy(),
        bayes_population_accuracy=problem.bayes_population_accuracy(),
        wall_time=time.perf_counter() - start,
        estimator=first["snapshot"],
        single_estimator=first["single"],
        **{
            f"defaults_{key}": stack(f"defaults_{key}") if defaults_line else None
            for key in PROBA_METRICS
        },
        defaults_fit_time=stack("defaults_fit_time") if defaults_line else None,
        defaults_estimator=first.get("defaults"),
        defaults_params=_plain_params(first["defaults"][-1]) if defaults_line else None,
        top_label={
            name: tuple(
                np.concatenate(part)
                for part in zip(*(run[f"{name}_top_label"] for run in runs), strict=True)
            )
            for name in ran
        },
    )
