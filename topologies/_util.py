"""Private helpers shared by the topology generators.

Argument checks that raise the project's ``TypeError`` / ``ValueError``
messages, seed normalisation, vectorised sampling of distinct integers, and
bulk construction of :class:`networkx.DiGraph` objects in the node order the
simulator expects (inputs, then hidden neurons, then outputs).

Nothing here is public API; the generator modules import from it.
"""

from __future__ import annotations

import contextlib
import gc
import numbers
from collections.abc import Hashable, Iterable, Iterator, Sequence
from typing import Any

import networkx as nx
import numpy as np

#: Activation names the simulator understands (design, section 2).
ACTIVATIONS = (
    "tanh",
    "sigmoid",
    "hard_sigmoid",
    "relu",
    "elu",
    "softplus",
    "identity",
    "sign",
)

#: Number of edges handed to networkx per ``add_weighted_edges_from`` call.
#: Chunking keeps the temporary Python lists small for 10**7-edge graphs.
_EDGE_CHUNK = 1 << 20

_INT32_MAX = int(np.iinfo(np.int32).max)


# ---------------------------------------------------------------------------
# argument checks
# ---------------------------------------------------------------------------


def _is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def check_int(name: str, value: Any, minimum: int | None = None) -> int:
    """Return ``value`` as an ``int`` or raise ``TypeError`` / ``ValueError``.

    Parameters
    ----------
    name : str
        Argument name used in the message.
    value : object
        The value to check; Python and NumPy integers are accepted, bools not.
    minimum : int, optional
        Smallest allowed value.

    Returns
    -------
    int
    """
    if _is_bool(value) or not isinstance(value, (int, np.integer)):
        raise TypeError(
            f"`{name}` must be an int, got {type(value).__name__} {value!r}"
        )
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}")
    return value


def check_real(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` inside the given interval.

    Parameters
    ----------
    name : str
        Argument name used in the message.
    value : object
        A real number (Python or NumPy); bools are refused.
    low, high : float, optional
        Interval ends; ``None`` means unbounded.
    low_open, high_open : bool
        Whether the corresponding end is excluded.

    Returns
    -------
    float
    """
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"`{name}` must be a real number, got {type(value).__name__} {value!r}"
        )
    value = float(value)
    if low is not None and high is not None:
        rule = (
            f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        )
    elif low is not None:
        rule = f"{'>' if low_open else '>='} {low:g}"
    elif high is not None:
        rule = f"{'<' if high_open else '<='} {high:g}"
    else:
        rule = "finite"
    ok = np.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        if rule != "finite":
            rule = f"finite and {rule}" if not np.isfinite(value) else rule
        raise ValueError(f"`{name}` must be {rule}, got {value!r}")
    return value


def check_choice(name: str, value: Any, options: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``options``; otherwise raise.

    Parameters
    ----------
    name : str
        Argument name used in the message.
    value : object
        The string to check.
    options : sequence of str
        Valid values, listed in the error message.

    Returns
    -------
    str
    """
    listing = ", ".join(repr(o) for o in options)
    if not isinstance(value, str):
        raise TypeError(
            f"`{name}` must be a str, one of {listing}; got {type(value).__name__}"
        )
    if value not in options:
        raise ValueError(f"`{name}` must be one of {listing}; got {value!r}")
    return value


#: The longest delay a builder draws: a step's history is kept that deep.
MAX_DELAY = 10_000


def check_delay_range(value: Any) -> tuple[int, int]:
    """Return ``(lo, hi)`` for a ``delays=`` range of recurrent delays,
    ``1 <= lo <= hi <= MAX_DELAY``; otherwise raise ``TypeError`` /
    ``ValueError``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(f"`delays` must be a pair (lo, hi) of integers, got {value!r}")
    lo = check_int("delays[0]", value[0], minimum=1)
    hi = check_int("delays[1]", value[1], minimum=lo)
    if hi > MAX_DELAY:
        raise ValueError(f"`delays` must stay <= {MAX_DELAY} steps, got {value!r}")
    return lo, hi


def check_activation(value: Any) -> str:
    """Check an activation name against :data:`ACTIVATIONS`."""
    return check_choice("activation", value, ACTIVATIONS)


def as_rng(seed: Any) -> np.random.Generator:
    """Normalise ``seed`` once with :func:`numpy.random.default_rng`.

    Parameters
    ----------
    seed : int, numpy.random.Generator, numpy.random.SeedSequence, \
numpy.random.BitGenerator or None
        ``None`` draws fresh entropy; a Generator is used as is (not copied),
        so the caller's generator advances.

    Returns
    -------
    numpy.random.Generator
    """
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if _is_bool(seed) or not isinstance(
        seed,
        (int, np.integer, np.random.SeedSequence, np.random.BitGenerator),
    ):
        raise TypeError(
            "`seed` must be an int, a numpy.random.Generator or None, "
            f"got {type(seed).__name__} {seed!r}"
        )
    if isinstance(seed, (int, np.integer)) and seed < 0:
        raise ValueError(f"`seed` must be >= 0, got {seed}")
    return np.random.default_rng(seed)


def check_digraph(G: Any, name: str = "G", undirected: bool = False) -> nx.DiGraph:
    """Refuse anything but a (non-multi) :class:`networkx.DiGraph`.

    With ``undirected=True`` a (non-multi) :class:`networkx.Graph` passes too.
    """
    if undirected:
        if not isinstance(G, nx.Graph) or G.is_multigraph():
            raise TypeError(
                f"`{name}` must be a networkx.DiGraph or Graph, got {type(G).__name__}; "
                "merge parallel edges first: nx.Graph(G) or nx.DiGraph(G) keeps one edge per pair"
            )
    elif not isinstance(G, nx.DiGraph) or isinstance(G, nx.MultiDiGraph):
        raise TypeError(
            f"`{name}` must be a networkx.DiGraph, got {type(G).__name__}; "
            "convert an undirected graph with G.to_directed()"
        )
    return G


# ---------------------------------------------------------------------------
# sampling
# ---------------------------------------------------------------------------


def _index_dtype(n_candidates: int) -> type:
    return np.int32 if n_candidates <= _INT32_MAX else np.int64


def distinct_rows(
    rng: np.random.Generator, n_rows: int, n_candidates: int, k: int
) -> np.ndarray:
    """Draw, for every row, ``k`` distinct integers uniformly from ``[0, n_candidates)``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    n_rows : int
        Number of independent rows.
    n_candidates : int
        Size of the population each row draws from.
    k : int
        Draws per row, ``0 <= k <= n_candidates``.

    Returns
    -------
    ndarray, shape (n_rows, k)
        Each row sorted ascending; int32 when the population fits, else int64.

    Notes
    -----
    Every row starts as ``k`` independent uniform draws; rows that contain a
    repeated value have the repeats (all but one copy) replaced by fresh
    draws, and this repeats until no row has a duplicate. The kept set of a row
    is the set of the first ``k`` distinct values of an i.i.d. uniform
    sequence, whose law is invariant under relabelling the population, so each
    row is a uniformly random ``k``-subset. Only rows with duplicates are
    revisited, and with ``k <= n_candidates / 2`` a redraw collides with
    probability at most 1/2, so the work is O(n_rows k log k) in expectation.
    For ``k > n_candidates / 2`` the complement (the ``n_candidates - k``
    excluded values) is drawn instead, using an ``(n_rows, n_candidates)``
    boolean mask -- at most twice the size of the output.
    """
    dtype = _index_dtype(n_candidates)
    if k == 0:
        return np.empty((n_rows, 0), dtype=dtype)
    if 2 * k > n_candidates:
        excluded = distinct_rows(rng, n_rows, n_candidates, n_candidates - k)
        keep = np.ones((n_rows, n_candidates), dtype=bool)
        keep[np.arange(n_rows)[:, None], excluded] = False
        return np.nonzero(keep)[1].astype(dtype).reshape(n_rows, k)
    out = rng.integers(0, n_candidates, size=(n_rows, k), dtype=dtype)
    out.sort(axis=1)
    rows = np.flatnonzero((out[:, 1:] == out[:, :-1]).any(axis=1))
    while rows.size:
        sub = out[rows]
        r, c = np.nonzero(sub[:, 1:] == sub[:, :-1])
        sub[r, c + 1] = rng.integers(0, n_candidates, size=r.size, dtype=dtype)
        sub.sort(axis=1)
        out[rows] = sub
        rows = rows[(sub[:, 1:] == sub[:, :-1]).any(axis=1)]
    return out


def bernoulli_pairs(
    rng: np.random.Generator,
    n_rows: int,
    n_cols: int,
    p: float,
    exclude_diagonal: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Keep each pair ``(i, j)`` of an ``n_rows x n_cols`` grid with probability ``p``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    n_rows, n_cols : int
        Grid shape.
    p : float
        Keep probability in ``[0, 1]``.
    exclude_diagonal : bool
        Leave out the pairs ``(i, i)`` (square grids only).

    Returns
    -------
    rows, cols : ndarray of int64, shape (n_pairs,)
        The kept pairs in lexicographic order.

    Notes
    -----
    The number of kept pairs is drawn as ``M ~ Binomial(N, p)`` over the
    ``N`` candidate pairs and then ``M`` distinct pair indices are drawn
    uniformly (:func:`distinct_rows` with one row). Given ``M`` every
    ``M``-subset is equally likely, which is exactly the law of independent
    Bernoulli(p) trials, yet the cost is O(M log M) instead of O(N) -- the
    difference between seconds and hours for ``N = 10**12``, ``p = 10**-5``.
    """
    per_row = n_cols - 1 if exclude_diagonal else n_cols
    total = n_rows * per_row
    if total <= 0 or p == 0.0:
        idx = np.empty(0, dtype=np.int64)
    elif p == 1.0:
        idx = np.arange(total, dtype=np.int64)
    else:
        m = int(rng.binomial(total, p))
        idx = distinct_rows(rng, 1, total, m)[0].astype(np.int64, copy=False)
    rows = idx // max(per_row, 1)
    cols = idx - rows * per_row
    if exclude_diagonal:
        cols += cols >= rows
    return rows, cols


def fan_in_weights(
    rng: np.random.Generator,
    dst: np.ndarray,
    n_targets: int,
    scale: float,
    distribution: str = "normal",
) -> np.ndarray:
    """Weights with variance ``scale**2 / fan_in`` for edges listed by target.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    dst : ndarray of int, shape (n_edges,)
        Target index of each edge, in ``[0, n_targets)``.
    n_targets : int
        Number of possible targets.
    scale : float
        Standard deviation times ``sqrt(fan_in)``.
    distribution : {"normal", "uniform"}
        ``normal``: N(0, scale**2 / fan_in); ``uniform``: U(-a, a) with
        ``a = scale * sqrt(3 / fan_in)`` (same variance).

    Returns
    -------
    ndarray of float64, shape (n_edges,)

    Notes
    -----
    ``fan_in`` of an edge is the number of entries of ``dst`` equal to its
    target, counted once with :func:`numpy.bincount`.
    """
    if dst.size == 0:
        return np.empty(0, dtype=np.float64)
    fan_in = np.bincount(dst, minlength=n_targets)[dst]
    if distribution == "normal":
        w = rng.standard_normal(dst.size)
        w *= scale / np.sqrt(fan_in)
    else:
        w = rng.uniform(-1.0, 1.0, size=dst.size)
        w *= scale * np.sqrt(3.0 / fan_in)
    return w


def lexsort_pairs(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort edge index arrays by ``(src, dst)``."""
    order = np.lexsort((dst, src))
    return src[order], dst[order]


# ---------------------------------------------------------------------------
# graph construction
# ---------------------------------------------------------------------------


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector, restoring its previous state.

    Adding 10**7 edges creates tens of millions of container objects; the
    collector's generational passes over them cost ~40% of the build time
    and reclaim nothing (networkx graphs hold no garbage cycles while being
    built).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def io_names(n_inputs: int, n_outputs: int) -> tuple[list[str], list[str]]:
    """Names ``in0, in1, ...`` and ``out0, out1, ...``."""
    return [f"in{k}" for k in range(n_inputs)], [f"out{k}" for k in range(n_outputs)]


def new_graph(
    inputs: Sequence[Hashable],
    hidden: Sequence[Hashable],
    outputs: Sequence[Hashable],
    hidden_attrs: Iterable[dict] | None = None,
    input_attrs: Iterable[dict] | None = None,
    output_attrs: Iterable[dict] | None = None,
) -> nx.DiGraph:
    """An edgeless DiGraph with nodes in the order inputs, hidden, outputs.

    Input nodes get ``role="input"``, outputs ``role="output"``; hidden nodes
    get no role. Optional per-node attribute dicts are aligned with the lists.
    """
    G = nx.DiGraph()

    def with_attrs(nodes, attrs, role):
        if attrs is None:
            return ((n, {"role": role}) for n in nodes) if role else nodes
        if role:
            return ((n, {"role": role, **a}) for n, a in zip(nodes, attrs))
        return zip(nodes, attrs)

    with gc_paused():
        G.add_nodes_from(with_attrs(inputs, input_attrs, "input"))
        G.add_nodes_from(with_attrs(hidden, hidden_attrs, None))
        G.add_nodes_from(with_attrs(outputs, output_attrs, "output"))
    return G


def add_weighted_edges(
    G: nx.DiGraph,
    src_nodes: Sequence[Hashable],
    dst_nodes: Sequence[Hashable],
    src: np.ndarray,
    dst: np.ndarray,
    weights: np.ndarray,
) -> None:
    """Add edges ``src_nodes[src[e]] -> dst_nodes[dst[e]]`` with ``weights[e]``.

    Node objects are taken from the given lists (so a million-node graph
    shares one ``int`` object per node instead of one per edge end), and the
    edges go to networkx in chunks of :data:`_EDGE_CHUNK` through
    ``add_weighted_edges_from``: the per-edge cost is networkx's own
    (about 2.5 microseconds and 300 bytes per edge), with the cyclic garbage
    collector paused while they are added.
    """
    get_src = src_nodes.__getitem__
    get_dst = dst_nodes.__getitem__
    with gc_paused():
        for start in range(0, len(src), _EDGE_CHUNK):
            stop = start + _EDGE_CHUNK
            G.add_weighted_edges_from(
                zip(
                    map(get_src, src[start:stop].tolist()),
                    map(get_dst, dst[start:stop].tolist()),
                    weights[start:stop].tolist(),
                )
            )
