"""Loss and metrics of ``n_networks`` networks trained side by side in one model.

The default network with ``n_networks > 1`` (:func:`~sksnapshot._mlp.build_mlp`) outputs
``(batch, n_networks, n_outputs)``: every network's own prediction for every row. It
trains on the *sum* of the networks' losses, so that each network's gradient is the one
it would have alone (:class:`SummedNetworkLoss`), and its metrics score the mean of the
networks' outputs, the ensemble of the moment (:class:`NetworkMeanMetric`). Both are
Keras objects registered for saving (``sksnapshot>...``).
"""

import keras
from keras import ops

__all__ = ["NetworkMeanMetric", "SummedNetworkLoss", "stacked_compile_arguments"]


@keras.saving.register_keras_serializable(package="sksnapshot")
class SummedNetworkLoss(keras.losses.Loss):
    """Sum over the networks of a loss of one network's outputs.

    Every row's target is compared with each network's output for it by ``loss`` and the
    per-row losses are summed over the networks; Keras then weighs and averages the rows
    as for any loss. A network whose loss is no longer finite (it diverged) adds nothing,
    so the others keep training and the reported loss stays that of the others.

    Parameters
    ----------
    loss : str, callable or keras.losses.Loss
        The loss of one network (``"sparse_categorical_crossentropy"``, ``"mse"``...).
    n_networks : int
        Number of networks on the output's second axis.
    name : str or None, default=None
    reduction : str, default="sum_over_batch_size"
    dtype : str or None, default=None
    """

    def __init__(self, loss, n_networks, name=None, reduction="sum_over_batch_size", dtype=None):
        self._identifier = loss  # a name is kept as it was given (saved as a string)
        self.loss = keras.losses.get(loss)
        self.n_networks = int(n_networks)
        super().__init__(
            name=name or f"summed_{getattr(self.loss, 'name', None) or self.loss.__name__}",
            reduction=reduction,
            dtype=dtype,
        )

    def call(self, y_true, y_pred):
        if len(y_true.shape) == len(y_pred.shape) - 2:  # (batch,): one column
            y_true = ops.expand_dims(y_true, -1)
        y_true = ops.repeat(ops.expand_dims(y_true, 1), self.n_networks, axis=1)
        one = self.loss.call if isinstance(self.loss, keras.losses.Loss) else self.loss
        per_network = one(y_true, y_pred)  # (batch, n_networks)
        finite = ops.isfinite(per_network)
        return ops.sum(ops.where(finite, per_network, ops.zeros_like(per_network)), axis=1)

    def get_config(self):
        return {
            "loss": (
                self._identifier
                if isinstance(self._identifier, str)
                else keras.losses.serialize(self.loss)
            ),
            "n_networks": self.n_networks,
            "name": self.name,
            "reduction": self.reduction,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if not isinstance(config["loss"], str):
            config["loss"] = keras.losses.deserialize(config["loss"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="sksnapshot")
class NetworkMeanMetric(keras.metrics.Metric):
    """A metric of the mean of the networks' outputs (the ensemble of the moment).

    Parameters
    ----------
    metric : str, callable or keras.metrics.Metric
        The metric of one output of shape ``(batch, n_outputs)``; a function is
        averaged over the rows (``keras.metrics.MeanMetricWrapper``).
    name : str or None, default=None
        Name in the logs and ``history_``; by default the metric's own.
    dtype : str or None, default=None
    """

    def __init__(self, metric, name=None, dtype=None):
        if isinstance(metric, str):
            metric = keras.metrics.get(metric)
        if not isinstance(metric, keras.metrics.Metric):
            metric = keras.metrics.MeanMetricWrapper(
                metric, name=name or getattr(metric, "__name__", "metric")
            )
        super().__init__(name=name or metric.name, dtype=dtype)
        self.metric = metric

    def update_state(self, y_true, y_pred, sample_weight=None):
        return self.metric.update_state(y_true, ops.mean(y_pred, axis=1), sample_weight)

    def result(self):
        return self.metric.result()

    def reset_state(self):
        self.metric.reset_state()

    def get_config(self):
        return {"metric": keras.metrics.serialize(self.metric), "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["metric"] = keras.metrics.deserialize(config["metric"])
        return cls(**config)


#: Keras' "accuracy" depends on the targets: the name the classifier's default network
#: resolves it to, as ``Model.compile`` would for one network.
_ACCURACY = ("accuracy", "acc")


def stacked_compile_arguments(compile_kwargs, loss, n_networks, accuracy=None):
    """``compile`` arguments of the stacked default network: summed loss, mean metrics.

    Parameters
    ----------
    compile_kwargs : dict
        scikeras' compile arguments (``optimizer``, ``loss``, ``metrics``, ...).
    loss : str, callable or keras.losses.Loss
        The loss of one network.
    n_networks : int
    accuracy : str or None, default=None
        The metric ``"accuracy"`` stands for (``"binary_accuracy"``,
        ``"sparse_categorical_accuracy"``, ...); None leaves it to Keras.

    Returns
    -------
    kwargs : dict
    """
    metrics = compile_kwargs.get("metrics")
    if isinstance(metrics, dict):
        raise ValueError(
            "metrics given as a dict name the outputs of a model with several outputs; "
            "the default network has one. Pass a list of metrics."
        )
    if metrics is not None and not isinstance(metrics, (list, tuple)):
        metrics = [metrics]
    wrapped = None
    if metrics is not None:
        wrapped = [
            NetworkMeanMetric(accuracy, name=m)
            if isinstance(m, str) and m in _ACCURACY and accuracy
            else NetworkMeanMetric(m)
            for m in metrics
        ]
    return {
        **compile_kwargs,
        "loss": SummedNetworkLoss(loss, n_networks),
        "metrics": wrapped,
    }
