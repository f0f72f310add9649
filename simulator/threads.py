"""How many threads a run uses: by the work of a step, and by the cores that
are free at the moment.

A threaded kernel splits each step's neurons over threads and meets at a
barrier before the next step. That pays only when a step has enough work,
and it is fragile on a shared machine: when another process takes a core, a
descheduled thread stalls every barrier for a whole time slice (measured on
2 cores: a threaded run slowed 3.6-5.6x beside one busy process, a
one-thread run not at all). So a run uses threads only when a step has at
least `PARALLEL_MIN_WORK` units of work *and* no other process is running on
the cores it would use; long runs go in segments of about `SEGMENT_WORK`
units, and the choice is made afresh before each, so a process that starts
halfway through costs at most one segment.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numba

__all__ = ["PARALLEL_MIN_WORK", "SEGMENT_WORK", "plan", "segments", "split", "using"]

#: Work per step, (edges + neurons) x batch, from which threads pay for their
#: per-step barrier (measured on 2 cores: 2 threads 0.91x one at 6,000,
#: 1.14x at 12,000, 1.31x at 24,000, 1.44x at 48,000).
PARALLEL_MIN_WORK = 20_000
#: Work per segment of a long threaded run: about 10-20 ms, so re-planning
#: (some 15 us) costs well under 1%.
SEGMENT_WORK = 20_000_000


def others_running() -> int:
    """Runnable tasks on this machine right now, not counting this process's.

    Linux only (``/proc/loadavg`` and ``/proc/self/task``); 0 elsewhere, or
    when they cannot be read.
    """
    try:
        with open("/proc/loadavg") as f:
            running = int(f.read().split()[3].split("/")[0])
        ours = 0
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as f:
                    stat = f.read()
            except OSError:  # the thread ended meanwhile
                continue
            ours += stat[stat.rindex(")") + 2] == "R"
    except (OSError, ValueError, IndexError):
        return 0
    return max(0, running - ours)


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def plan(work: int, parallel: bool | None) -> int:
    """Threads for the next steps of a run: 1 means the one-thread kernel.

    Parameters
    ----------
    work : int
        Work per step, (edges + neurons) x batch.
    parallel : bool or None
        True: every thread Numba has, whatever the load. False: one.
        None (the default of the front doors): threads only from
        `PARALLEL_MIN_WORK` on, and only as many as there are cores no other
        process is running on.

    Examples
    --------
    >>> plan(100, None), plan(10**9, False)
    (1, 1)
    """
    threads = numba.get_num_threads()
    if parallel is not None:
        return threads if parallel else 1
    if threads < 2 or work < PARALLEL_MIN_WORK:
        return 1
    free = usable_cores() - others_running()
    return max(1, min(threads, free))


def segments(n_steps: int, work: int, parallel: bool | None) -> list[tuple[int, int]]:
    """Split ``0 .. n_steps`` into the ``(start, stop)`` step ranges between
    which the thread choice is remade: one range unless the choice is
    automatic and the run long enough to be threaded.

    Examples
    --------
    >>> segments(10, 100, None)
    [(0, 10)]
    >>> segments(10, 10**7, None)
    [(0, 2), (2, 4), (4, 6), (6, 8), (8, 10)]
    """
    if parallel is not None or work < PARALLEL_MIN_WORK or n_steps == 0:
        return [(0, n_steps)]
    return split(n_steps, work)


def split(n_steps: int, work: int) -> list[tuple[int, int]]:
    """``0 .. n_steps`` in ``(start, stop)`` ranges of about `SEGMENT_WORK`
    units each (at least one step), for `work` units a step.

    Examples
    --------
    >>> split(5, 10**7)
    [(0, 2), (2, 4), (4, 5)]
    """
    size = max(1, SEGMENT_WORK // max(1, work))
    return [(start, min(n_steps, start + size)) for start in range(0, n_steps, size)]


@contextlib.contextmanager
def using(threads: int, n_neurons: int) -> Iterator[int]:
    """Run the block with Numba's thread count set to `threads`; yields the
    number of chunks a threaded kernel splits a step's `n_neurons` into
    (four per thread), or 0 for the one-thread kernel."""
    if threads < 2 or n_neurons == 0:
        yield 0
        return
    before = numba.get_num_threads()
    threads = min(threads, before)
    numba.set_num_threads(threads)
    try:
        yield min(n_neurons, 4 * threads)
    finally:
        numba.set_num_threads(before)
