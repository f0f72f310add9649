"""Random and regular recurrent topologies over integer-named neurons.

Every generator here returns a :class:`networkx.DiGraph` whose hidden neurons
are the ints ``0 .. n-1`` (so arrays and patterns index them directly), in the
node order inputs ``"in0", "in1", ...``, hidden ``0 .. n-1``, outputs
``"out0", "out1", ...``. Hidden nodes carry no ``activation``, ``bias`` or
``tau`` (the simulator's defaults apply: tanh, 0, 1).

Weights are fan-in scaled (:func:`topologies.init_weights`): a hidden ->
hidden edge into neuron ``i`` gets ``N(0, scale**2 / k_i)`` with ``k_i`` the
number of hidden neurons feeding ``i``; input -> hidden edges get
``N(0, input_scale**2 / m_i)`` with ``m_i`` the inputs feeding ``i``; every
hidden neuron feeds every output with ``N(0, 1 / n)``. Each input feeds each
hidden neuron with probability ``input_density``.

Structure, then recurrent weights, then input wiring, then output weights
are drawn, in that order, from one ``numpy.random.default_rng(seed)``, all
vectorised; edges reach networkx in bulk, so graphs with 10**6 neurons and
10**7 edges build in tens of seconds (networkx's own ~2 us per edge is the
floor).
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from ._util import (
    add_weighted_edges,
    as_rng,
    bernoulli_pairs,
    check_delay_range,
    check_int,
    check_real,
    distinct_rows,
    fan_in_weights,
    io_names,
    lexsort_pairs,
    new_graph,
)
from .weights import _wire_io

__all__ = [
    "erdos_renyi",
    "fixed_indegree",
    "small_world",
    "scale_free",
    "ring",
    "lattice_2d",
]

Seed = int | np.random.Generator | None


def _build(
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    rng: np.random.Generator,
    scale: float,
    n_inputs: int,
    n_outputs: int,
    input_density: float,
    input_scale: float,
    hidden_attrs=None,
    weights: np.ndarray | None = None,
    delays: tuple[int, int] | None = None,
) -> nx.DiGraph:
    """Graph over hidden ints 0..n-1 with edges src -> dst plus I/O wiring,
    and a ``delay`` drawn from ``delays`` on each hidden edge when given."""
    lo_hi = None if delays is None else check_delay_range(delays)
    hidden = list(range(n))
    inputs, outputs = io_names(n_inputs, n_outputs)
    G = new_graph(inputs, hidden, outputs, hidden_attrs=hidden_attrs)
    if weights is None:
        weights = fan_in_weights(rng, dst, n, scale)
    add_weighted_edges(G, hidden, hidden, src, dst, weights)
    _wire_io(G, rng, inputs, hidden, outputs, hidden, input_density, input_scale)
    if lo_hi is not None:
        edges = G.edges
        for u, v, d in zip(src.tolist(), dst.tolist(), rng.integers(lo_hi[0], lo_hi[1] + 1, size=src.size).tolist()):
            edges[u, v]["delay"] = d
    return G


def _io_args(n_inputs, n_outputs, scale, input_density, input_scale):
    return (
        check_int("n_inputs", n_inputs, minimum=0),
        check_int("n_outputs", n_outputs, minimum=0),
        check_real("scale", scale, low=0.0),
        check_real("input_density", input_density, low=0.0, high=1.0),
        check_real("input_scale", input_scale, low=0.0),
    )


def _check_bool(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def erdos_renyi(
    n: int,
    p: float,
    self_loops: bool = False,
    n_inputs: int = 0,
    n_outputs: int = 0,
    seed: Seed = None,
    *,
    scale: float = 1.0,
    input_density: float = 1.0,
    input_scale: float = 1.0,
    delays: tuple[int, int] | None = None,
) -> nx.DiGraph:
    """Directed Erdos-Renyi network G(n, p) of ``n`` neurons.

    Parameters
    ----------
    n : int
        Number of hidden neurons, ``>= 1``; named ``0 .. n-1``.
    p : float
        Probability in ``[0, 1]`` of each ordered pair ``i -> j``.
    self_loops : bool, default False
        Whether pairs ``i -> i`` are candidates too.
    n_inputs, n_outputs : int, default 0
        Input nodes ``"in{k}"`` and output nodes ``"out{k}"`` to wire in.
    seed : int, numpy.random.Generator or None
        Seed for :func:`numpy.random.default_rng`.
    scale : float, default 1.0
        Recurrent weight scale (keyword only), see the module notes.
    input_density, input_scale : float, default 1.0
        Input wiring probability and weight scale (keyword only).
    delays : (int, int), optional
        Keyword only: draw each hidden -> hidden edge's ``delay`` uniformly
        from the integers ``lo .. hi`` (``1 <= lo <= hi``), after everything
        else (the same seed gives the same graph plus delays); default: no
        ``delay`` attribute (one step each).

    Returns
    -------
    networkx.DiGraph

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``n < 1``, ``p`` or ``input_density`` is outside ``[0, 1]``, or a
        scale is negative.

    Notes
    -----
    Each of the ``N = n (n - 1)`` ordered pairs (``n**2`` with self-loops) is
    an edge independently with probability ``p``. Sampling draws the edge count
    ``M ~ Binomial(N, p)`` and then ``M`` distinct pair indices uniformly,
    which has exactly the same law but costs O(M log M), not O(n**2): ``n =
    10**6``, ``p = 10**-5`` (10**7 edges) samples in about a second. Pair
    index ``q`` is the edge ``i -> j`` with ``i = q // (n - 1)`` and ``j`` the
    ``q % (n - 1)``-th node other than ``i``; edges are added in ``(i, j)``
    order.

    Examples
    --------
    >>> from topologies import erdos_renyi
    >>> G = erdos_renyi(200, 0.05, n_inputs=1, n_outputs=1, seed=0)
    >>> G.number_of_nodes(), list(G)[:3], list(G)[-1]
    (202, ['in0', 0, 1], 'out0')
    >>> 1600 < G.number_of_edges() - 400 < 2380  # mean 0.05 * 200 * 199 = 1990
    True
    >>> erdos_renyi(5, 1.0).number_of_edges()
    20
    """
    n = check_int("n", n, minimum=1)
    p = check_real("p", p, low=0.0, high=1.0)
    self_loops = _check_bool("self_loops", self_loops)
    io = _io_args(n_inputs, n_outputs, scale, input_density, input_scale)
    rng = as_rng(seed)
    src, dst = bernoulli_pairs(rng, n, n, p, exclude_diagonal=not self_loops)
    return _build(n, src, dst, rng, io[2], io[0], io[1], io[3], io[4], delays=delays)


def _fixed_indegree_pairs(rng, n: int, k: int, self_loops: bool):
    """(src, dst) of n k edges: k distinct uniform presynaptic neurons per target."""
    pre = distinct_rows(rng, n, n if self_loops else n - 1, k)
    if not self_loops:
        pre += pre >= np.arange(n, dtype=pre.dtype)[:, None]
    return pre.ravel(), np.repeat(np.arange(n, dtype=pre.dtype), k)


def fixed_indegree(
    n: int,
    k: int,
    self_loops: bool = False,
    n_inputs: int = 0,
    n_outputs: int = 0,
    seed: Seed = None,
    *,
    scale: float = 1.0,
    input_density: float = 1.0,
    input_scale: float = 1.0,
    delays: tuple[int, int] | None = None,
) -> nx.DiGraph:
    """Random network in which every neuron has exactly ``k`` presynaptic neurons.

    Parameters
    ----------
    n : int
        Number of hidden neurons, ``>= 1``; named ``0 .. n-1``.
    k : int
        Recurrent in-degree of every neuron, ``0 <= k <= n - 1`` (``<= n``
        with self-loops).
    self_loops : bool, default False
        Whether a neuron may be its own presynaptic neuron.
    n_inputs, n_outputs : int, default 0
        Input nodes ``"in{k}"`` and output nodes ``"out{k}"`` to wire in.
    seed : int, numpy.random.Generator or None
        Seed for :func:`numpy.random.default_rng`.
    scale : float, default 1.0
        Recurrent weight scale (keyword only); each weight is
        ``N(0, scale**2 / k)``.
    input_density, input_scale : float, default 1.0
        Input wiring probability and weight scale (keyword only).
    delays : (int, int), optional
        Keyword only: draw each hidden -> hidden edge's ``delay`` uniformly
        from the integers ``lo .. hi`` (``1 <= lo <= hi``), after everything
        else (the same seed gives the same graph plus delays); default: no
        ``delay`` attribute (one step each).

    Returns
    -------
    networkx.DiGraph
        ``k`` counts hidden -> hidden edges only; inputs add to the in-degree.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``n < 1``, ``k < 0``, ``k`` exceeds the available presynaptic
        neurons, or an I/O argument is out of range.

    Notes
    -----
    For every neuron ``i`` the presynaptic set is a uniformly random
    ``k``-subset of ``{0 .. n-1} \\ {i}`` (or of all ``n`` neurons with
    self-loops), independently across neurons. All ``n`` rows are drawn at
    once as an ``(n, k)`` integer array; the few rows with a repeated value get
    the repeats redrawn until every row is distinct (expected extra work
    ``~ k**2 / 2n`` redraws per row), and values ``>= i`` in row ``i`` are
    shifted up by one to skip the self-loop. The numpy part of ``n = 10**6``,
    ``k = 10`` takes well under a second; adding the 10**7 edges to networkx
    takes most of the time.

    Examples
    --------
    >>> from topologies import fixed_indegree
    >>> G = fixed_indegree(50, 4, seed=0)
    >>> sorted({d for _, d in G.in_degree()}), G.number_of_edges()
    ([4], 200)
    >>> any(u == v for u, v in G.edges())
    False
    """
    n = check_int("n", n, minimum=1)
    k = check_int("k", k, minimum=0)
    self_loops = _check_bool("self_loops", self_loops)
    io = _io_args(n_inputs, n_outputs, scale, input_density, input_scale)
    n_cand = n if self_loops else n - 1
    if k > n_cand:
        rule = "n" if self_loops else "n - 1"
        raise ValueError(
            f"`k` must be <= {rule} = {n_cand} when self_loops={self_loops} "
            f"(each neuron needs k distinct presynaptic neurons), got k={k}; "
            "choose a smaller k or a larger n"
        )
    rng = as_rng(seed)
    src, dst = _fixed_indegree_pairs(rng, n, k, self_loops)
    weights = rng.standard_normal(src.size)
    if k:
        weights *= io[2] / np.sqrt(k)
    return _build(n, src, dst, rng, io[2], io[0], io[1], io[3], io[4], delays=delays, weights=weights)


def small_world(
    n: int,
    k: int,
    p: float,
    n_inputs: int = 0,
    n_outputs: int = 0,
    seed: Seed = None,
    *,
    scale: float = 1.0,
    input_density: float = 1.0,
    input_scale: float = 1.0,
    delays: tuple[int, int] | None = None,
) -> nx.DiGraph:
    """Directed Watts-Strogatz small-world network.

    Parameters
    ----------
    n : int
        Number of hidden neurons, ``>= 1``; named ``0 .. n-1`` around a ring.
    k : int
        Even number of lattice neighbours, ``0 <= k <= n - 1``: neuron ``i``
        projects to ``i +- 1, ..., i +- k/2`` (mod ``n``).
    p : float
        Rewiring probability in ``[0, 1]`` per edge.
    n_inputs, n_outputs : int, default 0
        Input nodes ``"in{k}"`` and output nodes ``"out{k}"`` to wire in.
    seed : int, numpy.random.Generator or None
        Seed for :func:`numpy.random.default_rng`.
    scale : float, default 1.0
        Recurrent weight scale (keyword only).
    input_density, input_scale : float, default 1.0
        Input wiring probability and weight scale (keyword only).
    delays : (int, int), optional
        Keyword only: draw each hidden -> hidden edge's ``delay`` uniformly
        from the integers ``lo .. hi`` (``1 <= lo <= hi``), after everything
        else (the same seed gives the same graph plus delays); default: no
        ``delay`` attribute (one step each).

    Returns
    -------
    networkx.DiGraph
        ``n * k`` recurrent edges; every neuron has out-degree ``k``; no
        self-loops, no duplicates.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``n < 1``, ``k`` is odd, negative or ``>= n``, or ``p`` is outside
        ``[0, 1]``.

    Notes
    -----
    Start from the directed ring lattice with edges ``i -> (i + d) mod n`` for
    ``d = +-1 .. +-k/2`` (both directions between lattice neighbours). Each of
    the ``n k`` edges is independently selected for rewiring with probability
    ``p``; the selected edges of source ``i`` keep ``i`` and get new targets
    drawn uniformly without replacement from the neurons that are neither
    ``i`` nor a kept lattice target of ``i``. A rewired edge may therefore land
    on its own former target; at ``p = 1`` the result is a uniform random
    ``k``-out-regular digraph. (networkx's ``watts_strogatz_graph`` is the
    undirected analogue with sequential rewiring.) The draws are vectorised:
    duplicate targets in a row are redrawn until none remain.

    Examples
    --------
    >>> from topologies import small_world
    >>> G = small_world(10, 4, 0.0, seed=0)
    >>> sorted(G.successors(0))
    [1, 2, 8, 9]
    >>> G = small_world(100, 6, 0.3, seed=1)
    >>> sorted({d for _, d in G.out_degree()})
    [6]
    >>> any(u == v for u, v in G.edges())
    False
    """
    n = check_int("n", n, minimum=1)
    k = check_int("k", k, minimum=0)
    p = check_real("p", p, low=0.0, high=1.0)
    io = _io_args(n_inputs, n_outputs, scale, input_density, input_scale)
    if k % 2:
        raise ValueError(f"`k` must be even (k/2 neighbours on each side), got {k}")
    if k >= n:
        raise ValueError(f"`k` must be < n = {n}, got {k}")
    rng = as_rng(seed)
    half = k // 2
    offsets = np.concatenate((np.arange(1, half + 1), -np.arange(1, half + 1)))
    source = np.arange(n, dtype=np.int64)[:, None]
    targets = (source + offsets[None, :]) % n
    if k and 0.0 < p and k < n - 1:
        rewire = rng.random((n, k)) < p
        new = rng.integers(0, n - 1, size=(n, k))
        new += new >= source
        # key = 2 * target + rewired: among equal targets the kept lattice
        # edge (distinct within a row) sorts first, so every repeat found is a
        # rewired edge and gets redrawn.
        keys = 2 * np.where(rewire, new, targets) + rewire
        keys.sort(axis=1)
        rows = np.flatnonzero(((keys[:, 1:] >> 1) == (keys[:, :-1] >> 1)).any(axis=1))
        while rows.size:
            sub = keys[rows]
            r, c = np.nonzero((sub[:, 1:] >> 1) == (sub[:, :-1] >> 1))
            fresh = rng.integers(0, n - 1, size=r.size)
            fresh += fresh >= rows[r]
            sub[r, c + 1] = 2 * fresh + 1
            sub.sort(axis=1)
            keys[rows] = sub
            rows = rows[((sub[:, 1:] >> 1) == (sub[:, :-1] >> 1)).any(axis=1)]
        targets = keys >> 1
    else:
        targets.sort(axis=1)
    src = np.repeat(np.arange(n, dtype=np.int64), k)
    dst = targets.ravel()
    return _build(n, src, dst, rng, io[2], io[0], io[1], io[3], io[4], delays=delays)


def _preferential_targets(rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    """Targets of the m (n - m) attachment edges (edge e belongs to node m + e // m)."""
    n_edges = m * (n - m)
    owner = m + np.arange(n_edges, dtype=np.int64) // m
    target = np.empty(n_edges, dtype=np.int64)
    target[:m] = np.arange(m)
    # slot 2e holds owner[e], slot 2e + 1 holds target[e]; edge e of node v
    # picks a slot uniformly among those of earlier nodes: [0, 2 m (v - m)).
    slot = np.zeros(n_edges, dtype=np.int64)
    later = np.arange(m, n_edges)
    slot[later] = rng.integers(0, 2 * m * (owner[later] - m))
    while True:
        # resolve slot -> node: even slots are owners, odd slots copy the
        # (earlier) target of edge slot // 2; pointer jumping resolves chains.
        target[m:] = -1
        even = later[slot[later] % 2 == 0]
        target[even] = owner[slot[even] // 2]
        todo = later[slot[later] % 2 == 1]
        ptr = slot // 2
        while todo.size:
            got = target[ptr[todo]]
            done = got >= 0
            target[todo[done]] = got[done]
            todo = todo[~done]
            ptr[todo] = ptr[ptr[todo]]
        # repeated targets within one node's m edges: redraw the later ones
        groups = target[m:].reshape(-1, m) if n > m + 1 else np.empty((0, m), np.int64)
        order = np.argsort(groups, axis=1, kind="stable")
        ranked = np.take_along_axis(groups, order, axis=1)
        r, c = np.nonzero(ranked[:, 1:] == ranked[:, :-1])
        if r.size == 0:
            return target
        redo = m + r * m + order[r, c + 1]
        slot[redo] = rng.integers(0, 2 * m * (owner[redo] - m))


def scale_free(
    n: int,
    m: int = 2,
    n_inputs: int = 0,
    n_outputs: int = 0,
    seed: Seed = None,
    *,
    scale: float = 1.0,
    input_density: float = 1.0,
    input_scale: float = 1.0,
    delays: tuple[int, int] | None = None,
) -> nx.DiGraph:
    """Barabasi-Albert preferential-attachment network, edges in both directions.

    Parameters
    ----------
    n : int
        Number of hidden neurons, ``>= m + 1``; named ``0 .. n-1`` in order of
        arrival.
    m : int, default 2
        Edges each arriving neuron attaches with, ``>= 1``.
    n_inputs, n_outputs : int, default 0
        Input nodes ``"in{k}"`` and output nodes ``"out{k}"`` to wire in.
    seed : int, numpy.random.Generator or None
        Seed for :func:`numpy.random.default_rng`.
    scale : float, default 1.0
        Recurrent weight scale (keyword only).
    input_density, input_scale : float, default 1.0
        Input wiring probability and weight scale (keyword only).
    delays : (int, int), optional
        Keyword only: draw each hidden -> hidden edge's ``delay`` uniformly
        from the integers ``lo .. hi`` (``1 <= lo <= hi``), after everything
        else (the same seed gives the same graph plus delays); default: no
        ``delay`` attribute (one step each).

    Returns
    -------
    networkx.DiGraph
        The undirected Barabasi-Albert graph stored as a symmetric digraph:
        ``2 m (n - m)`` recurrent edges, every undirected link ``{u, v}`` as
        both ``u -> v`` and ``v -> u`` (with independent weights).

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``m < 1`` or ``n < m + 1``.

    Notes
    -----
    Neuron ``m`` links to ``0 .. m-1`` (a star); each later neuron ``v`` links
    to ``m`` distinct earlier neurons chosen with probability proportional to
    their degree, giving the power-law degree distribution
    ``P(d) ~ d**-3``. The sampling is the Batagelj-Brandes edge-list method,
    vectorised: edge ``e`` copies a uniformly chosen endpoint slot of an
    earlier edge, chains of copies are resolved by pointer jumping, and edges
    that repeat a target of the same neuron are redrawn until none remain
    (networkx's ``barabasi_albert_graph`` likewise rejects repeats). Cost is
    O(n m log(n m)) numpy work.

    Examples
    --------
    >>> from topologies import scale_free
    >>> G = scale_free(300, 2, seed=0)
    >>> G.number_of_edges() == 2 * 2 * (300 - 2)
    True
    >>> all(G.has_edge(v, u) for u, v in G.edges())
    True
    >>> max(d for _, d in G.in_degree()) > 20  # hubs
    True
    """
    n = check_int("n", n, minimum=1)
    m = check_int("m", m, minimum=1)
    io = _io_args(n_inputs, n_outputs, scale, input_density, input_scale)
    if n < m + 1:
        raise ValueError(f"`n` must be >= m + 1 = {m + 1}, got n={n}")
    rng = as_rng(seed)
    target = _preferential_targets(rng, n, m)
    owner = m + np.arange(target.size, dtype=np.int64) // m
    src = np.concatenate((owner, target))
    dst = np.concatenate((target, owner))
    src, dst = lexsort_pairs(src, dst)
    return _build(n, src, dst, rng, io[2], io[0], io[1], io[3], io[4], delays=delays)


def _unique_pairs(src: np.ndarray, dst: np.ndarray, n: int, keep_self: bool):
    """Deduplicate edges, optionally drop self-loops, sort by (src, dst)."""
    codes = np.unique(src.astype(np.int64) * n + dst)
    src, dst = codes // n, codes % n
    if not keep_self:
        ok = src != dst
        src, dst = src[ok], dst[ok]
    return src, dst


def ring(
    n: int,
    bidirectional: bool = False,
    self_loops: bool = False,
    n_inputs: int = 0,
    n_outputs: int = 0,
    seed: Seed = None,
    *,
    scale: float = 1.0,
    input_density: float = 1.0,
    input_scale: float = 1.0,
    delays: tuple[int, int] | None = None,
) -> nx.DiGraph:
    """Ring of ``n`` neurons, ``i -> i + 1 (mod n)``.

    Parameters
    ----------
    n : int
        Number of hidden neurons, ``>= 1``; named ``0 .. n-1``.
    bidirectional : bool, default False
        Also add ``i -> i - 1 (mod n)``.
    self_loops : bool, default False
        Also add ``i -> i``.
    n_inputs, n_outputs : int, default 0
        Input nodes ``"in{k}"`` and output nodes ``"out{k}"`` to wire in.
    seed : int, numpy.random.Generator or None
        Seed for :func:`numpy.random.default_rng`.
    scale : float, default 1.0
        Recurrent weight scale (keyword only).
    input_density, input_scale : float, default 1.0
        Input wiring probability and weight scale (keyword only).
    delays : (int, int), optional
        Keyword only: draw each hidden -> hidden edge's ``delay`` uniformly
        from the integers ``lo .. hi`` (``1 <= lo <= hi``), after everything
        else (the same seed gives the same graph plus delays); default: no
        ``delay`` attribute (one step each).

    Returns
    -------
    networkx.DiGraph

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``n < 1`` or an I/O argument is out of range.

    Notes
    -----
    Ring edges that coincide are merged (``n = 2`` bidirectional has the two
    edges ``0 -> 1``, ``1 -> 0``) and a ring edge that would be a self-loop
    (``n = 1``) is left out unless ``self_loops``. Weights are random (fan-in
    scaled, seeded) like every family here; set them afterwards for a
    deterministic ring.

    Examples
    --------
    >>> from topologies import ring
    >>> sorted(ring(4, seed=0).edges())
    [(0, 1), (1, 2), (2, 3), (3, 0)]
    >>> ring(5, bidirectional=True, self_loops=True).number_of_edges()
    15
    """
    n = check_int("n", n, minimum=1)
    bidirectional = _check_bool("bidirectional", bidirectional)
    self_loops = _check_bool("self_loops", self_loops)
    io = _io_args(n_inputs, n_outputs, scale, input_density, input_scale)
    rng = as_rng(seed)
    i = np.arange(n, dtype=np.int64)
    src, dst = [i], [(i + 1) % n]
    if bidirectional:
        src.append(i)
        dst.append((i - 1) % n)
    src, dst = _unique_pairs(np.concatenate(src), np.concatenate(dst), n, False)
    if self_loops:
        src, dst = lexsort_pairs(np.concatenate((src, i)), np.concatenate((dst, i)))
    return _build(n, src, dst, rng, io[2], io[0], io[1], io[3], io[4], delays=delays)


def lattice_2d(
    rows: int,
    cols: int,
    periodic: bool = False,
    n_inputs: int = 0,
    n_outputs: int = 0,
    seed: Seed = None,
    *,
    scale: float = 1.0,
    input_density: float = 1.0,
    input_scale: float = 1.0,
    delays: tuple[int, int] | None = None,
) -> nx.DiGraph:
    """Two-dimensional grid with 4-neighbour coupling in both directions.

    Parameters
    ----------
    rows, cols : int
        Grid shape, each ``>= 1``. Neuron at ``(row, col)`` is named
        ``row * cols + col`` and carries ``pos = (col, row)``.
    periodic : bool, default False
        Wrap around both axes (a torus).
    n_inputs, n_outputs : int, default 0
        Input nodes ``"in{k}"`` and output nodes ``"out{k}"`` to wire in.
    seed : int, numpy.random.Generator or None
        Seed for :func:`numpy.random.default_rng`.
    scale : float, default 1.0
        Recurrent weight scale (keyword only).
    input_density, input_scale : float, default 1.0
        Input wiring probability and weight scale (keyword only).
    delays : (int, int), optional
        Keyword only: draw each hidden -> hidden edge's ``delay`` uniformly
        from the integers ``lo .. hi`` (``1 <= lo <= hi``), after everything
        else (the same seed gives the same graph plus delays); default: no
        ``delay`` attribute (one step each).

    Returns
    -------
    networkx.DiGraph

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``rows < 1`` or ``cols < 1``.

    Notes
    -----
    Neighbours of ``(r, c)`` are ``(r, c +- 1)`` and ``(r +- 1, c)``; without
    ``periodic`` those outside the grid are dropped, with it indices wrap
    modulo the grid size. Coinciding edges (a periodic axis of length 2) are
    merged and self-loops (a periodic axis of length 1) dropped. An open
    ``rows x cols`` grid has ``2 (rows (cols - 1) + cols (rows - 1))`` edges.

    Examples
    --------
    >>> from topologies import lattice_2d
    >>> G = lattice_2d(3, 4, seed=0)
    >>> G.number_of_edges(), sorted(G.successors(5)), G.nodes[5]["pos"]
    (34, [1, 4, 6, 9], (1, 1))
    >>> lattice_2d(3, 4, periodic=True).number_of_edges()
    48
    """
    rows = check_int("rows", rows, minimum=1)
    cols = check_int("cols", cols, minimum=1)
    periodic = _check_bool("periodic", periodic)
    io = _io_args(n_inputs, n_outputs, scale, input_density, input_scale)
    rng = as_rng(seed)
    n = rows * cols
    r, c = np.divmod(np.arange(n, dtype=np.int64), cols)
    src, dst = [], []
    for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        rr, cc = r + dr, c + dc
        if periodic:
            rr, cc, ok = rr % rows, cc % cols, slice(None)
        else:
            ok = (rr >= 0) & (rr < rows) & (cc >= 0) & (cc < cols)
        src.append(np.arange(n, dtype=np.int64)[ok])
        dst.append((rr * cols + cc)[ok])
    src, dst = _unique_pairs(np.concatenate(src), np.concatenate(dst), n, False)
    attrs = ({"pos": (cc, rr)} for rr, cc in zip(r.tolist(), c.tolist()))
    return _build(n, src, dst, rng, io[2], io[0], io[1], io[3], io[4], delays=delays, hidden_attrs=attrs)
