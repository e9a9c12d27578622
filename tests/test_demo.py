"""The demo, ``python -m skmoe``: compile time apart, the gate and the intervals."""

import re

import numpy as np

from skmoe.__main__ import _gate_segments, main
from skmoe.datasets import load_mcycle


def test_demo_reports_compile_time_gate_and_coverage(capsys):
    main()
    out = capsys.readouterr().out
    assert re.search(r"First mixture fit \(one fold, untimed below\): \d+\.\d s", out)
    assert "compiles\nskmoe's Numba kernels" in out
    rows = {
        line.split("  ")[0]: line.split()
        for line in out.splitlines()
        if line.startswith(("LinearRegression", "HistGradientBoosting", "MixtureOfExperts"))
    }
    assert len(rows) == 3
    cover = {name: float(cols[-3].rstrip("%")) / 100 for name, cols in rows.items()}
    # The mixture's predictive 90% interval is calibrated on held-out folds.
    mixture = next(name for name in cover if name.startswith("MixtureOfExperts"))
    assert 0.8 <= cover[mixture] <= 0.97
    gate_lines = re.findall(r"time +(\S+) to +(\S+) ms: expert (\d)", out)
    assert len(gate_lines) >= 2


def test_gate_segments_cover_the_range_in_order():
    X, y = load_mcycle(return_X_y=True)

    class Gate:
        def predict_gate(self, X):
            first = X[:, 0] < 20
            return np.c_[first, ~first].astype(float)

    segments = _gate_segments(Gate(), X)
    assert [k for _, _, k in segments] == [0, 1]
    assert segments[0][0] == X.min() and segments[-1][1] == X.max()
    assert segments[0][1] < 20 <= segments[1][0]
