"""The sparse top-k mixture-of-experts layer (PyTorch).

``y(x) = sum_{e in topk(x)} g_e(x) * f_e(x)`` where ``f_e`` is expert ``e``'s
MLP and ``g`` the router's gates (see :mod:`skmoe.neural._routing`).

Three ways of computing the experts, all giving the same result (up to
rounding) and all combining the slots as ``view(T, k, d_out).sum(1)``:

``"grouped"``
    The fast path on CUDA: router in float32, a stable sort of the slots by
    expert, group ends computed on the device, one grouped matmul per expert
    layer (``torch.nn.functional.grouped_mm`` / ``torch._grouped_mm``) on the
    sorted rows, and the result permuted back.  No Python loop over experts
    and no host synchronisation.
``"padded"``
    The fallback where the grouped kernel does not apply (CPU, float32 or
    float64, widths not multiples of 8, older torch): each expert's rows are
    copied into a zero-padded ``(E, C, d)`` block and every expert layer is
    one batched matmul.  ``C`` is the capacity when one is set (training),
    else the largest group, which costs one host synchronisation.
``"dense"``
    Every expert on every row (the first layer of all experts is a single
    matmul), then the chosen experts' outputs are gathered.  Always used when
    ``top_k == n_experts`` (dense softmax gating), and chosen by
    :func:`choose_backend` where it is cheaper: few experts per chosen one
    and narrow layers, where the sparse path's sorting and gathering costs
    more than the extra products.
"""

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ._grouped import (
    add_grouped_bias,
    check_grouped_mm,
    dispatch,
    grouped_mm,
    grouped_mm_applicable,
    permute_rows,
)
from ._routing import (
    capacity,
    expert_counts,
    load_balancing_loss,
    make_plan,
    noisy_logits,
    router_z_loss,
    top_k_gates,
)

BACKENDS = ("auto", "dense", "grouped", "padded")

ACTIVATIONS = {
    "relu": F.relu,
    "gelu": F.gelu,
    "silu": F.silu,
    "tanh": torch.tanh,
}


class MoEOutput(NamedTuple):
    """What :meth:`SparseMoELayer.forward` returns; every field stays on the device.

    output : (T, out_features), the dtype of the router (float32, or float64
        for float64 input).
    load_balancing_loss : scalar, Switch loss (1 at perfect balance).
    z_loss : scalar, ST-MoE router z-loss on the clean logits.
    counts : (E,) int64, slots routed to each expert (before dropping).
    n_dropped : scalar int64, slots dropped by the capacity limit.
    backend : str, the expert computation used.
    """

    output: torch.Tensor
    load_balancing_loss: torch.Tensor
    z_loss: torch.Tensor
    counts: torch.Tensor
    n_dropped: torch.Tensor
    backend: str


# Cost model of choose_backend: per-device throughput guesses (flop/s, byte/s,
# seconds per kernel launch) and the efficiency of the sparse kernels
# relative to one dense GEMM.  Only their ratios matter.
# ``sparse_traffic`` scales the sparse path's row traffic: on the CPU the
# padded fallback copies each row into and out of the padded blocks, about
# three times what the grouped kernels move.
_COSTS = {
    "cuda": dict(
        flops=4e14, bandwidth=2.5e12, launch=5e-6, sparse_efficiency=0.8, sparse_traffic=1.0
    ),
    "cpu": dict(flops=3e10, bandwidth=4e9, launch=1e-5, sparse_efficiency=1.0, sparse_traffic=3.0),
}
# Kernels the sparse path launches beyond the dense one (sort, searchsorted,
# scatter, gathers, permutations), roughly.
_SPARSE_EXTRA_LAUNCHES = 12


def estimate_costs(device_type, n_rows, n_experts, top_k, widths, itemsize=2):
    """Estimated forward seconds of the dense and the sparse computation.

    A roofline-style guess: matmul flops at the device's rate (the sparse
    kernels at ``sparse_efficiency`` of it), activation traffic at its
    bandwidth, plus kernel launches.  Used only to choose a backend.
    """
    c = _COSTS.get(device_type, _COSTS["cpu"])
    pairs = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    acts = sum(widths[1:])
    n_layers = len(widths) - 1
    dense = (
        2 * n_rows * n_experts * pairs / c["flops"]
        + 2 * itemsize * n_rows * (widths[0] + n_experts * acts) / c["bandwidth"]
        + (2 * n_layers + 3) * c["launch"]
    )
    slots = n_rows * top_k
    sparse = (
        2 * slots * pairs / (c["flops"] * c["sparse_efficiency"])
        + 2
        * itemsize
        * slots
        * (2 * widths[0] + acts + widths[-1])
        * c["sparse_traffic"]
        / c["bandwidth"]
        + 8 * 8 * slots / c["bandwidth"]  # sort keys, order, inverse, rank
        + (2 * n_layers + 3 + _SPARSE_EXTRA_LAUNCHES) * c["launch"]
    )
    return dense, sparse


def choose_backend(device, dtype, n_experts, top_k, widths, n_rows=4096):
    """The expert computation for these shapes: "dense", "grouped" or "padded".

    ``"dense"`` when ``top_k == n_experts`` or when :func:`estimate_costs`
    says computing every expert is cheaper; otherwise ``"grouped"`` where the
    fused grouped matmul applies, else ``"padded"``.  Depends on shapes,
    device and dtype only, never on the values of the input.
    """
    device = torch.device(device)
    if top_k >= n_experts:
        return "dense"
    itemsize = dtype.itemsize
    dense, sparse = estimate_costs(device.type, n_rows, n_experts, top_k, widths, itemsize)
    if dense <= sparse:
        return "dense"
    if grouped_mm_applicable(device, dtype, widths):
        return "grouped"
    return "padded"


class SparseMoELayer(nn.Module):
    """Sparse top-k mixture of MLP experts behind a learned router.

    ``y(x) = sum_{e in topk(x)} g_e(x) * f_e(x)``: the router scores every
    expert, each row is sent to its ``top_k`` best, and their outputs are
    summed, weighted by the gates (the softmax of the chosen experts'
    logits; with ``top_k=1`` the chosen expert's softmax probability over
    all experts).  Only the chosen experts are computed, so the cost grows
    with ``top_k`` rather than with ``n_experts``.  This is the
    ``torch.nn.Module`` that :class:`SparseMoERegressor` and
    :class:`SparseMoEClassifier` train; it can also be used inside any
    PyTorch model.  The parameters are float32 masters, cast to the dtype of
    each call's computation.

    Parameters
    ----------
    in_features, out_features : int
        Widths of the input and of the output of every expert.
    n_experts : int
        Number of experts.
    top_k : int, default=2
        Experts per row; ``top_k == n_experts`` is dense softmax gating.
    hidden_sizes : tuple of int, default=None
        Hidden widths of each expert MLP; None means ``(4 * in_features,)``;
        ``()`` makes each expert affine.
    activation : {"relu", "gelu", "silu", "tanh"}, default="gelu"
        Activation between the layers of each expert MLP.
    bias : bool, default=True
        Biases in the expert layers.
    noisy_gating : bool, default=False
        Noisy top-k gating (Shazeer et al. 2017) in training mode.
    capacity_factor : float or None, default=None
        In training mode, each expert takes at most
        ``ceil(capacity_factor * T * top_k / n_experts)`` slots; the rest
        are dropped (their gate contributes nothing).  Never applied in eval.
    backend : {"auto", "dense", "grouped", "padded"}, default="auto"
        How the experts are computed, all alike up to rounding: ``"dense"``
        runs every expert on every row; ``"grouped"`` sorts the rows by
        expert and runs one grouped matmul per layer (CUDA); ``"padded"``
        copies each expert's rows into zero-padded blocks for batched
        matmuls (the fallback).  ``"auto"`` chooses from the shapes, device
        and dtype (:func:`choose_backend`).
    n_rows_hint : int or None, default=None
        Rows per call assumed when ``backend="auto"`` chooses; None uses the
        actual number of rows of each call.  A fixed hint makes the choice,
        hence the rounding, the same for every batch size.
    generator : torch.Generator, optional
        CPU generator for the initial weights.

    Attributes
    ----------
    router : torch.nn.Linear
        The router, ``nn.Linear(in_features, n_experts)``.
    noise : torch.nn.Linear or None
        Logits of the gating noise's scale (``noisy_gating`` only).
    weights : torch.nn.ParameterList
        Expert layer ``i`` has ``weights[i]`` of shape
        ``(n_experts, out_i, in_i)`` (the ``nn.Linear`` layout).
    biases : torch.nn.ParameterList or None
        ``biases[i]`` of shape ``(n_experts, out_i)``; None when ``bias=False``.
    widths : tuple of int
        ``(in_features, *hidden_sizes, out_features)``.

    See Also
    --------
    SparseMoERegressor : The layer trained as a scikit-learn regressor.
    SparseMoEClassifier : The layer trained as a scikit-learn classifier.

    Examples
    --------
    >>> import torch
    >>> from skmoe.neural import SparseMoELayer
    >>> layer = SparseMoELayer(
    ...     4, 1, n_experts=8, top_k=2, generator=torch.Generator().manual_seed(0)
    ... )
    >>> out = layer(torch.randn(16, 4))
    >>> out.output.shape
    torch.Size([16, 1])
    >>> int(out.counts.sum())  # slots: 16 rows, top_k=2 experts each
    32
    """

    def __init__(
        self,
        in_features,
        out_features,
        n_experts,
        top_k=2,
        hidden_sizes=None,
        activation="gelu",
        bias=True,
        noisy_gating=False,
        capacity_factor=None,
        backend="auto",
        n_rows_hint=None,
        generator=None,
    ):
        super().__init__()
        if not 1 <= top_k <= n_experts:
            raise ValueError(f"top_k must be in [1, n_experts={n_experts}]; got {top_k}.")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}; got {backend!r}.")
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(ACTIVATIONS)}; got {activation!r}."
            )
        if capacity_factor is not None and not capacity_factor > 0:
            raise ValueError(f"capacity_factor must be positive or None; got {capacity_factor}.")
        if hidden_sizes is None:
            hidden_sizes = (4 * in_features,)
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.n_experts = int(n_experts)
        self.top_k = int(top_k)
        self.hidden_sizes = tuple(int(h) for h in hidden_sizes)
        self.activation = activation
        self.noisy_gating = bool(noisy_gating)
        self.capacity_factor = capacity_factor
        self.backend = backend
        self.n_rows_hint = n_rows_hint
        self.widths = (self.in_features, *self.hidden_sizes, self.out_features)

        self.router = nn.Linear(in_features, n_experts)
        self.noise = nn.Linear(in_features, n_experts) if noisy_gating else None
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList() if bias else None
        for fan_in, fan_out in zip(self.widths[:-1], self.widths[1:], strict=True):
            self.weights.append(nn.Parameter(torch.empty(n_experts, fan_out, fan_in)))
            if bias:
                self.biases.append(nn.Parameter(torch.empty(n_experts, fan_out)))
        self.reset_parameters(generator)

    @torch.no_grad()
    def reset_parameters(self, generator=None):
        """Reinitialise the weights.

        The router's weights and every expert layer's weights and biases are
        drawn from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, ``nn.Linear``'s
        default bound; the router's bias and the noise layer start at zero.

        Parameters
        ----------
        generator : torch.Generator, optional
            CPU generator of the draws; torch's global generator when None.
        """
        bound = 1.0 / math.sqrt(self.in_features)
        self.router.weight.uniform_(-bound, bound, generator=generator)
        self.router.bias.zero_()
        if self.noise is not None:
            self.noise.weight.zero_()
            self.noise.bias.zero_()
        for i, w in enumerate(self.weights):
            bound = 1.0 / math.sqrt(w.shape[2])
            w.uniform_(-bound, bound, generator=generator)
            if self.biases is not None:
                self.biases[i].uniform_(-bound, bound, generator=generator)

    def extra_repr(self):
        """Describe the layer's configuration, shown by ``repr(layer)``.

        Returns
        -------
        str
            The widths, number of experts, ``top_k``, activation, noisy
            gating, capacity factor and backend.
        """
        return (
            f"widths={self.widths}, n_experts={self.n_experts}, top_k={self.top_k}, "
            f"activation={self.activation!r}, noisy_gating={self.noisy_gating}, "
            f"capacity_factor={self.capacity_factor}, backend={self.backend!r}"
        )

    # ------------------------------------------------------------------ #
    def resolve_backend(self, device, dtype, n_rows):
        """Return the backend a call with these rows would use.

        A fixed ``backend`` is returned as it is (``"dense"`` when
        ``top_k == n_experts``); ``"auto"`` asks :func:`choose_backend`,
        with ``n_rows_hint`` in place of ``n_rows`` when it is set.

        Parameters
        ----------
        device : torch.device or str
            Device of the call's input.
        dtype : torch.dtype
            Dtype of the expert matmuls.
        n_rows : int
            Rows of the call.

        Returns
        -------
        backend : {"dense", "grouped", "padded"}
            The expert computation.
        """
        if self.backend != "auto":
            if self.top_k == self.n_experts:
                return "dense"
            return self.backend
        hint = n_rows if self.n_rows_hint is None else self.n_rows_hint
        return choose_backend(device, dtype, self.n_experts, self.top_k, self.widths, hint)

    def forward(self, x, *, expert_dtype=None, generator=None, backend=None):
        """Route ``x`` (T, in_features) and combine the chosen experts.

        Parameters
        ----------
        x : tensor (T, in_features), float32 (or float64 for a float64 path)
            The input rows.
        expert_dtype : torch.dtype, optional
            The dtype of the expert matmuls (bfloat16 on CUDA for speed);
            default the dtype of the router (float32, or float64 for float64
            input).
        generator : torch.Generator on x's device, optional
            Draws the gating noise (training with ``noisy_gating`` only).
        backend : str, optional
            Overrides ``self.backend`` for this call.

        Returns
        -------
        MoEOutput
            A named tuple, every tensor on x's device: ``output`` (T,
            out_features) in the router's dtype, ``load_balancing_loss``
            (Switch loss, 1 at perfect balance), ``z_loss`` (router z-loss),
            ``counts`` (slots routed to each expert, before dropping),
            ``n_dropped`` (slots dropped by the capacity limit) and
            ``backend`` (the expert computation used).
        """
        T = x.shape[0]
        E, k = self.n_experts, self.top_k
        rdtype = torch.float64 if x.dtype == torch.float64 else torch.float32
        edtype = rdtype if expert_dtype is None else expert_dtype
        xr = x.to(rdtype)
        clean = F.linear(xr, self.router.weight.to(rdtype), self.router.bias.to(rdtype))
        if self.training and self.noise is not None:
            raw_noise = F.linear(xr, self.noise.weight.to(rdtype), self.noise.bias.to(rdtype))
            logits = noisy_logits(clean, raw_noise, generator)
        else:
            logits = clean
        expert_idx, gates, probs = top_k_gates(logits, k)

        if backend is None:
            backend = self.resolve_backend(x.device, edtype, T)
        elif backend == "auto":
            backend = choose_backend(x.device, edtype, E, k, self.widths, T)
        if k == E:
            backend = "dense"
        if backend == "grouped":
            check_grouped_mm(edtype, self.widths)

        cap = None
        if self.training and self.capacity_factor is not None:
            cap = capacity(T, E, k, self.capacity_factor)
        plan = None
        if backend != "dense" or cap is not None:
            plan = make_plan(expert_idx, E, cap)
            counts = plan.counts
        else:
            counts = expert_counts(expert_idx, E)

        xe = x.to(edtype)
        if backend == "dense":
            y = self._dense(xe, expert_idx)
        elif backend == "grouped":
            y = self._grouped(xe, plan)
        elif backend == "padded":
            y = self._padded(xe, expert_idx, plan, cap)
        else:
            raise ValueError(f"Unknown backend {backend!r}.")

        if plan is not None and plan.keep is not None:
            gates = gates * plan.keep.view(T, k).to(gates.dtype)
            n_dropped = plan.keep.numel() - plan.keep.sum()
        else:
            n_dropped = torch.zeros((), dtype=torch.int64, device=x.device)
        # The combine: (T, k, d_out) weighted by the gates, summed over k in a
        # fixed order (no index_add_).
        out = (y.view(T, k, -1).to(rdtype) * gates.unsqueeze(-1)).sum(1)
        return MoEOutput(
            output=out,
            load_balancing_loss=load_balancing_loss(probs, counts, k),
            z_loss=router_z_loss(clean),
            counts=counts,
            n_dropped=n_dropped,
            backend=backend,
        )

    # ------------------------------------------------------------------ #
    def _layer_params(self, dtype):
        n = len(self.weights)
        for i in range(n):
            w = self.weights[i].to(dtype)
            b = None if self.biases is None else self.biases[i].to(dtype)
            yield i == n - 1, w, b

    def _dense(self, xe, expert_idx):
        """Every expert on every row; returns the chosen slots, (T*k, d_out)."""
        T, d = xe.shape
        E = self.n_experts
        act = ACTIVATIONS[self.activation]
        h = None
        for last, w, b in self._layer_params(xe.dtype):
            if h is None:
                # Every expert sees every row: a batched matmul over the
                # broadcast input gives contiguous (E, T, fan_out) blocks.
                h = xe.expand(E, T, d)
            if b is None:
                h = torch.bmm(h, w.transpose(1, 2))
            else:
                h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            if not last:
                h = act(h)
        y = h.transpose(0, 1)  # (T, E, d_out)
        if self.top_k == E:
            return y.reshape(T * E, -1)
        index = expert_idx.unsqueeze(-1).expand(T, self.top_k, y.shape[2])
        return y.gather(1, index).reshape(T * self.top_k, -1)

    def _grouped(self, xe, plan):
        """Sorted rows, one grouped matmul per layer, permuted back: (T*k, d_out)."""
        act = ACTIVATIONS[self.activation]
        h = dispatch(xe, plan.order, plan.inverse, self.top_k)
        bounds = None
        if self.biases is not None:
            bounds = torch.cat([plan.ends.new_zeros(1), plan.ends]).to(torch.int64)
        for last, w, b in self._layer_params(xe.dtype):
            h = grouped_mm(h, w, plan.ends)
            if b is not None:
                h = add_grouped_bias(h, b, plan.sorted_expert, bounds)
            if not last:
                h = act(h)
        return permute_rows(h, plan.inverse, plan.order)

    def _padded(self, xe, expert_idx, plan, cap):
        """Zero-padded (E, C, d) blocks and batched matmuls: (T*k, d_out)."""
        T, d = xe.shape
        E, k = self.n_experts, self.top_k
        act = ACTIVATIONS[self.activation]
        # The fallback's one host synchronisation: the largest group, when no
        # capacity fixes the block size.
        C = cap if cap is not None else int(plan.counts.max())
        C = min(C, T)
        flat = expert_idx.reshape(-1)
        dest = flat * C + plan.rank
        trash = E * C
        dest = torch.where(plan.rank < C, dest, torch.full_like(dest, trash))
        rows = xe.unsqueeze(1).expand(T, k, d).reshape(T * k, d)
        block = xe.new_zeros(E * C + 1, d).index_copy(0, dest, rows)
        h = block[:trash].view(E, C, d)
        for last, w, b in self._layer_params(xe.dtype):
            if b is None:
                h = torch.bmm(h, w.transpose(1, 2))
            else:
                h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            if not last:
                h = act(h)
        out = torch.cat([h.reshape(trash, -1), h.new_zeros(1, h.shape[2])])
        return out.index_select(0, dest)
