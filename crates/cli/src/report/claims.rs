//! The paired claims of each experiment ("A beats B"), and their tallies over the experiments,
//! as optim's `claims` finds them.

use anyhow::Result;
use proxyland_optim::stats::{Verdict, VerdictTally, format_p};
use proxyland_optim::{ClaimKind, ClaimTallies, Results, experiment_claims, network_family};
use std::fmt::Write as _;

/// A tally in the report's words.
fn tally_words(t: &VerdictTally) -> String {
    format!(
        "significantly better on {}, significantly worse on {}, no significant difference on {} (of {})",
        t.better,
        t.worse,
        t.same,
        t.total()
    )
}

/// The paired claims tallied over the experiments, and each experiment's claims in words.
#[derive(Default)]
pub(super) struct Claims {
    tallies: ClaimTallies,
    /// Per experiment, its claims as a markdown list.
    verdicts: String,
}

impl Claims {
    /// Tallies the paired claims of one experiment and lists them under its name.
    pub(super) fn add_experiment(&mut self, e: &str, r: &Results) -> Result<()> {
        let claims = experiment_claims(r);
        self.tallies.add(&claims);
        if !claims.is_empty() {
            writeln!(self.verdicts, "- **{e}** (n = {} test targets):", r.targets)?;
            for c in &claims {
                writeln!(
                    self.verdicts,
                    "  - {} ({:.2}) {} ({:.2}).",
                    c.a.label,
                    c.a.success_rate,
                    c.comparison.phrase(&c.b.label),
                    c.b.success_rate
                )?;
            }
        }
        Ok(())
    }

    /// "What the numbers say": the tallies over the experiments, the network-against-lookup
    /// family under Holm (over `results`, every experiment's), then each experiment's claims.
    pub(super) fn write_summary(&self, md: &mut String, results: &[Results]) -> Result<()> {
        writeln!(md, "## What the numbers say\n")?;
        let tally = |kind| self.tallies.of(kind);
        if tally(ClaimKind::MultistartVsBfgs).total() > 0 {
            writeln!(
                md,
                "Paired tests of the chosen `proxy-multistart` checkpoint on the same test targets, over the experiments:\n"
            )?;
            writeln!(
                md,
                "- against single-start `bfgs`: {};",
                tally_words(&tally(ClaimKind::MultistartVsBfgs))
            )?;
            if tally(ClaimKind::MultistartVsPool).total() > 0 {
                writeln!(
                    md,
                    "- against `pool-bfgs` (the same pool, no network): {};",
                    tally_words(&tally(ClaimKind::MultistartVsPool))
                )?;
            }
            writeln!(
                md,
                "- against the strongest baseline at its own spend (1×): {};",
                tally_words(&tally(ClaimKind::MultistartVsBaseline1x))
            )?;
            writeln!(
                md,
                "- against the strongest baseline at 10× its spend: {}.",
                tally_words(&tally(ClaimKind::MultistartVsBaseline10x))
            )?;
            if tally(ClaimKind::TwoStageVsBfgs).total() > 0 {
                writeln!(
                    md,
                    "\nThe paper's two-stage `proxy-bfgs` against single-start `bfgs`: {}.",
                    tally_words(&tally(ClaimKind::TwoStageVsBfgs))
                )?;
            }
            let inverse = [
                ("supervised", ClaimKind::SupervisedInverseVsPool),
                ("physics", ClaimKind::PhysicsInverseVsPool),
            ];
            for (variant, kind) in inverse {
                let tally = tally(kind);
                if tally.total() > 0 {
                    writeln!(
                        md,
                        "\nThe direct inverse `inverse-net[{variant}]` against `pool-bfgs`: {}.",
                        tally_words(&tally)
                    )?;
                }
            }
            write_network_family(md, results)?;
            let verdicts = &self.verdicts;
            writeln!(md, "\nPer experiment:\n\n{verdicts}")?;
        }
        Ok(())
    }
}

/// "Does a network beat the lookup?" over every experiment at once: the per-experiment tests
/// are uncorrected, so the family (every network method against `pool-bfgs`, every
/// experiment) is given again under Holm, by optim's `compare_pairings`.
fn write_network_family(md: &mut String, results: &[Results]) -> Result<()> {
    let family = network_family(results)?;
    if family.is_empty() {
        return Ok(());
    }
    let (mut better, mut worse) = (Vec::new(), Vec::new());
    for c in &family {
        let line = format!(
            "{} on {} ({:.2} against {:.2}, Holm p = {})",
            c.a.label,
            c.experiment,
            c.a.success_rate,
            c.b.success_rate,
            format_p(c.holm_p)
        );
        match c.verdict {
            Verdict::Beats => better.push(line),
            Verdict::LosesTo => worse.push(line),
            Verdict::Ties | Verdict::NoSignificantDifference => {}
        }
    }
    let list = |v: &[String]| match v.is_empty() {
        true => "none".to_string(),
        false => v.join("; "),
    };
    writeln!(
        md,
        "\nDoes a network beat the lookup? Every network method (`proxy-multistart`, \
         `inverse-net`) against `pool-bfgs`, Holm-corrected over the family of {} comparisons \
         (every experiment and network): significantly better: {}; significantly worse: {}.",
        family.len(),
        list(&better),
        list(&worse)
    )?;
    Ok(())
}
