"""
==========================================================
Sequence classification with HMMs: Japanese vowels
==========================================================

Nine male speakers each uttered the Japanese vowel /ae/ several times; every
utterance is a sequence of 7 to 29 frames of 12 LPC cepstrum coefficients
(Kudo, Toyama & Shimbo 1999).  The task is to tell the speaker from one
utterance: 270 training and 370 test utterances, the standard split.

:class:`~skmoe.sequence.GaussianHMMClassifier` fits one Gaussian hidden Markov
model per speaker by Baum-Welch and classifies by Bayes' rule.  It takes the
sequences as they are, a list of ``(n_frames, 12)`` arrays of different
lengths.  We compare it with a logistic regression on fixed-length summaries
of each utterance (:class:`~skmoe.sequence.SequenceFeatures`: per-coefficient
mean, standard deviation, trend, and the length), and with a
:class:`~skmoe.MixtureOfExpertsClassifier` whose experts are two HMM
classifiers and whose softmax gate sees those same summaries: each expert is
a complete set of nine speaker models, and the gate chooses, per utterance,
which set to trust.

.. note::

   The data are read from the ``.ts`` files that the aeon package ships;
   aeon itself is not imported.  Install it with ``pip install --no-deps
   aeon`` (a plain ``pip install aeon`` would downgrade numba and pandas to
   aeon's pins).  The documentation build command in the README does this.
"""

import importlib.util
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmoe import MixtureOfExpertsClassifier
from skmoe.sequence import GaussianHMMClassifier, SequenceFeatures


def load_japanese_vowels(split):
    """Read aeon's ``JapaneseVowels_<split>.ts``: a list of (T, 12) arrays and labels."""
    spec = importlib.util.find_spec("aeon")
    if spec is None:
        raise ImportError("This example reads aeon's data files: pip install --no-deps aeon")
    path = (
        Path(spec.submodule_search_locations[0])
        / "datasets"
        / "data"
        / "JapaneseVowels"
        / f"JapaneseVowels_{split}.ts"
    )
    sequences, labels = [], []
    in_data = False
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:  # header lines (@problemName ...) until @data
            in_data = line.lower() == "@data"
            continue
        # One utterance per line: 12 comma-separated channels, then the label.
        *channels, label = line.split(":")
        sequences.append(np.array([[float(v) for v in c.split(",")] for c in channels]).T)
        labels.append(int(label))
    return sequences, np.array(labels)


X_train, y_train = load_japanese_vowels("TRAIN")
X_test, y_test = load_japanese_vowels("TEST")
lengths = [len(s) for s in X_train + X_test]
print(
    f"{len(X_train)} training and {len(X_test)} test utterances, "
    f"{min(lengths)} to {max(lengths)} frames of {X_train[0].shape[1]} coefficients"
)

# %%
# Three utterances of three speakers: the first four cepstrum coefficients
# (one colour each) over time.
fig, axes = plt.subplots(1, 3, figsize=(10, 3), sharey=True)
for ax, speaker in zip(axes, [1, 5, 9], strict=True):
    for seq in [s for s, lab in zip(X_train, y_train, strict=True) if lab == speaker][:3]:
        for j in range(4):
            ax.plot(seq[:, j], color=f"C{j}", lw=1)
    ax.set_title(f"speaker {speaker}")
    ax.set_xlabel("frame")
axes[0].set_ylabel("LPC cepstra 1-4")
fig.tight_layout()

# %%
# The three classifiers.  The mixture's M-steps refit its HMM experts by a few
# warm-started Baum-Welch iterations each, so its EM is not run to
# convergence here; the warnings saying so are silenced.
features = ("mean", "std", "slope", "length")
models = {
    "logistic regression on SequenceFeatures": make_pipeline(
        SequenceFeatures(features), StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)
    ),
    "GaussianHMMClassifier (3 states)": GaussianHMMClassifier(n_states=3, random_state=0),
    "mixture of 2 HMM classifiers": MixtureOfExpertsClassifier(
        GaussianHMMClassifier(n_states=3, max_iter=5),
        n_experts=2,
        gate_features=SequenceFeatures(features),
        max_iter=15,
        random_state=0,
    ),
}
for name, model in models.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    print(f"{name:42s} test accuracy {model.score(X_test, y_test):.3f}")

# %%
# All three are within a few test utterances of each other (370 utterances:
# one utterance is 0.27 percentage points).  The summaries are enough here
# because a speaker's voice shows in the average spectrum; the HMMs earn their
# keep when the order of the frames matters, and they give a likelihood of
# the whole utterance under each speaker's model.

# %%
# Where the HMM classifier errs: the confusion matrix on the test set.
ConfusionMatrixDisplay.from_estimator(
    models["GaussianHMMClassifier (3 states)"], X_test, y_test, colorbar=False
)
plt.title("GaussianHMMClassifier, test set")
plt.show()
