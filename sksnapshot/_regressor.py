"""SnapshotEnsembleRegressor: a snapshot ensemble of Keras networks as a regressor."""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import mean_squared_error

from ._base import BaseSnapshotEnsemble
from ._docstrings import fill_doc
from ._mlp import build_mlp
from ._stacked import stacked_compile_arguments

__all__ = ["SnapshotEnsembleRegressor"]


@fill_doc
class SnapshotEnsembleRegressor(RegressorMixin, BaseSnapshotEnsemble):
    """Snapshot ensemble regressor: train one network once, predict with M of its snapshots.

    The regression twin of :class:`SnapshotEnsembleClassifier`: the same cyclic
    schedule, snapshots and member parameters; the default network has a linear output
    layer (one unit per target) trained with the mean squared error; ``predict`` is the
    mean of the members' predictions and ``predict(X, return_std=True)`` also returns
    their standard deviation, a cheap uncertainty estimate. ``score`` is R².

    scikeras builds and compiles the network and routes the parameters (the estimator
    uses scikeras' ``KerasRegressor`` inside; it is not a subclass of it): ``model``,
    ``optimizer``, ``loss``, ``metrics``, ``callbacks``, ``batch_size``,
    ``validation_split`` and routed ``model__*``, ``optimizer__*``, ``loss__*``,
    ``fit__*`` parameters work as in scikeras.

    Parameters
    ----------
    model : None, callable or keras.Model, default=None
        The network. ``None`` builds a multi-layer perceptron from
        ``hidden_layer_sizes`` and ``activation`` with a linear output unit per target
        and the mean squared error. A callable or a ``keras.Model`` is used as in
        scikeras (a model instance is trained in place).
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
    %(optimizer)s
    %(momentum)s
    loss : str, keras.losses.Loss or None, default=None
        ``None`` uses the mean squared error.
    %(metrics)s
    %(batch_size)s
    %(validation_batch_size)s
    %(validation_split)s
    %(shuffle)s
    %(callbacks)s
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
        Held-out mean squared error of the ensemble of the last k snapshots, k = 1..M;
        only with ``n_members="auto"``.
    %(snapshots_)s
    %(snapshot_networks_)s
    %(learning_rates_)s
    %(snapshot_units_)s
    %(model_)s
    %(history_)s
    n_outputs_ : int
        Number of targets.
    %(n_features_in_)s
    %(feature_names_in_)s

    See Also
    --------
    SnapshotEnsembleClassifier : the classification twin.
    sklearn.neural_network.MLPRegressor : one network, no ensemble.
    scikeras.wrappers.KerasRegressor : builds, compiles and feeds the network here.

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
            n_networks=self._n_networks(),
        )
        loss = compile_kwargs.get("loss") or "mse"
        if self._n_networks() > 1:
            model.compile(**stacked_compile_arguments(compile_kwargs, loss, self._n_networks()))
        else:
            model.compile(**{**compile_kwargs, "loss": loss})
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
        """Predictions of every member on its own, oldest snapshot first.

        Members are (snapshot, network) pairs, ordered by snapshot and then network
        (one per snapshot with ``n_networks=1``); see ``snapshot_networks_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input rows.

        Returns
        -------
        y : ndarray of shape (n_members, n_samples) or (n_members, n_samples, n_outputs)
            ``n_members`` is ``n_snapshots * n_networks`` unless a network diverged.
        """
        return self._shaped(self._member_outputs(self._prepare(X), self._all_members()))

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
        for raw in self._staged_outputs(self._prepare(X), self._all_members()):
            yield self._shaped(raw)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
