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

import threading

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from . import _cache  # noqa: F401  (before any kernel: keys their cache to the package)
from ._config import JIT_KWARGS

VECTOR_JIT_KWARGS = dict(JIT_KWARGS, error_model="numpy")

# Helpers that only other kernels call (never Python): no CPython or C
# wrapper is generated and optimised for them, which saves part of their
# first compile.
HELPER_JIT_KWARGS = dict(VECTOR_JIT_KWARGS, no_cpython_wrapper=True, no_cfunc_wrapper=True)


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


def _f64(builder, value):
    return ir.Constant(ir.DoubleType(), value)


def _i64(value):
    return ir.Constant(ir.IntType(64), value)


def _emit_exp(builder, x):
    """The instructions of :func:`fast_exp` at the call site (see its docstring)."""
    fcmp, fadd, fsub, fmul = builder.fcmp_ordered, builder.fadd, builder.fsub, builder.fmul
    xc = builder.select(fcmp("<", x, _f64(builder, _EXP_LO)), _f64(builder, _EXP_LO), x)
    xc = builder.select(fcmp(">", xc, _f64(builder, _EXP_HI)), _f64(builder, _EXP_HI), xc)
    t = fadd(fmul(xc, _f64(builder, _LOG2E)), _f64(builder, _SHIFT))
    nf = fsub(t, _f64(builder, _SHIFT))
    r = fsub(xc, fmul(nf, _f64(builder, _LN2_HI)))
    r = fsub(r, fmul(nf, _f64(builder, _LN2_LO)))
    # Taylor series to degree 13: |r| <= ln(2)/2, so the first omitted term
    # is below 4e-18 (relative), under half an ulp.  Horner's steps are fused
    # multiply-adds (llvm.fma: one rounding per step, correctly rounded on
    # every machine, a single instruction where the CPU has FMA): a third
    # less time per exp than separate multiplies and adds, still within
    # 1 ulp of the C library's exp.
    p = _f64(builder, _EXP_TAYLOR[0])
    for c in _EXP_TAYLOR[1:]:
        p = builder.fma(p, r, _f64(builder, c))
    # 2^n in two factors, each a normal number, so that results near the
    # overflow threshold and in the subnormal range come out right.
    n = builder.sub(builder.bitcast(t, ir.IntType(64)), _i64(_SHIFT_BITS))
    n1 = builder.ashr(n, _i64(1))
    two1 = builder.bitcast(builder.shl(builder.add(n1, _i64(1023)), _i64(52)), ir.DoubleType())
    n2 = builder.add(builder.sub(n, n1), _i64(1023))
    two2 = builder.bitcast(builder.shl(n2, _i64(52)), ir.DoubleType())
    e = fmul(fmul(p, two1), two2)
    e = builder.select(fcmp("<", x, _f64(builder, _EXP_LO)), _f64(builder, 0.0), e)
    return builder.select(fcmp(">", x, _f64(builder, _EXP_HI)), _f64(builder, float("inf")), e)


# 1/13!, 1/12!, ..., 1/2!, 1, 1: Horner's coefficients of the Taylor series.
_EXP_TAYLOR = (
    1.0 / 6227020800.0,
    1.0 / 479001600.0,
    1.0 / 39916800.0,
    1.0 / 3628800.0,
    1.0 / 362880.0,
    1.0 / 40320.0,
    1.0 / 5040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    0.5,
    1.0,
    1.0,
)


def _float_intrinsic(emit):
    """A Numba intrinsic ``float64 -> float64`` whose body ``emit`` writes at the call site.

    Emitting the LLVM instructions directly (rather than a Numba function
    inlined with ``inline="always"``) gives the very same IEEE operations in
    the same order, but costs nothing to type and lower: Numba's IR inlining
    re-ran type inference on the inlined body at every call site, a large
    part of the first (uncached) compile of every kernel that used it.
    """

    def typer(typingctx, x):
        if not isinstance(x, (types.Float, types.Integer)):
            return None

        def codegen(context, builder, signature, args):
            value = context.cast(builder, args[0], signature.args[0], types.float64)
            return emit(builder, value)

        return types.float64(x), codegen

    typer.__name__ = emit.__name__.replace("_emit_", "")
    return intrinsic(typer)


exp_inline = _float_intrinsic(_emit_exp)


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


def _emit_log(builder, x):
    """The instructions of :func:`fast_log` at the call site (see its docstring)."""
    fadd, fsub, fmul = builder.fadd, builder.fsub, builder.fmul
    bits = builder.bitcast(x, ir.IntType(64))
    # The biased exponent turned into a double without an int -> float
    # conversion (which AVX2 lacks for 64-bit integers).
    kb = builder.or_(_i64(_TWO52_BITS), builder.ashr(bits, _i64(52)))
    k = fsub(builder.bitcast(kb, ir.DoubleType()), _f64(builder, _TWO52_PLUS_BIAS))
    mb = builder.or_(builder.and_(bits, _i64(_MANTISSA)), _i64(_ONE_BITS))
    m = builder.bitcast(mb, ir.DoubleType())
    big = builder.fcmp_ordered(">", m, _f64(builder, _SQRT2))
    m = builder.select(big, fmul(_f64(builder, 0.5), m), m)
    k = builder.select(big, fadd(k, _f64(builder, 1.0)), k)
    f = fsub(m, _f64(builder, 1.0))
    hfsq = fmul(fmul(_f64(builder, 0.5), f), f)
    s = builder.fdiv(f, fadd(_f64(builder, 2.0), f))
    z = fmul(s, s)
    w = fmul(z, z)
    t1 = fmul(
        w,
        fadd(_f64(builder, _LG2), fmul(w, fadd(_f64(builder, _LG4), fmul(w, _f64(builder, _LG6))))),
    )
    t2 = fmul(
        z,
        fadd(
            _f64(builder, _LG1),
            fmul(
                w,
                fadd(
                    _f64(builder, _LG3),
                    fmul(w, fadd(_f64(builder, _LG5), fmul(w, _f64(builder, _LG7)))),
                ),
            ),
        ),
    )
    R = fadd(t2, t1)
    inner = fsub(hfsq, fadd(fmul(s, fadd(hfsq, R)), fmul(k, _f64(builder, _LN2_LO))))
    return fsub(fmul(k, _f64(builder, _LN2_HI)), fsub(inner, f))


log_inline = _float_intrinsic(_emit_log)


@njit(**VECTOR_JIT_KWARGS)
def fast_exp(x):
    """``exp(x)`` to within 1 ulp (see the module notes).

    The kernels call the intrinsic behind it, inlined as LLVM instructions
    at the call site; this function exposes it to Python (and to the tests).
    """
    return exp_inline(x)


@njit(**VECTOR_JIT_KWARGS)
def fast_log(x):
    """``log(x)`` to within 1 ulp for positive normal ``x`` (see the module notes).

    The kernels call the intrinsic behind it (see :func:`fast_exp`).
    """
    return log_inline(x)


# The reductions below: the one place where floating-point reassociation is
# allowed (see ``_tile_dot``).  Compiled without wrappers: only kernels call
# them; :func:`tile_dot` and :func:`tile_sum` expose them to Python.
_REDUCE_JIT_KWARGS = dict(
    cache=True,
    nogil=True,
    error_model="numpy",
    fastmath={"reassoc"},
    no_cpython_wrapper=True,
    no_cfunc_wrapper=True,
)


@njit(**_REDUCE_JIT_KWARGS)
def _tile_dot(a, b, n):
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


@njit(**_REDUCE_JIT_KWARGS)
def _tile_sum(a, n):
    """``sum_j a[j]`` over the first ``n`` entries, vectorised (see :func:`_tile_dot`)."""
    s = 0.0
    for j in range(n):
        s += a[j]
    return s


# Reassociation to vectorise the loop over rows, contraction for fused
# multiply-adds (one instruction, one rounding, per term).
_GRAM_JIT_KWARGS = dict(_REDUCE_JIT_KWARGS, fastmath={"reassoc", "contract"})


@njit(**_GRAM_JIT_KWARGS)
def _gram_block(a0, a1, a2, a3, b0, b1, b2, b3, n, G, k, r, c):
    """``G[k, r + i, c + q] += sum_j a_i[j] b_q[j]`` over the first ``n`` rows (``i, q < 4``).

    Sixteen running sums in one loop over the rows, so that each load of a
    column feeds four multiply-adds (the linear experts' Gram matrices, the
    gate's gradient: :func:`_tile_cross`).  Reassociation (as in
    :func:`~skmoe._kernels._vector.tile_dot`) lets LLVM vectorise the loop over
    rows; the order is fixed by the compiled code and the tile, never by
    the number of threads.
    """
    s00 = s01 = s02 = s03 = 0.0
    s10 = s11 = s12 = s13 = 0.0
    s20 = s21 = s22 = s23 = 0.0
    s30 = s31 = s32 = s33 = 0.0
    for j in range(n):
        x0 = a0[j]
        x1 = a1[j]
        x2 = a2[j]
        x3 = a3[j]
        y0 = b0[j]
        y1 = b1[j]
        y2 = b2[j]
        y3 = b3[j]
        s00 += x0 * y0
        s01 += x0 * y1
        s02 += x0 * y2
        s03 += x0 * y3
        s10 += x1 * y0
        s11 += x1 * y1
        s12 += x1 * y2
        s13 += x1 * y3
        s20 += x2 * y0
        s21 += x2 * y1
        s22 += x2 * y2
        s23 += x2 * y3
        s30 += x3 * y0
        s31 += x3 * y1
        s32 += x3 * y2
        s33 += x3 * y3
    G[k, r, c] += s00
    G[k, r, c + 1] += s01
    G[k, r, c + 2] += s02
    G[k, r, c + 3] += s03
    G[k, r + 1, c] += s10
    G[k, r + 1, c + 1] += s11
    G[k, r + 1, c + 2] += s12
    G[k, r + 1, c + 3] += s13
    G[k, r + 2, c] += s20
    G[k, r + 2, c + 1] += s21
    G[k, r + 2, c + 2] += s22
    G[k, r + 2, c + 3] += s23
    G[k, r + 3, c] += s30
    G[k, r + 3, c + 1] += s31
    G[k, r + 3, c + 2] += s32
    G[k, r + 3, c + 3] += s33


@njit(**HELPER_JIT_KWARGS)
def _tile_dots(A, B, na, nq, n, G):
    """``G[t, q] += sum_j A[t, j] B[q, j]``, one :func:`_tile_dot` per entry (see :func:`_tile_cross`)."""
    for q in range(nq):
        for t in range(na):
            G[t, q] += _tile_dot(A[t], B[q], n)


@njit(**HELPER_JIT_KWARGS)
def _tile_cross(A, B, na, nq, n, G):
    """``G[t, q] += sum_j A[t, j] B[q, j]`` over the first ``n`` rows, ``t < na``, ``q < nq``.

    The ``na x nq`` dot products of two tiles (a gradient ``X^T G``, tile by
    tile), four by four in :func:`_gram_block` where each loaded column
    feeds four multiply-adds (one dot product per entry is bound by its two
    loads per term: 2.5-3x slower at 20 features and 8 classes), the edges
    by :func:`_tile_dots`.  Each entry is one sum whose order is fixed by
    the compiled code and ``n``: the loss kernel and the fused E-step call
    one variant or the other by the same rule
    (:func:`~skmoe._kernels._estep.use_wide`), so their gradients agree bit
    for bit; small calls take :func:`_tile_dots`, which compiles faster.
    """
    na4 = na - na % 4
    nq4 = nq - nq % 4
    G3 = G.reshape((1, G.shape[0], G.shape[1]))
    for t in range(0, na4, 4):
        for q in range(0, nq4, 4):
            _gram_block(
                A[t], A[t + 1], A[t + 2], A[t + 3], B[q], B[q + 1], B[q + 2], B[q + 3], n, G3, 0, t, q
            )  # fmt: skip
        _tile_dots(A[t : t + 4], B[nq4:], 4, nq - nq4, n, G[t : t + 4, nq4:])
    _tile_dots(A[na4:], B, na - na4, nq, n, G[na4:])


@njit(**VECTOR_JIT_KWARGS)
def tile_dot(a, b, n):
    """``sum_j a[j] * b[j]`` over the first ``n`` entries, vectorised (calls ``_tile_dot``)."""
    return _tile_dot(a, b, n)


@njit(**VECTOR_JIT_KWARGS)
def tile_sum(a, n):
    """``sum_j a[j]`` over the first ``n`` entries, vectorised (calls ``_tile_sum``)."""
    return _tile_sum(a, n)


def array(ndim, layout="C", readonly=False):
    """The Numba type of a float64 array (for :class:`OneCompile`)."""
    return types.Array(types.float64, ndim, layout, readonly=readonly)


class OneCompile:
    """A kernel compiled once, for given argument types, whatever the layout of the arrays.

    Numba compiles a kernel anew for every combination of array layouts
    (C, F, strided) and of writable and read-only arrays it is called with:
    each one is a full compile (a second or so) the first time, e.g. a fit on
    ``X[train]`` (C-contiguous) followed by a prediction on a strided ``X``.
    Declared with layout ``'A'`` (any) and read-only for the inputs, one
    compile takes them all: Numba converts the arguments instead of
    compiling.  The compile happens on the first call (from Numba's cache
    when there), never at import.  Arguments that do not convert (float32
    arrays, unaligned buffers) go to ``fallback``, the plain dispatcher of
    the same function, which compiles for them as usual.
    """

    def __init__(self, fallback, argtypes):
        self._fallback = fallback
        self._argtypes = tuple(argtypes)
        self._one = None
        self._lock = threading.Lock()

    def _compile(self):
        with self._lock:
            if self._one is None:
                one = njit(**VECTOR_JIT_KWARGS)(self._fallback.py_func)
                one.compile(self._argtypes)
                one.disable_compile()
                self._one = one
        return self._one

    def __call__(self, *args):
        one = self._one if self._one is not None else self._compile()
        try:
            return one(*args)
        except TypeError:
            return self._fallback(*args)
