"""skmoe.inspection.bootstrap_params: determinism, label alignment, agreement with summary."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skmoe import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe._bootstrap import _tree_automorphisms
from skmoe.gating import GaussianGate, SoftmaxGate
from skmoe.inspection import BootstrapResults, bootstrap_params


def _data(n, seed):
    rng = np.random.RandomState(seed)
    x = rng.uniform(-2, 2, size=n)
    z = rng.uniform(size=n) < 1 / (1 + np.exp(-(2 * x + 0.3)))
    y = np.where(z, -1 - x, 1 + 2 * x) + np.where(z, 0.7, 0.5) * rng.standard_normal(n)
    return x[:, None], y


def _moe(**kw):
    kw = {
        "n_experts": 2,
        "gate": SoftmaxGate(alpha=0.0, max_iter=50),
        "tol": 1e-8,
        "max_iter": 1000,
        "random_state": 0,
        **kw,
    }
    return MixtureOfExpertsRegressor(**kw)


def test_identical_for_any_n_jobs():
    X, y = _data(200, 0)
    moe = _moe(gate=GaussianGate(), tol=1e-4).fit(X, y)
    one = bootstrap_params(moe, X, y, n_boot=4, n_jobs=1, random_state=3)
    two = bootstrap_params(moe, X, y, n_boot=4, n_jobs=2, random_state=3)
    assert isinstance(one, BootstrapResults)
    assert_array_equal(one.replicates, two.replicates)
    assert_array_equal(one.conf_int(), two.conf_int())
    assert one.param_names == moe.summary(X, y).param_names
    other = bootstrap_params(moe, X, y, n_boot=4, n_jobs=1, random_state=4)
    assert not np.array_equal(one.replicates, other.replicates)


@pytest.mark.parametrize("kind", ["nonparametric", "parametric"])
def test_standard_errors_agree_with_the_observed_information(kind):
    """Well specified, n=500: bootstrap and observed-information standard errors
    agree within 25% (80 refits: the bootstrap s.e. itself is ~8% noisy)."""
    X, y = _data(500, 0)
    moe = _moe().fit(X, y)
    res = moe.summary(X, y)
    boot = bootstrap_params(moe, X, y, n_boot=80, kind=kind, n_jobs=2, random_state=0)
    assert boot.n_failed == 0
    assert_allclose(boot.bse, res.bse, rtol=0.25)
    # Percentile intervals bracket the estimate and have about the Wald width.
    ci = boot.conf_int()
    assert np.all(ci[:, 0] < res.params) and np.all(res.params < ci[:, 1])
    assert_allclose(ci[:, 1] - ci[:, 0], np.diff(res.conf_int(), axis=1)[:, 0], rtol=0.35)
    frame = boot.to_frame()
    assert list(frame.index) == res.param_names


def test_refits_are_relabelled_to_the_original():
    """A refit that numbers its experts the other way round is mapped back: the
    gate's contrast changes sign, the expert blocks swap."""
    from skmoe._bootstrap import _align, _flat

    X, y = _data(300, 1)
    moe = _moe().fit(X, y)
    _, params, layout = _flat(moe, X, y)
    swapped = np.concatenate([-params[:2], params[5:8], params[2:5]])
    out, moved = _align(params, swapped, layout, np.ones_like(params))
    assert not moved
    assert_allclose(out, params)


def test_tree_symmetries():
    auts = _tree_automorphisms(2, 2)
    assert len(auts) == 8  # 2 ** 3 internal nodes
    leaf_perms = {tuple(a[2]) for a in auts}
    assert len(leaf_perms) == 8
    assert (1, 0, 2, 3) in leaf_perms and (2, 3, 0, 1) in leaf_perms
    assert (0, 2, 1, 3) not in leaf_perms  # 1 and 2 sit under different nodes


def test_classifier_runs():
    from skmoe.datasets import make_moe_classification

    X, y, _ = make_moe_classification(n_samples=200, random_state=0)
    clf = MixtureOfExpertsClassifier(n_experts=2, gate="constant", random_state=0).fit(X, y)
    boot = bootstrap_params(clf, X, y, n_boot=3, kind="parametric", random_state=0)
    assert boot.replicates.shape == (3, 1 + 2 * 3 * 1)  # a gate contrast, 2 experts x 3 coefs
    assert boot.param_names[0] == "gate:const[1]"


def test_bad_inputs_raise():
    X, y = _data(100, 0)
    moe = _moe()
    with pytest.raises(Exception, match="not fitted"):
        bootstrap_params(moe, X, y)
    moe.fit(X, y)
    with pytest.raises(ValueError, match="n_boot must be an integer >= 2; got 1"):
        bootstrap_params(moe, X, y, n_boot=1)
    with pytest.raises(ValueError, match="kind must be 'nonparametric' or 'parametric'; got 'x'"):
        bootstrap_params(moe, X, y, kind="x")
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\); got 2"):
        bootstrap_params(moe, X, y, alpha=2)
    with pytest.raises(ValueError, match=r"y must have shape \(100,\)"):
        bootstrap_params(moe, X, y[:5])


def test_dataframe_with_named_feature_subsets():
    """Resampled rows stay a DataFrame: gate and expert features chosen by name
    still resolve in the refits, and the names are the summary's."""
    import warnings

    pd = pytest.importorskip("pandas")
    X, y = _data(150, 2)
    df = pd.DataFrame({"g": X[:, 0], "e": X[:, 0] ** 2})
    moe = _moe(gate_features=["g"], expert_features=["e"]).fit(df, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "X does not have valid feature names"
        boot = bootstrap_params(moe, df, y, n_boot=3, random_state=0)
    assert boot.param_names == moe.summary(df, y).param_names
    assert boot.param_names[0] == "gate:g[1]" and "e[0]" in boot.param_names
    assert boot.n_failed == 0 and np.all(np.isfinite(boot.replicates))


def test_markov_switching_models_are_refused_by_name():
    # A fitted Markov-switching model is not a row-exchangeable mixture: the
    # error names the supported alternative instead of "not fitted".
    from skmoe import MarkovSwitchingRegressor

    rng = np.random.RandomState(0)
    y = np.r_[rng.randn(60), rng.randn(60) + 3.0]
    ms = MarkovSwitchingRegressor(n_regimes=2, random_state=0).fit(None, y)
    with pytest.raises(TypeError, match='cov_type="robust"'):
        bootstrap_params(ms, None, y, n_boot=5)
