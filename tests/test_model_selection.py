"""Choosing the number of experts (skmoe.model_selection) and the ICL criterion."""

import warnings
from html.parser import HTMLParser

import numpy as np
import pytest
from joblib import parallel_config
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor

from skmoe import HierarchicalGate, MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
from skmoe._results import ResultTable
from skmoe.datasets import load_mcycle, make_moe_classification, make_moe_regression
from skmoe.model_selection import log_likelihood_scorer, select_n_experts


def _three_experts(seed, n_samples=500):
    # Well separated: noise 0.5 against coefficients and intercepts of scale 2.
    X, y, _ = make_moe_regression(
        n_samples=n_samples, n_features=2, n_experts=3, noise=0.5, random_state=seed
    )
    return X, y


def _entropy(resp):
    return -np.sum(resp * np.log(np.where(resp > 0, resp, 1.0)))


def test_bic_recovers_three_experts():
    """On data drawn from 3 well-separated experts BIC picks 3 in >= 9 of 10 seeds."""
    picks = []
    for seed in range(10):
        X, y = _three_experts(seed)
        with warnings.catch_warnings():
            # K=4, 5 over-fit: re-seeding / slow convergence warnings are expected.
            warnings.simplefilter("ignore")
            best, results = select_n_experts(
                MixtureOfExpertsRegressor(random_state=seed), X, y, n_experts=range(1, 6)
            )
        assert best.n_experts == results.best_n_experts
        assert results.converged[results.best_index]
        picks.append(results.best_n_experts)
    assert sum(p == 3 for p in picks) >= 9, f"BIC picks per seed: {picks}"


def test_icl_is_bic_plus_twice_the_entropy():
    X, y = _three_experts(0, n_samples=300)
    moe = MixtureOfExpertsRegressor(n_experts=3, random_state=0).fit(X, y)
    resp = moe.responsibilities(X, y)
    assert_allclose(moe.icl(X, y), moe.bic(X, y) + 2 * _entropy(resp), rtol=1e-12)
    assert moe.icl(X, y) >= moe.bic(X, y)
    one = MixtureOfExpertsRegressor(n_experts=1).fit(X, y)
    assert one.icl(X, y) == pytest.approx(one.bic(X, y), rel=1e-12)
    clf = MixtureOfExpertsClassifier(n_experts=2, random_state=0)
    Xc, yc, _ = make_moe_classification(n_samples=200, random_state=0)
    clf.fit(Xc, yc)
    assert_allclose(clf.icl(Xc, yc), clf.bic(Xc, yc) + 2 * _entropy(clf.responsibilities(Xc, yc)))


def test_results_table_matches_the_estimators_criteria():
    X, y = _three_experts(1, n_samples=300)
    best, results = select_n_experts(
        MixtureOfExpertsRegressor(random_state=0), X, y, n_experts=[3, 1, 2, 2], criterion="icl"
    )
    assert_array_equal(results.n_experts, [1, 2, 3])  # sorted, duplicates dropped
    assert results.criterion == "icl"
    assert results.best_n_experts == 3 == best.n_experts
    assert sorted(results.rank) == [1, 2, 3]
    assert results.rank[results.best_index] == 1
    assert np.argmin(results.icl) == results.best_index
    for i, k in enumerate(results.n_experts):
        moe = (
            clone(MixtureOfExpertsRegressor(random_state=0)).set_params(n_experts=int(k)).fit(X, y)
        )
        assert_allclose(results.bic[i], moe.bic(X, y), rtol=1e-10)
        assert_allclose(results.aic[i], moe.aic(X, y), rtol=1e-10)
        assert_allclose(results.icl[i], moe.icl(X, y), rtol=1e-10)
        assert_allclose(results.log_likelihood[i], moe.log_likelihood(X, y).sum(), rtol=1e-10)
        assert results.n_parameters[i] == moe._n_parameters()
    # The returned estimator is the fitted candidate.
    assert_allclose(best.bic(X, y), results.bic[results.best_index])
    frame = results.to_frame()
    assert list(frame.columns) == [
        "n_experts",
        "log_likelihood",
        "n_parameters",
        "bic",
        "aic",
        "icl",
        "converged",
        "n_iter",
        "rank",
    ]
    assert len(frame) == 3
    assert "n_experts" in repr(results)


def test_aic_criterion_picks_the_smallest_aic():
    X, y = _three_experts(2, n_samples=300)
    _, results = select_n_experts(
        MixtureOfExpertsRegressor(random_state=0), X, y, n_experts=range(1, 4), criterion="aic"
    )
    assert results.best_index == np.argmin(results.aic)


def test_same_result_for_any_n_jobs():
    X, y = _three_experts(3, n_samples=300)
    est = MixtureOfExpertsRegressor(random_state=0)
    best1, res1 = select_n_experts(est, X, y, n_experts=range(1, 5), n_jobs=None)
    # The threading backend: the same scheduling question as loky (candidates
    # finish in any order) without paying two worker processes' imports in
    # the test suite.  Fitted estimators crossing process boundaries are
    # covered by the common checks' pickling tests.
    with parallel_config(backend="threading"):
        best2, res2 = select_n_experts(est, X, y, n_experts=range(1, 5), n_jobs=2)
    for key in res1:
        assert_array_equal(res1[key], res2[key], err_msg=key)
    assert_array_equal(best1.predict(X), best2.predict(X))
    # The template is cloned, never fitted.
    assert not hasattr(est, "gate_")


def test_cv_criterion_uses_held_out_log_likelihood():
    X, y = _three_experts(4, n_samples=300)
    est = MixtureOfExpertsRegressor(random_state=0)
    best, results = select_n_experts(est, X, y, n_experts=[2, 3], criterion="cv", cv=3)
    assert results.best_n_experts == 3 == best.n_experts
    assert hasattr(best, "gate_") and best.n_features_in_ == 2
    # The same numbers as cross_val_score with the log-likelihood scorer, on
    # the folds an int cv means: shuffled KFold seeded by random_state.
    folds = KFold(3, shuffle=True, random_state=0)
    for i, k in enumerate(results.n_experts):
        expected = cross_val_score(
            clone(est).set_params(n_experts=int(k)), X, y, cv=folds, scoring=log_likelihood_scorer
        )
        got = [results[f"split{s}_test_log_likelihood"][i] for s in range(3)]
        assert_allclose(got, expected, rtol=1e-12)
        assert_allclose(results.mean_test_log_likelihood[i], expected.mean(), rtol=1e-12)
    assert results.best_index == np.argmax(results.mean_test_log_likelihood)
    # A splitter object and an explicit list of splits give the same folds.
    splits = list(folds.split(X))
    _, res_list = select_n_experts(est, X, y, n_experts=[2, 3], criterion="cv", cv=splits)
    assert_allclose(res_list.mean_test_log_likelihood, results.mean_test_log_likelihood)


def test_sample_weight_weights_fits_and_criteria():
    X, y = _three_experts(5, n_samples=300)
    est = MixtureOfExpertsRegressor(random_state=0)
    _, res_none = select_n_experts(est, X, y, n_experts=[1, 2, 3])
    _, res_ones = select_n_experts(est, X, y, n_experts=[1, 2, 3], sample_weight=np.ones(300))
    for key in ("bic", "aic", "icl", "log_likelihood"):
        assert_allclose(res_ones[key], res_none[key], rtol=1e-10)
    w = np.random.RandomState(0).randint(1, 4, size=300).astype(float)
    best, res = select_n_experts(est, X, y, n_experts=[1, 2, 3], sample_weight=w)
    ref = clone(est).set_params(n_experts=best.n_experts).fit(X, y, sample_weight=w)
    assert_allclose(best.predict(X), ref.predict(X))
    ll = best.log_likelihood(X, y)
    i = res.best_index
    assert_allclose(res.log_likelihood[i], w @ ll)
    assert_allclose(res.bic[i], -2 * w @ ll + res.n_parameters[i] * np.log(w.sum()))


def test_classifier_is_supported():
    X, y, _ = make_moe_classification(n_samples=300, n_experts=2, random_state=0)
    best, results = select_n_experts(
        MixtureOfExpertsClassifier(random_state=0), X, y, n_experts=[1, 2]
    )
    assert isinstance(best, MixtureOfExpertsClassifier)
    assert best.n_experts == results.best_n_experts
    _, res_cv = select_n_experts(
        MixtureOfExpertsClassifier(random_state=0), X, y, n_experts=[1, 2], criterion="cv", cv=2
    )
    assert np.all(res_cv.mean_test_log_likelihood < 0)


def test_candidate_warnings_are_reissued_with_the_candidate():
    X, y = _three_experts(6, n_samples=200)
    with pytest.warns(ConvergenceWarning, match=r"^n_experts=3: Best of 1 EM restart"):
        _, results = select_n_experts(
            MixtureOfExpertsRegressor(max_iter=2, random_state=0), X, y, n_experts=[3]
        )
    assert not results.converged[0]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(criterion="BIC"), r"criterion must be one of \['bic', 'icl', 'aic', 'cv'\]"),
        (dict(criterion=None), "criterion must be one of"),
        (dict(n_experts=[]), "non-empty sequence of positive integers.*empty"),
        (dict(n_experts=4), "non-empty sequence of positive integers.*got 4"),
        (dict(n_experts="123"), "non-empty sequence"),
        (dict(n_experts=[0, 1, 2]), r"invalid value\(s\) \[0\]"),
        (dict(n_experts=[1, 2.5]), r"invalid value\(s\) \[2.5\]"),
        (dict(n_experts=[True, 2]), r"invalid value\(s\) \[True\]"),
    ],
)
def test_invalid_arguments(kwargs, match):
    X, y = _three_experts(0, n_samples=50)
    with pytest.raises(ValueError, match=match):
        select_n_experts(MixtureOfExpertsRegressor(), X, y, **kwargs)


def test_invalid_estimators():
    X, y = _three_experts(0, n_samples=50)
    with pytest.raises(TypeError, match="needs a skmoe mixture.*got LinearRegression"):
        select_n_experts(LinearRegression(), X, y)
    with pytest.raises(ValueError, match="fixes the number of experts"):
        select_n_experts(MixtureOfExpertsRegressor(gate=HierarchicalGate()), X, y)
    het = MixtureOfExpertsRegressor(
        experts=[("a", DecisionTreeRegressor()), ("b", LinearRegression())]
    )
    with pytest.raises(ValueError, match="heterogeneous experts"):
        select_n_experts(het, X, y)


# --------------------------------------------------------------------------- #
# Pipelines, and folds for time-sorted data (issue 15)
# --------------------------------------------------------------------------- #
def test_scorer_scores_a_pipeline_through_its_transformers():
    X, y = _three_experts(7, n_samples=300)
    X = X * 100.0 + 5.0  # the scaler's transform matters
    pipe = make_pipeline(StandardScaler(), MixtureOfExpertsRegressor(n_experts=3, random_state=0))
    pipe.fit(X, y)
    scaler, moe = pipe[0], pipe[-1]
    expected = moe.log_likelihood(scaler.transform(X), y).mean()
    assert log_likelihood_scorer(pipe, X, y) == pytest.approx(expected, rel=1e-12)
    w = np.linspace(0.5, 2.0, 300)
    expected_w = w @ moe.log_likelihood(scaler.transform(X), y) / w.sum()
    assert log_likelihood_scorer(pipe, X, y, sample_weight=w) == pytest.approx(expected_w)
    # A nested Pipeline too.
    outer = make_pipeline(StandardScaler(), pipe).fit(X, y)
    inner_X = outer[0].transform(X)
    expected = outer[-1][-1].log_likelihood(outer[-1][0].transform(inner_X), y).mean()
    assert log_likelihood_scorer(outer, X, y) == pytest.approx(expected, rel=1e-12)


def test_grid_search_ranks_pipeline_candidates_by_log_likelihood():
    X, y = _three_experts(8, n_samples=300)
    pipe = make_pipeline(StandardScaler(), MixtureOfExpertsRegressor(random_state=0))
    search = GridSearchCV(
        pipe,
        {"mixtureofexpertsregressor__n_experts": [1, 3]},
        scoring=log_likelihood_scorer,
        cv=KFold(3, shuffle=True, random_state=0),
        error_score="raise",
    ).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    # Three well-separated experts beat one line by a wide margin.
    assert scores[1] > scores[0] + 0.3
    assert search.best_params_ == {"mixtureofexpertsregressor__n_experts": 3}


def test_scorer_raises_instead_of_returning_nan():
    X, y = _three_experts(9, n_samples=100)
    lin = make_pipeline(StandardScaler(), LinearRegression()).fit(X, y)
    with pytest.raises(TypeError, match="last step is one; got LinearRegression"):
        log_likelihood_scorer(lin, X, y)
    with pytest.raises(TypeError, match="got LinearRegression, which has no log_likelihood"):
        log_likelihood_scorer(LinearRegression().fit(X, y), X, y)

    class NaNMixture(MixtureOfExpertsRegressor):
        def log_likelihood(self, X, y):
            return np.full(len(y), np.nan)

    est = NaNMixture(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"log-likelihood of the held-out rows is NaN \(100 of"):
        log_likelihood_scorer(est, X, y)


def test_select_n_experts_accepts_a_pipeline():
    X, y = _three_experts(3, n_samples=400)
    X = X * 50.0
    pipe = make_pipeline(StandardScaler(), MixtureOfExpertsRegressor(n_init=2, random_state=0))
    w = np.random.RandomState(1).randint(1, 3, size=400).astype(float)
    best, res = select_n_experts(pipe, X, y, n_experts=[1, 2, 3], sample_weight=w)
    assert res.best_n_experts == 3
    assert best.get_params()["mixtureofexpertsregressor__n_experts"] == 3
    assert not hasattr(pipe[-1], "gate_")  # the template is not fitted
    # The criteria are the mixture's, on the scaled X, with the weights.
    moe = clone(pipe[-1]).set_params(n_experts=3)
    Xs = StandardScaler().fit(X).transform(X)
    moe.fit(Xs, y, sample_weight=w)
    assert_allclose(best.predict(X), moe.predict(Xs))
    assert_allclose(res.log_likelihood[2], w @ moe.log_likelihood(Xs, y))
    # Cross-validation through the pipeline.
    best_cv, res_cv = select_n_experts(pipe, X, y, n_experts=[1, 3], criterion="cv", cv=3)
    assert res_cv.best_n_experts == 3 and hasattr(best_cv[-1], "gate_")
    with pytest.raises(TypeError, match="got LinearRegression as the last step of a Pipeline"):
        select_n_experts(make_pipeline(StandardScaler(), LinearRegression()), X, y)


def test_cv_folds_are_shuffled_so_time_sorted_data_get_enough_experts():
    # The motorcycle data are sorted by time: contiguous folds hold out whole
    # stretches of time, which rewards the model that extrapolates least.
    X, y = load_mcycle(return_X_y=True)
    assert np.all(np.diff(X[:, 0]) >= 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in (0, 1, 2):
            est = MixtureOfExpertsRegressor(random_state=seed)
            _, res = select_n_experts(est, X, y, n_experts=range(1, 6), criterion="cv")
            # Four regimes (flat, dip, rebound, noisy tail): 3 to 5 experts.
            assert res.best_n_experts >= 3, (seed, res.mean_test_log_likelihood)
        _, contiguous = select_n_experts(
            MixtureOfExpertsRegressor(random_state=0),
            X,
            y,
            n_experts=range(1, 6),
            criterion="cv",
            cv=KFold(5),
        )
    assert contiguous.best_n_experts <= 2


def test_int_cv_is_seeded_by_random_state_without_advancing_it():
    X, y = _three_experts(2, n_samples=120)
    rs = np.random.RandomState(3)
    state = rs.get_state()[1].copy()
    est = MixtureOfExpertsRegressor(random_state=rs)
    _, a = select_n_experts(est, X, y, n_experts=[1, 2], criterion="cv", cv=3)
    assert_array_equal(rs.get_state()[1], state)
    _, b = select_n_experts(est, X, y, n_experts=[1, 2], criterion="cv", cv=3)
    assert_array_equal(a.split0_test_log_likelihood, b.split0_test_log_likelihood)


class _HTMLTable(HTMLParser):
    """Header cells, body rows (cell texts) and the attributes of each body row."""

    def __init__(self):
        super().__init__()
        self.head, self.rows, self.row_attrs, self.open = [], [], [], []
        self._cell = self._section = None

    def handle_starttag(self, tag, attrs):
        self.open.append(tag)
        if tag in ("thead", "tbody"):
            self._section = tag
        elif tag == "tr" and self._section == "tbody":
            self.rows.append([])
            self.row_attrs.append(dict(attrs))
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        assert self.open.pop() == tag  # well nested
        if tag in ("td", "th"):
            (self.head if self._section == "thead" else self.rows[-1]).append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def test_results_render_as_html():
    """select_n_experts' table (a ResultTable) renders as a well-nested HTML
    table: one column per key, one row per candidate, the text form's cells,
    the chosen candidate in bold; text cells are escaped."""
    X, y = _three_experts(1, n_samples=300)
    _, results = select_n_experts(
        MixtureOfExpertsRegressor(random_state=0), X, y, n_experts=[1, 2, 3]
    )
    parser = _HTMLTable()
    parser.feed(results._repr_html_())
    parser.close()
    assert parser.open == []
    assert parser.head == list(results)
    assert len(parser.rows) == results.n_rows == 3
    text_rows = [line.split() for line in repr(results).splitlines()[1:]]
    assert parser.rows == text_rows
    for i, row in enumerate(parser.rows):
        assert int(row[0]) == results.n_experts[i]
        assert_allclose(float(row[parser.head.index("bic")]), results.bic[i], rtol=1e-5)
        assert row[parser.head.index("converged")] == str(bool(results.converged[i]))
    bold = [i for i, a in enumerate(parser.row_attrs) if a.get("class") == "skmoe-best"]
    assert bold == [results.best_index]

    table = ResultTable(parameter=np.array(["a<b", "x&y"], dtype=object), estimate=[1.5, -2.0])
    parser = _HTMLTable()
    parser.feed(table._repr_html_())
    assert parser.rows == [["a<b", "1.5"], ["x&y", "-2"]]
    assert parser.row_attrs == [{}, {}]
    assert "a&lt;b" in table._repr_html_() and "x&amp;y" in table._repr_html_()
