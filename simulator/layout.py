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

The kernels read the blocks merged into edge tables (`Rows`), one row per
node: a hidden neuron's row lists all its in-edges (W, then U, then F
slots), an output's its V then D slots; the transposed tables list a
hidden neuron's out-edges (W, then V) and a fed-back output's (F). Within
a row the slots come in segments, one per part of the row's source
vector, so that a kernel reads each part where it lies without
concatenating the parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .interleave import InterleavedRows, interleave_rows

__all__ = ["KINDS", "KIND_NAMES", "Block", "Rows", "Layout", "build_layout"]

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
class Rows:
    """An edge table: several blocks with the same rows merged row by row.

    Row ``r`` owns slots ``ptr[r, 0]:ptr[r, -1]``; segment ``q`` of it,
    slots ``ptr[r, q]:ptr[r, q + 1]``, holds the row's slots of block ``q``,
    whose other ends index part ``q`` of the source vector. Per-slot values
    (a weight today) are arrays over the slots beside `index`.

    Attributes
    ----------
    ptr : ndarray of uint64, shape (n_rows, n_parts + 1)
        Segment bounds; ``ptr[r, -1] == ptr[r + 1, 0]``.
    index : ndarray of uint32, shape (n_slots,)
        Each slot's other end, within its part.
    edge : ndarray of int64, shape (n_slots,)
        The position in ``Network.edges`` of each slot's edge.
    """

    ptr: np.ndarray
    index: np.ndarray
    edge: np.ndarray


def merge_rows(blocks: tuple[Block, ...]) -> Rows:
    """The table of `blocks` (same rows), segment ``q`` of each row from
    ``blocks[q]``; within a segment, slots keep their block's order."""
    n_rows, n_parts = blocks[0].indptr.size - 1, len(blocks)
    counts = np.stack([np.diff(b.indptr.astype(np.int64)) for b in blocks], axis=1).reshape(n_rows, n_parts)
    ptr = np.zeros((n_rows, n_parts + 1), dtype=np.uint64)
    ends = np.cumsum(counts.ravel(), dtype=np.uint64).reshape(n_rows, n_parts)
    ptr[:, 1:] = ends
    ptr[1:, 0] = ends[:-1, -1]
    n_slots = int(ptr[-1, -1]) if n_rows else 0
    index = np.empty(n_slots, dtype=np.uint32)
    edge = np.empty(n_slots, dtype=np.int64)
    for q, b in enumerate(blocks):
        rows = np.repeat(np.arange(n_rows), counts[:, q])
        dest = ptr[rows, q] + (np.arange(b.indices.size, dtype=np.uint64) - b.indptr[rows])
        index[dest] = b.indices
        edge[dest] = b.edge
    return Rows(ptr, index, edge)


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

    @cached_property
    def hidden_in(self) -> Rows:
        """Each hidden neuron's in-edges; parts: hidden states (W), inputs
        (U), fed-back outputs (F)."""
        return merge_rows(self.by_target[:3])

    @cached_property
    def hidden_in_lanes(self) -> InterleavedRows:
        """`hidden_in` interleaved eight rows at a time, for the gathers at a
        batch of 1 (`simulator.interleave`)."""
        return interleave_rows(self.hidden_in)

    @cached_property
    def outputs_in(self) -> Rows:
        """Each output's in-edges; parts: hidden states (V), inputs (D)."""
        return merge_rows(self.by_target[3:])

    @cached_property
    def hidden_out(self) -> Rows:
        """Each hidden neuron's out-edges; parts: hidden neurons (W),
        outputs (V)."""
        return merge_rows((self.by_source[0], self.by_source[3]))

    @cached_property
    def hidden_out_lanes(self) -> InterleavedRows:
        """`hidden_out` interleaved eight rows at a time, the rows in the
        order of their out-degrees (`simulator.interleave`)."""
        return interleave_rows(self.hidden_out, by_count=True)

    @cached_property
    def fed_out(self) -> Rows:
        """Each output's feedback edges (F) into hidden neurons."""
        return merge_rows(self.by_source[2:3])

    @cached_property
    def slot_edges(self) -> np.ndarray:
        """The edge of every slot of `hidden_in`, then of `outputs_in`: the
        order in which the backward kernels accumulate weight gradients."""
        return np.concatenate([self.hidden_in.edge, self.outputs_in.edge]).astype(np.intp)


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
