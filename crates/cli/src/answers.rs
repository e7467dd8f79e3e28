//! The answers of `solve` as a user reads them: one stable JSON shape (docs/answers.md, checked
//! against docs/answers.schema.json by a test), CSV, a terminal table.

use anyhow::Result;
use proxyland_optim::{Alternative, NoiseSource, Refinement, Solved, StopReason, Trust};
use serde::Serialize;
use std::io::Write;

/// The version of the answers' JSON shape; bumped when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// One observation's answer, as printed and written.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerRow {
    pub observation: usize,
    pub experiment: String,
    pub method: String,
    pub parameters: Vec<String>,
    pub x_hat: Vec<f64>,
    pub std_err: Vec<f64>,
    /// Gauss–Newton covariance in units of X (None where JᵀJ is singular).
    pub covariance: Option<Vec<Vec<f64>>>,
    pub resim_loss: f64,
    pub residual_rms: f64,
    pub noise_std: Option<f64>,
    pub noise_source: Option<NoiseSource>,
    pub chi2: Option<f64>,
    pub dof: Option<usize>,
    pub chi2_per_dof: Option<f64>,
    pub p_value: Option<f64>,
    #[serde(flatten)]
    pub verdict: Trust,
    /// The other distinct minima the method found, judged by the answer's σ.
    pub alternatives: Vec<Alternative>,
    pub sim_calls: usize,
    /// Field solves spent: 1 per value call, 1 + d per call with gradient or Jacobian.
    pub field_solves: usize,
    pub surrogate_evals: usize,
    pub wall_s: f64,
    pub stopped: Option<StopReason>,
    /// How the refinement behind the answer ended (rule, iterations, convergence, stop).
    pub refinement: Option<Refinement>,
    pub x_star: Option<Vec<f64>>,
    pub success: Option<bool>,
}

/// The whole JSON document: one shape for one observation or many.
#[derive(Debug, Serialize)]
pub struct AnswersDocument<'a> {
    pub schema_version: u32,
    /// False when the run was interrupted: `answers` holds those finished before.
    pub complete: bool,
    pub observations: usize,
    pub answers: &'a [AnswerRow],
}

impl AnswerRow {
    /// The row of an answer and its judgement.
    pub fn new(
        observation: usize,
        experiment: &str,
        method: &str,
        parameters: &[String],
        solved: Solved,
    ) -> AnswerRow {
        let Solved {
            answer,
            judgement: judged,
            truth,
        } = solved;
        let d = parameters.len();
        let fit = judged.fit.as_ref();
        AnswerRow {
            observation,
            experiment: experiment.to_string(),
            method: method.to_string(),
            parameters: parameters.to_vec(),
            std_err: fit.map_or(vec![f64::INFINITY; d], |f| f.std_err.clone()),
            covariance: fit.and_then(|f| f.covariance.clone()),
            resim_loss: fit.map_or(f64::INFINITY, |f| f.resim_loss),
            residual_rms: fit.map_or(f64::INFINITY, |f| f.residual_rms),
            noise_std: fit.and_then(|f| f.noise_std),
            noise_source: fit.map(|f| f.noise_source),
            chi2: fit.and_then(|f| f.chi2),
            dof: fit.map(|f| f.dof),
            chi2_per_dof: fit.and_then(|f| f.chi2_per_dof),
            p_value: fit.and_then(|f| f.p_value),
            verdict: judged.trust,
            alternatives: judged.alternatives,
            x_hat: answer.x_hat,
            sim_calls: answer.sim_calls,
            field_solves: answer.field_solves,
            refinement: answer.refinement,
            surrogate_evals: answer.surrogate_evals,
            wall_s: answer.wall_s,
            stopped: answer.stopped,
            success: truth.as_ref().map(|t| t.1),
            x_star: truth.map(|t| t.0),
        }
    }
}

/// The JSON document of `rows`.
pub fn to_json(rows: &[AnswerRow], observations: usize, complete: bool) -> Result<String> {
    Ok(serde_json::to_string_pretty(&AnswersDocument {
        schema_version: SCHEMA_VERSION,
        complete,
        observations,
        answers: rows,
    })?)
}

fn number(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v:.6e}"))
}

/// A CSV field, quoted when it holds a separator, a quote or a line break.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// CSV: one row per answer, with the full covariance (upper triangle, `cov_a_b`), the χ²
/// statistics, the spend, the refinement, the verdict and its reason, and the other minima.
pub fn write_csv(w: &mut dyn Write, rows: &[AnswerRow], names: &[String]) -> Result<()> {
    let se: Vec<String> = names.iter().map(|n| format!("std_err_{n}")).collect();
    let mut cov = Vec::new();
    for i in 0..names.len() {
        for j in i..names.len() {
            cov.push(format!("cov_{}_{}", names[i], names[j]));
        }
    }
    writeln!(
        w,
        "observation,experiment,method,{},{},{},resim_loss,residual_rms,noise_std,noise_source,\
         chi2,dof,p_value,sim_calls,field_solves,refinement,verdict,reason,alternatives,success",
        names.join(","),
        se.join(","),
        cov.join(",")
    )?;
    for r in rows {
        let x: Vec<String> = r.x_hat.iter().map(|v| format!("{v:.17e}")).collect();
        let e: Vec<String> = r.std_err.iter().map(|v| format!("{v:.6e}")).collect();
        let mut c = Vec::new();
        for i in 0..names.len() {
            for j in i..names.len() {
                c.push(number(r.covariance.as_ref().map(|m| m[i][j])));
            }
        }
        let alternatives: Vec<String> = r
            .alternatives
            .iter()
            .map(|a| {
                let x: Vec<String> = a.x.iter().map(|v| format!("{v:.6e}")).collect();
                format!(
                    "{} (loss {:.3e}; {})",
                    x.join(" "),
                    a.loss,
                    if a.fits { "fits" } else { "does not fit" }
                )
            })
            .collect();
        let source = r
            .noise_source
            .map(|s| serde_json::to_value(s).ok())
            .and_then(|v| v.and_then(|v| v.as_str().map(String::from)))
            .unwrap_or_default();
        writeln!(
            w,
            "{},{},{},{},{},{},{:.6e},{:.6e},{},{source},{},{},{},{},{},{},{},{},{},{}",
            r.observation,
            r.experiment,
            r.method,
            x.join(","),
            e.join(","),
            c.join(","),
            r.resim_loss,
            r.residual_rms,
            number(r.noise_std),
            number(r.chi2),
            r.dof.map_or(String::new(), |d| d.to_string()),
            number(r.p_value),
            r.sim_calls,
            r.field_solves,
            field(&r.refinement.as_ref().map_or(String::new(), |f| format!(
                "{}: {} iterations, {}{}",
                f.method.name(),
                f.iterations,
                f.stop,
                if f.horizons.is_empty() {
                    String::new()
                } else {
                    format!(", frames {:?}", f.horizons)
                }
            ))),
            r.verdict.key(),
            field(r.verdict.reason()),
            field(&alternatives.join("; ")),
            r.success.map_or(String::new(), |s| s.to_string())
        )?;
    }
    Ok(())
}

/// A compact table for a terminal: one line per answer.
pub fn write_table(w: &mut dyn Write, rows: &[AnswerRow], names: &[String]) -> Result<()> {
    writeln!(
        w,
        "{:>5}  {:<40}  {:>11}  {:>9}  verdict",
        "obs",
        names.join(", "),
        "χ²/(N−d)",
        "p"
    )?;
    for r in rows {
        let x: Vec<String> = r.x_hat.iter().map(|v| format!("{v:.5}")).collect();
        writeln!(
            w,
            "{:>5}  {:<40}  {:>11}  {:>9}  {}",
            r.observation,
            x.join(", "),
            r.chi2_per_dof.map_or("–".into(), |v| format!("{v:.3}")),
            r.p_value
                .map_or("–".into(), proxyland_optim::stats::format_p),
            r.verdict.word()
        )?;
    }
    Ok(())
}

/// The one-observation report.
pub fn write_one(w: &mut dyn Write, r: &AnswerRow) -> Result<()> {
    writeln!(w, "method:          {}", r.method)?;
    writeln!(
        w,
        "X̂:               {:?}  ({})",
        r.x_hat,
        r.parameters.join(", ")
    )?;
    writeln!(
        w,
        "std. errors:     {:?}  (Gauss–Newton, exact Jacobian)",
        r.std_err
    )?;
    writeln!(
        w,
        "resim loss:      {:.6e}  (residual RMS {:.3e})",
        r.resim_loss, r.residual_rms
    )?;
    if let (Some(c), Some(p), Some(dof)) = (r.chi2_per_dof, r.p_value, r.dof) {
        writeln!(
            w,
            "fit:             χ²/(N − d) = {c:.4} (N − d = {dof}), p = {}",
            proxyland_optim::stats::format_p(p)
        )?;
    }
    writeln!(
        w,
        "simulator calls: {} (proxy evaluations: {})",
        r.sim_calls, r.surrogate_evals
    )?;
    writeln!(w, "wall time:       {:.3} s", r.wall_s)?;
    writeln!(
        w,
        "verdict:         {}: {}",
        r.verdict.word(),
        r.verdict.reason()
    )?;
    for a in &r.alternatives {
        writeln!(
            w,
            "other minimum:   {:?}  loss {:.3e}, {:.1} standard errors away, {}",
            a.x,
            a.loss,
            a.separation_se,
            if a.fits { "fits too" } else { "does not fit" }
        )?;
    }
    if let (Some(x), Some(ok)) = (&r.x_star, r.success) {
        writeln!(w, "X*:              {x:?}; success: {ok}")?;
    }
    if let Some(reason) = &r.stopped {
        writeln!(w, "stopped early:   {reason}")?;
    }
    Ok(())
}
