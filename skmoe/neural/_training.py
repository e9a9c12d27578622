"""Mini-batch AdamW training and batched prediction of a :class:`SparseMoELayer` (PyTorch).

The estimators of :mod:`skmoe.neural._estimators` validate, encode and
scale the data on the host; this module moves it to the device once, runs
the epochs and reads values back to the host once per epoch (the stopping
rule and the ``verbose`` line need them), never once per batch.
"""

import copy
import time

import numpy as np
import torch
import torch.nn.functional as F

from .._progress import progress
from ._layer import SparseMoELayer


def resolve_device(device, *, predicting=False):
    """``"auto"`` -> CUDA when available, else the CPU.

    When ``predicting``, ``"cuda"`` without CUDA falls back to the CPU: a
    model trained on a GPU (its fitted state is on the CPU) predicts anywhere.
    """
    if device == "auto" or (predicting and device == "cuda" and not torch.cuda.is_available()):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device='cuda' but torch.cuda.is_available() is False on this machine "
            f"(torch {torch.__version__}); use device='auto' or 'cpu'."
        )
    return device


def expert_dtype_for(device):
    """bfloat16 expert matmuls on CUDA (where supported), float32 elsewhere."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def aligned_width(n, device):
    """Width of the layer for ``n`` columns: a multiple of 8 on CUDA, else ``n``.

    The grouped matmul needs 16-byte aligned rows (8 bfloat16 values); on
    CUDA the estimators pad the input with zero columns and the output with
    unused columns (sliced off before the loss and the predictions) so that
    the fast path applies to every expert layer.
    """
    return -(-n // 8) * 8 if device.type == "cuda" else n


def build_layer(n_features, n_outputs, params, seed):
    """The estimator's layer, initialised from a CPU generator seeded with ``seed``."""
    generator = torch.Generator().manual_seed(int(seed))
    return SparseMoELayer(
        n_features,
        n_outputs,
        params["n_experts"],
        top_k=params["top_k"],
        hidden_sizes=params["hidden_sizes"],
        activation=params["activation"],
        bias=True,
        noisy_gating=params["noisy_gating"],
        capacity_factor=params["capacity_factor"],
        backend="auto",
        n_rows_hint=params["batch_size"],
        generator=generator,
    )


def _row_losses(task, output, target, n_outputs):
    output = output[:, :n_outputs]  # the layer may have padding columns (CUDA)
    if task == "classification":
        return F.cross_entropy(output, target, reduction="none")
    return (output - target).square().mean(dim=1)


def _to_device(array, device, dtype, width=None):
    """Array to device; zero columns appended up to ``width`` (the layer's input width)."""
    tensor = torch.as_tensor(np.ascontiguousarray(array)).to(device=device, dtype=dtype)
    if width is not None and tensor.shape[1] < width:
        tensor = F.pad(tensor, (0, width - tensor.shape[1]))
    return tensor


def _target_dtype(task):
    return torch.int64 if task == "classification" else torch.float32


@torch.no_grad()
def _evaluate(layer, X, T, W, task, n_outputs, expert_dtype, batch_size):
    """Weighted mean task loss over (X, T, W) in eval mode, as a device scalar."""
    total = torch.zeros((), dtype=torch.float64, device=X.device)
    for start in range(0, X.shape[0], batch_size):
        sl = slice(start, start + batch_size)
        out = layer(X[sl], expert_dtype=expert_dtype).output
        total += (_row_losses(task, out, T[sl], n_outputs) * W[sl]).sum().double()
    return total / W.sum().double()


def train(
    layer,
    X_train,
    T_train,
    W_train,
    X_val,
    T_val,
    W_val,
    *,
    task,
    n_outputs,
    params,
    device,
    seeds,
    verbose,
):
    """Train ``layer`` in place; return its history (host values).

    ``X_*`` float arrays already scaled, ``T_*`` targets (int codes or scaled
    floats), ``W_*`` sample weights (positive); ``X_val`` None means no
    validation set: the stopping rule then watches the training loss.
    """
    expert_dtype = expert_dtype_for(device)
    layer.to(device)
    width = layer.in_features
    Xtr = _to_device(X_train, device, torch.float32, width)
    Ttr = _to_device(T_train, device, _target_dtype(task))
    Wtr = _to_device(W_train, device, torch.float32)
    has_val = X_val is not None
    if has_val:
        Xva = _to_device(X_val, device, torch.float32, width)
        Tva = _to_device(T_val, device, _target_dtype(task))
        Wva = _to_device(W_val, device, torch.float32)
    n = Xtr.shape[0]
    batch_size = min(params["batch_size"], n)
    E = layer.n_experts
    backend = layer.resolve_backend(device, expert_dtype, batch_size)

    shuffle_gen = torch.Generator().manual_seed(int(seeds["shuffle"]))
    noise_gen = torch.Generator(device=device).manual_seed(int(seeds["noise"]))
    optimizer = torch.optim.AdamW(
        layer.parameters(),
        lr=params["learning_rate"],
        weight_decay=params["weight_decay"],
        foreach=device.type == "cuda",
    )
    aux_w, z_w = params["aux_loss_weight"], params["z_loss_weight"]

    history = dict(loss=[], aux_loss=[], val_loss=[], load=[], dropped=[], epoch_time=[])
    best, best_state, no_improve, converged = np.inf, None, 0, False
    report = progress(verbose, total=params["max_epochs"], desc="SparseMoE epochs")
    for epoch in range(params["max_epochs"]):
        t0 = time.perf_counter()
        layer.train()
        perm = torch.randperm(n, generator=shuffle_gen).to(device)
        task_sum = torch.zeros((), dtype=torch.float64, device=device)
        aux_sum = torch.zeros((), dtype=torch.float64, device=device)
        counts = torch.zeros(E, dtype=torch.int64, device=device)
        dropped = torch.zeros((), dtype=torch.int64, device=device)
        n_batches = 0
        for start in range(0, n, batch_size):
            idx = perm[start : start + batch_size]
            xb, tb, wb = Xtr[idx], Ttr[idx], Wtr[idx]
            out = layer(xb, expert_dtype=expert_dtype, generator=noise_gen, backend=backend)
            w_sum = wb.sum()
            task_loss = (_row_losses(task, out.output, tb, n_outputs) * wb).sum() / w_sum
            aux = aux_w * out.load_balancing_loss + z_w * out.z_loss
            loss = task_loss + aux
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            task_sum += task_loss.detach().double() * w_sum.detach().double()
            aux_sum += aux.detach().double()
            counts += out.counts
            dropped += out.n_dropped
            n_batches += 1
        # One read-back per epoch.
        train_loss = float(task_sum / Wtr.sum().double())
        counts_host = counts.cpu().numpy()
        slots = max(int(counts_host.sum()), 1)
        history["loss"].append(train_loss)
        history["aux_loss"].append(float(aux_sum) / max(n_batches, 1))
        history["load"].append(counts_host / slots)
        history["dropped"].append(int(dropped) / slots)
        if has_val:
            layer.eval()
            monitored = float(
                _evaluate(layer, Xva, Tva, Wva, task, n_outputs, expert_dtype, batch_size)
            )
            history["val_loss"].append(monitored)
        else:
            monitored = train_loss
        history["epoch_time"].append(time.perf_counter() - t0)
        if verbose:
            load = " ".join(f"{v:.3f}" for v in history["load"][-1])
            val = f", validation loss={monitored:.6f}" if has_val else ""
            postfix = dict(loss=f"{train_loss:.4g}")
            if has_val:
                postfix["val_loss"] = f"{monitored:.4g}"
            report.step(
                f"Epoch {epoch + 1}: loss={train_loss:.6f}, aux loss={history['aux_loss'][-1]:.5f}"
                f"{val}, expert load=[{load}], dropped={100 * history['dropped'][-1]:.2f}%"
                f" ({history['epoch_time'][-1]:.2f}s)",
                **postfix,
            )
        if not np.isfinite(monitored):
            raise FloatingPointError(
                f"The training loss became {monitored} at epoch {epoch + 1}; lower learning_rate."
            )
        if monitored < best - params["tol"]:
            best, no_improve = monitored, 0
            if has_val:
                best_state = copy.deepcopy(layer.state_dict())
        else:
            no_improve += 1
            if no_improve >= params["n_iter_no_change"]:
                converged = True
                break
    n_epochs = len(history["loss"])
    what = "validation loss" if has_val else "training loss"
    if converged:
        how, status = f"stopped early after {n_epochs} epochs", "converged"
    else:
        how, status = f"ran all max_epochs={n_epochs} epochs", "max_epochs reached"
    report.done(f"SparseMoE training: {how}, best {what} {best:.6g}", status)
    report.close()
    if has_val and best_state is not None:
        layer.load_state_dict(best_state)
    layer.eval()
    history["converged"] = converged
    history["best"] = best
    history["backend"] = backend
    return history


@torch.no_grad()
def predict_raw(layer, X, device, n_outputs, batch_size=4096):
    """Layer outputs for ``X`` (already scaled) in eval mode; float64 numpy and the load.

    On the CPU the whole forward runs in float64 (rounding then cannot
    depend on how rows are batched); on CUDA the router runs in float32 and
    the experts in bfloat16.  Returns ``(outputs, counts)``: the first
    ``n_outputs`` output columns, and the number of slots routed to each
    expert.
    """
    if device.type == "cpu":
        in_dtype, expert_dtype = torch.float64, None
    else:
        in_dtype, expert_dtype = torch.float32, expert_dtype_for(device)
    layer = layer.eval()
    if next(layer.parameters()).device != device:
        layer = copy.deepcopy(layer).to(device)
    outputs = []
    counts = torch.zeros(layer.n_experts, dtype=torch.int64, device=device)
    for start in range(0, X.shape[0], batch_size):
        xb = _to_device(X[start : start + batch_size], device, in_dtype, layer.in_features)
        out = layer(xb, expert_dtype=expert_dtype)
        outputs.append(out.output[:, :n_outputs].double().cpu())
        counts += out.counts
    return torch.cat(outputs).numpy(), counts.cpu().numpy()
