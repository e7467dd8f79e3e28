//! `proxyland report`: results/REPORT.md and figures from the evaluations of a reproduce run,
//! and the headline table in README.md between its results markers.

use crate::figures::{draw_success_vs_sigma, draw_tradeoff};
use crate::output::write_atomically;
use anyhow::{Context, Result};
use proxyland_optim::{MethodSummary, Results, break_even_targets};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder holding <experiment>/eval.json.
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

/// An experiment's results in a runs folder, if that run got as far as evaluating it.
fn load_results(runs: &Path, experiment: &str) -> Option<Results> {
    let text = std::fs::read_to_string(runs.join(experiment).join("eval.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Seconds per experiment from a `stage seconds` timings file (stage labels are `<experiment>/…`).
fn seconds_per_experiment(text: &str) -> std::collections::BTreeMap<String, f64> {
    let mut out = std::collections::BTreeMap::new();
    for line in text.lines() {
        let Some((stage, secs)) = line.rsplit_once(' ') else {
            continue;
        };
        let (Some((experiment, _)), Ok(secs)) = (stage.split_once('/'), secs.parse::<f64>()) else {
            continue;
        };
        *out.entry(experiment.to_string()).or_insert(0.0) += secs;
    }
    out
}

/// The "Profiles" table: each profile's sizes per experiment and, where a run of it is on
/// record, its measured wall time.
fn profiles_table(args: &Args) -> Result<String> {
    let Some(dir) = &args.configs else {
        return Ok(String::new());
    };
    let mut timings: Vec<(String, Option<std::collections::BTreeMap<String, f64>>)> = Vec::new();
    if let Some(t) = &args.timings {
        let own = std::fs::read_to_string(t).ok();
        timings.push((
            args.profile.clone(),
            own.map(|t| seconds_per_experiment(&t)),
        ));
    }
    for (name, runs) in other_profiles(args) {
        let text = std::fs::read_to_string(runs.join("timings.txt")).ok();
        timings.push((name.clone(), text.map(|t| seconds_per_experiment(&t))));
    }
    let mut md = String::from(
        "| experiment | profile | pool K | targets | epochs × pairs/epoch (per proxy) | measured wall time |\n|---|---|---|---|---|---|\n",
    );
    for e in &args.experiments {
        let path = dir.join(format!("{e}.toml"));
        let config = proxyland_dataset::ExperimentConfig::load(&path)?;
        for (name, p) in &config.profiles {
            let measured = timings
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, t)| t.as_ref()?.get(e.as_str()).copied())
                .map_or("not run".to_string(), |s| {
                    if s < 120.0 {
                        format!("{s:.0} s")
                    } else {
                        format!("{:.0} min", s / 60.0)
                    }
                });
            writeln!(
                md,
                "| {e} | {name} | {} | {} | {} × {} | {measured} |",
                p.samples, p.targets, p.epochs, p.pairs_per_epoch
            )?;
        }
    }
    Ok(md)
}

const HEADLINE: [&str; 5] = [
    "bfgs",
    "proxy-bfgs",
    "proxy-multistart",
    "pool-bfgs",
    "de@10x",
];
/// Column names of [`headline_cells`], as a markdown header after `first` columns.
fn headline_header(first: &[&str]) -> String {
    let names = [
        "bfgs",
        "proxy-bfgs (best σ)",
        "proxy-multistart (best σ)",
        "pool-bfgs (no network)",
        "de@10x",
        "best baseline @10x",
    ];
    let cols: Vec<&str> = first.iter().chain(&names).copied().collect();
    format!("| {} |\n|{}\n", cols.join(" | "), "---|".repeat(cols.len()))
}

/// The headline cells of one experiment's results: bfgs, the best proxy-bfgs and
/// proxy-multistart checkpoints, pool-bfgs, de@10x, and the best 10× baseline.
fn headline_cells(r: &Results) -> String {
    let cell = |k: &str| {
        best_with_prefix(r, k)
            .map(|s| format!("{:.2} ({:.0} calls)", s.success_rate, s.mean_sim_calls))
            .unwrap_or_else(|| "–".into())
    };
    let best_baseline = ["multistart-bfgs@10x", "cmaes@10x", "de@10x"]
        .iter()
        .filter_map(|k| r.methods.get(*k))
        .max_by(|a, b| a.success_rate.total_cmp(&b.success_rate))
        .map(|s| {
            format!(
                "{}: {:.2} ({:.0} calls)",
                s.method, s.success_rate, s.mean_sim_calls
            )
        })
        .unwrap_or_else(|| "–".into());
    let mut cells: Vec<String> = HEADLINE.iter().map(|k| cell(k)).collect();
    cells.push(best_baseline);
    cells.join(" | ")
}

/// How success rate `a` compares with `c`, in words.
fn cmp_word(a: f64, c: f64) -> &'static str {
    if a > c + 1e-9 {
        "beats"
    } else if a + 1e-9 < c {
        "loses to"
    } else {
        "ties"
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!("{cores} cores, {cpu}")
}

fn row(s: &MethodSummary) -> String {
    format!(
        "| {} | {:.2} | {:.2e} | {:.2e} | {:.1} | {:.3} |",
        s.method,
        s.success_rate,
        s.median_resim_loss,
        s.median_param_error,
        s.mean_sim_calls,
        s.wall_s
    )
}

/// The best of the methods whose label starts with `prefix` (highest success, then fewest calls).
fn best_with_prefix<'a>(r: &'a Results, prefix: &str) -> Option<&'a MethodSummary> {
    r.methods
        .values()
        .filter(|s| s.method == prefix || s.method.starts_with(&format!("{prefix}[")))
        .max_by(|a, b| {
            a.success_rate
                .total_cmp(&b.success_rate)
                .then(b.mean_sim_calls.total_cmp(&a.mean_sim_calls))
        })
}

pub fn run(args: Args) -> Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut md = String::new();
    let mut discussion = String::new();
    // Experiments where pool-bfgs ran beside a proxy method, and where it did at least as well.
    let (mut pool_compared, mut pool_at_least_as_good, mut max_dim) = (0, 0, 0);
    let mut headline = headline_header(&["experiment"]);
    writeln!(md, "# proxyland results ({} profile)\n", args.profile)?;
    writeln!(
        md,
        "Generated by `cargo xtask reproduce --profile {}`; do not edit by hand.\n",
        args.profile
    )?;
    writeln!(md, "## Setup\n")?;
    writeln!(
        md,
        "- Spec: EXPERIMENTS.md v1; protocol: one uniform start per target, BFGS ≤ 100 iterations, gradient tolerance 1e-8, More–Thuente line search; success = every |X̂_j − X*_j| ≤ 1% of the box width (periodic distance where periodic)."
    )?;
    writeln!(
        md,
        "- Machine: {}; proxyland {}.",
        machine(),
        env!("CARGO_PKG_VERSION")
    )?;
    if let Some(t) = &args.timings {
        if let Ok(text) = std::fs::read_to_string(t) {
            let total: f64 = text
                .lines()
                .filter_map(|l| l.split_whitespace().last()?.parse::<f64>().ok())
                .sum();
            writeln!(
                md,
                "- Wall time of the pipeline's stages: {total:.0} s on this machine (a stage that was up to date counts with the time it took when it ran; building the release binary is not included).\n"
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
        "- A simulator call is one forward solve, with or without its exact gradient. The final resimulation that scores each answer is not charged to any method."
    )?;
    writeln!(
        md,
        "- Baselines `multistart-bfgs`, `cmaes`, `de` run at 1× and 10× the per-target simulator budget that `proxy-bfgs` measurably spent (the `budget unit` below).\n"
    )?;
    for e in &args.experiments {
        let path = args.runs.join(e).join("eval.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(_) => {
                writeln!(
                    md,
                    "## {e}\n\nNo results: {} is missing (the run did not finish).\n",
                    path.display()
                )?;
                continue;
            }
        };
        let r: Results = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a results file", path.display()))?;
        writeln!(md, "## {e}\n")?;
        writeln!(
            md,
            "{} held-out targets, seed {}, budget unit {:.1} simulator calls per target (from {}).\n",
            r.targets, r.seed, r.budget_unit, r.budget_reference
        )?;
        writeln!(
            md,
            "| method | success | median resim loss | median param error | sim calls / target | wall s / target |\n|---|---|---|---|---|---|"
        )?;
        for s in r.methods.values() {
            writeln!(md, "{}", row(s))?;
        }
        // Proxy one-off cost and amortization against the strongest budgeted baseline.
        if let Some(cost) = r.proxy_cost.first() {
            let train_s: f64 = r.proxy_cost.iter().map(|c| c.training_seconds).sum();
            writeln!(
                md,
                "\nProxy one-off cost: {} simulations for the pool (shared by all {} checkpoints), {:.0} s of training in total ({:.0} s per checkpoint on average).",
                cost.dataset_simulations,
                r.proxy_cost.len(),
                train_s,
                train_s / r.proxy_cost.len() as f64
            )?;
            let proxy = best_with_prefix(&r, "proxy-multistart")
                .or_else(|| best_with_prefix(&r, "proxy-bfgs"));
            let baselines: Vec<&MethodSummary> = ["de@10x", "cmaes@10x", "multistart-bfgs@10x"]
                .iter()
                .filter_map(|k| r.methods.get(*k))
                .collect();
            if let Some(p) = proxy {
                for b in baselines {
                    let verdict = if b.success_rate + 1e-9 < p.success_rate {
                        format!(
                            "{} succeeds less often ({:.2} vs {:.2}) at {:.0} calls per target: the proxy wins on both counts after the pool is paid for",
                            b.method, b.success_rate, p.success_rate, b.mean_sim_calls
                        )
                    } else {
                        match break_even_targets(
                            cost.dataset_simulations,
                            p.mean_sim_calls,
                            b.mean_sim_calls,
                        ) {
                            Some(n) => format!(
                                "{} reaches {:.2} success (at least the proxy's {:.2}) at {:.0} calls per target; {} spends {:.0}: counting simulator calls alone, the pool is repaid after {:.0} targets, with the proxy's lower or equal success",
                                b.method,
                                b.success_rate,
                                p.success_rate,
                                b.mean_sim_calls,
                                p.method,
                                p.mean_sim_calls,
                                n.ceil()
                            ),
                            None => format!(
                                "{} reaches {:.2} success at {:.0} calls per target, no more than {} spends ({:.0}): the proxy never repays its pool against it",
                                b.method,
                                b.success_rate,
                                b.mean_sim_calls,
                                p.method,
                                p.mean_sim_calls
                            ),
                        }
                    };
                    writeln!(md, "- {verdict}.")?;
                }
            }
        }
        let points: Vec<(String, f64, f64)> = r
            .methods
            .values()
            .map(|s| (s.method.clone(), s.mean_sim_calls, s.success_rate))
            .collect();
        let fig_dir = args.out.join(e);
        std::fs::create_dir_all(&fig_dir)?;
        let fig = fig_dir.join("tradeoff.png");
        draw_tradeoff(
            &fig,
            &format!("{e}: success vs simulator calls per target"),
            &points,
        )?;
        writeln!(md, "\n![success vs calls]({e}/tradeoff.png)")?;
        // Success against σ for the noise-only checkpoints (λ = 0), per proxy method.
        let series: Vec<(String, Vec<(f64, f64)>)> = ["proxy", "proxy-bfgs", "proxy-multistart"]
            .iter()
            .map(|family| {
                let mut points: Vec<(f64, f64)> = r
                    .methods
                    .values()
                    .filter(|s| {
                        s.method.starts_with(&format!("{family}[")) && s.penalty == Some(0.0)
                    })
                    .filter_map(|s| Some((s.noise?, s.success_rate)))
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                (family.to_string(), points)
            })
            .filter(|(_, p)| !p.is_empty())
            .collect();
        if !series.is_empty() {
            let bfgs = r.methods.get("bfgs").map(|s| s.success_rate);
            draw_success_vs_sigma(
                &fig_dir.join("success-vs-sigma.png"),
                &format!("{e}: success vs σ"),
                &series,
                bfgs,
            )?;
            writeln!(md, "![success vs sigma]({e}/success-vs-sigma.png)")?;
        }
        for f in [
            "landscape-true.png",
            "landscape-s0.png",
            "landscape-s0.02.png",
            "landscape-s0.05.png",
            "landscape-s0.1.png",
            "landscape-l0.1.png",
        ] {
            if fig_dir.join(f).exists() {
                write!(md, " ![{f}]({e}/{f})")?;
            }
        }
        writeln!(md, "\n")?;
        {
            let best = |k: &str| {
                best_with_prefix(&r, k)
                    .map(|s| s.success_rate)
                    .unwrap_or(f64::NAN)
            };
            let (b, pb, pm) = (best("bfgs"), best("proxy-bfgs"), best("proxy-multistart"));
            if let Some(s) = best_with_prefix(&r, "pool-bfgs").filter(|_| pm.is_finite()) {
                pool_compared += 1;
                max_dim = max_dim.max(r.rows.first().map_or(0, |o| o.x_hat.len()));
                if s.success_rate + 1e-9 >= pm {
                    pool_at_least_as_good += 1;
                }
            }
            let pool = best_with_prefix(&r, "pool-bfgs")
                .map(|s| {
                    format!(
                        " The same pool without a network (pool-bfgs) reaches {:.2} at {:.0} calls per target ({} proxy-multistart).",
                        s.success_rate,
                        s.mean_sim_calls,
                        cmp_word(s.success_rate, pm)
                    )
                })
                .unwrap_or_default();
            let base1 = ["de@1x", "cmaes@1x", "multistart-bfgs@1x"]
                .iter()
                .map(|k| best(k))
                .fold(f64::NAN, f64::max);
            let base10 = ["de@10x", "cmaes@10x", "multistart-bfgs@10x"]
                .iter()
                .map(|k| best(k))
                .fold(f64::NAN, f64::max);
            let cmp = cmp_word;
            writeln!(
                discussion,
                "- **{e}**: two-stage proxy-bfgs ({pb:.2}) {} single-start BFGS ({b:.2}); the best baseline reaches {base1:.2} at the same budget and {base10:.2} at 10×; proxy-multistart reaches {pm:.2} ({} the best 10× baseline).{pool}",
                cmp(pb, b),
                cmp(pm, base10)
            )?;
        }
        writeln!(headline, "| {e} | {} |", headline_cells(&r))?;
    }
    writeln!(md, "## Discussion\n")?;
    writeln!(
        md,
        "Per experiment, from the measured numbers (best checkpoint for proxy methods):\n\n{discussion}"
    )?;
    writeln!(
        md,
        "The proxy's honest case is amortization: its pool is paid once, after which `proxy-multistart` explores the landscape without simulator calls and spends them only on refinement; the break-even counts above say when that repays the pool.\n"
    )?;
    if pool_compared > 0 {
        writeln!(
            md,
            "Whether the network earns its place is what `pool-bfgs` measures: it refines the pool samples whose stored trajectories are nearest to Y*, with no network, at the same one-off cost. It succeeds at least as often as the best proxy method on {pool_at_least_as_good} of {pool_compared} experiments here.{}\n",
            if pool_at_least_as_good * 2 > pool_compared {
                format!(
                    " On these low-dimensional problems (d ≤ {max_dim}) the pool does the work: a proxy network would have to beat this lookup to justify its training, for example where the pool is too sparse for a nearest neighbour to land in the right basin (larger d)."
                )
            } else {
                String::new()
            }
        )?;
    }
    let mut side_by_side = String::new();
    for e in &args.experiments {
        let own = std::iter::once((&args.profile, load_results(&args.runs, e)));
        let others = other_profiles(&args).map(|(n, dir)| (n, load_results(dir, e)));
        for (name, results) in own.chain(others) {
            if let Some(r) = results {
                writeln!(side_by_side, "| {e} | {name} | {} |", headline_cells(&r))?;
            }
        }
    }
    if other_profiles(&args).any(|(_, dir)| {
        args.experiments
            .iter()
            .any(|e| load_results(dir, e).is_some())
    }) {
        writeln!(
            md,
            "### Profiles side by side\n\nThe headline of every profile on record (success rate, mean simulator calls per target); the profiles differ in pool size, training length and number of targets (Setup):\n\n{}{side_by_side}",
            headline_header(&["experiment", "profile"])
        )?;
    } else {
        writeln!(
            md,
            "Only the {} profile is on record here; how larger pools and longer training change the proxies is not measured in this report.\n",
            args.profile
        )?;
    }
    writeln!(
        md,
        "## Headline\n\nSuccess rate (mean simulator calls per target):\n\n{headline}"
    )?;
    let report = args.out.join("REPORT.md");
    write_atomically(&report, |w| Ok(w.write_all(md.as_bytes())?))?;
    if let Some(readme) = &args.readme {
        update_readme(readme, &headline)?;
    }
    println!("wrote {}", report.display());
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
    use super::{parse_profile_runs, seconds_per_experiment};

    #[test]
    fn stage_times_add_up_per_experiment() {
        let t = seconds_per_experiment(
            "burgers/generate 1.5\nburgers/train proxy-s0 10.0\nks/evaluate 2.25\nnot a stage\n",
        );
        assert_eq!(t.len(), 2);
        assert!((t["burgers"] - 11.5).abs() < 1e-12);
        assert!((t["ks"] - 2.25).abs() < 1e-12);
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
