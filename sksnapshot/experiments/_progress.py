"""Live progress of a long experiment: what runs now, time elapsed, time remaining."""

import sys
import time

__all__ = ["Progress", "format_duration"]


def format_duration(seconds):
    """``"1:02:03"``, ``"2:03"`` or ``"4.2 s"``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Report progress through work measured in abstract cost units.

    The remaining time is the elapsed time scaled by the cost still to do: every task
    declares its cost up front (e.g. a true ensemble of 10 networks costs 10 single
    fits), so the estimate is right as soon as the costs are proportional to the times.

    Parameters
    ----------
    total_cost : float
        Sum of the costs of all tasks.
    stream : file-like, default=sys.stderr
        Where the progress goes. On a terminal each report overwrites the line;
        otherwise every report is a line of its own.
    enabled : bool, default=True
        False reports nothing.
    timer : callable, default=time.perf_counter
        The clock, in seconds.
    """

    def __init__(self, total_cost, stream=None, enabled=True, timer=time.perf_counter):
        self.total_cost = float(total_cost)
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.done_cost = 0.0
        self.n_reports = 0
        self._timer = timer
        self._start = timer()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    @property
    def elapsed(self):
        """Seconds since the progress was created."""
        return self._timer() - self._start

    def remaining(self):
        """Estimated seconds still to run, or None before any cost is done."""
        if self.done_cost <= 0:
            return None
        rate = self.elapsed / self.done_cost
        return max(self.total_cost - self.done_cost, 0.0) * rate

    def _write(self, message, final=False):
        if not self.enabled:
            return
        if self._tty:
            self.stream.write("\r\033[K" + message + ("\n" if final else ""))
        else:
            self.stream.write(message + "\n")
        self.stream.flush()

    def start(self, what):
        """Say what starts now (only on a terminal: a line that the next report overwrites)."""
        if self._tty:
            self._write(f"{what} ... | {self._times()}")

    def advance(self, cost, what):
        """Count ``cost`` as done and report ``what`` was just finished."""
        self.done_cost += cost
        self.n_reports += 1
        percent = 100 * self.done_cost / self.total_cost if self.total_cost else 100.0
        self._write(f"[{percent:3.0f}%] {what} | {self._times()}")

    def _times(self):
        remaining = self.remaining()
        left = "?" if remaining is None else "~" + format_duration(remaining)
        return f"elapsed {format_duration(self.elapsed)}, remaining {left}"

    def close(self):
        """End the progress display (a newline on a terminal)."""
        if self.enabled and self._tty:
            self.stream.write("\n")
            self.stream.flush()
