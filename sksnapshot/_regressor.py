"""SnapshotEnsembleRegressor: a snapshot ensemble of Keras networks as a regressor."""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import mean_squared_error

from ._base import BaseSnapshotEnsemble
from ._mlp import build_mlp

__all__ = ["SnapshotEnsembleRegressor"]


class SnapshotEnsembleRegressor(RegressorMixin, BaseSnapshotEnsemble):
    """Snapshot ensemble regressor: train one network once, predict with M of its snapshots.

    The regression twin of :class:`SnapshotEnsembleClassifier`, on scikeras'
    ``KerasRegressor``: the same cyclic schedule, snapshots and member parameters; the
    default network has a linear output layer (one unit per target) trained with the
    mean squared error; ``predict`` is the mean of the members' predictions and
    ``predict(X, return_std=True)`` also returns their standard deviation, a cheap
    uncertainty estimate. ``score`` is R².

    Parameters
    ----------
    model : None, callable or keras.Model, default=None
        The network. ``None`` builds a multi-layer perceptron from
        ``hidden_layer_sizes`` and ``activation`` with a linear output unit per target
        and the mean squared error. A callable or a ``keras.Model`` is used as in
        scikeras (a model instance is trained in place).
    hidden_layer_sizes : array-like of int, default=(100,)
        Units of the default MLP's hidden layers (ignored when ``model`` is given).
    activation : str or callable, default="relu"
        Hidden activation of the default MLP (scikit-learn or Keras names).
    n_cycles : int, default=10
        Number M of learning-rate cycles, hence of snapshots.
    epochs : int, default=200
        Training epochs, split into the ``n_cycles`` cycles (in steps with
        ``lr_update="batch"``; the first cycles are one unit longer when the split is
        uneven, see :func:`sksnapshot.cycle_lengths`). ``n_cycles`` larger than the
        number of steps (or epochs) raises a ``ValueError``.
    max_learning_rate : float, default=0.05
        Learning rate at the start of the first cycle.
    min_learning_rate : float, default=0.0
        Learning rate every cycle anneals to; must not exceed ``max_learning_rate``.
    lr_update : {"batch", "epoch"}, default="batch"
        Change the rate at every training step, or once per epoch.
    schedule : {"cosine", "triangular"} or callable, default="cosine"
        Shape of every cycle; a callable is ``f(step_in_cycle, cycle_length,
        cycle_index) -> rate``.
    cycle_length_mult : float, default=1.0
        SGDR's ``T_mult``: each cycle is this many times longer than the previous one.
    max_learning_rate_decay : float, default=1.0
        SGDR's ``m_mul``: each cycle's peak is this factor times the previous one.
    n_members : int, "auto" or None, default=None
        Predict with the last ``n_members`` snapshots (``None``: all). ``"auto"`` holds
        out ``validation_fraction`` of the training rows and keeps the number of last
        snapshots whose ensemble has the lowest held-out mean squared error
        (``n_members_``).
    validation_fraction : float, default=0.1
        Fraction of the training rows held out when ``n_members="auto"``.
    combine : {"members", "weights"}, default="members"
        Average the members' predictions, or their weights into one network (see
        :class:`SnapshotEnsembleClassifier`).
    optimizer : str, keras.optimizers.Optimizer or class, default="sgd"
        The optimizer; its learning rate is replaced by the snapshot schedule.
    momentum : float, default=0.9
        Momentum of the optimizer when it is SGD given by name or class.
    loss : str, keras.losses.Loss or None, default=None
        ``None`` uses the mean squared error.
    metrics : list or None, default=None
        Keras metrics reported during training.
    batch_size : int, default=32
        Rows per training step; ``-1`` uses all rows.
    validation_batch_size : int or None, default=None
        Rows per evaluation step on the validation split.
    validation_split : float, default=0.0
        Fraction of the training rows (the last ones) scored at every cycle end.
    shuffle : bool, default=True
        Reshuffle the rows at every epoch.
    callbacks : list of keras.callbacks.Callback or None, default=None
        Keras callbacks; training runs one Keras epoch per cycle.
    warm_start : bool, default=False
        If True, a second ``fit`` appends ``n_cycles`` new snapshots.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights and the shuffling.
    verbose : int, default=0
        Keras progress display during training.
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
        Held-out mean squared error of the ensemble of the last k snapshots, k = 1..M;
        only with ``n_members="auto"``.
    snapshots_ : list of list of ndarray
        One entry per cycle, oldest first, in the form of ``model_.get_weights()``.
    learning_rates_ : ndarray of shape (n_steps,) or (epochs,)
        The learning rate used at every training step (or epoch).
    snapshot_units_ : ndarray of shape (n_snapshots,)
        Index into ``learning_rates_`` of the step (epoch) after which each snapshot
        was taken, in the order of ``snapshots_``.
    model_ : keras.Model
        The trained network (its weights are those of the last snapshot).
    history_ : dict of list
        Keras metrics, one entry per cycle.
    n_outputs_ : int
        Number of targets.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when ``X`` has string column names.

    See Also
    --------
    SnapshotEnsembleClassifier : the classification twin.
    sklearn.neural_network.MLPRegressor : one network, no ensemble.

    References
    ----------
    .. [1] G. Huang, Y. Li, G. Pleiss, Z. Liu, J. E. Hopcroft, K. Q. Weinberger.
       "Snapshot Ensembles: Train 1, get M for free." ICLR 2017.
    .. [2] I. Loshchilov, F. Hutter. "SGDR: Stochastic Gradient Descent with Warm
       Restarts." ICLR 2017.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sksnapshot import SnapshotEnsembleRegressor
    >>> X, y = make_regression(n_samples=60, n_features=4, noise=1.0, random_state=0)
    >>> reg = SnapshotEnsembleRegressor(hidden_layer_sizes=(8,), n_cycles=3, epochs=6,
    ...                                 max_learning_rate=0.01, random_state=0).fit(X, y)
    >>> mean, std = reg.predict(X[:2], return_std=True)
    >>> mean.shape, std.shape
    ((2,), (2,))
    """

    def _build_default_model(self, meta, compile_kwargs):
        model = build_mlp(
            n_features=meta["n_features_in_"],
            hidden_layer_sizes=np.asarray(self.hidden_layer_sizes).reshape(-1),
            activation=self.activation,
            n_outputs=meta["n_outputs_"],
            output_activation="linear",
        )
        model.compile(**{**compile_kwargs, "loss": compile_kwargs.get("loss") or "mse"})
        return model

    def _y_check(self):
        return {"multi_output": True, "y_numeric": True}

    def _stratify_holdout(self):
        return False

    def _holdout_loss(self, raw, y, sample_weight):
        return mean_squared_error(
            np.asarray(y).reshape(len(y), -1), raw, sample_weight=sample_weight
        )

    def _shaped(self, raw):
        """Network outputs in the target's shape: drop the column of a 1-D target."""
        if self.y_ndim_ == 1:
            return raw[..., 0]
        return raw

    def predict(self, X, return_std=False):
        """Mean prediction of the last ``n_members`` snapshots.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.
        return_std : bool, default=False
            Also return the standard deviation of the members' predictions per row.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The ensemble's prediction (the weight-averaged network's with
            ``combine="weights"``).
        y_std : ndarray of the same shape
            Only with ``return_std=True``: spread of the members' predictions.
        """
        X = self._prepare(X)
        members = self._members()
        mean = self._shaped(self._ensemble_outputs(X, members))
        if not return_std:
            return mean
        return mean, self._shaped(self._member_outputs(X, members).std(axis=0))

    def member_predict(self, X):
        """Predictions of every snapshot on its own, oldest first.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y : ndarray of shape (n_snapshots, n_samples) or (n_snapshots, n_samples, n_outputs)
        """
        return self._shaped(self._member_outputs(self._prepare(X), self.snapshots_))

    def staged_predict(self, X):
        """Predictions of the ensemble of the last k snapshots, for k = 1..n_snapshots.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Yields
        ------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The last item equals ``predict(X)`` with ``n_members=None``.
        """
        for raw in self._staged_outputs(self._prepare(X), self.snapshots_):
            yield self._shaped(raw)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
