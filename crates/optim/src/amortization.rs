//! When a method with a one-off cost (a pool, a trained network) pays for itself against one
//! without, in simulator calls.

/// Simulator calls to solve `solved` targets with a method that has a one-off cost of
/// `one_off` simulations and spends `calls` per target with success rate `success`:
/// one_off + solved · calls / success (∞ when it never succeeds).
///
/// ```
/// assert_eq!(proxyland_optim::cumulative_calls(1000, 50.0, 0.5, 10.0), 2000.0);
/// ```
pub fn cumulative_calls(one_off: usize, calls: f64, success: f64, solved: f64) -> f64 {
    if success <= 0.0 {
        return f64::INFINITY;
    }
    one_off as f64 + solved * calls / success
}

/// After how many solved targets method A (one-off cost `a.0`, calls per solved target `a.1`)
/// becomes cheaper in simulator calls than method B; `None` if it never does, `Some(0.0)` if it
/// is never dearer.
///
/// ```
/// use proxyland_optim::crossover;
/// assert_eq!(crossover((1000, 50.0), (0, 250.0)), Some(5.0));
/// assert_eq!(crossover((1000, 50.0), (0, 40.0)), None);
/// ```
pub fn crossover(a: (usize, f64), b: (usize, f64)) -> Option<f64> {
    let (ka, ra) = (a.0 as f64, a.1);
    let (kb, rb) = (b.0 as f64, b.1);
    if ka <= kb && ra <= rb {
        return Some(0.0);
    }
    if ra >= rb || !ra.is_finite() {
        return None;
    }
    if !rb.is_finite() {
        return Some(0.0);
    }
    Some(((ka - kb) / (rb - ra)).max(0.0))
}

/// One method's cost in simulator calls: `one_off + n × per_solved` after n solved targets.
#[derive(Debug, Clone, PartialEq)]
pub struct CostLine {
    /// What the report calls the method.
    pub label: String,
    /// Simulations paid before the first target (the pool).
    pub one_off: usize,
    /// Simulator calls per solved target: calls per target ÷ success rate (∞ when it never
    /// succeeds).
    pub per_solved: f64,
}

impl CostLine {
    /// The line of a method with `one_off` simulations up front that spends `calls` per target
    /// and solves a share `success` of them.
    ///
    /// ```
    /// use proxyland_optim::CostLine;
    /// assert_eq!(CostLine::new("pool-bfgs", 4096, 20.0, 0.5).per_solved, 40.0);
    /// assert!(CostLine::new("bfgs", 0, 20.0, 0.0).per_solved.is_infinite());
    /// ```
    pub fn new(label: impl Into<String>, one_off: usize, calls: f64, success: f64) -> Self {
        CostLine {
            label: label.into(),
            one_off,
            per_solved: if success > 0.0 {
                calls / success
            } else {
                f64::INFINITY
            },
        }
    }
}

/// Of two methods' cost lines, the one that is (or becomes) cheaper, the other, and after how
/// many solved targets ([`crossover`]); `None` when neither ever gets cheaper than the other
/// (they cost the same).
///
/// ```
/// use proxyland_optim::{CostLine, cheaper_of};
/// let pool = CostLine::new("pool-bfgs", 1000, 50.0, 1.0);
/// let bfgs = CostLine::new("bfgs", 0, 250.0, 1.0);
/// let (cheaper, dearer, after) = cheaper_of(&bfgs, &pool).unwrap();
/// assert_eq!((cheaper.label.as_str(), dearer.label.as_str(), after), ("pool-bfgs", "bfgs", 5.0));
/// ```
pub fn cheaper_of<'a>(
    a: &'a CostLine,
    b: &'a CostLine,
) -> Option<(&'a CostLine, &'a CostLine, f64)> {
    let line = |l: &CostLine| (l.one_off, l.per_solved);
    match crossover(line(a), line(b)) {
        Some(n) => Some((a, b, n)),
        None => crossover(line(b), line(a)).map(|n| (b, a, n)),
    }
}

/// The amortization's lines for one experiment's results: the chosen proxy configuration's
/// multi-start and `pool-bfgs` (both paying for the pool), and the strongest baseline (no
/// one-off cost). Empty without a pool.
pub fn amortization_lines(r: &crate::Results) -> Vec<CostLine> {
    use crate::Family;
    let Some(pool) = r.pool_simulations else {
        return vec![];
    };
    let mut lines = Vec::new();
    if let Some(h) = r.headline(Family::ProxyMultistart) {
        lines.push(CostLine::new(
            "proxy-multistart (chosen)",
            pool,
            h.mean_calls,
            h.mean_success,
        ));
    }
    if let Some(p) = r.plain_run(Family::PoolBfgs) {
        lines.push(CostLine::new(
            "pool-bfgs",
            pool,
            p.mean_sim_calls,
            p.success_rate,
        ));
    }
    if let Some(b) = r.strongest_baseline() {
        lines.push(CostLine::new(
            b.label.clone(),
            0,
            b.mean_sim_calls,
            b.success_rate,
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cheaper_side_is_named_whichever_way_round_the_lines_come() {
        let pool = CostLine::new("pool", 1000, 50.0, 1.0);
        let plain = CostLine::new("plain", 0, 250.0, 1.0);
        for (a, b) in [(&pool, &plain), (&plain, &pool)] {
            let (cheaper, dearer, after) = cheaper_of(a, b).unwrap();
            assert_eq!(
                (cheaper.label.as_str(), dearer.label.as_str()),
                ("pool", "plain")
            );
            // 1000 + 50 n = 250 n at n = 5: checked against the cumulative calls themselves.
            assert_eq!(after, 5.0);
            assert_eq!(
                cumulative_calls(1000, 50.0, 1.0, after),
                cumulative_calls(0, 250.0, 1.0, after)
            );
        }
        // A method that never solves is never the cheaper one.
        let never = CostLine::new("never", 0, 10.0, 0.0);
        let (cheaper, _, _) = cheaper_of(&never, &pool).unwrap();
        assert_eq!(cheaper.label, "pool");
    }
}
