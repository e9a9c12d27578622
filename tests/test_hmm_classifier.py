"""HMM-sequence classifiers: hmmlearn oracles, weighted Baum-Welch, sklearn
integration, the mixture's sequence mode, and bad input."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.preprocessing import FunctionTransformer

from skmoe import MixtureOfExpertsClassifier
from skmoe.experts import LogisticExpert
from skmoe.sequence import (
    CategoricalHMMClassifier,
    GaussianHMMClassifier,
    SequenceFeatures,
    check_sequences,
)
from skmoe.sequence._hmm_baum_welch import (
    CategoricalEmission,
    GaussianEmission,
    baum_welch_step,
    concatenate,
    log_likelihoods,
)

hmm = pytest.importorskip("hmmlearn.hmm")


# ---------------------------------------------------------------------- #
# Data
# ---------------------------------------------------------------------- #
def _random_params(rng, S, d, covariance_type):
    p = {
        "startprob": rng.dirichlet(np.ones(S)),
        "transmat": rng.dirichlet(np.ones(S), size=S),
        "means": rng.randn(S, d),
    }
    if covariance_type == "diag":
        p["covars"] = rng.uniform(0.5, 2.0, (S, d))
    else:
        A = rng.randn(S, d, d)
        p["covars"] = A @ A.transpose(0, 2, 1) + np.eye(d)
    return p


def _gaussian_seqs(rng, n=6, d=2):
    return [rng.randn(rng.randint(4, 12), d) + rng.randn(d) for _ in range(n)]


def _symbol_seqs(rng, n=6, M=4):
    return [rng.randint(0, M, size=rng.randint(4, 12)) for _ in range(n)]


def _hmmlearn_gaussian(p, covariance_type, n_iter=1):
    S = p["startprob"].shape[0]
    h = hmm.GaussianHMM(
        S, covariance_type=covariance_type, covars_prior=0.0, init_params="", n_iter=n_iter
    )
    h.startprob_, h.transmat_, h.means_, h.covars_ = (
        p["startprob"],
        p["transmat"],
        p["means"],
        p["covars"],
    )
    return h


def _hmmlearn_categorical(p):
    S, M = p["emissionprob"].shape
    h = hmm.CategoricalHMM(S, n_features=M, init_params="", n_iter=1)
    h.startprob_, h.transmat_, h.emissionprob_ = p["startprob"], p["transmat"], p["emissionprob"]
    return h


def _two_class_data(rng, n=40, d=2):
    """Class 0 sticky, class 1 switching, between two levels (same marginals)."""
    X, y = [], []
    for i in range(n):
        c = i % 2
        stay = 0.9 if c == 0 else 0.2
        T = rng.randint(8, 16)
        z = [rng.randint(2)]
        for _ in range(T - 1):
            z.append(z[-1] if rng.rand() < stay else 1 - z[-1])
        X.append(2.0 * np.asarray(z, float)[:, None] + 0.3 * rng.randn(T, d))
        y.append(c)
    return X, np.array(y)


def _regime_data(rng, n):
    """Two regimes (offset 5, visible to the gate through the mean); within a
    regime the class is in the dynamics, and the mapping flips between regimes."""
    X, y, r = [], [], []
    for _ in range(n):
        regime, c, T = int(rng.rand() < 0.5), rng.randint(2), rng.randint(10, 20)
        stay = 0.9 if (c == 0) ^ regime else 0.2
        z = [rng.randint(2)]
        for _ in range(T - 1):
            z.append(z[-1] if rng.rand() < stay else 1 - z[-1])
        X.append(2.0 * np.asarray(z, float)[:, None] + 0.3 * rng.randn(T, 1) + 5.0 * regime)
        y.append(c)
        r.append(regime)
    return X, np.array(y), np.array(r)


# ---------------------------------------------------------------------- #
# Oracles: hmmlearn
# ---------------------------------------------------------------------- #
@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_log_likelihood_equals_hmmlearn_gaussian(covariance_type):
    rng = np.random.RandomState(0)
    p = _random_params(rng, 3, 2, covariance_type)
    seqs = _gaussian_seqs(rng)
    X, bounds = concatenate(seqs)
    mine = log_likelihoods(p, GaussianEmission(covariance_type, 0.0), X, bounds)
    h = _hmmlearn_gaussian(p, covariance_type)
    assert_allclose(mine.sum(), h.score(X, np.diff(bounds)), rtol=1e-8)
    assert_allclose(mine, [h.score(s) for s in seqs], rtol=1e-8)


def test_log_likelihood_equals_hmmlearn_categorical():
    rng = np.random.RandomState(1)
    S, M = 3, 4
    p = {
        "startprob": rng.dirichlet(np.ones(S)),
        "transmat": rng.dirichlet(np.ones(S), size=S),
        "emissionprob": rng.dirichlet(np.ones(M), size=S),
    }
    seqs = [s[:, None] for s in _symbol_seqs(rng, M=M)]
    X, bounds = concatenate(seqs)
    mine = log_likelihoods(p, CategoricalEmission(M), X, bounds)
    h = _hmmlearn_categorical(p)
    assert_allclose(mine, [h.score(s) for s in seqs], rtol=1e-8)


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_classifier_scores_equal_hmmlearn_at_fitted_parameters(covariance_type):
    rng = np.random.RandomState(2)
    X, y = _two_class_data(rng, n=20)
    clf = GaussianHMMClassifier(2, covariance_type=covariance_type, random_state=0).fit(X, y)
    ll = clf.class_log_likelihood(X)
    for c in range(2):
        p = {
            "startprob": clf.startprob_[c],
            "transmat": clf.transmat_[c],
            "means": clf.means_[c],
            "covars": clf.covars_[c],
        }
        h = _hmmlearn_gaussian(p, covariance_type)
        assert_allclose(ll[:, c], [h.score(s) for s in X], rtol=1e-8)


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_weighted_step_equals_hmmlearn_on_repeated_sequences(covariance_type):
    rng = np.random.RandomState(3)
    p = _random_params(rng, 3, 2, covariance_type)
    seqs = _gaussian_seqs(rng)
    w = np.array([1, 3, 0, 2, 1, 4])
    new, _ = baum_welch_step(p, GaussianEmission(covariance_type, 0.0), seqs, w)
    Xr, br = concatenate([s for s, k in zip(seqs, w, strict=True) for _ in range(k)])
    h = _hmmlearn_gaussian(p, covariance_type)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h.fit(Xr, np.diff(br))
    assert_allclose(new["startprob"], h.startprob_, rtol=1e-8, atol=1e-12)
    assert_allclose(new["transmat"], h.transmat_, rtol=1e-8, atol=1e-12)
    assert_allclose(new["means"], h.means_, rtol=1e-8, atol=1e-12)
    assert_allclose(new["covars"], h._covars_, rtol=1e-8, atol=1e-12)


def test_weighted_step_equals_hmmlearn_on_repeated_sequences_categorical():
    rng = np.random.RandomState(4)
    S, M = 3, 4
    p = {
        "startprob": rng.dirichlet(np.ones(S)),
        "transmat": rng.dirichlet(np.ones(S), size=S),
        "emissionprob": rng.dirichlet(np.ones(M), size=S),
    }
    seqs = [s[:, None] for s in _symbol_seqs(rng, M=M)]
    w = np.array([2, 1, 0, 3, 1, 1])
    new, _ = baum_welch_step(p, CategoricalEmission(M), seqs, w)
    Xr, br = concatenate([s for s, k in zip(seqs, w, strict=True) for _ in range(k)])
    h = _hmmlearn_categorical(p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        h.fit(Xr, np.diff(br))
    assert_allclose(new["startprob"], h.startprob_, rtol=1e-8, atol=1e-12)
    assert_allclose(new["transmat"], h.transmat_, rtol=1e-8, atol=1e-12)
    assert_allclose(new["emissionprob"], h.emissionprob_, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize(
    "emission", [GaussianEmission("diag"), GaussianEmission("full"), CategoricalEmission(4)]
)
def test_equal_weights_give_the_unweighted_step(emission):
    rng = np.random.RandomState(5)
    if isinstance(emission, CategoricalEmission):
        seqs = [s[:, None] for s in _symbol_seqs(rng, M=4)]
        p = {
            "startprob": rng.dirichlet(np.ones(3)),
            "transmat": rng.dirichlet(np.ones(3), size=3),
            "emissionprob": rng.dirichlet(np.ones(4), size=3),
        }
    else:
        seqs = _gaussian_seqs(rng)
        p = _random_params(rng, 3, 2, emission.covariance_type)
    plain, ll = baum_welch_step(p, emission, seqs)
    weighted, llw = baum_welch_step(p, emission, seqs, np.full(len(seqs), 2.5))
    assert_allclose(llw, 2.5 * ll, rtol=1e-12)
    for key in plain:
        assert_allclose(weighted[key], plain[key], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("Est", [GaussianHMMClassifier, CategoricalHMMClassifier])
def test_classifier_equal_weights_and_integer_weights(Est):
    rng = np.random.RandomState(6)
    if Est is GaussianHMMClassifier:
        X, y = _two_class_data(rng, n=16)
    else:
        X = _symbol_seqs(rng, n=16)
        y = np.arange(16) % 2
    est = Est(2, max_iter=5, tol=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = clone(est).fit(X, y)
        b = clone(est).fit(X, y, sample_weight=np.full(len(X), 3.0))
    assert_allclose(b.predict_proba(X), a.predict_proba(X), rtol=1e-7, atol=1e-10)
    assert_allclose(b.transmat_, a.transmat_, rtol=1e-7, atol=1e-10)
    assert_allclose(b.class_prior_, a.class_prior_)


# ---------------------------------------------------------------------- #
# The classifiers
# ---------------------------------------------------------------------- #
def test_bayes_rule_with_weighted_priors():
    rng = np.random.RandomState(7)
    X, y = _two_class_data(rng, n=20)
    w = rng.uniform(0.5, 2.0, size=len(X))
    clf = GaussianHMMClassifier(2, random_state=0).fit(X, y, sample_weight=w)
    prior = np.array([w[y == 0].sum(), w[y == 1].sum()]) / w.sum()
    assert_allclose(clf.class_prior_, prior)
    joint = clf.class_log_likelihood(X) + np.log(prior)
    expected = np.exp(joint - np.logaddexp(joint[:, :1], joint[:, 1:]))
    assert_allclose(clf.predict_proba(X), expected, rtol=1e-10)
    assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0)
    assert_array_equal(clf.predict(X), clf.classes_[np.argmax(expected, axis=1)])
    fixed = GaussianHMMClassifier(2, priors=[0.9, 0.1], random_state=0).fit(X, y)
    assert_allclose(fixed.class_prior_, [0.9, 0.1])


@pytest.mark.parametrize("covariance_type", ["diag", "full"])
def test_gaussian_classifier_learns_dynamics(covariance_type):
    rng = np.random.RandomState(8)
    X, y = _two_class_data(rng, n=60)
    Xt, yt = _two_class_data(rng, n=60)
    clf = GaussianHMMClassifier(2, covariance_type=covariance_type, random_state=0).fit(X, y)
    # Both classes have the same levels: only the transitions tell them apart.
    assert clf.score(Xt, yt) > 0.9
    assert clf.converged_.all()
    assert clf.means_.shape == (2, 2, 2)


def test_categorical_classifier_learns_dynamics():
    rng = np.random.RandomState(9)

    def draw(n):
        X, y = [], []
        for i in range(n):
            c = i % 2
            stay = 0.9 if c == 0 else 0.1
            z = [rng.randint(2)]
            for _ in range(rng.randint(10, 20) - 1):
                z.append(z[-1] if rng.rand() < stay else 1 - z[-1])
            noise = rng.rand(len(z)) < 0.1
            X.append(np.where(noise, 2, z))
            y.append(c)
        return X, np.array(y)

    X, y = draw(60)
    Xt, yt = draw(60)
    clf = CategoricalHMMClassifier(2, n_init=3, random_state=0).fit(X, y)
    assert clf.n_symbols_ == 3
    assert clf.emissionprob_.shape == (2, 2, 3)
    assert clf.score(Xt, yt) > 0.9


def test_n_init_keeps_the_best_restart():
    rng = np.random.RandomState(10)
    X, y = _two_class_data(rng, n=20)
    one = GaussianHMMClassifier(3, n_init=1, random_state=0).fit(X, y)
    three = GaussianHMMClassifier(3, n_init=3, random_state=0).fit(X, y)
    # Class 0's first restart is the same draw in both fits.
    assert three.lower_bound_[0] >= one.lower_bound_[0] - 1e-12


def test_reproducible_and_lengths_form_and_3d_form():
    rng = np.random.RandomState(11)
    X, y = _two_class_data(rng, n=16)
    a = GaussianHMMClassifier(2, random_state=0).fit(X, y)
    b = GaussianHMMClassifier(2, random_state=0).fit(X, y)
    assert_array_equal(a.means_, b.means_)
    Xc, bounds = concatenate(X)
    c = GaussianHMMClassifier(2, random_state=0).fit(Xc, y, lengths=np.diff(bounds))
    assert_allclose(c.predict_proba(Xc, lengths=np.diff(bounds)), a.predict_proba(X))
    X3 = np.stack([s[:8] for s in X])
    d3 = GaussianHMMClassifier(2, random_state=0).fit(X3, y)
    assert_allclose(d3.predict_proba(X3), d3.predict_proba([s for s in X3]))
    obj = np.empty(len(X), dtype=object)
    obj[:] = X
    assert_allclose(a.predict_proba(obj), a.predict_proba(X))


def test_convergence_warning_and_n_iter():
    rng = np.random.RandomState(12)
    X, y = _two_class_data(rng, n=16)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        clf = GaussianHMMClassifier(2, max_iter=1, tol=0, random_state=0).fit(X, y)
    assert_array_equal(clf.n_iter_, [1, 1])
    assert not clf.converged_.any()


def test_warm_start_keeps_the_model_of_a_class_without_weight():
    rng = np.random.RandomState(13)
    X, y = _two_class_data(rng, n=16)
    clf = GaussianHMMClassifier(2, warm_start=True, random_state=0).fit(X, y)
    means0 = clf.means_[0].copy()
    w = (y == 1).astype(float)
    clf.fit(X, y, sample_weight=w)
    assert_array_equal(clf.means_[0], means0)
    assert_allclose(clf.class_prior_, [0.0, 1.0])
    assert_allclose(clf.predict_proba(X)[:, 1], 1.0)


def test_sklearn_cross_validation_and_grid_search_on_lists():
    rng = np.random.RandomState(14)
    X, y = _two_class_data(rng, n=30)
    scores = cross_val_score(GaussianHMMClassifier(2, random_state=0), X, y, cv=3)
    assert scores.mean() > 0.8
    gs = GridSearchCV(
        CategoricalHMMClassifier(random_state=0, n_symbols=3),
        {"n_states": [1, 2]},
        cv=2,
    ).fit([np.round(s[:, 0]).clip(0, 2).astype(int) for s in X], y)
    assert gs.best_params_["n_states"] == 2


# ---------------------------------------------------------------------- #
# Bad input
# ---------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "X, match",
    [
        ([np.zeros((5, 2)), np.zeros((0, 2))], "sequence 1 is empty"),
        ([np.zeros((5, 2)), np.zeros((1, 2))], "sequence 1 has 1 time step"),
        ([np.zeros((5, 2)), np.zeros((5, 3))], "same number of features; sequence 1 has 3"),
        ([np.zeros((5, 2)), np.array([[0.0, np.nan], [1.0, 1.0]])], "sequence 1 contains NaN"),
        ([np.zeros((5, 2)), np.full((3, 2), np.inf)], "sequence 1 contains NaN or infinity"),
        ([], "no sequence"),
        (np.zeros((6, 2)), "got a 2-D array"),
        ([np.zeros((3, 2, 2)), np.zeros((3, 2))], "must be 1-D or 2-D"),
    ],
)
def test_bad_sequences(X, match):
    y = np.arange(len(X)) % 2 if hasattr(X, "__len__") else None
    with pytest.raises(ValueError, match=match):
        GaussianHMMClassifier().fit(X, y)


def test_bad_input_errors():
    rng = np.random.RandomState(15)
    X, y = _two_class_data(rng, n=10)
    with pytest.raises(ValueError, match=r"class\(es\) \[1\] have no sequence"):
        GaussianHMMClassifier().fit(X, y, sample_weight=(y == 0).astype(float))
    with pytest.raises(ValueError, match="at least 2 classes"):
        GaussianHMMClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="10 sequences in X but 9 labels"):
        GaussianHMMClassifier().fit(X, y[:-1])
    with pytest.raises(ValueError, match="lengths must be non-negative and sum"):
        GaussianHMMClassifier().fit(np.zeros((10, 2)), [0, 1], lengths=[5, 4])
    clf = GaussianHMMClassifier(random_state=0).fit(X, y)
    with pytest.raises(
        ValueError, match="3 features per time step, but the estimator was fitted with 2"
    ):
        clf.predict([np.zeros((4, 3))])
    with pytest.raises(ValueError, match="priors must be 2"):
        GaussianHMMClassifier(priors=[0.5, 0.2]).fit(X, y)
    Xs = [np.array([0, 1, 0]), np.array([1, 1, 0])]
    with pytest.raises(ValueError, match="non-integer"):
        CategoricalHMMClassifier().fit([np.array([0.5, 1.0, 0.0])] + Xs[1:], [0, 1])
    with pytest.raises(ValueError, match="negative symbols"):
        CategoricalHMMClassifier().fit([np.array([0, -1, 0])] + Xs[1:], [0, 1])
    with pytest.raises(ValueError, match="symbol 3 found but the alphabet has n_symbols=2"):
        CategoricalHMMClassifier(n_symbols=2).fit([np.array([0, 3, 0])] + Xs[1:], [0, 1])
    cat = CategoricalHMMClassifier(random_state=0).fit(Xs, [0, 1])
    with pytest.raises(ValueError, match="symbol 5 .* was not among the 2 symbols seen in fit"):
        cat.predict([np.array([0, 5, 1])])
    with pytest.raises(ValueError, match="single symbols"):
        CategoricalHMMClassifier().fit([np.zeros((3, 2), int)] * 2, [0, 1])


# ---------------------------------------------------------------------- #
# SequenceFeatures and check_sequences
# ---------------------------------------------------------------------- #
def test_sequence_features():
    rng = np.random.RandomState(16)
    seqs = [rng.randn(rng.randint(1, 9), 3) for _ in range(5)]
    feats = ("mean", "std", "min", "max", "first", "last", "slope", "length", "log_length")
    sf = SequenceFeatures(features=feats).fit(seqs)
    F = sf.transform(seqs)
    names = sf.get_feature_names_out()
    assert F.shape == (5, 7 * 3 + 2) == (5, len(names))
    for i, s in enumerate(seqs):
        row = dict(zip(names, F[i], strict=True))
        assert_allclose(row["mean_1"], s[:, 1].mean())
        assert_allclose(row["std_2"], s[:, 2].std())
        assert_allclose(row["last_0"], s[-1, 0])
        assert row["length"] == len(s)
        slope = np.polyfit(np.arange(len(s)), s[:, 0], 1)[0] if len(s) > 1 else 0.0
        assert_allclose(row["slope_0"], slope, atol=1e-12)
    with pytest.raises(ValueError, match="unknown feature"):
        SequenceFeatures(features=("median",)).fit(seqs)
    with pytest.raises(ValueError, match="fitted with 3"):
        sf.transform([np.zeros((4, 2))])


def test_check_sequences_forms():
    X = [np.arange(4.0), np.arange(6.0)]
    seqs = check_sequences(X)
    assert [s.shape for s in seqs] == [(4, 1), (6, 1)]
    seqs = check_sequences(np.arange(10.0)[:, None], lengths=[4, 6])
    assert [s.shape for s in seqs] == [(4, 1), (6, 1)]
    assert check_sequences([[0, 1, 2], [1, 1]], dtype="integer")[0].dtype == np.intp


# ---------------------------------------------------------------------- #
# HMM classifiers as experts of MixtureOfExpertsClassifier
# ---------------------------------------------------------------------- #
def test_mixture_of_hmm_experts_end_to_end():
    rng = np.random.RandomState(17)
    X, y, r = _regime_data(rng, 120)
    Xt, yt, rt = _regime_data(rng, 200)
    # One 2-state HMM per class cannot model both regimes (four levels).
    single = GaussianHMMClassifier(2, random_state=0).fit(X, y)
    # Two restarts: the portfolio's second pair of starts includes k-means on
    # the gate's features (the regimes as the gate sees them), which finds
    # the best optimum here; the first pair stops in a poorer one.
    moe = MixtureOfExpertsClassifier(
        GaussianHMMClassifier(2, max_iter=5), n_experts=2, max_iter=30, n_init=2, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        moe.fit(X, y)
    assert moe.score(Xt, yt) > 0.95 > single.score(Xt, yt) + 0.2
    # The gate routes by regime, from SequenceFeatures (the default gate features).
    g = moe.predict_gate(Xt).argmax(axis=1)
    assert max(np.mean(g == rt), np.mean(g != rt)) > 0.95
    assert moe.n_features_in_ == 1
    assert moe.predict_proba(Xt).shape == (200, 2)
    assert_allclose(moe.predict_proba(Xt).sum(axis=1), 1.0)
    assert moe.responsibilities(Xt, yt).shape == (200, 2)
    assert moe.predict_experts(Xt[:3]).shape == (3, 2, 2)
    # Generative experts: EM on the joint likelihood is monotone.
    assert np.all(np.diff(moe.lower_bounds_) > -1e-6 * np.abs(moe.lower_bounds_[:-1]))
    # Joint log-likelihood log p(x, y) per sequence; BIC counts HMM parameters.
    assert np.isfinite(moe.log_likelihood(Xt, yt)).all()
    assert np.isfinite(moe.bic(Xt, yt))


def test_mixture_with_user_gate_features_and_cross_validation():
    rng = np.random.RandomState(18)
    X, y, _ = _regime_data(rng, 60)
    moe = MixtureOfExpertsClassifier(
        GaussianHMMClassifier(2, max_iter=3),
        n_experts=2,
        max_iter=5,
        random_state=0,
        gate_features=FunctionTransformer(lambda seqs: np.array([[s.mean()] for s in seqs])),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(moe, X, y, cv=2)
        assert scores.mean() > 0.8
        gs = GridSearchCV(moe, {"experts__n_states": [2]}, cv=2).fit(X, y)
    assert gs.best_estimator_.gate_.n_features_in_ == 1


def test_mixture_sequence_mode_errors():
    rng = np.random.RandomState(19)
    X, y, _ = _regime_data(rng, 20)
    with pytest.raises(ValueError, match="every expert must take sequences"):
        MixtureOfExpertsClassifier(
            [("hmm", GaussianHMMClassifier()), ("lin", LogisticExpert())]
        ).fit(X, y)
    with pytest.raises(ValueError, match="every expert must take sequences"):
        MixtureOfExpertsClassifier(gate_features=SequenceFeatures()).fit(X, y)
    with pytest.raises(ValueError, match="expert_features"):
        MixtureOfExpertsClassifier(GaussianHMMClassifier(), expert_features=[0]).fit(X, y)
    with pytest.raises(ValueError, match="sequence 1 has 1 time step"):
        MixtureOfExpertsClassifier(GaussianHMMClassifier()).fit([X[0], X[1][:1]] + X[2:], y)
    moe = MixtureOfExpertsClassifier(GaussianHMMClassifier(max_iter=2), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        moe.fit(X, y)
    with pytest.raises(ValueError, match="fitted with 1"):
        moe.predict([np.zeros((5, 2))])


def test_categorical_symbols_are_encoded():
    # The tables are sized by the number of symbols seen, not the largest
    # (one symbol of 1e9 allocated 7.45 GiB, issue 13); any integers work.
    rng = np.random.RandomState(0)
    alphabet = np.array([3, 10**9, 7])
    X = [
        alphabet[rng.choice(3, 20, p=[0.8, 0.1, 0.1] if i % 2 else [0.1, 0.1, 0.8])]
        for i in range(10)
    ]
    y = np.arange(10) % 2
    big = CategoricalHMMClassifier(random_state=0).fit(X, y)
    assert big.n_symbols_ == 3 and big.emissionprob_.shape == (2, 2, 3)
    assert_array_equal(big.symbols_, [3, 7, 10**9])
    # The same model as on the codes 0, 1, 2 (symbols in sorted order).
    codes = [np.searchsorted(big.symbols_, s) for s in X]
    small = CategoricalHMMClassifier(random_state=0).fit(codes, y)
    assert_allclose(big.emissionprob_, small.emissionprob_)
    assert_allclose(big.predict_proba(X), small.predict_proba(codes))
    assert big.score(X, y) == 1.0


def test_probabilities_sum_to_one_far_from_the_data():
    """Found by the hostile-input campaign (each row a two-step sequence):
    the class log-likelihoods of a sequence far from the fitted states were
    both -1.93e29, and ``joint - logsumexp(joint)`` lost the log(2) to
    rounding, so both classes got probability 1. Shifted by the row's
    largest first, they sum to one."""
    x = np.array([2.98670957e11, 1.82451750e11, 2.98670957e11, 1.82451750e11, -2.56444363e11])
    y = np.array(["c1", "c1", "c1", "c0", "c1"])
    sw = np.array([9.69732301e-06, 2.41598208e-02, 8.07143867e-07, 1.68064627e03, 0.0])
    seqs = np.repeat(x[:, None, None], 2, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = GaussianHMMClassifier(n_states=2, max_iter=10, random_state=0)
        est.fit(seqs, y, sample_weight=sw)
    far = seqs[4:]
    ll = est.class_log_likelihood(far)
    assert ll.max() < -1e20  # the regime of the bug
    proba = est.predict_proba(far)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_allclose(np.exp(est.predict_log_proba(far)), proba)
