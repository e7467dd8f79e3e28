//! The parameter box and its boundary rules.

use crate::error::{Error, Result};

/// What happens to a coordinate outside `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    /// Wraps around: `lo` and `hi` are the same point (an angle, a position on a ring).
    Periodic,
    /// Mirrored back into the box, so the loss is even about each face and no optimizer can run
    /// off to values where a solver blows up.
    Reflect,
}

/// The box `[lo, hi]^d` of control parameters X, with names and units for reports and plots.
///
/// Optimizers work in normalized coordinates `u = (X − lo)/(hi − lo)`; [`ParamSpace::fold`] maps
/// any X (inside the box or not) to the point that is simulated.
///
/// ```
/// use proxyland_physics::{Boundary, ParamSpace};
/// let space = ParamSpace::new(
///     ["omega"], ["rad/s"], [2.0], [12.0], [Boundary::Reflect],
/// ).unwrap();
/// // 13 is one unit beyond the top face: reflected to 11, and the loss slope flips sign.
/// let (x, sign) = space.fold(&[13.0]);
/// assert_eq!((x[0], sign[0]), (11.0, -1.0));
/// assert_eq!(space.to_unit(&[7.0]), vec![0.5]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpace {
    /// Name of each parameter (`x_c`, `omega`, ...).
    pub names: Vec<String>,
    /// Unit of each parameter (`-` where it has none).
    pub units: Vec<String>,
    /// Lower bound of each coordinate.
    pub lo: Vec<f64>,
    /// Upper bound of each coordinate (> `lo`).
    pub hi: Vec<f64>,
    /// What happens to each coordinate outside `[lo, hi]`.
    pub boundary: Vec<Boundary>,
}

impl ParamSpace {
    /// Builds a box; rejects `lo >= hi`, non-finite bounds and mismatched lengths.
    pub fn new<const D: usize>(
        names: [&str; D],
        units: [&str; D],
        lo: [f64; D],
        hi: [f64; D],
        boundary: [Boundary; D],
    ) -> Result<Self> {
        Self::from_vecs(
            names.iter().map(|s| s.to_string()).collect(),
            units.iter().map(|s| s.to_string()).collect(),
            lo.to_vec(),
            hi.to_vec(),
            boundary.to_vec(),
        )
    }

    /// As [`ParamSpace::new`], for run-time sizes.
    pub fn from_vecs(
        names: Vec<String>,
        units: Vec<String>,
        lo: Vec<f64>,
        hi: Vec<f64>,
        boundary: Vec<Boundary>,
    ) -> Result<Self> {
        let d = names.len();
        if units.len() != d || lo.len() != d || hi.len() != d || boundary.len() != d {
            return Err(Error::invalid(
                "param_space",
                format!("{d} names"),
                "names, units, lo, hi and boundary must have the same length",
            ));
        }
        for j in 0..d {
            if !(lo[j].is_finite() && hi[j].is_finite() && lo[j] < hi[j]) {
                return Err(Error::invalid(
                    &format!("{}.lo/hi", names[j]),
                    format!("[{}, {}]", lo[j], hi[j]),
                    "bounds must be finite with lo < hi",
                ));
            }
        }
        Ok(ParamSpace {
            names,
            units,
            lo,
            hi,
            boundary,
        })
    }

    /// The number of parameters d.
    pub fn dim(&self) -> usize {
        self.lo.len()
    }

    /// The width `hi − lo` of coordinate j.
    pub fn width(&self, j: usize) -> f64 {
        self.hi[j] - self.lo[j]
    }

    /// Maps any X to the point inside the box that is simulated, and returns `dX_in/dX` per
    /// coordinate (+1, or −1 on a mirrored stretch), so gradients can be carried back through
    /// the fold by the chain rule.
    pub fn fold(&self, x: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (u, sign) = self.fold_unit(&self.to_unit(x));
        (self.from_unit(&u), sign)
    }

    /// Folds normalized coordinates into `[0,1]^d` the way [`ParamSpace::fold`] folds X
    /// (periodic coordinates wrap, the others mirror), and returns `du_in/du` per coordinate
    /// (+1, or −1 on a mirrored stretch). Optimizers fold every u before it reaches a simulator
    /// or a learned surrogate, so both see the same even extension of the box.
    ///
    /// ```
    /// use proxyland_physics::{Boundary, ParamSpace};
    /// let space = ParamSpace::new(
    ///     ["angle", "speed"], ["rad", "m/s"], [0.0, 2.0], [6.0, 12.0],
    ///     [Boundary::Periodic, Boundary::Reflect],
    /// ).unwrap();
    /// let (u, sign) = space.fold_unit(&[1.25, 1.25]);
    /// assert_eq!((u, sign), (vec![0.25, 0.75], vec![1.0, -1.0]));
    /// ```
    pub fn fold_unit(&self, u: &[f64]) -> (Vec<f64>, Vec<f64>) {
        u.iter()
            .zip(&self.boundary)
            .map(|(&y, b)| match b {
                Boundary::Periodic => (y - y.floor(), 1.0),
                Boundary::Reflect => {
                    let r = y.rem_euclid(2.0);
                    if r <= 1.0 { (r, 1.0) } else { (2.0 - r, -1.0) }
                }
            })
            .unzip()
    }

    /// Whether coordinate j is periodic.
    pub fn is_periodic(&self, j: usize) -> bool {
        self.boundary[j] == Boundary::Periodic
    }

    /// Normalized coordinates `u = (X − lo)/(hi − lo)` (no folding).
    pub fn to_unit(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .enumerate()
            .map(|(j, &xj)| (xj - self.lo[j]) / self.width(j))
            .collect()
    }

    /// Physical coordinates `X = lo + u (hi − lo)` (no folding).
    pub fn from_unit(&self, u: &[f64]) -> Vec<f64> {
        u.iter()
            .enumerate()
            .map(|(j, &uj)| self.lo[j] + uj * self.width(j))
            .collect()
    }

    /// The worst coordinate's [`normalized_distance`](Self::normalized_distance): the error
    /// every report quotes ("argmin error", "parameter error"). A non-finite coordinate is
    /// infinitely wrong (a plain `f64::max` fold would drop its NaN and score it perfect).
    ///
    /// ```
    /// use proxyland_physics::{Boundary, ParamSpace};
    /// let s = ParamSpace::new(["a", "b"], ["", ""], [0.0, 0.0], [10.0, 2.0],
    ///     [Boundary::Reflect, Boundary::Reflect]).unwrap();
    /// assert!((s.worst_distance(&[1.0, 1.0], &[2.0, 1.1]) - 0.1).abs() < 1e-12);
    /// assert_eq!(s.worst_distance(&[f64::NAN, 1.0], &[2.0, 1.0]), f64::INFINITY);
    /// ```
    pub fn worst_distance(&self, a: &[f64], b: &[f64]) -> f64 {
        self.normalized_distance(a, b)
            .into_iter()
            .fold(0.0, |worst, e| {
                if e.is_finite() {
                    worst.max(e)
                } else {
                    f64::INFINITY
                }
            })
    }

    /// Per-coordinate distance between two points after folding, as a fraction of the box width
    /// (the shorter way round for periodic coordinates). Success in the spec is every entry ≤ 0.01.
    pub fn normalized_distance(&self, a: &[f64], b: &[f64]) -> Vec<f64> {
        let (a, _) = self.fold(a);
        let (b, _) = self.fold(b);
        (0..self.dim())
            .map(|j| {
                let d = ((a[j] - b[j]) / self.width(j)).abs();
                match self.boundary[j] {
                    Boundary::Periodic => d.min(1.0 - d),
                    Boundary::Reflect => d,
                }
            })
            .collect()
    }

    /// Checks that X has the right count, is finite and lies inside the box (periodic
    /// coordinates included: a value a whole period away is legal but probably a typo, so it is
    /// refused too; folding is an explicit choice).
    ///
    /// ```
    /// use proxyland_physics::{Boundary, ParamSpace};
    /// let s = ParamSpace::new(["omega"], ["rad/s"], [2.0], [12.0], [Boundary::Reflect]).unwrap();
    /// assert!(s.check_inside("burgers", &[7.0]).is_ok());
    /// let e = s.check_inside("burgers", &[50.0]).unwrap_err().to_string();
    /// assert!(e.contains("omega = 50") && e.contains("[2, 12]"));
    /// ```
    pub fn check_inside(&self, experiment: &str, x: &[f64]) -> Result<()> {
        self.check(experiment, x)?;
        for (j, &v) in x.iter().enumerate() {
            if v < self.lo[j] || v > self.hi[j] {
                return Err(Error::OutsideBox {
                    experiment: experiment.to_string(),
                    name: self.names[j].clone(),
                    value: v,
                    lo: self.lo[j],
                    hi: self.hi[j],
                });
            }
        }
        Ok(())
    }

    /// Checks the count and finiteness of X; `experiment` names the caller in the error.
    pub fn check(&self, experiment: &str, x: &[f64]) -> Result<()> {
        if x.len() != self.dim() {
            return Err(Error::ParamCount {
                experiment: experiment.to_string(),
                expected: self.dim(),
                names: self.names.join(", "),
                got: x.len(),
            });
        }
        if let Some(j) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFiniteParam {
                experiment: experiment.to_string(),
                name: self.names[j].clone(),
                value: x[j],
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> ParamSpace {
        ParamSpace::new(
            ["angle", "speed"],
            ["rad", "m/s"],
            [0.0, 2.0],
            [std::f64::consts::TAU, 12.0],
            [Boundary::Periodic, Boundary::Reflect],
        )
        .unwrap()
    }

    #[test]
    fn periodic_coordinates_wrap_and_reflecting_ones_mirror() {
        let s = space();
        let tau = std::f64::consts::TAU;
        let (x, sign) = s.fold(&[tau + 1.0, 12.5]);
        assert!((x[0] - 1.0).abs() < 1e-12);
        assert!((x[1] - 11.5).abs() < 1e-12);
        assert_eq!(sign, vec![1.0, -1.0]);
        let (x, sign) = s.fold(&[-1.0, 1.0]);
        assert!((x[0] - (tau - 1.0)).abs() < 1e-12);
        assert!((x[1] - 3.0).abs() < 1e-12);
        assert_eq!(sign, vec![1.0, -1.0]);
        // Two widths away a reflecting coordinate is back on the forward stretch.
        let (x, sign) = s.fold(&[0.5, 2.0 + 20.0 + 0.25]);
        assert!((x[1] - 2.25).abs() < 1e-12);
        assert_eq!(sign[1], 1.0);
        // Inside the box nothing changes.
        assert_eq!(s.fold(&[0.5, 7.0]).0, vec![0.5, 7.0]);
    }

    #[test]
    fn periodic_distance_goes_the_short_way_round() {
        let s = space();
        let tau = std::f64::consts::TAU;
        let d = s.normalized_distance(&[0.001 * tau, 2.0], &[0.999 * tau, 2.0]);
        assert!((d[0] - 0.002).abs() < 1e-12, "{d:?}");
        let d = s.normalized_distance(&[1.0, 2.0], &[1.0, 12.0]);
        assert!(
            (d[1] - 1.0).abs() < 1e-12,
            "reflecting faces are far apart: {d:?}"
        );
    }

    #[test]
    fn unit_coordinates_round_trip() {
        let s = space();
        let x = [1.234, 9.87];
        let back = s.from_unit(&s.to_unit(&x));
        assert!((back[0] - x[0]).abs() < 1e-14 && (back[1] - x[1]).abs() < 1e-14);
    }

    #[test]
    fn bad_boxes_and_bad_parameters_are_rejected_by_name() {
        let e = ParamSpace::new(["a"], ["-"], [1.0], [1.0], [Boundary::Reflect]).unwrap_err();
        assert!(e.to_string().contains("a.lo/hi"), "{e}");
        let s = space();
        let e = s.check("burgers", &[1.0]).unwrap_err().to_string();
        assert!(
            e.contains("expected 2") && e.contains("angle, speed"),
            "{e}"
        );
        let e = s
            .check("burgers", &[1.0, f64::NAN])
            .unwrap_err()
            .to_string();
        assert!(e.contains("speed") && e.contains("NaN"), "{e}");
    }
}
