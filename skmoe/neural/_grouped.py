"""Grouped matrix products and deterministic row permutations for the sparse layer.

The fast path multiplies the rows of every expert's group by that expert's
weights in *one* kernel: ``torch.nn.functional.grouped_mm`` (or the older
private ``torch._grouped_mm``) with the group ends as ``offs``, read on the
device.  Its CUDA kernels want bfloat16 operands, compute capability >= 8.0
and 16-byte aligned strides (every width a multiple of 8); elsewhere the
layer uses a padded batched matmul (:mod:`skmoe.neural._layer`).

The permutations are written as autograd functions whose backward is a
gather too: a row gather's stock backward is ``index_add_``, whose CUDA
atomics make the sum over a row's ``k`` copies order-dependent; here that
sum is ``view(T, k, d).sum(1)``, fixed order, no atomics.
"""

import functools

import torch

#: grouped_mm's CUDA kernels need 16-byte aligned rows: 8 bfloat16 values.
ALIGNMENT = 8


def grouped_mm_function():
    """The installed torch's grouped matmul, or None."""
    fn = getattr(torch.nn.functional, "grouped_mm", None)
    if fn is None:
        fn = getattr(torch, "_grouped_mm", None)
    return fn


@functools.cache
def _capability(index):
    return torch.cuda.get_device_capability(index)


def grouped_mm_applicable(device, dtype, widths):
    """Whether the fused grouped matmul can run these expert layers.

    Parameters
    ----------
    device : torch.device
    dtype : torch.dtype of the expert matmuls
    widths : sequence of int, the expert layer widths (input, hidden..., output)
    """
    if grouped_mm_function() is None or device.type != "cuda" or dtype != torch.bfloat16:
        return False
    index = device.index if device.index is not None else torch.cuda.current_device()
    if _capability(index) < (8, 0):
        return False
    return all(w % ALIGNMENT == 0 for w in widths)


def check_grouped_mm(dtype, widths):
    """Raise a ValueError saying why the grouped matmul cannot run, if it cannot.

    Checks what holds on every device: the function exists, the dtype is
    float32, float16 or bfloat16, and every width spans a multiple of 16
    bytes (the kernels' stride alignment).  On the CPU the kernel runs (it
    is what the tests compare) but is slower than the padded fallback.
    """
    if grouped_mm_function() is None:
        raise ValueError(
            f"backend='grouped' needs torch.nn.functional.grouped_mm or torch._grouped_mm, "
            f"which torch {torch.__version__} does not have; use backend='auto'."
        )
    if dtype not in (torch.float32, torch.float16, torch.bfloat16):
        raise ValueError(f"backend='grouped' runs in float32/float16/bfloat16, not {dtype}.")
    itemsize = dtype.itemsize
    bad = [w for w in widths if (w * itemsize) % 16]
    if bad:
        raise ValueError(
            f"backend='grouped' needs every expert width to span a multiple of 16 bytes "
            f"({16 // itemsize} values in {dtype}); got widths {tuple(widths)}."
        )


def grouped_mm(x, weight, ends):
    """Rows of group ``e`` (``x[ends[e-1]:ends[e]]``) times ``weight[e].T``.

    ``x`` (N, d_in) sorted by group, ``weight`` (E, d_out, d_in) in the
    ``nn.Linear`` layout (passed transposed: column-major, the layout the
    grouped kernels prefer), ``ends`` (E,) int32 on the device.
    """
    return grouped_mm_function()(x, weight.transpose(-2, -1), offs=ends)


class _Dispatch(torch.autograd.Function):
    """``x (T, d) -> x[order // k] (T*k, d)``: each row once per chosen expert, grouped.

    Backward: ``grad[inverse].view(T, k, d).sum(1)``.
    """

    @staticmethod
    def forward(ctx, x, order, inverse, k):
        ctx.save_for_backward(inverse)
        ctx.k = k
        return x.index_select(0, torch.div(order, k, rounding_mode="floor"))

    @staticmethod
    def backward(ctx, grad):
        (inverse,) = ctx.saved_tensors
        k = ctx.k
        grad_x = grad.index_select(0, inverse).view(inverse.numel() // k, k, -1).sum(1)
        return grad_x, None, None, None


class _Permute(torch.autograd.Function):
    """``y[index]`` for a permutation ``index``; backward ``grad[inverse]``."""

    @staticmethod
    def forward(ctx, y, index, inverse):
        ctx.save_for_backward(inverse)
        return y.index_select(0, index)

    @staticmethod
    def backward(ctx, grad):
        (inverse,) = ctx.saved_tensors
        return grad.index_select(0, inverse), None, None


class _GroupedBias(torch.autograd.Function):
    """``h + bias[sorted_expert]``; the bias gradient is a segment sum over each group.

    ``bounds`` is ``(E + 1,)``: 0 then the group ends.  The segment sum runs
    in float32 with one fixed order per group (no atomics).
    """

    @staticmethod
    def forward(ctx, h, bias, sorted_expert, bounds):
        ctx.save_for_backward(bounds)
        return h + bias.index_select(0, sorted_expert)

    @staticmethod
    def backward(ctx, grad):
        (bounds,) = ctx.saved_tensors
        grad_bias = torch.segment_reduce(
            grad.float(), "sum", offsets=bounds, axis=0, unsafe=True
        ).to(grad.dtype)
        return grad, grad_bias, None, None


def dispatch(x, order, inverse, k):
    """Rows of ``x`` in expert order, one per slot (see :class:`_Dispatch`)."""
    return _Dispatch.apply(x, order, inverse, k)


def permute_rows(y, index, inverse):
    """``y[index]`` with a gather as backward (see :class:`_Permute`)."""
    return _Permute.apply(y, index, inverse)


def add_grouped_bias(h, bias, sorted_expert, bounds):
    """``h + bias[sorted_expert]`` with a segment-sum backward (see :class:`_GroupedBias`)."""
    return _GroupedBias.apply(h, bias, sorted_expert, bounds)
