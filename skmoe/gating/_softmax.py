"""Softmax (multinomial logistic) gate."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval

from .._multinomial import (
    MultinomialSolverState,
    RowsMultinomialProblem,
    centred_coefficients,
    fit_multinomial_problem,
    multinomial_expansion,
    raw_coefficients,
    select_gate,
    softmax_log_proba,
    solve_multinomial_expansion,
)
from .._rows import ThreadRows
from ._base import BaseGate, gate_feature_frame


class SoftmaxGate(BaseGate):
    """Multinomial logistic gate ``g(x) = softmax(x W + b)``.

    The M-step fits ``W, b`` to the soft responsibilities by L-BFGS over a
    Numba-fused loss and gradient, warm-started from the previous EM
    iteration *with its curvature memory* (the Hessian of the gate's loss
    does not depend on the responsibilities, so the quasi-Newton pairs of
    one M-step remain valid in the next).  By default each M-step takes at
    most ``max_iter=2`` quasi-Newton steps: a generalised EM step.  Every
    step decreases the gate's penalised loss, so the EM objective still
    never decreases; late in EM, when the responsibilities barely change,
    the gradient test (``tol``) ends the M-step after one or two steps.  For
    an exact M-step at every iteration (e.g. to study EM itself) set a large
    ``max_iter`` and a small ``tol``.

    Features are standardised internally (without copying X), so the L2
    penalty acts on standardised coefficients and the gate is invariant to
    the units of each feature.

    Parameters
    ----------
    alpha : float, default=1e-2
        L2 penalty on the standardised gate coefficients, on the scale of the
        summed loss (like ``1 / C`` in ``LogisticRegression``).  Keeps the gate
        finite when experts separate the data perfectly.
    max_iter : int, default=2
        Maximum L-BFGS iterations per M-step (per EM iteration).  Small
        values give generalised EM (cheaper iterations, sometimes a few
        more of them); large values with a small ``tol`` fit the gate to
        convergence in every M-step.
    tol : float, default=1e-6
        Gradient tolerance (largest absolute entry) of the per-sample
        penalised loss; the M-step also stops when a step decreases that
        loss by less than ``1e-3 * tol`` relative to its value.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features, n_experts)
        Gate weights acting on the raw features.
    intercept_ : ndarray of shape (n_experts,)
    n_experts_ : int
    n_features_in_ : int
    n_iter_ : int
        L-BFGS iterations of the last M-step.

    See Also
    --------
    ConstantGate : Mixing proportions that do not depend on x.
    GaussianGate : Localised gate, the posterior of a Gaussian mixture on x.
    HierarchicalGate : A tree of softmax gates (hierarchical mixture of experts).

    Examples
    --------
    On the motorcycle data the gate, a function of time, hands the flat
    start, the deceleration of the impact and the rebound to different
    experts:

    >>> import numpy as np
    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.datasets import load_mcycle
    >>> from skmoe.gating import SoftmaxGate
    >>> X, y = load_mcycle(return_X_y=True)
    >>> moe = MixtureOfExpertsRegressor(n_experts=3, gate=SoftmaxGate(), random_state=0)
    >>> moe = moe.fit(X, y)
    >>> moe.gate_.coef_.shape, moe.gate_.intercept_.shape
    ((1, 3), (3,))
    >>> proba = moe.predict_gate(X[[0, -1]])  # the first and the last time
    >>> proba.sum(axis=1)
    array([1., 1.])
    >>> bool(proba[0].argmax() != proba[1].argmax())  # unlike ConstantGate, g depends on x
    True
    """

    _parameter_constraints = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, alpha=1e-2, max_iter=2, tol=1e-6):
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol

    def _initialize(self, X, n_experts, sample_weight=None):
        self._validate_params()
        self.n_experts_ = n_experts
        self.n_features_in_ = X.shape[1]
        # Weighted moments: the penalty acts on coefficients standardised the
        # same way for integer weights as for repeated rows.
        if sample_weight is None:
            sample_weight = np.ones(X.shape[0])
        self.prepare(ThreadRows(gx=X, sw=sample_weight))
        self._V = np.zeros((X.shape[1], n_experts))
        self._c = np.zeros(n_experts)
        self._solver_state = MultinomialSolverState()
        self._sync()
        self.n_iter_ = 0

    def prepare(self, rows):
        """Fix the frame of an EM run: the weighted centre and spread of each gate feature.

        The penalty acts on coefficients standardised by this frame, so
        fixing it once per run keeps the penalised loss, and with it the EM
        objective, the same function at every M-step; the logits are also
        evaluated about these centres, so a feature far from zero costs no
        digits.  Part of the component protocol (see :class:`BaseGate`): any
        row engine (threads, Dask blocks, a first online chunk) gives the
        same two ordered passes (the sample-weighted means, then the centred
        squares), hence the same frame.

        Parameters
        ----------
        rows : row engine
            Rows with ``gx`` (gate inputs) and ``sw`` (sample weights).

        Returns
        -------
        self : SoftmaxGate
            The gate, with its frame set (its coefficients are unchanged).
        """
        self._mean, self._scale = gate_feature_frame(rows)
        return self

    def _sync(self):
        self.coef_, self.intercept_ = raw_coefficients(self._V, self._c, self._mean, self._scale)

    def _m_step(self, X, resp, sample_weight, evaluation=None, lookahead=None):
        rows = ThreadRows(gx=X, resp=resp, sw=sample_weight)
        self.m_step_from_rows(rows, evaluation, lookahead)

    def _linear_logits(self):
        """``(W, b, shift)``: the logits ``(x - shift) W + b`` that :meth:`_log_proba` uses.

        The fused E-step's hook (``skmoe._fused``); None for a subclass that
        computes its probabilities otherwise.
        """
        if type(self)._log_proba is not SoftmaxGate._log_proba:
            return None
        coef, intercept = centred_coefficients(self._V, self._c, self._scale)
        return coef, intercept, np.asarray(self._mean, dtype=np.float64)

    def m_step_from_rows(self, rows, evaluation=None, lookahead=None):
        """The M-step on any row engine: every loss and gradient is ``rows.sum(...)``.

        The component protocol of an iterative problem (see ``skmoe._rows``):
        the in-memory fit passes :class:`~skmoe._rows.ThreadRows`, the Dask
        fit its blocks; the solver is the same.

        Parameters
        ----------
        rows : row engine
            Rows with ``gx`` (gate inputs), ``resp`` and ``sw``.
        evaluation : tuple or None, default=None
            ``(W, b, shift, loss, grad_W, grad_b)``: the summed loss and
            gradient on these rows at logits ``(x - shift) W + b``, already
            computed (the fused E-step's, ``skmoe._fused``).  The solver uses
            it for an evaluation at exactly those arguments instead of a pass
            over the rows.
        lookahead : skmoe._fused.Lookahead or None, default=None
            Evaluates the solver's last trial point as the next E-step
            (overwriting ``resp`` in place; see ``skmoe._fused``).

        Returns
        -------
        self : SoftmaxGate
            The gate, with its parameters updated.
        """
        problem = RowsMultinomialProblem(
            rows, select_gate, (), self.n_features_in_, self.n_experts_
        )
        if evaluation is not None:
            problem.give(*evaluation)
        if lookahead is not None:
            problem.look_ahead(lookahead)
        self._fit_problem(problem)
        return self

    def expansion_from_rows(self, rows):
        """Second-order expansion of the gate's loss about its parameters (online EM).

        Parameters
        ----------
        rows : row engine
            Rows with ``gx``, ``resp`` and ``sw``.

        Returns
        -------
        stats : tuple of ndarray
            ``(H, g - H theta)`` summed over the rows (additive).
        """
        return multinomial_expansion(
            rows, select_gate, (), self._V, self._c, self._mean, self._scale
        )

    def m_step_from_expansion(self, stats, n_seen):
        """Minimise an average of :meth:`expansion_from_rows` per unit weight plus the penalty.

        Parameters
        ----------
        stats : tuple of ndarray
            Averaged expansions, per unit of weight.
        n_seen : float
            Total weight seen: ``alpha`` is on the summed-loss scale.

        Returns
        -------
        self : SoftmaxGate
            The gate, with its parameters updated.
        """
        H, h = stats
        self._V, self._c = solve_multinomial_expansion(H, h, self._V, self._c, self.alpha / n_seen)
        self._sync()
        return self

    def _fit_problem(self, problem):
        """The M-step on a :class:`~skmoe._multinomial.MultinomialProblem`.

        Or on anything of its protocol: ``skmoe._dask`` passes one whose sums
        run over the blocks of a Dask array.
        """
        self._V, self._c, _, self.n_iter_ = fit_multinomial_problem(
            problem,
            alpha=self.alpha,
            mean=self._mean,
            scale=self._scale,
            V0=self._V,
            c0=self._c,
            max_iter=self.max_iter,
            tol=self.tol,
            state=getattr(self, "_solver_state", None),
        )
        self._sync()

    def _log_proba(self, X):
        # Logits about the feature centres: exact for features far from zero.
        coef, intercept = centred_coefficients(self._V, self._c, self._scale)
        return softmax_log_proba(X, coef, intercept, self._mean)

    def _penalty(self):
        return 0.5 * self.alpha * float(np.sum(self._V * self._V))

    def _n_parameters(self):
        return (self.n_features_in_ + 1) * (self.n_experts_ - 1)
