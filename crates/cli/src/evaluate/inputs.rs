//! An evaluation's inputs, read and checked before any work: pool, targets, methods, networks.

use super::Args;
use crate::args::read_results;
use crate::output;
use anyhow::{Context, Result, bail};
use proxyland_dataset::{ExperimentConfig, Pool};
use proxyland_optim::{InverseGuesses, METHOD_NAMES, Method, Selection, Target, TargetSplit};
use proxyland_physics::{Simulator, sample_target};
use proxyland_proxy::{Adaptation, InverseModel, Proxy};
use std::path::{Path, PathBuf};

/// The most synthetic targets one evaluation draws (each is a simulation kept in memory).
const MAX_TARGETS: usize = 100_000;

/// Checks --out against every input, and the number of --targets, before any work.
pub(super) fn check_arguments(args: &Args) -> Result<()> {
    let mut inputs: Vec<(&str, &Path)> = Vec::new();
    if let Some(c) = &args.config {
        inputs.push(("--config", c));
    }
    if let Some(d) = &args.data {
        inputs.push(("--data", d));
    }
    if let Some(s) = &args.selection {
        inputs.push(("--selection", s));
    }
    if let Some(u) = &args.budget_units_from {
        inputs.push(("--budget-units-from", u));
    }
    inputs.extend(args.models.iter().map(|m| ("--models", m.as_path())));
    inputs.extend(
        args.inverse_models
            .iter()
            .map(|m| ("--inverse-models", m.as_path())),
    );
    output::check_output("--out", &args.out, &inputs, args.force)?;
    if let Some(n) = args.targets {
        if n == 0 || n > MAX_TARGETS {
            bail!("--targets {n}: give 1 to {MAX_TARGETS} targets");
        }
    }
    Ok(())
}

/// The experiment config and the pool: the pool carries its own config, which a --config given
/// beside it must match.
pub(super) fn config_and_pool(args: &Args) -> Result<(ExperimentConfig, Option<Pool>)> {
    Ok(match (&args.config, &args.data) {
        (_, Some(data)) => {
            let pool = Pool::open(data)?;
            let config = ExperimentConfig::parse(data, &pool.header.config_text)?;
            if let Some(c) = &args.config {
                let given = ExperimentConfig::load(c)?;
                if given.experiment != config.experiment {
                    bail!(
                        "--config {} is for {}, but --data {} holds {}",
                        c.display(),
                        given.experiment,
                        data.display(),
                        config.experiment
                    );
                }
            }
            (config, Some(pool))
        }
        (Some(c), None) => (ExperimentConfig::load(c)?, None),
        (None, None) => bail!("give --data (a pool with held-out targets) or --config"),
    })
}

/// The targets: the pool's held-out ones of the split, or --targets drawn with --seed.
pub(super) fn targets_of(
    args: &Args,
    pool: Option<&Pool>,
    sim: &dyn Simulator,
) -> Result<Vec<Target>> {
    let targets: Vec<Target> = match (args.targets, pool) {
        (None, Some(pool)) => {
            let (params, trajectories) = match args.split {
                TargetSplit::Test => (&pool.target_params, &pool.target_trajectories),
                TargetSplit::Validation => (&pool.validation_params, &pool.validation_trajectories),
            };
            (0..params.nrows())
                .map(|i| Target {
                    x: params.row(i).to_vec(),
                    y: trajectories.index_axis(ndarray::Axis(0), i).to_owned(),
                })
                .collect()
        }
        (n, _) => {
            let n = n.unwrap_or(50);
            let seed = match args.split {
                TargetSplit::Test => proxyland_dataset::target_seed(args.seed),
                TargetSplit::Validation => proxyland_dataset::validation_seed(args.seed),
            };
            (0..n as u64)
                .map(|j| {
                    let (x, y) = sample_target(sim, seed, j)?;
                    Ok(Target { x, y })
                })
                .collect::<Result<_>>()?
        }
    };
    Ok(targets)
}

/// The methods to run (`all` expanded to what the inputs allow), parsed, each refused where an
/// input it needs is missing.
pub(super) fn methods_of(args: &Args, pool: Option<&Pool>) -> Result<(Vec<String>, Vec<Method>)> {
    let methods: Vec<String> = if args.methods.iter().any(|m| m == "all") {
        let mut all: Vec<String> = METHOD_NAMES.iter().map(|s| s.to_string()).collect();
        if args.models.is_empty() {
            all.retain(|m| !m.starts_with("proxy"));
        }
        // `all` is the paper's protocol and its baselines; inverse-pool, a study of the
        // refine profile, is asked for by name (and so no cached `all` run changes meaning).
        all.retain(|m| {
            m != "inverse-pool"
                && Method::parse(m, 0).is_ok_and(|method| {
                    !(method.needs_inverse() && args.inverse_models.is_empty()
                        || method.needs_library() && pool.is_none())
                })
        });
        all
    } else {
        args.methods.clone()
    };
    let parsed: Vec<Method> = methods
        .iter()
        .map(|m| Method::parse(m, 0))
        .collect::<Result<_, _>>()?;
    for (m, method) in methods.iter().zip(&parsed) {
        if method.needs_library() && pool.is_none() {
            bail!("--methods {m} searches the training pool: give --data");
        }
        if method.needs_surrogate() && args.models.is_empty() {
            bail!("--methods {m} needs trained proxies: give --models");
        }
        if method.needs_inverse() && args.inverse_models.is_empty() {
            bail!("--methods {m} needs trained inverse networks: give --inverse-models");
        }
    }
    Ok((methods, parsed))
}

/// Loads trained proxies once; every thread of an evaluation shares them.
pub(super) fn load_models(paths: &[PathBuf], sim: &dyn Simulator) -> Result<Vec<Proxy>> {
    paths
        .iter()
        .map(|p| {
            let proxy = Proxy::load(p)?;
            proxy.check_compatible(sim)?;
            Ok(proxy)
        })
        .collect()
}

/// The budget units recorded in `--budget-units-from`, refused when the file is another
/// experiment's or records none.
pub(super) fn budget_units_from(
    path: Option<&Path>,
    experiment: &str,
) -> Result<Option<Vec<proxyland_optim::BudgetUnit>>> {
    let Some(path) = path else { return Ok(None) };
    let results =
        read_results(path).with_context(|| format!("--budget-units-from {}", path.display()))?;
    if results.experiment != experiment {
        bail!(
            "--budget-units-from {}: its budgets are {}'s, this evaluation is {experiment}'s",
            path.display(),
            results.experiment
        );
    }
    let units = results.budget_units;
    if units.is_empty() {
        bail!(
            "--budget-units-from {}: the file records no budget units (it ran no baseline \
             beside a proxy method)",
            path.display()
        );
    }
    Ok(Some(units))
}

/// A selection written by `proxyland select`.
pub(super) fn read_selection(path: &Path) -> Result<Selection> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--selection {}: cannot read", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "--selection {}: not a selection file (write one with `proxyland select`)",
            path.display()
        )
    })
}

/// Each inverse network's prediction for every target (one batch each: a forward pass) and,
/// with test-time training, a second start per network from that training on the targets.
pub(super) fn inverse_guesses(
    paths: &[PathBuf],
    adaptation: Option<Adaptation>,
    sim: &dyn Simulator,
    targets: &[Target],
) -> Result<Vec<InverseGuesses>> {
    let ys: Vec<_> = targets.iter().map(|t| t.y.clone()).collect();
    let mut all = Vec::new();
    for p in paths {
        let net =
            InverseModel::load(p).with_context(|| format!("--inverse-models {}", p.display()))?;
        net.check_compatible(sim)?;
        let meta = net.meta();
        let plain = InverseGuesses {
            variant: meta.variant.name().to_string(),
            path: p.clone(),
            u: net.predict(&ys)?,
            training_sim_calls: meta.training.sim_calls(),
            training_field_solves: meta.training.field_solves(sim.tangent_cost()),
            adaptation_calls: 0,
            adaptation_seconds: 0.0,
            training_seconds: meta.training.seconds,
        };
        all.push(plain.clone());
        if let Some(adaptation) = adaptation {
            let adapted = net
                .adapt(sim, &ys, adaptation)
                .with_context(|| format!("test-time training of {}", p.display()))?;
            all.push(InverseGuesses {
                variant: format!("{}+tt", plain.variant),
                u: adapted.u,
                adaptation_calls: adapted.calls_per_observation,
                adaptation_seconds: adapted.seconds / ys.len().max(1) as f64,
                ..plain
            });
        }
    }
    Ok(all)
}
