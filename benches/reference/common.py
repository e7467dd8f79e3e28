"""Shared helpers of the reference implementations: read a case exported by `proxyland-bench`,
check our results against the reference's before timing, time warm calls, write the result.

Every script is called as `python <script>.py <case-dir>` and writes `<case-dir>/<name>.json`.
"""

import json
import os
import statistics
import sys
import time

import numpy as np


def load_case(case_dir):
    """The case's settings (case.json) and every exported array (*.npy), by file stem."""
    with open(os.path.join(case_dir, "case.json")) as f:
        case = json.load(f)
    arrays = {
        name[:-4]: np.load(os.path.join(case_dir, name))
        for name in sorted(os.listdir(case_dir))
        if name.endswith(".npy")
    }
    return case, arrays


def median_seconds(fn, min_reps=3, min_seconds=1.0, max_reps=200):
    """Median wall time of `fn()` after one warm-up call (which also pays any JIT compile)."""
    fn()
    times = []
    started = time.perf_counter()
    while len(times) < max_reps and (
        len(times) < min_reps or time.perf_counter() - started < min_seconds
    ):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), len(times)


class Checks:
    """Agreement checks between proxyland's exported results and the reference's; a failure
    stops the script before anything is timed, with a message naming the quantity."""

    def __init__(self, implementation):
        self.implementation = implementation
        self.rows = []

    def relative(self, quantity, ours, reference, tolerance):
        ours = np.asarray(ours, dtype=np.float64)
        reference = np.asarray(reference, dtype=np.float64)
        if ours.shape != reference.shape:
            fail(f"{self.implementation}: {quantity}: shape {reference.shape}, ours {ours.shape}")
        scale = max(np.max(np.abs(ours)), 1e-300)
        err = float(np.max(np.abs(ours - reference)) / scale)
        self.rows.append(
            {"quantity": quantity, "max_rel_err": err, "tolerance": tolerance, "passed": err <= tolerance}
        )
        if not err <= tolerance:
            fail(
                f"{self.implementation}: {quantity} disagrees with proxyland: max relative "
                f"error {err:.3e} > {tolerance:.0e}; refusing to time different computations"
            )


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def write_result(case_dir, name, implementation, versions, threads, checks, timings, notes=""):
    result = {
        "implementation": implementation,
        "versions": versions,
        "threads": threads,
        "checks": checks.rows,
        "timings": {k: {"median_s": v[0], "reps": v[1]} for k, v in timings.items()},
        "notes": notes,
    }
    tmp = os.path.join(case_dir, f".{name}.json.tmp")
    with open(tmp, "w") as f:
        json.dump(result, f, indent=1)
    os.replace(tmp, os.path.join(case_dir, f"{name}.json"))
