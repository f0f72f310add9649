"""The progress bar of a sweep: tqdm when installed, else a line of text on stderr."""

from __future__ import annotations

import sys
import time


class TextBar:
    """A one-line text progress bar on stderr, for when tqdm is not installed."""

    def __init__(self, total: int, skipped: int, stream=None, width: int = 30):
        self.total, self.done, self.failed = total, 0, 0
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.note = f" (+{skipped} from the checkpoint)" if skipped else ""
        self.start = self.last = time.perf_counter()
        self.shown = None
        self._draw()

    def _draw(self) -> None:
        frac = self.done / self.total if self.total else 1.0
        failed = f" | {self.failed} failed" if self.failed else ""
        elapsed = time.perf_counter() - self.start
        self.stream.write(f"\rsweep [{'#' * int(self.width * frac):<{self.width}}] {self.done}/{self.total} "
                          f"points{self.note}{failed} | {elapsed:.1f}s")
        self.stream.flush()
        self.shown = (self.done, self.failed)

    def update(self, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        now = time.perf_counter()
        if now - self.last > 0.1 or self.done == self.total:
            self.last = now
            self._draw()

    def close(self) -> None:
        if self.stream is None:
            return
        if self.shown != (self.done, self.failed):
            self._draw()
        self.stream.write("\n")
        self.stream.flush()
        self.stream = None


class TqdmBar:
    """The same interface over `tqdm.auto` (a widget in Jupyter)."""

    def __init__(self, tqdm, total: int, skipped: int):
        self.bar = tqdm(total=total, desc="sweep", unit="point")
        if skipped:
            self.bar.set_postfix(checkpoint=skipped)
        self.failed = 0

    def update(self, failed: bool) -> None:
        if failed:
            self.failed += 1
            self.bar.set_postfix(failed=self.failed)
        self.bar.update()

    def close(self) -> None:
        self.bar.close()  # tqdm closes once


class NoBar:
    def update(self, failed: bool) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(show: bool, total: int, skipped: int):
    """tqdm when installed, else `TextBar`; `NoBar` when not shown or nothing to do."""
    if not show or total == 0:
        return NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return TextBar(total, skipped)
    return TqdmBar(tqdm, total, skipped)
