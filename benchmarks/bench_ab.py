"""A/B timing of one benchmark script on two checkouts, in alternating fresh processes.

Runs ``benchmarks/<script>`` of checkout A and of checkout B (for example a
``git worktree`` of the baseline commit and the working tree) alternately,
``--repeats`` times each, in the order A B B A A B B A ... so that a slow
drift of the machine's load hits both alike.  Every run is a fresh
subprocess with ``PYTHONPATH`` set to its checkout and its working directory
at the checkout's root, running that checkout's own copy of the benchmark
script (or, where a checkout lacks the script, a copy of the other one's
``benchmarks/`` folder in a temporary directory, so that scripts which locate
the package from their own path still import the right checkout).  Before the
runs, each checkout is checked to import its own ``skmoe`` and its Numba
caches are warmed by a tiny fit, untimed.

The timings each benchmark prints are parsed (``bench_flexmix.py`` through its
``--json`` output) and a table of per-metric medians over the runs is
printed: A, B, B / A, and the min-max range of each side.  Metrics of kind
``time`` are skmoe's own timings and are flagged when the ratio of medians
B / A exceeds ``1 + --threshold`` (default 5%); ``ref`` metrics are the other
libraries' timings in the same run (scikit-learn, NumPy's Gram floor, R),
which measure the machine's noise (their B / A should be about 1); ``info``
rows (EM iterations, log-likelihoods, memory) show whether both checkouts
fit the same model.

Supported scripts: ``bench_em.py``, ``bench_fit_time.py``,
``bench_flexmix.py`` and ``bench_dask.py`` (``em``, ``fit_time``, ``flexmix``
and ``dask`` for short).  Everything after ``--`` goes to the benchmark.

Usage::

    python benchmarks/bench_ab.py em --a /work/baseline --b . --repeats 4 -- --repeats 5
    python benchmarks/bench_ab.py flexmix --a /work/baseline --b . -- --n-init 1 --no-r
    python benchmarks/bench_ab.py dask --smoke          # small sizes, 2 runs each: a minute or two
    python benchmarks/bench_ab.py em --a /work/baseline --b . --json em_ab.json --log-dir ab_logs

``--log-dir`` keeps every run's output (and ``bench_flexmix.py``'s JSON per
run), for the tables of RESULTS.md.  ``--smoke`` replaces the benchmark's arguments by small sizes (unless some
are given after ``--``) and sets ``--repeats 2``.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

SCRIPTS = {
    "em": "bench_em.py",
    "fit_time": "bench_fit_time.py",
    "flexmix": "bench_flexmix.py",
    "dask": "bench_dask.py",
}

# Small sizes for a smoke test of the harness (well under a minute a run).
SMOKE_ARGS = {
    "bench_em.py": ["--n", "100000", "--d", "10", "--k", "4", "--repeats", "3"],
    "bench_fit_time.py": ["--repeats", "1"],
    "bench_flexmix.py": ["--quick", "--problems", "softmax", "constant"],
    "bench_dask.py": ["--n", "20000", "--d", "5", "--k", "3", "--chunk", "5000", "--max-iter", "5"],
}

WARM_UP = (
    "import warnings; warnings.simplefilter('ignore'); import skmoe; "
    "from skmoe import MixtureOfExpertsRegressor; from skmoe.datasets import make_moe_regression; "
    "X, y, _ = make_moe_regression(2000, 3, 3, random_state=0); "
    "[MixtureOfExpertsRegressor(n_experts=3, gate=g, random_state=0, max_iter=5).fit(X, y) "
    "for g in ('softmax', 'constant')]; print(skmoe.__file__)"
)


# --------------------------------------------------------------------------- #
# Parsers: stdout (and the --json file where there is one) -> {metric: (kind, value)}
# --------------------------------------------------------------------------- #
def _floats(line):
    return [
        float(v) for v in re.findall(r"[-+]?\d+\.\d+(?:e[-+]?\d+)?|[-+]?\d+(?:e[-+]?\d+)?", line)
    ]


def _after(stdout, prefix):
    for line in stdout.splitlines():
        if line.startswith(prefix):
            return line[len(prefix) :]
    raise ValueError(f"no line starting with {prefix!r} in the benchmark's output")


def parse_em(stdout, _json_path):
    em = _floats(_after(stdout, "EM iteration (s):"))
    cpu = _floats(_after(stdout, "EM iteration CPU time (s):"))
    floor = _floats(_after(stdout, "floor, default BLAS threads (s):"))
    floor1 = _floats(_after(stdout, "floor, 1 BLAS thread (s):"))
    objective = _floats(_after(stdout, "objective after each E-step:"))
    med = statistics.median
    return {
        "EM iteration (s)": ("time", med(em)),
        "EM iteration CPU (s)": ("time", med(cpu)),
        "EM iteration / floor (default BLAS)": ("time", med(em) / med(floor)),
        "EM iteration / floor (1 BLAS thread)": ("time", med(em) / med(floor1)),
        "NumPy Gram floor, default BLAS (s)": ("ref", med(floor)),
        "NumPy Gram floor, 1 BLAS thread (s)": ("ref", med(floor1)),
        "objective after last E-step": ("info", objective[-1]),
    }


def parse_fit_time(stdout, _json_path):
    med = statistics.median
    fresh = _floats(_after(stdout, "fresh process, skmoe 1000-row fit (s):"))
    fresh_gm = _floats(_after(stdout, "fresh process, sklearn GaussianMixture (s):"))
    warm = _floats(_after(stdout, "warm fit n=1e5 d=10 K=4, skmoe (s):"))
    gmm = _floats(_after(stdout, "warm fit, sklearn GaussianMixture(4) on [X,y] (s):"))
    lr = _floats(_after(stdout, "warm fit, sklearn LinearRegression (s):"))
    iters = [int(v) for v in re.findall(r"\d+", _after(stdout, "  EM iterations:"))]
    return {
        "warm fit n=1e5 d=10 K=4, skmoe (s)": ("time", med(warm)),
        "fresh process: import + 1000-row fit, skmoe (s)": ("time", med(fresh)),
        "warm fit skmoe / GaussianMixture": ("time", med(warm) / med(gmm)),
        "fresh process skmoe / GaussianMixture": ("time", med(fresh) / med(fresh_gm)),
        "warm fit, GaussianMixture(4) (s)": ("ref", med(gmm)),
        "warm fit, LinearRegression (s)": ("ref", med(lr)),
        "fresh process, GaussianMixture (s)": ("ref", med(fresh_gm)),
        "skmoe EM iterations (warm fit)": ("info", med(iters)),
    }


def parse_flexmix(stdout, json_path):
    with open(json_path) as f:
        rows = json.load(f)["rows"]
    out = {}
    for row in rows:
        res = row["result"]
        is_skmoe = row["label"].startswith("skmoe")
        name = f"{row['problem']} n={row['n']} {row['label']}"
        if res.get("status") != "ok":
            out[f"{name}: status"] = ("info", res.get("status", "?"))
            continue
        out[f"{name}: wall (s)"] = ("time" if is_skmoe else "ref", float(res["time"]))
        out[f"{name}: CPU (s)"] = ("time" if is_skmoe else "ref", float(res["cpu"]))
        out[f"{name}: EM iterations"] = ("info", int(res["iter"]))
        out[f"{name}: log-likelihood"] = ("info", float(res["ll"]))
    return out


_DASK_ROW = re.compile(r"^\|\s*(in memory|Dask|)\s*\|[^|]*\|[^|]*\|\s*([^|]+?)\s*\|")


def parse_dask(stdout, _json_path):
    out = {}
    for line in stdout.splitlines():
        if not line.startswith("|") or line.startswith("|---") or line.startswith("| fit "):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        fit, secs, iters, process, _before, _peak, inc, _ratio = cells
        if fit:
            out[f"{fit}: fit time (s)"] = ("time", float(secs))
            out[f"{fit}: EM iterations"] = ("info", int(iters))
        label = "in memory" if process == "the process" else f"Dask {process}"
        out[f"{label}: peak RSS increase (MiB)"] = ("info", float(inc))
    m = re.search(
        r"time Dask / in memory: ([\d.]+); lower bound in memory (\S+), Dask (\S+)", stdout
    )
    if m:
        out["Dask / in-memory time"] = ("info", float(m.group(1)))
        out["in memory: lower bound"] = ("info", float(m.group(2).rstrip(",")))
        out["Dask: lower bound"] = ("info", float(m.group(3).rstrip(",")))
    if not any(k.endswith("fit time (s)") for k in out):
        raise ValueError("no result table in bench_dask.py's output")
    return out


PARSERS = {
    "bench_em.py": parse_em,
    "bench_fit_time.py": parse_fit_time,
    "bench_flexmix.py": parse_flexmix,
    "bench_dask.py": parse_dask,
}


# --------------------------------------------------------------------------- #
# Running
# --------------------------------------------------------------------------- #
def child_env(checkout):
    env = dict(os.environ)
    # Only this checkout: the editable install's finder comes after PYTHONPATH on sys.path.
    env["PYTHONPATH"] = checkout
    env.pop("PYTHONSTARTUP", None)
    return env


def check_import(checkout, timeout):
    out = subprocess.run(
        [sys.executable, "-c", WARM_UP],
        cwd=checkout,
        env=child_env(checkout),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if out.returncode != 0:
        raise SystemExit(f"warm-up in {checkout} failed:\n{out.stderr[-3000:]}")
    path = os.path.realpath(out.stdout.strip().splitlines()[-1])
    expected = os.path.realpath(os.path.join(checkout, "skmoe", "__init__.py"))
    if path != expected:
        raise SystemExit(f"{checkout}: skmoe imports from {path}, not {expected}")
    return path


def script_for(checkout, other, script, tmp, name):
    own = os.path.join(checkout, "benchmarks", script)
    if os.path.exists(own):
        return own
    src = os.path.join(other, "benchmarks")
    if not os.path.exists(os.path.join(src, script)):
        raise SystemExit(f"neither checkout has benchmarks/{script}")
    dest = os.path.join(tmp, name, "benchmarks")
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.png"))
    print(f"note: {checkout} has no benchmarks/{script}; using a copy of {src}'s in {dest}")
    return os.path.join(dest, script)


def run_once(label, checkout, script, bench_args, tmp, index, timeout, log_dir):
    args = list(bench_args)
    json_path = None
    if os.path.basename(script) == "bench_flexmix.py":
        # One JSON file per run (a --json given after -- is replaced; see --log-dir).
        if "--json" in args:
            i = args.index("--json")
            del args[i : i + 2]
        json_path = os.path.join(tmp, f"flexmix_{index:02d}_{label}.json")
        args += ["--json", json_path]
    cmd = [sys.executable, script, *args]
    t0 = time.perf_counter()
    load = os.getloadavg()[0]
    proc = subprocess.run(
        cmd,
        cwd=checkout,
        env=child_env(checkout),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    wall = time.perf_counter() - t0
    if log_dir:
        with open(os.path.join(log_dir, f"{index:02d}_{label}.log"), "w") as f:
            f.write(f"# {' '.join(cmd)}\n# cwd {checkout}, PYTHONPATH={checkout}\n")
            f.write(proc.stdout)
            if proc.stderr:
                f.write("\n# stderr\n" + proc.stderr)
    if log_dir and json_path and os.path.exists(json_path):
        shutil.copy(json_path, os.path.join(log_dir, os.path.basename(json_path)))
    if proc.returncode != 0:
        raise SystemExit(
            f"run {index} ({label}) failed with exit code {proc.returncode}:\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        )
    metrics = PARSERS[os.path.basename(script)](proc.stdout, json_path)
    return dict(label=label, index=index, wall=wall, load_before=load, metrics=metrics)


def order(repeats):
    """A B B A A B B A ...: each pair alternates which side goes first."""
    seq = []
    for i in range(repeats):
        seq += ["A", "B"] if i % 2 == 0 else ["B", "A"]
    return seq


# --------------------------------------------------------------------------- #
# Report
# --------------------------------------------------------------------------- #
def summarise(runs, threshold):
    names = []
    for run in runs:
        for name in run["metrics"]:
            if name not in names:
                names.append(name)
    table = []
    for name in names:
        row = dict(metric=name)
        for side in "AB":
            vals = [
                r["metrics"][name][1] for r in runs if r["label"] == side and name in r["metrics"]
            ]
            kinds = {r["metrics"][name][0] for r in runs if name in r["metrics"]}
            row["kind"] = kinds.pop() if len(kinds) == 1 else "info"
            nums = [v for v in vals if isinstance(v, (int, float))]
            row[side] = vals
            row[f"{side}_median"] = (
                statistics.median(nums) if nums and len(nums) == len(vals) else None
            )
            row[f"{side}_range"] = (
                (min(nums), max(nums)) if nums and len(nums) == len(vals) else None
            )
        a, b = row["A_median"], row["B_median"]
        row["ratio"] = b / a if a not in (None, 0) and b is not None else None
        row["flag"] = (
            row["kind"] == "time" and row["ratio"] is not None and row["ratio"] > 1 + threshold
        )
        row["p_slower"] = (
            _p_slower(row["A"], row["B"]) if row["kind"] != "info" and row["ratio"] else None
        )
        table.append(row)
    return table


def _p_slower(a, b):
    """One-sided Mann-Whitney p-value that B's runs are slower than A's (None without SciPy)."""
    try:
        from scipy.stats import mannwhitneyu
    except ImportError:
        return None
    if len(a) < 2 or len(b) < 2 or len(set(a) | set(b)) == 1:
        return None
    return float(mannwhitneyu(b, a, alternative="greater").pvalue)


def _fmt(v, digits=4):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) < 1e6):
        return f"{v:.0f}" if isinstance(v, int) else f"{v:.{digits}g}"
    return f"{v:.{digits}g}"


def print_table(table, label_a, label_b, n_runs, threshold):
    print(
        f"| metric | kind | {label_a} median | {label_b} median | {label_b} / {label_a} | "
        f"{label_a} min-max | {label_b} min-max | p({label_b} slower) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in table:
        if row["A_median"] is None or row["B_median"] is None:
            a = ", ".join(map(str, row["A"]))
            b = ", ".join(map(str, row["B"]))
            print(f"| {row['metric']} | {row['kind']} | {a} | {b} | | | | |")
            continue
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.3f}"
        if row["flag"]:
            ratio = f"**{ratio}** (> {1 + threshold:.2f})"
        pval = "" if row["p_slower"] is None else f"{row['p_slower']:.3f}"
        dg = 12 if row["kind"] == "info" else 4  # log-likelihoods, lower bounds: all digits
        ra, rb = (
            _fmt(lo, dg) if lo == hi else f"{_fmt(lo, dg)} .. {_fmt(hi, dg)}"
            for lo, hi in (row["A_range"], row["B_range"])
        )
        print(
            f"| {row['metric']} | {row['kind']} | {_fmt(row['A_median'], dg)} | {_fmt(row['B_median'], dg)} | "
            f"{ratio} | {ra} | {rb} | {pval} |"
        )
    flagged = [r["metric"] for r in table if r["flag"]]
    print()
    print(
        f"medians over {n_runs} runs per side; 'time' = skmoe's timings (flagged when {label_b} / "
        f"{label_a} > {1 + threshold:.2f}), 'ref' = other libraries' timings in the same runs "
        "(machine noise: about 1 expected), 'info' = not timed; p = one-sided Mann-Whitney p-value "
        f"that {label_b}'s runs are slower (with 2 runs a side it cannot go below 0.17, with 4 below 0.014)"
    )
    print("flagged: " + (", ".join(flagged) if flagged else "none"))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("script", help="em, fit_time, flexmix, dask or a bench_*.py file name")
    parser.add_argument("--a", default=None, help="checkout A (before), e.g. a git worktree")
    parser.add_argument(
        "--b", default=os.path.dirname(HERE), help="checkout B (after); default: this one"
    )
    parser.add_argument("--label-a", default="A")
    parser.add_argument("--label-b", default="B")
    parser.add_argument(
        "--repeats", type=int, default=None, help="runs per checkout (default 4; --smoke: 2)"
    )
    parser.add_argument(
        "--smoke", action="store_true", help="small sizes and 2 runs each, to test the harness"
    )
    parser.add_argument(
        "--threshold", type=float, default=0.05, help="flag time ratios above 1 + this"
    )
    parser.add_argument("--timeout", type=float, default=3600.0, help="cap per benchmark run (s)")
    parser.add_argument("--json", help="write all runs and the summary to this file")
    parser.add_argument("--log-dir", help="save every run's output here")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    bench_args = argv[cut + 1 :]

    script = SCRIPTS.get(args.script, os.path.basename(args.script))
    if script not in PARSERS:
        parser.error(f"unsupported benchmark {args.script!r}; one of {sorted(SCRIPTS)}")
    if args.smoke and not bench_args:
        bench_args = list(SMOKE_ARGS[script])
    repeats = args.repeats or (2 if args.smoke else 4)
    a = os.path.abspath(args.a or args.b)
    b = os.path.abspath(args.b)
    if args.a is None:
        print("note: no --a given: checkout A is checkout B (an A/A run measures the noise)")
    if args.log_dir:
        os.makedirs(args.log_dir, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="skmoe_ab_") as tmp:
        scripts = {
            "A": script_for(a, b, script, tmp, "A"),
            "B": script_for(b, a, script, tmp, "B"),
        }
        checkouts = {"A": a, "B": b}
        for side in "AB":
            t0 = time.perf_counter()
            path = check_import(checkouts[side], args.timeout)
            print(
                f"{side} = {checkouts[side]}: skmoe from {path} (warm-up {time.perf_counter() - t0:.1f} s)"
            )
        print(
            f"benchmark: {script} {' '.join(bench_args)}; {repeats} runs per checkout, order "
            + "".join(order(repeats))
        )
        t_start = time.time()
        runs = []
        for i, side in enumerate(order(repeats)):
            run = run_once(
                side, checkouts[side], scripts[side], bench_args, tmp, i, args.timeout, args.log_dir
            )
            runs.append(run)
            key = next((k for k, (kind, _) in run["metrics"].items() if kind == "time"), None)
            shown = f"{key} = {_fmt(run['metrics'][key][1])}" if key else ""
            print(
                f"  run {i + 1}/{len(order(repeats))} {side}: {run['wall']:.1f} s, load {run['load_before']:.2f}; {shown}",
                flush=True,
            )
    elapsed = time.time() - t_start
    print()
    print(
        f"{args.label_a} = A = {a}\n{args.label_b} = B = {b}\n"
        f"{script} {' '.join(bench_args)}; {elapsed / 60:.1f} min, load average at the end "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    table = summarise(runs, args.threshold)
    print_table(table, args.label_a, args.label_b, repeats, args.threshold)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                dict(
                    script=script,
                    bench_args=bench_args,
                    a=a,
                    b=b,
                    labels=[args.label_a, args.label_b],
                    repeats=repeats,
                    runs=runs,
                    summary=table,
                ),
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
