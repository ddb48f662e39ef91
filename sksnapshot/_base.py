"""What the classifier and the regressor share: parameters, the path of ``fit``, prediction.

The path of one ``fit``::

    fit -> _fit -> _validate_training_data      (scikit-learn's checks, once)
                -> _scikeras.KerasBackend       (build and compile the network, encode y)
                -> _plan.split_sizes / holdout_split / validation_split
                -> _plan.plan_training          (the TrainingPlan)
                -> _training.train_cycles       (program or Model.fit; snapshots)
                -> _faults.conclude_training

and of one ``predict_proba`` (or ``predict``)::

    predict_proba -> _prepare (check_is_fitted, validate_data)
                  -> _members (the last n_members_ snapshots)
                  -> _ensemble_outputs | _member_outputs | _staged_outputs
                  -> _ensemble.combine_members  (the one place members are combined)
                  -> _inference.member_outputs  (one compiled forward for all members)
"""

import math
from functools import partial
from numbers import Integral, Real

import keras
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import (
    Interval,
    Options,
    RealNotInt,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._docstrings import fill_doc
from ._ensemble import (
    Members,
    best_member_count,
    combine_members,
    network_mean,
    network_members,
    staged_combinations,
)
from ._faults import checked_outputs, conclude_training, restored_on_failure
from ._inference import member_outputs
from ._plan import holdout_split, plan_training, split_sizes, validation_split
from ._scikeras import KerasBackend, RoutedParamsMixin
from ._seeding import seeded
from ._tensorflow import read_determinism_flag
from ._training import train_cycles
from ._validation import numeric_conversion_errors

__all__ = ["BaseSnapshotEnsemble"]


def _never(estimator):
    return False


def _integer_seed(random_state):
    """The fit's integer seed: None stays None; a RandomState gives a draw of a copy."""
    if isinstance(random_state, np.random.RandomState):
        copy = np.random.RandomState()
        copy.set_state(random_state.get_state())
        return int(copy.randint(np.iinfo(np.int32).max))
    return None if random_state is None else int(random_state)


@fill_doc
class BaseSnapshotEnsemble(RoutedParamsMixin, BaseEstimator):
    """Snapshot training and member prediction shared by the two estimators.

    Subclasses put scikit-learn's mixin first (``class X(ClassifierMixin,
    BaseSnapshotEnsemble)``) and provide ``_build_default_model``, ``_y_check``,
    ``_stratify_holdout`` and ``_holdout_loss``.

    Parameters
    ----------
    model : None, callable or keras.Model, default=None
        The network; ``None`` builds the subclass's default MLP
        (``_build_default_model``).
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
        The loss; ``None`` lets the subclass's default network choose.
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
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [str, callable],
        "n_networks": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "n_cycles": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "max_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "min_learning_rate": [Interval(Real, 0, None, closed="left")],
        "lr_update": [StrOptions({"batch", "epoch"})],
        "schedule": [StrOptions({"cosine", "triangular"}), callable],
        "cycle_length_mult": [Interval(Real, 0, None, closed="neither")],
        "max_learning_rate_decay": [Interval(Real, 0, None, closed="neither")],
        "n_members": [
            None,
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
            StrOptions({"auto"}),
        ],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "combine": [StrOptions({"members", "weights"})],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "batch_size": [
            None,
            Interval(Integral, 1, None, closed="left"),
            Options(Integral, {-1}),
        ],
        "validation_split": [Interval(Real, 0, 1, closed="left")],
        "shuffle": ["boolean"],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "jit_compile": [StrOptions({"auto"}), "boolean"],
        "verbose": ["verbose"],
    }
    #: Parameters that act at prediction time, checked again there (set_params after fit).
    _predict_params = ("n_members", "combine")

    def __init__(
        self,
        model=None,
        *,
        hidden_layer_sizes=(100,),
        activation="relu",
        n_networks=1,
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
        optimizer="sgd",
        momentum=0.9,
        loss=None,
        metrics=None,
        batch_size=32,
        validation_batch_size=None,
        validation_split=0.0,
        shuffle=True,
        callbacks=None,
        warm_start=False,
        random_state=None,
        verbose=0,
        run_eagerly=False,
        jit_compile="auto",
        **kwargs,
    ):
        self.model = model
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.n_networks = n_networks
        self.n_cycles = n_cycles
        self.epochs = epochs
        self.max_learning_rate = max_learning_rate
        self.min_learning_rate = min_learning_rate
        self.lr_update = lr_update
        self.schedule = schedule
        self.cycle_length_mult = cycle_length_mult
        self.max_learning_rate_decay = max_learning_rate_decay
        self.n_members = n_members
        self.validation_fraction = validation_fraction
        self.combine = combine
        self.optimizer = optimizer
        self.momentum = momentum
        self.loss = loss
        self.metrics = metrics
        self.batch_size = batch_size
        self.validation_batch_size = validation_batch_size
        self.validation_split = validation_split
        self.shuffle = shuffle
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.run_eagerly = run_eagerly
        self.jit_compile = jit_compile
        # scikeras' routed parameters (model__units=...), see RoutedParamsMixin.
        self._store_routed(kwargs)

    #: What ``n_networks="auto"`` trains with the default network (issue 14's study).
    _AUTO_N_NETWORKS = 4

    def _n_networks(self):
        """The number of networks trained: ``n_networks``, with ``"auto"`` resolved."""
        if self.n_networks == "auto":
            return self._AUTO_N_NETWORKS if self.model is None else 1
        return int(self.n_networks)

    # -- parameter checks -------------------------------------------------------
    def _check_params(self):
        """Declarative checks, then the relations between parameters."""
        # Before any seeded context: see _tensorflow.read_determinism_flag.
        read_determinism_flag()
        self._validate_params()
        self._check_routed_params()
        if self.min_learning_rate > self.max_learning_rate:
            raise ValueError(
                f"min_learning_rate={self.min_learning_rate} is larger than "
                f"max_learning_rate={self.max_learning_rate}: every cycle anneals from "
                "max_learning_rate down to min_learning_rate."
            )
        if self._n_networks() > 1 and self.model is not None:
            raise ValueError(
                f"n_networks={self.n_networks} trains that many copies of the default "
                "network side by side, but a model of your own was given (model="
                f"{type(self.model).__name__}). Build the networks into your model, or "
                "use n_networks=1 with it."
            )
        hidden = np.asarray(self.hidden_layer_sizes).reshape(-1)
        if self.model is None and (
            not np.issubdtype(hidden.dtype, np.integer) or np.any(hidden < 1)
        ):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}."
            )
        params = self.get_params()
        if "optimizer__learning_rate" in params or "optimizer__lr" in params:
            raise ValueError(
                "The learning rate follows the snapshot schedule: set max_learning_rate "
                "(and min_learning_rate) instead of optimizer__learning_rate."
            )
        self._check_combination()

    def _check_predict_params(self):
        validate_parameter_constraints(
            {name: self._parameter_constraints[name] for name in self._predict_params},
            {name: getattr(self, name) for name in self._predict_params},
            caller_name=type(self).__name__,
        )
        self._check_combination()

    def _check_combination(self):
        """Relations between the prediction parameters (see the classifier's voting)."""

    # -- the training plan ---------------------------------------------------------
    def _fit_arguments(self, random_state=None):
        """``Model.fit`` arguments: the parameters, overridden by routed ``fit__*``."""
        return KerasBackend(self, random_state).fit_arguments()

    def _plan(self, n_train, epochs, batch_size):
        return plan_training(
            n_train,
            epochs=epochs,
            batch_size=batch_size,
            n_cycles=self.n_cycles,
            max_learning_rate=self.max_learning_rate,
            min_learning_rate=self.min_learning_rate,
            lr_update=self.lr_update,
            schedule=self.schedule,
            cycle_length_mult=self.cycle_length_mult,
            max_learning_rate_decay=self.max_learning_rate_decay,
        )

    def _holdout_fraction(self):
        return self.validation_fraction if self.n_members == "auto" else 0.0

    def simulate_learning_rates(self, n_samples):
        """The learning rates and snapshot positions ``fit`` would use, without training.

        Parameters
        ----------
        n_samples : int
            Number of rows passed to ``fit`` (before the held-out split of
            ``n_members="auto"`` and ``validation_split``).

        Returns
        -------
        rates : ndarray of shape (n_units,)
            The rate of every training step (of every epoch with ``lr_update="epoch"``),
            as ``learning_rates_`` will hold it.
        snapshot_units : ndarray of shape (n_cycles,)
            Index of the step (epoch) after which each snapshot is taken.
        """
        self._check_params()
        fit_args = self._fit_arguments()
        n_train, _, _ = split_sizes(
            int(n_samples), self._holdout_fraction(), fit_args.get("validation_split", 0.0)
        )
        plan = self._plan(n_train, fit_args.get("epochs", self.epochs), fit_args.get("batch_size"))
        return plan.unit_rates, plan.snapshot_units

    # -- fit ---------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, **kwargs):
        """Train one network through ``n_cycles`` cycles, keeping a snapshot of each.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows (dense; sparse input is refused).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets: class labels (strings or any integers) for the classifier, numbers
            for the regressor; only the regressor accepts several outputs.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows (for the classifier, multiplied by ``class_weight``);
            rows of weight 0 are left out of training.
        **kwargs
            ``Model.fit`` arguments for this call only (``epochs=...`` overrides the
            parameter), as routed ``fit__*`` parameters would set them.

        Returns
        -------
        self : object
            The fitted estimator. If ``fit`` raises, the estimator is left as it was.
        """
        with restored_on_failure(self):
            self._fit(X, y, sample_weight, **kwargs)
        return self

    def _fit(self, X, y, sample_weight, **fit_kwargs):
        self._check_params()
        continuing = self.warm_start and self.__sklearn_is_fitted__()
        if continuing and self.snapshot_networks_.shape[1] != self._n_networks():
            raise ValueError(
                f"warm_start=True continues the {self.snapshot_networks_.shape[1]} fitted "
                f"network(s), but n_networks={self.n_networks!r} trains "
                f"{self._n_networks()}. Set n_networks back to "
                f"{self.snapshot_networks_.shape[1]}, or warm_start=False to start anew."
            )
        X, y = self._validate_training_data(X, y, reset=not continuing)
        sample_weight = self._training_weights(X, y, sample_weight)
        random_state = _integer_seed(self.random_state)
        backend = KerasBackend(self, random_state)
        if continuing:
            meta = {name: value for name, value in vars(self).items() if name in KerasBackend.META}
            backend.continued_network(self.model_, self.target_encoder_, meta)
        else:
            self.model_, self.target_encoder_, meta = backend.new_network(X, y)
            vars(self).update(meta)
        arrays = (X, backend.encode_targets(y))
        if sample_weight is not None:
            kept = sample_weight != 0  # rows of weight 0 are not trained on
            arrays = tuple(a[kept] for a in (*arrays, sample_weight))
        fit_args = {**backend.fit_arguments(), **fit_kwargs}
        seed = random_state if random_state is not None else self._random_seed()
        snapshotter, plan, holdout = self._train(
            arrays, fit_args, seed, random_state, backend, continuing
        )
        self._record_fit(snapshotter, plan, continuing)
        if holdout is not None:
            self.holdout_losses_ = self._holdout_losses(holdout)

    def _training_weights(self, X, y, sample_weight):
        """The rows' weights (a float32 copy), or None; refuse all-zero weights."""
        if sample_weight is None:
            return None
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, copy=True)
        if not np.any(sample_weight):
            raise ValueError(
                "No training samples had any weight; only zeros were passed in "
                "sample_weight. There is nothing to train on."
            )
        return sample_weight.astype(keras.backend.floatx())

    def _train(self, arrays, fit_args, seed, random_state, backend, continuing):
        """Split, plan and train; returns the run's SnapshotCallback, the plan and the
        held-out arrays of ``n_members="auto"`` (or None)."""
        holdout = None
        _, n_holdout, _ = split_sizes(len(arrays[0]), self._holdout_fraction())
        if n_holdout:
            arrays, holdout = holdout_split(
                arrays, n_holdout, seed, stratify=self._stratify_holdout()
            )
        train, valid = validation_split(arrays, fit_args.get("validation_split", 0.0))
        plan = self._plan(
            len(train[0]), fit_args.get("epochs", self.epochs), fit_args.get("batch_size")
        )
        valid_batch = None
        if valid is not None:
            valid_batch = fit_args.get("validation_batch_size") or min(len(valid[0]), 8192)
        first_cycle = len(self.snapshots_) if continuing else 0
        snapshotter = train_cycles(
            self.model_,
            train,
            plan,
            seed=seed + first_cycle,
            jit_compile=self.jit_compile,
            # The default network keeps TensorFlow's kernel cache (see _seeding.seeded).
            seeded_context=seeded(random_state, reset_kernels=self.model is not None),
            shuffle=fit_args.get("shuffle", True),
            callbacks=backend.callbacks(),
            verbose=fit_args.get("verbose", self.verbose),
            first_cycle=first_cycle,
            validation_data=valid,
            validation_batch_size=valid_batch,
            n_networks=self._n_networks(),
            failed_networks=(np.flatnonzero(~self.snapshot_networks_[-1]) if continuing else ()),
        )
        conclude_training(self, snapshotter)  # warns, or raises if no cycle finished
        return snapshotter, plan, holdout

    def _record_fit(self, snapshotter, plan, continuing):
        """The fitted attributes of a run (appended to the previous ones when continuing)."""
        history, snapshots = snapshotter.history, snapshotter.snapshots
        networks = np.asarray(snapshotter.networks, dtype=bool).reshape(
            len(snapshots), snapshotter.n_networks
        )
        if continuing:
            self.snapshot_networks_ = np.concatenate([self.snapshot_networks_, networks])
            for key, values in history.items():
                self.history_.setdefault(key, []).extend(values)
            offset = len(self.learning_rates_)
            self.snapshot_units_ = np.concatenate(
                [self.snapshot_units_, offset + plan.snapshot_units[: len(snapshots)]]
            )
            self.learning_rates_ = np.concatenate([self.learning_rates_, plan.unit_rates])
            self.snapshots_ = [*self.snapshots_, *snapshots]
        else:
            self.history_ = history
            self.snapshot_units_ = plan.snapshot_units[: len(snapshots)]
            self.learning_rates_ = plan.unit_rates
            self.snapshots_ = list(snapshots)
            self.snapshot_networks_ = networks
            vars(self).pop("holdout_losses_", None)  # from an earlier fit

    def _random_seed(self):
        return int(np.random.default_rng().integers(2**31 - 1))

    @available_if(_never)
    def partial_fit(self, X, y, **kwargs):
        """Not available: one ``fit`` trains a whole cyclic schedule, not one epoch.

        ``hasattr(estimator, "partial_fit")`` is False, so scikit-learn never calls it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        **kwargs : dict
            ``Model.fit`` arguments.
        """

    def __sklearn_is_fitted__(self):
        return hasattr(self, "snapshots_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.target_tags.required = True
        return tags

    # -- data checks -------------------------------------------------------------
    def _validate_training_data(self, X, y, reset):
        """scikit-learn's checks of ``X`` and ``y`` (the only ones), float32 ``X``."""
        y_check = self._y_check()
        with numeric_conversion_errors(self, X, y, y_numeric=y_check.get("y_numeric", False)):
            return validate_data(
                self,
                X,
                y,
                accept_sparse=False,
                dtype=keras.backend.floatx(),
                reset=reset,
                **y_check,
            )

    def _y_check(self):
        """Extra ``check_X_y`` arguments for the targets (overridden per task)."""
        return {}

    def _prepare(self, X):
        """Check the estimator is fitted and validate ``X`` for the network."""
        check_is_fitted(self)
        self._check_predict_params()
        with numeric_conversion_errors(self, X):
            return validate_data(
                self, X, accept_sparse=False, dtype=keras.backend.floatx(), reset=False
            )

    # -- prediction ---------------------------------------------------------------
    @property
    def n_members_(self):
        """Number of last snapshots that predict under the current ``n_members``.

        All snapshots for ``None``; ``n_members`` itself for an int; for a float, that
        fraction of the snapshots taken, rounded up; for ``"auto"`` the count of smallest
        held-out loss (``holdout_losses_``) chosen during ``fit``.
        """
        if not hasattr(self, "snapshots_"):
            raise AttributeError(f"This {type(self).__name__} is not fitted: no n_members_.")
        n_members = self.n_members
        if n_members is None:
            return len(self.snapshots_)
        if n_members == "auto":
            if not hasattr(self, "holdout_losses_"):
                raise ValueError(
                    "n_members='auto' is chosen during fit on held-out rows; this "
                    "estimator was fitted with another n_members. Fit it again."
                )
            return best_member_count(self.holdout_losses_)
        if isinstance(n_members, Real) and not isinstance(n_members, Integral):
            # 0.3 * 10 is 3.0000000000000004 in floating point: round before ceil.
            return max(1, math.ceil(round(n_members * len(self.snapshots_), 9)))
        if n_members > len(self.snapshots_):
            raise ValueError(
                f"n_members={n_members} but only {len(self.snapshots_)} snapshots were "
                f"taken (n_cycles={self.n_cycles}); use n_members=None for all of them."
            )
        return int(n_members)

    def _members(self):
        """The members that predict: every network of the last ``n_members_`` snapshots."""
        return self._all_members().last(self.n_members_)

    def _all_members(self):
        return Members(self.snapshots_, self.snapshot_networks_)

    def _forward(self, X):
        """``outputs(snapshots, reduce=None, networks=None)`` on the rows ``X``.

        The members' outputs ``(n_members, n_samples, n_outputs)`` (by snapshot, then
        network), or their mean with ``reduce="mean"``, checked for overflow. With
        several networks the model's outputs have a network axis, which ``networks``
        (the members of every snapshot, all by default) selects from.
        """
        model = self.model_
        n_networks = self.snapshot_networks_.shape[1]
        stacked = n_networks > 1

        def outputs(snapshots, reduce=None, networks=None):
            if not stacked:
                out = member_outputs(model, snapshots, X, reduce)
            else:
                if networks is None:
                    networks = np.ones((len(snapshots), n_networks), dtype=bool)
                if reduce == "mean" and networks.all():
                    out = member_outputs(model, snapshots, X, "mean").mean(axis=-2)
                elif reduce == "mean":
                    mean = partial(network_mean, networks=networks)
                    out = member_outputs(model, snapshots, X, mean)
                else:
                    out = network_members(member_outputs(model, snapshots, X), networks)
            return checked_outputs(self, out, X)

        return outputs

    def _member_outputs(self, X, members):
        """Network outputs of every member: (n_members, n_samples, n_outputs)."""
        return self._forward(X)(members.snapshots, networks=members.networks)

    def _ensemble_outputs(self, X, members):
        """Output of the ensemble of ``members`` (as ``combine`` says)."""
        return combine_members(self._forward(X), members, self.combine)

    def _staged_outputs(self, X, members):
        """Yield the ensemble output of the members of the last k snapshots, k = 1..M."""
        return staged_combinations(self._forward(X), members, self.combine)

    def _holdout_losses(self, holdout):
        """``n_members="auto"``: held-out loss of the ensembles of the last k snapshots."""
        X, y, *weight = holdout
        weight = weight[0] if weight else None
        return np.asarray(
            [
                self._holdout_loss(raw, y, weight)
                for raw in self._staged_outputs(X, self._all_members())
            ]
        )
