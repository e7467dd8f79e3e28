//! E1: forced viscous Burgers' equation u_t + u u_x = ν u_xx + f(x, t; X) on [0, 2π), and the
//! scaling family `burgers-k{K}` with K forcing sources (docs/spec.md, "Scaling families").

use crate::error::{Error, Result};
use crate::params::{Boundary, ParamSpace};
use crate::pde::{self, Forcing, QuadraticAdvection, Schedule, SemilinearPde, SineSource};
use crate::simulator::{Simulator, Tangents, Trajectory};
use crate::spectral::{C64, Etdrk4, FourierGrid};
use std::f64::consts::{PI, TAU};

/// Settings of E1; [`Default`] gives the spec's values.
#[derive(Debug, Clone, PartialEq)]
pub struct BurgersConfig {
    /// Grid points N (even).
    pub n: usize,
    /// Viscosity ν.
    pub viscosity: f64,
    /// Forcing amplitude A (0 turns the forcing off).
    pub forcing_amplitude: f64,
    /// Forcing width s.
    pub forcing_width: f64,
    /// Range of each forcing frequency ω_k (reflecting).
    pub omega_range: (f64, f64),
    /// `None`: E1, named `burgers`. `Some(K)`: the scaling-family member `burgers-k{K}` with
    /// K forcing sources (d = 2K). With one source the centre x_c is periodic on [0, 2π)
    /// (`burgers-k1` is E1 under its family name); for K > 1, centre c_k lives in its own
    /// sector [2π(k−1)/K, 2πk/K) and reflects, so no two sources can swap and X* is unique.
    pub sources: Option<usize>,
    /// ETDRK4 time step.
    pub dt: f64,
    /// Number of time steps (t_end = steps · dt).
    pub steps: usize,
    /// Steps between saved frames (must divide `steps`; t = 0 is a frame).
    pub frame_every: usize,
    /// 2/3-rule dealiasing of the nonlinear term (keep k ≤ N/3).
    pub dealias: bool,
    /// Points on the contour that evaluates the ETDRK4 coefficients (at least 4).
    pub contour_points: usize,
    /// Radius of that contour around each dt·L_k.
    pub contour_radius: f64,
    /// A solve whose |u| exceeds this is reported as blown up.
    pub blowup_bound: f64,
}

impl Default for BurgersConfig {
    fn default() -> Self {
        BurgersConfig {
            n: 128,
            viscosity: 0.05,
            forcing_amplitude: 1.0,
            forcing_width: 0.3,
            omega_range: (2.0, 12.0),
            sources: None,
            dt: 0.01,
            steps: 400,
            frame_every: 10,
            dealias: true,
            contour_points: 32,
            contour_radius: 1.0,
            blowup_bound: 1e3,
        }
    }
}

/// Forced viscous Burgers, pseudo-spectral with ETDRK4. X = (x_c, ω): the forcing
/// f = A exp(−d(x, x_c)²/(2s²)) sin(ωt) with d the periodic distance. Y0 = sin(x).
/// With K sources, X = (c_1, …, c_K, ω_1, …, ω_K) and f = Σ_k A exp(−d(x, c_k)²/(2s²)) sin(ω_k t).
///
/// ```
/// use proxyland_physics::{Burgers, BurgersConfig, Simulator};
/// let sim = Burgers::new(BurgersConfig { steps: 40, ..BurgersConfig::default() })?;
/// let y = sim.simulate(&[3.0, 6.0])?;
/// assert_eq!(y.dim(), (5, 128));
/// # Ok::<(), proxyland_physics::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Burgers {
    name: String,
    config: BurgersConfig,
    space: ParamSpace,
    grid: FourierGrid,
    scheme: Etdrk4,
    advection: QuadraticAdvection,
    keep: Vec<bool>,
    schedule: Schedule,
    initial: Vec<C64>,
}

impl Burgers {
    /// Builds the solver; rejects settings that break the discretization's rules.
    pub fn new(config: BurgersConfig) -> Result<Self> {
        let c = &config;
        if c.n < 4 || c.n % 2 != 0 {
            return Err(Error::invalid("n", c.n, "must be an even number >= 4"));
        }
        for (field, value) in [("dt", c.dt), ("forcing_width", c.forcing_width)] {
            if !(value > 0.0 && value.is_finite()) {
                return Err(Error::invalid(field, value, "must be positive"));
            }
        }
        if !(c.viscosity >= 0.0 && c.viscosity.is_finite()) {
            return Err(Error::invalid("viscosity", c.viscosity, "must be >= 0"));
        }
        if !c.forcing_amplitude.is_finite() {
            return Err(Error::invalid(
                "forcing_amplitude",
                c.forcing_amplitude,
                "must be finite",
            ));
        }
        if c.contour_points < 4 || c.contour_radius <= 0.0 {
            return Err(Error::invalid(
                "contour",
                format!("{} points, radius {}", c.contour_points, c.contour_radius),
                "needs >= 4 points and a positive radius",
            ));
        }
        let sources = c.sources.unwrap_or(1);
        if sources == 0 || sources > MAX_SOURCES {
            return Err(Error::invalid(
                "sources",
                sources,
                &format!("must be 1 to {MAX_SOURCES}"),
            ));
        }
        let schedule = Schedule::new(c.steps, c.frame_every)?;
        let space = forcing_space(sources, c.omega_range)?;
        let grid = FourierGrid::new(c.n, TAU);
        let k = grid.wavenumbers().to_vec();
        let linear: Vec<f64> = k.iter().map(|k| -c.viscosity * k * k).collect();
        let scheme = Etdrk4::with_contour(&linear, c.dt, c.contour_points, c.contour_radius);
        let k_max = c.n as f64 / 3.0;
        let keep: Vec<bool> = (0..grid.modes())
            .map(|j| !c.dealias || (j as f64) <= k_max)
            .collect();
        let advection = QuadraticAdvection::new(&k, &keep);
        let u0: Vec<f64> = grid.points().iter().map(|x| x.sin()).collect();
        let name = experiment_name(config.sources);
        let mut s = Burgers {
            name,
            config,
            space,
            grid,
            scheme,
            advection,
            keep,
            schedule,
            initial: Vec::new(),
        };
        s.set_initial_condition(&u0)?;
        Ok(s)
    }

    /// Replaces Y0 = sin(x) by other grid values (e.g. for validation against Cole–Hopf).
    pub fn with_initial_condition(mut self, u0: &[f64]) -> Result<Self> {
        self.set_initial_condition(u0)?;
        Ok(self)
    }

    fn set_initial_condition(&mut self, u0: &[f64]) -> Result<()> {
        if u0.len() != self.grid.n() || u0.iter().any(|u| !u.is_finite()) {
            return Err(Error::invalid(
                "initial_condition",
                format!("{} values", u0.len()),
                "needs one finite value per grid point",
            ));
        }
        self.initial = vec![C64::default(); self.grid.modes()];
        let mut s = self.grid.scratch();
        self.grid.to_spectral(u0, &mut self.initial, &mut s);
        Ok(())
    }

    /// The settings in use.
    pub fn config(&self) -> &BurgersConfig {
        &self.config
    }

    /// The grid points x_j = 2πj/N.
    pub fn grid_points(&self) -> Vec<f64> {
        self.grid.points()
    }
}

/// The most forcing sources a config may ask for (each costs a profile and a tangent field).
pub const MAX_SOURCES: usize = 64;

/// `burgers` for E1, `burgers-k{K}` for a family member.
fn experiment_name(sources: Option<usize>) -> String {
    match sources {
        None => "burgers".into(),
        Some(k) => format!("burgers-k{k}"),
    }
}

/// The box of K sources: centres first, then frequencies.
fn forcing_space(sources: usize, omega_range: (f64, f64)) -> Result<ParamSpace> {
    if sources == 1 {
        return ParamSpace::new(
            ["x_c", "omega"],
            ["rad", "rad/s"],
            [0.0, omega_range.0],
            [TAU, omega_range.1],
            [Boundary::Periodic, Boundary::Reflect],
        );
    }
    let k = sources as f64;
    let mut names = Vec::new();
    let mut units = Vec::new();
    let (mut lo, mut hi, mut boundary) = (Vec::new(), Vec::new(), Vec::new());
    for j in 0..sources {
        names.push(format!("c_{}", j + 1));
        units.push("rad".to_string());
        lo.push(TAU * j as f64 / k);
        hi.push(TAU * (j + 1) as f64 / k);
        boundary.push(Boundary::Reflect);
    }
    for j in 0..sources {
        names.push(format!("omega_{}", j + 1));
        units.push("rad/s".to_string());
        lo.push(omega_range.0);
        hi.push(omega_range.1);
        boundary.push(Boundary::Reflect);
    }
    ParamSpace::from_vecs(names, units, lo, hi, boundary)
}

impl SemilinearPde for Burgers {
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

    fn initial_state(&self, _x: &[f64], tangents: bool) -> Vec<C64> {
        let k = self.grid.modes();
        let fields = if tangents { 1 + self.space.dim() } else { 1 };
        let mut v = vec![C64::default(); fields * k];
        v[..k].copy_from_slice(&self.initial); // Y0 does not depend on X
        v
    }

    fn prepare_forcing(&self, x: &[f64], tangents: bool) -> Forcing {
        let c = &self.config;
        if c.forcing_amplitude == 0.0 {
            return Forcing::None;
        }
        let k = self.space.dim() / 2;
        let inv_2s2 = 1.0 / (2.0 * c.forcing_width * c.forcing_width);
        let points = self.grid.points();
        let mut scratch = self.grid.scratch();
        let sources = (0..k)
            .map(|j| {
                let centre = x[j];
                // Signed periodic offset x − c in (−π, π]; the profile's kink at the antipode
                // sits where the Gaussian is ~e^-55, far below rounding.
                let offset = |x: f64| {
                    let d = (x - centre).rem_euclid(TAU);
                    if d > PI { d - TAU } else { d }
                };
                let g: Vec<f64> = points
                    .iter()
                    .map(|&x| c.forcing_amplitude * (-offset(x).powi(2) * inv_2s2).exp())
                    .collect();
                let mut profile = vec![C64::default(); self.grid.modes()];
                self.grid.to_spectral(&g, &mut profile, &mut scratch);
                let profile_tangent = tangents.then(|| {
                    // ∂g/∂c = g · (x − c)/s²
                    let dg: Vec<f64> = points
                        .iter()
                        .zip(&g)
                        .map(|(&x, g)| g * offset(x) * 2.0 * inv_2s2)
                        .collect();
                    let mut d = vec![C64::default(); self.grid.modes()];
                    self.grid.to_spectral(&dg, &mut d, &mut scratch);
                    (j, d)
                });
                SineSource {
                    profile,
                    profile_tangent,
                    omega: x[k + j],
                    omega_index: k + j,
                }
            })
            .collect();
        Forcing::Sources {
            sources,
            mask: self.keep.clone(),
        }
    }
}

impl Simulator for Burgers {
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
        self.grid.points()
    }
    fn simulate(&self, x: &[f64]) -> Result<Trajectory> {
        pde::simulate(self, x)
    }
    fn simulate_with_tangents(&self, x: &[f64]) -> Result<Tangents> {
        pde::simulate_with_tangents(self, x)
    }
}
