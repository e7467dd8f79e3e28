"""NumPy reference for E3/E4 (billiards): the same event-driven model as proxyland's — discs with
linear friction moving in s = (1 - exp(-mu t)) / mu, disc-disc contacts from the quadratic
|dp + dv s| = 2r, cushions from the linear reflection point, elastic equal-mass collisions, the
same tie rule (pairs before cushions, in index order) — with the contact times of all pairs and
cushions computed by NumPy array operations at each event. A batch is a Python loop of single
simulations: event-driven runs do not vectorize across shots (their event sequences differ).

Usage: python billiards_numpy.py <case-dir>   (a case exported by `proxyland-bench`)
"""

import math
import sys

import numpy as np

from common import Checks, fail, load_case, median_seconds, write_result

S_TOLERANCE = -1e-12


class Billiards:
    def __init__(self, case):
        self.case = case
        self.r = case["radius"]
        self.mu = case["friction"]
        self.objects = np.asarray(case["objects"], float)
        self.balls = 1 + len(self.objects)
        self.pairs = np.array(
            [(i, j) for i in range(self.balls) for j in range(i + 1, self.balls)], int
        )

    def next_event(self, p, v, s_end):
        """(s, kind, a, b): the earliest contact within s_end, or None."""
        r = self.r
        i, j = self.pairs[:, 0], self.pairs[:, 1]
        dp, dv = p[i] - p[j], v[i] - v[j]
        a = np.sum(dv * dv, axis=1)
        b = np.sum(dp * dv, axis=1)
        c = np.sum(dp * dp, axis=1) - 4 * r * r
        disc = b * b - a * c
        ok = (a != 0) & (b < 0) & (disc >= 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            s_pairs = np.where(ok, (-b - np.sqrt(np.where(ok, disc, 0.0))) / np.where(ok, a, 1.0), np.inf)
            wall = np.where(v > 0, 1 - r, r)
            s_cushions = np.where(v != 0, (wall - p) / np.where(v != 0, v, 1.0), np.inf).ravel()
        s = np.concatenate([s_pairs, s_cushions])
        s = np.where((s >= S_TOLERANCE) & (s <= s_end), s, np.inf)
        k = int(np.argmin(s))  # the first minimum: pairs, then cushions, in index order
        if not np.isfinite(s[k]):
            return None
        if k < len(s_pairs):
            return s[k], "discs", int(i[k]), int(j[k])
        ball, axis = divmod(k - len(s_pairs), 2)
        return s[k], "cushion", ball, axis

    def simulate(self, x):
        c, mu = self.case, self.mu
        x = np.asarray(x, float)
        if c["variant"] == "2d":
            p0, v0 = np.asarray(c["cue_start"], float), x
        else:
            p0, v0 = x[:2], x[2:]
        p = np.vstack([p0, self.objects])
        v = np.vstack([v0, np.zeros_like(self.objects)])
        frames, frame_dt = c["frames"], c["frame_dt"]
        t_end = (frames - 1) * frame_dt
        out = np.empty((frames, 2 * self.balls))
        nf, t, events = 0, 0.0, 0
        while True:
            s_end = (1 - math.exp(-mu * (t_end - t))) / mu
            event = self.next_event(p, v, s_end)
            t_next = t - math.log(1 - event[0] * mu) / mu if event else math.inf
            while nf < frames:
                tf = nf * frame_dt
                if tf >= t_next:
                    break
                sf = (1 - math.exp(-(tf - t) * mu)) / mu
                out[nf] = (p + v * sf).ravel()
                nf += 1
            if event is None or nf == frames:
                break
            events += 1
            if events > c["max_events"]:
                fail(f"more than {c['max_events']} events at X = {x}")
            s, kind, a, b = event
            p = p + v * s
            v = v * (1 - s * mu)
            t = t_next
            if kind == "discs":
                n = p[a] - p[b]
                n = n / math.sqrt(n @ n)
                dvn = (v[a] - v[b]) @ n
                v[a], v[b] = v[a] - dvn * n, v[b] + dvn * n
            else:
                v[a, b] = -v[a, b]
        return out


def main(case_dir):
    case, arrays = load_case(case_dir)
    sim = Billiards(case)
    x, batch = arrays["x"], arrays["batch_x"]
    checks = Checks("numpy")
    checks.relative("trajectory", arrays["traj"], sim.simulate(x), 1e-8)
    checks.relative(
        "batch trajectories", arrays["batch_traj"], np.stack([sim.simulate(b) for b in batch]), 1e-8
    )
    timings = {
        "forward": median_seconds(lambda: sim.simulate(x)),
        "forward_batch": median_seconds(
            lambda: [sim.simulate(b) for b in batch], min_reps=1, min_seconds=0.0
        ),
    }
    write_result(
        case_dir,
        "numpy",
        "NumPy event-driven billiards (array ops per event; Python loop over a batch)",
        {"numpy": np.__version__, "python": sys.version.split()[0]},
        "1",
        checks,
        timings,
    )


if __name__ == "__main__":
    main(sys.argv[1])
