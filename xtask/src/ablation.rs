//! `cargo xtask reproduce --profile ablation`: the paper's two open questions about
//! regularization (issue 26), in `runs/paper/` beside the paper profile. It shares the paper
//! profile's pools and every checkpoint whose setting both train (same stage, same stamp: up
//! to date after a paper run); its validations, selections and evaluations are its own.
//!
//! Per experiment:
//!
//! 1. **The ablation** (E1–E4): one proxy per regularizer, each alone and each chosen on the
//!    validation targets over its own grid, as σ and λ are: none; noise injection σ (the paper
//!    profile's σ grid, λ = 0); the gradient penalty λ (its λ grid, σ = 0); dropout; weight
//!    decay; the spectral norm. The six are scored once on the test targets with proxy-bfgs and
//!    proxy-multistart.
//! 2. **The fine σ sweep** (E0–E4): σ on a log grid at λ = 0, seed 0, plus two more seeds at the
//!    validation choice and its two neighbours, scored on the test targets.
//!
//! Then `proxyland ablation-report` writes `results/ablation/REPORT.md` and one figure per
//! experiment. The profile's own times go to `runs/paper/timings-ablation.txt`.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::plan::{self, AblationPlan, Plan};
use crate::reproduce::{
    EVALUATE_REVISION, Pipeline, ProxySweep, Regularization, check_members, fnv, generate_pool,
    read_selection,
};

/// The members of the ablation (E1–E4).
const ABLATION_MEMBERS: [&str; 4] = ["burgers", "ks", "billiards2d", "billiards4d"];
/// The fine σ sweep runs on every experiment of the registry (E0 too: it is cheap).
const SWEEP_MEMBERS: [&str; 5] = proxyland_physics::EXPERIMENTS;

/// `reproduce --profile ablation [--experiments ...] [--out DIR]`.
pub fn run(repo: &Path, experiments: &[String], given: bool, out: &Path) -> Result<()> {
    let chosen: Vec<String> = if given {
        experiments.to_vec()
    } else {
        SWEEP_MEMBERS.map(String::from).to_vec()
    };
    check_members(
        &chosen,
        &SWEEP_MEMBERS,
        "an experiment of the ablation profile",
    )?;
    let started = Instant::now();
    let (runs, pipeline) = Pipeline::start_with(repo, "paper", "timings-ablation.txt")?;
    let mut ablations = Vec::new();
    let mut sweeps = Vec::new();
    for e in &chosen {
        let dir = runs.join(e);
        let (data, data_hash) = generate_pool(repo, &pipeline, "paper", e, &dir)?;
        let paper = plan::reproduce(repo, e, "paper")?;
        let grids = plan::ablation(repo, e)?;
        let proxies = ProxySweep {
            pipeline: &pipeline,
            e,
            dir: &dir,
            data: &data,
            data_hash: &data_hash,
            profile: "paper",
            train_args: Vec::new(),
            validation_methods: &paper.validation_methods,
            validation_args: Vec::new(),
        };
        if ABLATION_MEMBERS.contains(&e.as_str()) {
            if grids.dropout.is_empty() || grids.weight_decay.is_empty() {
                anyhow::bail!(
                    "datasets/{e}.toml: [ablation] needs dropout and weight_decay grids for \
                     {e}, a member of the regularizer ablation"
                );
            }
            ablations.push(ablation(&proxies, &paper, &grids)?);
        }
        sweeps.push(fine_sigma_sweep(&proxies, &grids)?);
    }
    write_report(&pipeline, &ablations, &sweeps, out)?;
    eprintln!(
        "[reproduce] ablation done in {:.0} s: {}",
        started.elapsed().as_secs_f64(),
        out.join("REPORT.md").display()
    );
    Ok(())
}

/// A trained proxy: its file and its stage's hash.
type Model = (String, String);

/// Trains each setting of one regularizer's grid, validates them together and chooses one.
/// Returns the chosen model.
fn choose_among(
    proxies: &ProxySweep<'_>,
    family: &str,
    grid: &[(f64, f64, Regularization)],
) -> Result<Model> {
    let models: Vec<Model> = grid
        .iter()
        .map(|(noise, penalty, reg)| proxies.train_regularized(*noise, *penalty, reg, 0))
        .collect::<Result<_>>()?;
    let validation = proxies.validate(&format!("ablation-{family}"), &models)?;
    let selection = proxies.select(&format!("ablation-{family}"), &[&validation])?;
    let (noise, penalty) = read_selection(&selection.0)?;
    let reg = read_regularization(&selection.0)?;
    let at = grid
        .iter()
        .position(|g| *g == (noise, penalty, reg))
        .with_context(|| {
            format!(
                "{}: the choice is none of the {family} settings trained",
                selection.0.display()
            )
        })?;
    Ok(models[at].clone())
}

/// The regularizers a selection file names (all off when it names none).
fn read_regularization(path: &Path) -> Result<Regularization> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let r = v.get("regularizers");
    let number = |k: &str| r.and_then(|r| r.get(k)).and_then(|x| x.as_f64());
    Ok(Regularization {
        dropout: number("dropout").unwrap_or(0.0),
        weight_decay: number("weight_decay").unwrap_or(0.0),
        spectral_norm: r
            .and_then(|r| r.get("spectral_norm"))
            .and_then(|x| x.as_bool())
            .unwrap_or(false),
    })
}

/// One member's ablation: the six regularizers, each chosen on validation (noise and the
/// penalty over the paper profile's grids, dropout and weight decay over the config's
/// `[ablation]` grids), scored on the test targets. Returns the evaluation file.
fn ablation(proxies: &ProxySweep<'_>, plan: &Plan, grids: &AblationPlan) -> Result<PathBuf> {
    let off = Regularization::default();
    let none = proxies.train(0.0, 0.0, 0)?;
    let noise_grid: Vec<_> = plan
        .noise
        .iter()
        .filter(|s| **s > 0.0)
        .map(|&s| (s, 0.0, off))
        .collect();
    let penalty_grid: Vec<_> = plan.penalty.iter().map(|&l| (0.0, l, off)).collect();
    let dropout_grid: Vec<_> = grids
        .dropout
        .iter()
        .map(|&p| {
            let reg = Regularization { dropout: p, ..off };
            (0.0, 0.0, reg)
        })
        .collect();
    let decay_grid: Vec<_> = grids
        .weight_decay
        .iter()
        .map(|&w| {
            let reg = Regularization {
                weight_decay: w,
                ..off
            };
            (0.0, 0.0, reg)
        })
        .collect();
    let spectral = Regularization {
        spectral_norm: true,
        ..off
    };
    let models = vec![
        none,
        choose_among(proxies, "noise", &noise_grid)?,
        choose_among(proxies, "penalty", &penalty_grid)?,
        choose_among(proxies, "dropout", &dropout_grid)?,
        choose_among(proxies, "weight-decay", &decay_grid)?,
        proxies.train_regularized(0.0, 0.0, &spectral, 0)?,
    ];
    evaluate_on_test(proxies, "ablation", &models, &grids.methods)
}

/// One member's fine σ sweep: every σ of the config's `fine_noise` at seed 0, then seeds 1 …
/// `fine_seeds − 1` at the validation choice and its two neighbours on the grid, scored on the
/// test targets. Returns the evaluation file.
fn fine_sigma_sweep(proxies: &ProxySweep<'_>, grids: &AblationPlan) -> Result<PathBuf> {
    let fine = &grids.fine_noise;
    let mut models: Vec<Model> = fine
        .iter()
        .map(|&s| proxies.train(s, 0.0, 0))
        .collect::<Result<_>>()?;
    let validation = proxies.validate("fine-sigma", &models)?;
    let selection = proxies.select("fine-sigma", &[&validation])?;
    let (chosen, _) = read_selection(&selection.0)?;
    let at = fine
        .iter()
        .position(|s| *s == chosen)
        .with_context(|| format!("{}: σ = {chosen} is off the grid", selection.0.display()))?;
    for s in interesting(at, fine.len()) {
        for seed in 1..grids.fine_seeds {
            models.push(proxies.train(fine[s], 0.0, seed)?);
        }
    }
    evaluate_on_test(proxies, "fine-sigma", &models, &grids.methods)
}

/// The grid indices of the validation choice `at` and its two neighbours (the two nearest on
/// one side at either end of a grid of `len`).
fn interesting(at: usize, len: usize) -> std::ops::Range<usize> {
    let start = at.saturating_sub(1).min(len.saturating_sub(3));
    start..(start + 3).min(len)
}

/// Stage: `models` scored once with `methods` on the test targets.
fn evaluate_on_test(
    proxies: &ProxySweep<'_>,
    name: &str,
    models: &[Model],
    methods: &str,
) -> Result<PathBuf> {
    let out = proxies.dir.join(format!("{name}-eval.json"));
    let hashes: Vec<&str> = models.iter().map(|m| m.1.as_str()).collect();
    let hash = fnv(&[
        hashes.join(",").as_bytes(),
        methods.as_bytes(),
        EVALUATE_REVISION,
        b"ablation v1",
    ]);
    let mut a: Vec<String> = vec![
        "evaluate".into(),
        "--data".into(),
        proxies.data.display().to_string(),
        "--split".into(),
        "test".into(),
        "--methods".into(),
        methods.into(),
        "--seed".into(),
        "0".into(),
        "--out".into(),
        out.display().to_string(),
        "--models".into(),
    ];
    a.extend(models.iter().map(|m| m.0.clone()));
    proxies
        .pipeline
        .stage(&format!("{}/evaluate {name}", proxies.e), &out, &hash, &a)?;
    Ok(out)
}

/// `proxyland ablation-report` over the evaluations: regenerated on every run.
fn write_report(
    pipeline: &Pipeline,
    ablations: &[PathBuf],
    sweeps: &[PathBuf],
    out: &Path,
) -> Result<()> {
    let s = |p: &Path| p.display().to_string();
    let mut report = Command::new(&pipeline.bin);
    report.args(["ablation-report", "--out", &s(out), "--force"]);
    report.args(["--timings".to_string(), s(&pipeline.timings)]);
    // The paper profile's own record: the stages both profiles share are counted there.
    let paper_timings = pipeline.timings.with_file_name("timings.txt");
    if paper_timings.exists() {
        report.args(["--shared-timings".to_string(), s(&paper_timings)]);
    }
    for a in ablations {
        report.args(["--ablation".to_string(), s(a)]);
    }
    for w in sweeps {
        report.args(["--sigma-sweep".to_string(), s(w)]);
    }
    let status = report.status()?;
    anyhow::ensure!(
        status.success(),
        "writing the ablation report failed ({status})"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interesting_sigmas_are_the_choice_and_its_neighbours_within_the_grid() {
        assert_eq!(interesting(3, 8), 2..5);
        assert_eq!(interesting(0, 8), 0..3);
        assert_eq!(interesting(7, 8), 5..8);
        assert_eq!(interesting(1, 2), 0..2);
    }
}
