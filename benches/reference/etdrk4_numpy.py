"""NumPy reference for E1 (forced Burgers) and E2 (Kuramoto-Sivashinsky): the same
discretization as proxyland's (real FFT grid, ETDRK4 with Kassam-Trefethen contour coefficients,
2/3-rule dealiasing of the nonlinear term for Burgers, kursiv.m's zero Nyquist wavenumber for KS),
written the way a careful NumPy user would: vectorized over a batch axis, the tangent-linear
system stacked with the solution for exact gradients.

Usage: python etdrk4_numpy.py <case-dir>   (a case exported by `proxyland-bench`)
"""

import sys

import numpy as np

from common import Checks, load_case, median_seconds, write_result


def etdrk4_coefficients(linear, dt, points, radius):
    """exp(hL), exp(hL/2) and the ETDRK4 weights by contour means (Kassam & Trefethen 2005)."""
    roots = radius * np.exp(2j * np.pi * (np.arange(points) + 0.5) / points)
    z = dt * linear[:, None] + roots[None, :]
    ez = np.exp(z)
    q = dt * np.real(np.mean((np.exp(z / 2) - 1) / z, axis=1))
    f1 = dt * np.real(np.mean((-4 - z + ez * (4 - 3 * z + z**2)) / z**3, axis=1))
    f2 = dt * np.real(np.mean((2 + z + ez * (z - 2)) / z**3, axis=1))
    f3 = dt * np.real(np.mean((-4 - 3 * z - z**2 + ez * (4 - z)) / z**3, axis=1))
    return np.exp(dt * linear), np.exp(dt * linear / 2), q, f1, f2, f3


class SemilinearPde:
    """v' = L v - 1/2 d/dx(u^2) + forcing, for a batch of parameter vectors X (B x d).

    The state has shape (B, F, K): F = 1 field (the solution) or 1 + d (with its tangents).
    """

    def __init__(self, case, arrays):
        self.case = case
        n, length = case["n"], case["length"]
        self.n = n
        self.points = length * np.arange(n) / n
        modes = np.arange(n // 2 + 1)
        k = 2 * np.pi / length * modes
        if case["experiment"] == "burgers":
            linear = -case["viscosity"] * k**2
            self.keep = (modes <= n / 3) if case["dealias"] else np.ones(modes.size, bool)
        elif case["experiment"] == "ks":
            k[-1] = 0.0  # kursiv.m
            linear = k**2 - k**4
            self.keep = np.ones(modes.size, bool)
            self.background = arrays["background"]
        else:
            raise ValueError(f"unknown experiment {case['experiment']!r}")
        self.advection = -0.5j * k * self.keep
        self.dt = case["dt"]
        self.coeff = etdrk4_coefficients(
            linear, self.dt, case["contour_points"], case["contour_radius"]
        )

    def initial_state(self, xs, tangents):
        b, d = xs.shape
        fields = 1 + d if tangents else 1
        v = np.zeros((b, fields, self.n // 2 + 1), complex)
        if self.case["experiment"] == "burgers":
            v[:, 0] = np.fft.rfft(np.sin(self.points))
        else:
            length = self.case["length"]
            shapes = np.stack(
                [np.cos(2 * np.pi * self.points / length), np.sin(4 * np.pi * self.points / length)]
            )
            v[:, 0] = np.fft.rfft(self.background + xs @ shapes)
            if tangents:
                v[:, 1:] = np.fft.rfft(shapes)[None]
        return v

    def forcing(self, xs, tangents):
        """Masked spectra of the forcing profile (and of its x_c-derivative), and omega."""
        if self.case["experiment"] != "burgers":
            return None
        c = self.case
        xc, omega = xs[:, 0], xs[:, 1]
        d = np.mod(self.points[None, :] - xc[:, None], 2 * np.pi)
        d = np.where(d > np.pi, d - 2 * np.pi, d)
        s2 = c["forcing_width"] ** 2
        g = c["forcing_amplitude"] * np.exp(-(d**2) / (2 * s2))
        profile = np.fft.rfft(g) * self.keep
        dprofile = np.fft.rfft(g * d / s2) * self.keep if tangents else None
        return profile, dprofile, omega

    def nonlinear(self, v, t, forcing):
        u = np.fft.irfft(v[:, 0], self.n)
        out = np.empty_like(v)
        out[:, 0] = self.advection * np.fft.rfft(u * u)
        if v.shape[1] > 1:
            du = np.fft.irfft(v[:, 1:], self.n)
            out[:, 1:] = self.advection * np.fft.rfft(2.0 * u[:, None, :] * du)
        if forcing is not None:
            profile, dprofile, omega = forcing
            s, c = np.sin(omega * t)[:, None], np.cos(omega * t)[:, None]
            out[:, 0] += profile * s
            if v.shape[1] > 1:
                out[:, 1] += dprofile * s
                out[:, 2] += profile * (t * c)
        return out

    def step(self, v, t, forcing):
        e, e2, q, f1, f2, f3 = self.coeff
        h = self.dt
        nv = self.nonlinear(v, t, forcing)
        a = e2 * v + q * nv
        na = self.nonlinear(a, t + h / 2, forcing)
        b = e2 * v + q * na
        nb = self.nonlinear(b, t + h / 2, forcing)
        c = e2 * a + q * (2 * nb - nv)
        nc = self.nonlinear(c, t + h, forcing)
        return e * v + f1 * nv + 2 * f2 * (na + nb) + f3 * nc

    def simulate(self, xs, tangents=False):
        """Frames (B, F, frames, N): the solution and, with `tangents`, dY/dX_j."""
        v = self.initial_state(xs, tangents)
        forcing = self.forcing(xs, tangents)
        frames = [np.fft.irfft(v, self.n)]
        for step in range(1, self.case["steps"] + 1):
            v = self.step(v, (step - 1) * self.dt, forcing)
            if step % self.case["frame_every"] == 0:
                frames.append(np.fft.irfft(v, self.n))
        return np.stack(frames, axis=2)

    def loss_and_grad(self, xs, target):
        """The configuration loss mean((Y - Y*)^2) and its gradient, per row of xs: (B, 1 + d)."""
        run = self.simulate(xs, tangents=True)
        r = run[:, 0] - target
        loss = np.mean(r**2, axis=(1, 2))
        grad = 2 * np.mean(r[:, None] * run[:, 1:], axis=(2, 3))
        return np.concatenate([loss[:, None], grad], axis=1)


def main(case_dir):
    case, arrays = load_case(case_dir)
    pde = SemilinearPde(case, arrays)
    x, target = arrays["x"][None, :], arrays["target"]
    batch = arrays["batch_x"]

    checks = Checks("numpy")
    checks.relative("trajectory", arrays["traj"], pde.simulate(x)[0, 0], 1e-8)
    checks.relative("loss and gradient", arrays["loss_grad"], pde.loss_and_grad(x, target)[0], 1e-6)
    checks.relative("batch trajectories", arrays["batch_traj"], pde.simulate(batch)[:, 0], 1e-8)
    checks.relative(
        "batch losses and gradients", arrays["batch_loss_grad"], pde.loss_and_grad(batch, target), 1e-6
    )

    timings = {
        "forward": median_seconds(lambda: pde.simulate(x)),
        "gradient": median_seconds(lambda: pde.loss_and_grad(x, target)),
        "forward_batch": median_seconds(lambda: pde.simulate(batch), min_seconds=0.5),
        "gradient_batch": median_seconds(lambda: pde.loss_and_grad(batch, target), min_seconds=0.5),
    }
    write_result(
        case_dir,
        "numpy",
        "NumPy ETDRK4 (vectorized over the batch)",
        {"numpy": np.__version__, "python": sys.version.split()[0]},
        "1 (pocketfft and ufuncs are single-threaded)",
        checks,
        timings,
    )


if __name__ == "__main__":
    main(sys.argv[1])
