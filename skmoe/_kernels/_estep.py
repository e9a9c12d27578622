"""E-step kernels: combine gate and expert log-likelihoods in log space.

All three work on tiles of :data:`~skmoe._kernels._config.ROW_TILE` rows held
column by column, with the vectorisable :func:`~skmoe._kernels._vector.fast_exp`
and :func:`~skmoe._kernels._vector.fast_log` (see ``_vector.py``).  Every row
is computed independently of the others, so the results do not depend on
how the rows are split into blocks or threads.
"""

import types

import numpy as np
from numba import njit

from . import _cache  # noqa: F401  (before any kernel: keys their cache to the package)
from ._config import ROW_TILE
from ._vector import HELPER_JIT_KWARGS, VECTOR_JIT_KWARGS, OneCompile, array
from ._vector import exp_inline as fast_exp
from ._vector import log_inline as fast_log

# The smallest normal double; responsibilities below it are set to zero.
_TINY = float(np.finfo(np.float64).tiny)


@njit(**HELPER_JIT_KWARGS)
def _tile_logsumexp(v, nb, m, s):
    """Row-wise ``m + log(sum_k exp(v[k] - m))`` of a tile; ``v`` becomes the exponentials.

    ``m`` receives the row maxima, ``s`` the sums of ``exp(v - m)``; returns
    nothing, the caller reads ``m``, ``s`` and the overwritten ``v``.
    """
    K = v.shape[0]
    for j in range(nb):
        m[j] = v[0, j]
    for k in range(1, K):
        for j in range(nb):
            m[j] = v[k, j] if v[k, j] > m[j] else m[j]
    for j in range(nb):
        s[j] = 0.0
    for k in range(K):
        for j in range(nb):
            e = fast_exp(v[k, j] - m[j])
            v[k, j] = e
            s[j] += e


def posterior_from_logs(log_gate, log_lik):
    """Row-normalise ``log_gate + log_lik`` into responsibilities.

    A Python wrapper that allocates the outputs: only :func:`_posterior_into`
    is compiled (one compile, not two, in a fresh install).

    Parameters
    ----------
    log_gate, log_lik : ndarray of shape (n_samples, n_experts)
        Gate log-probabilities and expert log-likelihoods ``log p_k(y_i|x_i)``.

    Returns
    -------
    resp : ndarray of shape (n_samples, n_experts)
        Posterior probabilities ``r_ik`` (rows sum to one).
    log_norm : ndarray of shape (n_samples,)
        ``log sum_k g_k(x_i) p_k(y_i|x_i)``, the per-sample log-likelihood.
    """
    n, K = log_gate.shape
    resp = np.empty((n, K), dtype=np.float64)
    log_norm = np.empty(n, dtype=np.float64)
    _posterior_into(log_gate, log_lik, resp, log_norm)
    return resp, log_norm


def readonly(a):
    """A read-only view of ``a`` (no copy): Numba types it as the E-step kernels'
    declared inputs (:class:`~skmoe._kernels._vector.OneCompile`), so that a kernel
    sharing their helper (``_tile_linear``) compiles it once, not twice."""
    view = a.view()
    view.flags.writeable = False
    return view


def tile_buffers(*rows):
    """Scratch tiles for the compiled kernels: one ``(r, ROW_TILE)`` float64 array per
    ``r`` (a ``(ROW_TILE,)`` vector for ``r=None``).

    Allocated in Python and passed in, so that no kernel allocates: Numba
    then compiles none of its ``np.empty`` implementations (one per call
    signature) in a fresh install, and the kernels' code is smaller.  The
    kernels take the tile's length from these buffers, never from
    ``ROW_TILE`` itself, so a compiled kernel can never step past them.
    """
    return [np.empty(ROW_TILE if r is None else (r, ROW_TILE)) for r in rows]


def _posterior_into(log_gate, log_lik, resp, log_norm):
    """:func:`posterior_from_logs` writing into ``resp`` and ``log_norm`` (e.g. row slices)."""
    _posterior_tiles(
        log_gate, log_lik, resp, log_norm, *tile_buffers(log_gate.shape[1], None, None)
    )


@njit(**VECTOR_JIT_KWARGS)
def _posterior_tiles(log_gate, log_lik, resp, log_norm, v, m, s):
    """:func:`_posterior_into` with its scratch tiles given (the compiled kernel)."""
    n, K = log_gate.shape
    tile = m.shape[0]
    for a in range(0, n, tile):
        nb = min(tile, n - a)
        for j in range(nb):
            for k in range(K):
                v[k, j] = log_gate[a + j, k] + log_lik[a + j, k]
        _tile_logsumexp(v, nb, m, s)
        for j in range(nb):
            log_norm[a + j] = m[j] + fast_log(s[j])
            s[j] = 1.0 / s[j]
        for j in range(nb):
            for k in range(K):
                # A subnormal responsibility (below the smallest normal
                # double) is flushed to zero: it carries no weight, and
                # arithmetic on subnormals is slow (the experts' M-step ran
                # 2.5-3.4x slower with ~1% of them).
                r = v[k, j] * s[j]
                resp[a + j, k] = r if r >= _TINY else 0.0
        for j in range(nb):
            if not m[j] > -np.inf:
                # Every expert gives zero density: share the row equally
                # rather than produce NaN; the callers floor densities, so
                # this is rare.
                log_norm[a + j] = -np.inf
                for k in range(K):
                    resp[a + j, k] = 1.0 / K


@njit(**VECTOR_JIT_KWARGS)
def log_softmax(logits):
    """Row-wise ``logits - logsumexp(logits)``, returned as a new array."""
    n, K = logits.shape
    out = np.empty((n, K), dtype=np.float64)
    z = np.empty((K, ROW_TILE))
    v = np.empty((K, ROW_TILE))
    m = np.empty(ROW_TILE)
    s = np.empty(ROW_TILE)
    for a in range(0, n, ROW_TILE):
        nb = min(ROW_TILE, n - a)
        for j in range(nb):
            for k in range(K):
                z[k, j] = logits[a + j, k]
        # out[a + j, k] = z[k, j] - logsumexp_k z[k, j], written out here
        # rather than called: one compiled function fewer in a fresh install.
        for k in range(K):
            for j in range(nb):
                v[k, j] = z[k, j]
        _tile_logsumexp(v, nb, m, s)
        for j in range(nb):
            s[j] = m[j] + fast_log(s[j])
        for j in range(nb):
            for k in range(K):
                out[a + j, k] = z[k, j] - s[j]
    return out


def as_shift(shift, d):
    """``shift`` as a C-contiguous float64 vector of length ``d``; zeros when it is None.

    Done in Python, before the kernels are called, so that each kernel is
    compiled for one type of ``shift`` (an array), never for ``None`` too.
    """
    if shift is None:
        return np.zeros(d)
    return np.ascontiguousarray(np.asarray(shift, dtype=np.float64)[:d])


def as_f64(a):
    """A small parameter array (coefficients, variances) as C-contiguous float64.

    Converting in Python keeps one compiled specialisation per kernel: the
    values are the same (float32 to float64 is exact), so are the results.
    """
    return np.ascontiguousarray(a, dtype=np.float64)


@njit(**HELPER_JIT_KWARGS)
def _tile_linear(X, a, nb, W, b, xt, z, shift):
    """Logits of one tile: ``z[k, j] = b[k] + (X[a + j] - shift) . W[:, k]``.

    ``xt`` receives the tile of X transposed and shifted (``xt[t, j] =
    X[a + j, t] - shift[t]``), so that the products run over contiguous
    rows; callers reuse it.  The shift (a column centre) is what keeps the
    logits exact for features far from zero: ``x . w + b`` with the centre
    folded into ``b`` cancels catastrophically at a 1e9 offset.
    """
    d = X.shape[1]
    # Columns outer, rows inner: the copy vectorises (the same entries).
    for t in range(d):
        st = shift[t]
        for j in range(nb):
            xt[t, j] = X[a + j, t] - st
    _tile_affine(xt, nb, W, b, z)


@njit(inline="always", **HELPER_JIT_KWARGS)
def _tile_affine(xt, nb, W, b, z):
    """``z[k, j] = b[k] + sum_t xt[t, j] W[t, k]``: the products of :func:`_tile_linear`
    from a tile already copied (inlined where it is called: no compile of its own)."""
    d = W.shape[0]
    K = W.shape[1]
    for k in range(K):
        bk = b[k]
        for j in range(nb):
            z[k, j] = bk
    for t in range(d):
        for k in range(K):
            w = W[t, k]
            for j in range(nb):
                z[k, j] += xt[t, j] * w


@njit(**HELPER_JIT_KWARGS)
def _tile_affine_wide(xt, nb, W, b, z):
    """:func:`_tile_affine` four classes by four features at a time, the same bits.

    Each loaded entry of the tile feeds four products, where one class at a
    time reads and writes ``z[k]`` once per feature (bound by those loads
    and stores: ~1.3x slower at 20 features, 8 classes).  Every ``z[k, j]``
    still adds its terms one by one in feature order, as the plain loop
    does.  The kernels' wide variants use it (:func:`use_wide`): ~0.5 s of
    first compile, which a small fit does not pay.
    """
    d = W.shape[0]
    K = W.shape[1]
    K4 = K - K % 4
    d4 = d - d % 4
    # The classes past the last block of four (and their intercepts) as the
    # plain loop does them; then the blocks.
    _tile_affine(xt, nb, W[:, K4:], b[K4:], z[K4:])
    for k in range(K4):
        bk = b[k]
        for j in range(nb):
            z[k, j] = bk
    for k in range(0, K4, 4):
        for t in range(0, d4, 4):
            w00, w01, w02, w03 = W[t, k], W[t, k + 1], W[t, k + 2], W[t, k + 3]
            w10, w11, w12, w13 = W[t + 1, k], W[t + 1, k + 1], W[t + 1, k + 2], W[t + 1, k + 3]
            w20, w21, w22, w23 = W[t + 2, k], W[t + 2, k + 1], W[t + 2, k + 2], W[t + 2, k + 3]
            w30, w31, w32, w33 = W[t + 3, k], W[t + 3, k + 1], W[t + 3, k + 2], W[t + 3, k + 3]
            for j in range(nb):
                x0, x1, x2, x3 = xt[t, j], xt[t + 1, j], xt[t + 2, j], xt[t + 3, j]
                z[k, j] = (((z[k, j] + x0 * w00) + x1 * w10) + x2 * w20) + x3 * w30
                z[k + 1, j] = (((z[k + 1, j] + x0 * w01) + x1 * w11) + x2 * w21) + x3 * w31
                z[k + 2, j] = (((z[k + 2, j] + x0 * w02) + x1 * w12) + x2 * w22) + x3 * w32
                z[k + 3, j] = (((z[k + 3, j] + x0 * w03) + x1 * w13) + x2 * w23) + x3 * w33
        for t in range(d4, d):
            for q in range(k, k + 4):
                w = W[t, q]
                for j in range(nb):
                    z[q, j] += xt[t, j] * w


@njit(**HELPER_JIT_KWARGS)
def _tile_linear_wide(X, a, nb, W, b, xt, z, shift):
    """:func:`_tile_linear` with the products of :func:`_tile_affine_wide` (the same bits)."""
    # The copy of the tile (no classes), then the products.
    _tile_linear(X, a, nb, W[:, :0], b[:0], xt, z[:0], shift)
    _tile_affine_wide(xt, nb, W, b, z)


# Calls of at least this many rows, features and classes take the kernels'
# wide variants (four by four blocks): they pay their extra compile only in
# fits large enough to gain from them.
WIDE_MIN_ROWS = 4096
WIDE_MIN_WIDTH = 4


def use_wide(n, d, K):
    """Whether a call on ``n`` rows, ``d`` features and ``K`` classes takes the wide kernels."""
    return n >= WIDE_MIN_ROWS and d >= WIDE_MIN_WIDTH and K >= WIDE_MIN_WIDTH


def variant(func, name, **helpers):
    """A copy of the kernel ``func`` (a dispatcher) whose calls of ``helpers`` go elsewhere.

    The copy has its own name, so Numba caches it apart (the cache files are
    named after the qualified name): one source for a kernel and its wide
    variant, each compiled only when called.
    """
    py = func.py_func
    copy = types.FunctionType(py.__code__, dict(py.__globals__, **helpers), name, py.__defaults__)
    copy.__qualname__ = name
    copy.__module__ = py.__module__
    copy.__doc__ = py.__doc__
    return copy


def wide_of(one, name, **helpers):
    """The wide variant of the :class:`OneCompile` kernel ``one``: the same source with
    ``_tile_linear`` and ``_tile_affine`` four by four (and the ``helpers`` given), the
    same argument types; compiled on its first call."""
    helpers = dict(_tile_linear=_tile_linear_wide, _tile_affine=_tile_affine_wide, **helpers)
    kernel = njit(**VECTOR_JIT_KWARGS)(variant(one._fallback, name, **helpers))
    return OneCompile(kernel, one._argtypes)


def linear_log_softmax(X, W, b, shift=None):
    """``log_softmax((X - shift) @ W + b)`` in one pass, without forming the logits.

    A Python wrapper of the compiled :func:`_linear_log_softmax_into`.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    W : ndarray of shape (n_features, n_classes)
    b : ndarray of shape (n_classes,)
    shift : ndarray of shape (n_features,) or None
        Column centres subtracted from X (None: zero).

    Returns
    -------
    out : ndarray of shape (n_samples, n_classes)
    """
    out = np.empty((X.shape[0], W.shape[1]), dtype=np.float64)
    _linear_log_softmax_into(X, as_f64(W), as_f64(b), out, as_shift(shift, X.shape[1]))
    return out


def _linear_log_softmax_into(X, W, b, out, shift):
    """:func:`linear_log_softmax` writing into ``out`` (e.g. a row slice)."""
    d, K = X.shape[1], W.shape[1]
    W, b, shift = as_f64(W), as_f64(b), as_f64(shift)
    kernel = _linear_log_softmax_wide if use_wide(X.shape[0], d, K) else _linear_log_softmax_one
    kernel(X, W, b, out, shift, *tile_buffers(d, K, K, None, None))


@njit(**VECTOR_JIT_KWARGS)
def _linear_log_softmax_tiles(X, W, b, out, shift, xt, z, v, m, s):
    """:func:`_linear_log_softmax_into` with its scratch tiles given (the compiled kernel)."""
    n = X.shape[0]
    K = W.shape[1]
    tile = m.shape[0]
    for a in range(0, n, tile):
        nb = min(tile, n - a)
        _tile_linear(X, a, nb, W, b, xt, z, shift)
        # out[a + j, k] = z[k, j] - logsumexp_k z[k, j], written out here
        # rather than called: one compiled function fewer in a fresh install.
        for k in range(K):
            for j in range(nb):
                v[k, j] = z[k, j]
        _tile_logsumexp(v, nb, m, s)
        for j in range(nb):
            s[j] = m[j] + fast_log(s[j])
        for j in range(nb):
            for k in range(K):
                out[a + j, k] = z[k, j] - s[j]


# One compile for any layout of X and out (a fit on X[train], a prediction on
# a strided X): inputs read-only 'A', out 'A', the scratch tiles C.
_linear_log_softmax_one = OneCompile(
    _linear_log_softmax_tiles,
    [array(2, "A", True), array(2, "C", True), array(1, "C", True), array(2, "A")]
    + [array(1, "C", True), array(2), array(2), array(2), array(1), array(1)],
)

# The same kernel with the logits four by four (the same bits): large calls.
_linear_log_softmax_wide = wide_of(_linear_log_softmax_one, "_linear_log_softmax_wide")
