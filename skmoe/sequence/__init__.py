"""Sequences: HMM-sequence classifiers (experts for the mixtures), sequence features and
Markov-switching mixtures of experts for time series."""

from ._features import SequenceFeatures, check_sequences
from ._hmm_classifier import CategoricalHMMClassifier, GaussianHMMClassifier
from ._markov import MarkovSwitchingClassifier, MarkovSwitchingRegressor

__all__ = [
    "CategoricalHMMClassifier",
    "GaussianHMMClassifier",
    "MarkovSwitchingClassifier",
    "MarkovSwitchingRegressor",
    "SequenceFeatures",
    "check_sequences",
]
