"""A block of consecutive batch values held in SIMD registers across a
neuron's in-edges.

A neuron's drive over a batch adds, slot by slot, a weight times a
contiguous row of the source states into one accumulator row. Written as
a loop over the batch, the accumulator is an array LLVM cannot tell from
the source rows, so it stays in memory, and every slot's adds wait for the
last slot's stores (a row of 10 slots took about 100 cycles at batch 32).
These intrinsics keep the accumulator in a stack buffer of
``<LANES x dtype>`` vectors that is only ever read and written whole at
fixed offsets, which LLVM promotes to vector registers: the row's slots
then add into registers and the buffer is written out once.

`block_width` is the batch columns one buffer holds (32 float32 values,
8 float64: the widths that ran fastest at batch 32, N = 1,000, in-degree
10). `block_load`, `block_add_scaled` and `block_store` take a 2-D array,
a row and the block's first column, and read or write the block as
contiguous values: the caller checks (`contiguous_rows`) that the rows
are contiguous and of the buffer's dtype (other arrays type, with a
conversion, so that a kernel compiles for them, but must not reach these
calls). `block_fill` sets every lane of a buffer to one value (a row's
bias). The arithmetic is a multiply, then an add, each rounded (what
``acc[b] += c * src[j, b]`` compiles to without fast-math): the sums are
those of the element-by-element loop, bit for bit.

The backward passes sum dot products over the batch (an edge's weight
gradient ``sum_b e[i, b] h[j, b]``): `block_product` and
`block_add_product` multiply two rows block by block into the buffer's
lanes, and `block_total` adds the lanes in a fixed tree. Scalar sums over
the batch wait on one another (LLVM does not reassociate IEEE additions),
so these are the sums in another, fixed order. `prefetch` asks for a
row's cache line ahead of its use. At a batch of 1, `unit_value` reads a
gathered value without the multiply that 2-D indexing makes.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from . import CACHE

#: Values per vector (one AVX2 register of float32, two of float64).
LANES = 8
#: Vectors per block, by the itemsize of the values.
VECTORS = {4: 4, 8: 1}
FLOATS = (types.float32, types.float64)


def _layout(context, dtype):
    """The LLVM element and vector types and the vectors in a block of `dtype`."""
    elt = context.get_data_type(dtype)
    return elt, ir.VectorType(elt, LANES), VECTORS[context.get_abi_sizeof(elt)]


def _row_vectors(context, builder, signature, args, first, n_vec):
    """Pointers to the `n_vec` vectors from ``ary[row, col]`` on, the array,
    row and column being ``args[first:first + 3]``; the row must be
    contiguous from there (the callers check its stride)."""
    aryty = signature.args[first]
    vty = ir.VectorType(context.get_data_type(aryty.dtype), LANES)
    arr = context.make_array(aryty)(context, builder, args[first])
    intp = context.get_value_type(types.intp)
    row, col = (context.cast(builder, args[first + q], signature.args[first + q], types.intp) for q in (1, 2))
    base = cgutils.get_item_pointer2(context, builder, arr.data, cgutils.unpack_tuple(builder, arr.shape),
                                     cgutils.unpack_tuple(builder, arr.strides), aryty.layout, [row, col])
    return [builder.bitcast(builder.gep(base, [ir.Constant(intp, q * LANES)]), vty.as_pointer())
            for q in range(n_vec)]


def _convert(builder, v, vty):
    """Vector `v` as `vty` (float32 <-> float64; unchanged when the same)."""
    if v.type == vty:
        return v
    return builder.fpext(v, vty) if vty.element == ir.DoubleType() else builder.fptrunc(v, vty)


def _buffer_vectors(context, builder, dtype, buf):
    """The vector type of a block of `dtype` and pointers to the vectors of
    the stack buffer `buf`."""
    elt, vty, n_vec = _layout(context, dtype)
    first = builder.bitcast(buf, vty.as_pointer())
    return vty, [builder.gep(first, [ir.Constant(ir.IntType(64), q)]) for q in range(n_vec)]


def _splat(builder, vty, scalar):
    """A vector of `vty` with every lane `scalar`."""
    lanes = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)
    first = builder.insert_element(ir.Constant(vty, ir.Undefined), scalar, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(first, ir.Constant(vty, ir.Undefined), lanes)


def _check(buf, a):
    """Whether `buf` is a block buffer and `a` a 2-D float array (any
    layout, any float dtype: the kernels call the block path only on
    contiguous rows of the buffer's dtype, but type every branch)."""
    return (isinstance(buf, types.CPointer) and buf.dtype in FLOATS
            and isinstance(a, types.Array) and a.ndim == 2 and a.dtype in FLOATS)


@intrinsic
def block_width(typingctx, a):
    """The batch columns a block of `a`'s dtype holds (a constant)."""
    if not isinstance(a, types.Array) or a.dtype not in FLOATS:
        return None
    width = LANES * VECTORS[a.dtype.bitwidth // 8]

    def codegen(context, builder, signature, args):
        return context.get_constant(types.intp, width)

    return types.intp(a), codegen


@intrinsic
def block_buffer(typingctx, a):
    """A stack buffer for one block of `a`'s dtype (uninitialised), valid
    for the whole calling kernel."""
    if not isinstance(a, types.Array) or a.dtype not in FLOATS:
        return None
    dtype = a.dtype

    def codegen(context, builder, signature, args):
        elt, vty, n_vec = _layout(context, dtype)
        buf = cgutils.alloca_once(builder, ir.ArrayType(vty, n_vec))
        return builder.bitcast(buf, elt.as_pointer())

    return types.CPointer(dtype)(a), codegen


@intrinsic
def block_load(typingctx, buf, src, row, col):
    """``buf = src[row, col:col + width]``."""
    if not _check(buf, src):
        return None

    def codegen(context, builder, signature, args):
        vty, vectors = _buffer_vectors(context, builder, signature.args[0].dtype, args[0])
        for b, p in zip(vectors, _row_vectors(context, builder, signature, args, 1, len(vectors))):
            builder.store(_convert(builder, builder.load(p, align=1), vty), b)
        return context.get_dummy_value()

    return types.void(buf, src, row, col), codegen


@intrinsic
def block_add_scaled(typingctx, buf, c, src, row, col):
    """``buf += c * src[row, col:col + width]`` (multiply, then add)."""
    if not _check(buf, src) or c not in FLOATS:
        return None

    def codegen(context, builder, signature, args):
        vty, vectors = _buffer_vectors(context, builder, signature.args[0].dtype, args[0])
        scalar = context.cast(builder, args[1], signature.args[1], signature.args[0].dtype)
        splat = _splat(builder, vty, scalar)
        for b, p in zip(vectors, _row_vectors(context, builder, signature, args, 2, len(vectors))):
            term = builder.fmul(splat, _convert(builder, builder.load(p, align=1), vty))
            builder.store(builder.fadd(builder.load(b), term), b)
        return context.get_dummy_value()

    return types.void(buf, c, src, row, col), codegen


@intrinsic
def block_fill(typingctx, buf, value):
    """``buf[:] = value`` (converted to the buffer's dtype)."""
    if not (isinstance(buf, types.CPointer) and buf.dtype in FLOATS and value in FLOATS):
        return None

    def codegen(context, builder, signature, args):
        vty, vectors = _buffer_vectors(context, builder, signature.args[0].dtype, args[0])
        scalar = context.cast(builder, args[1], signature.args[1], signature.args[0].dtype)
        splat = _splat(builder, vty, scalar)
        for b in vectors:
            builder.store(splat, b)
        return context.get_dummy_value()

    return types.void(buf, value), codegen


@intrinsic
def block_store(typingctx, buf, dst, row, col):
    """``dst[row, col:col + width] = buf``."""
    if not _check(buf, dst):
        return None

    def codegen(context, builder, signature, args):
        vty, vectors = _buffer_vectors(context, builder, signature.args[0].dtype, args[0])
        for b, p in zip(vectors, _row_vectors(context, builder, signature, args, 1, len(vectors))):
            builder.store(_convert(builder, builder.load(b), p.type.pointee), p, align=1)
        return context.get_dummy_value()

    return types.void(buf, dst, row, col), codegen


@intrinsic
def unit_value(typingctx, a, row):
    """``a[row, 0]`` of a 2-D array whose rows lie one value apart (the
    caller checks, `unit_rows`), addressed from the row alone: 2-D
    indexing multiplies the row by the row length, known only at run time,
    an integer multiply on every gathered value (a batch-1 gather-sum took
    1.15x as long at N = 1,000 and 10,000, in-degree 10)."""
    if not (isinstance(a, types.Array) and a.ndim == 2 and isinstance(row, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        arr = context.make_array(signature.args[0])(context, builder, args[0])
        i = context.cast(builder, args[1], signature.args[1], types.intp)
        return builder.load(builder.gep(arr.data, [i]))

    return a.dtype(a, row), codegen


@njit(cache=CACHE, error_model="numpy", inline="always")
def unit_rows(a):
    """Whether the 2-D array `a` is one column of values one apart
    (`unit_value`'s condition)."""
    return a.shape[1] == 1 and (a.shape[0] < 2 or a.strides[0] == a.itemsize)


@njit(cache=CACHE, error_model="numpy", inline="always")
def contiguous_rows(a, like):
    """Whether the rows of the 2-D array `a` are contiguous and hold
    values of `like`'s size (the block functions' condition)."""
    return a.itemsize == like.itemsize and (a.shape[1] < 2 or a.strides[1] == a.itemsize)


def _products(buf, a, b, add):
    """The typing and code of ``buf (+)= a[ra, cols] * b[rb, cols]``."""
    if not (_check(buf, a) and _check(buf, b)):
        return None

    def codegen(context, builder, signature, args):
        vty, vectors = _buffer_vectors(context, builder, signature.args[0].dtype, args[0])
        sa = signature.args
        rows_a = _row_vectors(context, builder, types.void(sa[1], sa[2], sa[5]), [args[1], args[2], args[5]], 0,
                              len(vectors))
        rows_b = _row_vectors(context, builder, types.void(sa[3], sa[4], sa[5]), [args[3], args[4], args[5]], 0,
                              len(vectors))
        for v, pa, pb in zip(vectors, rows_a, rows_b):
            term = builder.fmul(_convert(builder, builder.load(pa, align=1), vty),
                                _convert(builder, builder.load(pb, align=1), vty))
            builder.store(builder.fadd(builder.load(v), term) if add else term, v)
        return context.get_dummy_value()

    return codegen


@intrinsic
def block_product(typingctx, buf, a, ra, b, rb, col):
    """``buf = a[ra, col:col + width] * b[rb, col:col + width]`` (each
    product rounded), the rows contiguous and of the buffer's dtype as for
    `block_add_scaled`."""
    codegen = _products(buf, a, b, add=False)
    return None if codegen is None else (types.void(buf, a, ra, b, rb, col), codegen)


@intrinsic
def block_add_product(typingctx, buf, a, ra, b, rb, col):
    """``buf += a[ra, col:col + width] * b[rb, col:col + width]`` (multiply,
    then add, each rounded), the rows as for `block_product`."""
    codegen = _products(buf, a, b, add=True)
    return None if codegen is None else (types.void(buf, a, ra, b, rb, col), codegen)


@intrinsic
def prefetch(typingctx, a, row, col):
    """Hint the processor to load the cache line of ``a[row, col]`` (a 2-D
    array) for reading; no effect on any value."""
    if not (isinstance(a, types.Array) and a.ndim == 2):
        return None

    def codegen(context, builder, signature, args):
        p = _row_vectors(context, builder, signature, args, 0, 1)[0]
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(p, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(a, row, col), codegen


@intrinsic
def block_total(typingctx, buf):
    """The sum of a block buffer's values in a fixed tree: its vectors added
    pairwise, then the result's upper half added to its lower half until one
    lane is left (lane ``q`` meets lane ``q + 4``, then ``q + 2``, then
    ``q + 1``). Halving keeps every addition in vector registers: extracting
    the eight lanes to add them as scalars took twice the instructions, and
    the backward pass's weight gradients, one total per edge and step, 7% of
    its time (N = 1,000, batch 32, float64)."""
    if not (isinstance(buf, types.CPointer) and buf.dtype in FLOATS):
        return None

    def codegen(context, builder, signature, args):
        vty, vectors = _buffer_vectors(context, builder, signature.args[0].dtype, args[0])
        parts = [builder.load(v) for v in vectors]
        while len(parts) > 1:
            parts = [builder.fadd(parts[q], parts[q + 1]) for q in range(0, len(parts), 2)]
        v, i32 = parts[0], ir.IntType(32)
        half = vty.count // 2
        while half:
            lower = builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(i32, half), list(range(half))))
            upper = builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(i32, half), list(range(half, 2 * half))))
            v = builder.fadd(lower, upper)
            half //= 2
        return builder.extract_element(v, ir.Constant(i32, 0))

    return buf.dtype(buf), codegen
