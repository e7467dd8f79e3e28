//! `proxyland select`: the headline configuration (σ, λ), chosen on validation results.

use crate::args::read_results;
use crate::output;
use anyhow::{Context, Result};
use proxyland_optim::{Results, select_configuration};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct SelectArgs {
    /// Validation results (`evaluate --split validation`) of the same pool: a σ sweep, then a λ
    /// sweep, and so on. The choice is made over all of them.
    #[arg(long, num_args = 1.., required = true)]
    validation: Vec<PathBuf>,
    /// The selection JSON (σ, λ, the rule, the validation numbers).
    #[arg(long)]
    out: PathBuf,
    /// Replace --out if it exists.
    #[arg(long)]
    force: bool,
}

/// `proxyland select`: the headline configuration, chosen on validation targets only.
pub fn run_select(args: SelectArgs) -> Result<()> {
    let inputs: Vec<(&str, &Path)> = args
        .validation
        .iter()
        .map(|p| ("--validation", p.as_path()))
        .collect();
    output::check_output("--out", &args.out, &inputs, args.force)?;
    let validations: Vec<Results> = args
        .validation
        .iter()
        .map(|p| read_results(p).with_context(|| format!("--validation {}", p.display())))
        .collect::<Result<_>>()?;
    let refs: Vec<&Results> = validations.iter().collect();
    let selection = select_configuration(&refs)?;
    let json = serde_json::to_string_pretty(&selection)?;
    output::write_atomically(&args.out, |w| Ok(w.write_all(json.as_bytes())?))?;
    let others = if selection.regularizers.is_off() {
        String::new()
    } else {
        format!(", {}", selection.regularizers.describe())
    };
    say!(
        "chosen on {} validation targets: σ = {}, λ = {}{others} (proxy-multistart success {:.2}, argmin error {:.3})",
        selection.validation_targets,
        selection.noise,
        selection.penalty,
        selection.validation_success,
        selection.validation_argmin_error
    );
    say!("wrote {}", args.out.display());
    Ok(())
}
