"""Hierarchical mixture-of-experts gate (Jordan & Jacobs 1994)."""

from itertools import combinations
from math import factorial
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval

from .._kernels import tree_downward, tree_upward
from .._multinomial import (
    MultinomialSolverState,
    RowsMultinomialProblem,
    centred_coefficients,
    fit_multinomial_problem,
    multinomial_expansion,
    raw_coefficients,
    softmax_log_proba,
    solve_multinomial_expansion,
)
from .._rows import ThreadRows
from ._base import BaseGate, gate_feature_frame


class HierarchicalGate(BaseGate):
    """A tree of softmax gates: the hierarchical mixture of experts.

    Each internal node routes an input among its ``branching`` children with
    a multinomial logistic model; an expert's gate probability is the product
    of the branch probabilities on its root-to-leaf path, so the mixture has
    ``branching ** depth`` experts.  In the M-step the leaf responsibilities
    are summed up the tree (a Numba upward pass) and every node is fitted to
    the posterior mass of its branches, weighted by the mass reaching it
    (Jordan & Jacobs 1994).  With ``depth=1`` it is :class:`SoftmaxGate`.

    EM for an HME has local optima in which two experts that should share a
    parent sit in different subtrees.  The first restart therefore places
    the initial (k-means) clusters on the leaves so that clusters close in
    gate space are siblings; further restarts keep k-means' arbitrary
    numbering, for diversity.  Use ``n_init > 1``.

    Parameters
    ----------
    depth : int, default=2
        Levels of internal nodes, 1 to 6.
    branching : int, default=2
        Children of every internal node, 2 to 16.
    alpha : float, default=1e-2
        L2 penalty on every node's standardised coefficients.
    max_iter : int, default=100
        L-BFGS iterations per node per M-step.
    tol : float, default=1e-6
        Gradient tolerance of each node's per-sample objective.

    Attributes
    ----------
    coef_ : ndarray of shape (n_nodes, n_features, branching)
        Each internal node's weights on the raw features, breadth first.
    intercept_ : ndarray of shape (n_nodes, branching)
    n_nodes_ : int
        ``(branching ** depth - 1) / (branching - 1)`` internal nodes.
    n_experts_ : int
        ``branching ** depth`` leaves.
    n_features_in_ : int

    See Also
    --------
    SoftmaxGate : The one-level gate (``depth=1``), the default.
    GaussianGate : Localised gate, the posterior of a Gaussian mixture on x.
    ConstantGate : Mixing proportions that do not depend on x.

    Examples
    --------
    A binary tree of depth 2 has three internal nodes (the root and its two
    children) and four leaves, so the mixture needs four experts; two
    restarts, the first with the clusters arranged on the leaves:

    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.datasets import load_mcycle
    >>> from skmoe.gating import HierarchicalGate
    >>> X, y = load_mcycle(return_X_y=True)
    >>> gate = HierarchicalGate(depth=2, branching=2)
    >>> moe = MixtureOfExpertsRegressor(n_experts=4, gate=gate, n_init=2, random_state=0)
    >>> moe = moe.fit(X, y)
    >>> moe.gate_.n_nodes_, moe.gate_.n_experts_
    (3, 4)
    >>> moe.gate_.coef_.shape  # (n_nodes, n_features, branching)
    (3, 1, 2)
    >>> moe.predict_gate(X[:2]).sum(axis=1)  # products along the paths sum to one
    array([1., 1.])
    """

    _parameter_constraints = {
        "depth": [Interval(Integral, 1, 6, closed="both")],
        "branching": [Interval(Integral, 2, 16, closed="both")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, depth=2, branching=2, alpha=1e-2, max_iter=100, tol=1e-6):
        self.depth = depth
        self.branching = branching
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol

    def _required_n_experts(self):
        self._validate_params()
        return self.branching**self.depth

    def _initialize(self, X, n_experts, sample_weight=None):
        required = self._required_n_experts()
        if n_experts != required:
            raise ValueError(
                f"HierarchicalGate(depth={self.depth}, branching={self.branching}) has "
                f"{required} leaves but the mixture has {n_experts} experts."
            )
        sw = np.ones(X.shape[0]) if sample_weight is None else sample_weight
        self.n_experts_ = n_experts
        self.n_features_in_ = X.shape[1]
        self.n_nodes_ = (self.branching**self.depth - 1) // (self.branching - 1)
        # The softmax gate's frame (same passes, same floors): at depth 1 the
        # two gates solve the same problem bit for bit.
        self.prepare(ThreadRows(gx=X, sw=sw))
        self._V = np.zeros((self.n_nodes_, X.shape[1], self.branching))
        self._c = np.zeros((self.n_nodes_, self.branching))
        # Each node keeps its quasi-Newton memory between M-steps, as the
        # softmax gate does: its problem changes little from one EM step to
        # the next, and a depth-1 tree then follows the softmax gate's path.
        self._solver_states = [MultinomialSolverState() for _ in range(self.n_nodes_)]
        self._sync()

    def _arrange_responsibilities(self, X, resp, sample_weight):
        """:meth:`leaf_order` on in-memory rows; returns ``resp`` with its columns permuted."""
        return resp[:, self.leaf_order(ThreadRows(gx=X, resp=resp, sw=sample_weight))]

    def leaf_order(self, rows):
        """Order initial responsibilities so that nearby clusters become siblings.

        The initial partition (k-means) numbers its clusters arbitrarily, but
        in a tree the numbering matters: leaves ``0..B-1`` share a parent, and
        EM rarely moves an expert to another subtree, so two far-apart
        clusters made siblings tend to stay a local optimum.  The clusters
        are grouped top-down: at each node the ``B`` groups (of equal numbers
        of clusters) with the smallest within-group scatter of the clusters'
        centres in gate space (weighted by their mass) become its branches;
        all groupings are tried when there are few, else a greedy grouping.
        The centres are row sums, so any row engine gives the same order.

        Parameters
        ----------
        rows : row engine
            Rows with ``gx``, ``resp`` (initial responsibilities) and ``sw``.

        Returns
        -------
        order : ndarray of shape (n_experts,)
            The column permutation of the responsibilities.
        """
        sums, mass = rows.sum(_cluster_sums)
        centres = sums / np.maximum(mass, 1e-300)[:, None]
        centres = (centres - self._mean) / self._scale
        return _tree_order(centres, mass, self.branching)

    def _sync(self):
        coef = np.empty_like(self._V)
        intercept = np.empty_like(self._c)
        for j in range(self.n_nodes_):
            coef[j], intercept[j] = raw_coefficients(
                self._V[j], self._c[j], self._mean, self._scale
            )
        self.coef_, self.intercept_ = coef, intercept

    def _m_step(self, X, resp, sample_weight):
        self.m_step_from_rows(ThreadRows(gx=X, resp=resp, sw=sample_weight))

    def m_step_from_rows(self, rows):
        """The M-step on any row engine: each node's loss and gradient are ``rows.sum(...)``.

        Node ``j`` is fitted to the posterior mass of its branches (the leaf
        responsibilities summed up the tree, block by block), weighted by
        the sample weights: soft targets that sum to the mass reaching the
        node, so the fused loss uses ``w_i (s_i p_ic - t_ic)``.

        Parameters
        ----------
        rows : row engine
            Rows with ``gx`` (gate inputs), ``resp`` (leaf responsibilities)
            and ``sw``.

        Returns
        -------
        self : HierarchicalGate
            The gate, with every node's parameters updated.
        """
        for j in range(self.n_nodes_):
            problem = RowsMultinomialProblem(
                rows,
                select_tree_node,
                (j, self.branching, self.depth),
                self.n_features_in_,
                self.branching,
            )
            self._V[j], self._c[j], _, _ = fit_multinomial_problem(
                problem,
                alpha=self.alpha,
                mean=self._mean,
                scale=self._scale,
                V0=self._V[j],
                c0=self._c[j],
                max_iter=self.max_iter,
                tol=self.tol,
                state=self._solver_states[j],
            )
        self._sync()
        return self

    def prepare(self, rows):
        """Fix the frame: the weighted centre and spread of each gate feature.

        Parameters
        ----------
        rows : row engine
            Rows with ``gx`` and ``sw``.

        Returns
        -------
        self : HierarchicalGate
            The gate, with its frame set.
        """
        self._mean, self._scale = gate_feature_frame(rows)
        return self

    def expansion_from_rows(self, rows):
        """Second-order expansions of every node's loss about its parameters (online EM).

        Parameters
        ----------
        rows : row engine
            Rows with ``gx``, ``resp`` and ``sw``.

        Returns
        -------
        stats : tuple of ndarray
            ``(H_j, g_j - H_j theta_j)`` for each node ``j``, summed over the rows.
        """
        out = []
        for j in range(self.n_nodes_):
            out.extend(
                multinomial_expansion(
                    rows,
                    select_tree_node,
                    (j, self.branching, self.depth),
                    self._V[j],
                    self._c[j],
                    self._mean,
                    self._scale,
                )
            )
        return tuple(out)

    def m_step_from_expansion(self, stats, n_seen):
        """Minimise each node's averaged expansion plus its penalty (online EM).

        Parameters
        ----------
        stats : tuple of ndarray
            Averaged :meth:`expansion_from_rows`, per unit of weight.
        n_seen : float
            Total weight seen: ``alpha`` is on the summed-loss scale.

        Returns
        -------
        self : HierarchicalGate
            The gate, with every node's parameters updated.
        """
        for j in range(self.n_nodes_):
            self._V[j], self._c[j] = solve_multinomial_expansion(
                stats[2 * j], stats[2 * j + 1], self._V[j], self._c[j], self.alpha / n_seen
            )
        self._sync()
        return self

    def _node_log_proba(self, X):
        out = np.empty((X.shape[0], self.n_nodes_, self.branching))
        for j in range(self.n_nodes_):
            # Logits about the feature centres: exact for features far from zero.
            coef, intercept = centred_coefficients(self._V[j], self._c[j], self._scale)
            out[:, j, :] = softmax_log_proba(X, coef, intercept, self._mean)
        return out

    def _log_proba(self, X):
        return tree_downward(self._node_log_proba(X), self.branching, self.depth)

    def _penalty(self):
        return 0.5 * self.alpha * float(np.sum(self._V * self._V))

    def _n_parameters(self):
        return self.n_nodes_ * (self.n_features_in_ + 1) * (self.branching - 1)


# At most this many groupings of a node's clusters are compared exhaustively
# (a binary tree of depth <= 4, a ternary one of depth 2); beyond, greedy.
_MAX_GROUPINGS = 10_000


def _groupings(items, size):
    """Every partition of ``items`` into groups of ``size`` (unordered groups)."""
    if not items:
        yield []
        return
    first = items[0]
    for rest in combinations(items[1:], size - 1):
        group = (first, *rest)
        remaining = [i for i in items if i not in group]
        for others in _groupings(remaining, size):
            yield [group, *others]


def _scatter(centres, mass, group):
    g = list(group)
    w = mass[g]
    mu = w @ centres[g] / max(w.sum(), 1e-300)
    return float(w @ ((centres[g] - mu) ** 2).sum(axis=1))


def _greedy_grouping(centres, mass, size):
    """The cluster farthest from the centre of the rest, with its nearest ones."""
    remaining = list(range(centres.shape[0]))
    groups = []
    while remaining:
        C = centres[remaining]
        w = mass[remaining]
        mu = w @ C / max(w.sum(), 1e-300)
        far = remaining[int(np.argmax(((C - mu) ** 2).sum(axis=1)))]
        dist = ((C - centres[far]) ** 2).sum(axis=1)
        group = [remaining[i] for i in np.argsort(dist, kind="stable")[:size]]
        groups.append(group)
        remaining = [i for i in remaining if i not in group]
    return groups


def _tree_order(centres, mass, branching):
    """Leaf order that puts clusters with close centres under the same node."""
    m = centres.shape[0]
    if m <= branching:
        return np.arange(m)
    size = m // branching
    n_groupings = factorial(m) // (factorial(size) ** branching * factorial(branching))
    if n_groupings <= _MAX_GROUPINGS:
        groups = min(
            _groupings(list(range(m)), size),
            key=lambda part: sum(_scatter(centres, mass, g) for g in part),
        )
    else:
        groups = _greedy_grouping(centres, mass, size)
    order = []
    for group in groups:
        group = np.asarray(group)
        order.extend(group[_tree_order(centres[group], mass[group], branching)])
    return np.asarray(order)


def _cluster_sums(block):
    W = block.W
    return np.einsum("ik,ij->kj", W, block.gx), W.sum(axis=0)


def select_tree_node(block, j, branching, depth):
    """Node ``j``'s problem of a block: gate inputs, its branch masses, the sample weights."""
    mass = tree_upward(np.ascontiguousarray(block.resp), branching, depth)
    return block.gx, np.ascontiguousarray(mass[:, j, :]), block.sw
