"""The progress bar of a sweep: its points, with the failed ones and those
taken from a checkpoint noted beside the bar (`simulator.progress`)."""

from __future__ import annotations

from ..progress import progress_bar


class SweepBar:
    """Counts finished points on `bar` (tqdm or `simulator.progress.TextBar`)."""

    def __init__(self, bar, skipped: int):
        self.bar, self.skipped, self.failed = bar, skipped, 0
        self._note()

    def _note(self) -> None:
        parts = [f"+{self.skipped} from the checkpoint"] if self.skipped else []
        parts += [f"{self.failed} failed"] if self.failed else []
        if parts:
            self.bar.set_postfix_str(", ".join(parts))

    def update(self, failed: bool) -> None:
        if failed:
            self.failed += 1
            self._note()
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()  # tqdm and TextBar close once


class NoBar:
    def update(self, failed: bool) -> None:
        pass

    def close(self) -> None:
        pass


def sweep_bar(show: bool, total: int, skipped: int) -> SweepBar | NoBar:
    """A bar over `total` points (tqdm when installed, else a line of text
    on stderr); `NoBar` when not shown or nothing is left to do."""
    bar = progress_bar(show, total, "sweep", "points")
    return NoBar() if bar is None else SweepBar(bar, skipped)
