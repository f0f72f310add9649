"""Progress bars for long work: tqdm (a widget in Jupyter) when it is
installed, else a line of text on stderr when a bar was asked for.

Without tqdm the text bar depends on where stderr goes. In a terminal
(``stderr.isatty()``) it is redrawn in place as the work goes on. Anywhere
else (a Jupyter kernel, a pipe, a log file) a redrawn line would land as many
separate pieces of output, so the bar writes exactly one line, its final
state, when it closes. Bars nobody asked for (`run`'s bar for a long run,
`solve`'s after a few seconds) draw no text at all; an asked-for one is
``progress=True``, the default of `train` and `sweep`."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

__all__ = ["AUTO_MIN_WORK", "AUTO_DELAY", "TextBar", "progress_bar", "clock"]

#: Work of a whole run, (edges + neurons) x batch x steps x stages, from
#: which `run` shows a bar unless told otherwise: about 2 s on 2 cores.
AUTO_MIN_WORK = 4_000_000_000
#: Seconds after which an automatic bar is drawn: `solve`'s (how long a
#: solve takes is known only as it goes) and a long `run`'s (its work
#: estimate counts edge updates, which BLAS makes cheap on dense wirings).
AUTO_DELAY = 2.0


class TextBar:
    """A one-line text progress bar on stderr with the part of tqdm's
    interface used here (``update``, ``set_postfix_str``, ``close``, a
    context manager), for when tqdm is not installed.

    On a terminal stream (``stream.isatty()`` true) the line is redrawn in
    place, at most ten times a second; on any other stream (a notebook's, a
    pipe, a file) nothing is written until `close`, which writes the final
    line once.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()  # not a terminal: one line, at the close
    >>> with TextBar(4, "run", "steps", stream=out, width=8) as bar:
    ...     bar.update(3); bar.set_postfix_str("1 failed")
    ...     out.getvalue()
    ''
    >>> out.getvalue().split(" | ")[:2]
    ['run [######  ] 3/4 steps', '1 failed']
    """

    def __init__(self, total: float, desc: str, unit: str, stream=None, width: int = 30):
        self.total, self.desc, self.unit, self.width = total, desc, unit, width
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        try:
            self.live = bool(isatty()) if callable(isatty) else False
        except (ValueError, OSError):  # a closed or detached stream
            self.live = False
        self.done, self.note = 0, ""
        self.start = self.last = time.perf_counter()
        self.shown = None
        if self.live:
            self._draw()

    def _line(self) -> str:
        frac = min(1.0, self.done / self.total) if self.total else 1.0
        note = f" | {self.note}" if self.note else ""
        elapsed = time.perf_counter() - self.start
        return (f"{self.desc} [{'#' * int(self.width * frac):<{self.width}}] "
                f"{self.done:.4g}/{self.total:.4g} {self.unit}{note} | {elapsed:.1f}s")

    def _draw(self) -> None:
        self.stream.write("\r" + self._line())
        self.stream.flush()
        self.shown = (self.done, self.note)

    def update(self, n: float = 1) -> None:
        self.done += n
        if not self.live:
            return
        now = time.perf_counter()
        if now - self.last > 0.1 or self.done >= self.total:
            self.last = now
            self._draw()

    def set_postfix_str(self, note: str) -> None:
        self.note = note

    def close(self) -> None:
        if self.stream is None:
            return
        if not self.live:
            self.stream.write(self._line() + "\n")
        else:
            if self.shown != (self.done, self.note):
                self._draw()
            self.stream.write("\n")
        self.stream.flush()
        self.stream = None

    def __enter__(self) -> TextBar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress_bar(show: bool, total: float, desc: str, unit: str, delay: float = 0.0, text: bool = True):
    """A `tqdm.auto.tqdm` bar over `total` units, drawn once `delay` seconds
    have passed; without tqdm a `TextBar` on stderr when `text` (the bar was
    asked for: redrawn in a terminal, else one line at the close); None when
    it is not to be shown or there is nothing to count.

    Examples
    --------
    >>> progress_bar(False, 10, "run", "steps") is None
    True
    """
    if not show or total <= 0:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return TextBar(total, desc, unit) if text else None
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
