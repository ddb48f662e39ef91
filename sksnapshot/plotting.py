"""Figures of snapshot ensembles, as scikit-learn style Display objects (needs matplotlib).

* :class:`LearningRateDisplay`: the cyclic learning rate with the snapshot points,
  from a fitted estimator (the rates actually used) or simulated without training.
* :class:`EnsembleCurveDisplay`: every snapshot's score as dots and the score of the
  ensemble of the last k snapshots as a line, k = 1..M (the figure of the
  snapshot-ensemble tutorial), with optional horizontal reference lines. For an
  estimator with several networks (``n_networks > 1``) also every member's score and a
  second line, the ensemble of the last k snapshots of one network.

As with scikit-learn's displays, ``from_estimator`` / ``from_params`` compute the data
and plot it; the data are attributes of the display, and ``plot(ax=...)`` draws them
again (on another axes, say) and returns the display. matplotlib is imported only when
something is drawn, so ``import sksnapshot.plotting`` works without it.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._inspection import averages_outputs, curve_scores, snapshot_outputs, unwrap

__all__ = ["EnsembleCurveDisplay", "LearningRateDisplay"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "sksnapshot.plotting needs matplotlib: pip install 'sksnapshot[plot]'."
        ) from exc
    return plt


def _axes(ax):
    if ax is None:
        _, ax = _pyplot().subplots()
    return ax


def _fitted_snapshot_estimator(estimator, needs, expected):
    """The fitted estimator inside ``estimator`` (see ``_inspection.unwrap``).

    Raises ``TypeError`` unless it has the method ``needs`` (``expected`` names it).
    """
    inner = unwrap(estimator).estimator
    if not hasattr(inner, needs):
        raise TypeError(
            f"Expected a fitted {expected} (or a Pipeline ending in one), "
            f"got {type(inner).__name__}."
        )
    check_is_fitted(inner)
    return inner


#: How a plot is titled, per named ``schedule``.
_SCHEDULE_TITLES = {
    "cosine": "Cosine annealing with warm restarts",
    "triangular": "Triangular cycles with warm restarts",
}


def _schedule_title(schedule):
    """The title of a plot of ``schedule``: its name, or a neutral one for a callable."""
    if isinstance(schedule, str) and schedule in _SCHEDULE_TITLES:
        return _SCHEDULE_TITLES[schedule]
    return "Cyclic learning rate (custom schedule)"


class LearningRateDisplay:
    """The learning rate of every training step (or epoch), snapshot points marked.

    Use :meth:`from_estimator` for a fitted estimator and :meth:`from_params` to see a
    schedule before training; the constructor takes the data directly.

    Parameters
    ----------
    learning_rates : array-like of shape (n_units,)
        The rate of every unit.
    snapshot_units : array-like of int
        Index of the unit after which every snapshot is taken.
    unit : {"step", "epoch"}, default="step"
        What a unit is (training step with ``lr_update="batch"``, epoch otherwise).
    schedule : {"cosine", "triangular"} or callable, default="cosine"
        The estimator's ``schedule`` that made the rates; it titles the plot.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes drawn on.
    figure_ : matplotlib Figure
        The figure of ``ax_``.
    line_ : matplotlib Line2D
        The learning rate.
    snapshot_markers_ : matplotlib Line2D
        The snapshot points.

    See Also
    --------
    sksnapshot.simulate_learning_rates : the schedule as a pure function.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sksnapshot.plotting import LearningRateDisplay
    >>> display = LearningRateDisplay.from_params(
    ...     n_samples=100, epochs=10, n_cycles=5, max_learning_rate=0.1)
    >>> display.learning_rates.shape   # 10 epochs of 4 batches of 32 rows
    (40,)
    >>> display.snapshot_units.tolist()
    [7, 15, 23, 31, 39]
    """

    def __init__(self, learning_rates, snapshot_units, *, unit="step", schedule="cosine"):
        self.learning_rates = np.asarray(learning_rates, dtype=np.float64)
        self.snapshot_units = np.asarray(snapshot_units, dtype=np.int64)
        if unit not in ("step", "epoch"):
            raise ValueError(f"unit must be 'step' or 'epoch', got {unit!r}.")
        self.unit = unit
        self.schedule = schedule

    @classmethod
    def _from_snapshot_estimator(cls, estimator, rates, units, ax, kwargs):
        unit = "step" if estimator.lr_update == "batch" else "epoch"
        display = cls(rates, units, unit=unit, schedule=estimator.schedule)
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, **kwargs):
        """Plot the rates a fitted estimator used (``learning_rates_``).

        Parameters
        ----------
        estimator : fitted snapshot ensemble, or a Pipeline ending in one
            A ``SnapshotEnsembleClassifier`` or ``SnapshotEnsembleRegressor`` (also
            inside a ``TransformedTargetRegressor``).
        ax : matplotlib Axes, default=None
            Where to draw; ``None`` makes a new figure.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : LearningRateDisplay
        """
        estimator = _fitted_snapshot_estimator(
            estimator, "simulate_learning_rates", "snapshot ensemble"
        )
        return cls._from_snapshot_estimator(
            estimator, estimator.learning_rates_, estimator.snapshot_units_, ax, kwargs
        )

    @classmethod
    def from_params(
        cls,
        *,
        n_samples=None,
        epochs=200,
        n_cycles=10,
        max_learning_rate=0.05,
        min_learning_rate=0.0,
        lr_update="batch",
        schedule="cosine",
        cycle_length_mult=1.0,
        max_learning_rate_decay=1.0,
        batch_size=32,
        validation_split=0.0,
        n_members=None,
        validation_fraction=0.1,
        ax=None,
        **kwargs,
    ):
        """Plot the schedule a fit with these parameters would use, without training.

        The parameters mean what they mean for ``SnapshotEnsembleClassifier`` and
        ``SnapshotEnsembleRegressor``, and the steps are counted as ``fit`` counts
        them, so the rates equal the fitted ``learning_rates_``.

        Parameters
        ----------
        n_samples : int, default=None
            Training rows given to ``fit``; needed with ``lr_update="batch"``, where
            every epoch has ``ceil(n_train / batch_size)`` steps.
        epochs : int, default=200
            Training epochs, as in the estimators.
        n_cycles : int, default=10
            Number of cycles, as in the estimators.
        max_learning_rate : float, default=0.05
            Peak rate of the first cycle, as in the estimators.
        min_learning_rate : float, default=0.0
            Rate every cycle anneals to, as in the estimators.
        lr_update : {"batch", "epoch"}, default="batch"
            Whether the rate changes every step or every epoch, as in the estimators.
        schedule : {"cosine", "triangular"} or callable, default="cosine"
            The shape of a cycle, as in the estimators.
        cycle_length_mult : float, default=1.0
            The growth of the cycles' lengths, as in the estimators.
        max_learning_rate_decay : float, default=1.0
            The decay of the cycles' peaks, as in the estimators.
        batch_size : int, default=32
            Rows per training step, as in the estimators; it sets the steps per epoch.
        validation_split : float, default=0.0
            As in the estimators: the rows it holds out are not trained on, so it sets
            the steps per epoch.
        n_members : int, "auto" or None, default=None
            As in the estimators: ``"auto"`` holds out ``validation_fraction`` of the
            training rows, so it sets the steps per epoch.
        validation_fraction : float, default=0.1
            Fraction held out with ``n_members="auto"``, as in the estimators.
        ax : matplotlib Axes, default=None
            Where to draw; ``None`` makes a new figure.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : LearningRateDisplay
        """
        if lr_update == "batch" and n_samples is None:
            raise ValueError(
                "n_samples is needed with lr_update='batch': the cycles are counted in "
                "training steps, epochs * ceil(n_train / batch_size)."
            )
        # The estimator counts the steps exactly as its fit will.
        from . import SnapshotEnsembleClassifier

        estimator = SnapshotEnsembleClassifier(
            epochs=epochs,
            n_cycles=n_cycles,
            max_learning_rate=max_learning_rate,
            min_learning_rate=min_learning_rate,
            lr_update=lr_update,
            schedule=schedule,
            cycle_length_mult=cycle_length_mult,
            max_learning_rate_decay=max_learning_rate_decay,
            batch_size=batch_size,
            validation_split=validation_split,
            n_members=n_members,
            validation_fraction=validation_fraction,
        )
        # Per-epoch rates do not depend on the number of rows (as long as some are
        # left to train on after the held-out ones).
        rates, units = estimator.simulate_learning_rates(100 if n_samples is None else n_samples)
        return cls._from_snapshot_estimator(estimator, rates, units, ax, kwargs)

    def plot(self, ax=None, *, line_kw=None, snapshot_kw=None):
        """Draw the rates and the snapshot points.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; ``None`` makes a new figure.
        line_kw : dict, default=None
            Keyword arguments of the rate's ``ax.plot``.
        snapshot_kw : dict, default=None
            Keyword arguments of the snapshot markers' ``ax.plot``.

        Returns
        -------
        display : LearningRateDisplay
            ``self``, with ``ax_``, ``figure_``, ``line_`` and ``snapshot_markers_`` set.
        """
        ax = _axes(ax)
        units = np.arange(1, len(self.learning_rates) + 1)
        (self.line_,) = ax.plot(
            units, self.learning_rates, **{"label": "learning rate", **(line_kw or {})}
        )
        (self.snapshot_markers_,) = ax.plot(
            self.snapshot_units + 1,
            self.learning_rates[self.snapshot_units],
            **{"marker": "o", "linestyle": "none", "color": "C3", "label": "snapshot"}
            | (snapshot_kw or {}),
        )
        ax.set_xlabel("training step" if self.unit == "step" else "epoch")
        ax.set_ylabel("learning rate")
        ax.set_title(f"{_schedule_title(self.schedule)}: {len(self.snapshot_units)} cycles")
        ax.legend(loc="best")
        self.ax_, self.figure_ = ax, ax.figure
        return self


class EnsembleCurveDisplay:
    """Each snapshot's score (dots) and the score of the ensemble of the last k (line).

    The x axis is the number k of snapshots. At k the line shows the ensemble of the
    last k snapshots and the dot shows the snapshot that joins it at k, the k-th from
    last, as in the snapshot-ensemble tutorial's figure: at k = 1 both are the final
    snapshot. Scores of several runs (one row per run) are drawn as their mean with
    error bars of one standard deviation.

    For an estimator with several networks trained side by side (``n_networks > 1``,
    so every snapshot holds one member per network), the dots are the mean over a
    snapshot's networks of their scores, ``network_member_scores`` adds every member
    as a small dot, and ``one_network_scores`` a dashed line: the ensemble of the last
    k snapshots of one network. The gap between the two lines is what the other
    networks add.

    Parameters
    ----------
    member_scores : array-like of shape (n_snapshots,) or (n_runs, n_snapshots)
        Score of every snapshot alone, oldest first (the order of ``snapshots_``);
        with several networks, the mean of the scores of the snapshot's networks.
    ensemble_scores : array-like of the same shape
        Score of the ensemble of the last k snapshots (all their networks) at index
        k - 1.
    reference_lines : dict of str to float, default=None
        Horizontal lines, e.g. ``{"single model": 0.81, "Bayes limit": 0.837}``.
    score_name : str, default="accuracy"
        Label of the y axis.
    one_network_scores : array-like, default=None
        Of the shape of ``ensemble_scores``: score of the ensemble of the last k
        snapshots of one network at index k - 1 (averaged over the networks);
        ``None`` draws no such line.
    network_member_scores : array-like, default=None
        Of shape (n_snapshots, n_networks): score of every member alone, ``[s, n]``
        for network ``n`` in snapshot ``s`` (NaN for a network that had diverged);
        only with one run (``member_scores`` of shape (n_snapshots,)). ``None`` draws
        no member dots.

    Attributes
    ----------
    n_members : ndarray of shape (n_snapshots,)
        The x values, 1..n_snapshots.
    n_networks : int
        Networks per snapshot: ``network_member_scores.shape[1]``, else 1.
    ax_ : matplotlib Axes
        The axes drawn on.
    figure_ : matplotlib Figure
        The figure of ``ax_``.
    line_ : matplotlib artist
        The ensemble curve.
    dots_ : matplotlib artist
        The single snapshots.
    one_network_line_ : matplotlib artist or None
        The curve of one network's last-k ensembles (None without
        ``one_network_scores``).
    network_dots_ : matplotlib Line2D or None
        Every member's score (None without ``network_member_scores``).
    reference_lines_ : list of matplotlib Line2D
        The reference lines, in the order of ``reference_lines``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sksnapshot.plotting import EnsembleCurveDisplay
    >>> display = EnsembleCurveDisplay([0.70, 0.80, 0.82], [0.82, 0.83, 0.81],
    ...                                reference_lines={"Bayes limit": 0.85}).plot()
    >>> display.dots_.get_ydata().tolist()   # the newest snapshot first
    [0.82, 0.8, 0.7]

    Two networks per snapshot: every member, and one network's ensembles.

    >>> display = EnsembleCurveDisplay(
    ...     [0.70, 0.80, 0.82], [0.84, 0.86, 0.86],
    ...     one_network_scores=[0.82, 0.83, 0.81],
    ...     network_member_scores=[[0.69, 0.71], [0.79, 0.81], [0.82, 0.82]]).plot()
    >>> display.n_networks, display.one_network_line_.get_ydata().tolist()
    (2, [0.82, 0.83, 0.81])
    """

    def __init__(
        self,
        member_scores,
        ensemble_scores,
        *,
        reference_lines=None,
        score_name="accuracy",
        one_network_scores=None,
        network_member_scores=None,
    ):
        self.member_scores = np.asarray(member_scores, dtype=np.float64)
        self.ensemble_scores = np.asarray(ensemble_scores, dtype=np.float64)
        if self.member_scores.shape != self.ensemble_scores.shape or not (
            1 <= self.member_scores.ndim <= 2
        ):
            raise ValueError(
                "member_scores and ensemble_scores must have the same shape, "
                "(n_snapshots,) or (n_runs, n_snapshots); got "
                f"{self.member_scores.shape} and {self.ensemble_scores.shape}."
            )
        self.one_network_scores = None
        if one_network_scores is not None:
            self.one_network_scores = np.asarray(one_network_scores, dtype=np.float64)
            if self.one_network_scores.shape != self.ensemble_scores.shape:
                raise ValueError(
                    "one_network_scores must have the shape of ensemble_scores, "
                    f"{self.ensemble_scores.shape}; got {self.one_network_scores.shape}."
                )
        self.network_member_scores = None
        if network_member_scores is not None:
            self.network_member_scores = np.asarray(network_member_scores, dtype=np.float64)
            shape = self.network_member_scores.shape
            if (
                self.member_scores.ndim != 1
                or len(shape) != 2
                or shape[0] != len(self.member_scores)
            ):
                raise ValueError(
                    "network_member_scores must have the shape (n_snapshots, n_networks) "
                    "and goes with member_scores of shape (n_snapshots,); got "
                    f"{shape} and {self.member_scores.shape}."
                )
        self.reference_lines = dict(reference_lines or {})
        self.score_name = score_name
        self.n_members = np.arange(1, self.member_scores.shape[-1] + 1)
        self.n_networks = (
            1 if self.network_member_scores is None else self.network_member_scores.shape[1]
        )

    @classmethod
    def from_estimator(
        cls, estimator, X, y, *, scoring="accuracy", reference_lines=None, ax=None, **kwargs
    ):
        """Score every snapshot and every ensemble of the last k snapshots on ``(X, y)``.

        With several networks (``n_networks > 1``) also every member
        (``network_member_scores``) and, unless the estimator combines its members
        other than by averaging their probabilities (``combine="weights"``,
        ``voting="hard"``), the ensemble of the last k snapshots of one network
        (``one_network_scores``: the mean of the network's probabilities, scored, then
        averaged over the networks).

        Parameters
        ----------
        estimator : fitted SnapshotEnsembleClassifier or Pipeline ending in one
            The estimator (a Pipeline's other steps transform ``X`` first).
        X : array-like of shape (n_samples, n_features)
            Rows to score on, usually held out.
        y : array-like of shape (n_samples,)
            Their labels.
        scoring : {"accuracy", "log_loss"}, default="accuracy"
            The score, computed from the class probabilities (accuracy of their argmax,
            or log loss).
        reference_lines : dict of str to float, default=None
            Horizontal lines, e.g. a single model's score or the Bayes limit.
        ax : matplotlib Axes, default=None
            Where to draw; ``None`` makes a new figure.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : EnsembleCurveDisplay
        """
        if scoring not in ("accuracy", "log_loss"):
            raise ValueError(f"scoring must be 'accuracy' or 'log_loss', got {scoring!r}.")
        classes = _fitted_snapshot_estimator(
            estimator, "member_predict_proba", "SnapshotEnsembleClassifier"
        ).classes_
        y = column_or_1d(y)
        members, staged = snapshot_outputs(estimator, X, by_network=True)
        scores = curve_scores(
            y, members, staged, scoring, classes, one_network=averages_outputs(estimator)
        )
        display = cls(
            scores["member"],
            scores["ensemble"],
            reference_lines=reference_lines,
            score_name=scoring.replace("_", " "),
            one_network_scores=scores.get("one_network"),
            network_member_scores=scores.get("network_member"),
        )
        return display.plot(ax=ax, **kwargs)

    def plot(self, ax=None, *, line_kw=None, dots_kw=None, one_network_kw=None):
        """Draw the curves, the dots and the reference lines.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; ``None`` makes a new figure.
        line_kw : dict, default=None
            Keyword arguments of the ensemble curve.
        dots_kw : dict, default=None
            Keyword arguments of the snapshots' dots.
        one_network_kw : dict, default=None
            Keyword arguments of the one-network curve (with ``one_network_scores``).

        Returns
        -------
        display : EnsembleCurveDisplay
            ``self``, with ``ax_``, ``figure_``, ``line_``, ``dots_``,
            ``one_network_line_``, ``network_dots_`` and ``reference_lines_`` set.
        """
        ax = _axes(ax)
        x = self.n_members
        # At k, the dot is the snapshot that joins the ensemble: the k-th from last.
        members = self.member_scores[..., ::-1]
        ensembles = self.ensemble_scores
        several = self.n_networks > 1 or self.one_network_scores is not None
        line_style = {"marker": "o", "color": "C1", "label": "ensemble of the last k"}
        dot_style = {"marker": "o", "linestyle": "none", "color": "C0", "label": "snapshot k"}
        one_style = {
            "marker": "s",
            "linestyle": "--",
            "color": "C1",
            "markerfacecolor": "none",
            "label": "ensemble of the last k snapshots, one network",
        }
        if several:
            networks = f"all {self.n_networks} networks" if self.n_networks > 1 else "all networks"
            line_style["label"] = f"ensemble of the last k snapshots, {networks}"
            dot_style["label"] = "snapshot k, one network (mean over networks)"
            one_style["label"] += " (mean over networks)"
        line_style |= line_kw or {}
        dot_style |= dots_kw or {}
        one_style |= one_network_kw or {}
        ones = self.one_network_scores
        self.network_dots_ = self.one_network_line_ = None
        if members.ndim == 1:
            if self.network_member_scores is not None:
                every = self.network_member_scores[::-1]  # the newest snapshot first
                (self.network_dots_,) = ax.plot(
                    np.repeat(x, every.shape[1]),
                    every.ravel(),
                    marker=".",
                    linestyle="none",
                    color="C0",
                    alpha=0.4,
                    label="snapshot k, each network",
                )
            (self.dots_,) = ax.plot(x, members, **dot_style)
            (self.line_,) = ax.plot(x, ensembles, **line_style)
            if ones is not None:
                (self.one_network_line_,) = ax.plot(x, ones, **one_style)
        else:
            n_runs = members.shape[0]
            runs = f" (mean ± std of {n_runs} runs)"
            dot_style["label"] += runs
            line_style["label"] += runs
            one_style["label"] += runs
            self.dots_ = ax.errorbar(
                x - 0.08, members.mean(0), yerr=members.std(0), capsize=3, **dot_style
            )
            self.line_ = ax.errorbar(
                x + 0.08, ensembles.mean(0), yerr=ensembles.std(0), capsize=3, **line_style
            )
            if ones is not None:
                self.one_network_line_ = ax.errorbar(
                    x, ones.mean(0), yerr=ones.std(0), capsize=3, **one_style
                )
        self.reference_lines_ = [
            ax.axhline(value, linestyle="--", color=f"C{i + 2}", label=f"{name} ({value:.3f})")
            for i, (name, value) in enumerate(self.reference_lines.items())
        ]
        ax.set_xticks(x)
        ax.set_xlabel("k: members, newest first (dot: the k-th from last snapshot)")
        if several:
            ax.set_xlabel("k: snapshots, newest first (dot: the k-th from last snapshot)")
        ax.set_ylabel(self.score_name)
        ax.legend(loc="best", fontsize="small")
        self.ax_, self.figure_ = ax, ax.figure
        return self
