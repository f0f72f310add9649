"""`compile_arrays`: a `Network` straight from weight matrices, without NetworkX.

For people who already hold their wiring as ``scipy.sparse`` matrices (or dense
arrays), and for graphs too large to build as NetworkX objects: the matrices
are read in bulk and the result is the same `Network` that `simulator.compile`
gives for the equivalent graph (``compile(net.to_networkx())`` is identical).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from .activations import activation_code
from .layout import KIND_ROLES, build_layout
from .network import GraphAttributes, Network, as_dtype

__all__ = ["compile_arrays"]

#: Matrix name of each edge kind, in kind-code order, with its (rows, columns)
#: role groups: rows are targets, columns sources, as in ``a = W h + U x``.
MATRICES = ("W", "U", "F", "V", "D")


def _names(given: Sequence | None, n: int, prefix: str | None, what: str) -> tuple:
    if given is None:
        return tuple(range(n)) if prefix is None else tuple(f"{prefix}{k}" for k in range(n))
    names = tuple(given)
    if len(names) != n:
        raise ValueError(f"`{what}` has {len(names)} names but the matrices give {n} {what}")
    return names


def _coo(name: str, M: Any, shape: tuple[int, int], dtype: np.dtype):
    """(rows, cols, values) of the stored entries of `M`, column-major (by source)."""
    if sp.issparse(M):
        if M.shape != shape:
            raise ValueError(f"`{name}` must have shape {shape} (targets x sources), got {M.shape}")
        csc = M.tocsc()
        if not csc.has_canonical_format:
            csc = csc.copy()
            csc.sum_duplicates()
        cols = np.repeat(np.arange(shape[1], dtype=np.int32), np.diff(csc.indptr))
        values = csc.data
        rows = csc.indices
    else:
        a = np.asarray(M)
        if a.shape != shape:
            raise ValueError(f"`{name}` must have shape {shape} (targets x sources), got {a.shape}")
        cols, rows = np.nonzero(a.T)
        values = a[rows, cols]
    if values.dtype.kind not in "fiub":
        raise ValueError(f"`{name}` must hold numbers, got dtype {values.dtype}")
    values = values.astype(dtype, copy=False)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(f"`{name}[{rows[bad[0]]}, {cols[bad[0]]}]` is {values[bad[0]]}: weights must be finite")
    return rows.astype(np.int32, copy=False), cols.astype(np.int32, copy=False), values


def _per_node(name: str, value: Any, n: int, default: Any, kind: type) -> np.ndarray | list:
    if value is None:
        value = default
    if kind is str:
        if isinstance(value, str):
            return [value] * n
        names = list(value)
        if len(names) != n:
            raise ValueError(f"`{name}` must be one name or {n} names, got {len(names)}")
        return names
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        return np.full(n, float(a))
    if a.shape != (n,):
        raise ValueError(f"`{name}` must be a number or have shape ({n},), got shape {a.shape}")
    return a


def compile_arrays(
    W: ArrayLike | sp.sparray | sp.spmatrix,
    U: ArrayLike | sp.sparray | sp.spmatrix | None = None,
    V: ArrayLike | sp.sparray | sp.spmatrix | None = None,
    F: ArrayLike | sp.sparray | sp.spmatrix | None = None,
    D: ArrayLike | sp.sparray | sp.spmatrix | None = None,
    *,
    bias: ArrayLike | None = None,
    output_bias: ArrayLike | None = None,
    tau: ArrayLike | None = None,
    activation: str | Sequence[str] = "tanh",
    output_activation: str | Sequence[str] = "identity",
    neurons: Sequence | None = None,
    inputs: Sequence | None = None,
    outputs: Sequence | None = None,
    dtype: Any = "float64",
) -> Network:
    """Compile weight matrices into a `Network`, skipping NetworkX.

    Every stored entry of a sparse matrix is an edge (explicit zeros too:
    call ``M.eliminate_zeros()`` to drop them); of a dense array, every
    non-zero entry. Rows are targets and columns sources, as in
    ``a = W h + U x + F y + b`` and ``y = g(V h + D x + c)``.

    Parameters
    ----------
    W : (n, n) sparse matrix or array
        Hidden -> hidden; ``W[i, j]`` is the weight of edge ``j -> i``.
    U : (n, n_inputs), optional
        Input -> hidden.
    V : (n_outputs, n), optional
        Hidden -> output.
    F : (n, n_outputs), optional
        Output -> hidden feedback.
    D : (n_outputs, n_inputs), optional
        Input -> output skip.
    bias, tau : number or (n,) array, optional
        Per neuron (defaults 0 and 1).
    output_bias : number or (n_outputs,) array, optional
        Per output (default 0).
    activation, output_activation : str or sequence of str
        One name for all, or one per neuron / output.
    neurons, inputs, outputs : sequence, optional
        Node names (defaults: ``0 .. n-1``, ``"in0", ...``, ``"out0", ...``,
        as the `topologies` generators name them).
    dtype : {"float64", "float32"}

    Returns
    -------
    Network
        Edges ordered by source node (inputs, neurons, outputs), then by
        target: the order `simulator.compile` gives for
        ``net.to_networkx()``.

    Raises
    ------
    ValueError
        A matrix of the wrong shape (named, with the expected shape), a
        non-finite weight (named by its row and column), names that do not
        fit the sizes.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, simulator as sim
    >>> W = sp.csr_array(np.array([[0.0, 0.5], [-1.0, 0.0]]))
    >>> net = sim.compile_arrays(W, U=np.array([[1.0], [0.0]]), V=np.array([[0.0, 2.0]]))
    >>> net.neurons, net.inputs, net.outputs
    ((0, 1), ('in0',), ('out0',))
    >>> list(net.edges), net.weight.tolist()
    ([('in0', 0), (0, 1), (1, 0), (1, 'out0')], [1.0, -1.0, 0.5, 2.0])
    """
    dt = as_dtype(dtype)
    shape_w = np.shape(W) if not sp.issparse(W) else W.shape
    if len(shape_w) != 2 or shape_w[0] != shape_w[1]:
        raise ValueError(f"`W` must be a square (n, n) matrix, got shape {shape_w}")
    n = shape_w[0]
    # Sizes from the names where given (then a matrix that disagrees is named
    # with the shape the names imply), else from the first matrix that has them.
    inputs, outputs = (None if g is None else tuple(g) for g in (inputs, outputs))
    n_in = len(inputs) if inputs is not None else _size(U, 1, D, 1)
    n_out = len(outputs) if outputs is not None else _size(V, 0, D, 0, F, 1)
    sizes = (n_in, n, n_out)
    given = {"W": W, "U": U, "F": F, "V": V, "D": D}
    kinds, srcs, dsts, weights, src_pos = [], [], [], [], []
    offset = (0, n_in, n_in + n)  # where each role group starts in node order
    # Sources in node order: inputs (U, D), neurons (W, V), outputs (F); within
    # a source, targets in node order (neurons before outputs).
    for code in (1, 4, 0, 3, 2):
        name = MATRICES[code]
        M = given[name]
        if M is None:
            continue
        src_role, dst_role = KIND_ROLES[code]
        rows, cols, values = _coo(name, M, (sizes[dst_role], sizes[src_role]), dt)
        kinds.append(np.full(values.size, code, dtype=np.int8))
        srcs.append(cols)
        dsts.append(rows)
        weights.append(values)
        src_pos.append(cols.astype(np.int64) + offset[src_role])
    order = np.argsort(np.concatenate(src_pos), kind="stable")
    del src_pos
    edge_kind = np.concatenate(kinds)[order]
    edge_src = np.concatenate(srcs)[order]
    edge_dst = np.concatenate(dsts)[order]
    weight = np.concatenate(weights)[order]
    del kinds, srcs, dsts, weights, order

    names = (_names(inputs, n_in, "in", "inputs"), _names(neurons, n, None, "neurons"),
             _names(outputs, n_out, "out", "outputs"))
    acts = _per_node("activation", activation, n, "tanh", str) + \
        _per_node("output_activation", output_activation, n_out, "identity", str)
    codes = np.array([activation_code(a, f"node {nm!r}") for a, nm in zip(acts, names[1] + names[2])],
                     dtype=np.int8)
    b = np.concatenate([_per_node("bias", bias, n, 0.0, float), _per_node("output_bias", output_bias, n_out, 0.0, float)])
    # Each (kind, source, target) pair is unique by construction (canonical
    # sparse formats, or one entry per array cell), so the layout is built here
    # and the network skips its duplicate-edge check.
    layout = build_layout(edge_kind, edge_src, edge_dst, sizes)
    for a in (edge_kind, edge_src, edge_dst, weight):  # handed over read-only: the network keeps them uncopied
        a.flags.writeable = False
    return Network(
        neurons=names[1], inputs=names[0], outputs=names[2],
        edge_kind=edge_kind, edge_src=edge_src, edge_dst=edge_dst, weight=weight,
        bias=b.astype(dt), tau=_per_node("tau", tau, n, 1.0, float).astype(dt), activation_codes=codes,
        attributes=GraphAttributes(node_order=names[0] + names[1] + names[2]), layout=layout,
    )


def _size(*pairs: Any) -> int:
    """The size implied by the first given matrix of (matrix, axis) pairs, else 0."""
    for M, axis in zip(pairs[::2], pairs[1::2]):
        if M is not None:
            shape = M.shape if sp.issparse(M) else np.shape(M)
            if len(shape) == 2:
                return shape[axis]
    return 0
