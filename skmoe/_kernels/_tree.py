"""Upward and downward passes over the tree of a hierarchical gate.

Internal nodes are stored level by level (breadth first): level ``l`` holds
``B**l`` nodes and node ``m`` of level ``l`` has children ``m*B + c`` on
level ``l + 1``; the ``B**D`` leaves are the experts.
"""

import numpy as np
from numba import njit

from . import _cache  # noqa: F401  (before any kernel: keys their cache to the package)
from ._config import JIT_KWARGS


@njit(**JIT_KWARGS)
def tree_downward(node_log_proba, branching, depth):
    """Leaf log-probabilities: sum of branch log-probabilities on each root-leaf path.

    Parameters
    ----------
    node_log_proba : ndarray of shape (n_samples, n_nodes, branching)
        Log-probability of each branch at each internal node (breadth first).
    branching, depth : int

    Returns
    -------
    leaf_log_proba : ndarray of shape (n_samples, branching ** depth)
    """
    n = node_log_proba.shape[0]
    n_leaves = branching**depth
    out = np.zeros((n, n_leaves), dtype=node_log_proba.dtype)
    for leaf in range(n_leaves):
        offset = 0  # index of the first node of the current level
        level_size = 1
        for level in range(depth):
            span = branching ** (depth - level - 1)
            node = offset + leaf // (span * branching)
            branch = (leaf // span) % branching
            for i in range(n):
                out[i, leaf] += node_log_proba[i, node, branch]
            offset += level_size
            level_size *= branching
    return out


@njit(**JIT_KWARGS)
def tree_upward(leaf_resp, branching, depth):
    """Posterior mass flowing through every branch of every internal node.

    Parameters
    ----------
    leaf_resp : ndarray of shape (n_samples, branching ** depth)
        Leaf (expert) responsibilities.
    branching, depth : int

    Returns
    -------
    branch_mass : ndarray of shape (n_samples, n_nodes, branching)
        ``branch_mass[i, j, c]`` is the sum of the responsibilities of the
        leaves below branch ``c`` of node ``j``; its sum over ``c`` is the
        posterior probability that sample ``i`` passes through node ``j``.
    """
    n = leaf_resp.shape[0]
    n_nodes = (branching**depth - 1) // (branching - 1)
    out = np.zeros((n, n_nodes, branching), dtype=leaf_resp.dtype)
    n_leaves = branching**depth
    for leaf in range(n_leaves):
        offset = 0
        level_size = 1
        for level in range(depth):
            span = branching ** (depth - level - 1)
            node = offset + leaf // (span * branching)
            branch = (leaf // span) % branching
            for i in range(n):
                out[i, node, branch] += leaf_resp[i, leaf]
            offset += level_size
            level_size *= branching
    return out
