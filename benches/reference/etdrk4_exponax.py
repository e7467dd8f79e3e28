"""Exponax (JAX, CPU, float64, jitted) reference for E1 (forced Burgers) and E2 (KS).

KS uses Exponax's own stepper (`KuramotoSivashinskyConservative`, ETDRK4 with 32 contour points,
no dealiasing) rolled out with `exponax.rollout`/`exponax.repeat`: what a user would write.
Burgers has a time-dependent forcing, which Exponax's steppers do not take, so it uses Exponax's
ETDRK4 coefficients and convection nonlinearity inside a six-line step that adds the forcing at
the stage times (as proxyland does). The 2/3-rule cutoff is set to keep the same modes as
proxyland (k <= N/3). Gradients are reverse-mode (`jax.value_and_grad`); batches use `jax.vmap`.

Usage: python etdrk4_exponax.py <case-dir>   (a case exported by `proxyland-bench`)
"""

import sys

import jax

jax.config.update("jax_enable_x64", True)

import exponax as ex  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from common import Checks, load_case, median_seconds, write_result  # noqa: E402


def burgers_trajectory_fn(case):
    n, length, dt = case["n"], case["length"], case["dt"]
    fe, frames = case["frame_every"], case["steps"] // case["frame_every"]
    points = jnp.asarray(length * np.arange(n) / n)
    deriv = ex.spectral.build_derivative_operator(1, length, n)
    # Exponax keeps |k| <= fraction * (N/2) - 1; proxyland keeps k <= N/3.
    fraction = (n // 3 + 1) / (n // 2) if case["dealias"] else 1.0 + 2.0 / n
    convection = ex.nonlin_fun.ConvectionNonlinearFun(
        1, n, derivative_operator=deriv, dealiasing_fraction=fraction, conservative=True
    )
    etd = ex.etdrk.ETDRK4(
        dt,
        case["viscosity"] * deriv**2,
        convection,
        num_circle_points=case["contour_points"],
        circle_radius=case["contour_radius"],
    )
    mask = convection.dealiasing_mask if case["dealias"] else 1.0
    amplitude, s2 = case["forcing_amplitude"], case["forcing_width"] ** 2

    def step(v, t, fhat, omega):
        def nonlinear(w, s):
            return etd._nonlinear_fun(w) + fhat * jnp.sin(omega * s)

        nv = nonlinear(v, t)
        a = etd._half_exp_term * v + etd._coef_1 * nv
        na = nonlinear(a, t + dt / 2)
        b = etd._half_exp_term * v + etd._coef_2 * na
        nb = nonlinear(b, t + dt / 2)
        c = etd._half_exp_term * a + etd._coef_3 * (2 * nb - nv)
        nc = nonlinear(c, t + dt)
        return (
            etd._exp_term * v
            + etd._coef_4 * nv
            + etd._coef_5 * 2 * (na + nb)
            + etd._coef_6 * nc
        )

    def trajectory(x):
        d = jnp.mod(points - x[0], 2 * jnp.pi)
        d = jnp.where(d > jnp.pi, d - 2 * jnp.pi, d)
        fhat = jnp.fft.rfft(amplitude * jnp.exp(-(d**2) / (2 * s2)))[None] * mask
        v0 = jnp.fft.rfft(jnp.sin(points))[None]

        def frame(v, f):
            v = jax.lax.fori_loop(0, fe, lambda j, w: step(w, (f * fe + j) * dt, fhat, x[1]), v)
            return v, jnp.fft.irfft(v, n)[0]

        _, later = jax.lax.scan(frame, v0, jnp.arange(frames))
        return jnp.concatenate([jnp.fft.irfft(v0, n), later])

    return trajectory


def ks_trajectory_fn(case, background):
    n, length = case["n"], case["length"]
    stepper = ex.stepper.KuramotoSivashinskyConservative(
        1,
        length,
        n,
        case["dt"],
        dealiasing_fraction=1.0,
        order=4,
        num_circle_points=case["contour_points"],
        circle_radius=case["contour_radius"],
    )
    points = length * np.arange(n) / n
    shapes = jnp.asarray(
        np.stack([np.cos(2 * np.pi * points / length), np.sin(4 * np.pi * points / length)])
    )
    frames = case["steps"] // case["frame_every"]
    rollout = ex.rollout(ex.repeat(stepper, case["frame_every"]), frames, include_init=True)

    def trajectory(x):
        u0 = (jnp.asarray(background) + x @ shapes)[None]
        return rollout(u0)[:, 0]

    return trajectory


def main(case_dir):
    case, arrays = load_case(case_dir)
    if case["experiment"] == "burgers":
        trajectory = burgers_trajectory_fn(case)
    else:
        trajectory = ks_trajectory_fn(case, arrays["background"])
    target = jnp.asarray(arrays["target"])

    def loss(x):
        return jnp.mean((trajectory(x) - target) ** 2)

    forward = jax.jit(trajectory)
    value_and_grad = jax.jit(jax.value_and_grad(loss))
    forward_batch = jax.jit(jax.vmap(trajectory))
    value_and_grad_batch = jax.jit(jax.vmap(jax.value_and_grad(loss)))

    def flat(lg):
        value, grad = lg
        return np.concatenate([np.asarray(value)[..., None], np.asarray(grad)], axis=-1)

    x, batch = jnp.asarray(arrays["x"]), jnp.asarray(arrays["batch_x"])
    checks = Checks("exponax")
    checks.relative("trajectory", arrays["traj"], forward(x), 1e-8)
    checks.relative("loss and gradient", arrays["loss_grad"], flat(value_and_grad(x)).ravel(), 1e-6)
    checks.relative("batch trajectories", arrays["batch_traj"], forward_batch(batch), 1e-8)
    checks.relative(
        "batch losses and gradients", arrays["batch_loss_grad"], flat(value_and_grad_batch(batch)), 1e-6
    )

    def ready(f, *args):
        return lambda: jax.block_until_ready(f(*args))

    timings = {
        "forward": median_seconds(ready(forward, x)),
        "gradient": median_seconds(ready(value_and_grad, x)),
        "forward_batch": median_seconds(ready(forward_batch, batch), min_seconds=0.5),
        "gradient_batch": median_seconds(ready(value_and_grad_batch, batch), min_seconds=0.5),
    }
    write_result(
        case_dir,
        "exponax",
        "Exponax ETDRK4 on JAX-CPU (float64, jit; vmap for batches; reverse-mode gradients)",
        {"exponax": ex.__version__ if hasattr(ex, "__version__") else "?", "jax": jax.__version__},
        f"XLA CPU default ({jax.device_count()} device, all cores)",
        checks,
        timings,
    )


if __name__ == "__main__":
    main(sys.argv[1])
