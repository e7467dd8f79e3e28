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
