"""The order of the mini-batches: every data epoch a stateless shuffle of ``(seed, epoch)``.

Every epoch's row order is :func:`epoch_order`, a pure function of ``(seed, epoch)``,
usable inside a compiled TensorFlow function (the training program draws it in the
graph); :func:`batch_stream` is the same sequence of mini-batches as a ``tf.data``
stream (for ``Model.fit`` under a ``tf.distribute`` strategy, and for tests). So the
data epochs are reshuffled every pass, exactly as with ``Model.fit(shuffle=True)``, and
a stream can start at any step without replaying the earlier ones. :func:`batch_table`
gives the rows of a run of steps as one fixed-width table (for the XLA program, which
needs static shapes).
"""

import math

import tensorflow as tf

from ._plan import steps_per_epoch

__all__ = ["batch_stream", "batch_table", "epoch_order"]


def epoch_order(n_rows, seed, epoch, shuffle=True):
    """Row order of data epoch ``epoch``: a stateless shuffle seeded with ``(seed, epoch)``.

    A TensorFlow function of its arguments (usable inside a compiled function); with
    ``shuffle`` False the rows keep their order. Returns an int64 tensor of ``n_rows``.
    """
    rows = tf.range(tf.cast(n_rows, tf.int64), dtype=tf.int64)
    seed = tf.stack([tf.cast(seed, tf.int64), tf.cast(epoch, tf.int64)])
    return tf.cond(
        tf.cast(shuffle, tf.bool),
        lambda: tf.random.experimental.stateless_shuffle(rows, seed=seed),
        lambda: rows,
    )


def batch_stream(arrays, *, batch_size, start_step, n_steps, seed, shuffle=True):
    """A ``tf.data.Dataset`` of ``n_steps`` mini-batches, starting at global step ``start_step``.

    Data epoch ``e`` visits the rows in the order of a stateless shuffle seeded with
    ``(seed, e)``, cut into batches of ``batch_size`` (the last one short). Because every
    epoch's order is a pure function of ``(seed, e)``, the stream can begin at any step
    without replaying the earlier ones, and two streams with the same seed are identical.

    Parameters
    ----------
    arrays : tuple of ndarray
        Arrays with the same number of rows (X, y and optionally sample weights).
    batch_size : int
        Rows per mini-batch.
    start_step, n_steps : int
        First global step of the stream and number of steps it yields.
    seed : int
        Seed of the per-epoch shuffles.
    shuffle : bool, default=True
        If False, every epoch visits the rows in their given order.
    """
    n_rows = len(arrays[0])
    per_epoch = steps_per_epoch(n_rows, batch_size)
    first_epoch, offset = divmod(start_step, per_epoch)
    end_epoch = math.ceil((start_step + n_steps) / per_epoch)
    tensors = tuple(tf.constant(a) for a in arrays)
    seed = int(seed) % (2**31 - 1)

    def epoch_batches(epoch):
        rows = epoch_order(n_rows, seed, epoch, shuffle)
        return tf.data.Dataset.from_tensor_slices(rows).batch(batch_size)

    def gather(rows):
        return tuple(tf.gather(t, rows) for t in tensors)

    stream = tf.data.Dataset.range(first_epoch, end_epoch).flat_map(epoch_batches)
    stream = stream.skip(offset).take(n_steps)
    return stream.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def batch_table(n_rows, seed, start, n_steps, batch_size, shuffle=True):
    """The rows of steps ``start .. start + n_steps - 1``, as a table of fixed width.

    The same mini-batches as :func:`batch_stream`, as TensorFlow tensors (usable inside
    a compiled function, not under XLA: the shuffle is not an XLA operation).

    Returns
    -------
    rows : int64 tensor of shape (n_steps, batch_size)
        Row ``j`` of step ``i``'s batch; the last, shorter batch of an epoch is padded
        with row 0.
    valid : bool tensor of shape (n_steps, batch_size)
        False where ``rows`` is padding.
    """
    n_rows = tf.cast(n_rows, tf.int64)
    batch_size = tf.cast(batch_size, tf.int64)
    start, n_steps = tf.cast(start, tf.int64), tf.cast(n_steps, tf.int64)
    per_epoch = (n_rows + batch_size - 1) // batch_size
    steps = start + tf.range(n_steps, dtype=tf.int64)
    epochs, within = steps // per_epoch, steps % per_epoch
    first = start // per_epoch
    orders = tf.map_fn(
        lambda epoch: epoch_order(n_rows, seed, epoch, shuffle),
        tf.range(first, (start + n_steps - 1) // per_epoch + 1, dtype=tf.int64),
        fn_output_signature=tf.TensorSpec((None,), tf.int64),
    )
    positions = within[:, None] * batch_size + tf.range(batch_size, dtype=tf.int64)[None, :]
    valid = positions < n_rows
    epoch_index = tf.broadcast_to((epochs - first)[:, None], tf.shape(positions, tf.int64))
    rows = tf.gather_nd(orders, tf.stack([epoch_index, tf.minimum(positions, n_rows - 1)], -1))
    return tf.where(valid, rows, tf.zeros_like(rows)), valid
