"""The kernels' scratch tiles and Numba's on-disk cache (skmoe/_kernels/_cache.py)."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import skmoe._kernels as kernels
from skmoe._kernels import _estep
from skmoe._kernels._cache import package_stamp
from skmoe._kernels._fused import softmax_gaussian_estep


def _calls(rng, n=1001, d=3, K=4):
    X = rng.normal(size=(n, d))
    y = rng.normal(size=n)
    W = rng.normal(size=(d, K))
    b = rng.normal(size=K)
    sw = rng.uniform(0.5, 2.0, size=n)
    sw[::7] = 0.0
    T = rng.dirichlet(np.ones(K), size=n)
    var = rng.uniform(0.5, 2.0, size=K)
    R = rng.uniform(0.0, 1.0, size=(n, K))
    shift = rng.normal(size=d)
    return {
        "posterior": lambda: kernels.posterior_from_logs(np.log(T), np.log(R)),
        "log_softmax": lambda: (kernels.linear_log_softmax(X, W, b, shift),),
        "loss_grad": lambda: kernels.softmax_regression_loss_grad(X, W, b, T, sw, shift),
        "density": lambda: (kernels.linear_gaussian_log_density(X, y, W, b, var, shift),),
        "stats": lambda: kernels.linear_sufficient_stats(X, y, R),
        "fused": lambda: softmax_gaussian_estep(X, X, y, sw, W, b, shift, W, b, var, shift),
    }


@pytest.mark.parametrize("tile", [1, 37, 2000])
def test_kernels_take_the_tile_length_from_their_scratch_buffers(monkeypatch, tile):
    # The wrappers size the tiles from ROW_TILE; the compiled kernels must
    # follow the buffers they are given (a kernel compiled, or cached, with
    # another ROW_TILE would otherwise step past them).  Per-row outputs are
    # the same bit for bit; sums over rows change at the rounding level.
    calls = _calls(np.random.default_rng(0))
    before = {name: call() for name, call in calls.items()}
    monkeypatch.setattr(_estep, "ROW_TILE", tile)
    assert _estep.tile_buffers(None)[0].shape == (tile,)
    for name, call in calls.items():
        after = call()
        assert len(after) == len(before[name])
        for a, b in zip(before[name], after, strict=True):
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12, err_msg=name)
    np.testing.assert_array_equal(calls["posterior"]()[0], before["posterior"][0])
    np.testing.assert_array_equal(calls["log_softmax"]()[0], before["log_softmax"][0])
    np.testing.assert_array_equal(calls["density"]()[0], before["density"][0])


def test_package_stamp_follows_every_module_of_the_package(tmp_path):
    for name in ("_a.py", "_b.py"):
        (tmp_path / name).write_text(f"X = {name!r}\n")
    (tmp_path / "notes.txt").write_text("not a module")
    first = package_stamp(str(tmp_path))
    assert package_stamp(str(tmp_path)) == first
    (tmp_path / "notes.txt").write_text("still not a module")
    assert package_stamp(str(tmp_path)) == first
    (tmp_path / "_b.py").write_text("X = 2\n")
    second = package_stamp(str(tmp_path))
    assert second != first
    (tmp_path / "_c.py").write_text("")
    assert package_stamp(str(tmp_path)) not in (first, second)


def test_the_kernels_use_the_package_locator():
    from skmoe._kernels._cache import PackageLocator
    from skmoe._kernels._vector import fast_exp

    assert PackageLocator is not None
    locator = fast_exp._cache._impl.locator
    assert isinstance(locator, PackageLocator)
    own, package = locator.get_source_stamp()
    assert package == package_stamp()


_RUN = """
import json, sys
import kcopy._vector as v
v.fast_exp(1.0)
stats = v.fast_exp.stats
print(json.dumps({"hits": sum(stats.cache_hits.values()),
                  "misses": sum(stats.cache_misses.values())}))
"""


def test_an_edit_anywhere_in_the_package_invalidates_the_cached_kernels(tmp_path):
    # A copy of the kernel package, compiled into an empty cache, loaded
    # from it, then a constant file edited: Numba's own rule (the defining
    # file only) would load the stale kernel; the package's stamp must not.
    import skmoe._kernels as pkg

    shutil.copytree(os.path.dirname(pkg.__file__), tmp_path / "kcopy")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(tmp_path))

    def run():
        out = subprocess.run(
            [sys.executable, "-c", _RUN], env=env, cwd=tmp_path, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    assert run() == {"hits": 0, "misses": 1}
    assert run() == {"hits": 1, "misses": 0}
    with open(tmp_path / "kcopy" / "_config.py", "a") as f:
        f.write("\n# an edit of a constant the kernels read\n")
    assert run() == {"hits": 0, "misses": 1}
    assert run() == {"hits": 1, "misses": 0}


def test_an_unreadable_package_falls_back_to_numbas_stamp(monkeypatch):
    from skmoe._kernels import _cache
    from skmoe._kernels._vector import fast_exp

    def unreadable(directory=None):
        raise FileNotFoundError("gone")

    monkeypatch.setattr(_cache, "package_stamp", unreadable)
    own, package = fast_exp._cache._impl.locator.get_source_stamp()
    assert package is None
    assert own == fast_exp._cache._impl.locator._base.get_source_stamp()
