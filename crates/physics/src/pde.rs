//! What Burgers and Kuramoto–Sivashinsky share: a quadratic advection term −½∂x(u²) on a real-FFT
//! grid, ETDRK4 time stepping of the solution together with its tangents, frame sampling, blow-up
//! detection, and the configuration loss with its exact gradient.

use crate::error::{Error, Result};
use crate::params::ParamSpace;
use crate::simulator::{Tangents, Trajectory};
use crate::spectral::{C64, Etdrk4, Etdrk4Work, FftScratch, FourierGrid};
use ndarray::Array2;

/// Time-stepping schedule: `steps` steps of the scheme, a frame every `frame_every` steps
/// (including t = 0).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    pub steps: usize,
    pub frame_every: usize,
}

impl Schedule {
    pub fn new(steps: usize, frame_every: usize) -> Result<Self> {
        if steps == 0 {
            return Err(Error::invalid("steps", steps, "must be positive"));
        }
        if frame_every == 0 || steps % frame_every != 0 {
            return Err(Error::invalid(
                "frame_every",
                frame_every,
                "must be positive and divide the number of steps",
            ));
        }
        Ok(Schedule { steps, frame_every })
    }

    pub fn frames(&self) -> usize {
        self.steps / self.frame_every + 1
    }
}

/// −½ ik·mask, applied to rfft(u²) (and, doubled, to rfft(u δu) for tangents).
#[derive(Debug, Clone)]
pub(crate) struct QuadraticAdvection {
    coeff: Vec<C64>,
}

impl QuadraticAdvection {
    /// `keep[j]` says whether mode j of the nonlinear term survives (dealiasing); `k` are the
    /// wavenumbers actually used for the derivative (KS zeroes the Nyquist one).
    pub fn new(k: &[f64], keep: &[bool]) -> Self {
        let coeff = k
            .iter()
            .zip(keep)
            .map(|(&k, &keep)| {
                if keep {
                    C64::new(0.0, -0.5 * k)
                } else {
                    C64::default()
                }
            })
            .collect();
        QuadraticAdvection { coeff }
    }
}

/// Buffers for one integration.
pub(crate) struct PdeWork {
    fft: FftScratch,
    u: Vec<f64>,
    du: Vec<f64>,
    product: Vec<f64>,
    spectrum: Vec<C64>,
}

impl PdeWork {
    pub fn new(grid: &FourierGrid) -> Self {
        PdeWork {
            fft: grid.scratch(),
            u: vec![0.0; grid.n()],
            du: vec![0.0; grid.n()],
            product: vec![0.0; grid.n()],
            spectrum: vec![C64::default(); grid.modes()],
        }
    }
}

/// A 1D periodic semilinear PDE v' = L v − ½∂x(u²) + F(x, t; X) with its tangent system.
pub(crate) trait SemilinearPde: Send + Sync {
    fn name(&self) -> &str;
    fn grid(&self) -> &FourierGrid;
    fn scheme(&self) -> &Etdrk4;
    fn advection(&self) -> &QuadraticAdvection;
    fn schedule(&self) -> Schedule;
    fn param_space(&self) -> &ParamSpace;
    fn blowup_bound(&self) -> f64;
    /// Fourier-space initial state for (folded) X: the solution, then one tangent field per
    /// parameter when `tangents`.
    fn initial_state(&self, x: &[f64], tangents: bool) -> Vec<C64>;
    /// Per-solve precomputation of the forcing (none by default).
    fn prepare_forcing(&self, _x: &[f64], _tangents: bool) -> Forcing {
        Forcing::None
    }
}

/// One source of an additive forcing: a fixed spatial profile times sin(ωt), with its tangents
/// w.r.t. the parameter that moves the profile and w.r.t. ω.
pub(crate) struct SineSource {
    pub profile: Vec<C64>,
    /// (index of the parameter that moves the profile in X, ∂profile/∂X_that).
    pub profile_tangent: Option<(usize, Vec<C64>)>,
    pub omega: f64,
    /// Index of ω in X, for its tangent ∂/∂ω sin(ωt) = t cos(ωt).
    pub omega_index: usize,
}

/// An additive forcing term in Fourier space: a sum of [`SineSource`]s, restricted to the
/// wavenumbers in `mask`.
pub(crate) enum Forcing {
    None,
    Sources {
        sources: Vec<SineSource>,
        mask: Vec<bool>,
    },
}

impl Forcing {
    fn add(&self, v_out: &mut [C64], field: usize, t: f64) {
        let Forcing::Sources { sources, mask } = self else {
            return;
        };
        let mut axpy = |x: &[C64], a: f64| {
            for ((o, x), keep) in v_out.iter_mut().zip(x).zip(mask) {
                if *keep {
                    *o += x * a;
                }
            }
        };
        for source in sources {
            let (s, c) = (source.omega * t).sin_cos();
            if field == 0 {
                axpy(&source.profile, s);
                continue;
            }
            let p = field - 1;
            if let Some((j, tangent)) = &source.profile_tangent {
                if *j == p {
                    axpy(tangent, s);
                }
            }
            if p == source.omega_index {
                axpy(&source.profile, t * c);
            }
        }
    }
}

/// Evaluates the nonlinear term (advection + forcing) for every field of `v`.
fn nonlinear<P: SemilinearPde + ?Sized>(
    pde: &P,
    forcing: &Forcing,
    v: &[C64],
    t: f64,
    out: &mut [C64],
    w: &mut PdeWork,
) {
    let grid = pde.grid();
    let k = grid.modes();
    let coeff = &pde.advection().coeff;
    let fields = v.len() / k;
    grid.to_physical(&v[..k], &mut w.u, &mut w.fft);
    for (p, u) in w.product.iter_mut().zip(&w.u) {
        *p = u * u;
    }
    grid.to_spectral(&w.product, &mut w.spectrum, &mut w.fft);
    for j in 0..k {
        out[j] = coeff[j] * w.spectrum[j];
    }
    forcing.add(&mut out[..k], 0, t);
    for f in 1..fields {
        let field = f * k..(f + 1) * k;
        grid.to_physical(&v[field.clone()], &mut w.du, &mut w.fft);
        // d/dX of u² is 2u·δu.
        for ((p, u), du) in w.product.iter_mut().zip(&w.u).zip(&w.du) {
            *p = 2.0 * u * du;
        }
        grid.to_spectral(&w.product, &mut w.spectrum, &mut w.fft);
        let o = &mut out[field];
        for j in 0..k {
            o[j] = coeff[j] * w.spectrum[j];
        }
        forcing.add(o, f, t);
    }
}

/// Frames of the solution and, when asked, of each tangent field.
pub(crate) struct Integrated {
    pub frames: Trajectory,
    pub tangent_frames: Vec<Trajectory>,
}

/// Integrates from the (already folded) X over the whole schedule.
pub(crate) fn integrate<P: SemilinearPde + ?Sized>(
    pde: &P,
    x: &[f64],
    tangents: bool,
) -> Result<Integrated> {
    let grid = pde.grid();
    let scheme = pde.scheme();
    let sched = pde.schedule();
    let (n, k) = (grid.n(), grid.modes());
    let mut v = pde.initial_state(x, tangents);
    let fields = v.len() / k;
    let forcing = pde.prepare_forcing(x, tangents);
    let mut work = Etdrk4Work::new(v.len());
    let mut pw = PdeWork::new(grid);
    let mut frames = Array2::zeros((sched.frames(), n));
    let mut tangent_frames = vec![Array2::zeros((sched.frames(), n)); fields - 1];
    let mut row = vec![0.0; n];
    let bound = pde.blowup_bound();

    let mut save = |frame: usize, v: &[C64], step: usize, pw: &mut PdeWork| -> Result<()> {
        grid.to_physical(&v[..k], &mut row, &mut pw.fft);
        if let Some(bad) = row.iter().find(|u| !u.is_finite() || u.abs() > bound) {
            return Err(blow_up(
                pde,
                x,
                step,
                scheme.dt(),
                format!("|u| = {bad:e} exceeds {bound:e}"),
            ));
        }
        frames
            .row_mut(frame)
            .assign(&ndarray::ArrayView1::from(&row[..]));
        for (f, tf) in tangent_frames.iter_mut().enumerate() {
            grid.to_physical(&v[(f + 1) * k..(f + 2) * k], &mut row, &mut pw.fft);
            tf.row_mut(frame)
                .assign(&ndarray::ArrayView1::from(&row[..]));
        }
        Ok(())
    };

    save(0, &v, 0, &mut pw)?;
    for step in 1..=sched.steps {
        let t = (step - 1) as f64 * scheme.dt();
        scheme.step(&mut v, t, &mut work, |vv, tt, out| {
            nonlinear(pde, &forcing, vv, tt, out, &mut pw)
        });
        if v[..k]
            .iter()
            .any(|c| !(c.re.is_finite() && c.im.is_finite()))
        {
            return Err(blow_up(
                pde,
                x,
                step,
                scheme.dt(),
                "the state is no longer finite".into(),
            ));
        }
        if step % sched.frame_every == 0 {
            save(step / sched.frame_every, &v, step, &mut pw)?;
        }
    }
    Ok(Integrated {
        frames,
        tangent_frames,
    })
}

fn blow_up<P: SemilinearPde + ?Sized>(
    pde: &P,
    x: &[f64],
    step: usize,
    dt: f64,
    reason: String,
) -> Error {
    Error::BlowUp {
        experiment: pde.name().to_string(),
        x: x.to_vec(),
        step,
        t: step as f64 * dt,
        reason,
    }
}

/// Simulates at any X (folded into the box first).
pub(crate) fn simulate<P: SemilinearPde + ?Sized>(pde: &P, x: &[f64]) -> Result<Trajectory> {
    pde.param_space().check(pde.name(), x)?;
    let (x, _) = pde.param_space().fold(x);
    Ok(integrate(pde, &x, false)?.frames)
}

/// The trajectory and its tangents at any X, carried back through the fold.
pub(crate) fn simulate_with_tangents<P: SemilinearPde + ?Sized>(
    pde: &P,
    x: &[f64],
) -> Result<Tangents> {
    let space = pde.param_space();
    space.check(pde.name(), x)?;
    let (xf, sign) = space.fold(x);
    let run = integrate(pde, &xf, true)?;
    let tangents = run
        .tangent_frames
        .into_iter()
        .zip(&sign)
        .map(|(t, s)| if *s < 0.0 { -t } else { t })
        .collect();
    Ok(Tangents {
        trajectory: run.frames,
        tangents,
    })
}
