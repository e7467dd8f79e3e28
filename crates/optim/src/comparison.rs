//! Families of paired comparisons, Holm-corrected (spec v3): "is A better than B?" asked once per
//! experiment is a family of tests, and at 0.05 each, one of k true nulls is rejected by chance
//! with probability up to 1 − 0.95^k. The verdicts here control the family-wise error instead.

use crate::results::{MethodSummary, Results};
use crate::stats::{ALPHA, PairedComparison, Verdict, holm};
use serde::{Deserialize, Serialize};

/// One experiment's comparison of method `a` against method `b` on the same targets, with its
/// family-corrected verdict.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FamilyComparison {
    /// The experiment (a family member).
    pub experiment: String,
    /// A's summary.
    pub a: MethodSummary,
    /// B's summary.
    pub b: MethodSummary,
    /// The exact paired test, uncorrected.
    pub paired: PairedComparison,
    /// Its Holm-adjusted p-value over the family.
    pub holm_p: f64,
    /// The verdict at [`ALPHA`] after correction.
    pub verdict: Verdict,
}

/// One paired question of a family: is the method labelled `a.1` in results `a.0` better
/// than the method labelled `b.1` in results `b.0`, on the same targets?
pub type Pairing<'a> = ((&'a Results, &'a str), (&'a Results, &'a str));

/// Compares, for each experiment, the method labelled `a` in its first results with the method
/// labelled `b` in its second (the same targets: same split, seed and count), and corrects the
/// family of p-values by Holm. Experiments where either method is missing are skipped.
///
/// ```
/// use proxyland_optim::compare_family;
/// // No experiments, no comparisons.
/// assert!(compare_family(&[], "pool-bfgs", "pool-bfgs").unwrap().is_empty());
/// ```
pub fn compare_family(
    experiments: &[(&Results, &Results)],
    a: &str,
    b: &str,
) -> crate::Result<Vec<FamilyComparison>> {
    let pairings: Vec<Pairing> = experiments
        .iter()
        .map(|(ra, rb)| ((*ra, a), (*rb, b)))
        .collect();
    compare_pairings(&pairings)
}

/// [`compare_family`] for a family whose questions compare different methods: each pairing
/// names its own two labels, and Holm corrects over all of them together. Pairings where
/// either method is missing are skipped.
///
/// ```
/// use proxyland_optim::compare_pairings;
/// assert!(compare_pairings(&[]).unwrap().is_empty());
/// ```
pub fn compare_pairings(pairings: &[Pairing]) -> crate::Result<Vec<FamilyComparison>> {
    let mut found = Vec::new();
    for ((ra, a), (rb, b)) in pairings {
        if ra.targets != rb.targets || ra.seed != rb.seed || ra.split != rb.split {
            return Err(crate::Error::invalid(
                "results",
                format!(
                    "{}: the two results ran on different targets ({} vs {}, seed {} vs {}); a \
                     paired test needs the same",
                    ra.experiment, ra.targets, rb.targets, ra.seed, rb.seed
                ),
            ));
        }
        let (Some(sa), Some(sb), Some(xa), Some(xb)) =
            (ra.method(a), rb.method(b), ra.successes(a), rb.successes(b))
        else {
            continue;
        };
        found.push((
            ra.experiment.clone(),
            sa.clone(),
            sb.clone(),
            PairedComparison::new(&xa, &xb),
        ));
    }
    let adjusted = holm(&found.iter().map(|f| f.3.p_value).collect::<Vec<_>>());
    Ok(found
        .into_iter()
        .zip(adjusted)
        .map(|((experiment, a, b, paired), holm_p)| {
            let verdict = match paired.verdict {
                Verdict::Ties => Verdict::Ties,
                _ if holm_p >= ALPHA => Verdict::NoSignificantDifference,
                _ if paired.only_a > paired.only_b => Verdict::Beats,
                _ => Verdict::LosesTo,
            };
            FamilyComparison {
                experiment,
                a,
                b,
                paired,
                holm_p,
                verdict,
            }
        })
        .collect())
}
