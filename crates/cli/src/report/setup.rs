//! The report's Setup section: the protocol, the machine, the pipeline's time, the profiles.

use super::{Args, other_profiles};
use crate::cells::{duration, seconds_per_experiment};
use anyhow::{Context, Result};
use proxyland_optim::{
    DE_MIN_GENERATIONS, Environment, LocalSettings, SUCCESS_TOLERANCE, polish_reserve,
};
use std::fmt::Write as _;

/// The "Setup" section: the protocol and its statistics, the baselines, the machine, the
/// pipeline's wall time, and every profile's sizes.
pub(super) fn setup_section(
    md: &mut String,
    args: &Args,
    environment: Option<&Environment>,
) -> Result<()> {
    let protocol = LocalSettings::default();
    writeln!(md, "## Setup\n")?;
    writeln!(
        md,
        "- Spec: docs/spec.md, the paper's protocol (v2). One uniform start per target; BFGS ≤ {} iterations, gradient tolerance {:e}, More–Thuente line search, and one rule for every BFGS (baseline, proxy stage, refinement, multi-start, polish): the first trial point moves at most {} of the box along −∇, then the usual scaling H0 = sᵀy/yᵀy·I. Success = every |X̂_j − X*_j| ≤ {}% of the box width (periodic distance where periodic).",
        protocol.max_iters,
        protocol.grad_tolerance,
        protocol.first_step,
        SUCCESS_TOLERANCE * 100.0
    )?;
    writeln!(
        md,
        "- Every optimization on a proxy stays in the box: u is folded (periodic wrap, reflection elsewhere) before it reaches the network, exactly as before it reaches a simulator."
    )?;
    writeln!(
        md,
        "- Targets: the test targets are scored once. Every choice (which σ and λ is the headline configuration) is made on the pool's separate validation targets, by this rule: {}. The chosen configuration is trained with every seed the profile names (the headline counts them); the headline gives their mean and range, and the paired tests use its first seed (the checkpoint that was chosen).",
        proxyland_optim::SELECTION_RULE
    )?;
    writeln!(
        md,
        "- Statistics: each success rate carries its 95% Wilson interval. \"Beats\" and \"loses to\" mean an exact two-sided McNemar (sign) test on the targets where exactly one method succeeds gave p < 0.05; otherwise the report says there is no significant difference."
    )?;
    writeln!(
        md,
        "- Baselines at full strength: `de` is best/1/bin with dithered F and a Latin-hypercube population sized to its budget ({DE_MIN_GENERATIONS} generations or more once the budget holds a population of 4 for {} rounds; the tables give the generations actually run), `cmaes` is IPOP-CMA-ES (λ doubles at each restart), both end with a BFGS polish on a fifth of their budget (at most {} calls); `multistart-bfgs` restarts BFGS until the budget is spent. Each runs at 1× and 10× the mean simulator calls per target that `proxy-bfgs` and `proxy-multistart` (the chosen configuration, all seeds) spent on the test targets, labelled `@1x(proxy-bfgs)` and so on.",
        DE_MIN_GENERATIONS + 1,
        polish_reserve(usize::MAX)
    )?;
    writeln!(
        md,
        "- A simulator call is one forward solve, with or without its exact gradient. The final resimulation that scores each answer is not charged to any method."
    )?;
    if let Some(env) = environment {
        writeln!(
            md,
            "- Machine: {}; evaluation threads: {}; {}; proxyland {}.",
            env.machine,
            env.threads,
            env.notes.join("; "),
            env!("CARGO_PKG_VERSION")
        )?;
    }
    if let Some(t) = &args.timings {
        let text = std::fs::read_to_string(t)
            .with_context(|| format!("--timings {}: cannot read the stage times", t.display()))?;
        let total: f64 = text
            .lines()
            .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
            .sum();
        writeln!(
            md,
            "- Wall time of the pipeline's stages: {total:.0} s ({}) on this machine (a stage that was up to date counts with the time it took when it ran; building the release binary is not included).\n",
            duration(total)
        )?;
        writeln!(
            md,
            "<details><summary>Time per stage (s)</summary>\n\n```\n{text}```\n</details>\n"
        )?;
    }
    if args.out.join("paper").join("REPORT.md").exists() {
        writeln!(
            md,
            "- The paper profile's own report, with its tables and figures: [paper/REPORT.md](paper/REPORT.md)."
        )?;
    }
    let profiles = profiles_table(args)?;
    if !profiles.is_empty() {
        writeln!(
            md,
            "- Profiles (sizes from `datasets/*.toml`; wall time = all stages of that experiment, generation to figures, on this machine; training may stop early):\n\n{profiles}"
        )?;
    }
    Ok(())
}

/// The "Profiles" table: each profile's sizes per experiment and, where a run of it is on
/// record, its measured wall time.
fn profiles_table(args: &Args) -> Result<String> {
    let Some(dir) = &args.configs else {
        return Ok(String::new());
    };
    let mut timings: Vec<(String, Option<std::collections::BTreeMap<String, f64>>)> = Vec::new();
    if let Some(t) = &args.timings {
        // Given by name, so unreadable is an error; other profiles' timings are optional.
        let own = std::fs::read_to_string(t)
            .with_context(|| format!("--timings {}: cannot read", t.display()))?;
        timings.push((args.profile.clone(), Some(seconds_per_experiment(&own))));
    }
    for (name, runs) in other_profiles(args) {
        let text = std::fs::read_to_string(runs.join("timings.txt")).ok();
        timings.push((name.clone(), text.map(|t| seconds_per_experiment(&t))));
    }
    let mut md = String::from(
        "| experiment | profile | pool K | test / validation targets | epochs × pairs/epoch (per proxy) | measured wall time |\n|---|---|---|---|---|---|\n",
    );
    for e in &args.experiments {
        let path = dir.join(format!("{e}.toml"));
        let config = proxyland_dataset::ExperimentConfig::load(&path)?;
        for (name, p) in &config.profiles {
            let measured = timings
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, t)| t.as_ref()?.get(e.as_str()).copied())
                .map_or("not run".to_string(), duration);
            writeln!(
                md,
                "| {e} | {name} | {} | {} / {} | {} × {} | {measured} |",
                p.samples, p.targets, p.validation_targets, p.epochs, p.pairs_per_epoch
            )?;
        }
    }
    Ok(md)
}
