"""Building blocks of the vectorised kernels: ``exp``, ``log`` and a dot product.

The kernels that run on every EM iteration work on tiles of
:data:`~skmoe._kernels._config.ROW_TILE` rows held column by column
(``tile[k, j]`` for row ``j`` of the tile), so that their innermost loops run
over rows, have no branches and no calls, and LLVM vectorises them.  They
are compiled with ``error_model="numpy"`` (:data:`VECTOR_JIT_KWARGS`): with
Python's error model every float division carries a zero check, a branch
that stops vectorisation.

``exp`` and ``log``
-------------------

Why not ``np.exp`` inside the kernels: Numba lowers it to a call of the C
library's scalar ``exp``, which LLVM cannot vectorise (Numba's vector math
needs Intel's SVML, an extra binary dependency).  At small ``n_features`` and
``n_experts`` the E-step and the gate's loss are dominated by these calls
(~6 ns each against ~1 ns for a vectorised polynomial).  Written as plain
arithmetic on doubles -- Cody-Waite range reduction, a polynomial, and the
power of two built directly in the exponent bits -- they inline into the
kernels' loops over rows, which LLVM then vectorises.

Accuracy: within 1 ulp of the correctly rounded result over the tested
ranges (``tests/test_kernels.py`` compares them with NumPy on 10^6 points
and at the special values).

Domain:

* :func:`fast_exp`: all of the real line; 0 below -745.2 (including
  ``-inf``), ``inf`` above 709.79, NaN for NaN.  Subnormal results may be off
  by one unit of the subnormal spacing.
* :func:`fast_log` is for positive, finite, normal ``x`` (the kernels call it
  on sums of exponentials that are at least one); 0 and subnormals are not
  handled.
"""

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ._config import JIT_KWARGS

VECTOR_JIT_KWARGS = dict(JIT_KWARGS, error_model="numpy")


@intrinsic
def _int_as_float(typingctx, x):
    """Reinterpret the bits of an int64 as a float64 (no conversion)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _float_as_int(typingctx, x):
    """Reinterpret the bits of a float64 as an int64 (no conversion)."""

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


_LOG2E = 1.4426950408889634
# ln 2 split so that n * _LN2_HI is exact for |n| < 2^11 (fdlibm's split).
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
# Adding 1.5 * 2^52 rounds to the nearest integer and leaves that integer in
# the low mantissa bits, from which the exponent of 2^n is built.
_SHIFT = 6755399441055744.0
_SHIFT_BITS = 0x4338000000000000
# Outside [_EXP_LO, _EXP_HI] the result is 0 or inf.
_EXP_LO = -745.2
_EXP_HI = 709.79


@njit(inline="always")
def fast_exp(x):
    """``exp(x)`` to within 1 ulp (see the module notes)."""
    xc = _EXP_LO if x < _EXP_LO else x
    xc = _EXP_HI if xc > _EXP_HI else xc
    t = xc * _LOG2E + _SHIFT
    nf = t - _SHIFT
    r = xc - nf * _LN2_HI
    r = r - nf * _LN2_LO
    # Taylor series to degree 13: |r| <= ln(2)/2, so the first omitted term
    # is below 4e-18 (relative), under half an ulp.
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    # 2^n in two factors, each a normal number, so that results near the
    # overflow threshold and in the subnormal range come out right.
    n = _float_as_int(t) - _SHIFT_BITS
    n1 = n >> 1
    e = p * _int_as_float((n1 + 1023) << 52) * _int_as_float((n - n1 + 1023) << 52)
    e = 0.0 if x < _EXP_LO else e
    return float("inf") if x > _EXP_HI else e


# fdlibm's e_log.c: minimax coefficients of (log(1+f) - f + f^2/2) in s^2,
# s = f / (2 + f), error below 2^-58.
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_SQRT2 = 1.4142135623730951
_MANTISSA = 0x000FFFFFFFFFFFFF
_ONE_BITS = 0x3FF0000000000000
# 2^52 as a double, with a biased exponent e in its low bits: 2^52 + e.
_TWO52_BITS = 0x4330000000000000
_TWO52_PLUS_BIAS = 4503599627370496.0 + 1023.0


@njit(inline="always")
def fast_log(x):
    """``log(x)`` to within 1 ulp for positive normal ``x`` (see the module notes)."""
    bits = _float_as_int(x)
    # The biased exponent turned into a double without an int -> float
    # conversion (which AVX2 lacks for 64-bit integers).
    k = _int_as_float(_TWO52_BITS | (bits >> 52)) - _TWO52_PLUS_BIAS
    m = _int_as_float((bits & _MANTISSA) | _ONE_BITS)
    big = m > _SQRT2
    m = 0.5 * m if big else m
    k = k + 1.0 if big else k
    f = m - 1.0
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    R = t2 + t1
    return k * _LN2_HI - ((hfsq - (s * (hfsq + R) + k * _LN2_LO)) - f)


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def tile_dot(a, b, n):
    """``sum_j a[j] * b[j]`` over the first ``n`` entries, vectorised.

    The one place where floating-point reassociation is allowed: LLVM only
    vectorises a reduction if it may reorder the additions.  The order is
    still fixed by the compiled code and the tile (a function of
    ``n_samples``), so a result never depends on the number of threads.  A
    separate function (not inlined by Numba) so that the flag cannot reach
    the range reductions of :func:`fast_exp` and :func:`fast_log`, which
    depend on the exact order of their operations.
    """
    s = 0.0
    for j in range(n):
        s += a[j] * b[j]
    return s


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def tile_sum(a, n):
    """``sum_j a[j]`` over the first ``n`` entries, vectorised (see :func:`tile_dot`)."""
    s = 0.0
    for j in range(n):
        s += a[j]
    return s
