//! `proxyland report`: results/REPORT.md and figures from the evaluations of a reproduce run,
//! and the headline table in README.md between its results markers.
//!
//! Every number comes from the results files; every "beats / loses to / no significant
//! difference" comes from [`Results::compare`] (an exact paired test in proxyland-optim). This
//! module only renders.

use crate::cells::{duration, rate_cell, seconds_per_experiment};
use crate::figures::{
    AmortizationLine, TradeoffPoint, draw_amortization, draw_success_vs_sigma, draw_tradeoff,
};
use crate::output::write_atomically;
use anyhow::{Context, Result};
use proxyland_optim::stats::{PairedComparison, VerdictTally};
use proxyland_optim::{Family, MethodSummary, Results, crossover};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder holding <experiment>/eval.json (test) and <experiment>/validation.json.
    #[arg(long, default_value = "runs")]
    runs: PathBuf,
    /// Output folder for REPORT.md and figures.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Experiments, comma-separated.
    #[arg(long, value_delimiter = ',')]
    experiments: Vec<String>,
    /// The profile the runs used.
    #[arg(long, default_value = "quick")]
    profile: String,
    /// A text file of `stage seconds` lines written by `cargo xtask reproduce`.
    #[arg(long)]
    timings: Option<PathBuf>,
    /// Update the table between `<!-- results:begin -->` and `<!-- results:end -->` here.
    #[arg(long)]
    readme: Option<PathBuf>,
    /// Folder of `<experiment>.toml` configs: the report lists every profile's sizes.
    #[arg(long)]
    configs: Option<PathBuf>,
    /// `PROFILE=DIR`: another profile's runs folder (its `timings.txt` and
    /// `<experiment>/eval.json`), set beside this one's sizes, times and headline (repeatable).
    /// What is missing there reads as "not run".
    #[arg(long = "profile-runs", value_parser = parse_profile_runs)]
    profile_runs: Vec<(String, PathBuf)>,
    /// Replace an existing REPORT.md (and its figures) in --out.
    #[arg(long)]
    force: bool,
}

fn parse_profile_runs(s: &str) -> std::result::Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => {
            Ok((name.to_string(), PathBuf::from(path)))
        }
        _ => Err(format!(
            "expected PROFILE=DIR (e.g. paper=runs/paper), got `{s}`"
        )),
    }
}

/// The other profiles' runs folders, this run's own excluded.
fn other_profiles(args: &Args) -> impl Iterator<Item = &(String, PathBuf)> {
    args.profile_runs.iter().filter(|(n, _)| *n != args.profile)
}

/// An experiment's results of one split in a runs folder, if that run got as far (no file);
/// a file that is there but unreadable or garbled is an error naming it, never "missing".
fn load(runs: &Path, experiment: &str, file: &str) -> Result<Option<Results>> {
    let path = runs.join(experiment).join(file);
    if !path.exists() {
        return Ok(None);
    }
    crate::args::read_results(&path).map(Some)
}

/// Every validation evaluation of an experiment (`validation*.json`: the σ sweep, the λ sweep).
fn validations(runs: &Path, experiment: &str) -> Result<Vec<Results>> {
    let mut names: Vec<String> = std::fs::read_dir(runs.join(experiment))
        .map(|d| {
            d.filter_map(|f| f.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with("validation") && n.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    let mut found = Vec::new();
    for n in &names {
        found.extend(load(runs, experiment, n)?);
    }
    Ok(found)
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

/// The headline of a surrogate family: mean and range of the per-seed rates over the chosen
/// configuration's seeds, then the first seed's rate (the checkpoint the paired tests use) with
/// its Wilson interval over the targets. Seeds are never pooled into one n (spec v3,
/// "Intervals"): runs of several seeds on the same targets are not independent trials.
fn seeds_cell(r: &Results, family: Family) -> String {
    match r.headline(family) {
        Some(h) if h.runs.len() > 1 => format!(
            "{:.2} (range {:.2}–{:.2} over {} seeds; first seed {})",
            h.mean_success,
            h.success_range.0,
            h.success_range.1,
            h.runs.len(),
            rate_cell(h.runs[0])
        ),
        Some(h) => format!("{} (1 seed)", rate_cell(h.runs[0])),
        None => "–".into(),
    }
}

/// The selected checkpoint of a family: the chosen configuration's first seed.
fn headline_run(r: &Results, family: Family) -> Option<&MethodSummary> {
    r.headline(family).map(|h| h.runs[0])
}

/// Column names of [`headline_cells`], as a markdown header after `first` columns.
fn headline_header(first: &[&str]) -> String {
    let names = [
        "chosen σ, λ",
        "bfgs",
        "proxy-bfgs (chosen, seeds)",
        "proxy-multistart (chosen, seeds)",
        "pool-bfgs (no network)",
        "inverse-net (supervised)",
        "inverse-net (physics)",
        "strongest baseline",
    ];
    let cols: Vec<&str> = first.iter().chain(&names).copied().collect();
    format!("| {} |\n|{}\n", cols.join(" | "), "---|".repeat(cols.len()))
}

/// The headline cells of one experiment's test results.
fn headline_cells(r: &Results) -> String {
    let chosen = r.selection.as_ref().map_or("–".into(), |s| {
        format!("σ = {}, λ = {}", s.noise, s.penalty)
    });
    let cell = |s: Option<&MethodSummary>| s.map_or("–".into(), rate_cell);
    let strongest = r
        .strongest_baseline()
        .map_or("–".into(), |s| format!("{}: {}", s.label, rate_cell(s)));
    [
        chosen,
        cell(r.plain_run(Family::Bfgs)),
        seeds_cell(r, Family::ProxyBfgs),
        seeds_cell(r, Family::ProxyMultistart),
        cell(r.plain_run(Family::PoolBfgs)),
        cell(r.method("inverse-net[supervised]")),
        cell(r.method("inverse-net[physics]")),
        strongest,
    ]
    .join(" | ")
}

fn table_row(s: &MethodSummary) -> String {
    format!(
        "| {}{} | {:.2} | {:.2}–{:.2} | {:.2e} | {:.2e} | {:.1} | {:.3} | {} |",
        s.label,
        if s.headline { " ★" } else { "" },
        s.success_rate,
        s.success_interval.0,
        s.success_interval.1,
        s.median_resim_loss,
        s.median_param_error,
        s.mean_sim_calls,
        s.wall_s,
        s.mean_rounds.map_or(String::new(), |r| format!("{r:.1}"))
    )
}

/// "A beats B (…)" for two summaries of the same results, from the exact paired test.
fn claim(r: &Results, a: &MethodSummary, b: &MethodSummary) -> Option<(PairedComparison, String)> {
    let c = r.compare(&a.label, &b.label)?;
    let sentence = format!(
        "{} ({:.2}) {} ({:.2})",
        a.label,
        a.success_rate,
        c.phrase(&b.label),
        b.success_rate
    );
    Some((c, sentence))
}

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

pub fn run(args: Args) -> Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    crate::output::check_output("--out", &args.out.join("REPORT.md"), &[], args.force)?;
    let mut md = String::new();
    let mut sections = String::new();
    let mut verdicts = String::new();
    let mut headline = headline_header(&["experiment"]);
    let (mut vs_bfgs, mut vs_pool, mut vs_base1, mut vs_base10, mut two_stage) = (
        VerdictTally::default(),
        VerdictTally::default(),
        VerdictTally::default(),
        VerdictTally::default(),
        VerdictTally::default(),
    );
    // The direct inverse against the lookup, per variant (supervised, physics).
    let mut inverse_vs_pool = [VerdictTally::default(), VerdictTally::default()];
    let mut environment = None;
    writeln!(md, "# proxyland results ({} profile)\n", args.profile)?;
    writeln!(
        md,
        "Generated by `cargo xtask reproduce --profile {}`; do not edit by hand.\n",
        args.profile
    )?;
    for e in &args.experiments {
        let Some(r) = load(&args.runs, e, "eval.json")? else {
            writeln!(
                sections,
                "## {e}\n\nNo results: {} is missing (the run did not finish).\n",
                args.runs.join(e).join("eval.json").display()
            )?;
            continue;
        };
        environment.get_or_insert_with(|| r.environment.clone());
        let validation = validations(&args.runs, e)?;
        writeln!(headline, "| {e} | {} |", headline_cells(&r))?;
        experiment_section(&mut sections, &args, e, &r, &validation)?;

        // The paired claims of this experiment, against the chosen configuration's first seed.
        let mut lines = Vec::new();
        let pm = headline_run(&r, Family::ProxyMultistart);
        let pb = headline_run(&r, Family::ProxyBfgs);
        let bfgs = r.plain_run(Family::Bfgs);
        let pool = r.plain_run(Family::PoolBfgs);
        if let Some(pm) = pm {
            for (other, tally) in [(bfgs, &mut vs_bfgs), (pool, &mut vs_pool)] {
                if let Some((c, s)) = other.and_then(|b| claim(&r, pm, b)) {
                    tally.add(c.verdict);
                    lines.push(s);
                }
            }
            for (k, tally) in [(1, &mut vs_base1), (10, &mut vs_base10)] {
                if let Some((c, s)) = r
                    .strongest_at(k, Family::ProxyMultistart, false)
                    .and_then(|b| claim(&r, pm, b))
                {
                    tally.add(c.verdict);
                    lines.push(s);
                }
            }
        }
        if let (Some(pb), Some(b)) = (pb, bfgs) {
            if let Some((c, s)) = claim(&r, pb, b) {
                two_stage.add(c.verdict);
                lines.push(s);
            }
        }
        for (variant, tally) in ["supervised", "physics"].iter().zip(&mut inverse_vs_pool) {
            let net = r.method(&format!("inverse-net[{variant}]"));
            if let Some((c, s)) = net.zip(pool).and_then(|(a, b)| claim(&r, a, b)) {
                tally.add(c.verdict);
                lines.push(s);
            }
        }
        if !lines.is_empty() {
            writeln!(verdicts, "- **{e}** (n = {} test targets):", r.targets)?;
            for l in lines {
                writeln!(verdicts, "  - {l}.")?;
            }
        }
    }

    writeln!(md, "## Setup\n")?;
    writeln!(
        md,
        "- Spec: EXPERIMENTS.md v2. One uniform start per target; BFGS ≤ 100 iterations, gradient tolerance 1e-8, More–Thuente line search, and one rule for every BFGS (baseline, proxy stage, refinement, multi-start, polish): the first trial point moves at most 0.1 of the box along −∇, then the usual scaling H0 = sᵀy/yᵀy·I. Success = every |X̂_j − X*_j| ≤ 1% of the box width (periodic distance where periodic)."
    )?;
    writeln!(
        md,
        "- Every optimization on a proxy stays in the box: u is folded (periodic wrap, reflection elsewhere) before it reaches the network, exactly as before it reaches a simulator."
    )?;
    writeln!(
        md,
        "- Targets: the test targets are scored once. Every choice (which σ and λ is the headline configuration) is made on the pool's separate validation targets, by this rule: {}. The chosen configuration is trained with 3 seeds; the headline gives their mean and range, and the paired tests use its first seed (the checkpoint that was chosen).",
        proxyland_optim::SELECTION_RULE
    )?;
    writeln!(
        md,
        "- Statistics: each success rate carries its 95% Wilson interval. \"Beats\" and \"loses to\" mean an exact two-sided McNemar (sign) test on the targets where exactly one method succeeds gave p < 0.05; otherwise the report says there is no significant difference."
    )?;
    writeln!(
        md,
        "- Baselines at full strength: `de` is best/1/bin with dithered F and a Latin-hypercube population sized to its budget (5 generations or more once the budget holds a population of 4 for 6 rounds; the tables give the generations actually run), `cmaes` is IPOP-CMA-ES (λ doubles at each restart), both end with a BFGS polish on a fifth of their budget (at most 100 calls); `multistart-bfgs` restarts BFGS until the budget is spent. Each runs at 1× and 10× the mean simulator calls per target that `proxy-bfgs` and `proxy-multistart` (the chosen configuration, all seeds) spent on the test targets, labelled `@1x(proxy-bfgs)` and so on."
    )?;
    writeln!(
        md,
        "- A simulator call is one forward solve, with or without its exact gradient. The final resimulation that scores each answer is not charged to any method."
    )?;
    if let Some(env) = &environment {
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
        if let Ok(text) = std::fs::read_to_string(t) {
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
    }
    if args.out.join("paper").join("REPORT.md").exists() {
        writeln!(
            md,
            "- The paper profile's own report, with its tables and figures: [paper/REPORT.md](paper/REPORT.md)."
        )?;
    }
    let profiles = profiles_table(&args)?;
    if !profiles.is_empty() {
        writeln!(
            md,
            "- Profiles (sizes from `datasets/*.toml`; wall time = all stages of that experiment, generation to figures, on this machine; training may stop early):\n\n{profiles}"
        )?;
    }
    writeln!(
        md,
        "## Headline\n\nTest success rate [95% Wilson interval], mean simulator calls per target. The proxy columns give the chosen configuration's mean success over its seeds with the range over seeds, then its first seed (the checkpoint the paired tests use) with that seed's interval and calls; an interval's n is the number of targets, never seeds × targets. The strongest baseline is the best of the budgeted baselines on these same test targets, a choice that favours the baseline.\n\n{headline}"
    )?;
    writeln!(md, "## What the numbers say\n")?;
    if vs_bfgs.total() > 0 {
        writeln!(
            md,
            "Paired tests of the chosen `proxy-multistart` checkpoint on the same test targets, over the experiments:\n"
        )?;
        writeln!(
            md,
            "- against single-start `bfgs`: {};",
            tally_words(&vs_bfgs)
        )?;
        if vs_pool.total() > 0 {
            writeln!(
                md,
                "- against `pool-bfgs` (the same pool, no network): {};",
                tally_words(&vs_pool)
            )?;
        }
        writeln!(
            md,
            "- against the strongest baseline at its own spend (1×): {};",
            tally_words(&vs_base1)
        )?;
        writeln!(
            md,
            "- against the strongest baseline at 10× its spend: {}.",
            tally_words(&vs_base10)
        )?;
        if two_stage.total() > 0 {
            writeln!(
                md,
                "\nThe paper's two-stage `proxy-bfgs` against single-start `bfgs`: {}.",
                tally_words(&two_stage)
            )?;
        }
        for (variant, tally) in ["supervised", "physics"].iter().zip(&inverse_vs_pool) {
            if tally.total() > 0 {
                writeln!(
                    md,
                    "\nThe direct inverse `inverse-net[{variant}]` against `pool-bfgs`: {}.",
                    tally_words(tally)
                )?;
            }
        }
        writeln!(md, "\nPer experiment:\n\n{verdicts}")?;
    }
    writeln!(
        md,
        "## Determinism\n\nOn one machine a seed fixes everything: the same seed gives bit-identical proxy weights (tested) and the same evaluation. Across machines, training can differ: libtorch's CPU kernels (vectorization, MKL or not) and its intra-op thread count change the rounding of every step, and hundreds of Adam steps amplify that into a different network (docs/experiments.md has the measurement). A different machine is like a different seed; the ranges over the chosen configuration's seeds above show how much a different network moves the success rates, which is why the headline reports seeds and intervals rather than one run.\n"
    )?;
    md.push_str(&sections);
    let mut side_by_side = String::new();
    let mut other_found = false;
    for e in &args.experiments {
        let own = std::iter::once((&args.profile, load(&args.runs, e, "eval.json")?));
        let mut others = Vec::new();
        for (n, dir) in other_profiles(&args) {
            let r = load(dir, e, "eval.json")?;
            other_found |= r.is_some();
            others.push((n, r));
        }
        for (name, results) in own.chain(others) {
            if let Some(r) = results {
                writeln!(side_by_side, "| {e} | {name} | {} |", headline_cells(&r))?;
            }
        }
    }
    if other_found {
        writeln!(
            md,
            "## Profiles side by side\n\nThe headline of every profile on record; the profiles differ in pool size, training length and number of targets (Setup):\n\n{}{side_by_side}",
            headline_header(&["experiment", "profile"])
        )?;
    }
    let report = args.out.join("REPORT.md");
    write_atomically(&report, |w| Ok(w.write_all(md.as_bytes())?))?;
    if let Some(readme) = &args.readme {
        update_readme(readme, &headline)?;
    }
    say!("wrote {}", report.display());
    Ok(())
}

/// One experiment's section: every method, the proxies' own quality, amortization, figures.
fn experiment_section(
    md: &mut String,
    args: &Args,
    e: &str,
    r: &Results,
    validation: &[Results],
) -> Result<()> {
    writeln!(md, "## {e}\n")?;
    let units: Vec<String> = r
        .budget_units
        .iter()
        .map(|u| format!("{} {:.1}", u.reference, u.calls_per_target))
        .collect();
    writeln!(
        md,
        "{} test targets, seed {}. Budget units (simulator calls per target): {}.",
        r.targets,
        r.seed,
        units.join(", ")
    )?;
    if let Some(s) = &r.selection {
        writeln!(
            md,
            "Chosen on {} validation targets: σ = {}, λ = {} (validation proxy-multistart success {:.2}, median argmin error of the network alone {:.3}). ★ marks its runs.\n",
            s.validation_targets,
            s.noise,
            s.penalty,
            s.validation_success,
            s.validation_argmin_error
        )?;
    } else {
        writeln!(md)?;
    }
    writeln!(
        md,
        "| method | success | 95% interval | median resim loss | median param error | sim calls / target | wall s / target | generations or runs |\n|---|---|---|---|---|---|---|---|"
    )?;
    for s in &r.methods {
        writeln!(md, "{}", table_row(s))?;
    }
    if !r.surrogates.is_empty() {
        writeln!(
            md,
            "\nEach proxy on its own (no simulator call): the median worst-coordinate error of the network's argmin (256 starts, BFGS on the network), the share of targets where it lies within 2% of the box of X*, and the mean Spearman rank correlation of predicted against true loss on the landscape slice through X* (first targets).\n"
        )?;
        writeln!(
            md,
            "| σ | λ | seed | validation: argmin error | test: argmin error | within 2% | rank correlation | training s |\n|---|---|---|---|---|---|---|---|"
        )?;
        for s in &r.surrogates {
            let val = validation
                .iter()
                .find_map(|v| v.surrogates.iter().find(|o| o.info.path == s.info.path))
                .map_or("–".into(), |o| {
                    format!("{:.3}", o.quality.median_argmin_error)
                });
            writeln!(
                md,
                "| {} | {} | {} | {val} | {:.3} | {:.2} | {} | {:.0} |",
                s.info.noise,
                s.info.penalty,
                s.info.seed,
                s.quality.median_argmin_error,
                s.quality.argmin_within_2pct,
                s.quality
                    .rank_correlation
                    .map_or("–".into(), |c| format!("{c:.2}")),
                s.info.training_seconds
            )?;
        }
    }
    if !r.inverse_networks.is_empty() {
        writeln!(
            md,
            "\nInverse networks (`inverse-net`: the prediction refined by BFGS), with their one-off cost beside the pool's:\n\n| variant | training s | training simulator calls | file |\n|---|---|---|---|"
        )?;
        for g in &r.inverse_networks {
            writeln!(
                md,
                "| {} | {:.0} | {} | {} |",
                g.variant,
                g.training_seconds,
                g.training_sim_calls,
                g.path
                    .file_name()
                    .map_or(String::new(), |f| f.to_string_lossy().into_owned())
            )?;
        }
    }
    let fig_dir = args.out.join(e);
    std::fs::create_dir_all(&fig_dir)?;
    amortization(md, e, r, &fig_dir)?;

    let points: Vec<TradeoffPoint> = r
        .methods
        .iter()
        .map(|s| TradeoffPoint {
            family: s.id.family.name().to_string(),
            budgeted: s.id.budget.is_some(),
            calls: s.mean_sim_calls,
            success: s.success_rate,
        })
        .collect();
    draw_tradeoff(
        &fig_dir.join("tradeoff.png"),
        &format!("{e}: success vs simulator calls per target"),
        &points,
    )?;
    writeln!(md, "\n![success vs calls]({e}/tradeoff.png)")?;
    // Success against σ for the seed-0, λ = 0 checkpoints, per proxy method.
    let series: Vec<(String, Vec<(f64, f64)>)> =
        [Family::Proxy, Family::ProxyBfgs, Family::ProxyMultistart]
            .iter()
            .map(|family| {
                let mut points: Vec<(f64, f64)> = r
                    .methods
                    .iter()
                    .filter(|s| s.id.family == *family)
                    .filter_map(|s| s.id.surrogate.map(|c| (c, s.success_rate)))
                    .filter(|(c, _)| c.penalty == 0.0 && c.seed == 0)
                    .map(|(c, rate)| (c.noise, rate))
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                (family.to_string(), points)
            })
            .filter(|(_, p)| p.len() > 1)
            .collect();
    if !series.is_empty() {
        draw_success_vs_sigma(
            &fig_dir.join("success-vs-sigma.png"),
            &format!("{e}: success vs σ (λ = 0, seed 0)"),
            &series,
            r.plain_run(Family::Bfgs).map(|s| s.success_rate),
        )?;
        writeln!(md, "![success vs sigma]({e}/success-vs-sigma.png)")?;
    }
    let mut landscapes: Vec<String> = std::fs::read_dir(&fig_dir)
        .map(|d| {
            d.filter_map(|f| f.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with("landscape-") && n.ends_with(".png"))
                .collect()
        })
        .unwrap_or_default();
    landscapes.sort_by_key(|n| (n != "landscape-true.png", n.clone()));
    for f in landscapes {
        write!(md, " ![{f}]({e}/{f})")?;
    }
    writeln!(md, "\n")?;
    Ok(())
}

/// The amortization paragraph and figure: cumulative simulator calls (pool included) against
/// targets solved, for the headline proxy method, pool-bfgs and the strongest baseline.
fn amortization(md: &mut String, e: &str, r: &Results, fig_dir: &Path) -> Result<()> {
    let Some(pool) = r.pool_simulations else {
        return Ok(());
    };
    let proxy = r.headline(Family::ProxyMultistart);
    let base = r.strongest_baseline();
    let pool_bfgs = r.plain_run(Family::PoolBfgs);
    let per_solved = |calls: f64, success: f64| {
        if success > 0.0 {
            calls / success
        } else {
            f64::INFINITY
        }
    };
    let mut lines = Vec::new();
    if let Some(h) = &proxy {
        lines.push(AmortizationLine {
            label: "proxy-multistart (chosen)".into(),
            one_off: pool,
            per_solved: per_solved(h.mean_calls, h.mean_success),
        });
    }
    if let Some(p) = pool_bfgs {
        lines.push(AmortizationLine {
            label: "pool-bfgs".into(),
            one_off: pool,
            per_solved: per_solved(p.mean_sim_calls, p.success_rate),
        });
    }
    if let Some(b) = base {
        lines.push(AmortizationLine {
            label: b.label.clone(),
            one_off: 0,
            per_solved: per_solved(b.mean_sim_calls, b.success_rate),
        });
    }
    if lines.len() < 2 {
        return Ok(());
    }
    writeln!(
        md,
        "\n**Amortization.** Cumulative simulator calls to solve n targets = one-off pool ({pool} simulations) + n × calls per target ÷ success rate. The proxy's training time is not a simulator call and is listed above."
    )?;
    let fmt_cross = |c: Option<f64>| match c {
        Some(0.0) => "from the first target".to_string(),
        Some(n) => format!("after {:.0} solved targets", n.ceil()),
        None => "never".to_string(),
    };
    for (i, a) in lines.iter().enumerate() {
        for b in &lines[i + 1..] {
            // Say it from the side that gets cheaper (if either does).
            let (first, second, when) =
                match crossover((a.one_off, a.per_solved), (b.one_off, b.per_solved)) {
                    Some(n) => (a, b, Some(n)),
                    None => (
                        b,
                        a,
                        crossover((b.one_off, b.per_solved), (a.one_off, a.per_solved)),
                    ),
                };
            let sentence = match when {
                Some(_) => format!(
                    "{} is cheaper than {} {}",
                    first.label,
                    second.label,
                    fmt_cross(when)
                ),
                None => format!("{} and {} cost the same", a.label, b.label),
            };
            writeln!(
                md,
                "- {sentence} ({:.0} vs {:.0} calls per solved target, {} vs {} one-off).",
                first.per_solved, second.per_solved, first.one_off, second.one_off
            )?;
        }
    }
    draw_amortization(
        &fig_dir.join("amortization.png"),
        &format!("{e}: simulator calls to solve n targets"),
        &lines,
    )?;
    writeln!(md, "\n![amortization]({e}/amortization.png)")?;
    Ok(())
}

fn update_readme(path: &Path, table: &str) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (begin, end) = ("<!-- results:begin -->", "<!-- results:end -->");
    let (Some(a), Some(b)) = (text.find(begin), text.find(end)) else {
        anyhow::bail!("{} has no {begin} … {end} markers", path.display());
    };
    let new = format!("{}{begin}\n{table}{}", &text[..a], &text[b..]);
    write_atomically(path, |w| Ok(w.write_all(new.as_bytes())?))
}

#[cfg(test)]
mod tests {
    use super::parse_profile_runs;
    use crate::cells::seconds_per_experiment;

    #[test]
    fn stage_times_add_up_per_experiment() {
        let t = seconds_per_experiment(
            "burgers/generate 1.5\nburgers/train proxy-s0 10.0\nks/evaluate 2.25\nnot a stage\n",
        );
        assert_eq!(t.len(), 2);
        assert!((t["burgers"] - 11.5).abs() < 1e-12);
        assert!((t["ks"] - 2.25).abs() < 1e-12);
        // A stage run twice counts by its last time.
        let t = seconds_per_experiment("ks/limits 60.0\nks/evaluate 2.0\nks/limits 70.0\n");
        assert!((t["ks"] - 72.0).abs() < 1e-12, "{t:?}");
    }

    #[test]
    fn profile_runs_need_a_name_and_a_folder() {
        assert_eq!(parse_profile_runs("paper=runs/paper").unwrap().0, "paper");
        for bad in ["paper", "=x", "paper="] {
            let err = parse_profile_runs(bad).unwrap_err();
            assert!(err.contains("PROFILE=DIR"), "{bad}: {err}");
        }
    }
}
