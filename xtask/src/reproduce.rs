//! `cargo xtask reproduce`: the whole pipeline, driven through the release `proxyland` binary:
//! generate → train (σ sweep and one gradient penalty) → evaluate → figures → report.
//!
//! Each stage writes a stamp next to its output holding a hash of its inputs (config text,
//! profile, settings, and the stamps of the stages it reads). A rerun skips a stage whose output
//! exists with a matching stamp, so an interrupted reproduce resumes where it stopped; generation
//! and training also resume inside a stage (`--resume`).

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const EXPERIMENTS: [&str; 5] = ["gramacy-lee", "burgers", "ks", "billiards2d", "billiards4d"];
/// (σ, λ) of the proxies trained per experiment.
const REGULARIZATIONS: [(f64, f64); 5] =
    [(0.0, 0.0), (0.02, 0.0), (0.05, 0.0), (0.1, 0.0), (0.0, 0.1)];

fn fnv(parts: &[&[u8]]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.iter().chain(b"\x1f") {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

fn checkpoint_name(noise: f64, penalty: f64) -> String {
    if penalty > 0.0 {
        format!("proxy-l{penalty}")
    } else {
        format!("proxy-s{noise}")
    }
}

struct Pipeline {
    bin: PathBuf,
    timings: PathBuf,
    /// Stamps live under runs/, never next to figures in results/.
    stamps: PathBuf,
}

impl Pipeline {
    fn stamp_path(&self, label: &str) -> PathBuf {
        self.stamps
            .join(format!("{}.stamp", label.replace(['/', ' '], "_")))
    }

    /// Whether `output` is up to date for inputs hashed to `hash`.
    fn fresh(&self, label: &str, output: &Path, hash: &str) -> bool {
        output.exists()
            && std::fs::read_to_string(self.stamp_path(label)).is_ok_and(|s| s.trim() == hash)
    }

    /// Runs one stage unless its output is fresh; records its time.
    fn stage(&self, label: &str, output: &Path, hash: &str, args: &[String]) -> Result<()> {
        if self.fresh(label, output, hash) {
            eprintln!("[reproduce] {label}: up to date");
            // Report the time it took when it ran, so the report's total stays the pipeline's.
            let secs = std::fs::read_to_string(self.stamp_path(label).with_extension("seconds"))
                .ok()
                .and_then(|s| s.trim().parse::<f64>().ok())
                .unwrap_or(0.0);
            return self.record_time(label, secs);
        }
        if output.exists() {
            std::fs::remove_file(output)
                .with_context(|| format!("cannot replace stale {}", output.display()))?;
        }
        eprintln!("[reproduce] {label}: proxyland {}", args.join(" "));
        let started = Instant::now();
        let status = Command::new(&self.bin)
            .args(args)
            .status()
            .with_context(|| format!("cannot run {}", self.bin.display()))?;
        if !status.success() {
            bail!("{label} failed ({status}); fix the cause and rerun: finished stages are kept");
        }
        let secs = started.elapsed().as_secs_f64();
        std::fs::create_dir_all(&self.stamps)?;
        std::fs::write(self.stamp_path(label), hash)?;
        std::fs::write(
            self.stamp_path(label).with_extension("seconds"),
            format!("{secs:.1}"),
        )?;
        self.record_time(label, secs)
    }

    fn record_time(&self, label: &str, secs: f64) -> Result<()> {
        let mut lines = std::fs::read_to_string(&self.timings).unwrap_or_default();
        lines.push_str(&format!("{label} {secs:.1}\n"));
        std::fs::write(&self.timings, lines)?;
        Ok(())
    }
}

pub fn run(repo: &Path, args: &[String]) -> Result<()> {
    let mut profile = "quick".to_string();
    let mut experiments: Vec<String> = EXPERIMENTS.map(String::from).to_vec();
    let default_out = repo.join("results");
    let mut out = default_out.clone();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--profile" => profile = value()?,
            "--experiments" => experiments = value()?.split(',').map(String::from).collect(),
            "--out" => out = value()?.into(),
            other => {
                bail!("reproduce: unknown flag `{other}` (flags: --profile, --experiments, --out)")
            }
        }
    }
    if profile != "quick" && profile != "paper" {
        bail!("--profile must be `quick` or `paper`, got `{profile}`");
    }
    if let Some(bad) = experiments
        .iter()
        .find(|e| !EXPERIMENTS.contains(&e.as_str()))
    {
        bail!(
            "--experiments: unknown `{bad}` (known: {})",
            EXPERIMENTS.join(", ")
        );
    }
    let started = Instant::now();
    crate::cargo(
        repo,
        &["build", "--release", "--locked", "--package", "proxyland"],
    )?;
    let runs = repo.join("runs").join(&profile);
    std::fs::create_dir_all(&runs)?;
    let pipeline = Pipeline {
        bin: repo.join("target/release/proxyland"),
        timings: runs.join("timings.txt"),
        stamps: runs.join("stamps"),
    };
    let _ = std::fs::remove_file(&pipeline.timings);
    let s = |p: &Path| p.display().to_string();
    for e in &experiments {
        let dir = runs.join(e);
        std::fs::create_dir_all(&dir)?;
        let config = repo.join("datasets").join(format!("{e}.toml"));
        let config_text =
            std::fs::read(&config).with_context(|| format!("cannot read {}", config.display()))?;
        let data = dir.join("data.h5");
        let data_hash = fnv(&[&config_text, profile.as_bytes(), b"generate v1"]);
        pipeline.stage(
            &format!("{e}/generate"),
            &data,
            &data_hash,
            &[
                "generate".into(),
                "--config".into(),
                s(&config),
                "--profile".into(),
                profile.clone(),
                "--out".into(),
                s(&data),
                "--resume".into(),
            ],
        )?;
        let mut models = Vec::new();
        let mut model_hashes = Vec::new();
        for (noise, penalty) in REGULARIZATIONS {
            let model = dir.join(format!("{}.safetensors", checkpoint_name(noise, penalty)));
            let hash = fnv(&[
                data_hash.as_bytes(),
                noise.to_string().as_bytes(),
                penalty.to_string().as_bytes(),
                b"train v1",
            ]);
            pipeline.stage(
                &format!("{e}/train {}", checkpoint_name(noise, penalty)),
                &model,
                &hash,
                &[
                    "train".into(),
                    "--data".into(),
                    s(&data),
                    "--out".into(),
                    s(&model),
                    "--noise".into(),
                    noise.to_string(),
                    "--penalty".into(),
                    penalty.to_string(),
                    "--profile".into(),
                    profile.clone(),
                    "--device".into(),
                    "auto".into(),
                    "--resume".into(),
                ],
            )?;
            models.push(s(&model));
            model_hashes.push(hash);
        }
        // Steepest descent spends ~1200 calls per target in its line searches: it runs in the
        // paper profile only, to keep the quick profile within its time budget.
        let methods = if profile == "quick" {
            "bfgs,lbfgs,adam,proxy,proxy-bfgs,proxy-multistart,pool-bfgs,multistart-bfgs,cmaes,de"
        } else {
            "all"
        };
        let eval = dir.join("eval.json");
        let eval_hash = fnv(&[
            model_hashes.join(",").as_bytes(),
            methods.as_bytes(),
            b"evaluate v2",
        ]);
        let mut args: Vec<String> = vec![
            "evaluate".into(),
            "--data".into(),
            s(&data),
            "--methods".into(),
            methods.into(),
            "--seed".into(),
            "0".into(),
            "--out".into(),
            s(&eval),
            "--models".into(),
        ];
        args.extend(models.iter().cloned());
        pipeline.stage(&format!("{e}/evaluate"), &eval, &eval_hash, &args)?;
        // Landscapes through the first held-out target: the true loss beside each proxy.
        let figs = out.join(e);
        std::fs::create_dir_all(&figs)?;
        let grid = if profile == "quick" { "48" } else { "100" };
        let figure = |name: &str, model: Option<&String>| -> Result<()> {
            let png = figs.join(format!("landscape-{name}.png"));
            let mut a: Vec<String> = vec![
                "landscape".into(),
                "--experiment".into(),
                e.clone(),
                "--data".into(),
                s(&data),
                "--grid".into(),
                grid.into(),
                "--results".into(),
                s(&eval),
                "--out".into(),
                s(&png),
            ];
            if let Some(m) = model {
                a.push("--model".into());
                a.push(m.clone());
            }
            let h = fnv(&[
                eval_hash.as_bytes(),
                name.as_bytes(),
                grid.as_bytes(),
                b"figure v2",
            ]);
            pipeline.stage(&format!("{e}/figure {name}"), &png, &h, &a)
        };
        figure("true", None)?;
        for ((noise, penalty), m) in REGULARIZATIONS.iter().zip(&models) {
            let name = if *penalty > 0.0 {
                format!("l{penalty}")
            } else {
                format!("s{noise}")
            };
            figure(&name, Some(m))?;
        }
    }
    let mut report = Command::new(&pipeline.bin);
    report.args([
        "report",
        "--runs",
        &s(&runs),
        "--out",
        &s(&out),
        "--profile",
        &profile,
        "--timings",
        &s(&pipeline.timings),
        "--experiments",
        &experiments.join(","),
    ]);
    report.args(["--configs".to_string(), s(&repo.join("datasets"))]);
    // Each profile's sizes, times and headline sit beside the others', whichever this run is.
    for other in ["quick", "paper"] {
        let dir = repo.join("runs").join(other);
        report.args(["--profile-runs".to_string(), format!("{other}={}", s(&dir))]);
    }
    // Only the default output owns README's headline: a paper run into results/paper, or a
    // subset of experiments elsewhere, must not overwrite it.
    if out == default_out {
        report.args(["--readme".to_string(), s(&repo.join("README.md"))]);
    }
    let status = report.status()?;
    if !status.success() {
        bail!("writing the report failed ({status})");
    }
    eprintln!(
        "[reproduce] done in {:.0} s: {}",
        started.elapsed().as_secs_f64(),
        out.join("REPORT.md").display()
    );
    Ok(())
}
