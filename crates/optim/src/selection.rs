//! Choosing the headline surrogate configuration (σ, λ) on validation targets, never on the test
//! split: the rule every profile applies.

use crate::error::{Error, Result};
use crate::methods::Family;
use crate::results::{Candidate, Results, Selection, SurrogateConfig, TargetSplit};

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
    // (σ, λ) → (success rates over seeds, argmin errors over seeds); a surrogate evaluated in
    // two files counts once.
    let mut seen: Vec<SurrogateConfig> = Vec::new();
    type Setting = ((f64, f64), Vec<f64>, Vec<f64>);
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
            match settings
                .iter_mut()
                .find(|(k, _, _)| *k == (c.noise, c.penalty))
            {
                Some((_, rates, errors)) => {
                    rates.push(s.success_rate);
                    errors.push(argmin);
                }
                None => settings.push(((c.noise, c.penalty), vec![s.success_rate], vec![argmin])),
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let best = settings
        .iter()
        .max_by(|a, b| {
            mean(&a.1)
                .total_cmp(&mean(&b.1))
                .then(mean(&b.2).total_cmp(&mean(&a.2)))
                .then(b.0.0.total_cmp(&a.0.0))
                .then(b.0.1.total_cmp(&a.0.1))
        })
        .ok_or(Error::Missing {
            method: "select_configuration".into(),
            what: "proxy-multistart results of at least one surrogate",
        })?;
    Ok(Selection {
        noise: best.0.0,
        penalty: best.0.1,
        rule: SELECTION_RULE.to_string(),
        validation_targets: first.targets,
        validation_success: mean(&best.1),
        validation_argmin_error: mean(&best.2),
        candidates: settings
            .iter()
            .map(|((noise, penalty), rates, _)| Candidate {
                noise: *noise,
                penalty: *penalty,
                validation_success: mean(rates),
            })
            .collect(),
    })
}
