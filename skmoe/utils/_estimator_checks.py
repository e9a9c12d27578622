"""The checks of ``sklearn.utils.estimator_checks`` that skmoe's estimators fail on purpose.

One source for skmoe's own test suite (``tests/_instances.py``) and for users
who run ``check_estimator`` or ``parametrize_with_checks`` on skmoe's
estimators: :func:`expected_failed_checks` gives, for one instance, the
``{check name: reason}`` dict that both take as ``expected_failed_checks``.
"""

_MIXTURE_SAMPLE_WEIGHT_REASON = (
    "EM starts from k-means, whose k-means++ seeding draws rows at random: "
    "repeated rows and the same rows with integer weights give k-means "
    "different draws, hence a different initial partition (and a different "
    "assignment of expert labels and expert seeds), and EM converges to a "
    "different local optimum. Every M-step does honour integer weights as "
    "repetitions: see skmoe's test_mixture_sample_weight_equivalence_well_separated."
)

_LOGISTIC_SAMPLE_WEIGHT_REASON = (
    "The weighted objective is exactly the repeated-rows objective, but the "
    "check's data (15 rows, 30 features, 3 classes: separable, weakly "
    "penalised) is ill-conditioned: an iterative solver stopped on the "
    "objective reaches its optimum only to ~2e-5 in probability even at "
    "tol=1e-12, not to the check's rtol=1e-7 (scikit-learn lists the same check as an expected "
    "failure of LogisticRegression). See "
    "test_logistic_expert_sample_weight_equivalence."
)

_NEURAL_SAMPLE_WEIGHT_REASON = (
    "Training is mini-batch AdamW over shuffled rows: repeating a row changes "
    "the number of rows per epoch, the batches and the validation split, so "
    "the fit with integer weights follows a different optimisation path than "
    "the fit on repeated rows (scikit-learn lists the same expected failure "
    "for MLPRegressor's and MLPClassifier's stochastic solvers). Weights do "
    "enter the losses exactly: see test_sample_weight_is_a_loss_weight and "
    "test_zero_weight_rows_are_ignored."
)

_POISSON_COUNTS_REASON = (
    "PoissonExpert models counts and refuses a y that is not made of "
    "non-negative whole numbers. Its positive_only target tag makes these "
    "checks draw positive y, but continuous ones (scikit-learn has no "
    "'integer target' tag), so the fit raises the documented ValueError. "
    "Fits on counts, with weights, are tested in test_families.py."
)

_POISSON_MIXTURE_REASON = (
    "A mixture of PoissonExpert models counts and refuses a y that is not "
    "made of non-negative whole numbers; these checks draw continuous y, and "
    "negative y too, because MixtureOfExpertsRegressor does not forward its "
    "expert's positive_only target tag (it could, when every expert has it). "
    "Mixtures of Poisson regressions are tested in test_families.py."
)

_BINOMIAL_PROPORTIONS_REASON = (
    "BinomialExpert models proportions of successes out of n_trials and "
    "refuses a y outside [0, 1]; these checks draw y of any sign and size "
    "(scikit-learn has no 'target in [0, 1]' tag), so the fit raises the "
    "documented ValueError before the behaviour the check is about is "
    "reached. Binomial fits, alone and in mixtures, with weights, are tested "
    "in test_families.py."
)

_SEQUENCE_DATAFRAME_REASON = (
    "X is a collection of sequences; a DataFrame is a 2-D table, which these "
    "estimators refuse (a plain 2-D array would be ambiguous between one sequence per row and the time steps of one sequence), so there are no column "
    "names to keep consistent."
)

# Checks whose failure is only that the check's y is not a valid target.
_POISSON_TARGET_CHECKS = [
    "check_regressors_train",
    "check_regressor_data_not_an_array",
    "check_regressors_no_decision_function",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_dataframe_column_names_consistency",
]

_BINOMIAL_TARGET_CHECKS = [
    "check_fit_score_takes_y",
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit",
    "check_estimators_dtypes",
    "check_sample_weights_pandas_series",
    "check_sample_weights_not_an_array",
    "check_sample_weights_list",
    "check_sample_weights_shape",
    "check_sample_weights_not_overwritten",
    "check_sample_weight_equivalence_on_dense_data",
    "check_dtype_object",
    "check_f_contiguous_array_estimator",
    "check_regressors_train",
    "check_regressor_data_not_an_array",
    "check_regressors_no_decision_function",
    "check_supervised_y_2d",
    "check_regressors_int",
    "check_non_transformer_estimators_n_iter",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1feature",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_fit2d_predict1d",
    "check_dataframe_column_names_consistency",
]


_SAMPLE_WEIGHT_CHECK = "check_sample_weight_equivalence_on_dense_data"


def _expert_objects(experts):
    """The expert objects of a mixture's ``experts`` parameter (None: the default)."""
    if experts is None:
        return []
    if isinstance(experts, (list, tuple)):
        return [e[1] if isinstance(e, tuple) else e for e in experts]
    return [experts]


def expected_failed_checks(estimator):
    """The scikit-learn estimator checks an skmoe estimator fails on purpose, with why.

    For ``sklearn.utils.estimator_checks.check_estimator`` and
    ``parametrize_with_checks``, which take this dict as their
    ``expected_failed_checks`` (scikit-learn >= 1.6).  Every failure listed is
    a difference of the check's assumptions from the model, not a bug: EM
    from a random start is not invariant to repeating rows, the GLM experts
    refuse targets outside their family, the sequence estimators take
    collections of sequences.  The behaviour each check wanted is tested by
    skmoe's own test suite where it holds at another precision or on other
    data.  The same dict drives skmoe's own ``parametrize_with_checks`` run.

    Parameters
    ----------
    estimator : estimator instance
        An skmoe estimator (the entries depend on its class and, for the
        mixtures, on its experts).  Any other estimator gets an empty dict.

    Returns
    -------
    dict
        ``{check name: reason}``; empty when every check is expected to pass.

    Examples
    --------
    >>> from sklearn.utils.estimator_checks import check_estimator
    >>> from skmoe import MixtureOfExpertsRegressor
    >>> from skmoe.utils import expected_failed_checks
    >>> est = MixtureOfExpertsRegressor()
    >>> sorted(expected_failed_checks(est))
    ['check_sample_weight_equivalence_on_dense_data']
    >>> check_estimator(est, expected_failed_checks=expected_failed_checks(est))  # doctest: +SKIP
    """
    from .. import MixtureOfExpertsClassifier, MixtureOfExpertsRegressor
    from ..experts import BinomialExpert, LogisticExpert, PoissonExpert
    from ..neural import SparseMoEClassifier, SparseMoERegressor
    from ..sequence import CategoricalHMMClassifier, GaussianHMMClassifier, SequenceFeatures

    sequence_types = (SequenceFeatures, GaussianHMMClassifier, CategoricalHMMClassifier)
    failed = {}
    if isinstance(estimator, (MixtureOfExpertsRegressor, MixtureOfExpertsClassifier)):
        failed[_SAMPLE_WEIGHT_CHECK] = _MIXTURE_SAMPLE_WEIGHT_REASON
        experts = _expert_objects(estimator.get_params()["experts"])
        if any(isinstance(e, PoissonExpert) for e in experts):
            failed.update(dict.fromkeys(_POISSON_TARGET_CHECKS, _POISSON_MIXTURE_REASON))
        if any(isinstance(e, BinomialExpert) for e in experts):
            checks = _BINOMIAL_TARGET_CHECKS + ["check_estimators_partial_fit_n_features"]
            failed.update(dict.fromkeys(checks, _BINOMIAL_PROPORTIONS_REASON))
        if any(isinstance(e, sequence_types) for e in experts):
            failed["check_dataframe_column_names_consistency"] = _SEQUENCE_DATAFRAME_REASON
    elif isinstance(estimator, LogisticExpert):
        failed[_SAMPLE_WEIGHT_CHECK] = _LOGISTIC_SAMPLE_WEIGHT_REASON
    elif isinstance(estimator, PoissonExpert):
        failed.update(dict.fromkeys(_POISSON_TARGET_CHECKS, _POISSON_COUNTS_REASON))
    elif isinstance(estimator, BinomialExpert):
        failed.update(dict.fromkeys(_BINOMIAL_TARGET_CHECKS, _BINOMIAL_PROPORTIONS_REASON))
    elif isinstance(estimator, (SparseMoERegressor, SparseMoEClassifier)):
        failed[_SAMPLE_WEIGHT_CHECK] = _NEURAL_SAMPLE_WEIGHT_REASON
    elif isinstance(estimator, sequence_types):
        failed["check_dataframe_column_names_consistency"] = _SEQUENCE_DATAFRAME_REASON
    return failed
