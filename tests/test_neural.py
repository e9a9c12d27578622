"""Tests of skmoe.neural: the sparse MoE layer against a float64 per-expert loop,
the routing and auxiliary losses on hand-made routings, capacity dropping,
and the two estimators (Pipeline, GridSearchCV, pickle,
reproducibility, batch independence, import without torch).

Everything runs on the CPU; CUDA-only paths (bfloat16 grouped matmul) are
exercised here in float32 through the same code.
"""

import math
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

torch = pytest.importorskip("torch")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skmoe.neural import SparseMoEClassifier, SparseMoERegressor  # noqa: E402
from skmoe.neural._grouped import check_grouped_mm, grouped_mm_function  # noqa: E402
from skmoe.neural._layer import SparseMoELayer, choose_backend, estimate_costs  # noqa: E402
from skmoe.neural._routing import (  # noqa: E402
    capacity,
    expert_counts,
    load_balancing_loss,
    make_plan,
    router_z_loss,
    top_k_gates,
)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    # The shapes here are tiny: extra OpenMP threads only spin, and under
    # pytest-xdist every worker would start one per core.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


HAS_GROUPED = grouped_mm_function() is not None
BACKENDS = ["dense", "padded"] + (["grouped"] if HAS_GROUPED else [])


# --------------------------------------------------------------------------- #
# The float64 per-expert-loop reference
# --------------------------------------------------------------------------- #
def _reference(layer, x, *, capacity_factor=None, logits=None):
    """Float64 MoE forward by an explicit loop over experts and choices.

    Returns the output and the float64 leaf tensors (x, router weight and
    bias, expert weights, expert biases) for gradient comparisons.
    """
    dd = torch.float64
    xr = x.detach().to(dd).requires_grad_()
    rw = layer.router.weight.detach().to(dd).requires_grad_()
    rb = layer.router.bias.detach().to(dd).requires_grad_()
    W = [w.detach().to(dd).requires_grad_() for w in layer.weights]
    B = [b.detach().to(dd).requires_grad_() for b in layer.biases]
    T, E, k = x.shape[0], layer.n_experts, layer.top_k
    if logits is None:
        logits = xr @ rw.T + rb
    probs = torch.softmax(logits, 1)
    if k == E:
        idx = torch.arange(E).expand(T, E)
        gates = probs
    else:
        top, idx = logits.topk(k, 1)
        gates = probs.gather(1, idx) if k == 1 else torch.softmax(top, 1)
    keep = np.ones((T, k), dtype=bool)
    if capacity_factor is not None:
        cap = math.ceil(capacity_factor * T * k / E)
        taken = np.zeros(E, dtype=int)
        for j in range(k):  # first choices first, then by row
            for t in range(T):
                e = int(idx[t, j])
                keep[t, j] = taken[e] < cap
                taken[e] += 1
    act = {"gelu": torch.nn.functional.gelu, "relu": torch.relu}[layer.activation]
    rows_out = []
    for t in range(T):
        acc = torch.zeros(layer.out_features, dtype=dd)
        for j in range(k):
            if not keep[t, j]:
                continue
            e = int(idx[t, j])
            h = xr[t]
            for i, (w, b) in enumerate(zip(W, B, strict=True)):
                h = w[e] @ h + b[e]
                if i < len(W) - 1:
                    h = act(h)
            acc = acc + gates[t, j] * h
        rows_out.append(acc)
    return torch.stack(rows_out), keep, (xr, rw, rb, *W, *B)


def _layer_leaves(layer, x):
    return (x, layer.router.weight, layer.router.bias, *layer.weights, *layer.biases)


def _compare_with_reference(layer, x, backend, *, capacity_factor=None, rtol=2e-5, atol=2e-6):
    x = x.clone().requires_grad_()
    out = layer(x, backend=backend)
    ref, keep, ref_leaves = _reference(layer, x, capacity_factor=capacity_factor)
    assert_allclose(
        out.output.detach().double().numpy(), ref.detach().numpy(), rtol=rtol, atol=atol
    )
    g = torch.randn(ref.shape, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    (out.output.double() * g).sum().backward()
    (ref * g).sum().backward()
    for mine, theirs in zip(_layer_leaves(layer, x), ref_leaves, strict=True):
        assert_allclose(mine.grad.double().numpy(), theirs.grad.numpy(), rtol=rtol, atol=atol)
    layer.zero_grad()
    return out, keep


def _make_layer(in_f, out_f, E, k, hidden, seed=0, **kwargs):
    gen = torch.Generator().manual_seed(seed)
    return SparseMoELayer(in_f, out_f, E, k, hidden_sizes=hidden, generator=gen, **kwargs)


# Widths that are multiples of 4 float32 values (16 bytes), which the
# grouped kernel needs, and odd widths for the other paths.
ALIGNED = (8, 4, (16, 8))
ODD = (5, 3, (7,))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("E, k", [(4, 1), (4, 2), (5, 3), (4, 4)])
def test_layer_matches_float64_loop(backend, E, k):
    in_f, out_f, hidden = ALIGNED
    layer = _make_layer(in_f, out_f, E, k, hidden, seed=E * 10 + k)
    x = torch.randn(40, in_f, generator=torch.Generator().manual_seed(1))
    out, _ = _compare_with_reference(layer, x, backend)
    assert out.backend == ("dense" if k == E else backend)


@pytest.mark.parametrize("backend", ["dense", "padded"])
def test_layer_odd_widths_and_float64(backend):
    in_f, out_f, hidden = ODD
    layer = _make_layer(in_f, out_f, 6, 2, hidden, activation="relu")
    x = torch.randn(30, in_f, generator=torch.Generator().manual_seed(2))
    _compare_with_reference(layer, x, backend)
    # The float64 path agrees with the float64 reference to rounding.
    out = layer(x.double(), backend=backend).output
    ref = _reference(layer, x)[0]
    assert out.dtype == torch.float64
    assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k", [1, 2])
def test_layer_capacity_matches_reference(backend, k):
    in_f, out_f, hidden = ALIGNED
    layer = _make_layer(in_f, out_f, 4, k, hidden, capacity_factor=0.75)
    # Skewed routing so that some experts overflow.
    with torch.no_grad():
        layer.router.bias.copy_(torch.tensor([2.0, 1.0, 0.0, -1.0]))
    x = torch.randn(32, in_f, generator=torch.Generator().manual_seed(3))
    layer.train()
    out, keep = _compare_with_reference(layer, x, backend, capacity_factor=0.75)
    assert int(out.n_dropped) == int((~keep).sum()) > 0
    layer.eval()  # no dropping in eval mode
    assert int(layer(x, backend=backend).n_dropped) == 0
    assert_allclose(
        layer(x, backend=backend).output.detach().numpy(),
        _reference(layer, x)[0].detach().numpy(),
        rtol=2e-5,
        atol=2e-6,
    )


def test_layer_no_bias():
    layer = SparseMoELayer(8, 4, 4, 2, hidden_sizes=(16,), bias=False)
    x = torch.randn(20, 8)
    outs = [layer(x, backend=b).output for b in BACKENDS]
    for o in outs[1:]:
        assert_allclose(o.detach().numpy(), outs[0].detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_layer_backward_is_deterministic(backend):
    layer = _make_layer(8, 8, 8, 2, (16,))
    x = torch.randn(64, 8, generator=torch.Generator().manual_seed(0))
    grads = []
    for _ in range(2):
        layer.zero_grad()
        layer(x, backend=backend).output.square().sum().backward()
        grads.append([p.grad.clone() for p in layer.parameters()])
    for a, b in zip(*grads, strict=True):
        assert torch.equal(a, b)


def test_grouped_backend_rejects_misaligned_widths():
    if not HAS_GROUPED:
        pytest.skip("this torch has no grouped_mm")
    layer = SparseMoELayer(5, 3, 4, 2, hidden_sizes=(7,))
    with pytest.raises(ValueError, match="multiple of 16 bytes"):
        layer(torch.randn(4, 5), backend="grouped")
    with pytest.raises(ValueError, match="float32/float16/bfloat16"):
        check_grouped_mm(torch.float64, (8, 8))


# --------------------------------------------------------------------------- #
# Routing and auxiliary losses on hand-made routings
# --------------------------------------------------------------------------- #
def test_top_k_gates_conventions():
    logits = torch.tensor([[2.0, 0.0, 1.0], [0.0, 3.0, 1.0]])
    p = torch.softmax(logits, 1)
    idx, gates, probs = top_k_gates(logits, 1)  # Switch: the router probability
    assert_array_equal(idx.numpy(), [[0], [1]])
    assert_allclose(gates.numpy(), [[p[0, 0]], [p[1, 1]]], rtol=1e-6)
    idx, gates, _ = top_k_gates(logits, 2)  # renormalised over the chosen two
    assert_array_equal(idx.numpy(), [[0, 2], [1, 2]])
    # Row 0 keeps logits (2, 1), row 1 keeps (3, 1): softmax of the pair.
    e1, e2 = math.exp(1.0), math.exp(2.0)
    assert_allclose(
        gates.numpy(), [[e1 / (e1 + 1), 1 / (e1 + 1)], [e2 / (e2 + 1), 1 / (e2 + 1)]], rtol=1e-6
    )
    idx, gates, _ = top_k_gates(logits, 3)  # dense softmax
    assert_array_equal(idx.numpy(), [[0, 1, 2], [0, 1, 2]])
    assert_allclose(gates.numpy(), p.numpy())


def test_load_balancing_loss_hand_made():
    # E=2, k=1: every row to expert 0, router probabilities (0.9, 0.1):
    # f = (1, 0), P = (0.9, 0.1), loss = 2 * (1 * 0.9 + 0 * 0.1) = 1.8.
    probs = torch.tensor([[0.9, 0.1]] * 4, requires_grad=True)
    idx = torch.zeros(4, 1, dtype=torch.int64)
    loss = load_balancing_loss(probs, expert_counts(idx, 2), 1)
    assert loss.item() == pytest.approx(1.8)
    loss.backward()  # d loss / d probs[t, e] = E * f_e / T
    assert_allclose(probs.grad.numpy(), [[2 * 1.0 / 4, 0.0]] * 4)

    # E=4, k=2, T=2: slots (0, 1) and (0, 2): counts (2, 1, 1, 0), f = counts / 4.
    probs = torch.tensor([[0.4, 0.3, 0.2, 0.1], [0.5, 0.1, 0.3, 0.1]])
    idx = torch.tensor([[0, 1], [0, 2]])
    assert_array_equal(expert_counts(idx, 4).numpy(), [2, 1, 1, 0])
    P = [0.45, 0.2, 0.25, 0.1]
    expected = 4 * (0.5 * P[0] + 0.25 * P[1] + 0.25 * P[2] + 0.0 * P[3])  # = 1.35
    assert float(load_balancing_loss(probs, expert_counts(idx, 4), 2)) == pytest.approx(expected)
    assert expected == pytest.approx(1.35)

    # Perfect balance gives 1 for any k.
    probs = torch.full((6, 3), 1 / 3)
    idx = torch.tensor([[0, 1], [1, 2], [2, 0], [0, 1], [1, 2], [2, 0]])
    assert float(load_balancing_loss(probs, expert_counts(idx, 3), 2)) == pytest.approx(1.0)


def test_router_z_loss_hand_made():
    # logsumexp of (0, 0) is ln 2, of (ln 3, 0) is ln 4.
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])
    expected = (math.log(2.0) ** 2 + math.log(4.0) ** 2) / 2
    assert float(router_z_loss(logits)) == pytest.approx(expected, rel=1e-6)


def _routed_layer(route_logits, k, capacity_factor=None):
    """A layer whose router logits equal its input (identity router)."""
    E = route_logits.shape[1]
    layer = SparseMoELayer(E, 4, E, k, hidden_sizes=(8,), capacity_factor=capacity_factor)
    with torch.no_grad():
        layer.router.weight.copy_(torch.eye(E))
        layer.router.bias.zero_()
    return layer


def test_layer_aux_losses_on_hand_made_routing():
    x = torch.tensor([[3.0, 1.0, 0.0, 0.0], [3.0, 0.0, 1.0, 0.0]])
    layer = _routed_layer(x, 2)
    out = layer(x, backend="padded")
    assert_array_equal(out.counts.numpy(), [2, 1, 1, 0])
    P = torch.softmax(x, 1).mean(0).numpy()
    expected = 4 * (0.5 * P[0] + 0.25 * P[1] + 0.25 * P[2])
    assert out.load_balancing_loss.item() == pytest.approx(expected, rel=1e-6)
    assert out.z_loss.item() == pytest.approx(float((torch.logsumexp(x, 1) ** 2).mean()), rel=1e-6)


# --------------------------------------------------------------------------- #
# Capacity dropping
# --------------------------------------------------------------------------- #
def test_capacity_formula():
    assert capacity(6, 2, 1, 1.0) == 3
    assert capacity(10, 4, 2, 1.25) == math.ceil(1.25 * 10 * 2 / 4)  # 7
    assert capacity(1, 64, 1, 1.0) == 1


def test_plan_sorts_and_counts():
    idx = torch.tensor([[2, 0], [0, 1], [2, 1]])
    plan = make_plan(idx, 3)
    flat = idx.reshape(-1)
    # Stable, first choices first inside an expert: expert 0 gets slot 2
    # (row 1, first choice) before slot 1 (row 0, second choice).
    assert_array_equal(plan.order.numpy(), [2, 1, 3, 5, 0, 4])
    assert_array_equal(plan.sorted_expert.numpy(), flat[plan.order].numpy())
    assert_array_equal(plan.counts.numpy(), [2, 2, 2])
    assert_array_equal(plan.ends.numpy(), [2, 4, 6])
    assert plan.ends.dtype == torch.int32
    assert_array_equal(plan.order[plan.inverse].numpy(), np.arange(6))
    assert_array_equal(plan.rank.numpy(), [0, 1, 0, 0, 1, 1])


def test_capacity_dropping_counts_k1():
    # Six rows, all routed to expert 0 of 2; C = ceil(1.0 * 6 * 1 / 2) = 3:
    # rows 0-2 kept, rows 3-5 dropped (their output is zero).
    x = torch.tensor([[2.0, 0.0]] * 6)
    layer = _routed_layer(x, 1, capacity_factor=1.0).train()
    for backend in ["dense", "padded"]:
        out = layer(x, backend=backend)
        assert int(out.n_dropped) == 3
        assert_array_equal(out.counts.numpy(), [6, 0])
        assert torch.all(out.output[3:] == 0)
        assert torch.all(out.output[:3].abs().sum(1) > 0)
    layer.eval()
    assert int(layer(x).n_dropped) == 0


def test_capacity_dropping_counts_k2_first_choices_first():
    # E=4, k=2, T=4, C = ceil(1.0 * 4 * 2 / 4) = 2.  First choices (0, 0, 1, 1),
    # second choices (1, 1, 0, 0): each of experts 0 and 1 gets two first
    # choices, which fill it, so the four second choices are dropped.
    x = torch.tensor(
        [[3.0, 2.0, 0.0, 0.0], [3.0, 2.0, 0.0, 0.0], [2.0, 3.0, 0.0, 0.0], [2.0, 3.0, 0.0, 0.0]]
    )
    layer = _routed_layer(x, 2, capacity_factor=1.0).train()
    plan = make_plan(top_k_gates(x, 2)[0], 4, capacity(4, 4, 2, 1.0))
    assert_array_equal(plan.keep.view(4, 2).numpy(), [[True, False]] * 4)
    for backend in BACKENDS:
        out = layer(x, backend=backend)
        assert int(out.n_dropped) == 4
    # With C = ceil(1.5 * 2) = 3, one second choice per expert survives, the
    # earliest row's: expert 0 keeps row 2's, expert 1 keeps row 0's.
    plan = make_plan(top_k_gates(x, 2)[0], 4, capacity(4, 4, 2, 1.5))
    assert_array_equal(
        plan.keep.view(4, 2).numpy(), [[True, True], [True, False], [True, True], [True, False]]
    )


# --------------------------------------------------------------------------- #
# Gating noise, dense softmax, backend choice
# --------------------------------------------------------------------------- #
def test_noisy_gating_only_in_training():
    layer = SparseMoELayer(8, 4, 8, 2, hidden_sizes=(8,), noisy_gating=True)
    with torch.no_grad():
        layer.noise.bias.fill_(1.0)
    x = torch.randn(50, 8)
    layer.train()
    a = layer(x, generator=torch.Generator().manual_seed(0)).output
    b = layer(x, generator=torch.Generator().manual_seed(1)).output
    c = layer(x, generator=torch.Generator().manual_seed(0)).output
    assert not torch.allclose(a, b)
    assert torch.equal(a, c)
    layer.eval()
    d = layer(x, generator=torch.Generator().manual_seed(0)).output
    e = layer(x, generator=torch.Generator().manual_seed(1)).output
    assert torch.equal(d, e)
    # The noise scale is learned: it gets a gradient through the gates.
    layer.train()
    layer(x, generator=torch.Generator().manual_seed(0)).output.square().sum().backward()
    assert layer.noise.weight.grad.abs().sum() > 0


def test_backend_choice():
    # top_k == n_experts is always dense.
    assert choose_backend("cpu", torch.float32, 4, 4, (8, 16, 8)) == "dense"
    # Many experts per chosen one and wide layers: sparse.
    assert choose_backend("cpu", torch.float32, 64, 1, (256, 1024, 256)) == "padded"
    # Two experts, both nearly always needed, tiny layers: dense.
    assert choose_backend("cpu", torch.float32, 3, 2, (4, 8, 1), n_rows=64) == "dense"
    dense, sparse = estimate_costs("cuda", 65536, 64, 2, (1024, 4096, 1024))
    assert dense > 10 * sparse
    dense, sparse = estimate_costs("cuda", 256, 8, 2, (16, 16, 1))
    assert dense < sparse
    # The choice depends on shapes only, and with a row hint not even on T.
    layer = SparseMoELayer(8, 4, 8, 2, hidden_sizes=(16,), n_rows_hint=256)
    assert {layer.resolve_backend(torch.device("cpu"), torch.float32, T) for T in (1, 10**6)} == {
        layer.resolve_backend(torch.device("cpu"), torch.float32, 256)
    }


# --------------------------------------------------------------------------- #
# Estimators
# --------------------------------------------------------------------------- #
_SMALL = dict(
    hidden_layer_sizes=(16,),
    n_experts=3,
    top_k=2,
    max_epochs=25,
    learning_rate=2e-2,
    n_iter_no_change=5,
    random_state=0,
)

# scikit-learn's estimator checks, check_param_validation and
# check_dataframe_column_names_consistency run on these estimators in
# tests/test_common.py, with the instances and expected failures listed in
# tests/_instances.py.


def _clf_data(n=300, seed=0):
    return make_classification(
        n_samples=n, n_features=6, n_informative=4, n_classes=3, class_sep=2.0, random_state=seed
    )


def _reg_data(n=300, seed=0):
    X, y = make_regression(n_samples=n, n_features=5, noise=5.0, random_state=seed)
    return X, y + 100.0  # an offset the target scaling must handle


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_classifier_learns_and_reports():
    X, y = _clf_data()
    params = {**_SMALL, "max_epochs": 40, "n_experts": 4, "early_stopping": True}
    clf = SparseMoEClassifier(**params).fit(X, y)
    assert clf.score(X, y) > 0.85
    proba = clf.predict_proba(X)
    assert proba.shape == (300, 3)
    assert_allclose(proba.sum(1), 1.0)
    assert_allclose(np.exp(clf.predict_log_proba(X)), proba, rtol=1e-10)
    assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])
    assert clf.expert_load_.shape == (4,)
    assert clf.expert_load_.sum() == pytest.approx(1.0)
    assert clf.expert_load_curve_.shape == (clf.n_iter_, 4)
    assert clf.dropped_fraction_ == 0.0
    assert len(clf.loss_curve_) == len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.device_ == "cpu"
    assert clf.backend_ in {"dense", "padded"}
    gate = clf.predict_gate(X)
    assert gate.shape == (300, 4)
    assert_allclose(gate.sum(1), 1.0)
    assert all(
        p.device.type == "cpu" and p.dtype == torch.float32 for p in clf.module_.parameters()
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_regressor_learns_multioutput_and_capacity():
    X, y = _reg_data()
    reg = SparseMoERegressor(**{**_SMALL, "max_epochs": 60}).fit(X, y)
    assert reg.score(X, y) > 0.9
    Y = np.column_stack([y, -2 * y])
    reg2 = SparseMoERegressor(**{**_SMALL, "capacity_factor": 0.5, "noisy_gating": True}).fit(X, Y)
    assert reg2.predict(X).shape == (300, 2)
    assert reg2.n_outputs_ == 2
    # Capacity for half the slots of a batch (rounded up per batch; the 270
    # training rows are one batch of the default 512): about half are dropped.
    assert 0.45 < reg2.dropped_fraction_ < 0.75
    assert np.all(reg2.dropped_fraction_curve_ > 0.45)


def _fit_quiet(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y, **kw)


@pytest.mark.parametrize(
    "Est, data", [(SparseMoERegressor, _reg_data), (SparseMoEClassifier, _clf_data)]
)
def test_predict_is_batch_independent(Est, data):
    # Noise and capacity limits are training-only: a row's prediction is the
    # same whatever other rows share its batch.
    X, y = data(120)
    est = _fit_quiet(Est(**{**_SMALL, "noisy_gating": True, "capacity_factor": 0.5}), X, y)
    method = est.predict_proba if hasattr(est, "predict_proba") else est.predict
    full = method(X)
    one_by_one = np.concatenate([method(X[i : i + 1]) for i in range(len(X))])
    perm = np.random.RandomState(0).permutation(len(X))
    shuffled = np.empty_like(full)
    shuffled[perm] = method(X[perm])
    assert_allclose(one_by_one, full, rtol=1e-12, atol=1e-14)
    assert_allclose(shuffled, full, rtol=1e-12, atol=1e-14)
    # Doubling the batch with copies of one row changes nothing either.
    crowd = np.repeat(X[:1], 50, axis=0)
    assert_allclose(method(np.vstack([X[1:2], crowd]))[0], full[1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "Est, data", [(SparseMoERegressor, _reg_data), (SparseMoEClassifier, _clf_data)]
)
def test_same_random_state_same_predictions(Est, data):
    X, y = data(150)
    params = {**_SMALL, "noisy_gating": True, "capacity_factor": 1.0}
    a = _fit_quiet(Est(**params), X, y).predict(X)
    b = _fit_quiet(Est(**params), X, y).predict(X)
    assert_array_equal(a, b)
    if Est is SparseMoERegressor:
        c = _fit_quiet(Est(**{**params, "random_state": 1}), X, y).predict(X)
        assert not np.allclose(a, c)


@pytest.mark.parametrize(
    "Est, data", [(SparseMoERegressor, _reg_data), (SparseMoEClassifier, _clf_data)]
)
def test_pickle_roundtrip(Est, data):
    X, y = data(100)
    est = _fit_quiet(Est(**_SMALL), X, y)
    restored = pickle.loads(pickle.dumps(est))
    method = "predict_proba" if hasattr(est, "predict_proba") else "predict"
    assert_array_equal(getattr(restored, method)(X), getattr(est, method)(X))
    assert_array_equal(restored.expert_load_, est.expert_load_)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_and_grid_search():
    X, y = _clf_data(200)
    pipe = make_pipeline(StandardScaler(), SparseMoEClassifier(**_SMALL))
    grid = GridSearchCV(
        pipe,
        {"sparsemoeclassifier__top_k": [1, 2], "sparsemoeclassifier__n_experts": [2, 3]},
        cv=2,
    ).fit(X, y)
    assert grid.best_score_ > 0.6
    assert set(grid.best_params_) == {
        "sparsemoeclassifier__top_k",
        "sparsemoeclassifier__n_experts",
    }
    Xr, yr = _reg_data(200)
    reg = make_pipeline(StandardScaler(), SparseMoERegressor(**_SMALL)).fit(Xr, yr)
    assert reg.score(Xr, yr) > 0.5


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_dense_softmax_when_top_k_equals_n_experts():
    X, y = _reg_data(100)
    reg = SparseMoERegressor(**{**_SMALL, "top_k": 3}).fit(X, y)
    assert reg.backend_ == "dense"
    assert_allclose(reg.expert_load_, [1 / 3] * 3)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sample_weight_is_a_loss_weight():
    # Weights 2 on half the rows equal duplicating those rows when the
    # whole data set is one batch and nothing is held out or shuffled away:
    # the loss, hence every step, is the same.
    X, y = _reg_data(40)
    # (Up to float32 rounding, which Adam's normalised steps amplify a little.)
    params = {**_SMALL, "batch_size": 1000, "early_stopping": False, "max_epochs": 5}
    sw = np.where(np.arange(40) < 20, 2.0, 1.0)
    weighted = SparseMoERegressor(**params).fit(X, y, sample_weight=sw).predict(X)
    X_rep, y_rep = np.vstack([X, X[:20]]), np.concatenate([y, y[:20]])
    repeated = SparseMoERegressor(**params).fit(X_rep, y_rep).predict(X)
    unweighted = SparseMoERegressor(**params).fit(X, y).predict(X)
    atol = 2e-3 * np.std(y)
    assert_allclose(weighted, repeated, rtol=0, atol=atol)
    assert np.max(np.abs(unweighted - repeated)) > 10 * atol


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_zero_weight_rows_are_ignored():
    X, y = _clf_data(100)
    X_noise = np.random.RandomState(1).normal(size=(30, X.shape[1]))
    y_noise = np.zeros(30, dtype=int)
    sw = np.r_[np.ones(100), np.zeros(30)]
    a = SparseMoEClassifier(**_SMALL).fit(
        np.vstack([X, X_noise]), np.r_[y, y_noise], sample_weight=sw
    )
    b = SparseMoEClassifier(**_SMALL).fit(X, y)
    assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_verbose_reports_loss_and_load(capsys):
    X, y = _clf_data(80)
    params = {**_SMALL, "max_epochs": 2, "early_stopping": True}
    _fit_quiet(SparseMoEClassifier(**params, verbose=2), X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Epoch 1: loss=")
    assert "validation loss=" in lines[0] and "expert load=[" in lines[0] and "dropped=" in lines[0]
    assert lines[2].startswith("SparseMoE training: ran all max_epochs=2 epochs, best validation")
    # verbose=1: the summary line only.
    clf = _fit_quiet(SparseMoEClassifier(**params, verbose=1), X, y)
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert line == lines[2] and f"{clf.best_loss_:.6g}" in line


def test_early_stopping_and_convergence_warning():
    X, y = _reg_data(100)
    with pytest.warns(ConvergenceWarning, match="max_epochs=2"):
        SparseMoERegressor(**{**_SMALL, "max_epochs": 2}).fit(X, y)
    reg = _fit_quiet(
        SparseMoERegressor(**{**_SMALL, "max_epochs": 500, "n_iter_no_change": 3}), X, y
    )
    assert reg.n_iter_ < 500
    # The best weights are kept: the final validation loss is the best one.
    assert reg.best_loss_ == pytest.approx(min(reg.validation_loss_curve_))


def test_early_stopping_auto_holds_out_for_regression_only():
    # "auto": the regressor holds rows out and keeps its best weights; the
    # classifier trains on every row and watches the training loss.
    params = {**_SMALL, "max_epochs": 3}
    X, y = _reg_data(100)
    reg = _fit_quiet(SparseMoERegressor(**params), X, y)
    assert reg.early_stopping == "auto"
    assert len(reg.validation_loss_curve_) == reg.n_iter_
    Xc, yc = _clf_data(100)
    clf = _fit_quiet(SparseMoEClassifier(**params), Xc, yc)
    assert clf.early_stopping == "auto"
    assert clf.validation_loss_curve_ is None
    assert clf.best_loss_ in clf.loss_curve_  # the training loss is watched
    # Explicit values override "auto" for both.
    clf = _fit_quiet(SparseMoEClassifier(**{**params, "early_stopping": True}), Xc, yc)
    assert len(clf.validation_loss_curve_) == clf.n_iter_
    reg = _fit_quiet(SparseMoERegressor(**{**params, "early_stopping": False}), X, y)
    assert reg.validation_loss_curve_ is None
    with pytest.raises(ValueError, match="early_stopping"):
        SparseMoERegressor(**{**params, "early_stopping": "yes"}).fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(top_k=4, n_experts=3), "top_k=4 is larger than n_experts=3"),
        (dict(hidden_layer_sizes=(8, 0)), "positive integers"),
    ],
)
def test_invalid_combinations(params, match):
    X, y = _reg_data(30)
    with pytest.raises(ValueError, match=match):
        SparseMoERegressor(**{**_SMALL, **params}).fit(X, y)


def test_cuda_requested_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    X, y = _reg_data(30)
    with pytest.raises(ValueError, match="device='cuda'"):
        SparseMoERegressor(**{**_SMALL, "device": "cuda"}).fit(X, y)


def test_single_class_raises():
    X = np.random.RandomState(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="only one class"):
        SparseMoEClassifier(**_SMALL).fit(X, np.zeros(10))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_affine_experts_and_clone():
    X, y = _reg_data(60)
    reg = SparseMoERegressor(**{**_SMALL, "hidden_layer_sizes": ()}).fit(X, y)
    assert reg.module_.widths == (5, 1)
    assert reg.score(X, y) > 0.9
    assert clone(reg).get_params() == reg.get_params()


# --------------------------------------------------------------------------- #
# Without torch
# --------------------------------------------------------------------------- #
def _run(code):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_import_skmoe_does_not_import_torch():
    result = _run(
        """
        import sys
        import skmoe, skmoe.neural
        assert "torch" not in sys.modules, "torch was imported"
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_without_torch_clear_import_error():
    result = _run(
        """
        import sys

        class NoTorch:
            # An import hook that behaves as if torch were not installed.
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, NoTorch())
        import skmoe
        import skmoe.neural
        from skmoe.neural import SparseMoEClassifier, SparseMoERegressor
        for make in (SparseMoERegressor, SparseMoEClassifier):
            try:
                make()
            except ImportError as exc:
                assert "pip install" in str(exc) and "skmoe[torch]" in str(exc), exc
            else:
                raise AssertionError("no ImportError")
        try:
            skmoe.neural.SparseMoELayer
        except ImportError as exc:
            assert "pip install" in str(exc)
        else:
            raise AssertionError("no ImportError for the layer")
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "Est, data", [(SparseMoERegressor, _reg_data), (SparseMoEClassifier, _clf_data)]
)
def test_cuda_width_padding_path(Est, data, monkeypatch):
    # On CUDA the estimators pad the layer's input and output widths to
    # multiples of 8 (the grouped kernel's alignment); run that path here.
    from skmoe.neural import _training

    monkeypatch.setattr(_training, "aligned_width", lambda n, device: -(-n // 8) * 8)
    X, y = data(150)
    est = Est(**{**_SMALL, "max_epochs": 40}).fit(X, y)
    n_out = 3 if Est is SparseMoEClassifier else 1
    assert est.module_.in_features == 8 and est.module_.out_features == 8
    assert est.score(X, y) > 0.85
    assert est.predict(X).shape == (150,)
    assert est.predict_gate(X).shape == (150, 3)
    if Est is SparseMoEClassifier:
        assert est.predict_proba(X).shape == (150, n_out)
        assert_allclose(est.predict_proba(X).sum(1), 1.0)


def test_cuda_model_predicts_without_cuda():
    # A model fitted with device="cuda" has its state on the CPU; on a
    # machine without CUDA it predicts there (simulated: fit on the CPU,
    # then ask for CUDA, pickle and predict).
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    X, y = _reg_data(60)
    reg = _fit_quiet(SparseMoERegressor(**_SMALL), X, y)
    expected = reg.predict(X)
    reg.set_params(device="cuda")
    assert_array_equal(pickle.loads(pickle.dumps(reg)).predict(X), expected)
