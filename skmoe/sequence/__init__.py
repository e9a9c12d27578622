"""Sequences: HMM-sequence classifiers (experts for the mixtures) and sequence features."""

from ._features import SequenceFeatures, check_sequences
from ._hmm_classifier import CategoricalHMMClassifier, GaussianHMMClassifier

__all__ = [
    "CategoricalHMMClassifier",
    "GaussianHMMClassifier",
    "SequenceFeatures",
    "check_sequences",
]
