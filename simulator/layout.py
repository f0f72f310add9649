"""Index arrays for the five edge blocks: compressed rows by target for the
forward pass, by source for the backward pass, and the map from every slot
back to its graph edge.

Edge kinds, by the roles at their ends (`KINDS` order is the code order):

====  ==================  =====================
code  kind                matrix (rows x cols)
====  ==================  =====================
0     hidden -> hidden    W (neurons x neurons)
1     input -> hidden     U (neurons x inputs)
2     output -> hidden    F (neurons x outputs)
3     hidden -> output    V (outputs x neurons)
4     input -> output     D (outputs x inputs)
====  ==================  =====================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["KINDS", "KIND_NAMES", "Block", "Layout", "build_layout"]

#: Matrix letter of each edge-kind code.
KINDS: tuple[str, ...] = ("W", "U", "F", "V", "D")
#: Readable name of each edge-kind code.
KIND_NAMES: tuple[str, ...] = (
    "hidden->hidden",
    "input->hidden",
    "output->hidden",
    "hidden->output",
    "input->output",
)
#: Role group (0 input, 1 hidden, 2 output) of the source and target of each kind.
KIND_ROLES: tuple[tuple[int, int], ...] = ((1, 1), (0, 1), (2, 1), (1, 2), (0, 2))


@dataclass(frozen=True, eq=False)
class Block:
    """One edge kind in compressed-row form.

    Attributes
    ----------
    indptr : ndarray of uint64, shape (n_rows + 1,)
        Row ``r`` owns slots ``indptr[r]:indptr[r + 1]``.
    indices : ndarray of uint32, shape (n_slots,)
        The column (the other end of the edge) of each slot.
    edge : ndarray of int64, shape (n_slots,)
        The position in ``Network.edges`` of each slot's edge.
    """

    indptr: np.ndarray
    indices: np.ndarray
    edge: np.ndarray


@dataclass(frozen=True, eq=False)
class Layout:
    """The index structure of a network, shared by every parameter setting.

    Attributes
    ----------
    by_target : tuple of Block
        One per edge kind (`KINDS` order), rows = targets: each target gathers
        its inputs, so a parallel loop over targets has no write conflicts.
    by_source : tuple of Block
        The transposed order, rows = sources, for the backward pass.
    """

    by_target: tuple[Block, ...]
    by_source: tuple[Block, ...]


def _block(rows: np.ndarray, cols: np.ndarray, edge_ids: np.ndarray | None, n_rows: int) -> Block:
    """One block from its edges' rows and columns; `edge_ids` their positions
    in the edge list (None: the identity, when the block holds every edge).
    Rows already in order (the by-source block of a graph read source by
    source) are taken as they are, without a sort."""
    if rows.size < 2 or bool(np.all(rows[1:] >= rows[:-1])):
        edge = np.arange(rows.size) if edge_ids is None else edge_ids
        indices = cols.astype(np.uint32)
    else:
        order = np.argsort(rows, kind="stable")
        edge = order if edge_ids is None else edge_ids[order]
        indices = cols[order].astype(np.uint32)
        del order
    counts = np.bincount(rows, minlength=n_rows)
    indptr = np.zeros(n_rows + 1, dtype=np.uint64)
    np.cumsum(counts, out=indptr[1:])
    return Block(indptr, indices, edge.astype(np.int64, copy=False))


def build_layout(
    edge_kind: np.ndarray, edge_src: np.ndarray, edge_dst: np.ndarray, sizes: tuple[int, int, int]
) -> Layout:
    """Sort the edges of each kind by target and by source.

    Parameters
    ----------
    edge_kind : ndarray of int8, shape (n_edges,)
        Kind code of each edge (see `KINDS`).
    edge_src, edge_dst : ndarray of int32, shape (n_edges,)
        Index of each edge's source and target within their role groups.
    sizes : tuple of int
        ``(n_inputs, n_neurons, n_outputs)``.

    Returns
    -------
    Layout
        Within a row, slots keep the order of ``Network.edges`` (stable sort).
        Offsets and indices are unsigned: Numba then indexes without the
        wrap-around check it emits for signed integers (measured 1.9x on the
        inner loop).
    """
    by_target, by_source = [], []
    for code, (src_role, dst_role) in enumerate(KIND_ROLES):
        sel = edge_kind == code
        if sel.all():  # one kind holds every edge: no copies of the index arrays
            ids, src, dst = None, edge_src, edge_dst
        else:
            ids = np.flatnonzero(sel)
            src, dst = edge_src[ids], edge_dst[ids]
        del sel
        by_target.append(_block(dst, src, ids, sizes[dst_role]))
        by_source.append(_block(src, dst, ids, sizes[src_role]))
        del ids, src, dst
    return Layout(tuple(by_target), tuple(by_source))
