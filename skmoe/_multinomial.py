"""Penalised multinomial logistic regression on soft targets.

Shared by :class:`~skmoe.gating.SoftmaxGate` (targets are responsibilities)
and :class:`~skmoe.experts.LogisticExpert` (targets are one-hot labels).

The model is fitted in standardised coordinates ``z = (x - mean) / scale``
without materialising ``z``: the standardisation is folded into the
coefficients, so no copy of ``X`` is made.  Penalising the standardised
coefficients makes the fit invariant to the units of each feature.

Solver
------
A limited-memory BFGS written for this problem (rather than
``scipy.optimize.minimize``) so that, inside EM, it can be *warm-started
with its curvature memory*:

* The Hessian of the soft-target cross-entropy does not depend on the
  targets (for rows whose targets sum to one), only on the coefficients.
  The curvature pairs ``(s, y)`` collected in one EM M-step therefore stay
  valid in the next, where the responsibilities have changed but the
  coefficients have moved little.  :class:`MultinomialSolverState` carries
  them from one call to the next, so a warm-started M-step usually needs one
  or two quasi-Newton steps instead of a fresh L-BFGS run of ~20 evaluations.
* The initial inverse Hessian is Böhning's bound: ``0.5 * I_K (x) S`` with
  ``S`` the weighted second moment of the standardised inputs (plus the
  penalty) upper-bounds the Hessian, so the very first step (and any step
  taken without curvature pairs) is a majorise-minimise step that provably
  decreases the objective.
* Every step passes an Armijo test on the exact objective, so the objective
  never increases: a partial M-step (``max_iter`` small) is a generalised EM
  step and EM stays monotone.

Loss and gradient come from the fused Numba kernel
:func:`~skmoe._kernels.softmax_regression_loss_grad`, run on fixed blocks of
rows in a thread pool (the kernel releases the GIL).  The blocks depend only
on ``n_samples`` and their results are added in block order, so the result
does not depend on the number of threads.
"""

import math

import numpy as np
from scipy import linalg
from scipy.linalg import lapack

from ._frame import frame_scale
from ._kernels import (
    _linear_log_softmax_into,
    linear_log_softmax,
    linear_sufficient_stats,
    softmax_regression_loss_grad,
)
from ._kernels._config import THREAD_BLOCK_ROWS
from ._threading import blas_single_threaded, block_bounds, map_blocks

# Rows per chunk of the BLAS-based passes over X (moments, Gram matrices).
_CHUNK_ROWS = 16384
_EPS = np.finfo(np.float64).eps

# LAPACK's Cholesky solve, fetched once: what ``scipy.linalg.cho_solve`` calls,
# without its per-call validation (~10 us, more than the solve itself at the
# gate's few coefficients).
_potrs = lapack.get_lapack_funcs(("potrs",), (np.zeros(1),))[0]

# A problem of at most this many ``rows * (features + 1)**2`` multiply-adds per
# Gram pass is solved without limiting BLAS to one thread: none of its BLAS
# calls (small matrix products, dot products of a few coefficients) is large
# enough for OpenBLAS to start threads, and entering threadpoolctl's limit
# costs more than such an M-step.
_SMALL_PROBLEM = 65536


def loss_grad_blocks(X, W, b, targets, weights, shift=None):
    """:func:`softmax_regression_loss_grad` over fixed row blocks, in parallel.

    Same contract as the kernel (``shift``: column centres, the model is
    ``softmax((x - shift) W + b)``).  The row blocks are a function of
    ``n_samples`` alone and the block results are summed in block order, so
    the result is the same whatever the number of threads.
    """
    bounds = block_bounds(X.shape[0], THREAD_BLOCK_ROWS)
    if len(bounds) == 2:
        return softmax_regression_loss_grad(X, W, b, targets, weights, shift)
    results = map_blocks(
        lambda a, z: softmax_regression_loss_grad(X[a:z], W, b, targets[a:z], weights[a:z], shift),
        bounds,
    )
    loss, gW, gb = results[0]
    gW = gW.copy()
    gb = gb.copy()
    for block_loss, block_gW, block_gb in results[1:]:
        loss += block_loss
        gW += block_gW
        gb += block_gb
    return loss, gW, gb


def softmax_log_proba(X, coef, intercept, shift=None):
    """``log_softmax((X - shift) @ coef + intercept)`` over fixed row blocks, in parallel.

    Each block is one call of the fused kernel
    :func:`~skmoe._kernels.linear_log_softmax` (no logits matrix is formed,
    no BLAS call is made: at the gate's few columns a BLAS matmul costs more
    than the whole fused pass).  ``shift`` (column centres, None: zero) keeps
    the logits exact for features far from zero: with the fitted
    standardisation, ``coef = V / scale``, ``intercept = c`` and
    ``shift = mean`` (see :func:`centred_coefficients`).
    """
    n = X.shape[0]
    bounds = block_bounds(n, THREAD_BLOCK_ROWS)
    if len(bounds) == 2:
        return linear_log_softmax(X, coef, intercept, shift)
    out = np.empty((n, coef.shape[1]))
    centre = np.zeros(X.shape[1]) if shift is None else np.asarray(shift, dtype=np.float64)

    def block(a, z):
        _linear_log_softmax_into(X[a:z], coef, intercept, out[a:z], centre)

    map_blocks(block, bounds)
    return out


def feature_moments(X, weights):
    """Weighted mean and scale of each column (scale 1 for constant columns).

    A column is constant when its weighted standard deviation is rounding
    noise of its values (:func:`skmoe._frame.is_constant`, 64 ulps of its
    centre) or zero: a floor relative to the column itself, so a feature in
    units of 1e-15 is still a feature.
    """
    wsum = weights.sum()
    mean = (weights @ X) / wsum
    # Two passes (no cancellation for features far from zero), the second in
    # row chunks so that no temporary of the size of X is made.
    ss = np.zeros(X.shape[1])
    for a in range(0, X.shape[0], _CHUNK_ROWS):
        Xc = X[a : a + _CHUNK_ROWS] - mean
        Xc *= Xc
        ss += weights[a : a + _CHUNK_ROWS] @ Xc
    return mean, frame_scale(mean, np.sqrt(np.maximum(ss / wsum, 0.0)))


def raw_coefficients(V, c, mean, scale):
    """Map standardised ``(V, c)`` to ``(coef, intercept)`` acting on raw X.

    ``X @ coef + intercept`` loses digits when a feature's mean is many
    times its spread (the intercept absorbs ``-mean @ coef``): evaluate
    ``softmax_log_proba(X, *centred_coefficients(V, c, scale), shift=mean)``
    instead where precision matters.
    """
    coef = V / scale[:, None]
    intercept = c - mean @ coef
    return coef, intercept


def centred_coefficients(V, c, scale):
    """``(V / scale, c)``: the coefficients acting on ``X - mean`` (no cancellation)."""
    return V / scale[:, None], np.asarray(c, dtype=np.float64)


def _raw_second_moment(X, w, shift=None):
    """``sum_i w_i x1_i x1_i^T`` with ``x1 = [x - shift, 1]``, in row chunks (no copy of X).

    A sum over rows: blocks of rows (Dask chunks) add up.  ``shift`` (None:
    zero) keeps the sums exact for features far from zero.
    """
    n, d = X.shape
    M = np.zeros((d + 1, d + 1))
    for a in range(0, n, _CHUNK_ROWS):
        z = min(a + _CHUNK_ROWS, n)
        Xc = X[a:z] if shift is None else X[a:z] - shift
        wc = w[a:z]
        Xw = Xc * wc[:, None]
        M[:d, :d] += Xw.T @ Xc
        M[:d, d] += Xw.sum(axis=0)
        M[d, d] += wc.sum()
    M[d, :d] = M[:d, d]
    return M


def _standardized_second_moment(M, mean, scale):
    """Map a raw second moment (:func:`_raw_second_moment`) to standardised coordinates.

    Returns ``sum_i w_i z1_i z1_i^T / sum_i w_i`` with
    ``z1 = [(x - mean) / scale, 1]``, via a (d+1) x (d+1) transform.
    """
    d = M.shape[0] - 1
    A = np.zeros((d + 1, d + 1))
    A[:d, :d] = np.diag(1.0 / scale)
    A[:d, d] = -mean / scale
    A[d, d] = 1.0
    wsum = M[d, d]
    S = A @ M @ A.T / max(wsum, 1e-300)
    return 0.5 * (S + S.T)


def _weighted_second_moment(X, w, mean, scale):
    """``sum_i w_i z1_i z1_i^T / sum_i w_i`` with ``z1 = [(x - mean) / scale, 1]``.

    Formed from raw X in row chunks (no copy of X), then mapped to the
    standardised coordinates with a (d+1) x (d+1) transform.
    """
    return _standardized_second_moment(_raw_second_moment(X, w), mean, scale)


class MultinomialProblem:
    """The data of one :func:`fit_multinomial` problem, seen only through sums over rows.

    The solver needs three things from the data: the total weight, the
    summed loss and gradient at given coefficients, and (once) the raw
    weighted second moment of the inputs for its preconditioner.  All are
    sums over rows, so another implementation of this small protocol (e.g.
    ``skmoe._dask``, which maps them over the blocks of a Dask array and adds
    the block results) runs the very same solver on data held elsewhere.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    targets : ndarray of shape (n_samples, n_classes)
    weights : ndarray of shape (n_samples,)
    """

    def __init__(self, X, targets, weights):
        self.X = X
        self.targets = targets
        self.weights = weights
        self.shape = X.shape
        self.n_features = X.shape[1]
        self.n_classes = targets.shape[1]

    def weight_sum(self):
        """``sum_i weights_i``."""
        return float(self.weights.sum())

    # The solver may pass ``shift=mean`` (column centres) to the two methods
    # below: the sums are then about the centres, exact whatever the
    # features' offsets.  A problem without this attribute is called without.
    supports_shift = True

    def loss_grad(self, W, b, shift=None):
        """Summed loss and gradients of ``softmax((x - shift) W + b)`` (:func:`loss_grad_blocks`)."""
        return loss_grad_blocks(self.X, W, b, self.targets, self.weights, shift)

    def raw_second_moment(self, shift=None):
        """:func:`_raw_second_moment` with weights ``weights_i * sum_k targets_ik``."""
        return _raw_second_moment(self.X, self.weights * self.targets.sum(axis=1), shift)


# --------------------------------------------------------------------------- #
# The same problem on any row engine (skmoe._rows)
# --------------------------------------------------------------------------- #
def select_gate(block):
    """Gate problem of a block: inputs ``gx``, targets ``resp``, weights ``sw``."""
    return block.gx, block.resp, block.sw


def select_labels(block, k, n_classes):
    """Logistic expert ``k`` of a block: inputs ``ex``, one-hot labels, weights ``W[:, k]``."""
    y = block.y
    targets = np.zeros((y.shape[0], n_classes))
    targets[np.arange(y.shape[0]), y] = 1.0
    return block.ex, targets, np.ascontiguousarray(block.W[:, k])


def _rows_weight(block, select, args):
    return np.array([select(block, *args)[2].sum()])


def _rows_loss_grad(block, select, args, W, b, shift):
    X, targets, weights = select(block, *args)
    loss, gW, gb = softmax_regression_loss_grad(X, W, b, targets, weights, shift)
    return np.array([loss]), gW, gb


def _rows_second_moment(block, select, args, shift):
    # The Numba Gram kernel (no BLAS call in a worker thread): [x - shift, 1]
    # weighted by w_i * sum_k t_ik, as _raw_second_moment.
    X, targets, weights = select(block, *args)
    w = np.ascontiguousarray((weights * targets.sum(axis=1))[:, None])
    return linear_sufficient_stats(X, np.zeros(X.shape[0]), w, shift, None, 0.0, 1.0)[0][0]


class RowsMultinomialProblem:
    """A :class:`MultinomialProblem` whose every sum is ``rows.sum(...)`` (any row engine).

    ``select(block, *args)`` gives a block's ``(X, targets, weights)``: the
    gate's responsibilities (:func:`select_gate`), a logistic expert's
    labels (:func:`select_labels`), an HME node's branch masses.  With
    :class:`~skmoe._rows.ThreadRows` the blocks are the thread blocks of
    :func:`loss_grad_blocks`; with Dask rows they are the array's blocks.
    Either way the block results are added in block order.

    Parameters
    ----------
    rows : row engine
        An object with ``sum(func, *shared)`` and ``n`` (number of rows).
    select : callable
        Module-level function (it is shipped to Dask workers).
    args : tuple
        Extra arguments of ``select``.
    n_features, n_classes : int
    """

    supports_shift = True

    def __init__(self, rows, select, args, n_features, n_classes):
        self.rows, self.select, self.args = rows, select, tuple(args)
        self.shape = (rows.n, n_features)
        self.n_features = n_features
        self.n_classes = n_classes
        self._wsum = None
        self._given = None
        self._lookahead = None
        # One in-memory block (small n): select it once, call the kernel
        # directly (the per-evaluation overhead matters at a few ms a fit).
        single = getattr(rows, "single_block", lambda: None)()
        self._arrays = None if single is None else select(single, *self.args)

    def give(self, W, b, shift, loss, grad_W, grad_b):
        """An evaluation already computed on these rows (the fused E-step's).

        :meth:`loss_grad` returns it, once, when called with exactly these
        ``W``, ``b`` and ``shift`` (compared bit for bit), instead of a pass
        over the rows.
        """
        self._given = (W, b, shift, float(loss), grad_W, grad_b)

    def look_ahead(self, lookahead):
        """Evaluate the last iteration's trial point as the next E-step (``skmoe._fused``).

        ``lookahead`` (a :class:`skmoe._fused.Lookahead` on these rows'
        targets) is asked for :meth:`loss_grad_ahead`; the targets stay as
        they are.
        """
        self._lookahead = lookahead

    def loss_grad_ahead(self, W, b, shift=None):
        """:meth:`loss_grad` at a point that may end the solve (the same numbers)."""
        ahead = self._lookahead
        if ahead is not None and shift is not None:
            out = ahead.evaluate(W, b, shift)
            if out is not None:
                return out
        return self.loss_grad(W, b, shift)

    def weight_sum(self):
        """``sum_i weights_i`` (one pass, then kept)."""
        if self._wsum is None:
            if self._arrays is not None:
                self._wsum = float(self._arrays[2].sum())
            else:
                self._wsum = float(self.rows.sum(_rows_weight, self.select, self.args)[0])
        return self._wsum

    def loss_grad(self, W, b, shift=None):
        """Summed loss and gradients of ``softmax((x - shift) W + b)``."""
        given = self._given
        if (
            given is not None
            and shift is not None
            and np.array_equal(W, given[0])
            and np.array_equal(b, given[1])
            and np.array_equal(shift, given[2])
        ):
            self._given = None
            return given[3], given[4], given[5]
        if self._arrays is not None:
            X, targets, weights = self._arrays
            return softmax_regression_loss_grad(X, W, b, targets, weights, shift)
        loss, gW, gb = self.rows.sum(_rows_loss_grad, self.select, self.args, W, b, shift)
        return float(loss[0]), gW, gb

    def raw_second_moment(self, shift=None):
        """:func:`_raw_second_moment` with weights ``weights_i * sum_k targets_ik``."""
        return self.rows.sum(_rows_second_moment, self.select, self.args, shift)


def _rows_expansion(block, select, args, V, c, mean, scale):
    """Second-order expansion of a block's weighted cross-entropy about ``(V, c)``.

    In the standardised coordinates ``theta = [V; c]`` (expert-major,
    ``theta[k * p + j]``): the Hessian ``H`` and ``h = g - H theta``, both
    sums over rows (blocks add up).  Online EM averages them over chunks
    and minimises the average (:func:`solve_multinomial_expansion`).
    """
    X, targets, w = select(block, *args)
    d, K = V.shape
    p = d + 1
    coef, intercept = centred_coefficients(V, c, scale)
    P = np.exp(linear_log_softmax(X, coef, intercept, mean))
    s = targets.sum(axis=1)
    R = w[:, None] * (s[:, None] * P - targets)
    inv = 1.0 / scale
    pairs = [(k, m) for k in range(K) for m in range(k, K)]
    Wp = np.empty((X.shape[0], len(pairs)))
    ws = w * s
    for j, (k, m) in enumerate(pairs):
        Wp[:, j] = ws * P[:, k] * ((1.0 if k == m else 0.0) - P[:, m])
    blocks = linear_sufficient_stats(X, np.zeros(X.shape[0]), Wp, mean, inv, 0.0, 1.0)[0]
    g = np.empty((p, K))
    g[:d] = ((X - mean) * inv).T @ R
    g[d] = R.sum(axis=0)
    H = np.empty((K * p, K * p))
    for j, (k, m) in enumerate(pairs):
        H[k * p : (k + 1) * p, m * p : (m + 1) * p] = blocks[j]
        H[m * p : (m + 1) * p, k * p : (k + 1) * p] = blocks[j].T
    theta = np.vstack([V, c[None, :]]).T.ravel()
    return H, g.T.ravel() - H @ theta


def multinomial_expansion(rows, select, args, V, c, mean, scale):
    """:func:`_rows_expansion` summed over ``rows`` (any row engine)."""
    return rows.sum(_rows_expansion, select, args, V, c, mean, scale)


def _capped(old, new, max_step):
    """``new``, moved back towards ``old`` so no entry changes by more than ``max_step``."""
    step = new - old
    big = float(np.max(np.abs(step))) if step.size else 0.0
    if not np.isfinite(big):
        return old
    if big > max_step:
        step = step * (max_step / big)
    return old + step


# Largest change of a standardised coefficient in one online step: early
# expansions, taken far from the optimum, may be poor.
MAX_ONLINE_STEP = 5.0


def solve_multinomial_expansion(H, h, V, c, alpha):
    """Minimiser of ``theta^T H theta / 2 + h^T theta + alpha/2 ||V||^2`` (online EM's step).

    ``H`` and ``h`` are an average of :func:`_rows_expansion` per unit of
    weight, ``alpha`` the penalty per unit of weight; the step from
    ``(V, c)`` is capped at :data:`MAX_ONLINE_STEP` per coefficient.  The
    fixed point is a stationary point of the expected objective (averaging
    the chunks' own optima instead is biased: on nearly separable chunks
    their coefficients are inflated).
    """
    d, K = V.shape
    p = d + 1
    M = H.copy()
    pen = np.full(p, alpha)
    pen[d] = 0.0
    M[np.diag_indices_from(M)] += np.tile(pen, K)
    # The softmax is invariant to adding one vector to every class's
    # parameters: the quadratic is flat along those directions.  A penalty
    # on the class mean of theta (zero at the solution, which is centred)
    # makes the system well conditioned without changing the probabilities.
    lam = 1.0 + np.trace(M) / M.shape[0]
    M += np.kron(np.full((K, K), lam / K), np.eye(p))
    M[np.diag_indices_from(M)] += 1e-12 * lam
    try:
        theta = linalg.solve(M, -h, assume_a="sym", check_finite=False)
    except (linalg.LinAlgError, ValueError):
        theta = linalg.lstsq(M, -h, check_finite=False)[0]
    new = _capped(np.vstack([V, c[None, :]]), theta.reshape(K, p).T, MAX_ONLINE_STEP)
    return new[:d].copy(), new[d] - new[d].mean()


class MultinomialSolverState:
    """Curvature memory carried between warm-started calls of :func:`fit_multinomial`.

    Holds up to ``memory`` L-BFGS pairs and the Cholesky factor of the
    Böhning preconditioner.  A fresh state (or :meth:`reset`) forgets both.

    Parameters
    ----------
    memory : int, default=10
        Number of curvature pairs kept.
    """

    def __init__(self, memory=10):
        self.memory = memory
        self.n_evals = 0
        self.reset()

    def reset(self):
        self.pairs = []
        self.gamma = 1.0
        self.precond = None
        self.key = None


def _precondition(state, problem, mean, scale, alpha, wsum, centred):
    key = (tuple(problem.shape), float(alpha), float(wsum))
    if state.precond is not None and state.key == key:
        return state.precond
    if centred:
        M = problem.raw_second_moment(shift=mean)
        S = _standardized_second_moment(M, np.zeros_like(mean), scale)
    else:
        S = _standardized_second_moment(problem.raw_second_moment(), mean, scale)
    d = problem.n_features
    P = 0.5 * S
    # Rows whose targets sum to s_i contribute w_i s_i to the curvature; the
    # penalty adds alpha / wsum on the slopes.  A tiny ridge keeps P
    # positive definite for constant or collinear features.
    P[np.arange(d), np.arange(d)] += alpha / wsum
    P[np.diag_indices(d + 1)] += 1e-10 * (1.0 + np.trace(P) / (d + 1))
    try:
        factor = linalg.cho_factor(P, lower=True, check_finite=False)
    except linalg.LinAlgError:
        factor = None
    state.precond = factor
    state.key = key
    return factor


def fit_multinomial(X, targets, weights, *, alpha, mean, scale, V0, c0, max_iter, tol, state=None):
    """Minimise the weighted soft-target cross-entropy plus ``alpha/2 ||V||^2``.

    The objective is divided by ``sum(weights)`` inside the solver so that
    ``tol`` means the same thing for 100 or 10^6 rows; ``alpha`` is on the
    scale of a summed loss, like ``1 / C`` in scikit-learn's
    ``LogisticRegression``.

    The solver stops when the largest absolute gradient entry of the
    per-sample objective is below ``tol``, when an iteration decreases the
    per-sample objective by less than ``1e-3 * tol`` (relative), or after
    ``max_iter`` iterations.  Every accepted step strictly decreases the
    objective, so stopping early (a generalised EM M-step) never makes the
    solution worse than the starting point.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    targets : ndarray of shape (n_samples, n_classes)
    weights : ndarray of shape (n_samples,)
    alpha : float
    mean, scale : ndarray of shape (n_features,)
        Standardisation of the features.
    V0, c0 : ndarrays of shape (n_features, n_classes) and (n_classes,)
        Starting point (standardised coordinates).
    max_iter : int
        Maximum number of quasi-Newton iterations.
    tol : float
        Gradient tolerance of the per-sample objective.
    state : MultinomialSolverState or None
        Curvature memory from a previous call on a similar problem (same
        features, nearby coefficients); updated in place.  ``None`` starts
        from scratch.

    Returns
    -------
    V, c : ndarrays
        Standardised coefficients (n_features, K) and intercepts (K,).
    objective : float
        Summed penalised loss at the solution.
    n_iter : int
        Quasi-Newton iterations used.
    """
    return fit_multinomial_problem(
        MultinomialProblem(X, targets, weights),
        alpha=alpha,
        mean=mean,
        scale=scale,
        V0=V0,
        c0=c0,
        max_iter=max_iter,
        tol=tol,
        state=state,
    )


def fit_multinomial_problem(problem, *, alpha, mean, scale, V0, c0, max_iter, tol, state=None):
    """:func:`fit_multinomial` on a :class:`MultinomialProblem` (or any object of its protocol).

    The same solver, whatever holds the rows: the data are only reached
    through ``problem.weight_sum()``, ``problem.loss_grad(W, b)`` and
    ``problem.raw_second_moment()``.
    """
    n, d = problem.shape
    if n * (d + 1) ** 2 <= _SMALL_PROBLEM:
        return _fit_multinomial(problem, alpha, mean, scale, V0, c0, max_iter, tol, state)
    with blas_single_threaded():
        return _fit_multinomial(problem, alpha, mean, scale, V0, c0, max_iter, tol, state)


def _fit_multinomial(problem, alpha, mean, scale, V0, c0, max_iter, tol, state):
    n_features = problem.n_features
    K = problem.n_classes
    p = n_features + 1
    wsum = problem.weight_sum()
    if state is None:
        state = MultinomialSolverState()
    if not wsum > 0:
        V = np.asarray(V0, dtype=np.float64).copy()
        c = np.asarray(c0, dtype=np.float64).copy()
        return V, c - c.mean(), 0.5 * alpha * float(np.sum(V * V)), 0
    inv_scale = 1.0 / scale
    inv_col = inv_scale[:, None]
    # The slopes on raw X are V / scale, formed exactly as the gate's
    # log-probabilities form them (centred_coefficients): the first
    # evaluation is then at the E-step's own logits, which the fused E-step
    # (skmoe._fused) has already evaluated.
    scale_col = np.asarray(scale, dtype=np.float64)[:, None]
    shift = mean * inv_scale
    # Sums about the column centres when the problem offers them: the logits
    # (x - mean) / scale @ V + c and the gradient are then exact for features
    # far from zero (a raw x @ W + b loses ~log10(|mean| / scale) digits).
    centred = bool(getattr(problem, "supports_shift", False))
    loss_grad = problem.loss_grad
    vdot = np.vdot

    # The solver runs under np.errstate(over="ignore", invalid="ignore") (set
    # once below, not per evaluation): a trial point far out (separable data
    # whose penalty is negligible next to huge sample weights) can overflow;
    # the point is refused (infinite objective), silently, and the line
    # search steps back.
    # A problem that evaluates the last iteration's trials as the next
    # E-step (skmoe._fused.Lookahead).
    looks_ahead = centred and getattr(problem, "_lookahead", None) is not None

    def fun(theta, ahead=False):
        # theta is (p, K): standardised slopes V on top, intercepts c last.
        # ``ahead``: a trial of the last iteration, the point the solve ends
        # at when it is accepted.  With a look-ahead it is
        # evaluated with its intercepts centred exactly as the solution's are
        # (below; softmax is invariant to a common shift of the intercepts:
        # the same objective and gradient, to rounding), so that its pass
        # is the next E-step at the very gate the M-step returns.
        V = theta[:n_features]
        c = theta[n_features]
        W = V / scale_col
        grad = np.empty((p, K))
        if ahead and looks_ahead:
            c = c.copy()
            c -= c.mean()
            loss, gW, gb = problem.loss_grad_ahead(W, c, shift=mean)
            grad[:n_features] = gW * inv_col + alpha * V
        elif centred:
            loss, gW, gb = loss_grad(W, c, shift=mean)
            grad[:n_features] = gW * inv_col + alpha * V
        else:
            loss, gW, gb = loss_grad(W, c - shift @ V)
            # d/dV of sum_i loss(z_i V + c) with z = (x - mean) / scale
            grad[:n_features] = (gW - np.outer(mean, gb)) * inv_col + alpha * V
        state.n_evals += 1
        grad[n_features] = gb
        loss += 0.5 * alpha * float((V * V).sum())
        f = loss / wsum
        grad /= wsum
        if not (math.isfinite(f) and np.isfinite(grad).all()):
            return np.inf, np.zeros_like(theta)
        return f, grad

    factor = _precondition(state, problem, mean, scale, alpha, wsum, centred)
    chol = None if factor is None else factor[0]

    def apply_h0(q):
        # scipy.linalg.cho_solve(factor, q), the same LAPACK call without
        # the wrapper's checks.
        if chol is None:
            return q
        return _potrs(chol, q, lower=1)[0]

    with np.errstate(over="ignore", invalid="ignore"):
        return _lbfgs(fun, apply_h0, state, V0, c0, n_features, p, K, max_iter, tol, wsum, vdot)


def _lbfgs(fun, apply_h0, state, V0, c0, n_features, p, K, max_iter, tol, wsum, vdot):
    """The L-BFGS iterations of :func:`_fit_multinomial` (see there)."""
    theta = np.empty((p, K))
    theta[:n_features] = V0
    theta[n_features] = c0
    f, g = fun(theta)
    if not math.isfinite(f):
        # A warm start out of range (the overflowing parameters of an earlier,
        # diverging fit): start from zero slopes and intercepts instead.
        theta[:] = 0.0
        f, g = fun(theta)
    ftol = 1e-3 * tol
    n_iter = 0
    pairs = state.pairs
    while n_iter < max_iter:
        gmax = float(abs(g).max())
        if not gmax > tol:
            break
        # Two-loop recursion with the Böhning preconditioner as H0.
        q = g.copy()
        alphas = []
        for s, y, rho in reversed(pairs):
            a = rho * vdot(s, q)
            q -= a * y
            alphas.append(a)
        r = state.gamma * apply_h0(q)
        for (s, y, rho), a in zip(pairs, reversed(alphas), strict=False):
            beta = rho * vdot(y, r)
            r += (a - beta) * s
        direction = -r
        slope = float(vdot(g, direction))
        if not slope < 0:
            # Stale curvature gave an ascent direction: forget it and take a
            # majorise-minimise step instead.
            pairs = state.pairs = []
            state.gamma = 1.0
            direction = -apply_h0(g)
            slope = float(vdot(g, direction))
            if not slope < 0:
                break
        step = 1.0
        accepted = False
        # The trial the last iteration accepts ends the solve: each of them
        # (the line search's too) may be the next E-step.
        last = n_iter == max_iter - 1
        if -slope <= 16.0 * _EPS * max(abs(f), 1.0):
            # Rounding regime: the predicted decrease is below the
            # resolution of f, so Armijo's test is noise.  Take the
            # quasi-Newton step if it does not increase the computed
            # objective beyond that resolution (a sum over rows is computed
            # to a few ulps) and clearly reduces the gradient; otherwise no
            # further progress can be measured.
            theta_new = theta + direction
            f_new, g_new = fun(theta_new, last)
            noise = 16.0 * _EPS * max(abs(f), 1.0)
            if not (f_new <= f + noise and float(abs(g_new).max()) <= 0.9 * gmax):
                break
            rounding = accepted = True
        else:
            rounding = False
            for _ in range(40):
                theta_new = theta + step * direction
                f_new, g_new = fun(theta_new, last)
                if f_new <= f + 1e-4 * step * slope:
                    accepted = True
                    break
                # Safeguarded quadratic interpolation of the step.
                denom = 2.0 * (f_new - f - step * slope)
                trial = (
                    -slope * step * step / denom
                    if denom > 0 and math.isfinite(denom)
                    else 0.5 * step
                )
                step = min(max(trial, 0.1 * step), 0.5 * step)
        if not accepted:
            break
        n_iter += 1
        s = theta_new - theta
        y = g_new - g
        sy = float(vdot(s, y))
        norms = math.sqrt(float(vdot(s, s)) * float(vdot(y, y)))
        # A gradient change that underflows (y.y == 0 while s.y > 0: the
        # objective is flat to the last bits, e.g. a constant feature of
        # 1e10 and a few rows) carries no curvature: no pair, and no
        # division by its zero norm.
        if sy > 1e-10 * norms and sy > 0 and norms > 0 and math.isfinite(norms):
            yhy = float(vdot(y, apply_h0(y)))
            if yhy > 0 and math.isfinite(sy / yhy):
                pairs.append((s, y, 1.0 / sy))
                if len(pairs) > state.memory:
                    pairs.pop(0)
                state.gamma = sy / yhy
        decrease = f - f_new
        theta, f, g = theta_new, f_new, g_new
        if not rounding and decrease <= ftol * max(abs(f), abs(f + decrease), 1.0):
            break
    V = theta[:n_features].copy()
    c = theta[n_features].copy()
    # Softmax is invariant to a common shift of the intercepts; centring them
    # keeps the parameters (and pickles) reproducible and bounded.
    c -= c.mean()
    return V, c, f * wsum, n_iter
