"""Eight rows of an edge table summed side by side in one vector register
(`types.Interleaved`, `simulator.interleave`), at a batch of 1.

Lane ``l`` of chunk ``c`` is row ``8 c + l`` of the forward's in-edge
table, and row ``rows[8 c + l]`` of the backward's out-edge table (its
rows ordered by out-degree, so that a chunk's lanes are seldom padded:
15,832 values for 11,000 slots in order, 11,064 ordered, at N = 1,000,
in-degree 10). Each slot of a chunk reads the eight lanes' indices and
weights as two vectors (they lie side by side), loads the eight source
values one by one into a vector (AVX-512's gather instruction took 0.79
ms where these loads took 0.55, N = 1,000, in-degree 10, 200 steps),
multiplies, then adds, each rounded: every lane's sum is the row-by-row
loop's, bit for bit. A lane whose row has fewer slots in the segment
keeps its sum (a select on its slot count, so a padded slot adds
nothing, not even a zero, and a NaN in the padded source is never read
into it). The backward also adds each out-edge's weight gradient from
the value it gathered (`lanes_add_gathered_grad`) and forms the eight
neurons' errors in the register (`lanes_errors_store`). The buffers are
`lanes.block_buffer`'s (their first vector).

The arrays these read and write by row are 1-D, or 2-D with their rows
one value apart (`lanes.unit_rows`); the caller checks.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from . import CACHE
from .lanes import FLOATS, LANES, _convert

_I32 = ir.IntType(32)
_I64 = ir.IntType(64)


def _vector(context, dtype):
    return ir.VectorType(context.get_data_type(dtype), LANES)


def _values_at(context, builder, aryty, ary, first, vty):
    """A pointer to the `LANES` values of array `ary` from flat element
    `first` on, as a pointer to a vector of `vty`."""
    arr = context.make_array(aryty)(context, builder, ary)
    return builder.bitcast(builder.gep(arr.data, [first]), vty.as_pointer())


def _is_row_array(a):
    return isinstance(a, types.Array) and a.ndim in (1, 2) and a.dtype in FLOATS


def _block_args(buf, a, first):
    """Whether `buf` is a block buffer, `a` an array of rows and `first` an integer."""
    return (isinstance(buf, types.CPointer) and buf.dtype in FLOATS and _is_row_array(a)
            and isinstance(first, types.Integer))


def _block_pointers(context, builder, signature, args):
    """Pointers to the buffer's vector and to the `LANES` values of the
    array from row `first` on (``args`` = buffer, array, first)."""
    at = context.cast(builder, args[2], signature.args[2], types.intp)
    return (builder.bitcast(args[0], _vector(context, signature.args[0].dtype).as_pointer()),
            _values_at(context, builder, signature.args[1], args[1], at, _vector(context, signature.args[1].dtype)))


def _lanes_copy(to_array, doc):
    """The intrinsic copying a buffer's vector from (`to_array` False) or
    to (True) ``a[first:first + 8]``, with docstring `doc`."""
    def typer(typingctx, buf, a, first):
        if not _block_args(buf, a, first):
            return None

        def codegen(context, builder, signature, args):
            buf_p, row_p = _block_pointers(context, builder, signature, args)
            src, dst = (buf_p, row_p) if to_array else (row_p, buf_p)
            builder.store(_convert(builder, builder.load(src, align=1), dst.type.pointee), dst, align=1)
            return context.get_dummy_value()

        return types.void(buf, a, first), codegen

    typer.__doc__ = doc
    return intrinsic(typer)


lanes_load = _lanes_copy(False, "``buf = a[first:first + 8]`` (rows of `a`).")
lanes_store = _lanes_copy(True, "``a[first:first + 8] = buf`` (rows of `a`).")


def _gathered_sum(context, builder, signature, args):
    """Code of `lanes_add_gathered`'s update of the buffer; returns the
    lanes to update, the gathered values, the buffer's vector type and
    the position `p`."""
    buf_ty, w_ty, i_ty, c_ty, _, s_ty, _, src_ty = signature.args[:8]
    vty = _vector(context, buf_ty.dtype)
    ity = ir.VectorType(_I32, LANES)
    at, p = (context.cast(builder, args[q], signature.args[q], types.intp) for q in (4, 6))
    s = builder.trunc(context.cast(builder, args[5], s_ty, types.uint64), _I32)
    counts = builder.load(_values_at(context, builder, c_ty, args[3], at, ity), align=4)
    live = builder.icmp_unsigned(">", counts, builder.shuffle_vector(
        builder.insert_element(ir.Constant(ity, ir.Undefined), s, ir.Constant(_I32, 0)),
        ir.Constant(ity, ir.Undefined), ir.Constant(ity, [0] * LANES)))
    rows = builder.load(_values_at(context, builder, i_ty, args[2], p, ity), align=4)
    data = context.make_array(src_ty)(context, builder, args[7]).data
    values = ir.Constant(_vector(context, src_ty.dtype), ir.Undefined)
    widen = builder.sext if i_ty.dtype.signed else builder.zext
    for lane in range(LANES):
        row = widen(builder.extract_element(rows, ir.Constant(_I32, lane)), _I64)
        values = builder.insert_element(values, builder.load(builder.gep(data, [row])), ir.Constant(_I32, lane))
    values = _convert(builder, values, vty)
    w = builder.load(_values_at(context, builder, w_ty, args[1], p, _vector(context, w_ty.dtype)), align=1)
    acc_ptr = builder.bitcast(args[0], vty.as_pointer())
    acc = builder.load(acc_ptr)
    summed = builder.fadd(acc, builder.fmul(_convert(builder, w, vty), values))
    builder.store(builder.select(live, summed, acc), acc_ptr)
    return live, values, vty, p


def _gather_args(buf, weight, index, count, src):
    """Whether `lanes_add_gathered`'s arguments type."""
    return (isinstance(buf, types.CPointer) and buf.dtype in FLOATS and _is_row_array(weight)
            and _is_row_array(src) and isinstance(index, types.Array) and index.dtype in (types.uint32, types.int32)
            and isinstance(count, types.Array) and count.dtype == types.uint32)


@intrinsic
def lanes_add_gathered(typingctx, buf, weight, index, count, at_count, s, p, src):
    """``buf[l] += weight[p + l] * src[index[p + l]]`` for the lanes ``l``
    with ``count[at_count + l] > s`` (multiply, then add); the others keep
    their sums. An int32 `index` is signed: an offset from the start of
    `src`, which may be a view into a longer history (the delayed
    kernels' reads of earlier steps)."""
    if not _gather_args(buf, weight, index, count, src):
        return None

    def codegen(context, builder, signature, args):
        _gathered_sum(context, builder, signature, args)
        return context.get_dummy_value()

    return types.void(buf, weight, index, count, at_count, s, p, src), codegen


@intrinsic
def lanes_add_gathered_grad(typingctx, buf, weight, index, count, at_count, s, p, src, grad, hbuf):
    """`lanes_add_gathered`, and for the same lanes ``grad[p + l] +=
    src[index[p + l]] * hbuf[l]`` (multiply, then add): the backward's
    gather of its readers' errors and its out-edges' weight gradients from
    the same values."""
    if not (_gather_args(buf, weight, index, count, src) and _is_row_array(grad)
            and isinstance(hbuf, types.CPointer) and hbuf.dtype == buf.dtype):
        return None

    def codegen(context, builder, signature, args):
        live, values, vty, p = _gathered_sum(context, builder, signature, args)
        g_ptr = _values_at(context, builder, signature.args[8], args[8], p, _vector(context, signature.args[8].dtype))
        g = builder.load(g_ptr, align=1)
        h = builder.load(builder.bitcast(args[9], vty.as_pointer()))
        g_new = builder.fadd(g, _convert(builder, builder.fmul(values, h), g.type))
        builder.store(builder.select(live, g_new, g), g_ptr, align=1)
        return context.get_dummy_value()

    return types.void(buf, weight, index, count, at_count, s, p, src, grad, hbuf), codegen


def _row_pointers(context, builder, aryty, ary, rows_ty, rows, first):
    """Pointers to ``a[rows[first + l]]`` for the `LANES` lanes ``l``."""
    data = context.make_array(aryty)(context, builder, ary).data
    ity = ir.VectorType(_I32, LANES)
    at = context.cast(builder, first, types.uint64, types.intp)
    which = builder.load(_values_at(context, builder, rows_ty, rows, at, ity), align=4)
    return [builder.gep(data, [builder.zext(builder.extract_element(which, ir.Constant(_I32, lane)), _I64)])
            for lane in range(LANES)]


def _rows_args(buf, a, rows, first):
    """`_block_args`, and `rows` an array of uint32 rows."""
    return _block_args(buf, a, first) and isinstance(rows, types.Array) and rows.dtype == types.uint32


@intrinsic
def lanes_load_rows(typingctx, buf, a, rows, first):
    """``buf[l] = a[rows[first + l]]`` (rows of `a`)."""
    if not _rows_args(buf, a, rows, first):
        return None

    def codegen(context, builder, signature, args):
        vty = _vector(context, signature.args[0].dtype)
        first = context.cast(builder, args[3], signature.args[3], types.uint64)
        values = ir.Constant(_vector(context, signature.args[1].dtype), ir.Undefined)
        for lane, ptr in enumerate(_row_pointers(context, builder, signature.args[1], args[1], signature.args[2],
                                                 args[2], first)):
            values = builder.insert_element(values, builder.load(ptr), ir.Constant(_I32, lane))
        builder.store(_convert(builder, values, vty), builder.bitcast(args[0], vty.as_pointer()))
        return context.get_dummy_value()

    return types.void(buf, a, rows, first), codegen


@intrinsic
def lanes_errors_store(typingctx, to_out, back, h, tanh, dh, da, rows, first):
    """``v = to_out + back`` lane by lane into ``dh[rows[first + l]]``, and
    where `tanh`, ``v * (1 - h * h)`` (tanh's slope from its value, as
    `activations.slope` computes it: ``h * h`` in the values' dtype, the
    rest in float64) into ``da[rows[first + l]]``: a backward step's
    errors of eight neurons."""
    if not (_rows_args(to_out, dh, rows, first) and back == to_out and h == to_out and _is_row_array(da)
            and isinstance(tanh, types.Boolean)):
        return None

    def codegen(context, builder, signature, args):
        vty = _vector(context, signature.args[0].dtype)
        buf, back_v, h_v = (builder.load(builder.bitcast(v, vty.as_pointer())) for v in args[:3])
        total = builder.fadd(buf, back_v)
        first = context.cast(builder, args[7], signature.args[7], types.uint64)

        def scatter(values, q):
            values = _convert(builder, values, _vector(context, signature.args[q].dtype))
            for lane, ptr in enumerate(_row_pointers(context, builder, signature.args[q], args[q],
                                                     signature.args[6], args[6], first)):
                builder.store(builder.extract_element(values, ir.Constant(_I32, lane)), ptr)

        scatter(total, 4)
        with builder.if_then(context.cast(builder, args[3], signature.args[3], types.boolean)):
            wide = ir.VectorType(ir.DoubleType(), LANES)  # `slope`'s 1.0 is a float64: float32 values widen there
            slope = builder.fsub(ir.Constant(wide, [1.0] * LANES), _convert(builder, builder.fmul(h_v, h_v), wide))
            scatter(builder.fmul(_convert(builder, total, wide), slope), 5)
        return context.get_dummy_value()

    return types.void(to_out, back, h, tanh, dh, da, rows, first), codegen


@njit(cache=CACHE, error_model="numpy", inline="always")
def part_slots(start, c, q):
    """Where segment `q` of chunk `c` starts, where its lanes' slot counts
    are (in ``count``) and how many slots it holds a lane."""
    first = start[c, q]
    at_count = (c * np.uint64(start.shape[1] - 1) + np.uint64(q)) * np.uint64(LANES)
    return first, at_count, (start[c, q + 1] - first) // np.uint64(LANES)


@njit(cache=CACHE, error_model="numpy", inline="always")
def add_part_lanes(start, count, index, weight, c, q, src, buf):
    """Segment `q` of chunk `c` of an interleaved table into `buf`'s lanes."""
    first, at_count, m = part_slots(start, c, q)
    for s in range(m):
        lanes_add_gathered(buf, weight, index, count, at_count, s, first + s * np.uint64(LANES), src)


@njit(cache=CACHE, error_model="numpy", inline="always")
def add_part_lanes_grad(start, count, index, weight, c, q, src, buf, grad, hbuf):
    """`add_part_lanes` with the out-edges' weight gradients (`lanes_add_gathered_grad`)."""
    first, at_count, m = part_slots(start, c, q)
    for s in range(m):
        lanes_add_gathered_grad(buf, weight, index, count, at_count, s, first + s * np.uint64(LANES), src, grad, hbuf)


@njit(cache=CACHE, error_model="numpy")
def lanes_from_slots(slot, table, laid):
    """``laid[p] = table[slot[p]]`` where ``slot[p] >= 0``: per-slot values
    laid out as the interleaved table's."""
    for p in range(slot.size):
        if slot[p] >= 0:
            laid[p] = table[slot[p]]


@njit(cache=CACHE, error_model="numpy")
def lanes_to_slots(slot, laid, table):
    """``table[slot[p]] = laid[p]`` where ``slot[p] >= 0`` (the inverse of
    `lanes_from_slots`)."""
    for p in range(slot.size):
        if slot[p] >= 0:
            table[slot[p]] = laid[p]


@njit(cache=CACHE, error_model="numpy")
def lanes_add_to_slots(slot, laid, table):
    """``table[slot[p]] += laid[p]`` where ``slot[p] >= 0``."""
    for p in range(slot.size):
        if slot[p] >= 0:
            table[slot[p]] += laid[p]
