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

/// The median (the mean of the middle two for an even count); `None` for no values.
///
/// ```
/// use proxyland_optim::stats::median;
/// assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
/// assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
/// assert_eq!(median(vec![]), None);
/// ```
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}

/// The upper median: the larger of the two middle values when their count is even. An order
/// statistic, so the score is one target's actual value; the training loops select checkpoints
/// on it (their epochs' scores must not move by averaging two targets). `None` for no values.
///
/// ```
/// use proxyland_optim::stats::upper_median;
/// assert_eq!(upper_median(vec![3.0, 1.0, 2.0]), Some(2.0));
/// assert_eq!(upper_median(vec![4.0, 1.0, 2.0, 3.0]), Some(3.0));
/// assert_eq!(upper_median(vec![]), None);
/// ```
pub fn upper_median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// Spearman's rank correlation (average ranks for ties).
///
/// ```
/// use proxyland_optim::stats::spearman;
/// // Any increasing map keeps the ranks: correlation 1; reversing them gives −1.
/// assert!((spearman(&[1.0, 2.0, 3.0, 4.0], &[1.0, 8.0, 27.0, 64.0]) - 1.0).abs() < 1e-12);
/// assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
/// ```
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    fn ranks(v: &[f64]) -> Vec<f64> {
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
        let mut r = vec![0.0; v.len()];
        let mut k = 0;
        while k < order.len() {
            let mut end = k;
            while end + 1 < order.len() && v[order[end + 1]] == v[order[k]] {
                end += 1;
            }
            let avg = (k + end) as f64 / 2.0;
            for &i in &order[k..=end] {
                r[i] = avg;
            }
            k = end + 1;
        }
        r
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
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

impl Verdict {
    /// The verdict in a report's words, A against B.
    ///
    /// ```
    /// use proxyland_optim::stats::Verdict;
    /// assert_eq!(Verdict::Beats.word(), "better");
    /// assert_eq!(Verdict::Ties.word(), "the same targets");
    /// ```
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Beats => "better",
            Verdict::LosesTo => "worse",
            Verdict::Ties => "the same targets",
            Verdict::NoSignificantDifference => "no significant difference",
        }
    }
}

/// Verdicts counted over a family of comparisons (one per experiment, say).
///
/// ```
/// use proxyland_optim::stats::{Verdict, VerdictTally};
/// let mut t = VerdictTally::default();
/// for v in [Verdict::Beats, Verdict::Ties, Verdict::NoSignificantDifference] {
///     t.add(v);
/// }
/// assert_eq!((t.better, t.worse, t.same, t.total()), (1, 0, 2, 3));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerdictTally {
    /// Comparisons A won significantly.
    pub better: usize,
    /// Comparisons A lost significantly.
    pub worse: usize,
    /// Ties and differences without significance.
    pub same: usize,
}

impl VerdictTally {
    /// Counts one verdict.
    pub fn add(&mut self, v: Verdict) {
        match v {
            Verdict::Beats => self.better += 1,
            Verdict::LosesTo => self.worse += 1,
            Verdict::Ties | Verdict::NoSignificantDifference => self.same += 1,
        }
    }

    /// Comparisons counted.
    pub fn total(&self) -> usize {
        self.better + self.worse + self.same
    }
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

/// Holm's step-down adjustment of a family of p-values (Holm 1979): sort ascending, multiply
/// the i-th smallest (0-based) by m − i, take the running maximum, cap at 1. A hypothesis is
/// rejected at level α when its adjusted p-value is below α; the family-wise error rate is then
/// at most α, with no assumption on how the tests depend on each other. Returns the adjusted
/// p-values in the input's order.
///
/// ```
/// use proxyland_optim::stats::holm;
/// // m = 3: 0.01·3 = 0.03, 0.02·2 = 0.04, 0.04·1 = 0.04 (running maximum).
/// let adjusted = holm(&[0.04, 0.01, 0.02]);
/// assert!((adjusted[0] - 0.04).abs() < 1e-15);
/// assert!((adjusted[1] - 0.03).abs() < 1e-15);
/// assert!((adjusted[2] - 0.04).abs() < 1e-15);
/// ```
pub fn holm(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0_f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p_values[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error below 1e-14).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let series = C[1..]
        .iter()
        .enumerate()
        .fold(C[0], |acc, (i, c)| acc + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

/// The regularized upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a), for a > 0, x ≥ 0:
/// the series of P below a + 1, Lentz's continued fraction above (Numerical Recipes §6.2).
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if !x.is_finite() {
        return 0.0;
    }
    let prefactor = (a * x.ln() - x - ln_gamma(a)).exp();
    if x < a + 1.0 {
        let (mut term, mut sum, mut n) = (1.0 / a, 1.0 / a, a);
        for _ in 0..100_000 {
            n += 1.0;
            term *= x / n;
            sum += term;
            if term.abs() < sum.abs() * f64::EPSILON {
                break;
            }
        }
        (1.0 - sum * prefactor).clamp(0.0, 1.0)
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..100_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let step = d * c;
            h *= step;
            if (step - 1.0).abs() < f64::EPSILON {
                break;
            }
        }
        (prefactor * h).clamp(0.0, 1.0)
    }
}

/// P(χ²_k ≥ x): the upper tail of the χ² distribution with `k` degrees of freedom, the p-value of
/// a goodness-of-fit statistic.
///
/// ```
/// use proxyland_optim::stats::chi2_upper_tail;
/// // Tables: χ²_1 = 3.841 and χ²_10 = 18.307 are the 95% points.
/// assert!((chi2_upper_tail(3.841_458_820_694_124, 1) - 0.05).abs() < 1e-12);
/// assert!((chi2_upper_tail(18.307_038_053_275_146, 10) - 0.05).abs() < 1e-12);
/// ```
pub fn chi2_upper_tail(x: f64, k: usize) -> f64 {
    if k == 0 {
        return if x > 0.0 { 0.0 } else { 1.0 };
    }
    gamma_q(k as f64 / 2.0, x / 2.0)
}

/// P(Z ≥ z) for a standard normal Z (erfc by its continued fraction through [`gamma_q`]:
/// erfc(t) = Q(½, t²) for t ≥ 0).
///
/// ```
/// use proxyland_optim::stats::normal_upper_tail;
/// assert!((normal_upper_tail(1.959_963_984_540_054) - 0.025).abs() < 1e-12);
/// assert!((normal_upper_tail(0.0) - 0.5).abs() < 1e-15);
/// ```
pub fn normal_upper_tail(z: f64) -> f64 {
    let tail = 0.5 * gamma_q(0.5, z * z / 2.0);
    if z >= 0.0 { tail } else { 1.0 - tail }
}

/// The Kolmogorov–Smirnov statistic D = sup |F_n(p) − p| of a sample against the uniform
/// distribution on [0, 1]: how far p-values are from what a correct test gives. At the 5% level
/// D is too large above ≈ 1.358 / √n.
///
/// ```
/// use proxyland_optim::stats::ks_uniform_statistic;
/// // A perfectly even sample is as close to uniform as n points can be: D = 1/(2n).
/// let even: Vec<f64> = (0..10).map(|i| (i as f64 + 0.5) / 10.0).collect();
/// assert!((ks_uniform_statistic(&even) - 0.05).abs() < 1e-12);
/// ```
pub fn ks_uniform_statistic(sample: &[f64]) -> f64 {
    let mut sorted = sample.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    sorted
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let below = p - i as f64 / n;
            let above = (i + 1) as f64 / n - p;
            below.max(above)
        })
        .fold(0.0, f64::max)
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

    #[test]
    fn gamma_and_tails_match_tables_and_identities() {
        // Γ(n) = (n − 1)!, Γ(½) = √π.
        for (n, fact) in [(1.0, 1.0), (5.0, 24.0), (11.0, 3_628_800.0)] {
            assert!((ln_gamma(n) - f64::ln(fact)).abs() < 1e-12, "Γ({n})");
        }
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
        // χ²_2 is exponential: P(χ²_2 ≥ x) = e^{−x/2}, on both sides of the series/fraction switch.
        for x in [0.1, 1.0, 3.0, 7.0, 40.0] {
            assert!(
                (chi2_upper_tail(x, 2) - (-x / 2.0).exp()).abs() < 1e-13,
                "x = {x}"
            );
        }
        // Large k: χ²_k is nearly normal with mean k, variance 2k (Wilson–Hilferty is exact to
        // ~1e-3 here); the tail at the mean is close to ½ and the 1e-3 point lies 3.09 sd above.
        let k = 5000;
        let at_mean = chi2_upper_tail(k as f64, k);
        assert!((at_mean - 0.5).abs() < 0.01, "{at_mean}");
        let far = chi2_upper_tail(k as f64 + 3.09 * (2.0 * k as f64).sqrt(), k);
        assert!((far - 1e-3).abs() < 3e-4, "{far}");
        assert_eq!(chi2_upper_tail(f64::INFINITY, 3), 0.0);
        assert!((normal_upper_tail(-1.0) - 0.841_344_746_068_542_9).abs() < 1e-12);
    }

    #[test]
    fn ks_statistic_rejects_a_skewed_sample_and_accepts_a_uniform_grid() {
        let n = 200;
        let grid: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
        assert!(ks_uniform_statistic(&grid) <= 0.5 / n as f64 + 1e-12);
        let skewed: Vec<f64> = grid.iter().map(|p| p * p).collect();
        assert!(ks_uniform_statistic(&skewed) > 1.358 / (n as f64).sqrt());
    }

    #[test]
    fn holm_matches_a_worked_example_and_never_lowers_a_p_value() {
        // Worked by hand: sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04
        // → 0.06 (the running maximum keeps the order of rejections).
        let adjusted = holm(&[0.01, 0.04, 0.03, 0.005]);
        for (a, want) in adjusted.iter().zip([0.03, 0.06, 0.06, 0.02]) {
            assert!((a - want).abs() < 1e-12, "{adjusted:?}");
        }
        let raw = [0.2, 0.001, 0.9, 0.04, 0.04];
        let adjusted = holm(&raw);
        assert!(adjusted.iter().zip(&raw).all(|(a, r)| a >= r && *a <= 1.0));
        assert_eq!(holm(&[]), Vec::<f64>::new());
    }
}
