"""SnapshotEnsembleClassifier: a snapshot ensemble of Keras networks as a classifier."""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import log_loss
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight

from ._base import BaseSnapshotEnsemble
from ._ensemble import staged_votes, vote
from ._mlp import build_mlp
from ._validation import check_label_types

__all__ = ["SnapshotEnsembleClassifier"]


class SnapshotEnsembleClassifier(ClassifierMixin, BaseSnapshotEnsemble):
    """Snapshot ensemble classifier: train one network once, predict with M of its snapshots.

    One ``fit`` trains one Keras network with a cyclic learning rate, cosine annealing
    with warm restarts (Loshchilov & Hutter 2017): ``epochs`` are split into
    ``n_cycles`` cycles and within a cycle of length ``T`` the rate at position ``t`` is
    ``min_learning_rate + (max_learning_rate - min_learning_rate) / 2 * (1 + cos(pi t/T))``.
    At the end of every cycle, where the rate is at its lowest, a copy of the weights (a
    *snapshot*) is kept in memory. ``predict_proba`` averages the class probabilities of
    the last ``n_members`` snapshots (Huang et al. 2017).

    It is a subclass of scikeras' ``KerasClassifier``: ``model``, ``optimizer``,
    ``loss``, ``metrics``, ``callbacks``, ``batch_size``, ``validation_split``,
    ``class_weight`` and routed ``model__*``, ``optimizer__*``, ``loss__*``, ``fit__*``
    parameters work as there.

    Parameters
    ----------
    model : None, callable or keras.Model, default=None
        The network. ``None`` builds a multi-layer perceptron from
        ``hidden_layer_sizes`` and ``activation`` with one sigmoid output unit for binary
        problems (binary cross-entropy) and a softmax layer otherwise (sparse categorical
        cross-entropy). A callable or a ``keras.Model`` is used as in scikeras.
    hidden_layer_sizes : array-like of int, default=(100,)
        Units of the default MLP's hidden layers (ignored when ``model`` is given).
    activation : str or callable, default="relu"
        Hidden activation of the default MLP; scikit-learn names (``"logistic"``,
        ``"identity"``) and Keras names (``"gelu"``) are accepted.
    n_cycles : int, default=10
        Number M of cosine cycles, hence of snapshots.
    epochs : int, default=200
        Training epochs, split into the ``n_cycles`` cycles. With ``lr_update="batch"``
        the cycles are counted in steps: ``epochs * ceil(n_rows / batch_size)`` steps are
        split into ``n_cycles`` cycles; when they do not divide evenly, the first
        ``n_steps % n_cycles`` cycles are one step longer (likewise in epochs with
        ``lr_update="epoch"``), so every cycle ends exactly on a snapshot and no step is
        dropped. ``n_cycles`` larger than the number of steps (or epochs) raises a
        ``ValueError``.
    max_learning_rate : float, default=0.05
        Learning rate at the start of every cycle (alpha_0 in Huang et al.).
    min_learning_rate : float, default=0.0
        Learning rate every cycle anneals to; must not exceed ``max_learning_rate``.
    lr_update : {"batch", "epoch"}, default="batch"
        ``"batch"`` changes the rate at every training step (the paper); ``"epoch"``
        once per epoch (the common Keras tutorial).
    schedule : {"cosine", "triangular"} or callable, default="cosine"
        Shape of every cycle: cosine annealing, Smith's linear decrease from
        ``max_learning_rate`` to ``min_learning_rate``, or a callable
        ``f(step_in_cycle, cycle_length, cycle_index) -> rate`` (called once per step, or
        per epoch, at fit; it then sets the rate alone).
    cycle_length_mult : float, default=1.0
        SGDR's ``T_mult``: each cycle is this many times longer than the previous one.
        Cycle lengths are rounded by the largest-remainder method so that they sum to
        the training budget exactly (see :func:`sksnapshot.cycle_lengths`).
    max_learning_rate_decay : float, default=1.0
        SGDR's ``m_mul``: each cycle's peak rate is this factor times the previous
        cycle's (never below ``min_learning_rate``).
    n_members : int, "auto" or None, default=None
        Predict with the last ``n_members`` snapshots; ``None`` uses all of them. It can
        be changed after ``fit`` with ``set_params``; a value above the number of
        snapshots raises a ``ValueError`` at prediction. ``"auto"`` holds out a
        stratified ``validation_fraction`` of the training rows, trains on the rest and
        keeps the number of last snapshots whose ensemble has the lowest log loss on the
        held-out rows (``n_members_``).
    validation_fraction : float, default=0.1
        Fraction of the training rows held out when ``n_members="auto"``.
    combine : {"members", "weights"}, default="members"
        ``"members"`` averages the members' outputs. ``"weights"`` averages the
        members' *weights* into one network (stochastic weight averaging over the
        snapshots) and predicts with it, at the cost of one network. It is sound for
        networks without batch normalisation (averaged batch statistics do not match
        the averaged weights) and when the snapshots lie in one basin of the loss; with
        a high ``max_learning_rate`` the members can be too far apart to average.
    voting : {"soft", "hard"}, default="soft"
        ``"soft"``: mean of the members' probabilities. ``"hard"``: every member votes
        its most probable class; ``predict`` returns the majority (a tie goes to the
        tied class with the highest mean probability) and ``predict_proba`` returns the
        vote fractions.
    optimizer : str, keras.optimizers.Optimizer or class, default="sgd"
        The optimizer; its learning rate is replaced by the snapshot schedule.
    momentum : float, default=0.9
        Momentum of the optimizer when it is SGD given by name or class (as
        ``MLPClassifier``'s ``momentum``); a routed ``optimizer__momentum`` or an
        optimizer instance takes precedence.
    loss : str, keras.losses.Loss or None, default=None
        ``None`` picks the loss that matches the default network's output.
    metrics : list or None, default=None
        Keras metrics reported during training.
    batch_size : int, default=32
        Rows per training step; ``-1`` uses all rows. Prediction does not use it: it
        runs in chunks of 8192 rows.
    validation_batch_size : int or None, default=None
        Rows per evaluation step on the validation split.
    validation_split : float, default=0.0
        Fraction of the training rows (the last ones, as in Keras) held out and scored
        at the end of every cycle (in ``history_``).
    shuffle : bool, default=True
        Reshuffle the rows at every epoch.
    callbacks : list of keras.callbacks.Callback or None, default=None
        Keras callbacks. Training runs one Keras *epoch per cycle*: ``on_epoch_end``
        fires at every cycle end (an ``EarlyStopping`` patience counts cycles).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``.
    warm_start : bool, default=False
        If True, a second ``fit`` continues from the current weights with
        ``n_cycles`` new cycles and appends their snapshots to ``snapshots_``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights and the shuffling: the same value on the same data
        gives identical ``predict_proba``.
    verbose : int, default=0
        Keras progress display during training (one progress bar per cycle).
    run_eagerly : bool, default=False
        Run Keras eagerly (for debugging; slow).
    **kwargs
        Routed scikeras parameters (``model__*``, ``optimizer__*``, ``fit__*``, ...).

    Attributes
    ----------
    n_members_ : int
        Number of last snapshots that predict under the current ``n_members``: all of
        them for ``None``, ``n_members`` for an int, and with ``"auto"`` the count
        whose ensemble had the lowest held-out loss (``holdout_losses_``).
    holdout_losses_ : ndarray of shape (n_snapshots,)
        Held-out log loss of the ensemble of the last k snapshots, k = 1..M; only with
        ``n_members="auto"``.
    snapshots_ : list of list of ndarray
        One entry per finished cycle, oldest first; each is the weights as
        ``model_.get_weights()`` returns them, copied at the cycle's end. Fewer than
        ``n_cycles`` when training stopped early (a NaN loss, Ctrl-C, a callback), with
        a warning; see ``docs/robustness.md``.
    learning_rates_ : ndarray of shape (n_steps,) or (epochs,)
        The learning rate of every training step (every epoch with
        ``lr_update="epoch"``), as planned for the whole fit.
    snapshot_units_ : ndarray of shape (n_snapshots,)
        Index into ``learning_rates_`` of the step (epoch) after which each snapshot
        was taken, in the order of ``snapshots_``.
    model_ : keras.Model
        The trained network (its weights are those of the last snapshot).
    history_ : dict of list
        Keras metrics, one entry per snapshot.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when ``X`` has string column names.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : one network, no ensemble.
    scikeras.wrappers.KerasClassifier : the wrapper this class extends.

    Notes
    -----
    Binary problems use one sigmoid unit: ``predict_proba`` returns ``[1 - p, p]``
    where ``p`` is the members' mean probability of ``classes_[1]``, and ``predict``
    returns ``classes_[1]`` when ``p > 0.5`` and ``classes_[0]`` otherwise (a tie goes
    to ``classes_[0]``, as ``argmax`` does for every number of classes).

    References
    ----------
    .. [1] G. Huang, Y. Li, G. Pleiss, Z. Liu, J. E. Hopcroft, K. Q. Weinberger.
       "Snapshot Ensembles: Train 1, get M for free." ICLR 2017.
    .. [2] I. Loshchilov, F. Hutter. "SGDR: Stochastic Gradient Descent with Warm
       Restarts." ICLR 2017.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sksnapshot import SnapshotEnsembleClassifier
    >>> X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    >>> clf = SnapshotEnsembleClassifier(hidden_layer_sizes=(8,), n_cycles=3, epochs=6,
    ...                                  random_state=0).fit(X, y)
    >>> len(clf.snapshots_)
    3
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints = {
        **BaseSnapshotEnsemble._parameter_constraints,
        "voting": [StrOptions({"soft", "hard"})],
    }
    _predict_params = (*BaseSnapshotEnsemble._predict_params, "voting")

    def __init__(
        self,
        model=None,
        *,
        hidden_layer_sizes=(100,),
        activation="relu",
        n_cycles=10,
        epochs=200,
        max_learning_rate=0.05,
        min_learning_rate=0.0,
        lr_update="batch",
        schedule="cosine",
        cycle_length_mult=1.0,
        max_learning_rate_decay=1.0,
        n_members=None,
        validation_fraction=0.1,
        combine="members",
        voting="soft",
        optimizer="sgd",
        momentum=0.9,
        loss=None,
        metrics=None,
        batch_size=32,
        validation_batch_size=None,
        validation_split=0.0,
        shuffle=True,
        callbacks=None,
        class_weight=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        run_eagerly=False,
        **kwargs,
    ):
        super().__init__(
            model=model,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            n_cycles=n_cycles,
            epochs=epochs,
            max_learning_rate=max_learning_rate,
            min_learning_rate=min_learning_rate,
            lr_update=lr_update,
            schedule=schedule,
            cycle_length_mult=cycle_length_mult,
            max_learning_rate_decay=max_learning_rate_decay,
            n_members=n_members,
            validation_fraction=validation_fraction,
            combine=combine,
            optimizer=optimizer,
            momentum=momentum,
            loss=loss,
            metrics=metrics,
            batch_size=batch_size,
            validation_batch_size=validation_batch_size,
            validation_split=validation_split,
            shuffle=shuffle,
            callbacks=callbacks,
            warm_start=warm_start,
            random_state=random_state,
            verbose=verbose,
            run_eagerly=run_eagerly,
            **kwargs,
        )
        self.voting = voting
        self.class_weight = class_weight

    # -- building and training ---------------------------------------------------
    def _build_default_model(self, meta, compile_kwargs):
        binary = meta["n_classes_"] == 2
        model = build_mlp(
            n_features=meta["n_features_in_"],
            hidden_layer_sizes=np.asarray(self.hidden_layer_sizes).reshape(-1),
            activation=self.activation,
            n_outputs=1 if binary else meta["n_classes_"],
            output_activation="sigmoid" if binary else "softmax",
        )
        loss = compile_kwargs.get("loss") or (
            "binary_crossentropy" if binary else "sparse_categorical_crossentropy"
        )
        model.compile(**{**compile_kwargs, "loss": loss})
        return model

    def _stratify_holdout(self):
        return True  # as MLPClassifier's validation split

    def _holdout_loss(self, raw, y, sample_weight):
        labels = np.arange(self.n_classes_)
        y = np.asarray(y).reshape(len(y), -1)
        y = y.argmax(axis=1) if y.shape[1] > 1 else y[:, 0].astype(int)
        proba = self._probabilities(raw)
        proba = proba / proba.sum(axis=1, keepdims=True)  # float32 outputs: renormalise
        return log_loss(y, proba, labels=labels, sample_weight=sample_weight)

    def _validate_training_data(self, X, y, reset):
        if reset:
            check_label_types(self, y)
            y_shape = np.asarray(y).shape
            if len(y_shape) == 2 and y_shape[1] > 1:
                raise ValueError(
                    f"{type(self).__name__} does not support multi-output or multilabel "
                    f"targets: y has shape {y_shape}. Fit one classifier per output, "
                    "e.g. with sklearn.multioutput.MultiOutputClassifier."
                )
        X, y = super()._validate_training_data(X, y, reset)
        if reset:
            check_classification_targets(y)
            labels = np.unique(y)
            if labels.size < 2:
                label = labels[0].item() if isinstance(labels[0], np.generic) else labels[0]
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes, but y "
                    f"contains only one class: {label!r}."
                )
        return X, y

    def _training_weights(self, X, y, sample_weight):
        """``sample_weight`` times the ``class_weight`` of every row's class."""
        if self.class_weight is not None:
            classes = compute_sample_weight(class_weight=self.class_weight, y=y)
            sample_weight = (
                classes
                if sample_weight is None
                else (_check_sample_weight(sample_weight, X, dtype=np.float64) * classes)
            )
        return super()._training_weights(X, y, sample_weight)

    def _check_combination(self):
        if self.voting == "hard" and self.combine == "weights":
            raise ValueError(
                "voting='hard' needs several members to vote, but combine='weights' "
                "averages the members' weights into one network. Use voting='soft' "
                "with combine='weights', or combine='members' for hard voting."
            )

    # -- prediction -----------------------------------------------------------------
    def _probabilities(self, raw):
        """Class probabilities from network outputs (one sigmoid unit -> two columns)."""
        if raw.shape[-1] == 1 and self.n_classes_ == 2:
            return np.concatenate([1.0 - raw, raw], axis=-1)
        # A float32 softmax sums to 1 only within ~1e-7, and scikit-learn's log_loss warns
        # beyond 1.5e-8 ("y_prob values do not sum to one"): renormalise rows that are
        # probabilities up to rounding, leave any other output of a user's model alone.
        total = raw.sum(axis=-1, keepdims=True)
        if np.all(np.abs(total - 1.0) < 1e-4):
            return raw / total
        return raw

    def _member_probas(self, X, snapshots):
        """Every snapshot's class probabilities: (n_snapshots, n_samples, n_classes)."""
        return self._probabilities(self._member_outputs(X, snapshots))

    def _combined(self, X, snapshots):
        """(probabilities, class indices) of the ensemble of ``snapshots``."""
        if self.voting == "hard":
            return vote(self._member_probas(X, snapshots), "hard")
        proba = self._probabilities(self._ensemble_outputs(X, snapshots))
        return proba, np.argmax(proba, axis=1)

    def _staged(self, X):
        """Yield (probabilities, class indices) of the last k snapshots, k = 1..M."""
        X = self._prepare(X)
        if self.voting == "hard":
            yield from staged_votes(self._member_probas(X, self.snapshots_), "hard")
            return
        for raw in self._staged_outputs(X, self.snapshots_):
            proba = self._probabilities(raw)
            yield proba, np.argmax(proba, axis=1)

    def predict_proba(self, X):
        """Class probabilities of the ensemble of the last ``n_members`` snapshots.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``. The mean of the members' probabilities with
            ``voting="soft"``; the fraction of members voting for each class with
            ``voting="hard"``.
        """
        return self._combined(self._prepare(X), self._members())[0]

    def predict(self, X):
        """The class chosen by the ensemble for every row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels of the same kind as those seen in ``fit``: the most probable class
            (``voting="soft"``) or the majority vote (``voting="hard"``).
        """
        indices = self._combined(self._prepare(X), self._members())[1]
        return self.classes_[indices]

    def member_predict_proba(self, X):
        """Class probabilities of every snapshot on its own, oldest first.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_snapshots, n_samples, n_classes)
        """
        return self._member_probas(self._prepare(X), self.snapshots_)

    def staged_predict_proba(self, X):
        """Probabilities of the ensemble of the last k snapshots, for k = 1..n_snapshots.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Yields
        ------
        proba : ndarray of shape (n_samples, n_classes)
            As ``predict_proba`` (same ``voting`` and ``combine``); the last item equals
            ``predict_proba(X)`` with ``n_members=None``.
        """
        for proba, _ in self._staged(X):
            yield proba

    def staged_predict(self, X):
        """Predicted labels of the ensemble of the last k snapshots, for k = 1..n_snapshots.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Yields
        ------
        y : ndarray of shape (n_samples,)
        """
        for _, indices in self._staged(X):
            yield self.classes_[indices]
