"""Hopfield associative-memory networks with Hebbian weights."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike

from ._util import add_weighted_edges, new_graph

__all__ = ["hopfield"]


def _check_patterns(patterns: Any) -> np.ndarray:
    try:
        P = np.asarray(patterns)
    except ValueError:
        raise ValueError(
            "`patterns` must be 2-dimensional, shape (n_patterns, n_neurons), "
            "got ragged rows"
        ) from None
    if not np.issubdtype(P.dtype, np.number):
        raise TypeError(
            f"`patterns` must hold numbers +1 / -1, got an array of dtype {P.dtype}"
        )
    if P.ndim != 2:
        raise ValueError(
            "`patterns` must be 2-dimensional, shape (n_patterns, n_neurons), "
            f"got shape {P.shape}"
        )
    if P.shape[0] < 1 or P.shape[1] < 1:
        raise ValueError(
            "`patterns` must hold at least one pattern of at least one neuron, "
            f"got shape {P.shape}"
        )
    bad = np.argwhere(~((P == 1) | (P == -1)))
    if bad.size:
        i, j = bad[0].tolist()
        raise ValueError(
            f"`patterns` entries must be +1 or -1; patterns[{i}, {j}] is {P[i, j].item()!r}"
        )
    return P.astype(np.float64)


def hopfield(patterns: ArrayLike) -> nx.DiGraph:
    """Hopfield network storing ``patterns`` with the Hebbian rule.

    Parameters
    ----------
    patterns : array_like, shape (n_patterns, n_neurons)
        The memories, entries +1 or -1 (booleans are refused).

    Returns
    -------
    networkx.DiGraph
        Hidden neurons ``0 .. n_neurons-1`` only (no inputs or outputs), each
        with ``activation="sign"`` and ``bias=0.0``; the complete digraph
        without self-loops, ``n (n - 1)`` edges, added in ``(source, target)``
        order.

    Raises
    ------
    TypeError
        If ``patterns`` is not numeric.
    ValueError
        If ``patterns`` is not 2-D, is empty, or has an entry other than +-1
        (the message names the first one).

    Notes
    -----
    ``W_ij = (1 / n) sum_p xi^p_i xi^p_j`` for ``i != j`` and no self-loops
    (``W_ii = 0``). ``W`` is symmetric, so edges ``i -> j`` and ``j -> i``
    have equal weights. Every pair is an edge even when its weight is exactly
    0 (patterns that cancel), so the wiring does not depend on the data;
    building ``W`` needs a dense ``n x n`` array, and the graph has ``n**2``
    edges anyway, so this is meant for networks of up to a few thousand
    neurons. Run it with the simulator's asynchronous update
    (``update="async"``), under which the energy
    ``E = -1/2 sum_ij W_ij s_i s_j`` never increases.

    Examples
    --------
    >>> from topologies import hopfield
    >>> G = hopfield([[1, -1, 1, -1], [1, 1, -1, -1]])
    >>> G.number_of_nodes(), G.number_of_edges(), G.nodes[0]["activation"]
    (4, 12, 'sign')
    >>> G[0][1]["weight"], G[0][3]["weight"], G.has_edge(2, 2)
    (0.0, -0.5, False)
    """
    P = _check_patterns(patterns)
    n = P.shape[1]
    W = (P.T @ P) / n
    i = np.arange(n)
    src = np.repeat(i, n)
    dst = np.tile(i, n)
    off = src != dst
    src, dst = src[off], dst[off]
    hidden = list(range(n))
    G = new_graph([], hidden, [], hidden_attrs=({"activation": "sign", "bias": 0.0} for _ in i))
    add_weighted_edges(G, hidden, hidden, src, dst, W[dst, src])
    return G
