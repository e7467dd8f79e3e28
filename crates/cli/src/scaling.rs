//! `proxyland scaling-report`: results/scaling/REPORT.md and its two figures from the runs of
//! `cargo xtask reproduce --profile scaling`: how each method's success and simulator spend
//! change with the number of unknowns d, and where a network beats the lookup in its own pool.

use crate::cells::{
    GOAL_CALLS, cell, duration, goal_for, rate_cell, seconds_per_experiment, verdict_cell,
};
use anyhow::{Context, Result, bail};
use plotters::prelude::*;
use proxyland_optim::stats::{Verdict, VerdictTally};
use proxyland_optim::{Family, MethodSummary, Pairing, Results, compare_pairings};
use proxyland_physics::registry::ScalingFamily;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder holding <experiment>/eval.json of each family member.
    #[arg(long, default_value = "runs/scaling")]
    runs: PathBuf,
    /// Output folder for REPORT.md and the figures.
    #[arg(long, default_value = "results/scaling")]
    out: PathBuf,
    /// Family members, comma-separated (`burgers-k1,…,ks-m16`).
    #[arg(long, value_delimiter = ',', required = true)]
    experiments: Vec<String>,
    /// A `stage seconds` timings file written by `cargo xtask reproduce`.
    #[arg(long)]
    timings: Option<PathBuf>,
    /// Replace an existing REPORT.md and figures.
    #[arg(long)]
    force: bool,
}

/// The methods of the study, in the order of tables and legends: a label and how to find its
/// summary in one member's results. Baselines run at multiples of proxy-multistart's spend,
/// in simulator calls and in field solves (a call with gradient costs 1 + d solves).
const METHODS: [&str; 11] = [
    "bfgs",
    "pool-bfgs",
    "proxy-multistart",
    "inverse-net[supervised]",
    "inverse-net[physics]",
    "inverse-pool[supervised]",
    "inverse-pool[physics]",
    "strongest baseline @1× calls",
    "strongest baseline @10× calls",
    "strongest baseline @1× solves",
    "strongest baseline @10× solves",
];

/// The networks whose answer to "does a network beat the lookup?" the report gives.
const NETWORKS: [&str; 5] = [
    "proxy-multistart",
    "inverse-net[supervised]",
    "inverse-net[physics]",
    "inverse-pool[supervised]",
    "inverse-pool[physics]",
];

fn find<'a>(r: &'a Results, method: &str) -> Option<&'a MethodSummary> {
    let reference = Family::ProxyMultistart;
    match method {
        "proxy-multistart" => r.headline(Family::ProxyMultistart).map(|h| h.runs[0]),
        "strongest baseline @1× calls" => r.strongest_at(1, reference, false),
        "strongest baseline @10× calls" => r.strongest_at(10, reference, false),
        "strongest baseline @1× solves" => r.strongest_at(1, reference, true),
        "strongest baseline @10× solves" => r.strongest_at(10, reference, true),
        m if m.starts_with("inverse-") => r.method(m),
        m => r.plain_run(Family::parse(m)?),
    }
}

/// Whether a method of the study is a budgeted baseline.
fn is_baseline(method: &str) -> bool {
    method.starts_with("strongest")
}

/// One family member's results.
struct Member {
    name: String,
    family: &'static str,
    d: usize,
    results: Results,
    /// The same evaluation refined by BFGS instead of LM (`eval-bfgs.json`), where it ran.
    bfgs: Option<Results>,
    /// All its stages, and generating its pool alone.
    seconds: Option<f64>,
    pool_seconds: Option<f64>,
}

/// The name pattern of a member's family (`burgers-k{K}`), from physics' registry.
fn family_of(name: &str) -> Option<&'static str> {
    proxyland_physics::registry::scaling_member(name).map(|(family, _)| family.pattern())
}

pub fn run(args: Args) -> Result<()> {
    let report = args.out.join("REPORT.md");
    if report.exists() && !args.force {
        bail!(
            "{} exists: give --force to replace it (nothing was changed)",
            report.display()
        );
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let timings = match &args.timings {
        Some(t) => std::fs::read_to_string(t)
            .with_context(|| format!("--timings {}: cannot read", t.display()))?,
        None => String::new(),
    };
    let times = seconds_per_experiment(&timings);
    let stage_seconds = |stage: &str| {
        timings.lines().find_map(|l| {
            let (name, secs) = l.rsplit_once(' ')?;
            (name == stage).then(|| secs.parse::<f64>().ok()).flatten()
        })
    };
    let mut members = Vec::new();
    let mut missing = Vec::new();
    for e in &args.experiments {
        let family = family_of(e)
            .with_context(|| format!("--experiments {e}: not a scaling-family member"))?;
        let d = proxyland_physics::experiment(e)?.param_space().dim();
        let path = args.runs.join(e).join("eval.json");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let results = Results::from_json(&path, &text)?;
                let bfgs_path = args.runs.join(e).join("eval-bfgs.json");
                let bfgs = match bfgs_path.exists() {
                    true => Some(crate::args::read_results(&bfgs_path)?),
                    false => None,
                };
                members.push(Member {
                    name: e.clone(),
                    family,
                    d,
                    results,
                    bfgs,
                    seconds: times.get(e).copied(),
                    pool_seconds: stage_seconds(&format!("{e}/generate")),
                });
            }
            Err(_) => missing.push(e.clone()),
        }
    }
    if members.is_empty() {
        bail!(
            "no eval.json under {} for {}",
            args.runs.display(),
            args.experiments.join(", ")
        );
    }
    // Tables and lines run along d within each family, whatever order the members came in.
    members.sort_by_key(|m| (m.family, m.d));
    let md = markdown(&members, &missing);
    draw(
        &args.out.join("success-vs-d.png"),
        &members,
        Quantity::Success,
    )?;
    draw(&args.out.join("calls-vs-d.png"), &members, Quantity::Calls)?;
    proxyland_dataset::write_atomically(&report, md.as_bytes())
        .with_context(|| format!("cannot write {}", report.display()))?;
    say!("wrote {}", report.display());
    Ok(())
}

fn markdown(members: &[Member], missing: &[String]) -> String {
    let mut md = String::new();
    let total: f64 = members.iter().filter_map(|m| m.seconds).sum();
    let first = &members[0].results;
    let same = |f: &dyn Fn(&Results) -> String| {
        let v = f(first);
        if members.iter().all(|m| f(&m.results) == v) {
            v
        } else {
            "(varies by member, see the tables)".into()
        }
    };
    let pool = same(&|r| r.pool_simulations.unwrap_or(0).to_string());
    let tests = same(&|r| r.targets.to_string());
    let validations = same(&|r| {
        r.selection
            .as_ref()
            .map_or("?".into(), |s| s.validation_targets.to_string())
    });
    let _ = writeln!(
        md,
        "# How methods scale with the number of unknowns d\n\n\
         Written by `cargo xtask reproduce --profile scaling` (docs/spec.md, \"Scaling \
         families\", with spec v3's refinement, costs and corrections). Every family member has the same protocol: a pool of {pool} simulations, \
         {validations} validation and {tests} test targets; what changes along a family is d \
         alone. Machine: {} ({} evaluation threads). Stages of the members below took {} in all.\n",
        first.environment.machine,
        first.environment.threads,
        duration(total)
    );
    if !missing.is_empty() {
        let _ = writeln!(
            md,
            "**Not run:** {} (no results on record; the numbers below cover the rest).\n",
            missing.join(", ")
        );
    }
    let absent: Vec<&str> = proxyland_physics::SCALING_EXPERIMENTS
        .into_iter()
        .filter(|name| {
            !members.iter().any(|m| m.name == *name) && !missing.iter().any(|m| m == name)
        })
        .collect();
    if !absent.is_empty() {
        let _ = writeln!(
            md,
            "**Members not in this report:** {} (this run covered only the members below).\n",
            absent.join(", ")
        );
    }
    let protocol = same(&|r| {
        r.protocol.as_ref().map_or(
            "not recorded in the results (written before protocols were)".into(),
            |p| p.describe(),
        )
    });
    // The grid every member swept: σ at λ = 0, then λ at its chosen σ.
    let grid = |lambda_zero: bool| {
        let mut values: Vec<f64> = members
            .iter()
            .flat_map(|m| m.results.selection.iter().flat_map(|s| &s.candidates))
            .filter(|c| (c.penalty == 0.0) == lambda_zero)
            .map(|c| if lambda_zero { c.noise } else { c.penalty })
            .collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        values
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let proxies = match (grid(true), grid(false)) {
        (sigmas, _) if sigmas.is_empty() => "configurations not recorded".to_string(),
        (sigmas, lambdas) if lambdas.is_empty() => format!("σ ∈ {{{sigmas}}} at λ = 0"),
        (sigmas, lambdas) => {
            format!("σ ∈ {{{sigmas}}} at λ = 0, then λ ∈ {{{lambdas}}} at the chosen σ")
        }
    };
    let _ = writeln!(
        md,
        "Methods: `bfgs` from one uniform start; `pool-bfgs` refines the 3 pool samples whose \
         stored trajectories lie nearest to Y* (no network); `proxy-multistart` is the proxy \
         (one seed, chosen on the validation targets: {proxies}) with 256 free starts and the best 3 refined; `inverse-net[supervised]` \
         refines the prediction of a network Y* → X trained by regression on the pool, \
         `inverse-net[physics]` that network trained on from there with the physics loss as \
         its objective, through the simulator's exact gradient, its epoch chosen on the \
         validation targets (Holl & Thuerey, arXiv 2408.08119); `inverse-pool[…]` \
         refines that network's prediction, then the 3 nearest pool samples; the strongest of \
         multi-start BFGS, CMA-ES and DE at 1× and 10× of proxy-multistart's mean spend per \
         target, counted in simulator calls and, separately, in field solves (a value call is \
         1 solve, a call with gradient or Jacobian 1 + d). Refinement on the true loss: \
         {protocol}.\n\n\
         Cells: success on the test targets [95% Wilson interval over the targets], mean \
         simulator calls, mean field solves and mean wall time per target, and how many \
         refinements hit their iteration cap (one-off costs are in their own table). The \
         strongest baseline is the best of the three on these targets, a choice that favours \
         the baselines.\n"
    );
    for family in ScalingFamily::ALL.map(ScalingFamily::pattern) {
        let rows: Vec<&Member> = members.iter().filter(|m| m.family == family).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(md, "## `{family}`\n");
        for m in &rows {
            let _ = writeln!(
                md,
                "### {} (d = {})\n\n| method | success, calls, field solves, wall per target |\n|---|---|",
                m.name, m.d
            );
            for method in METHODS {
                let text = match find(&m.results, method) {
                    Some(s) if is_baseline(method) => format!("{}: {}", s.id.family, cell(s)),
                    Some(s) => cell(s),
                    None => "– (not run)".into(),
                };
                let _ = writeln!(md, "| {method} | {text} |");
            }
            md.push('\n');
        }
    }
    md.push_str("![success against d](success-vs-d.png)\n\n![calls against d](calls-vs-d.png)\n\n");
    md.push_str(&one_off_costs(members));
    md.push_str(&physics_training(members));
    md.push_str(&refinement(members));
    md.push_str(&verdict(members));
    md.push_str(&goals(members));
    md
}

/// The best method per member (baselines included) against the goals of issue 24.
fn goals(members: &[Member]) -> String {
    let mut md = format!(
        "## The goals\n\n\
         Issue 24 asks for ≥ 0.95 success at d = 8 and ≥ 0.90 at d = 16, by a method that spends \
         ≤ {GOAL_CALLS:.0} simulator calls per target. Per member, the method with the highest \
         success (then the fewest calls) among those within that spend, or a dearer one where \
         none within it reaches the goal and a dearer one solves more; the best of several \
         methods on the same targets is an optimistic pick. Judged on the point estimate and the mean calls per target.\n\n\
         | member | d | best | success | calls | field solves | goal |\n|---|---|---|---|---|---|---|\n"
    );
    for m in members {
        let Some(goal) = goal_for(m.d) else { continue };
        let most_solved = |within: bool| {
            METHODS
                .iter()
                .filter_map(|k| Some((*k, find(&m.results, k)?)))
                .filter(|(_, s)| !within || s.mean_sim_calls <= GOAL_CALLS)
                // On a tie the method listed first (the supervised network before the
                // physics one that may be the same network) is named.
                .rev()
                .max_by(|(_, a), (_, b)| {
                    a.success_rate
                        .total_cmp(&b.success_rate)
                        .then(b.mean_sim_calls.total_cmp(&a.mean_sim_calls))
                })
        };
        // The best within the spend goal, unless it misses the goal and a dearer method
        // solves more.
        let Some((name, best)) = most_solved(true)
            .filter(|(_, w)| {
                w.success_rate >= goal
                    || most_solved(false).is_none_or(|(_, o)| o.success_rate <= w.success_rate)
            })
            .or_else(|| most_solved(false))
        else {
            continue;
        };
        let name = if is_baseline(name) {
            format!("{} ({name})", best.label)
        } else {
            best.label.clone()
        };
        let verdict = match (best.success_rate >= goal, best.mean_sim_calls <= GOAL_CALLS) {
            (true, true) => "met".to_string(),
            (true, false) => format!(
                "success met, spend missed by {:.0} calls",
                best.mean_sim_calls - GOAL_CALLS
            ),
            (false, _) => format!("missed by {:.2}", goal - best.success_rate),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {name} | {:.2} [{:.2}–{:.2}] | {:.0} | {:.0} | ≥ {goal:.2}: {verdict} |",
            m.name,
            m.d,
            best.success_rate,
            best.success_interval.0,
            best.success_interval.1,
            best.mean_sim_calls,
            best.mean_field_solves
        );
    }
    md.push('\n');
    md
}

fn one_off_costs(members: &[Member]) -> String {
    let mut md = String::from(
        "## One-off costs\n\n\
         Paid once per problem family, before the first target: the pool's simulations (every \
         network and pool-bfgs need them), each network's training, and the physics variant's \
         simulator calls (training's with their gradient, the validation scoring's without) and \
         their field solves. Wall time: all stages of the member, evaluation included.\n\n\
         | member | d | pool simulations | pool wall time | proxy training (chosen σ) | inverse supervised | inverse physics (incl. supervised) | member wall time |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for m in members {
        let r = &m.results;
        let chosen = r.selection.as_ref();
        let proxy = r
            .surrogates
            .iter()
            .find(|s| {
                chosen.is_some_and(|c| s.info.noise == c.noise && s.info.penalty == c.penalty)
            })
            .map_or("–".into(), |s| {
                format!(
                    "σ = {}, λ = {}: {:.0} s",
                    s.info.noise, s.info.penalty, s.info.training_seconds
                )
            });
        let inverse = |variant: &str| {
            r.inverse_networks
                .iter()
                .find(|g| g.variant == variant)
                .map_or("–".into(), |g| {
                    if g.training_sim_calls > 0 {
                        format!(
                            "{:.0} s, {} calls, {} solves",
                            g.training_seconds, g.training_sim_calls, g.training_field_solves
                        )
                    } else {
                        format!("{:.0} s", g.training_seconds)
                    }
                })
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            m.name,
            m.d,
            r.pool_simulations.unwrap_or(0),
            m.pool_seconds.map_or("–".into(), duration),
            proxy,
            inverse("supervised"),
            inverse("physics"),
            m.seconds.map_or("–".into(), duration)
        );
    }
    md.push('\n');
    md
}

/// Physics training against the supervised network it starts from: paired tests on the same
/// targets, Holm-corrected over the members, and the learning curve's ends, read from the
/// physics network's file where it is still on disk.
fn physics_training(members: &[Member]) -> String {
    let mut md = String::from(
        "## Physics training against the supervised network\n\n\
         `inverse-net[physics]` against `inverse-net[supervised]` (the network it starts from) \
         on the same test targets: exact McNemar tests, Holm-corrected over the members (a \
         member where training kept the supervised weights counts as a tie, which only makes \
         the correction stricter). \
         Validation physics loss: the median over the validation targets of the loss of the \
         network's raw prediction, before refinement, at the supervised start and at the \
         epoch kept.\n\n\
         | member | d | supervised | physics | epochs run, kept | validation physics loss: start → kept | p (raw) | p (Holm) | verdict |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    let pairings: Vec<Pairing> = members
        .iter()
        .map(|m| {
            (
                (&m.results, "inverse-net[physics]"),
                (&m.results, "inverse-net[supervised]"),
            )
        })
        .collect();
    let compared = match compare_pairings(&pairings) {
        Ok(c) => c,
        Err(e) => return format!("{md}**No comparison possible:** {e}\n\n"),
    };
    for c in &compared {
        let Some(m) = members
            .iter()
            .find(|m| m.results.experiment == c.experiment)
        else {
            continue;
        };
        let curve = m
            .results
            .inverse_networks
            .iter()
            .find(|g| g.variant == "physics")
            .and_then(|g| proxyland_proxy::InverseModel::load(&g.path).ok())
            .map(|net| net.meta().training.clone());
        let (epochs, losses) = match &curve {
            Some(t) if !t.physics.is_empty() => {
                let start = t.physics[0].validation_loss;
                let kept = t
                    .chosen
                    .strip_prefix("physics epoch ")
                    .and_then(|e| e.split_whitespace().next()?.parse::<usize>().ok())
                    .and_then(|e| t.physics.get(e));
                let loss = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.3e}"));
                (
                    format!("{}, {}", t.physics.len() - 1, t.chosen),
                    format!(
                        "{} → {}",
                        loss(start),
                        loss(kept.and_then(|e| e.validation_loss))
                    ),
                )
            }
            _ => ("–".to_string(), "– (network file not on disk)".to_string()),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {epochs} | {losses} | {} | {} | {} |",
            m.name,
            m.d,
            rate_cell(&c.b),
            rate_cell(&c.a),
            proxyland_optim::stats::format_p(c.paired.p_value),
            proxyland_optim::stats::format_p(c.holm_p),
            c.verdict.word(),
        );
    }
    md.push('\n');
    md
}

/// The labels of one member's methods that both evaluations ran: the plain and learned
/// starts, the headline proxy, and each baseline at 1× proxy-multistart's calls.
fn refined_labels(lm: &Results, bfgs: &Results) -> Vec<String> {
    let mut labels: Vec<String> = ["bfgs", "pool-bfgs", "proxy-multistart"]
        .into_iter()
        .chain(NETWORKS.into_iter().skip(1))
        .filter_map(|m| find(bfgs, m).map(|s| s.label.clone()))
        .collect();
    labels.extend(
        bfgs.methods
            .iter()
            .filter(|s| {
                s.id.budget.as_ref().is_some_and(|b| {
                    b.multiple == 1
                        && b.reference == Family::ProxyMultistart
                        && !b.in_field_solves()
                })
            })
            .map(|s| s.label.clone()),
    );
    labels.retain(|l| lm.method(l).is_some());
    labels
}

/// "Which refinement is better, at each d?": every method refined by LM (the profile's rule)
/// against the same method refined by BFGS, all else equal, paired on the same targets and
/// Holm-corrected over the table.
fn refinement(members: &[Member]) -> String {
    let ran: Vec<(&Member, &Results)> = members
        .iter()
        .filter_map(|m| Some((m, m.bfgs.as_ref()?)))
        .collect();
    if ran.is_empty() {
        return String::new();
    }
    let mut md = String::from(
        "## Refinement: Levenberg–Marquardt against BFGS, every method\n\n\
         Each method of the study run twice on the same test targets, refined by LM (the \
         profile's rule, as in the tables above) and by BFGS, with horizon continuation and \
         stop-at-fit in both; the baselines run at 1× proxy-multistart's calls in both, at the \
         LM run's budget, so only their polish differs. Exact McNemar tests, Holm-corrected \
         over every row of this table.\n\n\
         | member | d | method | lm | bfgs | lm against bfgs |\n|---|---|---|---|---|---|\n",
    );
    let labels: Vec<Vec<String>> = ran
        .iter()
        .map(|(m, bfgs)| refined_labels(&m.results, bfgs))
        .collect();
    let mut pairings: Vec<Pairing> = Vec::new();
    for ((m, bfgs), labels) in ran.iter().zip(&labels) {
        for l in labels {
            pairings.push(((&m.results, l.as_str()), (*bfgs, l.as_str())));
        }
    }
    let compared = match compare_pairings(&pairings) {
        Ok(c) => c,
        Err(e) => return format!("{md}**No comparison possible:** {e}\n\n"),
    };
    let mut per_d: std::collections::BTreeMap<usize, VerdictTally> = Default::default();
    for c in &compared {
        let Some((m, _)) = ran
            .iter()
            .find(|(m, _)| m.results.experiment == c.experiment)
        else {
            continue;
        };
        per_d.entry(m.d).or_default().add(c.verdict);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            m.name,
            m.d,
            c.a.label,
            cell(&c.a),
            cell(&c.b),
            verdict_cell(c)
        );
    }
    md.push_str("\nPer d, over the members that ran both:\n\n");
    for (d, t) in &per_d {
        let _ = writeln!(
            md,
            "- d = {d}: LM better for {}, BFGS better for {}, no significant difference for {} \
             (of {} methods × members).",
            t.better,
            t.worse,
            t.same,
            t.total()
        );
    }
    md.push('\n');
    md
}

/// "Where does a network beats the lookup?", from the paired tests alone, Holm-corrected over
/// every comparison of the report.
fn verdict(members: &[Member]) -> String {
    let mut md = String::from(
        "## Where a network beats the lookup\n\n\
         Each network against `pool-bfgs` on the same test targets: exact McNemar test, its \
         p-value Holm-corrected over every comparison in this table (the family of questions \
         the report answers), verdict at p < 0.05 after correction. A difference without \
         significance is reported as none.\n\n\
         | member | d | pool-bfgs | network | its success | p (raw) | p (Holm) | verdict |\n|---|---|---|---|---|---|---|---|\n",
    );
    let mut same_network = Vec::new();
    let mut pairings: Vec<Pairing> = Vec::new();
    let mut member_of = std::collections::HashMap::new();
    for m in members {
        let r = &m.results;
        let Some(pool) = find(r, "pool-bfgs") else {
            continue;
        };
        for net in NETWORKS {
            let Some(s) = find(r, net) else { continue };
            // Physics training that kept the supervised weights is the same network.
            let supervised = net.replace("[physics]", "[supervised]");
            if net.ends_with("[physics]") && r.same_answers(net, &supervised) {
                same_network.push(format!("{net} on {}", m.name));
                continue;
            }
            pairings.push(((r, s.label.as_str()), (r, pool.label.as_str())));
            member_of.insert(r.experiment.clone(), (m.name.clone(), m.d));
        }
    }
    let compared = match compare_pairings(&pairings) {
        Ok(c) => c,
        Err(e) => return format!("{md}**No comparison possible:** {e}\n\n"),
    };
    let (mut wins, mut losses) = (Vec::new(), 0);
    for c in &compared {
        let (name, d) = member_of
            .get(&c.experiment)
            .cloned()
            .unwrap_or((c.experiment.clone(), 0));
        let raw = proxyland_optim::stats::format_p(c.paired.p_value);
        let holm = proxyland_optim::stats::format_p(c.holm_p);
        match c.verdict {
            Verdict::Beats => wins.push(format!(
                "{} on {name} (d = {d}): {:.2} against {:.2}, {:+.0} simulator calls per target \
                 (Holm p = {holm})",
                c.a.label,
                c.a.success_rate,
                c.b.success_rate,
                c.a.mean_sim_calls - c.b.mean_sim_calls
            )),
            Verdict::LosesTo => losses += 1,
            Verdict::Ties | Verdict::NoSignificantDifference => {}
        }
        let words = c.verdict.word();
        let _ = writeln!(
            md,
            "| {name} | {d} | {} | {} | {} | {raw} | {holm} | {words} |",
            rate_cell(&c.b),
            c.a.label,
            rate_cell(&c.a)
        );
    }
    md.push('\n');
    if !same_network.is_empty() {
        let _ = writeln!(
            md,
            "Not compared: {} (same answers as the supervised network on every target: physics \
             training kept the supervised weights).\n",
            same_network.join(", ")
        );
    }
    let largest = compared
        .iter()
        .filter_map(|c| member_of.get(&c.experiment).map(|(_, d)| *d))
        .max()
        .unwrap_or(0);
    let n = compared.len();
    if n == 0 {
        md.push_str("**No comparison possible:** no member has both pool-bfgs and a network.\n");
    } else if wins.is_empty() {
        let _ = writeln!(
            md,
            "**Answer: no significant win for a network anywhere up to d = {largest}** (Holm over \
             {n} comparisons); significantly worse in {losses}. With 30 targets a paired test \
             detects only large differences, so \"no significant win\" is not \"no \
             difference\".\n"
        );
    } else {
        let _ = writeln!(
            md,
            "**Answer: a network beats the lookup in {} of {n} comparisons after Holm \
             correction** (significantly worse in {losses}):\n",
            wins.len()
        );
        for w in &wins {
            let _ = writeln!(md, "- {w}");
        }
        md.push('\n');
    }
    md
}

/// One line of a panel: palette index, method, (d, value) points.
type Series<'a> = (usize, &'a str, Vec<(f64, f64)>);

#[derive(Clone, Copy, PartialEq)]
enum Quantity {
    Success,
    Calls,
}

/// One panel per family: the quantity against d, one line per method.
fn draw(path: &Path, members: &[Member], quantity: Quantity) -> Result<()> {
    crate::output::temp_sibling(path, ".png")?;
    proxyland_dataset::replace_via_temp(path, ".png", |tmp| {
        let root = BitMapBackend::new(tmp, (1100, 460)).into_drawing_area();
        root.fill(&WHITE)?;
        let panels = root.split_evenly((1, 2));
        let max_calls = members
            .iter()
            .flat_map(|m| METHODS.iter().filter_map(|k| find(&m.results, k)))
            .map(|s| s.mean_sim_calls)
            .fold(10.0_f64, f64::max);
        for (panel, family) in panels
            .iter()
            .zip(ScalingFamily::ALL.map(ScalingFamily::pattern))
        {
            let rows: Vec<&Member> = members.iter().filter(|m| m.family == family).collect();
            let max_d = rows.iter().map(|m| m.d).max().unwrap_or(16).max(2) as f64;
            let title = match quantity {
                Quantity::Success => format!("{family}: success on the test targets"),
                Quantity::Calls => format!("{family}: simulator calls per target"),
            };
            let mut builder = ChartBuilder::on(panel);
            builder
                .caption(title, ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(60);
            // Ticks at the members' own d (a log axis would otherwise label only 10).
            let ticks: Vec<f64> = rows.iter().map(|m| m.d as f64).collect();
            let x_range = (1.5f64..max_d * 1.15).log_scale().with_key_points(ticks);
            let series: Vec<Series> = METHODS
                .iter()
                .enumerate()
                .map(|(i, method)| {
                    let points = rows
                        .iter()
                        .filter_map(|m| {
                            let s = find(&m.results, method)?;
                            Some((
                                m.d as f64,
                                match quantity {
                                    Quantity::Success => s.success_rate,
                                    Quantity::Calls => s.mean_sim_calls.max(1.0),
                                },
                            ))
                        })
                        .collect();
                    (i, *method, points)
                })
                .collect();
            macro_rules! plot {
                ($chart:expr, $y_desc:expr) => {{
                    let mut chart = $chart;
                    chart
                        .configure_mesh()
                        .x_desc("d (unknowns)")
                        .x_label_formatter(&|d| format!("{d:.0}"))
                        .y_desc($y_desc)
                        .draw()?;
                    for (i, name, points) in &series {
                        let color = Palette99::pick(*i).to_rgba();
                        chart
                            .draw_series(LineSeries::new(
                                points.iter().copied(),
                                color.stroke_width(2),
                            ))?
                            .label(name.to_string())
                            .legend(move |(a, b)| {
                                PathElement::new(vec![(a, b), (a + 15, b)], color)
                            });
                        chart.draw_series(
                            points.iter().map(|&p| Circle::new(p, 4, color.filled())),
                        )?;
                    }
                    chart
                        .configure_series_labels()
                        .position(SeriesLabelPosition::LowerLeft)
                        .border_style(BLACK)
                        .background_style(WHITE.mix(0.85))
                        .draw()?;
                }};
            }
            match quantity {
                Quantity::Success => plot!(
                    builder.build_cartesian_2d(x_range, 0.0f64..1.05)?,
                    "success rate"
                ),
                Quantity::Calls => plot!(
                    builder.build_cartesian_2d(x_range, (1.0f64..max_calls * 2.0).log_scale())?,
                    "mean simulator calls per target"
                ),
            }
        }
        root.present()?;
        Ok::<(), anyhow::Error>(())
    })
    .with_context(|| format!("writing the figure {}", path.display()))
}
