//! The report's text and tables: the protocol, every member's methods, the one-off costs.

use super::{METHODS, Member, find, is_baseline};
use crate::cells::{cell, duration};
use proxyland_optim::{Results, STARTS_REFINED, SURROGATE_STARTS};
use proxyland_physics::registry::ScalingFamily;
use std::fmt::Write as _;

/// What `f` reads from every member's results, where all agree; else a pointer to the tables.
fn same_in_all(members: &[Member], f: &dyn Fn(&Results) -> String) -> String {
    let v = f(&members[0].results);
    if members.iter().all(|m| f(&m.results) == v) {
        v
    } else {
        "(varies by member, see the tables)".into()
    }
}

/// The report's opening: the protocol every member shares, the members not run or not in this
/// report, then the methods.
pub(super) fn introduction(members: &[Member], missing: &[String]) -> String {
    let mut md = String::new();
    let total: f64 = members.iter().filter_map(|m| m.seconds).sum();
    let first = &members[0].results;
    let pool = same_in_all(members, &|r| r.pool_simulations.unwrap_or(0).to_string());
    let tests = same_in_all(members, &|r| r.targets.to_string());
    let validations = same_in_all(members, &|r| {
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
    md.push_str(&methods_paragraph(members));
    md
}

/// The methods, the proxy configurations the members swept, and the refinement protocol.
fn methods_paragraph(members: &[Member]) -> String {
    let mut md = String::new();
    let protocol = same_in_all(members, &|r| {
        r.protocol.as_ref().map_or(
            "not recorded in the results (written before protocols were)".into(),
            |p| p.describe(),
        )
    });
    let proxies = match (proxy_grid(members, true), proxy_grid(members, false)) {
        (sigmas, _) if sigmas.is_empty() => "configurations not recorded".to_string(),
        (sigmas, lambdas) if lambdas.is_empty() => format!("σ ∈ {{{sigmas}}} at λ = 0"),
        (sigmas, lambdas) => {
            format!("σ ∈ {{{sigmas}}} at λ = 0, then λ ∈ {{{lambdas}}} at the chosen σ")
        }
    };
    let _ = writeln!(
        md,
        "Methods: `bfgs` from one uniform start; `pool-bfgs` refines the {STARTS_REFINED} pool samples whose \
         stored trajectories lie nearest to Y* (no network); `proxy-multistart` is the proxy \
         (one seed, chosen on the validation targets: {proxies}) with {SURROGATE_STARTS} free starts and the best {STARTS_REFINED} refined; `inverse-net[supervised]` \
         refines the prediction of a network Y* → X trained by regression on the pool, \
         `inverse-net[physics]` that network trained on from there with the physics loss as \
         its objective, through the simulator's exact gradient, its epoch chosen on the \
         validation targets (Holl & Thuerey, arXiv 2408.08119); `inverse-pool[…]` \
         refines that network's prediction, then the {STARTS_REFINED} nearest pool samples; the strongest of \
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
    // Where only some baselines ran above 1×, their column is theirs alone: say so.
    for m in members {
        if let Some(only) = &m.results.large_budget_baselines {
            let names: Vec<&str> = only.iter().map(|f| f.name()).collect();
            let _ = writeln!(
                md,
                "On {} only {} ran at the budgets above 1× (the config's \
                 `large_budget_baselines`): its \"strongest baseline\" at 10× is {} alone.\n",
                m.name,
                names.join(" and "),
                names.join(" and ")
            );
        }
    }
    md
}

/// The grid every member swept: σ at λ = 0 (`lambda_zero`), else λ at its chosen σ.
fn proxy_grid(members: &[Member], lambda_zero: bool) -> String {
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
}

/// One table per member, the families apart and each along d: every method's cell.
pub(super) fn member_tables(members: &[Member]) -> String {
    let mut md = String::new();
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
    md
}

/// The one-off costs per member: the pool, each network's training, the member's wall time.
pub(super) fn one_off_costs(members: &[Member]) -> String {
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
