//! What `cargo xtask reproduce` runs on an experiment's pools: the proxy sweep, the seeds and
//! the methods of each profile (`[profile.<name>.reproduce]`), the regularizer ablation
//! (`[ablation]`) and the refine profile's studies on a scaling-family member (`[refine]`). They live in the experiment's config, beside the sizes they go with, so that
//! a study is changed by editing data, not xtask's code. This crate does not run them; it
//! checks their shape with the rest of the file, so that a malformed plan fails `generate`
//! (the pipeline's first stage) with the key's name. Method names are the optimizer's to know:
//! a misspelt one fails the first stage that runs it. A pool does not depend on its plans
//! ([`crate::ExperimentConfig::data_text`]).

use serde::{Deserialize, Serialize};

/// One profile's plan (`[profile.<name>.reproduce]`).
///
/// ```
/// let plan: proxyland_dataset::ReproducePlan = toml::from_str(
///     r#"
///     noise = [0.0, 0.02, 0.05]
///     penalty = [1e-3, 1e-2]
///     seeds = 3
///     validation_methods = ["proxy-bfgs", "proxy-multistart"]
///     methods = ["all"]
///     "#,
/// )?;
/// assert!(plan.check().is_ok());
/// assert!(plan.budgets.is_none()); // the evaluation's own default (1× and 10× in calls)
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReproducePlan {
    /// σ of the noise-injection sweep, trained at λ = 0 and chosen on the validation targets.
    pub noise: Vec<f64>,
    /// λ of the gradient-penalty sweep, trained at the chosen σ (none: no λ stage).
    #[serde(default)]
    pub penalty: Vec<f64>,
    /// Seeds of the chosen configuration; the sweep itself is seed 0.
    pub seeds: u64,
    /// Methods scored on the validation targets to choose σ and λ.
    pub validation_methods: Vec<String>,
    /// Methods scored on the test targets (`all`: every one the inputs allow).
    pub methods: Vec<String>,
    /// Baselines' budgets as multiples of each surrogate method's spend in simulator calls
    /// (absent: the evaluation's default).
    #[serde(default)]
    pub budgets: Option<Vec<usize>>,
    /// Baselines' budgets as multiples of that spend in field solves (absent: none).
    #[serde(default)]
    pub solve_budgets: Option<Vec<usize>>,
    /// The baselines that also run at the multiples above 1 (absent: all of them).
    #[serde(default)]
    pub large_budget_baselines: Option<Vec<String>>,
}

/// The regularizer ablation on the paper profile's pool (`[ablation]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AblationPlan {
    /// Dropout rates, each trained alone and chosen on validation.
    #[serde(default)]
    pub dropout: Vec<f64>,
    /// Decoupled weight decays, likewise.
    #[serde(default)]
    pub weight_decay: Vec<f64>,
    /// The fine σ sweep (λ = 0, seed 0).
    pub fine_noise: Vec<f64>,
    /// Seeds added at the validation choice of the fine sweep and at its two grid neighbours.
    pub fine_seeds: u64,
    /// Methods every ablated proxy is scored with.
    pub methods: Vec<String>,
}

/// The refine profile's studies on one scaling-family member (`[refine]`,
/// results/scaling/REFINE.md) beyond the ones every member gets (`pool-bfgs` under BFGS, LM and
/// BFGS+LM, continuation, `proxyland limits`): whether the learned-start studies run, and the
/// nested pool sizes of the data requirement. An empty table runs the common studies only.
///
/// ```
/// let plan: proxyland_dataset::RefinePlan = toml::from_str(
///     r#"
///     learned_starts = true
///     pool_sizes = [1024, 16384]
///     "#,
/// )?;
/// assert!(plan.check().is_ok());
/// assert_eq!(plan.confirmation_targets, 30); // the default
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefinePlan {
    /// Whether a supervised inverse network is trained and the learned-start studies run
    /// (one-shot and under continuation, then a confirmation on fresh targets).
    #[serde(default)]
    pub learned_starts: bool,
    /// Nested pool sizes of the data requirement, beside the scaling pool (needs
    /// `learned_starts`).
    #[serde(default)]
    pub pool_sizes: Vec<usize>,
    /// Fresh targets of the confirmation.
    #[serde(default = "default_confirmation_targets")]
    pub confirmation_targets: usize,
    /// Seed of the fresh targets (their own stream, apart from the pool's splits).
    #[serde(default = "default_confirmation_seed")]
    pub confirmation_seed: u64,
}

fn default_confirmation_targets() -> usize {
    30
}

fn default_confirmation_seed() -> u64 {
    1000
}

impl RefinePlan {
    /// Why the plan cannot run, naming the key; `Ok` when it can.
    pub fn check(&self) -> Result<(), String> {
        if self.pool_sizes.contains(&0) {
            return Err(format!(
                "pool_sizes = {:?}: each must be positive",
                self.pool_sizes
            ));
        }
        if !self.pool_sizes.is_empty() && !self.learned_starts {
            return Err("pool_sizes: the data requirement measures learned starts; \
                        set learned_starts = true or leave pool_sizes out"
                .into());
        }
        if self.confirmation_targets == 0 {
            return Err("confirmation_targets = 0: give at least one".into());
        }
        Ok(())
    }
}

impl ReproducePlan {
    /// Why the plan cannot run, naming the key; `Ok` when it can.
    pub fn check(&self) -> Result<(), String> {
        check_grid("noise", &self.noise, true)?;
        check_grid("penalty", &self.penalty, false)?;
        if self.seeds == 0 {
            return Err("seeds = 0: the sweep needs at least seed 0".into());
        }
        check_methods("validation_methods", &self.validation_methods)?;
        check_methods("methods", &self.methods)?;
        for (key, multiples) in [
            ("budgets", &self.budgets),
            ("solve_budgets", &self.solve_budgets),
        ] {
            if let Some(m) = multiples
                && (m.is_empty() || m.contains(&0))
            {
                return Err(format!(
                    "{key} = {m:?}: give positive multiples (1, 10), or leave the key out"
                ));
            }
        }
        if let Some(b) = &self.large_budget_baselines {
            check_methods("large_budget_baselines", b)?;
        }
        Ok(())
    }
}

impl AblationPlan {
    /// Why the plan cannot run, naming the key; `Ok` when it can.
    pub fn check(&self) -> Result<(), String> {
        for (key, rates) in [
            ("dropout", &self.dropout),
            ("weight_decay", &self.weight_decay),
        ] {
            if rates.iter().any(|r| !(*r > 0.0 && *r < 1.0)) {
                return Err(format!("{key} = {rates:?}: each must lie in (0, 1)"));
            }
        }
        check_grid("fine_noise", &self.fine_noise, true)?;
        check_methods("methods", &self.methods)
    }
}

/// A grid of finite, non-negative, distinct values (zero allowed where `zero_ok`).
fn check_grid(key: &str, grid: &[f64], zero_ok: bool) -> Result<(), String> {
    let bad = grid
        .iter()
        .any(|v| !v.is_finite() || *v < 0.0 || (*v == 0.0 && !zero_ok));
    if bad || (zero_ok && grid.is_empty()) {
        let want = if zero_ok {
            "≥ 0, at least one"
        } else {
            "> 0"
        };
        return Err(format!(
            "{key} = {grid:?}: values must be finite and {want}"
        ));
    }
    let mut sorted = grid.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    if sorted.len() != grid.len() {
        return Err(format!("{key} = {grid:?}: a value is repeated"));
    }
    Ok(())
}

fn check_methods(key: &str, methods: &[String]) -> Result<(), String> {
    if methods.is_empty()
        || methods
            .iter()
            .any(|m| m.trim().is_empty() || m.contains(','))
    {
        return Err(format!(
            "{key} = {methods:?}: give at least one method, one name per string"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> ReproducePlan {
        ReproducePlan {
            noise: vec![0.0, 0.05],
            penalty: vec![1e-3],
            seeds: 1,
            validation_methods: vec!["proxy-multistart".into()],
            methods: vec!["all".into()],
            budgets: None,
            solve_budgets: Some(vec![1, 10]),
            large_budget_baselines: Some(vec!["de".into()]),
        }
    }

    #[test]
    fn each_bad_key_is_named() {
        assert!(plan().check().is_ok());
        type Spoil = fn(&mut ReproducePlan);
        let cases: [(&str, Spoil); 7] = [
            ("budgets", |p| p.budgets = Some(Vec::new())),
            ("noise", |p| p.noise = vec![-0.1]),
            ("noise", |p| p.noise = vec![0.05, 0.05]),
            ("penalty", |p| p.penalty = vec![0.0]),
            ("seeds", |p| p.seeds = 0),
            ("methods", |p| p.methods = vec!["bfgs,de".into()]),
            ("solve_budgets", |p| p.solve_budgets = Some(vec![0])),
        ];
        for (key, spoil) in cases {
            let mut p = plan();
            spoil(&mut p);
            let e = p.check().unwrap_err();
            assert!(e.starts_with(key), "{key}: {e}");
        }
    }

    #[test]
    fn a_refine_plan_names_its_bad_key() {
        let good = RefinePlan {
            learned_starts: true,
            pool_sizes: vec![1024],
            confirmation_targets: 30,
            confirmation_seed: 1000,
        };
        assert!(good.check().is_ok());
        let sizes_alone = RefinePlan {
            learned_starts: false,
            ..good.clone()
        };
        assert!(sizes_alone.check().unwrap_err().starts_with("pool_sizes"));
        let no_targets = RefinePlan {
            confirmation_targets: 0,
            ..good.clone()
        };
        assert!(
            no_targets
                .check()
                .unwrap_err()
                .starts_with("confirmation_targets")
        );
        // Every shipped scaling member has one, and they parse.
        let empty: RefinePlan = toml::from_str("").unwrap();
        assert!(!empty.learned_starts && empty.check().is_ok());
    }

    #[test]
    fn ablation_rates_must_be_fractions() {
        let mut a = AblationPlan {
            dropout: vec![0.1],
            weight_decay: vec![1e-3],
            fine_noise: vec![0.0, 0.001],
            fine_seeds: 2,
            methods: vec!["proxy-bfgs".into()],
        };
        assert!(a.check().is_ok());
        a.dropout = vec![1.0];
        assert!(a.check().unwrap_err().starts_with("dropout"));
    }
}
