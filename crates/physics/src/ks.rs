//! E2: the Kuramoto–Sivashinsky equation u_t + u u_x + u_xx + u_xxxx = 0 (chaotic), following the
//! conventions of Kassam & Trefethen's kursiv.m: no dealiasing, Nyquist wavenumber set to zero.
//! With M initial-condition modes it is the scaling family `ks-m{M}` (docs/spec.md).

use crate::error::{Error, Result};
use crate::params::{Boundary, ParamSpace};
use crate::pde::{self, QuadraticAdvection, Schedule, SemilinearPde};
use crate::simulator::{Simulator, Tangents, Trajectory};
use crate::spectral::{C64, Etdrk4, FourierGrid};
use std::f64::consts::TAU;

/// Cosine coefficients a_n of the spec's fixed background b(x) (n = 1..4).
const BACKGROUND_COS: [f64; 4] = [
    -1.6038368053963015,
    0.06409991400376411,
    0.7408912958767259,
    0.15261919356565307,
];
/// Sine coefficients c_n of the background.
const BACKGROUND_SIN: [f64; 4] = [
    0.8637438913233318,
    2.913099222503971,
    -1.4788233606644015,
    0.9454729746458599,
];

/// Settings of E2; [`Default`] gives the spec's values.
#[derive(Debug, Clone, PartialEq)]
pub struct KsConfig {
    /// Grid points N (even, at least 4).
    pub n: usize,
    /// Domain length L.
    pub length: f64,
    /// ETDRK4 time step.
    pub dt: f64,
    /// Number of time steps (t_end = steps · dt).
    pub steps: usize,
    /// Steps between saved frames (must divide `steps`; t = 0 is a frame).
    pub frame_every: usize,
    /// Box of each amplitude X_j (all reflecting).
    pub amplitude_range: (f64, f64),
    /// `None`: E2 (two modes, named `ks`). `Some(M)`: the scaling-family member `ks-m{M}` with
    /// M initial-condition modes (d = M; `ks-m2` is E2 under its family name). The modes, in
    /// order: cos 1, sin 2, sin 1, cos 2, then cos k, sin k for k = 3, 4, … (wavenumber k:
    /// 2πkx/L).
    pub modes: Option<usize>,
    /// Points on the contour that evaluates the ETDRK4 coefficients.
    pub contour_points: usize,
    /// Radius of that contour around each dt·L_k.
    pub contour_radius: f64,
    /// A solve whose |u| exceeds this is reported as blown up.
    pub blowup_bound: f64,
}

impl Default for KsConfig {
    fn default() -> Self {
        KsConfig {
            n: 64,
            length: 22.0,
            dt: 0.25,
            steps: 160,
            frame_every: 4,
            amplitude_range: (-1.0, 1.0),
            modes: None,
            contour_points: 32,
            contour_radius: 1.0,
            blowup_bound: 1e3,
        }
    }
}

/// Kuramoto–Sivashinsky with ETDRK4. For the experiment, u0 = b(x) + X1 cos(2πx/L) +
/// X2 sin(4πx/L) with the spec's small fixed background b; X only enters through u0.
///
/// ```
/// use proxyland_physics::{KsConfig, KuramotoSivashinsky, Simulator};
/// let ks = KuramotoSivashinsky::new(KsConfig { steps: 8, ..KsConfig::default() })?;
/// assert_eq!(ks.simulate(&[0.3, -0.2])?.dim(), (3, 64));
/// # Ok::<(), proxyland_physics::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct KuramotoSivashinsky {
    name: String,
    config: KsConfig,
    space: ParamSpace,
    grid: FourierGrid,
    scheme: Etdrk4,
    advection: QuadraticAdvection,
    schedule: Schedule,
    /// Grid points where u0 is evaluated (kursiv.m's benchmark grid starts at L/N, not 0).
    points: Vec<f64>,
    /// Fourier coefficients of the X-independent part of u0.
    background: Vec<C64>,
    /// Fourier coefficients of the shape multiplied by each X_j.
    shapes: Vec<Vec<C64>>,
}

impl KuramotoSivashinsky {
    /// The E2 experiment with `config` (`ks-m{M}` when `config.modes` is not 2).
    pub fn new(config: KsConfig) -> Result<Self> {
        let (lo, hi) = config.amplitude_range;
        let m = config.modes.unwrap_or(2);
        if m == 0 || m > 2 * (config.n / 2).saturating_sub(1) {
            return Err(Error::invalid(
                "modes",
                m,
                "must be at least 1 and fit below the grid's Nyquist wavenumber",
            ));
        }
        let space = ParamSpace::from_vecs(
            (1..=m).map(|j| format!("X{j}")).collect(),
            vec!["-".to_string(); m],
            vec![lo; m],
            vec![hi; m],
            vec![Boundary::Reflect; m],
        )?;
        let length = config.length;
        let points: Vec<f64> = (0..config.n)
            .map(|j| length * j as f64 / config.n as f64)
            .collect();
        let s: Vec<f64> = points
            .iter()
            .map(|&x| {
                (1..=4)
                    .map(|n| {
                        let arg = TAU * n as f64 * x / length;
                        (BACKGROUND_COS[n - 1] * arg.cos() + BACKGROUND_SIN[n - 1] * arg.sin())
                            / n as f64
                    })
                    .sum()
            })
            .collect();
        let s_max = s.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let background: Vec<f64> = s.iter().map(|v| 0.1 * v / s_max).collect();
        let shapes: Vec<Vec<f64>> = mode_order(m)
            .into_iter()
            .map(|(k, cosine)| {
                points
                    .iter()
                    .map(|&x| {
                        let arg = TAU * k as f64 * x / length;
                        if cosine { arg.cos() } else { arg.sin() }
                    })
                    .collect()
            })
            .collect();
        let name = match config.modes {
            None => "ks".to_string(),
            Some(m) => format!("ks-m{m}"),
        };
        Self::build(&name, config, space, points, &background, &shapes)
    }

    /// The Kassam–Trefethen benchmark of kursiv.m: L = 32π, N = 128, grid x_j = 32πj/N for
    /// j = 1..N, dt = 1/4, u0 = cos(x/16)(1 + sin(x/16)), frames at t = 0, 50, 100, 150.
    /// It has no parameters; it exists to compare against other implementations.
    pub fn kassam_trefethen_benchmark() -> Result<Self> {
        let config = KsConfig {
            n: 128,
            length: 32.0 * std::f64::consts::PI,
            dt: 0.25,
            steps: 600,
            frame_every: 200,
            ..KsConfig::default()
        };
        let space = ParamSpace::from_vecs(vec![], vec![], vec![], vec![], vec![])?;
        let points: Vec<f64> = (1..=config.n)
            .map(|j| config.length * j as f64 / config.n as f64)
            .collect();
        let u0: Vec<f64> = points
            .iter()
            .map(|x| (x / 16.0).cos() * (1.0 + (x / 16.0).sin()))
            .collect();
        Self::build("ks-kt", config, space, points, &u0, &[])
    }

    /// KS on a custom grid and initial condition with no parameters (for validation studies).
    pub fn with_initial_condition(config: KsConfig, u0: &[f64]) -> Result<Self> {
        let space = ParamSpace::from_vecs(vec![], vec![], vec![], vec![], vec![])?;
        let points: Vec<f64> = (0..config.n)
            .map(|j| config.length * j as f64 / config.n as f64)
            .collect();
        Self::build("ks", config, space, points, u0, &[])
    }

    fn build(
        name: &str,
        config: KsConfig,
        space: ParamSpace,
        points: Vec<f64>,
        background: &[f64],
        shapes: &[Vec<f64>],
    ) -> Result<Self> {
        let c = &config;
        if c.n < 4 || c.n % 2 != 0 {
            return Err(Error::invalid("n", c.n, "must be an even number >= 4"));
        }
        for (field, value) in [("dt", c.dt), ("length", c.length)] {
            if !(value > 0.0 && value.is_finite()) {
                return Err(Error::invalid(field, value, "must be positive"));
            }
        }
        if background.len() != c.n || background.iter().any(|u| !u.is_finite()) {
            return Err(Error::invalid(
                "initial_condition",
                format!("{} values", background.len()),
                "needs one finite value per grid point",
            ));
        }
        let schedule = Schedule::new(c.steps, c.frame_every)?;
        let grid = FourierGrid::new(c.n, c.length);
        let mut k = grid.wavenumbers().to_vec();
        *k.last_mut().expect("n >= 4") = 0.0; // kursiv.m: the Nyquist wavenumber is zero
        let linear: Vec<f64> = k.iter().map(|k| k * k - k.powi(4)).collect();
        let scheme = Etdrk4::with_contour(&linear, c.dt, c.contour_points, c.contour_radius);
        let advection = QuadraticAdvection::new(&k, &vec![true; k.len()]);
        let mut scratch = grid.scratch();
        let mut to_spectral = |u: &[f64]| {
            let mut v = vec![C64::default(); grid.modes()];
            grid.to_spectral(u, &mut v, &mut scratch);
            v
        };
        let background = to_spectral(background);
        let shapes = shapes.iter().map(|s| to_spectral(s)).collect();
        Ok(KuramotoSivashinsky {
            name: name.to_string(),
            config,
            space,
            grid,
            scheme,
            advection,
            schedule,
            points,
            background,
            shapes,
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &KsConfig {
        &self.config
    }
}

/// The first `m` modes of the spec's order as (wavenumber, is cosine): cos 1, sin 2, sin 1,
/// cos 2, then cos k, sin k for k = 3, 4, …
pub fn mode_order(m: usize) -> Vec<(usize, bool)> {
    let mut modes = vec![(1, true), (2, false), (1, false), (2, true)];
    let mut k = 3;
    while modes.len() < m {
        modes.push((k, true));
        modes.push((k, false));
        k += 1;
    }
    modes.truncate(m);
    modes
}

impl SemilinearPde for KuramotoSivashinsky {
    fn name(&self) -> &str {
        &self.name
    }
    fn grid(&self) -> &FourierGrid {
        &self.grid
    }
    fn scheme(&self) -> &Etdrk4 {
        &self.scheme
    }
    fn advection(&self) -> &QuadraticAdvection {
        &self.advection
    }
    fn schedule(&self) -> Schedule {
        self.schedule
    }
    fn param_space(&self) -> &ParamSpace {
        &self.space
    }
    fn blowup_bound(&self) -> f64 {
        self.config.blowup_bound
    }

    fn initial_state(&self, x: &[f64], tangents: bool) -> Vec<C64> {
        let k = self.grid.modes();
        let fields = if tangents { 1 + self.shapes.len() } else { 1 };
        let mut v = vec![C64::default(); fields * k];
        v[..k].copy_from_slice(&self.background);
        for (xj, shape) in x.iter().zip(&self.shapes) {
            for (vi, si) in v[..k].iter_mut().zip(shape) {
                *vi += si * xj;
            }
        }
        if tangents {
            for (j, shape) in self.shapes.iter().enumerate() {
                v[(j + 1) * k..(j + 2) * k].copy_from_slice(shape);
            }
        }
        v
    }
}

impl Simulator for KuramotoSivashinsky {
    fn name(&self) -> &str {
        &self.name
    }
    fn param_space(&self) -> &ParamSpace {
        &self.space
    }
    fn trajectory_shape(&self) -> (usize, usize) {
        (self.schedule.frames(), self.grid.n())
    }
    fn frame_times(&self) -> Vec<f64> {
        let dt = self.config.dt * self.schedule.frame_every as f64;
        (0..self.schedule.frames()).map(|i| i as f64 * dt).collect()
    }
    fn state_axis(&self) -> Vec<f64> {
        self.points.clone()
    }
    fn simulate(&self, x: &[f64]) -> Result<Trajectory> {
        pde::simulate(self, x)
    }
    fn simulate_with_tangents(&self, x: &[f64]) -> Result<Tangents> {
        pde::simulate_with_tangents(self, x)
    }
}
