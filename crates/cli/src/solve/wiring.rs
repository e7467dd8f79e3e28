//! What a solve runs with: simulator, method (unused flags refused), starts, proxy, settings.

use super::SolveArgs;
use crate::args::{horizon_is_continuation, inside_box, parse_params};
use anyhow::{Context, Result, bail};
use proxyland_dataset::{ExperimentConfig, Pool};
use proxyland_optim::{LocalSettings, Method, Refine};
use proxyland_physics::{Simulator, Trajectory};
use proxyland_proxy::Proxy;

/// The largest simulator budget `--budget` accepts: past it a solve runs for days.
const MAX_BUDGET: usize = 1_000_000;

/// The simulator: the pool's own config when one is given (its resolution and horizon), else
/// the experiment's spec settings.
pub(super) fn simulator(args: &SolveArgs) -> Result<(Box<dyn Simulator>, Option<Pool>)> {
    match &args.data {
        Some(d) => {
            let pool = Pool::open(d)?;
            let config = ExperimentConfig::parse(d, &pool.header.config_text)?;
            if config.experiment != args.experiment {
                bail!(
                    "--data {} holds {}, not {}",
                    d.display(),
                    config.experiment,
                    args.experiment
                );
            }
            Ok((config.simulator()?, Some(pool)))
        }
        None => Ok((proxyland_physics::experiment(&args.experiment)?, None)),
    }
}

/// The method, with every flag it would ignore refused by name.
pub(super) fn method_of(args: &SolveArgs) -> Result<(String, Method)> {
    // The defaults are what results/scaling/REFINE.md measured best at every d: the inverse
    // network's start ahead of the pool's where both are given, the pool's alone otherwise.
    let name = match (&args.method, &args.data, &args.inverse_model) {
        (Some(m), _, _) => m.clone(),
        (None, Some(_), Some(_)) => "inverse-pool".into(),
        (None, Some(_), None) => "pool-bfgs".into(),
        (None, None, Some(_)) => "inverse-net".into(),
        (None, None, None) => "multistart-bfgs".into(),
    };
    let budget = args.budget.unwrap_or(500);
    if budget == 0 || budget > MAX_BUDGET {
        bail!("--budget {budget}: give 1 to {MAX_BUDGET} simulator calls");
    }
    let method = Method::parse(&name, budget)?;
    if method.needs_inverse() && args.inverse_model.is_none() {
        bail!("--method {name} needs --inverse-model (a network from `proxyland train-inverse`)");
    }
    let unused = [
        (args.budget.is_some() && !method.is_budgeted(), "--budget"),
        // inverse-net starts from its network's prediction.
        (
            !args.init.is_empty() && (!method.uses_start() || method.needs_inverse()),
            "--init",
        ),
        (args.model.is_some() && !method.needs_surrogate(), "--model"),
        (
            args.inverse_model.is_some() && !method.needs_inverse(),
            "--inverse-model",
        ),
        (
            args.horizon.is_some() && !method.uses_continuation(),
            "--horizon",
        ),
        (args.refine.is_some() && !method.refines(), "--refine"),
        (
            args.stop_at_fit
                && !matches!(
                    method,
                    Method::PoolBfgs { .. }
                        | Method::InversePool { .. }
                        | Method::ProxyMultistart { .. }
                ),
            "--stop-at-fit",
        ),
    ];
    if let Some((_, flag)) = unused.iter().find(|(unused, _)| *unused) {
        bail!(
            "{flag} is not used by --method {name}; leave it out or choose a method that uses it"
        );
    }
    Ok((name, method))
}

/// The start of single-start methods given by --init, in unit coordinates (None: not given).
pub(super) fn init_start(args: &SolveArgs, sim: &dyn Simulator) -> Result<Option<Vec<f64>>> {
    if args.init.is_empty() {
        return Ok(None);
    }
    let space = sim.param_space();
    let x0 = parse_params(&args.init, "--init")?;
    if !args.fold {
        inside_box(sim, &x0, "--init")?;
    }
    Ok(Some(space.to_unit(&space.fold(&x0).0)))
}

/// The inverse network's starts, one per observation, predicted in one batch.
pub(super) fn predicted_starts(
    args: &SolveArgs,
    sim: &dyn Simulator,
    observations: &[Trajectory],
) -> Result<Option<Vec<Vec<f64>>>> {
    match &args.inverse_model {
        Some(p) => {
            let net = proxyland_proxy::InverseModel::load(p)
                .with_context(|| format!("--inverse-model {}", p.display()))?;
            net.check_compatible(sim)?;
            Ok(Some(net.predict(observations)?))
        }
        None => Ok(None),
    }
}

/// The trained proxy of --model, refused as missing where the method needs one.
pub(super) fn proxy_of(
    args: &SolveArgs,
    sim: &dyn Simulator,
    method: &Method,
    method_name: &str,
) -> Result<Option<Proxy>> {
    match (&args.model, method.needs_surrogate()) {
        (Some(p), _) => {
            let proxy = Proxy::load(p)?;
            proxy.check_compatible(sim)?;
            Ok(Some(proxy))
        }
        (None, true) => bail!("--method {method_name} needs --model (a trained proxy)"),
        (None, false) => Ok(None),
    }
}

/// How the method refines on the true loss. No noise-level stop here: a solve converges fully,
/// so its χ² and its other minima are what the verdict judges, unless --stop-at-fit trades the
/// other minima for calls; then a single --noise-std σ is the level a start must reach to fit
/// (and at which LM stops). A file of σ per value keeps the exact-fit rule: the stop tests take
/// one σ.
pub(super) fn settings_of(args: &SolveArgs, method: &Method) -> Result<LocalSettings> {
    let noise_std = if args.stop_at_fit {
        args.noise_std
            .as_deref()
            .and_then(|text| text.trim().parse::<f64>().ok())
            .filter(|sigma| *sigma > 0.0 && sigma.is_finite())
    } else {
        None
    };
    Ok(LocalSettings {
        refine: Refine::parse(args.refine.as_deref().unwrap_or("lm"))
            .map_err(|e| anyhow::anyhow!("--refine: {e}"))?,
        continuation: method.uses_continuation()
            && horizon_is_continuation(args.horizon.as_deref(), true)?,
        stop_at_fit: args.stop_at_fit,
        noise_std,
        ..LocalSettings::default()
    })
}
