//! `proxyland refine-report`: results/scaling/REFINE.md from the runs of `cargo xtask reproduce
//! --profile refine`: the same pool lookup (`pool-bfgs`) refined by BFGS, by Levenberg–Marquardt
//! and by BFGS with an LM polish, on every scaling-family member, with paired tests that are
//! Holm-corrected over each family of comparisons.

use crate::cells::{cell, duration, seconds_per_experiment, verdict_cell};
use crate::refine_studies::{
    CHOSEN, StudiedMember, Studies, confirmation_section, continuation_section,
    data_requirement_section, learned_section, limits_section,
};
use anyhow::{Context, Result, bail};
use proxyland_optim::goals::{self, GOAL_CALLS, GoalVerdict, success_goal};
use proxyland_optim::{Family, MethodSummary, Results, STARTS_REFINED, compare_family};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder holding <experiment>/eval-<refine>.json of each member.
    #[arg(long, default_value = "runs/refine")]
    runs: PathBuf,
    /// The report to write.
    #[arg(long, default_value = "results/scaling/REFINE.md")]
    out: PathBuf,
    /// Family members, comma-separated, smallest d first within a family.
    #[arg(long, value_delimiter = ',', required = true)]
    experiments: Vec<String>,
    /// A `stage seconds` timings file written by `cargo xtask reproduce`.
    #[arg(long)]
    timings: Option<PathBuf>,
    /// Replace an existing report.
    #[arg(long)]
    force: bool,
}

/// The refinements compared, as `--refine` names them; the first is the reference. xtask's
/// refine profile runs the same list (`REFINEMENTS` in xtask/src/reproduce.rs).
const REFINEMENTS: [&str; 3] = ["bfgs", "lm", "bfgs+lm"];

/// The method every refinement is applied to.
const METHOD: &str = "pool-bfgs";

struct Member {
    name: String,
    d: usize,
    /// Results per refinement, in the order of [`REFINEMENTS`].
    runs: Vec<Results>,
    /// Continuation, learned starts, limits: where the profile ran them.
    studies: Studies,
}

pub fn run(args: Args) -> Result<()> {
    if args.out.exists() && !args.force {
        bail!(
            "{} exists: give --force to replace it (nothing was changed)",
            args.out.display()
        );
    }
    let mut members = Vec::new();
    for e in &args.experiments {
        let d = proxyland_physics::experiment(e)?.param_space().dim();
        let mut runs = Vec::new();
        for r in REFINEMENTS {
            let path = args.runs.join(e).join(format!("eval-{r}.json"));
            let results = crate::args::read_results(&path)?;
            if results.method(METHOD).is_none() {
                bail!("{}: holds no {METHOD} run", path.display());
            }
            runs.push(results);
        }
        let studies = Studies::read(&args.runs.join(e))?;
        members.push(Member {
            name: e.clone(),
            d,
            runs,
            studies,
        });
    }
    let timings = match &args.timings {
        Some(t) => std::fs::read_to_string(t)
            .with_context(|| format!("--timings {}: cannot read", t.display()))?,
        None => String::new(),
    };
    let md = markdown(&members, &seconds_per_experiment(&timings))?;
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    proxyland_dataset::write_atomically(&args.out, md.as_bytes())
        .with_context(|| format!("writing {}", args.out.display()))?;
    say!("wrote {}", args.out.display());
    Ok(())
}

fn markdown(
    members: &[Member],
    seconds: &std::collections::BTreeMap<String, f64>,
) -> Result<String> {
    let mut md = String::new();
    let n = members.first().map_or(0, |m| m.runs[0].targets);
    writeln!(
        md,
        "# How the refinement decides success at high d\n\nWritten by `cargo xtask reproduce \
         --profile refine` (docs/spec.md v3, \"Refinement\"). Every scaling-family member's \
         pool of {} simulations and its {n} test targets; one method, `{METHOD}` (the {STARTS_REFINED} pool \
         samples nearest to Y*, each refined on the exact simulator), refined by BFGS (the \
         paper's protocol), by Levenberg–Marquardt on the exact Jacobian (`lm`), and by BFGS \
         followed by an LM polish (`bfgs+lm`). Nothing else changes between the columns.\n",
        members
            .first()
            .and_then(|m| m.runs[0].pool_simulations)
            .unwrap_or(0),
    )?;
    writeln!(
        md,
        "Cells: success on the test targets [95% Wilson interval, n = {n} targets], mean \
         simulator calls, field solves (a call with gradient or Jacobian costs 1 + d solves) \
         and wall seconds per target ({}, {} evaluation threads), and how many runs ended at \
         the iteration cap. Verdicts: exact paired \
         McNemar tests against BFGS on the same targets, Holm-corrected over the family of \
         all {} verdicts of the table (both columns, every member); p is the raw p-value, Holm \
         the adjusted one.\n",
        members
            .first()
            .map_or("?", |m| m.runs[0].environment.machine.as_str()),
        members.first().map_or(0, |m| m.runs[0].environment.threads),
        2 * members.len()
    )?;
    let pairs = |k: usize| -> Vec<(&Results, &Results)> {
        members.iter().map(|m| (&m.runs[k], &m.runs[0])).collect()
    };
    // One family: every verdict of the table (both columns, every member), Holm-corrected
    // together (spec v3).
    let mut family = pairs(1);
    family.extend(pairs(2));
    let mut verdicts = compare_family(&family, METHOD, METHOD)?;
    let polish = verdicts.split_off(members.len());
    let lm = verdicts;
    writeln!(
        md,
        "| member | d | bfgs | lm | bfgs+lm | lm against bfgs | bfgs+lm against bfgs |\n\
         |---|---|---|---|---|---|---|"
    )?;
    for (i, m) in members.iter().enumerate() {
        let s = |k: usize| cell(m.runs[k].method(METHOD).expect("checked on reading"));
        writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            m.name,
            m.d,
            s(0),
            s(1),
            s(2),
            verdict_cell(&lm[i]),
            verdict_cell(&polish[i])
        )?;
    }
    let studied: Vec<StudiedMember> = members
        .iter()
        .map(|m| StudiedMember {
            name: &m.name,
            d: m.d,
            lm: &m.runs[1],
            studies: &m.studies,
        })
        .collect();
    continuation_section(&mut md, &studied)?;
    learned_section(&mut md, &studied, false)?;
    learned_section(&mut md, &studied, true)?;
    limits_section(&mut md, &studied)?;
    confirmation_section(&mut md, &studied)?;
    data_requirement_section(&mut md, &studied)?;
    goals_section(&mut md, members)?;
    let total: f64 = members.iter().filter_map(|m| seconds.get(&m.name)).sum();
    if total > 0.0 {
        writeln!(
            md,
            "\nStages of the members above took {} on this machine.",
            duration(total)
        )?;
    }
    Ok(md)
}

/// Every variant of a member that the goals may be met by: (how, its summary).
fn variants(m: &Member) -> Vec<(String, &MethodSummary)> {
    let mut all: Vec<(String, &MethodSummary)> = REFINEMENTS
        .iter()
        .zip(&m.runs)
        .filter_map(|(r, run)| run.method(METHOD).map(|s| (format!("{METHOD}, {r}"), s)))
        .collect();
    if let Some(c) = &m.studies.continuation {
        all.extend(
            c.method(METHOD)
                .map(|s| (format!("{METHOD}, lm, continuation"), s)),
        );
    }
    // inverse-net has one start: "first fit" describes the multi-start methods only.
    let how = |s: &MethodSummary, continuation: &str| {
        let first_fit = if s.id.family == Family::InverseNet {
            ""
        } else {
            ", first fit"
        };
        format!("{}, lm{continuation}{first_fit}", s.label)
    };
    if let Some(l) = &m.studies.learned {
        all.extend(l.methods.iter().map(|s| (how(s, ""), s)));
    }
    if let Some(l) = &m.studies.learned_continuation {
        all.extend(l.methods.iter().map(|s| (how(s, ", continuation"), s)));
    }
    all
}

/// The best variant per member against the goals.
fn goals_section(md: &mut String, members: &[Member]) -> Result<()> {
    let n = members.first().map_or(0, |m| m.runs[0].targets);
    let goals = goals::in_words();
    let all_of_n = goals::all_solved_lower_bound(n);
    writeln!(md, "\n## The goals of issue 24\n")?;
    writeln!(
        md,
        "The best variant per member of everything above (refinement, continuation, learned \
         starts; most targets solved, then fewest calls), against the goals (success {goals}; \
         the winner at ≤ {GOAL_CALLS:.0} simulator calls per target). The \
         proxy is not in this study. The best of several variants on the same {n} targets is \
         an optimistic pick, so where the chosen variant was run on fresh targets the goal is \
         judged there. Judged on the point estimate of success (at n = {n}, even {n} of {n} \
         has a Wilson lower bound of {all_of_n:.2}) and on the mean calls per target (single \
         targets may spend more); the pool's simulations are a one-off cost apart.\n"
    )?;
    writeln!(
        md,
        "| member | d | best | success | calls | goal |\n|---|---|---|---|---|---|"
    )?;
    for m in members {
        let Some(goal) = success_goal(m.d) else {
            continue;
        };
        let Some((how, study_best)) = variants(m).into_iter().max_by(|(_, a), (_, b)| {
            a.success_rate
                .total_cmp(&b.success_rate)
                .then(b.mean_sim_calls.total_cmp(&a.mean_sim_calls))
        }) else {
            continue;
        };
        // Judged on the fresh targets where the chosen variant was confirmed there.
        let confirmed = m.studies.confirm.as_ref().and_then(|r| r.method(CHOSEN));
        let (how, best) = match confirmed {
            Some(c) => (
                format!(
                    "{CHOSEN}, lm, continuation, first fit; on fresh targets (the study's best: \
                     {how}, {:.2})",
                    study_best.success_rate
                ),
                c,
            ),
            None => (how, study_best),
        };
        let verdict = match GoalVerdict::judge(best, goal) {
            missed @ GoalVerdict::SuccessMissed { .. } if m.studies.limits.is_some() => {
                format!("{missed} (what limits it: the table above)")
            }
            verdict => verdict.to_string(),
        };
        writeln!(
            md,
            "| {} | {} | {how} | {:.2} [{:.2}–{:.2}] | {:.0} | ≥ {goal:.2}: {verdict} |",
            m.name,
            m.d,
            best.success_rate,
            best.success_interval.0,
            best.success_interval.1,
            best.mean_sim_calls
        )?;
    }
    Ok(())
}
