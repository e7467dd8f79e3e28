//! Fourier pseudo-spectral building blocks for 1D periodic problems, and the ETDRK4 integrator.
//!
//! Conventions: a real field u on N equispaced points is stored in Fourier space as its
//! unnormalized real FFT `v = rfft(u)` (N/2 + 1 complex modes); `u = irfft(v) / N`.

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// A complex Fourier coefficient.
pub type C64 = Complex<f64>;

/// A periodic grid of `n` points on `[0, length)` with its real-FFT plans and wavenumbers.
#[derive(Clone)]
pub struct FourierGrid {
    n: usize,
    length: f64,
    wavenumbers: Vec<f64>,
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
}

impl std::fmt::Debug for FourierGrid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FourierGrid")
            .field("n", &self.n)
            .field("length", &self.length)
            .finish()
    }
}

/// Scratch buffers for transforms; one per thread of work.
pub struct FftScratch {
    real: Vec<f64>,
    spectrum: Vec<C64>,
    forward: Vec<C64>,
    inverse: Vec<C64>,
}

impl FourierGrid {
    /// A grid of `n` (even, ≥ 4) points on a domain of `length`.
    pub fn new(n: usize, length: f64) -> Self {
        assert!(n >= 4 && n % 2 == 0, "FourierGrid needs an even n >= 4");
        let mut planner = RealFftPlanner::<f64>::new();
        let forward = planner.plan_fft_forward(n);
        let inverse = planner.plan_fft_inverse(n);
        let scale = std::f64::consts::TAU / length;
        let wavenumbers = (0..=n / 2).map(|j| j as f64 * scale).collect();
        FourierGrid {
            n,
            length,
            wavenumbers,
            forward,
            inverse,
        }
    }

    /// Number of grid points N.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of stored Fourier modes N/2 + 1.
    pub fn modes(&self) -> usize {
        self.n / 2 + 1
    }

    /// Domain length.
    pub fn length(&self) -> f64 {
        self.length
    }

    /// Wavenumbers k_j = 2πj/length, j = 0..=N/2.
    pub fn wavenumbers(&self) -> &[f64] {
        &self.wavenumbers
    }

    /// Grid points x_j = length·j/N.
    pub fn points(&self) -> Vec<f64> {
        (0..self.n)
            .map(|j| self.length * j as f64 / self.n as f64)
            .collect()
    }

    /// Scratch buffers sized for this grid.
    pub fn scratch(&self) -> FftScratch {
        FftScratch {
            real: vec![0.0; self.n],
            spectrum: vec![C64::default(); self.modes()],
            forward: self.forward.make_scratch_vec(),
            inverse: self.inverse.make_scratch_vec(),
        }
    }

    /// `out = rfft(u)` (unnormalized).
    pub fn to_spectral(&self, u: &[f64], out: &mut [C64], s: &mut FftScratch) {
        s.real.copy_from_slice(u);
        self.forward
            .process_with_scratch(&mut s.real, out, &mut s.forward)
            .expect("buffer sizes are fixed by the grid");
    }

    /// `out = irfft(v) / N`. The imaginary parts of the mean and Nyquist modes are ignored
    /// (they are zero for a real field).
    pub fn to_physical(&self, v: &[C64], out: &mut [f64], s: &mut FftScratch) {
        s.spectrum.copy_from_slice(v);
        s.spectrum[0].im = 0.0;
        let last = s.spectrum.len() - 1;
        s.spectrum[last].im = 0.0;
        self.inverse
            .process_with_scratch(&mut s.spectrum, out, &mut s.inverse)
            .expect("buffer sizes are fixed by the grid");
        let inv_n = 1.0 / self.n as f64;
        out.iter_mut().for_each(|x| *x *= inv_n);
    }

    /// Spectral derivative d^order u/dx^order of a real field, evaluated on the grid.
    /// The Nyquist mode's odd derivatives are set to zero (it has no real derivative on the grid).
    ///
    /// ```
    /// use proxyland_physics::spectral::FourierGrid;
    /// let grid = FourierGrid::new(32, std::f64::consts::TAU);
    /// let u: Vec<f64> = grid.points().iter().map(|x| x.sin()).collect();
    /// let du = grid.derivative(&u, 1);
    /// assert!(grid.points().iter().zip(&du).all(|(x, d)| (d - x.cos()).abs() < 1e-13));
    /// ```
    pub fn derivative(&self, u: &[f64], order: u32) -> Vec<f64> {
        let mut s = self.scratch();
        let mut v = vec![C64::default(); self.modes()];
        self.to_spectral(u, &mut v, &mut s);
        let nyquist = self.modes() - 1;
        for (j, (c, &k)) in v.iter_mut().zip(&self.wavenumbers).enumerate() {
            let factor = C64::new(0.0, k).powu(order);
            *c *= if j == nyquist && order % 2 == 1 {
                C64::default()
            } else {
                factor
            };
        }
        let mut out = vec![0.0; self.n];
        self.to_physical(&v, &mut out, &mut s);
        out
    }
}

/// ETDRK4 (Cox & Matthews 2002) for v' = L v + N(v, t) with a diagonal linear operator L, with
/// the coefficients evaluated by contour integrals as in Kassam & Trefethen (2005).
///
/// The state may hold several *fields* of the same length laid end to end (e.g. a solution and
/// its tangents): the same L acts on each, and the nonlinear term sees them all. Running the
/// scheme on the solution and its tangents together gives exactly the derivative of the discrete
/// scheme, because the ETDRK4 update is linear in the N-evaluations with X-independent weights.
#[derive(Debug, Clone)]
pub struct Etdrk4 {
    dt: f64,
    e: Vec<f64>,
    e2: Vec<f64>,
    q: Vec<f64>,
    f1: Vec<f64>,
    f2: Vec<f64>,
    f3: Vec<f64>,
}

/// Stage buffers for [`Etdrk4::step`].
pub struct Etdrk4Work {
    nv: Vec<C64>,
    a: Vec<C64>,
    na: Vec<C64>,
    b: Vec<C64>,
    nb: Vec<C64>,
    c: Vec<C64>,
    nc: Vec<C64>,
}

impl Etdrk4Work {
    /// Buffers for a state of `len` coefficients (all fields together).
    pub fn new(len: usize) -> Self {
        let z = || vec![C64::default(); len];
        Etdrk4Work {
            nv: z(),
            a: z(),
            na: z(),
            b: z(),
            nb: z(),
            c: z(),
            nc: z(),
        }
    }
}

impl Etdrk4 {
    /// Coefficients for the diagonal `linear` operator and step `dt`, with the default contour
    /// (32 points on a circle of radius 1).
    pub fn new(linear: &[f64], dt: f64) -> Self {
        Self::with_contour(linear, dt, 32, 1.0)
    }

    /// Coefficients from a contour of `points` points of radius `radius` around each dt·L_k.
    /// The points are at angles 2π(j − ½)/M, which avoids the real axis (where dt·L may be 0).
    pub fn with_contour(linear: &[f64], dt: f64, points: usize, radius: f64) -> Self {
        let roots: Vec<C64> = (0..points)
            .map(|j| {
                let theta = std::f64::consts::TAU * (j as f64 + 0.5) / points as f64;
                C64::from_polar(radius, theta)
            })
            .collect();
        let m = points as f64;
        let mut s = Etdrk4 {
            dt,
            e: Vec::with_capacity(linear.len()),
            e2: Vec::with_capacity(linear.len()),
            q: Vec::with_capacity(linear.len()),
            f1: Vec::with_capacity(linear.len()),
            f2: Vec::with_capacity(linear.len()),
            f3: Vec::with_capacity(linear.len()),
        };
        for &l in linear {
            let hl = dt * l;
            s.e.push(hl.exp());
            s.e2.push((hl / 2.0).exp());
            let (mut q, mut f1, mut f2, mut f3) = (
                C64::default(),
                C64::default(),
                C64::default(),
                C64::default(),
            );
            for r in &roots {
                let z = hl + r;
                let ez = z.exp();
                let z3 = z * z * z;
                q += ((z / 2.0).exp() - 1.0) / z;
                f1 += (-4.0 - z + ez * (4.0 - 3.0 * z + z * z)) / z3;
                f2 += (2.0 + z + ez * (z - 2.0)) / z3;
                f3 += (-4.0 - 3.0 * z - z * z + ez * (4.0 - z)) / z3;
            }
            s.q.push(dt * q.re / m);
            s.f1.push(dt * f1.re / m);
            s.f2.push(dt * f2.re / m);
            s.f3.push(dt * f3.re / m);
        }
        s
    }

    /// The time step.
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// Number of modes per field.
    pub fn modes(&self) -> usize {
        self.e.len()
    }

    /// Advances `v` (one or more fields of [`Etdrk4::modes`] coefficients each) from t to t + dt.
    /// `nonlinear(v, t, out)` must write N(v, t) for all fields into `out`.
    pub fn step<F>(&self, v: &mut [C64], t: f64, work: &mut Etdrk4Work, mut nonlinear: F)
    where
        F: FnMut(&[C64], f64, &mut [C64]),
    {
        let k = self.modes();
        debug_assert_eq!(v.len() % k, 0);
        let h = self.dt;
        let Etdrk4Work {
            nv,
            a,
            na,
            b,
            nb,
            c,
            nc,
        } = work;
        nonlinear(v, t, nv);
        for i in 0..v.len() {
            let m = i % k;
            a[i] = self.e2[m] * v[i] + self.q[m] * nv[i];
        }
        nonlinear(a, t + h / 2.0, na);
        for i in 0..v.len() {
            let m = i % k;
            b[i] = self.e2[m] * v[i] + self.q[m] * na[i];
        }
        nonlinear(b, t + h / 2.0, nb);
        for i in 0..v.len() {
            let m = i % k;
            c[i] = self.e2[m] * a[i] + self.q[m] * (2.0 * nb[i] - nv[i]);
        }
        nonlinear(c, t + h, nc);
        for i in 0..v.len() {
            let m = i % k;
            v[i] = self.e[m] * v[i]
                + self.f1[m] * nv[i]
                + 2.0 * self.f2[m] * (na[i] + nb[i])
                + self.f3[m] * nc[i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spectral_derivative_of_sin3x_is_3cos3x_to_1e12() {
        let grid = FourierGrid::new(64, std::f64::consts::TAU);
        let x = grid.points();
        let u: Vec<f64> = x.iter().map(|x| (3.0 * x).sin()).collect();
        let du = grid.derivative(&u, 1);
        let err = x
            .iter()
            .zip(&du)
            .map(|(x, d)| (d - 3.0 * (3.0 * x).cos()).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-12, "max error {err}");
    }

    #[test]
    fn fft_round_trip_is_identity() {
        let grid = FourierGrid::new(48, 5.0);
        let u: Vec<f64> = (0..48).map(|j| ((j * 7919) % 101) as f64 / 101.0).collect();
        let mut s = grid.scratch();
        let mut v = vec![C64::default(); grid.modes()];
        let mut back = vec![0.0; 48];
        grid.to_spectral(&u, &mut v, &mut s);
        grid.to_physical(&v, &mut back, &mut s);
        let err = u
            .iter()
            .zip(&back)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-14, "{err}");
    }

    #[test]
    fn contour_coefficients_match_the_series_for_small_arguments() {
        // For dt·L → 0 ETDRK4 becomes classical RK4: Q → dt/2 and f1, f2, f3 → dt/6 (the update
        // weighs N(a) + N(b) with 2·f2). Direct formulas suffer cancellation there; the contour
        // integral must not.
        let dt = 0.1;
        let s = Etdrk4::new(&[0.0, -1e-12], dt);
        for m in 0..2 {
            assert!(
                (s.q[m] - dt / 2.0).abs() < 1e-12,
                "{} {} {} {}",
                s.q[m],
                s.f1[m],
                s.f2[m],
                s.f3[m]
            );
            assert!((s.f1[m] - dt / 6.0).abs() < 1e-12);
            assert!((s.f2[m] - dt / 6.0).abs() < 1e-12);
            assert!((s.f3[m] - dt / 6.0).abs() < 1e-12);
        }
        // For a large argument the closed forms are accurate; compare with them.
        let l = -3.0;
        let z: f64 = dt * l;
        let s = Etdrk4::new(&[l], dt);
        let f1 = dt * (-4.0 - z + z.exp() * (4.0 - 3.0 * z + z * z)) / z.powi(3);
        let q = dt * ((z / 2.0).exp() - 1.0) / z;
        assert!((s.f1[0] - f1).abs() < 1e-13 && (s.q[0] - q).abs() < 1e-13);
    }
}
