//! Choosing the headline surrogate configuration (σ, λ) on validation targets, never on the test
//! split: the rule every profile applies.

use crate::error::{Error, Result};
use crate::methods::Family;
use crate::results::{Candidate, Regularizers, Results, Selection, SurrogateConfig, TargetSplit};

/// The rule [`select_configuration`] applies, in words (it goes into every results file).
pub const SELECTION_RULE: &str = "highest proxy-multistart success on the validation targets \
    (mean over seeds); ties broken by the lower median argmin error of the surrogate alone, \
    then by the smaller σ and λ";

/// Chooses the headline surrogate configuration (σ, λ) on validation evaluations: one file, or
/// several of the same targets (a σ sweep, then a λ sweep at the chosen σ).
///
/// ```no_run
/// # let validation: proxyland_optim::Results = unimplemented!();
/// let choice = proxyland_optim::select_configuration(&[&validation])?;
/// println!("σ = {}, λ = {}", choice.noise, choice.penalty);
/// # Ok::<(), proxyland_optim::Error>(())
/// ```
pub fn select_configuration(validations: &[&Results]) -> Result<Selection> {
    let Some(first) = validations.first() else {
        return Err(Error::invalid("validation", "no validation results given"));
    };
    for v in validations {
        if v.split != TargetSplit::Validation {
            return Err(Error::invalid(
                "split",
                format!(
                    "configurations are chosen on validation targets; this evaluation is of the {} split",
                    v.split.name()
                ),
            ));
        }
        if v.experiment != first.experiment || v.targets != first.targets || v.seed != first.seed {
            return Err(Error::invalid(
                "validation",
                format!(
                    "results of different evaluations ({} with {} targets and seed {}, {} with {} and {}) cannot be compared",
                    first.experiment, first.targets, first.seed, v.experiment, v.targets, v.seed
                ),
            ));
        }
    }
    // Setting (σ, λ, other regularizers) → (success rates over seeds, argmin errors over
    // seeds); a surrogate evaluated in two files counts once.
    let mut seen: Vec<SurrogateConfig> = Vec::new();
    let mut settings: Vec<Setting> = Vec::new();
    for v in validations {
        for s in v
            .methods
            .iter()
            .filter(|s| s.id.family == Family::ProxyMultistart)
        {
            let Some(c) = s.id.surrogate else { continue };
            if seen.contains(&c) {
                continue;
            }
            seen.push(c);
            let argmin = v
                .surrogates
                .iter()
                .find(|r| SurrogateConfig::of(&r.info) == c)
                .map_or(f64::INFINITY, |r| r.quality.median_argmin_error);
            let key = (c.noise, c.penalty, c.regularizers);
            match settings.iter_mut().find(|t| t.key == key) {
                Some(t) => {
                    t.rates.push(s.success_rate);
                    t.errors.push(argmin);
                }
                None => settings.push(Setting {
                    key,
                    rates: vec![s.success_rate],
                    errors: vec![argmin],
                }),
            }
        }
    }
    let best = settings
        .iter()
        .max_by(|a, b| {
            a.success()
                .total_cmp(&b.success())
                .then(b.argmin_error().total_cmp(&a.argmin_error()))
                .then(b.key.0.total_cmp(&a.key.0))
                .then(b.key.1.total_cmp(&a.key.1))
                .then(weaker(&a.key.2, &b.key.2))
        })
        .ok_or(Error::Missing {
            method: "select_configuration".into(),
            what: "proxy-multistart results of at least one surrogate",
        })?;
    let regularized = settings.iter().any(|t| !t.key.2.is_off());
    Ok(Selection {
        noise: best.key.0,
        penalty: best.key.1,
        regularizers: best.key.2,
        rule: if regularized {
            format!("{SELECTION_RULE}, then by the weaker dropout, weight decay and spectral norm")
        } else {
            SELECTION_RULE.to_string()
        },
        validation_targets: first.targets,
        validation_success: best.success(),
        validation_argmin_error: best.argmin_error(),
        candidates: settings
            .iter()
            .map(|t| Candidate {
                noise: t.key.0,
                penalty: t.key.1,
                regularizers: t.key.2,
                validation_success: t.success(),
            })
            .collect(),
    })
}

/// One setting's validation numbers, one entry per seed.
struct Setting {
    key: (f64, f64, Regularizers),
    rates: Vec<f64>,
    errors: Vec<f64>,
}

impl Setting {
    fn success(&self) -> f64 {
        self.rates.iter().sum::<f64>() / self.rates.len() as f64
    }
    fn argmin_error(&self) -> f64 {
        self.errors.iter().sum::<f64>() / self.errors.len() as f64
    }
}

/// Orders regularizers from weaker to stronger: dropout, then weight decay, then the spectral
/// norm off before on. `Greater` when `a` is the weaker.
fn weaker(a: &Regularizers, b: &Regularizers) -> std::cmp::Ordering {
    b.dropout
        .total_cmp(&a.dropout)
        .then(b.weight_decay.total_cmp(&a.weight_decay))
        .then(b.spectral_norm.cmp(&a.spectral_norm))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::MethodSummary;

    /// A validation file holding proxy-multistart runs of these settings.
    fn validation(runs: &[(Regularizers, f64)]) -> Results {
        let methods: Vec<MethodSummary> = runs
            .iter()
            .map(|(regularizers, success)| {
                let mut s: MethodSummary = serde_json::from_value(serde_json::json!({
                    "label": "m", "id": {"family": "proxy-multistart"}, "n": 20,
                    "successes": 0, "success_rate": 0.0, "success_interval": [0.0, 1.0],
                    "median_resim_loss": 0.0, "median_param_error": 0.0,
                    "mean_sim_calls": 0.0, "wall_s": 0.0, "failed_runs": 0, "headline": false
                }))
                .unwrap();
                s.success_rate = *success;
                s.id.surrogate = Some(SurrogateConfig {
                    noise: 0.0,
                    penalty: 0.0,
                    regularizers: *regularizers,
                    seed: 0,
                });
                s
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "experiment": "burgers", "spec_version": 3, "split": "validation", "seed": 0,
            "targets": 20, "proxyland_version": "test", "environment": {"machine": "", "threads": 1, "notes": []},
            "pool_simulations": null, "selection": null, "budget_units": [],
            "methods": methods, "surrogates": [], "rows": []
        }))
        .unwrap()
    }

    fn dropout(p: f64) -> Regularizers {
        Regularizers {
            dropout: p,
            ..Regularizers::default()
        }
    }

    #[test]
    fn a_regularizer_family_is_chosen_by_validation_success_then_the_weaker_strength() {
        let v = validation(&[
            (dropout(0.1), 0.6),
            (dropout(0.2), 0.8),
            (dropout(0.3), 0.7),
        ]);
        let choice = select_configuration(&[&v]).unwrap();
        assert_eq!(choice.regularizers, dropout(0.2));
        assert_eq!(choice.validation_success, 0.8);
        assert_eq!(choice.candidates.len(), 3);
        assert!(choice.rule.contains("weaker"), "{}", choice.rule);
        // Equal success and no argmin recorded: the weaker dropout wins the tie.
        let v = validation(&[(dropout(0.3), 0.8), (dropout(0.1), 0.8)]);
        assert_eq!(
            select_configuration(&[&v]).unwrap().regularizers,
            dropout(0.1)
        );
        // A sweep without other regularizers keeps the rule it always had.
        let v = validation(&[(Regularizers::default(), 0.5)]);
        assert_eq!(select_configuration(&[&v]).unwrap().rule, SELECTION_RULE);
    }
}
