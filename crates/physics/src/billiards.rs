//! E3/E4: event-driven billiards with linear friction, exact contact times and exact gradients.
//!
//! Under dv/dt = −μv every ball moves as x(τ) = x_e + v_e s(τ) with s = (1 − e^{−μτ})/μ, so
//! between events all balls travel on straight lines in the common variable s. Disc–disc contacts
//! are roots of a quadratic in s, cushion contacts of a linear equation; s can never exceed 1/μ.
//! The whole computation is generic over [`Scalar`], so running it on dual numbers differentiates
//! it exactly, contact times included.

use crate::dual::{Dual, Scalar};
use crate::error::{Error, Result};
use crate::params::{Boundary, ParamSpace};
use crate::simulator::{Simulator, Tangents, Trajectory, check_buffer};
use ndarray::Array2;

/// Which parameters the shot has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BilliardsVariant {
    /// X = cue velocity (vx, vy); the cue starts at a fixed spot.
    TwoD,
    /// X = (x0, y0, vx, vy): cue start and velocity.
    FourD,
}

/// Settings of E3/E4; [`BilliardsConfig::two_d`] and [`BilliardsConfig::four_d`] give the spec's.
#[derive(Debug, Clone, PartialEq)]
pub struct BilliardsConfig {
    /// Which parameters X holds (E3: 2D, E4: 4D).
    pub variant: BilliardsVariant,
    /// Disc radius r (all balls).
    pub radius: f64,
    /// Linear friction coefficient μ.
    pub friction: f64,
    /// Cue start (the fixed one for 2D).
    pub cue_start: [f64; 2],
    /// Start positions (x, y) of the object balls, at rest.
    pub objects: Vec<[f64; 2]>,
    /// Box (lo, hi) of the cue's initial x velocity.
    pub vx_range: (f64, f64),
    /// Box (lo, hi) of the cue's initial y velocity.
    pub vy_range: (f64, f64),
    /// Cue start box (4D only).
    pub x0_range: (f64, f64),
    /// Box (lo, hi) of the cue start's y (4D only).
    pub y0_range: (f64, f64),
    /// Frames at t = 0, frame_dt, ..., (frames − 1)·frame_dt.
    pub frame_dt: f64,
    /// Number of frames F.
    pub frames: usize,
    /// More events than this is an error (a runaway simulation).
    pub max_events: usize,
    /// A target must move some object ball at least this far.
    pub min_object_travel: f64,
}

impl BilliardsConfig {
    /// E3 of the spec.
    pub fn two_d() -> Self {
        BilliardsConfig {
            variant: BilliardsVariant::TwoD,
            radius: 0.05,
            friction: 0.5,
            cue_start: [0.2, 0.5],
            objects: vec![[0.6, 0.5], [0.75, 0.62]],
            vx_range: (0.6, 2.0),
            vy_range: (-0.35, 0.6),
            x0_range: (0.08, 0.3),
            y0_range: (0.2, 0.8),
            frame_dt: 0.05,
            frames: 41,
            max_events: 1000,
            min_object_travel: 0.01,
        }
    }

    /// E4 of the spec.
    pub fn four_d() -> Self {
        BilliardsConfig {
            variant: BilliardsVariant::FourD,
            ..Self::two_d()
        }
    }
}

/// The billiards simulator: a cue ball and object balls on the unit table.
///
/// ```
/// use proxyland_physics::{Billiards, BilliardsConfig, Simulator};
/// let table = Billiards::new(BilliardsConfig::two_d())?;
/// let y = table.simulate(&[1.2, 0.0])?;       // straight at the first object ball
/// assert_eq!(y.dim(), (41, 6));
/// assert!(y[[14, 2]] > 0.6 + 0.1);            // which was knocked on (t = 0.7)
/// # Ok::<(), proxyland_physics::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Billiards {
    name: &'static str,
    config: BilliardsConfig,
    space: ParamSpace,
}

/// One ball's state at the last event: position and velocity.
#[derive(Debug, Clone, Copy)]
struct Ball<S> {
    p: [S; 2],
    v: [S; 2],
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Event {
    Discs(usize, usize),
    Cushion(usize, usize),
}

impl Billiards {
    /// Builds the table; rejects impossible settings (balls overlapping or off the table).
    pub fn new(config: BilliardsConfig) -> Result<Self> {
        let c = &config;
        for (field, value) in [
            ("radius", c.radius),
            ("friction", c.friction),
            ("frame_dt", c.frame_dt),
        ] {
            if !(value > 0.0 && value.is_finite()) {
                return Err(Error::invalid(field, value, "must be positive"));
            }
        }
        if c.radius >= 0.25 {
            return Err(Error::invalid(
                "radius",
                c.radius,
                "must be < 0.25 on the unit table",
            ));
        }
        if c.frames < 2 {
            return Err(Error::invalid("frames", c.frames, "must be >= 2"));
        }
        let on_table = |p: &[f64; 2]| p.iter().all(|&q| q >= c.radius && q <= 1.0 - c.radius);
        for (i, p) in c.objects.iter().enumerate() {
            if !on_table(p) {
                return Err(Error::invalid(
                    &format!("objects[{i}]"),
                    format!("{p:?}"),
                    "object balls must lie on the table, a radius from each cushion",
                ));
            }
            for q in &c.objects[..i] {
                if dist(p, q) < 2.0 * c.radius {
                    return Err(Error::invalid(
                        &format!("objects[{i}]"),
                        format!("{p:?}"),
                        "object balls must not overlap",
                    ));
                }
            }
        }
        let (name, space) = match c.variant {
            BilliardsVariant::TwoD => (
                "billiards2d",
                ParamSpace::new(
                    ["vx", "vy"],
                    ["1/s", "1/s"],
                    [c.vx_range.0, c.vy_range.0],
                    [c.vx_range.1, c.vy_range.1],
                    [Boundary::Reflect; 2],
                )?,
            ),
            BilliardsVariant::FourD => (
                "billiards4d",
                ParamSpace::new(
                    ["x0", "y0", "vx", "vy"],
                    ["-", "-", "1/s", "1/s"],
                    [c.x0_range.0, c.y0_range.0, c.vx_range.0, c.vy_range.0],
                    [c.x0_range.1, c.y0_range.1, c.vx_range.1, c.vy_range.1],
                    [Boundary::Reflect; 4],
                )?,
            ),
        };
        // Every cue start the box allows must be a legal position.
        let corners: Vec<[f64; 2]> = match c.variant {
            BilliardsVariant::TwoD => vec![c.cue_start],
            BilliardsVariant::FourD => vec![
                [c.x0_range.0, c.y0_range.0],
                [c.x0_range.1, c.y0_range.1],
                [c.x0_range.0, c.y0_range.1],
                [c.x0_range.1, c.y0_range.0],
            ],
        };
        for p in &corners {
            if !on_table(p) {
                return Err(Error::invalid(
                    "cue_start",
                    format!("{p:?}"),
                    "the cue must start on the table, a radius from each cushion",
                ));
            }
        }
        Ok(Billiards {
            name,
            config,
            space,
        })
    }

    /// The settings in use.
    pub fn config(&self) -> &BilliardsConfig {
        &self.config
    }

    /// Number of balls (cue first).
    pub fn balls(&self) -> usize {
        1 + self.config.objects.len()
    }

    /// Cue start and velocity for a (folded) parameter vector, as scalars of type S.
    fn shot<S: Scalar>(&self, x: &[S]) -> ([S; 2], [S; 2]) {
        match self.config.variant {
            BilliardsVariant::TwoD => (
                [
                    S::cst(self.config.cue_start[0]),
                    S::cst(self.config.cue_start[1]),
                ],
                [x[0], x[1]],
            ),
            BilliardsVariant::FourD => ([x[0], x[1]], [x[2], x[3]]),
        }
    }

    /// Runs the event-driven simulation, writing frame k's (2·balls) coordinates to
    /// `out[k·2·balls ..]` (`out` holds frames × 2·balls values). Frames go straight into the
    /// caller's storage: allocating them costs as much as the physics.
    fn run<S: Scalar>(&self, x: &[S], x_report: &[f64], out: &mut [S]) -> Result<()> {
        let c = &self.config;
        let cols = 2 * self.balls();
        debug_assert_eq!(out.len(), c.frames * cols);
        let mu = c.friction;
        let r = c.radius;
        let (p0, v0) = self.shot(x);
        let mut balls: Vec<Ball<S>> = Vec::with_capacity(self.balls());
        balls.push(Ball { p: p0, v: v0 });
        for o in &c.objects {
            balls.push(Ball {
                p: [S::cst(o[0]), S::cst(o[1])],
                v: [S::cst(0.0); 2],
            });
        }
        for i in 1..balls.len() {
            let gap = dist(&re2(balls[0].p), &re2(balls[i].p));
            if gap < 2.0 * r {
                return Err(Error::BlowUp {
                    experiment: self.name.to_string(),
                    x: x_report.to_vec(),
                    step: 0,
                    t: 0.0,
                    reason: format!("the cue starts overlapping object ball {i}"),
                });
            }
        }
        let t_end = (c.frames - 1) as f64 * c.frame_dt;
        let mut filled = 0; // frames written so far
        let mut t = S::cst(0.0); // time of the last event
        let mut events = 0usize;
        loop {
            // The largest s reachable before the last frame.
            let s_end = (1.0 - (-mu * (t_end - t.re())).exp()) / mu;
            let next = next_event(&balls, r, s_end);
            let t_next = match &next {
                // τ = −ln(1 − μ s)/μ
                Some((s, _)) => t - (S::cst(1.0) - *s * mu).ln() * (1.0 / mu),
                None => S::cst(f64::INFINITY),
            };
            while filled < c.frames {
                let tf = filled as f64 * c.frame_dt;
                if tf >= t_next.re() {
                    break;
                }
                let sf = (S::cst(1.0) - (-(S::cst(tf) - t) * mu).exp()) * (1.0 / mu);
                let frame = &mut out[filled * cols..(filled + 1) * cols];
                for (xy, b) in frame.chunks_exact_mut(2).zip(&balls) {
                    xy[0] = b.p[0] + b.v[0] * sf;
                    xy[1] = b.p[1] + b.v[1] * sf;
                }
                filled += 1;
            }
            let Some((s, event)) = next else { break };
            if filled == c.frames {
                break;
            }
            events += 1;
            if events > c.max_events {
                return Err(Error::TooManyEvents {
                    experiment: self.name.to_string(),
                    x: x_report.to_vec(),
                    cap: c.max_events,
                });
            }
            let decay = S::cst(1.0) - s * mu; // e^{−μτ}
            for b in balls.iter_mut() {
                for a in 0..2 {
                    b.p[a] += b.v[a] * s;
                    b.v[a] *= decay;
                }
            }
            t = t_next;
            match event {
                Event::Discs(i, j) => {
                    let (vi, vj) = collide(&balls[i], &balls[j]);
                    balls[i].v = vi;
                    balls[j].v = vj;
                }
                Event::Cushion(i, axis) => balls[i].v[axis] = -balls[i].v[axis],
            }
        }
        // With no event left, the loop above ran to the last frame.
        debug_assert_eq!(filled, c.frames);
        Ok(())
    }

    fn tangents_of<const D: usize>(&self, xf: &[f64], x: &[f64], sign: &[f64]) -> Result<Tangents> {
        let xd: Vec<Dual<D>> = xf
            .iter()
            .enumerate()
            .map(|(i, &v)| Dual::variable(v, i))
            .collect();
        let shape = self.trajectory_shape();
        let mut frames = vec![Dual::<D>::cst(0.0); shape.0 * shape.1];
        self.run(&xd, x, &mut frames)?;
        let dual_array = |part: &dyn Fn(&Dual<D>) -> f64| {
            Array2::from_shape_vec(shape, frames.iter().map(part).collect())
                .expect("frames × components values")
        };
        Ok(Tangents {
            trajectory: dual_array(&|d| d.re),
            tangents: (0..D).map(|j| dual_array(&|d| d.du[j] * sign[j])).collect(),
        })
    }
}

fn re2<S: Scalar>(p: [S; 2]) -> [f64; 2] {
    [p[0].re(), p[1].re()]
}

fn dist(a: &[f64; 2], b: &[f64; 2]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Admissible roots below this (negative) value are rounding noise of a contact at s = 0.
const S_TOLERANCE: f64 = -1e-12;

/// The earliest event within `s_end`, found in a fixed order (pairs i < j, then cushions by ball
/// and axis); an exact tie keeps the first found, so the outcome never depends on anything else.
fn next_event<S: Scalar>(balls: &[Ball<S>], r: f64, s_end: f64) -> Option<(S, Event)> {
    let mut best: Option<(S, Event)> = None;
    let mut consider = |s: S, e: Event| {
        if s.re() >= S_TOLERANCE
            && s.re() <= s_end
            && best.as_ref().is_none_or(|(b, _)| s.re() < b.re())
        {
            best = Some((s, e));
        }
    };
    for i in 0..balls.len() {
        for j in i + 1..balls.len() {
            if let Some(s) = disc_contact(&balls[i], &balls[j], r) {
                consider(s, Event::Discs(i, j));
            }
        }
    }
    for (i, b) in balls.iter().enumerate() {
        for axis in 0..2 {
            let v = b.v[axis];
            let s = if v.re() > 0.0 {
                (S::cst(1.0 - r) - b.p[axis]) / v
            } else if v.re() < 0.0 {
                (S::cst(r) - b.p[axis]) / v
            } else {
                continue;
            };
            consider(s, Event::Cushion(i, axis));
        }
    }
    best
}

/// Smallest s ≥ 0 with |Δp + Δv s| = 2r for an approaching pair: the root of
/// a s² + 2b s + c = 0 with a = |Δv|², b = Δp·Δv < 0, c = |Δp|² − 4r².
fn disc_contact<S: Scalar>(bi: &Ball<S>, bj: &Ball<S>, r: f64) -> Option<S> {
    let dp = [bi.p[0] - bj.p[0], bi.p[1] - bj.p[1]];
    let dv = [bi.v[0] - bj.v[0], bi.v[1] - bj.v[1]];
    let a = dv[0] * dv[0] + dv[1] * dv[1];
    let b = dp[0] * dv[0] + dp[1] * dv[1];
    if a.re() == 0.0 || b.re() >= 0.0 {
        return None;
    }
    let c = dp[0] * dp[0] + dp[1] * dp[1] - S::cst(4.0 * r * r);
    let disc = b * b - a * c;
    if disc.re() < 0.0 {
        return None;
    }
    Some((-b - disc.sqrt()) / a)
}

/// Elastic collision of equal masses: the normal velocity components are exchanged.
fn collide<S: Scalar>(bi: &Ball<S>, bj: &Ball<S>) -> ([S; 2], [S; 2]) {
    let dp = [bi.p[0] - bj.p[0], bi.p[1] - bj.p[1]];
    let norm = (dp[0] * dp[0] + dp[1] * dp[1]).sqrt();
    let n = [dp[0] / norm, dp[1] / norm];
    let dvn = (bi.v[0] - bj.v[0]) * n[0] + (bi.v[1] - bj.v[1]) * n[1];
    (
        [bi.v[0] - dvn * n[0], bi.v[1] - dvn * n[1]],
        [bj.v[0] + dvn * n[0], bj.v[1] + dvn * n[1]],
    )
}

impl Simulator for Billiards {
    fn name(&self) -> &str {
        self.name
    }
    fn param_space(&self) -> &ParamSpace {
        &self.space
    }
    fn trajectory_shape(&self) -> (usize, usize) {
        (self.config.frames, 2 * self.balls())
    }
    fn frame_times(&self) -> Vec<f64> {
        (0..self.config.frames)
            .map(|i| i as f64 * self.config.frame_dt)
            .collect()
    }
    fn state_axis(&self) -> Vec<f64> {
        (0..2 * self.balls()).map(|i| i as f64).collect()
    }
    fn simulate(&self, x: &[f64]) -> Result<Trajectory> {
        let mut y = Trajectory::zeros(self.trajectory_shape());
        self.simulate_into(x, y.as_slice_mut().expect("a fresh array is contiguous"))?;
        Ok(y)
    }
    fn simulate_into(&self, x: &[f64], out: &mut [f64]) -> Result<()> {
        check_buffer(self.name, self.trajectory_shape(), out.len())?;
        self.space.check(self.name, x)?;
        let (xf, _) = self.space.fold(x);
        self.run(&xf, x, out)
    }
    fn simulate_with_tangents(&self, x: &[f64]) -> Result<Tangents> {
        self.space.check(self.name, x)?;
        let (xf, sign) = self.space.fold(x);
        match self.config.variant {
            BilliardsVariant::TwoD => self.tangents_of::<2>(&xf, x, &sign),
            BilliardsVariant::FourD => self.tangents_of::<4>(&xf, x, &sign),
        }
    }
    fn is_admissible_target(&self, _x: &[f64], y: &Trajectory) -> bool {
        let first = y.row(0);
        y.outer_iter().any(|row| {
            (1..self.balls()).any(|b| {
                let d = [row[2 * b] - first[2 * b], row[2 * b + 1] - first[2 * b + 1]];
                (d[0] * d[0] + d[1] * d[1]).sqrt() >= self.config.min_object_travel
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ball(p: [f64; 2], v: [f64; 2]) -> Ball<f64> {
        Ball { p, v }
    }

    #[test]
    fn momentum_and_energy_are_conserved_in_a_disc_collision() {
        let bi = ball([0.3, 0.4], [1.1, -0.3]);
        let bj = ball([0.38, 0.46], [-0.2, 0.5]);
        let (vi, vj) = collide(&bi, &bj);
        for a in 0..2 {
            assert!((vi[a] + vj[a] - (bi.v[a] + bj.v[a])).abs() < 1e-15);
        }
        let e = |v: [f64; 2]| v[0] * v[0] + v[1] * v[1];
        assert!((e(vi) + e(vj) - e(bi.v) - e(bj.v)).abs() < 1e-14);
        // The tangential components are untouched.
        let dp = [bi.p[0] - bj.p[0], bi.p[1] - bj.p[1]];
        let t = [-dp[1], dp[0]];
        let dot = |v: [f64; 2]| v[0] * t[0] + v[1] * t[1];
        assert!((dot(vi) - dot(bi.v)).abs() < 1e-15 && (dot(vj) - dot(bj.v)).abs() < 1e-15);
    }

    #[test]
    fn contact_time_solves_the_distance_equation() {
        let bi = ball([0.1, 0.5], [1.0, 0.05]);
        let bj = ball([0.6, 0.52], [0.0, 0.0]);
        let s = disc_contact(&bi, &bj, 0.05).expect("they meet");
        let d = dist(
            &[bi.p[0] + bi.v[0] * s, bi.p[1] + bi.v[1] * s],
            &[bj.p[0], bj.p[1]],
        );
        assert!((d - 0.1).abs() < 1e-14, "{d}");
        // Moving apart: no contact.
        assert!(disc_contact(&ball([0.1, 0.5], [-1.0, 0.0]), &bj, 0.05).is_none());
    }
}
