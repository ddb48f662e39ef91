"""The parameter and attribute texts the classifier and the regressor share, written once.

The class docstrings hold a placeholder line ``%(name)s`` where a shared entry goes;
:func:`fill_doc` replaces it with the entry of that name from :data:`DOCS`, indented like
the placeholder, and writes the class's own default of a parameter into its
``default=`` (the two estimators' defaults may differ). The texts below are numpydoc
entries (name and type line, then the description indented by four spaces); the
task-specific ones (``model``, ``loss``, ``voting``, ``class_weight``,
``holdout_losses_``...) stay in each class's docstring.
"""

import inspect
import re
import textwrap

__all__ = ["DOCS", "fill_doc"]

_PARAMETERS = """
hidden_layer_sizes : array-like of int, default=(100,)
    Units of the default MLP's hidden layers (ignored when ``model`` is given).
activation : str or callable, default="relu"
    Hidden activation of the default MLP; scikit-learn names (``"logistic"``,
    ``"identity"``) and Keras names (``"gelu"``) are accepted.
n_networks : int or "auto", default=1
    Number of independently initialised networks of the default MLP trained side by side
    (``"auto"``: 4 with the default network, 1 with a ``model`` of your own), on the
    same mini-batches in the same compiled step (one model whose weights have a leading
    network axis; the loss is the sum of the networks' own losses, so each network's
    gradient is its own). Every snapshot holds all of them, and the members are the
    (snapshot, network) pairs, ordered by snapshot and then network. ``n_members`` still
    counts snapshots (the last ``n_members`` snapshots of every network predict); with
    ``combine="weights"`` each network's snapshots are averaged into one network and the
    networks' outputs are then averaged. On a CPU, where small networks are
    overhead-bound, extra networks cost little time. Only the default network is
    stacked: a ``model`` of your own with ``n_networks > 1`` raises a ``ValueError`` at
    ``fit`` (build the networks into your model instead); ``"auto"`` never raises.
    ``history_["loss"]`` is the sum of the networks' losses; ``metrics`` score the mean
    of the networks' outputs. A network whose weights stop being finite is dropped from
    that snapshot on, with a ``ConvergenceWarning`` naming it, while the others keep
    training (``snapshot_networks_``).
n_cycles : int, default=10
    Number M of learning-rate cycles, hence of snapshots.
epochs : int, default=200
    Training epochs, split into the ``n_cycles`` cycles. With ``lr_update="batch"``
    the cycles are counted in steps: ``epochs * ceil(n_rows / batch_size)`` steps are
    split into ``n_cycles`` cycles (with ``lr_update="epoch"``, the epochs are). The
    split has no remainder: with equal cycles the first ``n_steps % n_cycles`` cycles
    are one step (epoch) longer, so every cycle ends exactly on a snapshot and no step
    is dropped (see :func:`sksnapshot.cycle_lengths`). ``n_cycles`` larger than the
    number of steps (or epochs) raises a ``ValueError``.
max_learning_rate : float, default=0.05
    Learning rate at the start of the first cycle (alpha_0 in Huang et al.); every
    cycle starts there unless ``max_learning_rate_decay`` lowers the later peaks.
min_learning_rate : float, default=0.0
    Learning rate every cycle anneals to; must not exceed ``max_learning_rate``.
lr_update : {"batch", "epoch"}, default="batch"
    ``"batch"`` changes the rate at every training step (the paper); ``"epoch"``
    once per epoch (the common Keras tutorial).
schedule : {"cosine", "triangular"} or callable, default="cosine"
    Shape of every cycle: cosine annealing, Smith's linear decrease from
    ``max_learning_rate`` to ``min_learning_rate``, or a callable
    ``f(step_in_cycle, cycle_length, cycle_index) -> rate`` (called once per step, or
    per epoch, at fit; it then sets the rate alone: ``max_learning_rate``,
    ``min_learning_rate`` and ``max_learning_rate_decay`` are not applied).
cycle_length_mult : float, default=1.0
    SGDR's ``T_mult``: each cycle is this many times longer than the previous one.
    Cycle lengths are rounded by the largest-remainder method so that they sum to
    the training budget exactly (see :func:`sksnapshot.cycle_lengths`).
max_learning_rate_decay : float, default=1.0
    SGDR's ``m_mul``: each cycle's peak rate is this factor times the previous
    cycle's (never below ``min_learning_rate``).
n_members : int, float, "auto" or None, default=None
    Predict with the last ``n_members`` snapshots; ``None`` uses all of them; a float
    in ``(0, 1]`` is a fraction of the snapshots taken, rounded up (``0.3`` of 10
    snapshots is the last 3, of 2 snapshots the last one). It can be changed after
    ``fit`` with ``set_params``; an int above the number of snapshots raises a
    ``ValueError`` at prediction. ``"auto"`` holds out a
    ``validation_fraction`` of the training rows (stratified for the classifier),
    trains on the rest and keeps the number of last snapshots whose ensemble has the
    lowest loss on the held-out rows (``n_members_``; the losses are in
    ``holdout_losses_``).
validation_fraction : float, default=0.1
    Fraction of the training rows held out when ``n_members="auto"``.
combine : {"members", "weights"}, default="members"
    ``"members"`` averages the members' outputs. ``"weights"`` averages the
    members' *weights* into one network (stochastic weight averaging over the
    snapshots) and predicts with it, at the cost of one network. It is sound for
    networks without batch normalisation (averaged batch statistics do not match
    the averaged weights) and when the snapshots lie in one basin of the loss; with
    a high ``max_learning_rate`` the members can be too far apart to average.
optimizer : str, keras.optimizers.Optimizer or class, default="sgd"
    The optimizer; its learning rate is replaced by the snapshot schedule.
momentum : float, default=0.9
    Momentum of the optimizer when it is SGD given by name or class (as the
    ``momentum`` of scikit-learn's MLPs); a routed ``optimizer__momentum`` or an
    optimizer instance takes precedence.
metrics : list or None, default=None
    Keras metrics reported during training.
batch_size : int, default=32
    Rows per training step; ``-1`` uses all rows. Prediction does not use it: it
    runs in chunks of 8192 rows.
validation_batch_size : int or None, default=None
    Rows per evaluation step on the validation split; ``None`` evaluates it in steps
    of up to 8192 rows.
validation_split : float, default=0.0
    Fraction of the training rows (the last ones, as in Keras) held out and scored
    at the end of every cycle (in ``history_``).
shuffle : bool, default=True
    Reshuffle the rows at every epoch.
callbacks : list of keras.callbacks.Callback or None, default=None
    Keras callbacks. Training runs one Keras *epoch per cycle*: ``on_epoch_end``
    fires at every cycle end (an ``EarlyStopping`` patience counts cycles).
warm_start : bool, default=False
    If True, a second ``fit`` continues from the current weights with
    ``n_cycles`` new cycles and appends their snapshots to ``snapshots_``.
random_state : int, RandomState instance or None, default=None
    Seeds the initial weights and the shuffling: the same value on the same data
    gives identical predictions.
verbose : int, default=0
    Keras progress display during training (one progress bar per cycle).
run_eagerly : bool, default=False
    Run Keras eagerly (for debugging; slow).
jit_compile : "auto" or bool, default="auto"
    Compile the training program with XLA (as Keras' ``compile(jit_compile=...)``
    names it): every step has a static batch shape (the last, shorter batch of an
    epoch is padded with rows of weight zero, the real rows' weights scaled so that
    the loss and its gradient are unchanged), and one compiled program serves every
    training-set size. ``"auto"`` uses XLA where the network compiles under it and
    otherwise trains with the plain TensorFlow program, with one warning naming the
    reason (a ``model`` with operations XLA lacks, ``run_eagerly=True``, a
    ``tf.distribute`` strategy). ``True`` raises a ``ValueError`` there instead;
    ``False`` never uses XLA.
**kwargs
    Routed scikeras parameters (``model__*``, ``optimizer__*``, ``loss__*``,
    ``fit__*``, ...); ``get_params`` and ``set_params`` carry them.
"""

_ATTRIBUTES = """
n_members_ : int
    Number of last snapshots that predict under the current ``n_members``: all of
    them for ``None``, ``n_members`` for an int, and with ``"auto"`` the count
    whose ensemble had the lowest held-out loss (``holdout_losses_``).
snapshots_ : list of list of ndarray
    One entry per finished cycle, oldest first; each is the weights as
    ``model_.get_weights()`` returns them, copied at the cycle's end (with
    ``n_networks > 1`` every array has a leading network axis: network ``n``'s
    weights are ``[w[n] for w in snapshots_[s]]``). Fewer than
    ``n_cycles`` when training stopped early (a NaN loss, Ctrl-C, a callback), with
    a warning; see ``docs/robustness.md``.
snapshot_networks_ : ndarray of bool, shape (n_snapshots, n_networks)
    Which (snapshot, network) pairs are members: False for a network's snapshots
    from the cycle its weights stopped being finite on (all True for a run without
    faults).
learning_rates_ : ndarray of shape (n_steps,) or (epochs,)
    The learning rate of every training step (every epoch with
    ``lr_update="epoch"``), as planned for the whole fit.
snapshot_units_ : ndarray of shape (n_snapshots,)
    Index into ``learning_rates_`` of the step (epoch) after which each snapshot
    was taken, in the order of ``snapshots_``.
model_ : keras.Model
    The trained network (its weights are those of the last snapshot).
history_ : dict of list
    Keras metrics, one entry per finished cycle (snapshot).
n_features_in_ : int
    Number of features seen during ``fit``.
feature_names_in_ : ndarray of shape (`n_features_in_`,)
    Names of the features, when ``X`` has string column names.
"""


def _entries(section):
    """``{name: entry}`` of a numpydoc section: an entry starts at an unindented line."""
    entries = {}
    for block in re.split(r"\n(?=\S)", section.strip()):
        name = block.split(" : ", 1)[0].split("\n", 1)[0].strip()
        entries[name.lstrip("*")] = block.rstrip()
    return entries


#: Every shared entry by name (``**kwargs`` under ``kwargs``).
DOCS = {**_entries(_PARAMETERS), **_entries(_ATTRIBUTES)}

_PLACEHOLDER = re.compile(r"^( *)%\((\w+)\)s$", flags=re.MULTILINE)


_DEFAULT = re.compile(r"default=.*$", flags=re.MULTILINE)


def _defaults(obj):
    """``{parameter: default as the docstrings write it}`` of a class's ``__init__``."""
    if not isinstance(obj, type):
        return {}
    defaults = {}
    for name, parameter in inspect.signature(obj.__init__).parameters.items():
        value = parameter.default
        if value is inspect.Parameter.empty or callable(value):
            continue
        defaults[name] = f'"{value}"' if isinstance(value, str) else repr(value)
    return defaults


def fill_doc(obj):
    """Replace every placeholder line ``%(name)s`` of ``obj``'s docstring by ``DOCS[name]``.

    Parameters
    ----------
    obj : class or function
        The object whose docstring is filled in place.

    Returns
    -------
    obj : class or function
        The same object (so that ``fill_doc`` works as a decorator).
    """

    defaults = _defaults(obj)

    def entry(match):
        indent, name = match.groups()
        text = DOCS[name]
        if name in defaults:
            text = _DEFAULT.sub(f"default={defaults[name]}", text, count=1)
        return textwrap.indent(text, indent)

    if obj.__doc__:  # None under ``python -OO``
        obj.__doc__ = _PLACEHOLDER.sub(entry, obj.__doc__)
    return obj
