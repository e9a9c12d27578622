"""The fused E-step of the in-memory engine (issue 16): one pass over the rows.

A gate whose log-probabilities are a log-softmax of linear logits offers them
through ``_linear_logits()`` (``(W, b, shift)``: logits ``(x - shift) W + b``),
an expert set of linear-Gaussian experts its parameters through
``_linear_gaussian()`` (``(coef, intercept, variance, shift)``).  When both do,
:func:`fused_e_step` runs the kernel :func:`~skmoe._kernels.softmax_gaussian_estep`
on the engine's fixed row blocks instead of the three E-step passes (gate
log-probabilities, expert log-densities, posterior): the same responsibilities
and log-likelihoods, bit for bit, plus the gate's loss and gradient at its
current coefficients with the new responsibilities as targets -- the first
evaluation of the gate's M-step, which then reads no rows for it -- and the
experts' responsibility masses (the re-seed check).

The blocks are those of :class:`~skmoe._rows.ThreadRows` and the block results
are added in block order, as ``ThreadRows.sum`` adds them, so the gate's
evaluation is the one its M-step would have computed, whatever the number of
threads.
"""

import numpy as np

from ._kernels import _softmax_gaussian_estep_into
from ._kernels._config import THREAD_BLOCK_ROWS
from ._threading import block_bounds, map_blocks


def fused_e_step(gate, experts, gx, ex, y, sw):
    """The E-step of ``gate`` and ``experts`` in one pass, or None where there is none.

    Parameters
    ----------
    gate, experts : components
        The gate and the expert set of an EM run.
    gx, ex : ndarray
        The gate's and the experts' inputs (the same rows).
    y : ndarray of shape (n_samples,)
    sw : ndarray of shape (n_samples,)

    Returns
    -------
    None, or a tuple ``(resp, log_norm, gate_eval, mass)``
        ``resp`` (n_samples, K) and ``log_norm`` (n_samples,) as
        :func:`~skmoe._threading.blockwise_posterior` gives them;
        ``gate_eval = (W, b, shift, loss, grad_W, grad_b)``, the gate's
        summed loss and gradient at logits ``(x - shift) W + b`` with
        targets ``resp`` and weights ``sw`` (for the gate's M-step);
        ``mass`` (K,), ``sum_i sw_i resp_ik``.
    """
    logits = getattr(gate, "_linear_logits", None)
    gaussian = getattr(experts, "_linear_gaussian", None)
    if logits is None or gaussian is None:
        return None
    gate_params = logits()
    expert_params = gaussian()
    if gate_params is None or expert_params is None:
        return None
    W, b, shift_g = gate_params
    coef, intercept, var, shift_e = expert_params
    n, K = gx.shape[0], W.shape[1]
    if shift_e is None:
        shift_e = np.zeros(ex.shape[1])
    resp = np.empty((n, K))
    log_norm = np.empty(n)
    bounds = block_bounds(n, THREAD_BLOCK_ROWS)

    def block(a, z):
        return _softmax_gaussian_estep_into(
            gx[a:z],
            ex[a:z],
            y[a:z],
            sw[a:z],
            W,
            b,
            shift_g,
            coef,
            intercept,
            var,
            shift_e,
            resp[a:z],
            log_norm[a:z],
        )

    parts = map_blocks(block, bounds)
    # Added in block order, as ThreadRows.sum (skmoe._rows.ordered_sum) adds
    # the gate's per-block evaluations.
    loss, gW, gb, mass = parts[0]
    for part in parts[1:]:
        loss += part[0]
        gW += part[1]
        gb += part[2]
        mass += part[3]
    return resp, log_norm, (W, b, shift_g, float(loss), gW, gb), mass
