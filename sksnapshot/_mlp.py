"""The default network: a multi-layer perceptron named as in scikit-learn's MLP."""

import keras

__all__ = ["build_mlp", "keras_activation"]

# scikit-learn's MLP names for the activations Keras spells differently.
_SKLEARN_ACTIVATIONS = {"logistic": "sigmoid", "identity": "linear"}


def keras_activation(activation):
    """Keras activation for an MLPClassifier-style name (``"logistic"`` -> ``"sigmoid"``)."""
    if isinstance(activation, str):
        activation = _SKLEARN_ACTIVATIONS.get(activation, activation)
    try:
        return keras.activations.get(activation)
    except ValueError as exc:
        raise ValueError(
            f"activation={activation!r} is not an activation Keras knows "
            "(e.g. 'relu', 'tanh', 'logistic', 'identity', 'gelu', or a callable)."
        ) from exc


def build_mlp(
    n_features, hidden_layer_sizes, activation, n_outputs, output_activation, n_networks=1
):
    """An uncompiled fully connected network, or ``n_networks`` of them side by side.

    Parameters
    ----------
    n_features : int
        Width of the input rows.
    hidden_layer_sizes : sequence of int
        Units of every hidden layer, input side first.
    activation : str or callable
        Activation of the hidden layers (scikit-learn or Keras names).
    n_outputs : int
        Units of the output layer.
    output_activation : str
        Activation of the output layer (``"sigmoid"``, ``"softmax"`` or ``"linear"``).
    n_networks : int, default=1
        ``1`` builds ``Dense`` layers. More builds that many independently initialised
        networks of the same shape as one model: every layer is an ``EinsumDense`` whose
        kernel and bias have a leading network axis (network ``n``'s weights are the
        ``[n]`` slices, shaped as the ``Dense`` layers' are), each network initialised
        as a ``Dense`` layer would be (Glorot uniform over its own fans, zero bias). The
        output has shape ``(batch, n_networks, n_outputs)``.

    Returns
    -------
    model : keras.Model
    """
    hidden_activation = keras_activation(activation)
    inputs = keras.Input(shape=(n_features,))
    if n_networks > 1:
        return _stacked_mlp(
            inputs, hidden_layer_sizes, hidden_activation, n_outputs, output_activation, n_networks
        )
    x = inputs
    for index, units in enumerate(hidden_layer_sizes):
        x = keras.layers.Dense(int(units), activation=hidden_activation, name=f"hidden_{index}")(x)
    outputs = keras.layers.Dense(n_outputs, activation=output_activation, name="output")(x)
    return keras.Model(inputs, outputs, name="snapshot_mlp")


def _stacked_mlp(inputs, hidden_layer_sizes, activation, n_outputs, output_activation, n):
    x = inputs
    equation = "bd,ndh->bnh"  # the first layer gives every network the same rows
    layers = [*((int(u), activation, f"hidden_{i}") for i, u in enumerate(hidden_layer_sizes))]
    layers.append((int(n_outputs), output_activation, "output"))
    for units, layer_activation, name in layers:
        x = keras.layers.EinsumDense(
            equation,
            output_shape=(n, units),
            activation=layer_activation,
            bias_axes="nh",
            # Glorot over one network's (inputs, units) fans: the kernel is (n, d, h).
            kernel_initializer=keras.initializers.GlorotUniform(input_axes=[1], output_axes=[2]),
            name=name,
        )(x)
        equation = "bnd,ndh->bnh"
    return keras.Model(inputs, x, name="stacked_snapshot_mlp")
