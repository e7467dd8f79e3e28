//! The paper report's paired claims as data: which question each answers, the two methods, and
//! the exact paired test on the same targets; their tallies over the experiments; and the
//! network-against-lookup family under Holm. The cli's `report` only writes them down.

use crate::comparison::{FamilyComparison, Pairing, compare_pairings};
use crate::error::Result;
use crate::stats::{PairedComparison, VerdictTally};
use crate::{Family, MethodSummary, Results};
use std::collections::BTreeMap;

/// The question a claim answers. "Multistart" is the chosen `proxy-multistart` configuration's
/// first seed, the report's headline checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClaimKind {
    /// Multistart against single-start `bfgs`.
    MultistartVsBfgs,
    /// Multistart against `pool-bfgs` (the same pool, no network).
    MultistartVsPool,
    /// Multistart against the strongest baseline at its own spend.
    MultistartVsBaseline1x,
    /// Multistart against the strongest baseline at 10× its spend.
    MultistartVsBaseline10x,
    /// The paper's two-stage `proxy-bfgs` against single-start `bfgs`.
    TwoStageVsBfgs,
    /// `inverse-net[supervised]` against `pool-bfgs`.
    SupervisedInverseVsPool,
    /// `inverse-net[physics]` against `pool-bfgs`.
    PhysicsInverseVsPool,
}

/// One paired claim: method `a` against method `b` on the same targets.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    /// The question it answers.
    pub kind: ClaimKind,
    /// The method the claim is about.
    pub a: &'a MethodSummary,
    /// What it is measured against.
    pub b: &'a MethodSummary,
    /// The exact paired test, uncorrected (each claim is its own question).
    pub comparison: PairedComparison,
}

/// The chosen configuration's first seed of a surrogate family.
fn headline_run(r: &Results, family: Family) -> Option<&MethodSummary> {
    r.headline(family).map(|h| h.runs[0])
}

/// The claims one experiment's results support, in the report's order: multistart against
/// `bfgs`, the pool and the strongest baselines at 1× and 10×; the two-stage method against
/// `bfgs`; each inverse network against the pool. A claim whose methods did not run (or ran
/// on other targets) is left out.
///
/// ```no_run
/// # let r: proxyland_optim::Results = unimplemented!();
/// for c in proxyland_optim::experiment_claims(&r) {
///     println!("{} {}", c.a.label, c.comparison.phrase(&c.b.label));
/// }
/// ```
pub fn experiment_claims(r: &Results) -> Vec<Claim<'_>> {
    let multistart = headline_run(r, Family::ProxyMultistart);
    let bfgs = r.plain_run(Family::Bfgs);
    let pool = r.plain_run(Family::PoolBfgs);
    let reference = Family::ProxyMultistart;
    let questions = [
        (ClaimKind::MultistartVsBfgs, multistart, bfgs),
        (ClaimKind::MultistartVsPool, multistart, pool),
        (
            ClaimKind::MultistartVsBaseline1x,
            multistart,
            multistart.and(r.strongest_at(1, reference, false)),
        ),
        (
            ClaimKind::MultistartVsBaseline10x,
            multistart,
            multistart.and(r.strongest_at(10, reference, false)),
        ),
        (
            ClaimKind::TwoStageVsBfgs,
            headline_run(r, Family::ProxyBfgs),
            bfgs,
        ),
        (
            ClaimKind::SupervisedInverseVsPool,
            r.method("inverse-net[supervised]"),
            pool,
        ),
        (
            ClaimKind::PhysicsInverseVsPool,
            r.method("inverse-net[physics]"),
            pool,
        ),
    ];
    questions
        .into_iter()
        .filter_map(|(kind, a, b)| {
            let (a, b) = (a?, b?);
            let comparison = r.compare(&a.label, &b.label)?;
            Some(Claim {
                kind,
                a,
                b,
                comparison,
            })
        })
        .collect()
}

/// Claims' verdicts counted per question, over the experiments.
#[derive(Debug, Clone, Default)]
pub struct ClaimTallies(BTreeMap<ClaimKind, VerdictTally>);

impl ClaimTallies {
    /// Counts each claim's verdict under its question.
    pub fn add(&mut self, claims: &[Claim]) {
        for c in claims {
            self.0.entry(c.kind).or_default().add(c.comparison.verdict);
        }
    }

    /// The tally of one question (empty when no experiment asked it).
    pub fn of(&self, kind: ClaimKind) -> VerdictTally {
        self.0.get(&kind).copied().unwrap_or_default()
    }
}

/// "Does a network beat the lookup?" over every experiment at once: every network method
/// (the chosen `proxy-multistart`, each `inverse-net`) against `pool-bfgs`, Holm-corrected as
/// one family (the per-experiment claims are uncorrected).
pub fn network_family(results: &[Results]) -> Result<Vec<FamilyComparison>> {
    let mut pairings: Vec<Pairing> = Vec::new();
    for r in results {
        let Some(pool) = r.plain_run(Family::PoolBfgs) else {
            continue;
        };
        let networks = headline_run(r, Family::ProxyMultistart).into_iter().chain(
            ["supervised", "physics"]
                .iter()
                .filter_map(|v| r.method(&format!("inverse-net[{v}]"))),
        );
        for net in networks {
            pairings.push(((r, net.label.as_str()), (r, pool.label.as_str())));
        }
    }
    compare_pairings(&pairings)
}
