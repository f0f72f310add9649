"""Edge delays and same-step edges (design section 9).

Every edge carries a ``delay``, an integer >= 0: the number of steps a
signal takes along it. Writing h_t for ``states[t + 1]`` (so h_{-1} is
``states[0]`` = h0), hidden neuron i and output o update as::

    h_i,t = phi_i( sum_j w_ji s_j,t-d_ji + b_i )
    y_o,t = g_o( sum_j w_jo s_j,t-d_jo + c_o )

with s the source's x, h or fed-back y (the target where teacher forcing
gives one). Before the start h_s = h0 (s < -1) and x_s = y_s = 0 (s < 0).
The defaults, `DEFAULT_DELAY` by edge kind, are section 3's timing, so a
network whose every delay is its default runs the section-3 kernels.

A delay-0 edge between hidden neurons or outputs (either way) delivers
the source's value of the same step: within a step the targets are
evaluated in a topological order of those edges, level by level
(`same_step_levels`); a cycle of them is refused with its nodes listed.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .kinds import KindError

__all__ = ["DEFAULT_DELAY", "MAX_DELAY", "Schedule", "default_delays", "check_delays", "same_step_levels",
           "refuse_delays"]

#: The steps a signal takes along an edge of each kind (codes W, U, F, V, D).
DEFAULT_DELAY = (1, 0, 1, 0, 0)
#: The longest delay accepted: a run keeps that many steps of history.
MAX_DELAY = 10_000

_INTEGER_TYPES = {int, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64}

#: The order of a step with same-step edges: node ids (hidden neuron i is i,
#: output o is n_neurons + o) in ``order``, level ``L`` being
#: ``order[level_ptr[L]:level_ptr[L + 1]]``: the nodes of a level read only
#: nodes of earlier levels through delay-0 edges. The per-slot delays of the
#: in-edge tables (``Wiring.hidden`` and ``Wiring.outputs``) in ``hidden``
#: and ``outputs`` (int64 arrays over the same slots as the weights).
Schedule = namedtuple("Schedule", "hidden outputs order level_ptr")


def default_delays(edge_kind: np.ndarray) -> np.ndarray:
    """Each edge's default delay (int64, shape (n_edges,)) from its kind code."""
    return np.asarray(DEFAULT_DELAY, dtype=np.int64)[np.asarray(edge_kind, dtype=np.intp)]


def check_delays(value, n_edges: int, edge_name) -> np.ndarray:
    """`value` as a read-only int64 array of delays, one per edge.

    Parameters
    ----------
    value : array_like, shape (n_edges,)
    n_edges : int
    edge_name : callable
        ``edge_name(e)`` -> the ``(source, target)`` names of edge ``e``.

    Raises
    ------
    ValueError
        The wrong shape, or a delay that is not a whole number (non-numeric,
        fractional, non-finite), negative, or beyond `MAX_DELAY`; the message
        names the first such edge.
    """
    a = np.asarray(value, dtype=object if not isinstance(value, np.ndarray) else None)
    if a.shape != (n_edges,):
        raise ValueError(f"`delay` must have shape ({n_edges},), one per edge of net.edges; got {a.shape}")
    if a.dtype == object and n_edges and set(map(type, a.tolist())) <= _INTEGER_TYPES:
        a = np.array(a.tolist(), dtype=np.int64)
    if a.dtype.kind not in "iu":
        numbers = np.zeros(n_edges, dtype=np.float64)
        for e, v in enumerate(a.tolist()):
            if isinstance(v, (bool, np.bool_, str, bytes)) or np.ndim(v) != 0:
                raise KindError(f"edge {edge_name(e)!r} has delay {v!r}: a delay must be a whole number of "
                                "steps >= 0")
            try:
                numbers[e] = float(v)
            except (TypeError, ValueError):
                raise KindError(f"edge {edge_name(e)!r} has delay {v!r}: a delay must be a whole number of "
                                "steps >= 0") from None
        bad = np.flatnonzero(~np.isfinite(numbers) | (numbers != np.round(numbers)))
        if bad.size:
            e = int(bad[0])
            raise ValueError(f"edge {edge_name(e)!r} has delay {a[e]!r}: a delay must be a whole number of "
                             "steps >= 0")
        a = numbers
    bad = np.flatnonzero((a < 0) | (a > MAX_DELAY))
    if bad.size:
        e = int(bad[0])
        rule = "a delay must be >= 0" if a[e] < 0 else f"delays must stay <= {MAX_DELAY} steps"
        raise ValueError(f"edge {edge_name(e)!r} has delay {a[e].item()!r}: {rule}")
    out = np.array(a, dtype=np.int64)
    out.flags.writeable = False
    return out


def same_step_levels(edge_kind: np.ndarray, edge_src: np.ndarray, edge_dst: np.ndarray, delay: np.ndarray,
                     n_neurons: int, n_outputs: int, node_name) -> tuple[np.ndarray, np.ndarray]:
    """The levels of a step: a topological order of the delay-0 edges among
    hidden neurons and outputs, found generation by generation, each
    generation's hidden neurons (in order) a level before its outputs (the
    kernels sum a level of neurons in order through their fastest paths:
    with every edge to the outputs delayed, neurons and outputs made one
    level, and at N = 10,000, batch 1, a run took 2.1x as long, BPTT 1.7x).

    Returns
    -------
    order : ndarray of int64, shape (n_neurons + n_outputs,)
        Node ids (hidden neuron i is i, output o is ``n_neurons + o``).
    level_ptr : ndarray of int64, shape (n_levels + 1,)
        Level L is ``order[level_ptr[L]:level_ptr[L + 1]]``.

    Raises
    ------
    ValueError
        When delay-0 edges form a directed cycle; the message lists its
        nodes in order (``node_name(id)`` names them).
    """
    kind = np.asarray(edge_kind)
    # W: hidden -> hidden, F: output -> hidden, V: hidden -> output.
    offset_src = np.array([0, -1, n_neurons, 0, -1])[kind]
    offset_dst = np.array([0, 0, 0, n_neurons, n_neurons])[kind]
    sel = (delay == 0) & np.isin(kind, (0, 2, 3))
    src = (edge_src[sel] + offset_src[sel]).astype(np.int64)
    dst = (edge_dst[sel] + offset_dst[sel]).astype(np.int64)
    n_nodes = n_neurons + n_outputs
    indeg = np.bincount(dst, minlength=n_nodes)
    by_src = np.argsort(src, kind="stable")
    ptr = np.zeros(n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n_nodes), out=ptr[1:])
    succ = dst[by_src]
    frontier = np.flatnonzero(indeg == 0)
    levels, done = [], 0
    while frontier.size:
        levels.append(frontier)
        done += frontier.size
        starts, stops = ptr[frontier], ptr[frontier + 1]
        counts = stops - starts
        if not counts.sum():
            break
        take = np.repeat(starts - np.concatenate(([0], np.cumsum(counts)[:-1])), counts) + np.arange(counts.sum())
        targets = succ[take]
        np.subtract.at(indeg, targets, 1)
        touched = np.unique(targets)
        frontier = touched[indeg[touched] == 0]
    if done < n_nodes:
        raise ValueError(_cycle_message(src, dst, indeg, node_name))
    levels = [part for lv in levels for part in np.split(lv, [np.searchsorted(lv, n_neurons)]) if part.size]
    order = np.concatenate(levels) if levels else np.zeros(0, dtype=np.int64)
    level_ptr = np.zeros(len(levels) + 1, dtype=np.int64)
    np.cumsum([lv.size for lv in levels], out=level_ptr[1:])
    return order.astype(np.int64), level_ptr


def _cycle_message(src: np.ndarray, dst: np.ndarray, indeg: np.ndarray, node_name) -> str:
    """Name a cycle among the nodes left with in-edges (each has a
    predecessor left): walk back from one until a node repeats."""
    left = indeg > 0
    keep = left[src] & left[dst]
    pred = {}
    for u, v in zip(src[keep].tolist(), dst[keep].tolist()):
        pred.setdefault(v, u)
    node = int(np.flatnonzero(left)[0])
    seen: dict[int, int] = {}
    path = []
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = pred[node]
    cycle = path[seen[node]:][::-1]
    names = " -> ".join(repr(node_name(i)) for i in cycle + cycle[:1])
    return (f"edges of delay 0 form the cycle {names}: every directed cycle must carry a total delay >= 1 "
            "(give one of its edges delay >= 1)")


def refuse_delays(net, what: str) -> None:
    """Refuse `what` for a network with a non-default delay, naming its first such edge."""
    if not net.has_delays:
        return
    e = int(np.flatnonzero(net.delay != default_delays(net.edge_kind))[0])
    raise ValueError(f"edge {net.edges[e]!r} has delay {int(net.delay[e])} (the default is "
                     f"{DEFAULT_DELAY[net.edge_kind[e]]}): {what} of networks with non-default delays "
                     "are not implemented (discrete-time runs are)")
