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

# Fewer rows take the separate passes (gate log-probabilities, expert
# log-densities, posterior; the gate's loss in its own pass).  The fused
# kernel costs ~1.6-1.9 s of first compile (the separate ones ~0.5 s), more
# than it saves on a small fit: the demo's first fit in a fresh install stays
# within issue 16's 4 s.  The two paths give the same fits to rounding.
FUSED_MIN_ROWS = 4096


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
    None (no fused pass for these components, or fewer than
    ``FUSED_MIN_ROWS`` rows), or a tuple ``(resp, log_norm, gate_eval, mass)``
        ``resp`` (n_samples, K) and ``log_norm`` (n_samples,) as
        :func:`~skmoe._threading.blockwise_posterior` gives them;
        ``gate_eval = (W, b, shift, loss, grad_W, grad_b)``, the gate's
        summed loss and gradient at logits ``(x - shift) W + b`` with
        targets ``resp`` and weights ``sw`` (for the gate's M-step);
        ``mass`` (K,), ``sum_i sw_i resp_ik``.
    """
    logits = getattr(gate, "_linear_logits", None)
    gaussian = getattr(experts, "_linear_gaussian", None)
    if logits is None or gaussian is None or gx.shape[0] < FUSED_MIN_ROWS:
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
    expert_params = (coef, intercept, var, shift_e)
    loss, gW, gb, mass = _fused_pass(
        gx, ex, y, sw, (W, b, shift_g), expert_params, resp, log_norm, False
    )
    return resp, log_norm, (W, b, shift_g, float(loss), gW, gb), mass


def can_look_ahead(gate, experts, gx, resp):
    """Whether a gate M-step on targets ``resp`` can evaluate its last trial as the
    next fused E-step (:class:`Lookahead`): the fused pass applies to these
    components and rows, and ``resp`` is what the kernel reads (float64, C order).

    For a start's first M-step, whose targets are an initialisation's, not a
    fused E-step's (later M-steps know it from the E-step that ran).
    """
    if gx.shape[0] < FUSED_MIN_ROWS or gate._log_marginal(gx) is not None:
        return False
    logits = getattr(gate, "_linear_logits", None)
    gaussian = getattr(experts, "_linear_gaussian", None)
    if logits is None or gaussian is None or logits() is None:
        return False
    return (
        isinstance(resp, np.ndarray)
        and resp.dtype == np.float64
        and resp.flags.c_contiguous
        and resp.ndim == 2
        and resp.shape[0] == gx.shape[0]
    )


class Lookahead:
    """The next E-step, run by the gate M-step's trial evaluations in its last iteration.

    The gate's M-step (a warm-started L-BFGS of ``max_iter`` iterations)
    evaluates its loss at a trial point in its last iteration; when the step
    is accepted -- almost always -- that point is the gate of the next
    E-step, and the experts' M-step has already run.  This object lets the
    solver evaluate that trial as the next E-step's fused pass
    (:func:`~skmoe._kernels._fused._softmax_gaussian_estep_into` with
    ``ahead=True``): the pass returns the loss and gradient with the old
    targets that the solver asked for, and writes the new responsibilities
    into a second ``(n, K)`` array.  When the gate ends at exactly the
    evaluated coefficients (compared bit for bit), :meth:`next_e_step` hands
    the EM loop that E-step; otherwise it is recomputed as usual.

    The old targets are never overwritten: a refused trial costs only its
    own pass, and the line search's next trial is a look-ahead too (the
    step it accepts ends the solve as well).  An earlier version wrote the
    new responsibilities over the old ones and, on a refusal, recomputed the
    targets in a pass of their own, then evaluated the next trial in a plain
    pass and the E-step in a third one (issue 16).

    Parameters
    ----------
    gx, ex, y, sw : ndarray
        The rows, as for :func:`fused_e_step`.
    resp : ndarray of shape (n_samples, K)
        The responsibilities of the fused E-step at the current gate and
        experts (not modified since: no re-seed), the gate's targets.
    gate, experts : components
        The experts' parameters are read, after their M-step, by
        :meth:`evaluate`.
    out : ndarray of shape (n_samples, K) or None, default=None
        An array to write the next E-step into, which nothing else reads
        (the EM run passes the previous M-step's targets); None: a new one.
    """

    def __init__(self, gx, ex, y, sw, resp, gate, experts, out=None):
        self.gx, self.ex, self.y, self.sw, self.resp = gx, ex, y, sw, resp
        self.experts = experts
        self.key = None
        self.result = None
        # (The EM run's spares are arrays of its own E-steps: float64, C.)
        usable = out is not None and out.shape == resp.shape
        self._out = out if usable and not np.may_share_memory(out, resp) else None

    def evaluate(self, W, b, shift):
        """The old targets' ``(loss, grad_W, grad_b)`` at logits ``(x - shift) W + b``.

        Runs the next E-step at this gate, into an array of its own (the
        same one for every trial of the M-step: only the last is kept).
        """
        if self._out is None:
            self._out = np.empty_like(self.resp)
        self.result = None
        log_norm = np.empty(self.gx.shape[0])
        sums = _fused_pass(
            self.gx,
            self.ex,
            self.y,
            self.sw,
            (W, b, shift),
            _expert_params(self.experts),
            self._out,
            log_norm,
            True,
            targets=self.resp,
        )
        loss, gW, gb, mass, old_loss, old_gW, old_gb = sums
        self.key = (W.copy(), b.copy(), shift.copy())
        self.result = (
            self._out,
            log_norm,
            (self.key[0], self.key[1], self.key[2], loss, gW, gb),
            mass,
        )
        return old_loss, old_gW, old_gb

    def next_e_step(self, gate):
        """``fused_e_step``'s result at the gate's coefficients now, when this is it."""
        if self.result is None:
            return None
        now = gate._linear_logits()
        if now is None or not all(np.array_equal(a, k) for a, k in zip(now, self.key, strict=True)):
            return None
        return self.result


def _fused_pass(gx, ex, y, sw, gate_params, expert_params, resp, log_norm, ahead, targets=None):
    """The fused kernel on the engine's fixed row blocks, the blocks' sums added in
    block order, as ThreadRows.sum (skmoe._rows.ordered_sum) adds the gate's
    per-block evaluations: the same sums whatever the number of threads.
    ``targets``: the gate's targets of an ``ahead`` pass (None: ``resp``)."""
    targets = resp if targets is None else targets
    W, b, shift_g = gate_params
    coef, intercept, var, shift_e = expert_params

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
            ahead,
            targets[a:z],
        )

    return _add_in_order(map_blocks(block, block_bounds(gx.shape[0], THREAD_BLOCK_ROWS)))


def _expert_params(experts):
    coef, intercept, var, shift_e = experts._linear_gaussian()
    if shift_e is None:
        shift_e = np.zeros(coef.shape[0])
    return coef, intercept, var, shift_e


def _add_in_order(parts):
    """Add the blocks' sums in block order (as ``skmoe._rows.ordered_sum``)."""
    total = list(parts[0])
    for part in parts[1:]:
        for i, value in enumerate(part):
            total[i] = total[i] + value
    return tuple(total)
