"""Seeded weight initialisers, spectral-radius scaling and input/output wiring.

Edge kinds follow the roles of the graph conventions (README, "The graph
conventions"): ``input->hidden`` (U), ``hidden->hidden`` (W, self-loops
included), ``hidden->output`` (V), ``input->output`` (D) and
``output->hidden`` (F). A node is an input or an
output when its ``role`` attribute says so; every other node is hidden.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import networkx as nx
import numpy as np

from ._util import (
    add_weighted_edges,
    as_rng,
    bernoulli_pairs,
    check_choice,
    check_digraph,
    check_int,
    check_real,
    fan_in_weights,
    io_names,
)

__all__ = ["init_weights", "spectral_radius", "scale_spectral_radius", "attach_io"]

#: Edge kinds by the roles at their ends, with the design's matrix letters.
EDGE_KINDS = {
    "input->hidden": "U",
    "hidden->hidden": "W",
    "hidden->output": "V",
    "input->output": "D",
    "output->hidden": "F",
}

#: Weight distributions understood by :func:`init_weights`.
DISTRIBUTIONS = ("normal", "uniform")

#: Largest matrix (per strongly connected component) solved densely.
DENSE_MAX = 500
#: Blocks up to this size get ARPACK at machine precision (``tol=0``); larger
#: ones ``tol=1e-6``.
ARPACK_EXACT_MAX = 10_000
#: Largest block solved densely when ARPACK does not converge.
DENSE_FALLBACK_MAX = 3_000

_HIDDEN, _INPUT, _OUTPUT = 0, 1, 2
_ROLE_NAMES = {_HIDDEN: "hidden", _INPUT: "input", _OUTPUT: "output"}
_ROLE_CODES = {v: k for k, v in _ROLE_NAMES.items()}
# kind code = 3 * source role + target role
_KIND_CODES = {
    f"{_ROLE_NAMES[s]}->{_ROLE_NAMES[t]}": 3 * s + t
    for s in range(3)
    for t in range(3)
}
_INVALID_KIND_CODES = (
    3 * _HIDDEN + _INPUT,
    3 * _INPUT + _INPUT,
    3 * _OUTPUT + _INPUT,
    3 * _OUTPUT + _OUTPUT,
)


def _role_code(role) -> int:
    return _INPUT if role == "input" else _OUTPUT if role == "output" else _HIDDEN


def _parse_kinds(kinds) -> list[int]:
    if kinds is None:
        return [_KIND_CODES[k] for k in EDGE_KINDS]
    if isinstance(kinds, str):
        kinds = [kinds]
    try:
        kinds = list(kinds)
    except TypeError:
        raise TypeError(
            "`kinds` must be None, a str or an iterable of str, "
            f"got {type(kinds).__name__}"
        ) from None
    letters = {v: k for k, v in EDGE_KINDS.items()}
    codes = []
    for kind in kinds:
        name = letters.get(kind, kind) if isinstance(kind, str) else kind
        if name not in EDGE_KINDS:
            options = ", ".join(repr(k) for k in EDGE_KINDS)
            raise ValueError(
                f"`kinds` entries must be one of {options} (or the matrix letters "
                f"'U', 'W', 'V', 'D', 'F'); got {kind!r}"
            )
        codes.append(_KIND_CODES[name])
    return codes


def _edge_error(u, v, su: int, sv: int) -> ValueError:
    if sv == _INPUT:
        return ValueError(
            f"edge ({u!r}, {v!r}) points into input node {v!r}: inputs take no edges"
        )
    return ValueError(
        f"edge ({u!r}, {v!r}) joins two output nodes: output -> output edges "
        "are not allowed"
    )


def _edge_arrays(G: nx.DiGraph):
    """Nodes, role codes per node, edge list and (src, dst) index arrays."""
    nodes = list(G)
    index = {node: i for i, node in enumerate(nodes)}
    roles = np.fromiter(
        (_role_code(r) for _, r in G.nodes(data="role")), dtype=np.int8, count=len(nodes)
    )
    edges = list(G.edges())
    m = len(edges)
    src = np.fromiter((index[u] for u, _ in edges), dtype=np.int64, count=m)
    dst = np.fromiter((index[v] for _, v in edges), dtype=np.int64, count=m)
    return nodes, roles, edges, src, dst


def init_weights(
    G: nx.DiGraph,
    scale: float = 1.0,
    kinds: str | Iterable[str] | None = None,
    seed: int | np.random.Generator | None = None,
    distribution: str = "normal",
) -> nx.DiGraph:
    """Draw fan-in-scaled random edge weights, in place.

    Parameters
    ----------
    G : networkx.DiGraph
        The graph; its ``weight`` edge attributes are overwritten (other
        attributes are kept).
    scale : float, default 1.0
        Weight standard deviation times ``sqrt(fan_in)``; ``>= 0``.
    kinds : str or iterable of str, optional
        Which edge kinds to initialise, from ``"input->hidden"``,
        ``"hidden->hidden"``, ``"hidden->output"``, ``"input->output"``,
        ``"output->hidden"`` (or the matrix letters ``"U"``, ``"W"``, ``"V"``,
        ``"D"``, ``"F"``). Default: every edge.
    seed : int, numpy.random.Generator or None
        Seed for :func:`numpy.random.default_rng`.
    distribution : {"normal", "uniform"}, default "normal"
        Weight distribution (see Notes).

    Returns
    -------
    networkx.DiGraph
        ``G`` itself, for chaining.

    Raises
    ------
    TypeError
        If ``G`` is not a DiGraph or an argument has the wrong type.
    ValueError
        If ``scale`` is negative or not finite, ``kinds`` or ``distribution``
        is unknown, or ``G`` has an edge into an input node or between two
        output nodes (the message names the edge).

    Notes
    -----
    Let ``fan_in(v)`` be the number of *selected* edges entering ``v`` (edges
    of kinds not in ``kinds`` do not count). Each selected edge ``u -> v`` gets

    * ``normal``:  ``w ~ N(0, scale**2 / fan_in(v))``
    * ``uniform``: ``w ~ U(-a, a)``, ``a = scale * sqrt(3 / fan_in(v))``

    so the summed input of ``v`` has variance ``scale**2`` times the variance
    of its presynaptic activity (LeCun / Glorot-style fan-in scaling). The
    in-degrees are counted once with :func:`numpy.bincount`; the weights are
    drawn in one vectorised call in ``G.edges()`` order, so the same seed on the
    same graph gives the same weights.

    Examples
    --------
    >>> import networkx as nx
    >>> from topologies import init_weights
    >>> G = nx.DiGraph([(0, 1), (1, 0), (1, 1)])
    >>> G = init_weights(G, scale=0.5, seed=0)
    >>> sorted(G.edges()) == [(0, 1), (1, 0), (1, 1)]
    True
    >>> all(isinstance(w, float) for _, _, w in G.edges(data="weight"))
    True
    >>> w = init_weights(nx.DiGraph([(0, 1)]), seed=1)[0][1]["weight"]
    >>> w == init_weights(nx.DiGraph([(0, 1)]), seed=1)[0][1]["weight"]
    True
    """
    check_digraph(G)
    scale = check_real("scale", scale, low=0.0)
    selected = _parse_kinds(kinds)
    distribution = check_choice("distribution", distribution, DISTRIBUTIONS)
    rng = as_rng(seed)
    nodes, roles, edges, src, dst = _edge_arrays(G)
    code = 3 * roles[src].astype(np.int64) + roles[dst]
    bad = np.flatnonzero(np.isin(code, _INVALID_KIND_CODES))
    if bad.size:
        u, v = edges[bad[0]]
        raise _edge_error(u, v, roles[src[bad[0]]], roles[dst[bad[0]]])
    sel = np.flatnonzero(np.isin(code, selected))
    w = fan_in_weights(rng, dst[sel], len(nodes), scale, distribution)
    G.add_weighted_edges_from(
        (u, v, x) for (u, v), x in zip(map(edges.__getitem__, sel.tolist()), w.tolist())
    )
    return G


def _radius_dense(src, dst, w, n) -> float:
    A = np.zeros((n, n))
    A[dst, src] = w
    return float(np.max(np.abs(np.linalg.eigvals(A))))


def _radius_arpack(A, n: int) -> float:
    """ARPACK estimate of the largest eigenvalue modulus of an n x n operator.

    Six eigenvalues are requested (one is unreliable: a random matrix has a
    cluster of near-maximal eigenvalues and ARPACK may settle on the wrong
    member), with ``tol=0`` (machine precision) up to :data:`ARPACK_EXACT_MAX`
    and ``tol=1e-6`` beyond. On failure, blocks up to :data:`DENSE_FALLBACK_MAX`
    are solved densely; larger ones raise ``RuntimeError``.
    """
    from scipy.sparse.linalg import ArpackNoConvergence, eigs

    k = min(6, n - 2)
    ncv = min(n - 1, max(30, 2 * k + 1))
    # Fixed start vector from a private generator: deterministic, and not
    # special for structured graphs the way the all-ones vector is.
    v0 = np.random.default_rng(0x5EED).standard_normal(n)
    tol = 0.0 if n <= ARPACK_EXACT_MAX else 1e-6
    try:
        vals = eigs(A, k=k, which="LM", v0=v0, ncv=ncv, tol=tol,
                    maxiter=max(1000, 10 * n), return_eigenvectors=False)
    except ArpackNoConvergence as err:
        if n <= DENSE_FALLBACK_MAX:
            from scipy.sparse.linalg import aslinearoperator

            dense = aslinearoperator(A).matmat(np.eye(n))
            return float(np.max(np.abs(np.linalg.eigvals(dense))))
        raise RuntimeError(
            f"ARPACK did not converge on a {n} x {n} strongly connected block "
            "of the recurrent weight matrix"
        ) from err
    return float(np.max(np.abs(vals)))


def _period(src, dst, n: int) -> tuple[int, np.ndarray]:
    """Period of a strongly connected digraph and BFS distances from node 0."""
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import shortest_path

    graph = csr_array((np.ones(src.size), (src, dst)), shape=(n, n))
    dist = shortest_path(graph, directed=True, unweighted=True, indices=0)
    dist = dist.astype(np.int64)
    return int(np.gcd.reduce(np.abs(dist[src] + 1 - dist[dst]))), dist


def _radius_block(src, dst, w, n: int) -> float:
    """Spectral radius of one strongly connected block (entries A[dst, src])."""
    if n <= DENSE_MAX:
        return _radius_dense(src, dst, w, n)
    if w.size == n:
        # strongly connected with one edge per node: a single cycle, whose
        # eigenvalues are the n-th roots of the product of its weights
        return float(np.exp(np.mean(np.log(np.abs(w)))))
    from scipy.sparse import csr_array

    p, dist = _period(src, dst, n)
    if p == 1:
        return _radius_arpack(csr_array((w, (dst, src)), shape=(n, n)), n)
    # Period p: nodes split into cyclic classes C_j = {dist = j mod p} and
    # every edge goes C_j -> C_{j+1}. B = A^p restricted to C_0 is the product
    # of the p class-to-class blocks; its eigenvalues are the p-th powers of
    # A's, so rho(A) = rho(B)**(1/p), and B no longer has the p-fold
    # rotational symmetry of equal-modulus eigenvalues that stalls ARPACK.
    from scipy.sparse.linalg import LinearOperator

    cls = dist % p
    members = [np.flatnonzero(cls == j) for j in range(p)]
    local = np.empty(n, dtype=np.int64)
    for idx in members:
        local[idx] = np.arange(idx.size)
    edge_cls = cls[src]
    blocks = []
    for j in range(p):
        e = np.flatnonzero(edge_cls == j)
        shape = (members[(j + 1) % p].size, members[j].size)
        blocks.append(csr_array((w[e], (local[dst[e]], local[src[e]])), shape=shape))

    def apply(x):
        for block in blocks:
            x = block @ x
        return x

    m = members[0].size
    if m <= DENSE_MAX and m * max(idx.size for idx in members) <= 1 << 24:
        B = apply(np.eye(m))
        rho_b = float(np.max(np.abs(np.linalg.eigvals(B))))
    else:
        op = LinearOperator((m, m), matvec=apply, matmat=apply, dtype=np.float64)
        rho_b = _radius_arpack(op, m)
    return rho_b ** (1.0 / p)


def _spectral_radius_arrays(
    src: np.ndarray, dst: np.ndarray, w: np.ndarray, n: int
) -> float:
    """Spectral radius of the n x n matrix with entries ``A[dst, src] = w``.

    The matrix is split into strongly connected components (the eigenvalues of
    a matrix are those of its diagonal SCC blocks in block-triangular form);
    acyclic parts contribute 0, single nodes their self-loop ``|w|``, blocks of
    up to :data:`DENSE_MAX` nodes go to dense ``numpy.linalg.eigvals``, a block
    that is one long cycle has the closed form ``exp(mean(log|w|))``, and other
    large blocks go to ARPACK (``scipy.sparse.linalg.eigs(which="LM")``) on a
    CSR matrix -- after reduction to ``A**p`` on one cyclic class when the
    block is periodic with period ``p > 1``. No dense matrix larger than
    ``DENSE_MAX x DENSE_MAX`` is formed, except as ARPACK's fallback for blocks
    of up to :data:`DENSE_FALLBACK_MAX` nodes.
    """
    nz = w != 0
    src, dst, w = src[nz], dst[nz], w[nz]
    if w.size == 0:
        return 0.0
    if n <= DENSE_MAX:
        return _radius_dense(src, dst, w, n)
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import connected_components

    graph = csr_array((np.ones(w.size), (src, dst)), shape=(n, n))
    n_comp, label = connected_components(graph, directed=True, connection="strong")
    same = label[src] == label[dst]
    src, dst, w = src[same], dst[same], w[same]
    comp = label[src]
    sizes = np.bincount(label, minlength=n_comp)
    radius = 0.0
    loops = (src == dst) & (sizes[comp] == 1)
    if loops.any():
        radius = float(np.max(np.abs(w[loops])))
    # local index of each node inside its component
    order = np.argsort(label, kind="stable")
    local = np.empty(n, dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    local[order] = np.arange(n) - np.repeat(starts, sizes)
    edge_order = np.argsort(comp, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(np.bincount(comp, minlength=n_comp))))
    for c in np.flatnonzero(sizes >= 2):
        e = edge_order[bounds[c]:bounds[c + 1]]
        r = _radius_block(local[src[e]], local[dst[e]], w[e], int(sizes[c]))
        radius = max(radius, r)
    return radius


def _hidden_nodes(G: nx.DiGraph) -> list[Hashable]:
    return [n for n, r in G.nodes(data="role") if r not in ("input", "output")]


def _block_arrays(G: nx.Graph, nodes: Sequence[Hashable]):
    """Index arrays and weights of the edges among ``nodes``.

    An undirected edge ``{u, v}`` (``u != v``) gives both ``u -> v`` and
    ``v -> u``, as :func:`simulator.compile` reads it.
    """
    index = {node: i for i, node in enumerate(nodes)}
    block = [
        (index[u], index[v], w)
        for u, v, w in G.edges(data="weight", default=1.0)
        if u in index and v in index
    ]
    m = len(block)
    src = np.fromiter((b[0] for b in block), dtype=np.int64, count=m)
    dst = np.fromiter((b[1] for b in block), dtype=np.int64, count=m)
    try:
        w = np.fromiter((b[2] for b in block), dtype=np.float64, count=m)
    except (TypeError, ValueError):
        raise TypeError("edge `weight` attributes must be real numbers") from None
    if not G.is_directed():
        back = src != dst
        src, dst, w = (np.concatenate((src, dst[back])), np.concatenate((dst, src[back])),
                       np.concatenate((w, w[back])))
    return src, dst, w


def spectral_radius(G: nx.Graph, nodes: Iterable[Hashable] | None = None) -> float:
    """Largest eigenvalue modulus of the recurrent (hidden -> hidden) weight matrix.

    Parameters
    ----------
    G : networkx.DiGraph or networkx.Graph
        The network. Edges without a ``weight`` count as ``1.0``. An
        undirected graph counts every edge in both directions, as
        :func:`simulator.compile` reads it (a symmetric ``W``).
    nodes : iterable of nodes, optional
        The neurons whose mutual edges form the matrix. Default: every hidden
        node (``role`` absent or neither ``"input"`` nor ``"output"``).

    Returns
    -------
    float
        ``max |lambda|`` over the eigenvalues of ``W``; ``0.0`` when there is no
        (nonzero) edge among the nodes.

    Raises
    ------
    TypeError
        If ``G`` is not a DiGraph or Graph (multigraphs are refused).
    ValueError
        If ``nodes`` names a node that is not in ``G`` or repeats one.

    Notes
    -----
    ``W[i, j]`` is the weight of edge ``j -> i`` (row = target), and
    ``rho(W) = max |lambda|``. For ``n <= 500`` the dense
    ``numpy.linalg.eigvals`` of ``W`` is used. Larger matrices are split into
    strongly connected components (in block-triangular form the eigenvalues
    of ``W`` are those of the diagonal component blocks; acyclic parts give
    0) and each component is solved on its own:

    * up to 500 nodes: dense ``numpy.linalg.eigvals``;
    * a single cycle of length ``L`` (one edge per node): all eigenvalues
      satisfy ``lambda**L = prod(w)``, so ``rho = exp(mean(log |w|))``;
    * period ``p > 1`` (every cycle length a multiple of ``p``): ``W**p``
      restricted to one cyclic class has eigenvalues ``lambda**p`` and lacks
      the ``p``-fold ring of equal-modulus eigenvalues that stalls ARPACK, so
      ``rho = rho(W**p | class)**(1/p)``, applied as a product of sparse
      blocks;
    * otherwise ARPACK, ``scipy.sparse.linalg.eigs(k=6, which="LM")`` on a CSR
      matrix (six, not one: a random matrix has a cluster of near-maximal
      eigenvalues and ``k=1`` can settle on the wrong member), at machine
      precision up to 10,000 nodes and ``tol=1e-6`` beyond. For a random
      reservoir of ``10**5`` neurons the edge of the spectrum is so crowded
      that the result is exact only to about ``1e-3``.

    No dense matrix above 500 x 500 is built (except ARPACK's fallback to
    dense for a component of at most 3,000 nodes if it fails to converge).
    ``scipy`` is imported only on the large-matrix path.

    Examples
    --------
    >>> import networkx as nx
    >>> from topologies import spectral_radius
    >>> G = nx.DiGraph()
    >>> G.add_weighted_edges_from([(0, 1, 2.0), (1, 0, 0.5)])
    >>> round(spectral_radius(G), 12)  # eigenvalues +-sqrt(2 * 0.5)
    1.0
    >>> spectral_radius(nx.DiGraph([(0, 1)]))  # no cycle
    0.0
    >>> spectral_radius(nx.Graph([(0, 1)]))  # undirected: 0 -> 1 and 1 -> 0
    1.0
    """
    check_digraph(G, undirected=True)
    if nodes is None:
        nodes = _hidden_nodes(G)
    else:
        nodes = list(nodes)
        for node in nodes:
            if node not in G:
                raise ValueError(f"`nodes` names {node!r}, which is not a node of `G`")
        if len(set(nodes)) != len(nodes):
            raise ValueError("`nodes` must not repeat a node")
    src, dst, w = _block_arrays(G, nodes)
    return _spectral_radius_arrays(src, dst, w, len(nodes))


def scale_spectral_radius(G: nx.DiGraph, rho: float) -> nx.DiGraph:
    """Rescale the hidden -> hidden weights so the spectral radius equals ``rho``.

    Parameters
    ----------
    G : networkx.DiGraph
        The network, changed in place. Edges without a ``weight`` count as
        ``1.0`` and get an explicit rescaled weight.
    rho : float
        Target spectral radius, finite and ``> 0``.

    Returns
    -------
    networkx.DiGraph
        ``G`` itself.

    Raises
    ------
    TypeError
        If ``G`` is not a DiGraph or ``rho`` not a real number.
    ValueError
        If ``rho`` is not finite and positive, or the current spectral radius
        is 0 (an acyclic or all-zero recurrent part cannot be rescaled).

    Notes
    -----
    Eigenvalues scale linearly, ``rho(c W) = |c| rho(W)``, so every hidden ->
    hidden weight is multiplied by ``c = rho / spectral_radius(G)``. Input,
    output and feedback weights are untouched.

    Examples
    --------
    >>> import networkx as nx
    >>> from topologies import scale_spectral_radius, spectral_radius
    >>> G = nx.DiGraph()
    >>> G.add_weighted_edges_from([(0, 1, 2.0), (1, 0, 2.0)])
    >>> G = scale_spectral_radius(G, 0.9)
    >>> round(spectral_radius(G), 12), round(G[0][1]["weight"], 12)
    (0.9, 0.9)
    """
    check_digraph(G)
    rho = check_real("rho", rho, low=0.0, low_open=True)
    current = spectral_radius(G)
    if current == 0.0:
        raise ValueError(
            "cannot scale to `rho`: the hidden -> hidden weight matrix has "
            "spectral radius 0 (no recurrent cycle with nonzero weights)"
        )
    factor = rho / current
    hidden = set(_hidden_nodes(G))
    G.add_weighted_edges_from(
        (u, v, w * factor)
        for u, v, w in G.edges(data="weight", default=1.0)
        if u in hidden and v in hidden
    )
    return G


def _wire_io(
    G: nx.DiGraph,
    rng: np.random.Generator,
    inputs: Sequence[Hashable],
    receivers: Sequence[Hashable],
    outputs: Sequence[Hashable],
    readers: Sequence[Hashable],
    input_density: float = 1.0,
    input_scale: float = 1.0,
) -> None:
    """Add input -> receiver and reader -> output edges (nodes must exist).

    Each (input, receiver) pair is an edge with probability ``input_density``;
    its weight is N(0, input_scale**2 / fan_in) with ``fan_in`` the receiver's
    number of input edges. Every reader feeds every output with weight
    N(0, 1 / len(readers)). Randomness is drawn in that order: input pairs,
    input weights, output weights.
    """
    receivers = list(receivers)
    readers = list(readers)
    if inputs and receivers:
        r, c = bernoulli_pairs(rng, len(inputs), len(receivers), input_density)
        w = fan_in_weights(rng, c, len(receivers), input_scale)
        add_weighted_edges(G, list(inputs), receivers, r, c, w)
    if outputs and readers:
        n_out = len(outputs)
        r = np.repeat(np.arange(len(readers)), n_out)
        c = np.tile(np.arange(n_out), len(readers))
        w = fan_in_weights(rng, c, n_out, 1.0)
        add_weighted_edges(G, readers, list(outputs), r, c, w)


def attach_io(
    G: nx.DiGraph,
    n_inputs: int = 0,
    n_outputs: int = 0,
    input_density: float = 1.0,
    input_scale: float = 1.0,
    seed: int | np.random.Generator | None = None,
) -> nx.DiGraph:
    """Add input nodes feeding the hidden neurons and output nodes reading them.

    Parameters
    ----------
    G : networkx.DiGraph
        A user graph, changed in place. Its hidden nodes are those whose
        ``role`` is neither ``"input"`` nor ``"output"``.
    n_inputs, n_outputs : int, default 0
        How many input nodes ``"in0", "in1", ...`` and output nodes
        ``"out0", "out1", ...`` to add.
    input_density : float, default 1.0
        Probability in ``[0, 1]`` that a given input feeds a given hidden node.
    input_scale : float, default 1.0
        Input weight scale (``>= 0``), see Notes.
    seed : int, numpy.random.Generator or None
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    networkx.DiGraph
        ``G`` itself.

    Raises
    ------
    TypeError
        If ``G`` is not a DiGraph or an argument has the wrong type.
    ValueError
        If a count is negative, ``input_density`` is outside ``[0, 1]``,
        ``input_scale`` is negative, or ``G`` already has a node named like a
        new input or output.

    Notes
    -----
    Input ``k`` feeds hidden node ``i`` with probability ``input_density``
    (independently), with weight ``N(0, input_scale**2 / m_i)`` where ``m_i``
    is the number of inputs feeding ``i``. Every hidden node feeds every
    output with weight ``N(0, 1 / n_hidden)``.

    networkx cannot insert nodes before existing ones, so the new inputs come
    *after* the existing nodes in graph order (outputs after them). The
    simulator orders neurons and columns by ``role``, so this is harmless;
    the generators of this package build inputs first themselves.

    Examples
    --------
    >>> import networkx as nx
    >>> from topologies import attach_io
    >>> G = attach_io(nx.cycle_graph(4, create_using=nx.DiGraph), 2, 1, seed=0)
    >>> list(G)
    [0, 1, 2, 3, 'in0', 'in1', 'out0']
    >>> G.nodes["in1"]["role"], G.in_degree("out0"), G.out_degree("in0")
    ('input', 4, 4)
    """
    check_digraph(G)
    n_inputs = check_int("n_inputs", n_inputs, minimum=0)
    n_outputs = check_int("n_outputs", n_outputs, minimum=0)
    input_density = check_real("input_density", input_density, low=0.0, high=1.0)
    input_scale = check_real("input_scale", input_scale, low=0.0)
    rng = as_rng(seed)
    inputs, outputs = io_names(n_inputs, n_outputs)
    for name in inputs + outputs:
        if name in G:
            raise ValueError(
                f"`G` already has a node named {name!r}; attach_io names new "
                "inputs 'in0', 'in1', ... and outputs 'out0', 'out1', ..."
            )
    hidden = _hidden_nodes(G)
    G.add_nodes_from(inputs, role="input")
    G.add_nodes_from(outputs, role="output")
    _wire_io(G, rng, inputs, hidden, outputs, hidden, input_density, input_scale)
    return G
