"""``summary()`` of MarkovSwitchingRegressor, against statsmodels' MarkovRegression.

The oracle is statsmodels (its Hamilton filter, its complex-step Hessian of
the log-likelihood in the constrained parameters, ``cov_type="approx"``) on
statsmodels' own macrodata series, at skmoe's optimum.  The rendering tests
parse the HTML, read the text table back and round-trip the data frame.
"""

import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from scipy.stats import norm
from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

from skmoe import MarkovSwitchingRegressor, MixtureOfExpertsRegressor
from skmoe.sequence._markov_inference import markov_information


@pytest.fixture(scope="module")
def macro():
    return sm.datasets.macrodata.load_pandas().data


def _fit(macro, cols, start="steady-state"):
    y = macro["infl"]
    X = macro[cols] if cols else np.zeros((len(y), 1))
    est = MarkovSwitchingRegressor(
        n_regimes=2, start=start, n_init=5, expert_features=cols, random_state=0
    ).fit(X, y)
    return est, X, y


def _other(match):
    return f"[{1 - int(match[1])}]"


def _sm_name(name, cols):
    for j, c in enumerate(cols):
        name = name.replace(f"{c}[", f"x{j + 1}[")
    return name


@pytest.mark.parametrize("cols", [["unemp"], []], ids=["exog", "mean-only"])
def test_markov_summary_matches_statsmodels(macro, cols):
    est, X, y = _fit(macro, cols)
    res = est.summary(X, y)
    assert res.header["Converged"]
    mod = MarkovRegression(
        y.to_numpy(),
        k_regimes=2,
        exog=macro[cols].to_numpy() if cols else None,
        switching_variance=True,
    )
    assert sorted(_sm_name(n, cols) for n in res.param_names) == sorted(mod.param_names)
    sm_names = [_sm_name(n, cols) for n in res.param_names]
    order = [sm_names.index(m) for m in mod.param_names]
    ours = res.params[order]

    # Same optimum: statsmodels' own (complex-step) score vanishes at skmoe's
    # estimate, and its own fit, up to a relabelling of the regimes, reaches
    # the same point with a log-likelihood no higher.
    score = mod.score(ours)
    assert np.max(np.abs(score)) < 1e-4, score
    own = mod.fit(search_reps=20, rng=np.random.default_rng(0))
    assert own.llf <= res.llf + 1e-9
    p_own = np.asarray(own.params)
    sig = [mod.param_names.index(f"sigma2[{k}]") for k in range(2)]
    if (p_own[sig[0]] < p_own[sig[1]]) != (ours[sig[0]] < ours[sig[1]]):
        # Swap the labels of statsmodels' regimes: p[0->0] <-> 1 - p[1->0].
        names = mod.param_names
        swapped = p_own.copy()
        for i, n in enumerate(names):
            if not n.startswith("p["):
                swapped[i] = p_own[names.index(re.sub(r"\[(\d)\]", _other, n))]
        i00, i10 = mod.param_names.index("p[0->0]"), mod.param_names.index("p[1->0]")
        swapped[i00], swapped[i10] = 1.0 - p_own[i10], 1.0 - p_own[i00]
        p_own = swapped
    # 1e-3, not 1e-4: statsmodels' BFGS stops once its gradient is below
    # 1e-5 (gtol), where it is still 3.7e-4 (relative) from the maximum on
    # the exog model; skmoe's point has the larger likelihood (asserted
    # above) and statsmodels' score vanishes there (asserted above).
    assert_allclose(p_own, ours, rtol=1e-3)

    # At that optimum, the standard errors, the likelihood, the criteria and
    # the expected durations are statsmodels'.  Measured: bse agree to 4e-10.
    ref = mod.smooth(ours, cov_type="approx")
    assert_allclose(res.bse[order], ref.bse, rtol=1e-4)
    assert_allclose(res.cov_params()[np.ix_(order, order)], ref.cov_params(), rtol=1e-4)
    assert_allclose(res.llf, ref.llf, rtol=1e-12)
    assert res.nobs == ref.nobs == len(y)
    assert_allclose([res.aic, res.bic], [ref.aic, ref.bic], rtol=1e-12)
    assert_allclose(res.expected_durations, ref.expected_durations, rtol=1e-10)
    assert_allclose(
        res.conf_int(), res.params[:, None] + np.outer(res.bse, [-1, 1]) * norm.ppf(0.975)
    )
    # The estimator's own criteria agree with the results'.
    assert_allclose(res.aic, est.aic(X, y), rtol=1e-12)
    assert_allclose(res.llf, est.log_likelihood(X, y).sum(), rtol=1e-12)
    # Coefficients test against zero; variances and probabilities do not.
    z = res.tvalues
    is_coef = [not n.startswith(("sigma2", "p[")) for n in res.param_names]
    assert_allclose(z[is_coef], (res.params / res.bse)[is_coef])
    assert np.all(np.isnan(z[~np.array(is_coef)]))
    assert_allclose(res.pvalues[is_coef], 2 * norm.sf(np.abs(z[is_coef])))


class _Tables(HTMLParser):
    """Rows of every <table>: lists of cell texts, header cells included."""

    def __init__(self):
        super().__init__()
        self.tables, self.captions, self._cell, self._row = [], [], None, None
        self._in_caption = False

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "caption":
            self._in_caption = True
            self.captions.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr":
            self.tables[-1].append(self._row)
        elif tag == "caption":
            self._in_caption = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        elif self._in_caption:
            self.captions[-1] += data


@pytest.fixture(scope="module")
def fitted(macro):
    est, X, y = _fit(macro, ["unemp"])
    return est, X, y, est.summary(X, y, alpha=0.1)


def test_summary_html_parses_and_matches(fitted):
    _, _, _, res = fitted
    page = res._repr_html_()
    parser = _Tables()
    parser.feed(page)
    parser.close()
    # A header table, then one table per group (two regimes, transitions).
    assert len(parser.tables) == 1 + len(res.groups) == 4
    assert parser.captions[1:] == [title for title, _ in res.groups]
    header = dict(parser.tables[0])
    assert int(header["No. Observations:"]) == res.nobs
    assert float(header["Log Likelihood:"]) == pytest.approx(res.llf, abs=1e-4)
    for (_, idx), rows in zip(res.groups, parser.tables[1:], strict=True):
        assert rows[0] == ["", "coef", "std err", "z", "P>|z|", "[0.05", "0.95]"]
        assert [r[0] for r in rows[1:]] == [res.param_names[i] for i in idx]
        ci = res.conf_int()
        for i, r in zip(idx, rows[1:], strict=True):
            got = [float(v) for v in (r[1], r[2], r[5], r[6])]
            want = [res.params[i], res.bse[i], ci[i, 0], ci[i, 1]]
            assert_allclose(got, want, rtol=1e-3, atol=1e-4)


def test_summary_text_table_aligns(fitted):
    _, _, _, res = fitted
    text = str(res)
    lines = text.splitlines()
    width = len(lines[1])
    assert set(lines[1]) == {"="}
    # Every line of the header and the tables has the full width (the notes
    # are wrapped to it).
    assert all(len(line) <= width for line in lines)
    rows = [ln for ln in lines if ln.split() and ln.split()[0] in res.param_names]
    assert len(rows) == len(res.param_names)
    heads = [ln for ln in lines if ln.strip().startswith("coef")]
    assert len(heads) == 3
    # Columns are right-aligned under their headings: every row and the
    # heading end each column at the same offsets.
    ends = [m.end() for m in re.finditer(r"\S+", heads[0].replace("std err", "std_err"))]
    for ln in rows:
        assert len(ln) == width
        name = ln.split()[0]
        i = res.param_names.index(name)
        assert [m.end() for m in re.finditer(r"\S+", ln)][1:] == ends
        values = [float(v) for v in ln.split()[1:]]
        assert_allclose(values[0], res.params[i], rtol=1e-3, atol=1e-4)
        assert_allclose(values[1], res.bse[i], rtol=1e-3, atol=1e-4)
    assert "[0.05" in heads[0] and "0.95]" in heads[0]


def test_summary_to_frame_round_trips(fitted):
    _, _, _, res = fitted
    frame = res.to_frame()
    assert list(frame.index) == res.param_names
    assert_allclose(frame["coef"], res.params)
    assert_allclose(frame["std err"], res.bse)
    assert_allclose(frame[["[0.05", "0.95]"]].to_numpy(), res.conf_int())
    assert_allclose(frame["P>|z|"], res.pvalues)
    back = pd.read_csv(pd.io.common.StringIO(frame.to_csv()), index_col=0)
    pd.testing.assert_frame_equal(back, frame, check_names=True, check_exact=False, rtol=1e-12)
    assert frame.loc["sigma2[1]", "group"] == "Regime 1 parameters"
    assert frame.loc["p[0->0]", "group"] == "Regime transition parameters"


def test_summary_alpha_and_validation(fitted, macro):
    est, X, y, res = fitted
    q = norm.ppf(0.95)
    assert_allclose(res.conf_int(), res.params[:, None] + np.outer(res.bse, [-q, q]))
    assert_allclose(res.conf_int(0.01)[:, 1], res.params + norm.ppf(0.995) * res.bse)
    with pytest.raises(ValueError, match="alpha"):
        est.summary(X, y, alpha=1.5)
    with pytest.raises(ValueError, match="alpha"):
        res.conf_int(0.0)
    tv = MarkovSwitchingRegressor(
        transitions="input",
        expert_features=["unemp"],
        transition_features=["realint"],
        random_state=0,
        max_iter=20,
    ).fit(macro[["unemp", "realint"]], macro["infl"])
    with pytest.raises(NotImplementedError, match="homogeneous"):
        tv.summary(macro[["unemp", "realint"]], macro["infl"])


def test_markov_information_learned_start_two_series():
    """Learned start, two series: the information (differences of the analytic
    score) equals second differences of the exact log-likelihood value, and
    the score vanishes at the estimate."""
    rng = np.random.RandomState(3)
    z = np.r_[np.repeat([0, 1, 0, 1], 40), np.repeat([1, 0, 1], 40)]
    X = pd.DataFrame({"a": rng.randn(z.size)})
    y = np.where(z == 0, 1.5 * X["a"] + 2.0, -0.5 * X["a"]) + np.where(
        z == 0, 0.3, 0.8
    ) * rng.randn(z.size)
    lengths = [160, 120]
    est = MarkovSwitchingRegressor(start="learned", n_init=3, random_state=0).fit(X, y, lengths)
    res = est.summary(X, y, lengths)
    assert res.param_names == [
        "a[0]",
        "const[0]",
        "a[1]",
        "const[1]",
        "sigma2[0]",
        "sigma2[1]",
        "p[0->0]",
        "p[1->0]",
        "start[0]",
    ]
    assert res.nobs == 280 and int(res.header["n_params"]) == len(res.param_names)
    assert np.all(np.isfinite(res.bse))
    assert_allclose(res.llf, est.log_likelihood(X, y, lengths).sum(), rtol=1e-12)

    bounds = np.array([0, 160, 280])
    psi, info, grad, par = markov_information(est, X.to_numpy(), np.asarray(y), bounds)
    assert np.max(np.abs(grad)) < 1e-3
    value = lambda v: par.loglik_and_grad(v)[0]  # noqa: E731
    idx = [0, 1, 4, 6, 7, 8]  # slope, intercept, variance, transitions, start
    h = 1e-4 * np.maximum(np.abs(psi), 0.05)
    for i in idx:
        for j in idx:
            ei, ej = np.eye(psi.size)[i] * h[i], np.eye(psi.size)[j] * h[j]
            d2 = (
                value(psi + ei + ej)
                - value(psi + ei - ej)
                - value(psi - ei + ej)
                + value(psi - ei - ej)
            ) / (4 * h[i] * h[j])
            assert_allclose(
                -info[i, j], d2, rtol=2e-3, atol=1e-3 * np.sqrt(info[i, i] * info[j, j])
            )


def test_summary_collinear_features_warn_and_give_nan(macro):
    """Two copies of a feature: only their sum is identified, so their
    standard errors are NaN (with a warning) and the others stay finite."""
    X = pd.DataFrame({"u1": macro["unemp"], "u2": macro["unemp"]})
    est = MarkovSwitchingRegressor(start="steady-state", n_init=3, random_state=0).fit(
        X, macro["infl"]
    )
    with pytest.warns(UserWarning, match="not positive definite"):
        res = est.summary(X, macro["infl"])
    bad = [n for n, s in zip(res.param_names, res.bse, strict=True) if np.isnan(s)]
    assert set(bad) == {"u1[0]", "u2[0]", "u1[1]", "u2[1]"}
    assert np.all(np.isfinite(res.bse[[res.param_names.index("p[0->0]")]]))


# --- MixtureOfExpertsRegressor.summary ---------------------------------------


def _mixture_loglik(params, Xg, Xe, y, K, alpha=0.0, scale=None):
    """Log-likelihood of a mixture of linear-Gaussian experts, written from scratch.

    ``params`` in the summary's order: for k = 1..K-1 the gate's logit
    contrast against expert 0 (slopes on ``Xg``, then the intercept); then
    for k = 0..K-1 the expert's slopes on ``Xe``, intercept and variance.
    With ``alpha > 0`` minus ``0.5 alpha sum_k ||s * (b_k - mean_j b_j)||^2``
    over the gate slopes ``b`` (``b_0 = 0``), the softmax gate's penalty
    with its common shift removed.
    """
    dg, de = Xg.shape[1], Xe.shape[1]
    m = (K - 1) * (dg + 1)
    b = np.vstack([np.zeros(dg + 1), params[:m].reshape(K - 1, dg + 1)])  # (K, dg + 1)
    logits = Xg @ b[:, :dg].T + b[:, dg]
    log_gate = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    e = params[m:].reshape(K, de + 2)
    mean = Xe @ e[:, :de].T + e[:, de]
    var = e[:, de + 1]
    log_dens = -0.5 * np.log(2 * np.pi * var) - 0.5 * (y[:, None] - mean) ** 2 / var
    ll = np.logaddexp.reduce(log_gate + log_dens, axis=1).sum()
    if alpha > 0:
        V = b[:, :dg] * scale
        ll -= 0.5 * alpha * np.sum((V - V.mean(axis=0)) ** 2)
    return ll


def _central_hessian(f, x):
    """Central second differences with steps 1e-4 * max(|x_i|, 1)."""
    P = x.size
    h = 1e-4 * np.maximum(np.abs(x), 1.0)
    H = np.empty((P, P))
    for i in range(P):
        for j in range(i, P):
            ei, ej = np.eye(P)[i] * h[i], np.eye(P)[j] * h[j]
            H[i, j] = H[j, i] = (
                f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
            ) / (4 * h[i] * h[j])
    g = np.array(
        [(f(x + np.eye(P)[i] * h[i]) - f(x - np.eye(P)[i] * h[i])) / (2 * h[i]) for i in range(P)]
    )
    return g, H


@pytest.fixture(scope="module")
def mcycle():
    from skmoe.datasets import load_mcycle

    X, y = load_mcycle(return_X_y=True)
    return pd.DataFrame({"times": X[:, 0]}), y


def _moe(gate, X, y, K=3):
    from skmoe import MixtureOfExpertsRegressor

    return MixtureOfExpertsRegressor(
        n_experts=K, gate=gate, tol=1e-10, max_iter=3000, random_state=0
    ).fit(X, y)


@pytest.mark.parametrize("gate", ["softmax", "softmax-unpenalised", "constant"], ids=lambda g: g)
def test_mixture_summary_matches_numerical_hessian(mcycle, gate):
    """Standard errors equal the inverse of a central-difference Hessian of
    the log-likelihood above (penalised as the fit is), on the motorcycle
    data, in the reported parameters (sigma2, not log sigma).  Without the
    penalty, two experts: with three, the gate separates two experts
    perfectly on this data and its slope is not finite (NaN, with a warning)."""
    from skmoe import SoftmaxGate

    X, y = mcycle
    spec = {
        "softmax": SoftmaxGate(tol=1e-10, max_iter=1000),  # default alpha=1e-2
        "softmax-unpenalised": SoftmaxGate(alpha=0.0, tol=1e-10, max_iter=1000),
        "constant": "constant",
    }[gate]
    K = 2 if gate == "softmax-unpenalised" else 3
    est = _moe(spec, X, y, K)
    res = est.summary(X, y)
    x = X.to_numpy()
    if gate == "constant":
        Xg, alpha, scale = np.zeros((len(y), 0)), 0.0, None
    else:
        Xg, alpha, scale = x, est.gate_.alpha, x.std(axis=0)
    assert res.param_names[: 2 if gate != "constant" else 1] == (
        ["gate:times[1]", "gate:const[1]"] if gate != "constant" else ["gate:const[1]"]
    )
    assert res.param_names[-3:] == [f"times[{K - 1}]", f"const[{K - 1}]", f"sigma2[{K - 1}]"]

    def f(v):
        return _mixture_loglik(v, Xg, x, y, K, alpha, scale)

    # The parameters describe the fitted model: the unpenalised likelihood
    # at them is the estimator's.
    assert_allclose(_mixture_loglik(res.params, Xg, x, y, K), res.llf, rtol=1e-12)
    assert_allclose(res.llf, est.log_likelihood(X, y).sum(), rtol=1e-12)
    assert_allclose(res.params[-1], est.noise_variance_[K - 1], rtol=1e-12)
    grad, H = _central_hessian(f, res.params)
    cov = np.linalg.inv(-H)
    # Near an optimum of the objective: score times standard error below 1e-2
    # (EM stops with the gate's score at most 2.7e-3 sd from zero here; the
    # library's own score, res.score, agrees).
    assert np.max(np.abs(grad * res.bse)) < 1e-2
    assert_allclose(res.score * res.bse, grad * res.bse, atol=1e-3)
    assert np.all(np.isfinite(res.bse))
    assert_allclose(res.bse, np.sqrt(np.diag(cov)), rtol=1e-3)
    sd = np.sqrt(np.diag(cov))
    assert_allclose(res.cov_params() / np.outer(sd, sd), cov / np.outer(sd, sd), atol=1e-3)
    # Header and notes.
    assert res.nobs == len(y) and int(res.header["n_params"]) == len(res.params)
    assert_allclose([res.aic, res.bic, res.icl], [est.aic(X, y), est.bic(X, y), est.icl(X, y)])
    assert res.header["Converged"] and res.header["EM iterations"] == est.n_iter_
    penalised = gate == "softmax"
    assert res.penalised is penalised
    assert ("Gate penalty (alpha)" in res.header) is penalised
    assert ("covariance of the penalised estimate" in str(res).lower().replace("\n", " ")) is (
        penalised
    )
    is_var = np.array([n.startswith("sigma2") for n in res.param_names])
    assert np.all(np.isnan(res.tvalues[is_var]))
    assert_allclose(res.tvalues[~is_var], (res.params / res.bse)[~is_var])


def test_mixture_summary_renders(mcycle):
    """HTML parses into a header and one table per gate contrast and expert,
    the text columns line up, to_frame round-trips, alpha sets the level."""
    X, y = mcycle
    est = _moe("softmax", X, y)
    res = est.summary(X, y, alpha=0.1)
    titles = [t for t, _ in res.groups]
    assert titles == [
        "Gate: log(g_1 / g_0), expert 1 against expert 0",
        "Gate: log(g_2 / g_0), expert 2 against expert 0",
        "Expert 0 parameters",
        "Expert 1 parameters",
        "Expert 2 parameters",
    ]
    parser = _Tables()
    parser.feed(res._repr_html_())
    parser.close()
    assert len(parser.tables) == 6 and parser.captions[1:] == titles
    header = dict(parser.tables[0])
    assert header["Gate:"] == "SoftmaxGate" and header["Experts:"] == "3 linear-Gaussian"
    assert float(header["ICL:"]) == pytest.approx(est.icl(X, y), abs=1e-4)
    assert float(header["BIC:"]) == pytest.approx(est.bic(X, y), abs=1e-4)
    ci = res.conf_int()
    for (_, idx), rows in zip(res.groups, parser.tables[1:], strict=True):
        assert rows[0] == ["", "coef", "std err", "z", "P>|z|", "[0.05", "0.95]"]
        assert [r[0] for r in rows[1:]] == [res.param_names[i] for i in idx]
        for i, r in zip(idx, rows[1:], strict=True):
            got = [float(v) for v in (r[1], r[2], r[5], r[6])]
            assert_allclose(got, [res.params[i], res.bse[i], ci[i, 0], ci[i, 1]], rtol=1e-3)

    lines = str(res).splitlines()
    width = len(lines[1])
    assert all(len(line) <= width for line in lines)
    heads = [ln for ln in lines if ln.strip().startswith("coef")]
    assert len(heads) == 5
    ends = [m.end() for m in re.finditer(r"\S+", heads[0].replace("std err", "std_err"))]
    rows = [ln for ln in lines if ln.split() and ln.split()[0] in res.param_names]
    assert len(rows) == len(res.param_names)
    for ln in rows:
        assert len(ln) == width
        assert [m.end() for m in re.finditer(r"\S+", ln)][1:] == ends
        i = res.param_names.index(ln.split()[0])
        assert_allclose(float(ln.split()[2]), res.bse[i], rtol=1e-3)
    assert "ICL:" in str(res) and "Gate penalty (alpha):" in str(res)

    frame = res.to_frame()
    assert list(frame.index) == res.param_names
    assert_allclose(frame[["[0.05", "0.95]"]].to_numpy(), ci)
    back = pd.read_csv(pd.io.common.StringIO(frame.to_csv()), index_col=0)
    pd.testing.assert_frame_equal(back, frame, check_exact=False, rtol=1e-12)
    assert frame.loc["sigma2[1]", "group"] == "Expert 1 parameters"
    assert frame.loc["gate:times[2]", "group"] == titles[1]
    q = norm.ppf(0.95)
    assert_allclose(ci, res.params[:, None] + np.outer(res.bse, [-q, q]))
    with pytest.raises(ValueError, match="alpha"):
        est.summary(X, y, alpha=0.0)


def test_mixture_summary_unsupported_raises(mcycle):
    from sklearn.tree import DecisionTreeRegressor

    from skmoe import MixtureOfExpertsRegressor

    X, y = mcycle
    est = MixtureOfExpertsRegressor(DecisionTreeRegressor(max_depth=2), n_experts=2)
    est.fit(X, y)
    with pytest.raises(NotImplementedError, match="built-in experts.*DecisionTreeRegressor"):
        est.summary(X, y)


# --- llf: the scalar log-likelihood ------------------------------------------


def test_llf_is_the_scalar_log_likelihood(fitted, macro, mcycle):
    """``est.llf(X, y)`` is a float equal to statsmodels' llf at the Markov
    estimate (summary's llf, checked against statsmodels above) and to the
    from-scratch mixture log-likelihood at the mixture's reported parameters;
    ``log_likelihood`` stays per row (llf_obs)."""
    from skmoe import MarkovSwitchingClassifier, MixtureOfExpertsClassifier

    est, X, y, res = fitted
    llf = est.llf(X, y)
    assert type(llf) is float and f"{llf:.3f}" == f"{res.llf:.3f}"
    assert_allclose(llf, res.llf, rtol=1e-12)
    mod = MarkovRegression(
        y.to_numpy(), k_regimes=2, exog=macro[["unemp"]].to_numpy(), switching_variance=True
    )
    order = [[_sm_name(n, ["unemp"]) for n in res.param_names].index(m) for m in mod.param_names]
    assert_allclose(llf, mod.loglike(res.params[order]), rtol=1e-10)
    assert est.log_likelihood(X, y).shape == (len(y),)
    # Two independent series: the sum of each one's llf.
    half = len(y) // 2
    two = est.llf(X, y, lengths=[half, len(y) - half])
    assert_allclose(two, est.llf(X[:half], y[:half]) + est.llf(X[half:], y[half:]), rtol=1e-12)

    Xm, ym = mcycle
    moe = _moe("constant", Xm, ym)
    resm = moe.summary(Xm, ym)
    x = Xm.to_numpy()
    scratch = _mixture_loglik(resm.params, np.zeros((len(ym), 0)), x, ym, 3)
    assert type(moe.llf(Xm, ym)) is float
    assert_allclose(moe.llf(Xm, ym), scratch, rtol=1e-12)
    assert moe.log_likelihood(Xm, ym).shape == (len(ym),)

    # Classifiers: the sum of the per-row values, a float.
    labels = (ym > np.median(ym)).astype(int)
    clf = MixtureOfExpertsClassifier(n_experts=2, random_state=0).fit(x, labels)
    assert type(clf.llf(x, labels)) is float
    assert_allclose(clf.llf(x, labels), clf.log_likelihood(x, labels).sum(), rtol=1e-12)
    msc = MarkovSwitchingClassifier(n_regimes=2, random_state=0).fit(x, labels)
    assert type(msc.llf(x, labels)) is float
    assert_allclose(msc.llf(x, labels), msc.log_likelihood(x, labels).sum(), rtol=1e-12)


# --- MixtureOfExpertsClassifier.summary --------------------------------------


def _classifier_loglik(params, Xg, Xe, Y, K, gate_alpha=0.0, expert_alpha=0.0, sg=None, se=None):
    """Log-likelihood of a mixture of multinomial-logistic experts, from scratch.

    ``params`` in the summary's order: the gate's contrasts against expert 0
    (slopes on ``Xg``, intercept) for k = 1..K-1, then for each expert k and
    class c = 1..C-1 its contrast against class 0 (slopes on ``Xe``,
    intercept).  Minus the L2 penalties ``0.5 alpha sum ||s (b - mean b)||^2``
    on the standardised slopes, reference columns at zero.
    """
    n, C = Y.shape
    dg, de = Xg.shape[1], Xe.shape[1]
    m = (K - 1) * (dg + 1)
    G = np.vstack([np.zeros(dg + 1), params[:m].reshape(K - 1, dg + 1)])
    E = params[m:].reshape(K, C - 1, de + 1)
    logits = Xg @ G[:, :dg].T + G[:, dg]
    log_gate = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    ll_k = np.empty((n, K))
    pen = 0.0
    for k in range(K):
        B = np.vstack([np.zeros(de + 1), E[k]])  # (C, de + 1)
        lg = Xe @ B[:, :de].T + B[:, de]
        log_p = lg - np.logaddexp.reduce(lg, axis=1, keepdims=True)
        ll_k[:, k] = np.sum(Y * log_p, axis=1)
        if expert_alpha > 0:
            V = B[:, :de] * se
            pen += 0.5 * expert_alpha * np.sum((V - V.mean(axis=0)) ** 2)
    if gate_alpha > 0:
        V = G[:, :dg] * sg
        pen += 0.5 * gate_alpha * np.sum((V - V.mean(axis=0)) ** 2)
    return np.logaddexp.reduce(log_gate + ll_k, axis=1).sum() - pen


@pytest.mark.parametrize(
    "gate, n_classes", [("softmax", 2), ("softmax", 3), ("constant", 3)], ids=str
)
def test_classifier_summary_matches_numerical_hessian(gate, n_classes):
    """Standard errors equal the inverse of a central-difference Hessian (of
    function values) of the penalised log-likelihood above, to 1e-3 relative;
    the likelihood at the reported parameters is the estimator's."""
    from skmoe import MixtureOfExpertsClassifier
    from skmoe.datasets import make_moe_classification

    X, y, _ = make_moe_classification(n_samples=400, n_classes=n_classes, random_state=1)
    labels = np.array(["a", "b", "c"])[y]
    K = 2
    est = MixtureOfExpertsClassifier(
        n_experts=K, gate=gate, tol=1e-10, max_iter=5000, random_state=0
    ).fit(X, labels)
    res = est.summary(X, labels)
    C = len(est.classes_)
    assert C == n_classes
    n_gate = (K - 1) * (3 if gate == "softmax" else 1)
    assert res.param_names[n_gate : n_gate + 3] == ["x0[0, b]", "x1[0, b]", "const[0, b]"]
    assert len(res.params) == n_gate + K * (C - 1) * 3 == est._n_parameters()
    Y = (labels[:, None] == est.classes_[None, :]).astype(float)
    Xg = X if gate == "softmax" else np.zeros((len(y), 0))
    ga = est.gate_.alpha if gate == "softmax" else 0.0
    ea = est.experts_[0].alpha
    assert ea > 0  # the default expert penalty: the penalised estimate's covariance
    s = X.std(axis=0)
    assert_allclose(_classifier_loglik(res.params, Xg, X, Y, K), res.llf, rtol=1e-10)
    assert_allclose(res.llf, est.llf(X, labels), rtol=1e-12)

    def f(v):
        return _classifier_loglik(v, Xg, X, Y, K, ga, ea, s, s)

    grad, H = _central_hessian(f, res.params)
    assert np.max(np.abs(grad * res.bse)) < 1e-2  # at the penalised optimum
    cov = np.linalg.inv(-H)
    assert np.all(np.isfinite(res.bse))
    assert_allclose(res.bse, np.sqrt(np.diag(cov)), rtol=1e-3)
    sd = np.sqrt(np.diag(cov))
    assert_allclose(res.cov_params() / np.outer(sd, sd), cov / np.outer(sd, sd), atol=1e-3)
    assert res.penalised and "Expert penalty (alpha)" in res.header
    assert ("Gate penalty (alpha)" in res.header) is (gate == "softmax")
    assert_allclose(
        [res.aic, res.bic, res.icl], [est.aic(X, labels), est.bic(X, labels), est.icl(X, labels)]
    )
    assert_allclose(res.tvalues, res.params / res.bse)
    # Renders: the HTML parses into a header and one table per gate contrast
    # and per expert and class.
    parser = _Tables()
    parser.feed(res._repr_html_())
    assert len(parser.tables) == 1 + (K - 1) + K * (C - 1)
    assert parser.captions[-1] == f"Expert 1: log(p({est.classes_[-1]}) / p(a))"


def test_classifier_summary_unsupported_raises():
    from sklearn.tree import DecisionTreeClassifier

    from skmoe import MixtureOfExpertsClassifier
    from skmoe.datasets import make_moe_classification

    X, y, _ = make_moe_classification(n_samples=200, random_state=0)
    est = MixtureOfExpertsClassifier(n_experts=2, gate="gaussian", random_state=0).fit(X, y)
    with pytest.raises(NotImplementedError, match="gate"):
        est.summary(X, y)
    est = MixtureOfExpertsClassifier(
        n_experts=2, experts=DecisionTreeClassifier(max_depth=2), random_state=0
    ).fit(X, y)
    with pytest.raises(NotImplementedError, match="logistic experts"):
        est.summary(X, y)
    with pytest.raises(ValueError, match="alpha"):
        MixtureOfExpertsClassifier(n_experts=2, random_state=0).fit(X, y).summary(X, y, alpha=1.0)


def test_one_expert_summary_has_no_gate_note():
    # A single expert has no gate table, so no note about gate contrasts.
    from skmoe.datasets import load_mcycle

    X, y = load_mcycle(return_X_y=True)
    res = MixtureOfExpertsRegressor(n_experts=1).fit(X, y).summary(X, y)
    assert not any("Gate" in note for note in res.notes)
    two = MixtureOfExpertsRegressor(n_experts=2, random_state=0).fit(X, y).summary(X, y)
    assert any("logit contrasts against expert 0" in note for note in two.notes)
