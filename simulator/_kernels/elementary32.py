"""Branch-free float32 tanh and sigmoid that LLVM vectorises eight to a
register, and `tanh_of` / `sigmoid_of`, which pick them for float32 values
and `elementary`'s float64 functions otherwise.

`elementary`'s functions take float64: a float32 state row went through
them converted, four elements to an AVX2 register and a degree-14
polynomial each. Here every operation stays in float32 (the constants are
float32 and float32 with float32 stays float32 in Numba), with the
polynomial a float32 result needs.

Method, as `elementary.tanh`: ``tanh(x) = sign(x) e / (e + 2)`` with
``e = expm1(2 min(|x|, 9))`` (float32's tanh is 1 past |x| = 9.01), and
``expm1(y) = 2^k expm1(r) + (2^k - 1)``, ``y = k ln2 + r``, ``|r| <= ln2 / 2``
(ln2 split in two so ``k ln2`` is exact), ``expm1(r)`` by its Taylor series
to degree 7 (truncation below 2e-8 of the result, a third of float32's
epsilon), ``2^k`` from its exponent bits; the multiply-adds fused (`fma32`,
one rounding: tanh32 over 32,000 values 18.2 -> 12.1 us, one thread, and
its largest error 2.29 -> 2.23 ULP on 5.1 million points in [-12, 12]). Sigmoid as
``1 / (1 + exp(-|x|))``, mirrored for x < 0, with ``exp(-|x|)`` flushed to 0
below -87.33 (float32's smallest normal). Accuracy: within 3 (tanh) and 4
(sigmoid) units in the last place of float32 of the exact values (tested).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

from . import CACHE
from . import elementary as el

F = np.float32
LN2_HI = F(0.693359375)  # 8 significant bits: k * LN2_HI is exact for |k| < 2^15
LN2_LO = F(-2.12194440e-4)
INV_LN2 = F(1.44269504)
ONE, TWO, HALF, ZERO = F(1.0), F(2.0), F(0.5), F(0.0)
#: tanh is 1 in float32 past this; 2^k stays a normal float32 below it.
TANH_CLAMP = F(9.0)
#: Below this, exp is under float32's smallest normal (flushed to 0).
EXP_MIN = F(-87.33)
#: 1 / n! for n = 2 .. 7, the Taylor coefficients of expm1 after r.
C2, C3, C4, C5, C6, C7 = (F(1.0 / math.factorial(n)) for n in range(2, 8))


@intrinsic
def _bits_as_float32(typingctx, bits):
    """Reinterpret the bits of an int32 as a float32."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


@intrinsic
def fma32(typingctx, a, b, c):
    """``a * b + c`` in float32 rounded once (LLVM's ``llvm.fma.f32``; vectorises)."""
    sig = types.float32(types.float32, types.float32, types.float32)

    def codegen(context, builder, signature, args):
        f = ir.FloatType()
        fn = builder.module.declare_intrinsic("llvm.fma", [f], ir.FunctionType(f, [f, f, f]))
        return builder.call(fn, args)

    return sig, codegen


@njit(cache=CACHE, error_model="numpy")
def _split(y):
    """``exp(y) = 2^k (1 + m)`` for float32 ``y`` in [-87.33, 18] (no range
    checks): returns ``2^k`` and ``m = expm1(r)``."""
    k = np.floor(y * INV_LN2 + HALF)
    r = fma32(-k, LN2_LO, fma32(-k, LN2_HI, y))
    p = fma32(C7, r, C6)
    p = fma32(p, r, C5)
    p = fma32(p, r, C4)
    p = fma32(p, r, C3)
    p = fma32(p, r, C2)
    return _bits_as_float32(np.int32((np.int32(k) + 127) << 23)), fma32(r * r, p, r)


@njit(cache=CACHE, error_model="numpy")
def tanh32(x):
    """``tanh(x)`` for float32 `x` (odd: ``tanh32(-0.0)`` is ``-0.0``; NaN stays NaN)."""
    scale, m = _split(TWO * min(abs(x), TANH_CLAMP))
    e = fma32(scale, m, scale - ONE)  # expm1(2 |x|)
    t = math.copysign(e / (e + TWO), x)
    return x + x if x != x else F(t)  # as `elementary.tanh`: no masked store


@njit(cache=CACHE, error_model="numpy")
def sigmoid32(x):
    """``1 / (1 + exp(-x))`` for float32 `x`, accurate in both tails."""
    scale, m = _split(max(-abs(x), EXP_MIN))
    e = ZERO if -abs(x) < EXP_MIN else scale * (m + ONE)  # exp(-|x|)
    s = ONE / (ONE + e)
    v = s if x >= ZERO else e * s
    return x + x if x != x else v  # as `tanh32`


def tanh_of(x):
    """tanh in `x`'s own precision (`tanh32` for float32, else `elementary.tanh`)."""


def sigmoid_of(x):
    """sigmoid in `x`'s own precision (`sigmoid32` for float32, else `elementary.sigmoid`)."""


@overload(tanh_of)
def _tanh_of(x):
    if x == types.float32:
        return lambda x: tanh32(x)
    return lambda x: el.tanh(x)


@overload(sigmoid_of)
def _sigmoid_of(x):
    if x == types.float32:
        return lambda x: sigmoid32(x)
    return lambda x: el.sigmoid(x)
