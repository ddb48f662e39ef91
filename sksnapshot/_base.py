"""The snapshot-ensemble machinery on top of scikeras' wrappers.

Everything here that touches scikeras' private hooks (``_check_model_param``,
``_get_compile_kwargs``, ``_fit_keras_model``, ``_validate_data``) lives in this one module,
so that the wrapper underneath could be swapped: scikeras 0.13 is unmaintained.
"""

import math
from contextlib import nullcontext
from numbers import Integral, Real

import keras
import numpy as np
import tensorflow as tf
from scikeras._utils import route_params
from scikeras.utils.random_state import tensorflow_random_state
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._ensemble import average_weights, best_member_count
from ._faults import checked_outputs, conclude_training, restored_on_failure
from ._program import program_key, shared_program
from ._schedule import SnapshotLearningRateSchedule, simulate_learning_rates
from ._seeding import isolated_default_seeds
from ._snapshots import SnapshotCallback, member_outputs
from ._tensorflow import read_determinism_flag, released_graph_state
from ._training import (
    batch_stream,
    cycle_groups,
    execution_size,
    run_cycles,
    split_validation,
    steps_per_epoch,
)
from ._validation import numeric_conversion_errors

__all__ = ["SnapshotEnsembleMixin"]


def _never(estimator):
    return False


class SnapshotEnsembleMixin:
    """Snapshot training and member prediction for a scikeras wrapper subclass.

    Put it first in the bases (``class X(SnapshotEnsembleMixin, KerasClassifier)``): it
    overrides scikeras' hooks and calls them through ``super()``. Subclasses provide
    ``_build_default_model``, ``_holdout_split`` and ``_holdout_loss``.
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [str, callable],
        "n_cycles": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "max_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "min_learning_rate": [Interval(Real, 0, None, closed="left")],
        "lr_update": [StrOptions({"batch", "epoch"})],
        "schedule": [StrOptions({"cosine", "triangular"}), callable],
        "cycle_length_mult": [Interval(Real, 0, None, closed="neither")],
        "max_learning_rate_decay": [Interval(Real, 0, None, closed="neither")],
        "n_members": [None, Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
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
        **kwargs,
    ):
        self.model = model
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
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
        # scikeras' routed parameters (model__units=...), stored as scikeras does.
        vars(self).update(kwargs)
        if kwargs:
            self._user_params = set(kwargs)

    # -- parameter checks -------------------------------------------------------
    def _check_snapshot_params(self):
        """Declarative checks, then the relations between parameters."""
        # Before any seeded context: see _tensorflow.read_determinism_flag.
        read_determinism_flag()
        self._validate_params()
        unknown = sorted(k for k in getattr(self, "_user_params", ()) if "__" not in k)
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected parameters {unknown}; only routed "
                "parameters such as model__units or optimizer__nesterov may be passed "
                "besides the named ones."
            )
        if self.min_learning_rate > self.max_learning_rate:
            raise ValueError(
                f"min_learning_rate={self.min_learning_rate} is larger than "
                f"max_learning_rate={self.max_learning_rate}: every cycle anneals from "
                "max_learning_rate down to min_learning_rate."
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

    def _check_predict_params(self):
        validate_parameter_constraints(
            {name: self._parameter_constraints[name] for name in self._predict_params},
            {name: getattr(self, name) for name in self._predict_params},
            caller_name=type(self).__name__,
        )

    # -- scikeras hooks ---------------------------------------------------------
    def _check_model_param(self):
        model = self.model
        if model is None:
            return self._build_default_model
        if isinstance(model, keras.Model):
            return lambda: model
        if callable(model):
            return model
        raise TypeError(
            "model must be None (the default MLP), a callable that returns a keras.Model, "
            f"or a keras.Model; got {type(model).__name__}."
        )

    def _build_keras_model(self):
        # scikeras seeds Python's shared `random` for the build, but other threads of
        # the process (a dask worker's event loop) may draw from it too: this thread's
        # Keras default seeds come from its own generator (see _seeding).
        if self._random_state is None:
            return super()._build_keras_model()
        with isolated_default_seeds(int(self._random_state)):
            return super()._build_keras_model()

    def _get_compile_kwargs(self):
        kwargs = super()._get_compile_kwargs()
        optimizer = kwargs["optimizer"]
        momentum_routed = "optimizer__momentum" in self.get_params()
        if (
            isinstance(optimizer, keras.optimizers.SGD)
            and not isinstance(self.optimizer, keras.optimizers.Optimizer)
            and not momentum_routed
        ):
            config = {**optimizer.get_config(), "momentum": self.momentum}
            kwargs["optimizer"] = type(optimizer).from_config(config)
        return kwargs

    def _validate_data(self, X=None, y=None, reset=False, y_numeric=False):
        # scikit-learn's checks first (clear messages, sparse refused, the exact
        # n_features_in_ wording), then scikeras' bookkeeping of dtypes and shapes.
        check = {
            "accept_sparse": False,
            "dtype": keras.backend.floatx(),
            "reset": reset,
        }
        with numeric_conversion_errors(self, X, y, y_numeric=y_numeric):
            # When fitting (reset), y=None too goes to scikit-learn: "requires y".
            if X is not None and (y is not None or reset):
                y_check = {"y_numeric": y_numeric, **self._y_check()}
                X, y = validate_data(self, X, y, **y_check, **check)
            elif X is not None:
                X = validate_data(self, X, **check)
        return super()._validate_data(X, y, reset=reset, y_numeric=y_numeric)

    def _y_check(self):
        """Extra ``check_X_y`` arguments for the targets (overridden per task)."""
        return {}

    def _fit_keras_model(self, X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs):
        fit_args = route_params(self.get_params(), destination="fit", pass_filter=self._fit_kwargs)
        fit_args.update(kwargs)
        arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
        holdout = None
        if self.n_members == "auto":
            arrays, holdout = self._holdout_split(arrays, self._training_seed())
        train, valid = split_validation(arrays, fit_args.get("validation_split", 0.0))
        batch_size = fit_args.get("batch_size") or 32
        batch_size = len(train[0]) if batch_size == -1 else min(batch_size, len(train[0]))
        rates, ends, steps_per_unit, step_lengths = self._plan(len(train[0]), epochs, batch_size)

        continuing = warm_start and hasattr(self, "snapshots_")
        previous = list(self.snapshots_) if continuing else []
        history, snapshots = self._train_cycles(
            train,
            valid,
            SnapshotLearningRateSchedule(rates, steps_per_unit),
            step_lengths,
            batch_size,
            fit_args,
            first_cycle=len(previous),
        )
        if continuing and hasattr(self, "history_"):
            for key, values in history.items():
                self.history_[key].extend(values)
        else:
            self.history_ = history
        self.snapshots_ = previous + snapshots
        # Where each snapshot of this fit was taken, in units of learning_rates_.
        offset = len(self.learning_rates_) if continuing else 0
        taken = offset + ends[: len(snapshots)]
        self.snapshot_units_ = (
            np.concatenate([self.snapshot_units_, taken]) if continuing else taken
        )
        self.learning_rates_ = (
            np.concatenate([self.learning_rates_, rates]) if continuing else rates
        )
        if holdout is not None:
            self.holdout_losses_ = self._holdout_losses(holdout)

    def _plan(self, n_train, epochs, batch_size):
        """Rates per unit, snapshot units, steps per unit and cycle lengths in steps."""
        per_epoch = steps_per_epoch(n_train, batch_size)
        if self.lr_update == "batch":
            n_units, steps_per_unit, unit = epochs * per_epoch, 1, "training steps"
        else:
            n_units, steps_per_unit, unit = epochs, per_epoch, "epochs"
        if self.n_cycles > n_units:
            raise ValueError(
                f"n_cycles={self.n_cycles} is larger than the number of {unit} ({n_units}: "
                f"{epochs} epochs of {per_epoch} batches of {batch_size} from {n_train} "
                "rows); every cycle needs at least one. Lower n_cycles or raise epochs."
            )
        rates, ends = simulate_learning_rates(
            n_units,
            self.n_cycles,
            self.max_learning_rate,
            self.min_learning_rate,
            schedule=self.schedule,
            cycle_length_mult=self.cycle_length_mult,
            max_learning_rate_decay=self.max_learning_rate_decay,
        )
        return rates, ends, steps_per_unit, np.diff(np.r_[-1, ends]) * steps_per_unit

    def _train_cycles(
        self, train, valid, schedule, step_lengths, batch_size, fit_args, first_cycle
    ):
        """Train through the cycles, one Keras epoch per cycle.

        On the default device the compiled training program runs the steps
        (:func:`~sksnapshot._training.run_cycles`). Under a ``tf.distribute`` strategy
        Keras' ``Model.fit`` runs them, on the same mini-batch stream, one call per group
        of equal-length cycles. Returns the history (Keras logs of every finished cycle)
        and the snapshots.
        """
        model = self.model_
        base_optimizer = model.optimizer.get_config()  # a float learning rate
        compile_config = keras.saving.deserialize_keras_object(model.get_compile_config())
        snapshotter = SnapshotCallback(np.cumsum(step_lengths))
        # First, so that a finished cycle's snapshot is taken before any other callback.
        callbacks = [snapshotter, *self._fit_callbacks]
        seed = self._training_seed() + first_cycle
        valid_batch = None
        if valid is not None:
            valid_batch = fit_args.get("validation_batch_size") or min(len(valid[0]), 8192)
        context = (
            tensorflow_random_state(self._random_state)
            if self._random_state is not None
            else nullcontext()
        )
        common = {
            "step_lengths": step_lengths,
            "batch_size": batch_size,
            "seed": seed,
            "shuffle": fit_args.get("shuffle", True),
            "callbacks": callbacks,
            "verbose": fit_args.get("verbose", self.verbose),
            "first_cycle": first_cycle,
            "validation_data": valid,
            "validation_batch_size": valid_batch,
        }
        # A model built under a tf.distribute strategy (e.g. MirroredStrategy in the
        # `model` builder) is compiled and trained in that strategy's scope; otherwise
        # this is the default strategy, a no-op.
        strategy = model.distribute_strategy
        with (
            context,
            released_graph_state(),
            strategy.scope(),
            snapshotter.interruptible(),
        ):
            if tf.distribute.has_strategy():
                self._fit_distributed(train, schedule, compile_config, **common)
            else:
                step_rates = np.repeat(schedule.rates, schedule.steps_per_unit)
                self._training_optimizer(float(step_rates[0]))
                program = shared_program(model, train, program_key(model, train))
                run_cycles(model, program, train, step_rates=step_rates, **common)
        # Leave the model with a plain optimizer at the last rate: the optimizer's slots
        # are not needed after training and would be pickled.
        with strategy.scope():
            final = type(model.optimizer).from_config(
                {**base_optimizer, "learning_rate": float(schedule.rates[-1])}
            )
            model.compile(**{**compile_config, "optimizer": final})
            # Built, so that a pickled model restores its optimizer without warnings.
            final.build(model.trainable_variables)
        conclude_training(self, snapshotter)  # warns, or raises if no cycle finished
        return snapshotter.history, snapshotter.snapshots

    def _fit_distributed(
        self,
        train,
        schedule,
        compile_config,
        *,
        step_lengths,
        batch_size,
        seed,
        shuffle,
        callbacks,
        verbose,
        first_cycle,
        validation_data,
        validation_batch_size,
    ):
        """``Model.fit`` on the seeded stream, under the model's tf.distribute strategy."""
        model = self.model_
        # Keras 3.15's multi-step loop fails under several replicas ("You must feed a
        # value for placeholder tensor"): one step per compiled call there.
        single = model.distribute_strategy.num_replicas_in_sync == 1
        optimizer = type(model.optimizer).from_config(
            {**model.optimizer.get_config(), "learning_rate": schedule}
        )
        snapshotter = callbacks[0]  # the SnapshotCallback, first in the list
        start = 0
        for first, count, length in cycle_groups(step_lengths):
            if snapshotter.stopped:
                break
            model.compile(
                **{
                    **compile_config,
                    "optimizer": optimizer,
                    "steps_per_execution": execution_size(length) if single else 1,
                }
            )
            stream = batch_stream(
                train,
                batch_size=batch_size,
                start_step=start,
                n_steps=count * length,
                seed=seed,
                shuffle=shuffle,
            )
            model.fit(
                stream,
                epochs=first_cycle + first + count,
                initial_epoch=first_cycle + first,
                steps_per_epoch=length,
                validation_data=validation_data,
                validation_batch_size=validation_batch_size,
                callbacks=callbacks,
                shuffle=False,  # the stream is already shuffled, epoch by epoch
                verbose=verbose,
            )
            start += count * length

    def _training_optimizer(self, learning_rate):
        """Give ``model_`` a fresh, built optimizer whose learning rate is a float variable.

        The training program sets that variable before every step. The optimizer scikeras
        just compiled is used as it is when it is unused; a continued fit (``warm_start``)
        or an optimizer whose rate is a schedule gets a new one from its configuration.
        """
        model = self.model_
        optimizer = model.optimizer
        if optimizer.built or not isinstance(optimizer.learning_rate, keras.Variable):
            config = {**optimizer.get_config(), "learning_rate": learning_rate}
            optimizer = type(optimizer).from_config(config)
            compile_config = keras.saving.deserialize_keras_object(model.get_compile_config())
            model.compile(**{**compile_config, "optimizer": optimizer})
        optimizer.learning_rate = learning_rate
        optimizer.build(model.trainable_variables)

    def _training_seed(self):
        if self._random_state is not None:
            return int(self._random_state)
        return int(np.random.default_rng().integers(2**31 - 1))

    def _n_train_rows(self, n_samples):
        """Rows trained on out of ``n_samples``, after the held-out and validation splits."""
        n_train = n_samples
        if self.n_members == "auto":
            n_train -= math.ceil(self.validation_fraction * n_samples)
        if self.validation_split:
            n_train = int(n_train * (1.0 - self.validation_split))
        return n_train

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
        self._check_snapshot_params()
        n_train = self._n_train_rows(int(n_samples))
        batch_size = self.batch_size or 32
        batch_size = n_train if batch_size == -1 else min(batch_size, n_train)
        rates, ends, _, _ = self._plan(n_train, self.epochs, batch_size)
        return rates, ends

    # -- scikit-learn API ----------------------------------------------------------
    def fit(self, X, y, sample_weight=None, **kwargs):
        """scikeras' ``fit``; if it raises, the estimator is left as it was before."""
        with restored_on_failure(self):
            return super().fit(X, y, sample_weight=sample_weight, **kwargs)

    @available_if(_never)
    def partial_fit(self, X, y, **kwargs):
        """Not available: one ``fit`` trains a whole cyclic schedule, not one epoch."""

    # scikeras prints every parameter on its own line; use scikit-learn's repr, which
    # shows only the parameters that differ from their defaults.
    __repr__ = BaseEstimator.__repr__

    def __sklearn_is_fitted__(self):
        return hasattr(self, "snapshots_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.target_tags.required = True
        return tags

    # -- prediction ---------------------------------------------------------------
    def _prepare(self, X):
        """Check the estimator is fitted, validate ``X`` and encode it for the network."""
        check_is_fitted(self)
        self._check_predict_params()
        X, _ = self._validate_data(X, reset=False)
        return self.feature_encoder_.transform(X)

    @property
    def n_members_(self):
        """Number of last snapshots that predict under the current ``n_members``.

        All snapshots for ``None``; ``n_members`` itself for an int; for ``"auto"`` the
        count of smallest held-out loss (``holdout_losses_``) chosen during ``fit``.
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
        if n_members > len(self.snapshots_):
            raise ValueError(
                f"n_members={n_members} but only {len(self.snapshots_)} snapshots were "
                f"taken (n_cycles={self.n_cycles}); use n_members=None for all of them."
            )
        return int(n_members)

    def _members(self):
        """The snapshots that predict: the last ``n_members_`` of ``snapshots_``."""
        return self.snapshots_[-self.n_members_ :]

    def _raw_members(self, X, snapshots):
        """Network outputs of every snapshot: (n_snapshots, n_samples, n_outputs)."""
        return checked_outputs(self, member_outputs(self.model_, snapshots, X), X)

    def _raw_ensemble(self, X, snapshots):
        """Output of the ensemble of ``snapshots``: mean of outputs, or of weights."""
        if self.combine == "weights":
            outputs = member_outputs(self.model_, [average_weights(snapshots)], X)[0]
        else:
            outputs = member_outputs(self.model_, snapshots, X, reduce="mean")
        return checked_outputs(self, outputs, X)

    def _staged_raw(self, X, snapshots):
        """Yield the ensemble output of the last k snapshots, for k = 1..len(snapshots)."""
        if self.combine == "weights":
            for k in range(1, len(snapshots) + 1):
                yield self._raw_ensemble(X, snapshots[-k:])
            return
        outputs = self._raw_members(X, snapshots)
        total = np.zeros_like(outputs[0])
        for k, output in enumerate(outputs[::-1], start=1):
            total += output
            yield total / k

    def _holdout_losses(self, holdout):
        """``n_members="auto"``: held-out loss of the ensembles of the last k snapshots."""
        X, y, *weight = holdout
        weight = weight[0] if weight else None
        return np.asarray(
            [self._holdout_loss(raw, y, weight) for raw in self._staged_raw(X, self.snapshots_)]
        )
