"""How many threads a run uses: by the work of a step, by the cores that are
free at the moment, and by what threads were measured to gain in this process.

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

Even on an idle machine threads are not always faster: in a fresh process
the first few hundred milliseconds of threaded work can run up to 8x slower
than later, while the other thread first writes freshly allocated history
(kernel time in page faults of new huge pages; measured in
``benchmarks/README.md``, "Threads in a fresh process"). So where the choice
matters the planner measures instead of assuming: a `Planner` times the
segments it schedules (one thread, and short *probe* segments of
`PROBE_WORK` units on threads), keeps per kind of kernel and size of step
the latest time per unit of work of each, runs the faster, and times the
other again once its figure is older than `RECHECK` seconds (at most one
probe a call). A probe that finds threads slow costs a few steps.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field

import numba
import numpy as np

__all__ = ["first_touch", "CALL_RECHECK", "PARALLEL_MIN_WORK", "PROBE_WORK", "RECHECK", "SEGMENT_WORK", "Planner", "PLANNER", "plan", "schedule",
           "segments", "split", "timed_call", "using"]

#: Work per step, (edges + neurons) x batch, from which threads pay for their
#: per-step barrier (measured on 2 cores: 2 threads 0.91x one at 6,000,
#: 1.14x at 12,000, 1.31x at 24,000, 1.44x at 48,000).
PARALLEL_MIN_WORK = 20_000
#: Work per segment of a long threaded run: about 10-20 ms, so re-planning
#: (some 15 us) costs well under 1%.
SEGMENT_WORK = 20_000_000
#: Work of a probe segment, run the way not taken to time it: a few steps
#: (N = 1,000, in-degree 10, batch 32: 4 steps, about 0.8 ms on one thread),
#: so that a probe finding threads 3-8x slower costs a few percent of a call.
PROBE_WORK = 1_500_000
#: Seconds after which the figure of the way not taken is measured again.
RECHECK = 0.1
#: The same for calls measured whole (`timed_call`), where a probe is a call.
CALL_RECHECK = 2.0


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


@dataclass
class Figure:
    """The latest measurement of one way of running: seconds per unit of
    work and step, the planner's clock when it was taken, and how many
    times that way has been measured."""

    rate: float
    when: float
    count: int = 1


@dataclass
class Planner:
    """What threads were measured to gain in this process, and the choices
    that follow from it.

    Figures are kept per `kind` of kernel and per power of two of the work a
    step (``(kind, work.bit_length())``), for one thread and for each thread
    count tried. `choose` runs one thread until it has a figure, then probes
    the threads, then runs the faster, probing the other again once its
    figure is older than `RECHECK` seconds; `record` stores what a segment
    took. Threads are probed twice before their figure counts: the first
    threaded call of a process loads the threaded kernels too (BPTT at N =
    10,000, batch 1, 50 steps: 6x its later calls' time, a figure that
    kept one thread for `CALL_RECHECK` seconds at 1.4x the threads' time).
    `clock` is read for the age of figures and, by `schedule` and
    `timed_call`, to time segments (tests give a fake one).
    """

    clock: Callable[[], float] = time.perf_counter
    figures: dict[tuple[Hashable, int], dict[int, Figure]] = field(default_factory=dict)

    def choose(self, kind: Hashable, work: int, threads: int, may_probe: bool,
               recheck: float | None = None) -> tuple[int, bool]:
        """``(threads, probe)`` for the next steps, `threads` (>= 2) being
        what the free cores allow; `probe` says the steps are run to time
        the way not taken, which only `may_probe` allows, once its figure
        is older than `recheck` seconds (default `RECHECK`), and for
        threads measured only once.

        Examples
        --------
        >>> p = Planner(clock=lambda: 0.0)
        >>> p.choose("run", 10**6, 2, True)  # nothing measured: one thread
        (1, False)
        >>> p.record("run", 10**6, 1, 10, 1.0); p.choose("run", 10**6, 2, True)  # now time threads
        (2, True)
        >>> p.record("run", 10**6, 2, 10, 0.5); p.choose("run", 10**6, 2, True)  # timed once: again
        (2, True)
        >>> p.record("run", 10**6, 2, 10, 0.5); p.choose("run", 10**6, 2, True)  # threads were faster
        (2, False)
        """
        figs = self.figures.get((kind, work.bit_length()), {})
        one, many = figs.get(1), figs.get(threads)
        if one is None:
            return 1, False
        now = self.clock()
        recheck = RECHECK if recheck is None else recheck
        if may_probe and (many is None or many.count < 2 or now - many.when > recheck):
            return threads, True
        if many is None:
            return 1, False
        faster = threads if many.rate < one.rate else 1
        if may_probe and faster > 1 and now - one.when > recheck:
            return 1, True
        return faster, False

    def record(self, kind: Hashable, work: int, threads: int, steps: int, seconds: float) -> None:
        """Store that `steps` steps of `work` units each took `seconds` on `threads`."""
        if steps > 0 and work > 0 and seconds > 0:
            figs = self.figures.setdefault((kind, work.bit_length()), {})
            count = figs[threads].count + 1 if threads in figs else 1
            figs[threads] = Figure(seconds / (steps * work), self.clock(), count)

    def rates(self, kind: Hashable, work: int) -> dict[int, float]:
        """The latest seconds per unit of work and step, by thread count."""
        return {k: f.rate for k, f in self.figures.get((kind, work.bit_length()), {}).items()}


#: The process's planner, shared by every front door.
PLANNER = Planner()


def schedule(n_steps: int, work: int, parallel: bool | None, kind: Hashable = "run",
             always_split: bool = False) -> Iterator[tuple[int, int, int]]:
    """``(start, stop, threads)`` for each segment of a run of `n_steps`
    steps of `work` units, choosing each segment's threads as it comes.

    With ``parallel`` True or False, or where threads cannot pay (`plan`),
    the run is one segment (`split` into `SEGMENT_WORK` pieces if
    `always_split`, for a progress bar) on the threads `plan` gives. With
    ``parallel=None`` and free cores, `PLANNER` chooses each segment
    (`Planner.choose`) and times it: the time from yielding a segment to
    being asked for the next is recorded as that segment's. A probe is
    `PROBE_WORK` units long. A run shorter than ten probes is too short to
    probe within: it is timed whole, as `timed_call` times a call, and is
    itself the probe once the way not taken is older than `CALL_RECHECK`
    seconds (a 50-step run at N = 10,000, batch 1, would otherwise never
    leave one thread, or keep a figure that longer runs of the kind set).
    """
    threads_max = numba.get_num_threads()
    if parallel is not None or work < PARALLEL_MIN_WORK or n_steps == 0 or threads_max < 2:
        for start, stop in split(n_steps, work) if always_split else [(0, n_steps)]:
            yield start, stop, plan(work, parallel)
        return
    planner = PLANNER
    size = max(1, SEGMENT_WORK // work)
    probe_size = max(1, PROBE_WORK // work)
    whole = n_steps < 10 * probe_size
    recheck, may_probe = CALL_RECHECK if whole else RECHECK, True
    start = 0
    while start < n_steps:
        free = plan(work, None)
        threads, probe = planner.choose(kind, work, free, may_probe, recheck) if free >= 2 else (1, False)
        may_probe = may_probe and not probe
        stop = min(n_steps, start + (probe_size if probe and not whole else size))
        t0 = planner.clock()
        yield start, stop, threads
        if free >= 2:
            planner.record(kind, work, threads, stop - start, planner.clock() - t0)
        start = stop


def timed_call(kind: Hashable, work: int, n_steps: int) -> tuple[int, Callable[[], None]]:
    """Threads for a call that runs `n_steps` steps of `work` units on one
    thread count throughout (BPTT), and the function to call when it is done
    to record its time.

    The whole call is the unit measured, so a probe is a whole call: the
    way not taken is timed again only once its figure is older than
    `CALL_RECHECK` seconds (`Planner.choose`).
    """
    free = plan(work, None)
    if free < 2:
        return 1, lambda: None
    planner = PLANNER
    threads, _ = planner.choose(kind, work, free, True, CALL_RECHECK)
    t0 = planner.clock()
    return threads, lambda: planner.record(kind, work, threads, n_steps, planner.clock() - t0)


#: Bytes apart the elements `first_touch` writes: one per 4 KiB page.
PAGE_BYTES = 4096


def first_touch(a: np.ndarray) -> np.ndarray:
    """Write a zero into every memory page of the fresh C-contiguous array
    `a` from the calling thread; return `a`.

    NumPy asks for transparent huge pages for large arrays, and the first
    write into each 2 MiB page faults it in. When the threads of a parallel
    kernel take those faults together, the first threaded calls of a process
    ran up to 3.4x slower than one thread (`benchmarks/README.md`); faulted
    in here, one thread pays what a one-thread kernel's first writes pay,
    and the threaded kernels start at their steady speed (N = 1,000, batch
    32, five fresh processes: the first calls' median 1.04x -> 0.73x one
    thread, the worst 1.53x -> 0.90-0.96x). The kernel overwrites the zeros.

    >>> first_touch(np.full((3, 1000), 7.0))[0, :2]
    array([0., 7.])
    """
    a.reshape(-1)[:: max(1, PAGE_BYTES // a.itemsize)] = 0
    return a
