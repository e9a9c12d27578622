import os

import numpy as np
import pytest


def pytest_configure(config):
    # As scikit-learn's own conftest does: under pytest-xdist, share the cores
    # between the workers instead of letting every worker's BLAS start one
    # thread per core.  Oversubscribed OpenBLAS makes SciPy >= 1.15's
    # L-BFGS-B (used by every softmax gate / logistic expert M-step) tens of
    # times slower (scipy/scipy#22438).
    n_workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if n_workers is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(max(os.cpu_count() // int(n_workers), 1))


@pytest.fixture
def rng():
    return np.random.RandomState(0)
