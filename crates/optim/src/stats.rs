//! The statistics behind every claim of a report: Wilson intervals for success rates and exact
//! paired tests (McNemar's test as a two-sided sign test on the discordant targets).
//!
//! With 20–50 targets a success rate has a standard error of 0.07–0.11, so "A beats B" needs a
//! test, not a glance at two rates. Methods are run on the same targets, so the test is paired:
//! only the targets where exactly one of the two succeeds carry information.

use serde::{Deserialize, Serialize};

/// z for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The significance level of every verdict.
pub const ALPHA: f64 = 0.05;

/// The Wilson score interval of a binomial proportion `successes / n` at normal quantile `z`
/// (Wilson 1927). Unlike the normal approximation it stays inside [0, 1] and is honest at 0/n
/// and n/n.
///
/// ```
/// use proxyland_optim::stats::{wilson_interval, Z95};
/// let (lo, hi) = wilson_interval(0, 10, Z95);
/// assert!(lo == 0.0 && (hi - 0.2775).abs() < 1e-4);
/// ```
pub fn wilson_interval(successes: usize, n: usize, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let z2 = z * z;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = z * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denom;
    // At 0/n and n/n the bound is exactly 0 or 1; rounding would leave it a hair inside.
    let lo = if successes == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let hi = if successes == n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    (lo, hi)
}

/// ln C(n, k), exactly enough for the n ≤ a few thousand of a report.
fn ln_choose(n: usize, k: usize) -> f64 {
    let k = k.min(n - k);
    (0..k)
        .map(|i| ((n - i) as f64).ln() - ((i + 1) as f64).ln())
        .sum()
}

/// The exact two-sided p-value of the sign test: under H0 each of the `b + c` discordant pairs
/// favours either side with probability ½; p = P(|X − (b+c)/2| ≥ |b − (b+c)/2|), capped at 1.
///
/// ```
/// use proxyland_optim::stats::sign_test_p;
/// assert!((sign_test_p(10, 0) - 2.0 / 1024.0).abs() < 1e-15);
/// assert_eq!(sign_test_p(3, 3), 1.0);
/// ```
pub fn sign_test_p(b: usize, c: usize) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    let k = b.min(c);
    let tail: f64 = (0..=k)
        .map(|i| (ln_choose(n, i) - n as f64 * std::f64::consts::LN_2).exp())
        .sum();
    (2.0 * tail).min(1.0)
}

/// How method A compares with method B on the same targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// A succeeds significantly more often (p < 0.05).
    Beats,
    /// A succeeds significantly less often.
    LosesTo,
    /// Both succeed on exactly the same targets.
    Ties,
    /// They differ on some targets, not significantly.
    NoSignificantDifference,
}

/// A paired comparison of two methods over the same targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedComparison {
    /// Targets compared (both methods ran on each).
    pub n: usize,
    /// Targets where only A succeeded.
    pub only_a: usize,
    /// Targets where only B succeeded.
    pub only_b: usize,
    /// The exact two-sided McNemar (sign-test) p-value.
    pub p_value: f64,
    /// The verdict at [`ALPHA`].
    pub verdict: Verdict,
}

impl PairedComparison {
    /// Compares success vectors of two methods on the same targets (index i = target i).
    ///
    /// ```
    /// use proxyland_optim::stats::{PairedComparison, Verdict};
    /// let a = [true; 12];
    /// let mut b = [false; 12];
    /// b[0] = true;
    /// let c = PairedComparison::new(&a, &b);
    /// assert_eq!((c.only_a, c.only_b, c.verdict), (11, 0, Verdict::Beats));
    /// ```
    pub fn new(a: &[bool], b: &[bool]) -> PairedComparison {
        assert_eq!(a.len(), b.len(), "paired comparison needs the same targets");
        let only_a = a.iter().zip(b).filter(|(x, y)| **x && !**y).count();
        let only_b = a.iter().zip(b).filter(|(x, y)| !**x && **y).count();
        let p_value = sign_test_p(only_a, only_b);
        let verdict = if only_a == 0 && only_b == 0 {
            Verdict::Ties
        } else if p_value < ALPHA {
            if only_a > only_b {
                Verdict::Beats
            } else {
                Verdict::LosesTo
            }
        } else {
            Verdict::NoSignificantDifference
        };
        PairedComparison {
            n: a.len(),
            only_a,
            only_b,
            p_value,
            verdict,
        }
    }

    /// The verdict as a sentence fragment: "beats B (11 vs 0 targets, p = 0.001)".
    pub fn phrase(&self, b: &str) -> String {
        match self.verdict {
            Verdict::Beats => format!(
                "beats {b} (succeeds alone on {} targets vs {}, p = {})",
                self.only_a,
                self.only_b,
                format_p(self.p_value)
            ),
            Verdict::LosesTo => format!(
                "loses to {b} (succeeds alone on {} targets vs {}, p = {})",
                self.only_a,
                self.only_b,
                format_p(self.p_value)
            ),
            Verdict::Ties => format!(
                "ties with {b} (the same {} targets succeed or fail)",
                self.n
            ),
            Verdict::NoSignificantDifference => format!(
                "shows no significant difference from {b} at n = {} ({} vs {} targets where only one succeeds, p = {})",
                self.n,
                self.only_a,
                self.only_b,
                format_p(self.p_value)
            ),
        }
    }
}

/// A p-value with two significant digits: 0.039, 0.0002, 1.
pub fn format_p(p: f64) -> String {
    if p >= 0.995 {
        return "1".into();
    }
    if p < 1e-4 {
        return format!("{p:.1e}");
    }
    // Near the 0.05 threshold two digits could print "0.050" beside a significant verdict.
    let significant = if (0.04..0.06).contains(&p) { 3 } else { 2 };
    let digits = (-p.log10()).floor() as usize + significant;
    format!("{p:.digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_intervals_match_published_values() {
        // Newcombe (1998), Table I and Agresti & Coull (1998): 95% Wilson intervals.
        let cases = [
            (81, 263, 0.2553, 0.3662),
            (15, 148, 0.0624, 0.1605),
            (0, 20, 0.0, 0.1611),
            (1, 29, 0.0061, 0.1718),
            (5, 10, 0.2366, 0.7634),
            (10, 10, 0.7225, 1.0),
        ];
        for (k, n, lo, hi) in cases {
            let (l, h) = wilson_interval(k, n, Z95);
            assert!(
                (l - lo).abs() < 1e-4 && (h - hi).abs() < 1e-4,
                "{k}/{n}: ({l:.4}, {h:.4}), expected ({lo}, {hi})"
            );
        }
    }

    #[test]
    fn wilson_intervals_contain_the_rate_and_narrow_with_n() {
        let (l1, h1) = wilson_interval(10, 20, Z95);
        let (l2, h2) = wilson_interval(100, 200, Z95);
        assert!(l1 < 0.5 && 0.5 < h1 && l2 < 0.5 && 0.5 < h2);
        assert!(h2 - l2 < h1 - l1);
        for n in 1..60 {
            assert_eq!(wilson_interval(0, n, Z95).0, 0.0);
            assert_eq!(wilson_interval(n, n, Z95).1, 1.0);
        }
    }

    #[test]
    fn sign_test_matches_binomial_tables() {
        // b = 5, c = 1: p = 2 (C(6,0) + C(6,1)) / 2^6 = 14/64.
        assert!((sign_test_p(5, 1) - 14.0 / 64.0).abs() < 1e-15);
        assert!((sign_test_p(1, 5) - 14.0 / 64.0).abs() < 1e-15);
        // b = 8, c = 1: p = 2 (1 + 9) / 512 = 0.0390625 (significant), b = 7, c = 1:
        // 2 (1 + 8) / 256 = 0.0703125 (not).
        assert!((sign_test_p(8, 1) - 0.039_062_5).abs() < 1e-15);
        assert!((sign_test_p(7, 1) - 0.070_312_5).abs() < 1e-15);
        // Large n stays finite and symmetric: b = c gives 1.
        assert_eq!(sign_test_p(500, 500), 1.0);
        assert!(sign_test_p(300, 200) < 1e-5);
    }

    #[test]
    fn p_values_print_with_two_significant_digits() {
        assert_eq!(format_p(0.039_062_5), "0.039");
        assert_eq!(format_p(0.21875), "0.22");
        assert_eq!(format_p(0.000_2), "0.00020");
        assert_eq!(format_p(1.0), "1");
        assert_eq!(format_p(3e-7), "3.0e-7");
        assert_eq!(format_p(0.04996), "0.0500");
        assert_eq!(format_p(0.0504), "0.0504");
    }

    #[test]
    fn paired_verdicts_follow_the_discordant_targets_only() {
        // Both succeed on 30 targets: concordant pairs do not make a difference significant.
        let mut a = vec![true; 30];
        let mut b = vec![true; 30];
        a.extend([true; 7]);
        b.extend([false; 7]);
        a.push(false);
        b.push(true);
        let c = PairedComparison::new(&a, &b);
        assert_eq!((c.only_a, c.only_b), (7, 1));
        assert_eq!(c.verdict, Verdict::NoSignificantDifference);
        assert!(c.phrase("B").contains("no significant difference"));
        a.push(true);
        b.push(false);
        let c = PairedComparison::new(&a, &b);
        assert_eq!(c.verdict, Verdict::Beats, "8 vs 1: p = 0.039");
        let c = PairedComparison::new(&b, &a);
        assert_eq!(c.verdict, Verdict::LosesTo);
        let same = PairedComparison::new(&a, &a);
        assert_eq!(same.verdict, Verdict::Ties);
    }
}
