//! Wall-clock medians of warm calls, with the same rule as the reference scripts' `common.py`.

use std::time::Instant;

/// A measured median.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Timing {
    pub median_s: f64,
    pub reps: usize,
}

/// Median of `f()` after one warm-up call: at least `min_reps` calls and at least `min_seconds`
/// of calls, at most 200.
pub fn median<R>(min_reps: usize, min_seconds: f64, mut f: impl FnMut() -> R) -> Timing {
    std::hint::black_box(f());
    let started = Instant::now();
    let mut times = Vec::new();
    while times.len() < 200
        && (times.len() < min_reps || started.elapsed().as_secs_f64() < min_seconds)
    {
        let t0 = Instant::now();
        std::hint::black_box(f());
        times.push(t0.elapsed().as_secs_f64());
    }
    Timing {
        median_s: median_of(&times),
        reps: times.len(),
    }
}

/// The median of measured seconds (NaN for none): optim's one median.
pub fn median_of(times: &[f64]) -> f64 {
    proxyland_optim::stats::median(times.to_vec()).unwrap_or(f64::NAN)
}

/// Human units for a duration in seconds.
pub fn pretty(seconds: f64) -> String {
    if seconds >= 1.0 {
        format!("{seconds:.2} s")
    } else if seconds >= 1e-3 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{:.1} µs", seconds * 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_counts_every_timed_call_and_skips_the_warm_up() {
        let mut calls = 0;
        let t = median(5, 0.0, || calls += 1);
        assert_eq!(t.reps, 5);
        assert_eq!(calls, 6);
        assert!(t.median_s >= 0.0);
    }

    #[test]
    fn pretty_picks_the_unit() {
        assert_eq!(pretty(2.5), "2.50 s");
        assert_eq!(pretty(0.0125), "12.50 ms");
        assert_eq!(pretty(4.2e-6), "4.2 µs");
    }
}
