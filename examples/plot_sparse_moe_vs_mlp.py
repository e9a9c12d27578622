"""
==============================================================
Sparse neural mixture of experts against an MLP: digits
==============================================================

:class:`~skmoe.neural.SparseMoEClassifier` is the neural, sparsely gated
variant (Shazeer et al. 2017; Fedus, Zoph & Shazeer 2022): ``n_experts`` small
MLPs and a learned router that sends each input to its ``top_k`` best experts
only, trained end to end by AdamW with a load-balancing loss, in place of EM.
Here eight experts with one hidden layer of 32 units, two per input, against
scikit-learn's :class:`~sklearn.neural_network.MLPClassifier` with one hidden
layer of 64 units (the same work per input: two 32-unit experts), on the
8x8 handwritten digits shipped with scikit-learn (1797 images).

We report test accuracy, log-loss and fit time, then look at the router: for
each digit, the average gate weight of each expert on the test images.  The
router was never told the labels, yet some experts specialise in one or two
digits.  On a data set this small the dense MLP is as accurate and much faster
to fit; the sparse model pays off when the model is large and the work per
input must stay fixed as experts are added.

.. note::

   Needs PyTorch (``pip install torch``, or ``pip install "skmoe[torch]"``);
   it runs on the CPU in a few seconds.  With a CUDA GPU, ``device="auto"``
   trains there.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmoe.neural import SparseMoEClassifier

# At these sizes (64 features, 32 hidden units, batches of 64 rows) a matrix
# product takes microseconds and torch's intra-op threads cost more than they
# save: on a busy 2-core machine the default threading made this fit 50 times
# slower than one thread.
torch.set_num_threads(1)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

models = {
    "SparseMoEClassifier (8 x 32 units, top-2)": SparseMoEClassifier(
        hidden_layer_sizes=(32,),
        n_experts=8,
        top_k=2,
        batch_size=64,
        max_epochs=100,
        random_state=0,
    ),
    "MLPClassifier (64 units)": MLPClassifier(
        hidden_layer_sizes=(64,), early_stopping=True, max_iter=500, random_state=0
    ),
}
fitted = {}
for name, model in models.items():
    start = time.perf_counter()
    fitted[name] = make_pipeline(StandardScaler(), model).fit(X_train, y_train)
    seconds = time.perf_counter() - start
    proba = fitted[name].predict_proba(X_test)
    print(
        f"{name:42s} accuracy {np.mean(proba.argmax(1) == y_test):.3f}  "
        f"log-loss {log_loss(y_test, proba):.3f}  fit {seconds:.1f} s "
        f"({model.n_iter_} epochs)"
    )

# %%
# The router's choices: average gate weight of each expert per digit (test
# set), and each expert's share of the training rows over the epochs.
pipe = fitted["SparseMoEClassifier (8 x 32 units, top-2)"]
moe = pipe[-1]
gate = moe.predict_gate(pipe[0].transform(X_test))  # (n_test, n_experts), 0 off the top-2
by_digit = np.array([gate[y_test == d].mean(axis=0) for d in range(10)])

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
im = axes[0].imshow(by_digit, cmap="viridis", aspect="auto")
axes[0].set_xlabel("expert")
axes[0].set_ylabel("digit")
axes[0].set_yticks(range(10))
axes[0].set_title("mean gate weight on the test images")
fig.colorbar(im, ax=axes[0])
axes[1].plot(moe.expert_load_curve_)
axes[1].axhline(1 / moe.n_experts, color="k", ls="--", lw=1, label="perfect balance")
axes[1].set_xlabel("epoch")
axes[1].set_ylabel("share of routed rows")
axes[1].set_title("expert load during training")
axes[1].legend()
fig.tight_layout()
plt.show()
