"""Progress bars for long work: tqdm (a widget in Jupyter) when it is
installed, else none."""

from __future__ import annotations

__all__ = ["AUTO_MIN_WORK", "progress_bar"]

#: Work of a whole run, (edges + neurons) x batch x steps x stages, from
#: which `run` shows a bar unless told otherwise: about 2 s on 2 cores.
AUTO_MIN_WORK = 4_000_000_000


def progress_bar(show: bool, total: int, desc: str, unit: str):
    """A `tqdm.auto.tqdm` bar over `total` units, or None when it is not to
    be shown, there is nothing to count, or tqdm is not installed.

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
    return tqdm(total=total, desc=desc, unit=unit)
