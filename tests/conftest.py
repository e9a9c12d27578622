import os

import pytest
from hypothesis import HealthCheck, settings

# Property tests are deterministic (derandomize: the same examples on every
# run and machine) and time-bounded (few examples, no per-example deadline on
# a shared 2-core machine).  Each test may lower max_examples further.
settings.register_profile(
    "skmoe",
    derandomize=True,
    max_examples=25,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("skmoe")


def pytest_configure(config):
    # As scikit-learn's own conftest does: under pytest-xdist, share the cores
    # between the workers instead of letting every worker's BLAS start one
    # thread per core.  Oversubscribed OpenBLAS makes SciPy >= 1.15's
    # L-BFGS-B (used by every softmax gate / logistic expert M-step) tens of
    # times slower (scipy/scipy#22438).
    n_workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if n_workers is not None:
        n_threads = max(os.cpu_count() // int(n_workers), 1)
        # OpenMP (HistGradientBoosting, KMeans) is loaded only when
        # scikit-learn is imported, after this hook: threadpoolctl cannot
        # limit a library that is not loaded yet, the environment variable
        # can.  Oversubscribed OpenMP made one HistGradientBoosting fit 15x
        # slower on a loaded 2-core machine.
        os.environ.setdefault("OMP_NUM_THREADS", str(n_threads))
        import sklearn.ensemble  # noqa: F401  (load libgomp, then limit it too)
        from threadpoolctl import threadpool_limits

        threadpool_limits(n_threads)


class FakeTqdm:
    """A stand-in for tqdm's bar class that records what the progress reporter did."""

    instances = []

    def __init__(self, total=None, desc=None, leave=True):
        self.total, self.desc, self.n, self.postfixes, self.closed, self.written = (
            total,
            desc,
            0,
            [],
            False,
            [],
        )
        FakeTqdm.instances.append(self)

    def update(self, n=1):
        self.n += n

    def set_postfix(self, postfix, refresh=True):
        self.postfixes.append(dict(postfix))

    def write(self, line):
        self.written.append(line)

    def refresh(self):
        pass

    def close(self):
        self.closed = True


@pytest.fixture
def fake_tqdm(monkeypatch):
    """skmoe's ``verbose="progress"`` bars become :class:`FakeTqdm` instances."""
    import skmoe._progress as progress_mod

    FakeTqdm.instances = []
    monkeypatch.setattr(progress_mod, "_import_tqdm", lambda: FakeTqdm)
    return FakeTqdm
