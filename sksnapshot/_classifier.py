"""SnapshotEnsembleClassifier: a snapshot ensemble of Keras networks as a classifier."""

from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import log_loss
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight

from ._base import BaseSnapshotEnsemble
from ._docstrings import fill_doc
from ._ensemble import majority_vote, staged_majority_votes
from ._losses import default_classification_loss
from ._mlp import build_mlp
from ._scikeras import is_categorical_crossentropy
from ._stacked import stacked_compile_arguments
from ._validation import check_label_types

__all__ = ["SnapshotEnsembleClassifier"]


@fill_doc
class SnapshotEnsembleClassifier(ClassifierMixin, BaseSnapshotEnsemble):
    """Snapshot ensemble classifier: train one network once, predict with M of its snapshots.

    One ``fit`` trains one Keras network with a cyclic learning rate, cosine annealing
    with warm restarts (Loshchilov & Hutter 2017): ``epochs`` are split into
    ``n_cycles`` cycles and within a cycle of length ``T`` the rate at position ``t`` is
    ``min_learning_rate + (max_learning_rate - min_learning_rate) / 2 * (1 + cos(pi t/T))``.
    At the end of every cycle, where the rate is at its lowest, a copy of the weights (a
    *snapshot*) is kept in memory. ``predict_proba`` averages the class probabilities of
    the last ``n_members`` snapshots (Huang et al. 2017). By default the fit trains 4
    independently initialised copies of the default network side by side in the same
    compiled steps (``n_networks="auto"``), and every snapshot holds all of them: one
    training run gives snapshots of 4 trajectories (``docs/when_does_it_help.md``).

    scikeras builds and compiles the network, encodes the labels and routes the
    parameters (the estimator uses scikeras' ``KerasClassifier`` inside; it is not a
    subclass of it): ``model``, ``optimizer``, ``loss``, ``metrics``, ``callbacks``,
    ``batch_size``, ``validation_split``, ``class_weight`` and routed ``model__*``,
    ``optimizer__*``, ``loss__*``, ``fit__*`` parameters work as in scikeras.

    Parameters
    ----------
    model : None, callable or keras.Model, default=None
        The network. ``None`` builds a multi-layer perceptron from
        ``hidden_layer_sizes`` and ``activation`` with one sigmoid output unit for binary
        problems (binary cross-entropy) and a softmax layer otherwise (sparse categorical
        cross-entropy). A callable or a ``keras.Model`` is used as in scikeras (a model
        instance is trained in place).
    %(hidden_layer_sizes)s
    %(activation)s
    %(n_networks)s
    %(n_cycles)s
    %(epochs)s
    %(max_learning_rate)s
    %(min_learning_rate)s
    %(lr_update)s
    %(schedule)s
    %(cycle_length_mult)s
    %(max_learning_rate_decay)s
    %(n_members)s
    %(validation_fraction)s
    %(combine)s
    voting : {"soft", "hard"}, default="soft"
        ``"soft"``: mean of the members' probabilities. ``"hard"``: every member votes
        its most probable class; ``predict`` returns the majority (a tie goes to the
        tied class with the highest mean probability) and ``predict_proba`` returns the
        vote fractions.
    %(optimizer)s
    %(momentum)s
    loss : str, keras.losses.Loss or None, default=None
        ``None`` picks the loss that matches the default network's output (binary or
        sparse categorical cross-entropy).
    label_smoothing : float in [0, 1), default=0.0
        Smooths the targets of the default loss towards the uniform distribution, as
        Keras' ``label_smoothing`` does: a row of class ``c`` among ``K`` classes trains
        towards ``1 - label_smoothing + label_smoothing / K`` for ``c`` and
        ``label_smoothing / K`` for the other classes (binary: ``K = 2``). It keeps the
        networks from becoming certain of noisy labels, at a cost on clean ones (the
        probabilities become less confident than they should be: see
        ``docs/when_does_it_help.md``). Only with the default ``model`` and
        ``loss=None``: a value above 0 with a model or loss of your own raises a
        ``ValueError`` (set the smoothing in your loss).
    %(metrics)s
    %(batch_size)s
    %(validation_batch_size)s
    %(validation_split)s
    %(shuffle)s
    %(callbacks)s
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``.
    %(warm_start)s
    %(random_state)s
    %(verbose)s
    %(run_eagerly)s
    %(jit_compile)s
    %(kwargs)s

    Attributes
    ----------
    %(n_members_)s
    holdout_losses_ : ndarray of shape (n_snapshots,)
        Held-out log loss of the ensemble of the last k snapshots, k = 1..M; only with
        ``n_members="auto"``.
    %(snapshots_)s
    %(snapshot_networks_)s
    %(learning_rates_)s
    %(snapshot_units_)s
    %(model_)s
    %(history_)s
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    %(n_features_in_)s
    %(feature_names_in_)s

    See Also
    --------
    SnapshotEnsembleRegressor : the regression twin.
    sklearn.neural_network.MLPClassifier : one network, no ensemble.
    scikeras.wrappers.KerasClassifier : builds, compiles and feeds the network here.

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
    >>> clf.snapshot_networks_.shape  # 3 snapshots of the 4 default networks
    (3, 4)
    >>> clf.member_predict_proba(X[:2]).shape
    (12, 2, 2)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    _parameter_constraints = {
        **BaseSnapshotEnsemble._parameter_constraints,
        "voting": [StrOptions({"soft", "hard"})],
        "label_smoothing": [Interval(Real, 0, 1, closed="left")],
    }
    _predict_params = (*BaseSnapshotEnsemble._predict_params, "voting")

    def __init__(
        self,
        model=None,
        *,
        hidden_layer_sizes=(100,),
        activation="relu",
        n_networks="auto",
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
        label_smoothing=0.0,
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
        jit_compile="auto",
        **kwargs,
    ):
        super().__init__(
            model=model,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            n_networks=n_networks,
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
            jit_compile=jit_compile,
            **kwargs,
        )
        self.voting = voting
        self.label_smoothing = label_smoothing
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
            n_networks=self._n_networks(),
        )
        loss = compile_kwargs.get("loss") or default_classification_loss(
            binary, self.label_smoothing
        )
        if self._n_networks() > 1:
            one_hot = is_categorical_crossentropy(loss)
            accuracy = (
                "binary_accuracy"
                if binary
                else "categorical_accuracy"
                if one_hot
                else "sparse_categorical_accuracy"
            )
            model.compile(
                **stacked_compile_arguments(compile_kwargs, loss, self._n_networks(), accuracy)
            )
        else:
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

    def _check_params(self):
        super()._check_params()
        if self.label_smoothing > 0 and (self.model is not None or self.loss is not None):
            given = "model" if self.model is not None else "loss"
            raise ValueError(
                f"label_smoothing={self.label_smoothing} smooths the default loss, but a "
                f"{given} of your own was given. Set the smoothing in your loss (e.g. "
                "keras.losses.CategoricalCrossentropy(label_smoothing=...)), or leave "
                f"label_smoothing=0 with {given}=..."
            )

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

    def _member_probas(self, X, members):
        """Every member's class probabilities: (n_members, n_samples, n_classes)."""
        return self._probabilities(self._member_outputs(X, members))

    def _combined(self, X, members):
        """(probabilities, class indices) of the ensemble of ``members``."""
        if self.voting == "hard":
            return majority_vote(self._member_probas(X, members))
        proba = self._probabilities(self._ensemble_outputs(X, members))
        return proba, np.argmax(proba, axis=1)

    def _staged(self, X):
        """Yield (probabilities, class indices) of the last k snapshots, k = 1..M."""
        X = self._prepare(X)
        members = self._all_members()
        if self.voting == "hard":
            probas = self._member_probas(X, members)
            yield from staged_majority_votes(probas, members.counts)
            return
        for raw in self._staged_outputs(X, members):
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
        """Class probabilities of every member on its own, oldest snapshot first.

        Members are (snapshot, network) pairs, ordered by snapshot and then network
        (one per snapshot with ``n_networks=1``); see ``snapshot_networks_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        proba : ndarray of shape (n_members, n_samples, n_classes)
            ``n_members`` is ``n_snapshots * n_networks`` unless a network diverged.
        """
        return self._member_probas(self._prepare(X), self._all_members())

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
