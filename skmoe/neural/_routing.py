"""Routing for the sparse mixture-of-experts layer: gates, dispatch plan, auxiliary losses.

Everything here runs on the device of its inputs and never reads a value
back to the host (no ``.item()``, no ``bincount``/``one_hot``/``nonzero``,
which synchronise on CUDA): shapes depend only on ``T`` (rows), ``k`` and
``E`` (experts), which the host knows.

Conventions
-----------
* ``expert_idx`` is ``(T, k)``: the experts chosen for each row, best first.
  A *slot* is one (row, choice) pair; flat slot ``t * k + j`` is row ``t``'s
  ``j``-th choice.
* Gate values: with ``k == 1`` the router probability of the chosen expert
  (Switch Transformer: the router keeps a gradient through the main loss);
  with ``1 < k < E`` the softmax over the ``k`` largest logits, i.e. the
  router probabilities renormalised over the chosen experts (Shazeer et al.
  2017); with ``k == E`` the dense softmax over all experts.
"""

import math
from typing import NamedTuple

import torch


def top_k_gates(logits, k):
    """Choose ``k`` experts per row and their gate values.

    Parameters
    ----------
    logits : tensor of shape (T, E), float32 or float64
    k : int, 1 <= k <= E

    Returns
    -------
    expert_idx : int64 tensor of shape (T, k), best first
    gates : tensor of shape (T, k), dtype of ``logits``
    probs : tensor of shape (T, E), softmax of ``logits``
    """
    T, E = logits.shape
    probs = torch.softmax(logits, dim=1)
    if k == E:
        expert_idx = torch.arange(E, device=logits.device).expand(T, E)
        return expert_idx, probs, probs
    top_logits, expert_idx = torch.topk(logits, k, dim=1)
    if k == 1:
        gates = probs.gather(1, expert_idx)
    else:
        gates = torch.softmax(top_logits, dim=1)
    return expert_idx, gates, probs


def noisy_logits(clean_logits, noise_logits, generator=None):
    """Noisy top-k gating logits ``H = clean + N(0, 1) * softplus(noise_logits)``.

    Shazeer et al. (2017), eq. (4); training only.  ``generator`` lives on
    the device of the logits.
    """
    noise = torch.randn(
        clean_logits.shape,
        generator=generator,
        device=clean_logits.device,
        dtype=clean_logits.dtype,
    )
    return clean_logits + noise * torch.nn.functional.softplus(noise_logits)


def expert_counts(expert_idx, n_experts):
    """Slots routed to each expert, ``(E,)`` int64, without a host synchronisation."""
    flat = expert_idx.reshape(-1)
    counts = torch.zeros(n_experts, dtype=torch.int64, device=flat.device)
    return counts.scatter_add_(0, flat, torch.ones_like(flat))


def load_balancing_loss(probs, counts, top_k):
    """Switch Transformer load-balancing loss ``E * sum_e f_e * P_e``.

    ``f_e = counts[e] / (T * k)`` is the fraction of slots dispatched to
    expert ``e`` (before any capacity dropping) and ``P_e`` the mean router
    probability of ``e`` over the rows (Fedus et al. 2022, eq. 4, with slots
    in place of tokens so that perfect balance gives 1 for every ``k``).
    Only ``P`` carries a gradient.
    """
    T, E = probs.shape
    frac = counts.to(probs.dtype) / (T * top_k)
    return E * torch.sum(frac * probs.mean(dim=0))


def router_z_loss(logits):
    """ST-MoE router z-loss ``mean_t (logsumexp_e logits[t, e])**2`` (Zoph et al. 2022, eq. 5)."""
    return torch.logsumexp(logits, dim=1).square().mean()


def capacity(n_rows, n_experts, top_k, capacity_factor):
    """Slots each expert may take: ``ceil(capacity_factor * T * k / E)`` (at least 1)."""
    return max(1, math.ceil(capacity_factor * n_rows * top_k / n_experts))


class DispatchPlan(NamedTuple):
    """Where every slot goes; all tensors on the device of the routing.

    order : (T*k,) int64, flat slots sorted by expert (stable; within an
        expert, first choices before second choices, then by row).
    inverse : (T*k,) int64, position of each flat slot in ``order``.
    sorted_expert : (T*k,) int64, expert of each sorted slot.
    counts : (E,) int64, slots routed to each expert (before dropping).
    ends : (E,) int32, cumulative counts: expert ``e`` owns sorted slots
        ``[ends[e-1], ends[e])`` (the ``offs`` of a grouped matmul).
    rank : (T*k,) int64, position of each flat slot inside its expert's group.
    keep : (T*k,) bool or None, slots within capacity (None: no capacity).
    """

    order: torch.Tensor
    inverse: torch.Tensor
    sorted_expert: torch.Tensor
    counts: torch.Tensor
    ends: torch.Tensor
    rank: torch.Tensor
    keep: object


def make_plan(expert_idx, n_experts, capacity=None):
    """Stable sort of the slots by expert, counts, group ends and capacity mask.

    With a capacity ``C``, an expert keeps the first ``C`` slots of its group;
    the group lists first choices before second choices (GShard's priority),
    each in row order, so a row's best expert is dropped only when ``C``
    first choices were routed there before it.
    """
    T, k = expert_idx.shape
    n = T * k
    device = expert_idx.device
    flat = expert_idx.reshape(-1)
    positions = torch.arange(n, device=device)
    key = flat * k + positions % k if k > 1 else flat
    sorted_key, order = torch.sort(key, stable=True)
    sorted_expert = sorted_key // k if k > 1 else sorted_key
    experts = torch.arange(n_experts, device=device)
    ends64 = torch.searchsorted(sorted_expert, experts, right=True)
    begins = torch.searchsorted(sorted_expert, experts, right=False)
    counts = ends64 - begins
    # order is a permutation: the scatter writes every position once.
    inverse = torch.empty_like(order).scatter_(0, order, positions)
    rank = (positions - begins.index_select(0, sorted_expert)).index_select(0, inverse)
    keep = None if capacity is None else rank < capacity
    return DispatchPlan(
        order=order,
        inverse=inverse,
        sorted_expert=sorted_expert,
        counts=counts,
        ends=ends64.to(torch.int32),
        rank=rank,
        keep=keep,
    )
