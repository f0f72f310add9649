"""Progress bars for long work: tqdm (a widget in Jupyter) when it is
installed, else none."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["AUTO_MIN_WORK", "AUTO_DELAY", "progress_bar", "clock"]

#: Work of a whole run, (edges + neurons) x batch x steps x stages, from
#: which `run` shows a bar unless told otherwise: about 2 s on 2 cores.
AUTO_MIN_WORK = 4_000_000_000
#: Seconds after which `solve` shows its bar unless told otherwise (how long
#: a solve takes is known only as it goes).
AUTO_DELAY = 2.0


def progress_bar(show: bool, total: float, desc: str, unit: str, delay: float = 0.0):
    """A `tqdm.auto.tqdm` bar over `total` units, drawn once `delay` seconds
    have passed, or None when it is not to be shown, there is nothing to
    count, or tqdm is not installed.

    Examples
    --------
    >>> progress_bar(False, 10, "run", "step") is None
    True
    """
    if not show or total <= 0:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit=unit, delay=delay)


def clock(bar, t0: float, t1: float) -> Callable[[float], None]:
    """``tick(t)``: moves `bar` (over ``t1 - t0``) on to the time `t` a
    solver has reached, in steps of at least 1% of the span (and at `t1`),
    so the bar's own cost stays off the solver's many calls.

    Examples
    --------
    >>> class Bar:
    ...     n = 0.0
    ...     def update(self, dn): self.n += dn
    >>> bar = Bar(); tick = clock(bar, 0.0, 10.0)
    >>> for t in (0.05, 0.5, 0.2, 3.0): tick(t)
    >>> bar.n
    3.0
    >>> tick(10.0); bar.n
    10.0
    """
    least = (t1 - t0) / 100
    shown = t0

    def tick(t: float) -> None:
        nonlocal shown
        if t - shown >= least or (t == t1 and t > shown):
            bar.update(t - shown)
            shown = t

    return tick
