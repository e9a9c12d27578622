"""The fused E-step of a softmax gate with linear-Gaussian experts (issue 16).

One pass over a block of rows computes what the EM loop of the default model
(``MixtureOfExpertsRegressor(gate="softmax")`` with the built-in linear
experts) needs from its E-step, and what the gate's M-step evaluates first:

* the responsibilities and the per-row log-likelihood (what
  :func:`~skmoe._kernels._estep._posterior_tiles` gives from the gate's
  log-softmax and the experts' log-densities);
* the gate's soft-target loss and its gradient at the very coefficients the
  E-step used, with the new responsibilities as targets (what
  :func:`~skmoe._kernels._softmax._softmax_regression_loss_grad` gives): the
  gate's probabilities at the current parameters are computed here anyway,
  so the M-step's first evaluation costs no pass of its own;
* the responsibility mass of each expert (the re-seed check).

Every quantity is formed by the same operations, in the same order, as in the
separate kernels, so its value is bit for bit theirs (the tests compare them
with the separate kernels and with NumPy twins): the gate's logits and
log-normaliser by :func:`~skmoe._kernels._estep._tile_linear` and
:func:`~skmoe._kernels._estep._tile_logsumexp`, the experts' log-densities by
the arithmetic of :func:`~skmoe._kernels._gaussian._linear_gaussian_log_density_tiles`,
the tile sums by ``_tile_sum`` / ``_tile_dot``.  What is saved is four passes
over the rows (three E-step passes with two (n, K) intermediates written and
read back, the gate's first loss/gradient pass and the mass pass) and three
computations of the gate's logits and exponentials.
"""

import numpy as np
from numba import njit, types

from . import _cache  # noqa: F401  (before any kernel: keys their cache to the package)
from ._estep import (
    _tile_affine,
    _tile_linear,
    _tile_logsumexp,
    as_f64,
    readonly,
    tile_buffers,
    use_wide,
    wide_of,
)
from ._vector import VECTOR_JIT_KWARGS, OneCompile, _tile_cross, array
from ._vector import _tile_dot as tile_dot
from ._vector import _tile_dots as tile_grad
from ._vector import _tile_sum as tile_sum
from ._vector import log_inline as fast_log

_LOG_2PI = np.log(2.0 * np.pi)
# The smallest normal double; responsibilities below it are set to zero (as in
# skmoe._kernels._estep._posterior_tiles).
_TINY = float(np.finfo(np.float64).tiny)


def softmax_gaussian_estep(Xg, Xe, y, sw, Wg, bg, shift_g, coef, intercept, var, shift_e):
    """The fused E-step of a block of rows (see the module docstring).

    A Python wrapper that allocates the outputs; the engine's blocks call
    :func:`_softmax_gaussian_estep_into`, which writes into row slices.

    Parameters
    ----------
    Xg : ndarray of shape (n_samples, n_gate_features)
        The gate's inputs.
    Xe : ndarray of shape (n_samples, n_expert_features)
        The experts' inputs (may be ``Xg`` itself).
    y : ndarray of shape (n_samples,)
    sw : ndarray of shape (n_samples,)
        Sample weights: the weights of the gate's loss and of the masses.
    Wg, bg, shift_g : ndarrays of shape (n_gate_features, K), (K,), (n_gate_features,)
        The gate's logits are ``(x - shift_g) Wg + bg``.
    coef, intercept, var, shift_e : ndarrays of shape (n_expert_features, K), (K,), (K,),
        (n_expert_features,)
        Expert ``k`` is ``N(y; (x - shift_e) coef[:, k] + intercept[k], var[k])``.

    Returns
    -------
    resp : ndarray of shape (n_samples, K)
        Responsibilities (as :func:`~skmoe._kernels.posterior_from_logs`;
        those below the smallest normal double are 0).
    log_norm : ndarray of shape (n_samples,)
        ``log sum_k g_k(x_i) p_k(y_i | x_i)``.
    loss : float
        The gate's weighted soft-target cross-entropy at ``(Wg, bg)`` with
        targets ``resp`` (as :func:`~skmoe._kernels.softmax_regression_loss_grad`).
    grad_W : ndarray of shape (n_gate_features, K)
    grad_b : ndarray of shape (K,)
        Its gradient.
    mass : ndarray of shape (K,)
        ``sum_i sw_i resp_ik`` (summed tile by tile, in a fixed order).
    """
    n, K = Xg.shape[0], np.shape(Wg)[1]
    resp = np.empty((n, K))
    log_norm = np.empty(n)
    loss, gW, gb, mass = _softmax_gaussian_estep_into(
        Xg, Xe, y, sw, Wg, bg, shift_g, coef, intercept, var, shift_e, resp, log_norm
    )
    return resp, log_norm, loss, gW, gb, mass


def _softmax_gaussian_estep_into(
    Xg,
    Xe,
    y,
    sw,
    Wg,
    bg,
    shift_g,
    coef,
    intercept,
    var,
    shift_e,
    resp,
    log_norm,
    ahead=False,
    targets=None,
):
    """:func:`softmax_gaussian_estep` writing ``resp`` and ``log_norm`` into the given
    arrays (row slices of the engine's); returns ``(loss, grad_W, grad_b, mass)``.

    With ``ahead=True``, ``targets`` (the previous responsibilities; None:
    ``resp`` itself, read tile by tile before the new responsibilities are
    written over them) are the gate's targets, and its loss and gradient at
    ``(Wg, bg)`` with them (as
    :func:`~skmoe._kernels.softmax_regression_loss_grad` gives them) are
    returned too: ``(loss, grad_W, grad_b, mass, old_loss, old_grad_W,
    old_grad_b)``.  (The gate's trial evaluations in the last iteration of
    an M-step, run as the next E-step: ``skmoe._fused.Lookahead``.)
    """
    d, K = Xg.shape[1], np.shape(Wg)[1]
    de = Xe.shape[1]
    gW = np.zeros((d, K))
    gb = np.zeros(K)
    mass = np.zeros(K)
    out = np.zeros(2)
    oW = np.zeros((d, K))
    ob = np.zeros(K)
    buffers = [np.empty(K), np.empty(K), *tile_buffers(d, K, K, de, K, K, K, K, None, None)]
    buffers += tile_buffers(None, None, None, None, None)
    Wg, bg, shift_g = as_f64(Wg), as_f64(bg), as_f64(shift_g)
    coef, intercept, var, shift_e = as_f64(coef), as_f64(intercept), as_f64(var), as_f64(shift_e)
    wide = use_wide(Xg.shape[0], d, K)
    kernel = _softmax_gaussian_estep_wide_one if wide else _softmax_gaussian_estep_one
    # The same rows and centres for the gate and the experts (the default
    # model): one copy of each tile serves both.
    same_x = _same_view(Xg, Xe) and np.array_equal(shift_g, shift_e)
    rows = (Xg, Xg if same_x else Xe, y, sw)
    kernel(
        *map(readonly, (*rows, Wg, bg, shift_g, coef, intercept, var, shift_e)),
        bool(ahead),
        bool(same_x),
        resp,
        resp if targets is None else targets,
        log_norm,
        gW,
        gb,
        mass,
        oW,
        ob,
        out,
        *buffers,
    )
    if ahead:
        return float(out[0]), gW, gb, mass, float(out[1]), oW, ob
    return float(out[0]), gW, gb, mass


def _same_view(A, B):
    """Whether ``A`` and ``B`` are the same view of the same memory."""
    if A is B:
        return True
    # Address, shape, strides and dtype.
    return A.__array_interface__ == B.__array_interface__


@njit(**VECTOR_JIT_KWARGS)
def _softmax_gaussian_estep_tiles(
    Xg,
    Xe,
    y,
    sw,
    Wg,
    bg,
    shg,
    coef,
    intercept,
    var,
    she,
    ahead,
    same_x,
    resp,
    targets,
    log_norm,
    gW,
    gb,
    mass,
    oW,
    ob,
    out,
    const,
    inv_var,
    xg,
    z,
    e,
    xe,
    ze,
    v,
    to,
    go,
    m,
    s,
    wt,
    yt,
    tsum,
    row_loss,
    lse,
):
    """:func:`_softmax_gaussian_estep_into` with its outputs and scratch given (the
    compiled kernel); ``gW``, ``gb``, ``mass``, ``oW``, ``ob`` and ``out`` (the
    losses: new targets, old targets) are zeros to add to."""
    n = Xg.shape[0]
    d = Xg.shape[1]
    K = Wg.shape[1]
    for k in range(K):
        const[k] = -0.5 * (_LOG_2PI + np.log(var[k]))
        inv_var[k] = -0.5 / var[k]
    loss = 0.0
    old_loss = 0.0
    tile = m.shape[0]
    for a in range(0, n, tile):
        nb = min(tile, n - a)
        # The gate: logits z, exponentials e = exp(z - m), lse = m + log(sum e)
        # (as _linear_log_softmax_tiles and _softmax_regression_loss_grad).
        _tile_linear(Xg, a, nb, Wg, bg, xg, z, shg)
        for k in range(K):
            for j in range(nb):
                e[k, j] = z[k, j]
        _tile_logsumexp(e, nb, m, s)
        for j in range(nb):
            lse[j] = m[j] + fast_log(s[j])
            wt[j] = sw[a + j]
        if ahead:
            # The old targets, read before the tile's new responsibilities
            # are written (over them, when targets is resp).
            for k in range(K):
                for j in range(nb):
                    to[k, j] = targets[a + j, k]
        # The experts' log-densities, added to the gate's log-probabilities
        # (as _linear_gaussian_log_density_tiles, then _posterior_tiles).
        if same_x:
            # The experts see the gate's columns about the same centres: their
            # tile is the gate's (not yet masked), copied once.
            _tile_affine(xg, nb, coef, intercept, ze)
        else:
            _tile_linear(Xe, a, nb, coef, intercept, xe, ze, she)
        # (Loops over rows innermost, so that they vectorise; every entry is
        # the same expression as in the separate kernels.)
        for j in range(nb):
            yt[j] = y[a + j]
        for k in range(K):
            ck = const[k]
            ik = inv_var[k]
            for j in range(nb):
                r = yt[j] - ze[k, j]
                v[k, j] = (z[k, j] - lse[j]) + (ck + r * r * ik)
        # The posterior; the gate's sums reuse m (free again) and keep s.
        _tile_logsumexp(v, nb, m, row_loss)
        for j in range(nb):
            log_norm[a + j] = m[j] + fast_log(row_loss[j])
            row_loss[j] = 1.0 / row_loss[j]
        for k in range(K):
            for j in range(nb):
                r = v[k, j] * row_loss[j]
                v[k, j] = r if r >= _TINY else 0.0
        for j in range(nb):
            if not m[j] > -np.inf:
                log_norm[a + j] = -np.inf
                for k in range(K):
                    v[k, j] = 1.0 / K
        for k in range(K):
            for j in range(nb):
                resp[a + j, k] = v[k, j]
        for k in range(K):
            mass[k] += tile_dot(wt, v[k], nb)
        for t_ in range(d):
            for j in range(nb):
                xg[t_, j] = xg[t_, j] if wt[j] != 0.0 else 0.0
        # The gate's loss and gradient (as _softmax_regression_loss_grad) with
        # the new targets v, and first, with ``ahead``, with the old ones:
        # one copy of the code for both (half the kernel's compile time),
        # the same operations as the loss kernel's.
        for which in range(2):
            if which == 0 and not ahead:
                continue
            tt = to if which == 0 else v
            accW = oW if which == 0 else gW
            accb = ob if which == 0 else gb
            for j in range(nb):
                tsum[j] = 0.0
                row_loss[j] = 0.0
            for k in range(K):
                for j in range(nb):
                    tsum[j] += tt[k, j]
                    row_loss[j] -= tt[k, j] * z[k, j]
            for j in range(nb):
                keep = wt[j] != 0.0
                row_loss[j] = wt[j] * (tsum[j] * lse[j] + row_loss[j]) if keep else 0.0
                tsum[j] = wt[j] * tsum[j] / s[j]
            for k in range(K):
                for j in range(nb):
                    g = tsum[j] * e[k, j] - wt[j] * tt[k, j]
                    go[k, j] = g if wt[j] != 0.0 else 0.0
            tile_loss = tile_sum(row_loss, nb)
            if which == 0:
                old_loss += tile_loss
            else:
                loss += tile_loss
            for k in range(K):
                accb[k] += tile_sum(go[k], nb)
            tile_grad(xg, go, d, K, nb, accW)
    out[0] += loss
    out[1] += old_loss


# One compile (see OneCompile) for C-contiguous rows (a row slice of a C array
# is one): unit strides let the loads and stores vectorise (~15% faster than
# any layout at 2 to 5 features).  Rows of another layout (an F-ordered X
# from a DataFrame) go to OneCompile's fallback, the plain dispatcher, which
# compiles once for them: no copy of the rows.  Parameters read-only C;
# outputs, accumulators and scratch C.
_softmax_gaussian_estep_one = OneCompile(
    _softmax_gaussian_estep_tiles,
    [array(2, "C", True), array(2, "C", True), array(1, "C", True), array(1, "C", True)]
    + [array(2, "C", True), array(1, "C", True), array(1, "C", True)]
    + [array(2, "C", True), array(1, "C", True), array(1, "C", True), array(1, "C", True)]
    + [types.boolean, types.boolean]
    + [array(2), array(2), array(1), array(2), array(1), array(1), array(2), array(1), array(1)]
    + [array(1), array(1)]
    + [array(2)] * 8
    + [array(1)] * 7,
)


# The wide variant (the same source; the gate's logits and gradient and the
# experts' predictions four by four), chosen by the loss kernel's rule
# (skmoe._kernels._estep.use_wide), so the two give the same gradient.
_softmax_gaussian_estep_wide_one = wide_of(
    _softmax_gaussian_estep_one, "_softmax_gaussian_estep_wide", tile_grad=_tile_cross
)
