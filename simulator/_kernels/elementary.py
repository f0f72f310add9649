"""Branch-free exp, expm1 and tanh that LLVM can vectorise.

libm's ``tanh`` and ``exp`` are opaque calls, so a loop over neurons that
applies them runs one element at a time (10-15 ns each here, more than the
sparse gather it follows). These versions use only arithmetic, ``floor``,
``min``/``copysign`` and bit casts between integers and floats, so a loop
over a whole state row compiles to SIMD code. Accuracy: within a few units in the last
place of NumPy's results over the whole double range (tested).

Method: ``expm1(x) = 2^k expm1(r) + (2^k - 1)`` with ``x = k ln2 + r``,
``|r| <= ln2 / 2``, ``expm1(r)`` by its Taylor series to degree 14 (error below
1e-17 relative; the polynomial by Estrin's scheme), ``2^k`` assembled from its
exponent bits (k read off a float's bits, never converted: no step leaves
the vector registers, with AVX2 too);
``tanh(x) = sign(x) e / (e + 2)`` with ``e = expm1(2 min(|x|, 20))``, exact
to the last bit past ``|x| = 19.1``; in that range ``2^k`` cannot overflow,
so tanh skips expm1's range checks. The polynomial's multiply-adds are
fused (`fma`, one rounding instead of two), written out so that every
caller compiles to the same instructions; no fast-math licence is taken,
which would let LLVM fuse differently at different call sites.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from . import CACHE

LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e00
#: 1 / n! for n = 2 .. 14, the Taylor coefficients of expm1 after r.
C = tuple(1.0 / math.factorial(n) for n in range(2, 15))


@intrinsic
def _bits_as_float(typingctx, bits):
    """Reinterpret the bits of an int64 as a float64."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (LLVM's ``llvm.fma.f64``; vectorises)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        double = ir.DoubleType()
        fnty = ir.FunctionType(double, [double, double, double])
        fn = builder.module.declare_intrinsic("llvm.fma", [double], fnty)
        return builder.call(fn, args)

    return sig, codegen


@intrinsic
def _float_bits(typingctx, x):
    """Reinterpret the bits of a float64 as an int64."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


#: 1.5 * 2^52: an integral float k with |k| < 2^51, added to it, gives a
#: double whose bits are SHIFTER's plus k.
SHIFTER = 6755399441055744.0


@njit(cache=CACHE, error_model="numpy")
def _pow2(k):
    """``2.0 ** k`` for integral float ``k`` in [-1022, 1023]. The integer k
    is read off the bits of ``k + SHIFTER``, not converted: AVX2 has no
    vector float64 <-> int64 conversion, so ``int(k)`` (and ``math.floor``,
    which returns an int) took every element of a vectorised loop out to a
    scalar register and back."""
    return _bits_as_float((_float_bits(k + SHIFTER) - _float_bits(SHIFTER) + 1023) << 52)


@njit(cache=CACHE, error_model="numpy")
def _expm1_reduced(r):
    """``expm1(r) = r + r^2 P(r)`` for ``|r| <= ln2 / 2``, the degree-12
    polynomial P by Estrin's scheme: pairs of coefficients, then pairs of
    pairs in ``r^2``, ``r^4``, ``r^8``. Five dependent multiply-adds instead
    of Horner's thirteen, so the elements of a vectorised loop do not queue
    behind one chain."""
    r2 = r * r
    r4 = r2 * r2
    q0 = fma(C[1], r, C[0])
    q1 = fma(C[3], r, C[2])
    q2 = fma(C[5], r, C[4])
    q3 = fma(C[7], r, C[6])
    q4 = fma(C[9], r, C[8])
    q5 = fma(C[11], r, C[10])
    s0 = fma(q1, r2, q0)
    s1 = fma(q3, r2, q2)
    s2 = fma(q5, r2, q4)
    u0 = fma(s1, r4, s0)
    u1 = fma(C[12], r4, s2)
    return fma(r2, fma(u1, r4 * r4, u0), r)


#: Beyond these, exp(x) overflows to inf / is below the smallest normal double.
X_MAX = 709.782712893384
X_MIN = -708.3964185322641


@njit(cache=CACHE, error_model="numpy")
def _split(x):
    """``x = k ln2 + r``: return the integral float `k` and `r`, |r| <= ln2 / 2."""
    xc = min(max(x, X_MIN), X_MAX)
    k = np.floor(xc * INV_LN2 + 0.5)
    r = (xc - k * LN2_HI) - k * LN2_LO
    return k, r


@njit(cache=CACHE, error_model="numpy")
def expm1(x):
    """``exp(x) - 1`` for float64 `x`."""
    k, r = _split(x)
    m = _expm1_reduced(r)
    scale = _pow2(min(k, 1023.0))
    value = scale * m + (scale - 1.0)
    # k = 1024 near the overflow limit: 2^k itself is not a double.
    value = scale * ((m + 1.0) * 2.0) if k > 1023.0 else value
    value = math.inf if x > X_MAX else value
    value = -1.0 if x < X_MIN else value
    return x if x != x else value


@njit(cache=CACHE, error_model="numpy")
def exp(x):
    """``exp(x)`` for float64 `x`; flushes to 0 below the smallest normal
    double (x < -708.4) instead of returning a subnormal."""
    k, r = _split(x)
    value = _pow2(min(k, 1023.0)) * ((_expm1_reduced(r) + 1.0) * (2.0 if k > 1023.0 else 1.0))
    value = math.inf if x > X_MAX else value
    value = 0.0 if x < X_MIN else value
    return x if x != x else value


@njit(cache=CACHE, error_model="numpy")
def tanh(x):
    """``tanh(x)`` for float64 `x` (odd: ``tanh(-0.0)`` is ``-0.0``)."""
    y = 2.0 * min(abs(x), 20.0)
    k = np.floor(y * INV_LN2 + 0.5)
    r = (y - k * LN2_HI) - k * LN2_LO
    scale = _pow2(k)
    e = fma(scale, _expm1_reduced(r), scale - 1.0)
    t = math.copysign(e / (e + 2.0), x)
    return x + x if x != x else t  # x itself would let LLVM skip the store of a NaN lane: a masked store


@njit(cache=CACHE, error_model="numpy")
def sigmoid(x):
    """``1 / (1 + exp(-x))`` for float64 `x`, accurate in both tails."""
    e = exp(-abs(x))
    s = 1.0 / (1.0 + e)
    return s if x >= 0 else e * s
