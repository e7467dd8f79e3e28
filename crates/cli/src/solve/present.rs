//! Writing and printing the answers: outputs checked up front, --out, stdout, --iterates, the end.

use super::SolveArgs;
use crate::answers::{self, AnswerRow};
use crate::{interrupt, output};
use anyhow::{Result, bail};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Checks every output before any work, against every input.
pub(super) fn check_outputs(args: &SolveArgs) -> Result<()> {
    let mut inputs: Vec<(&str, &Path)> = Vec::new();
    for (flag, p) in [
        ("--observed", &args.observed),
        ("--model", &args.model),
        ("--inverse-model", &args.inverse_model),
        ("--data", &args.data),
    ] {
        if let Some(p) = p {
            inputs.push((flag, p));
        }
    }
    // A --noise-std that is no number names a file of σ: an input too.
    let noise_file = args
        .noise_std
        .as_deref()
        .filter(|t| t.trim().parse::<f64>().is_err())
        .map(Path::new);
    if let Some(p) = noise_file {
        inputs.push(("--noise-std", p));
    }
    let partial = args.out.as_deref().map(partial_sibling);
    if let Some(out) = &args.out {
        if !matches!(extension_of(out).as_str(), "csv" | "json") {
            bail!("--out {}: use a .csv or .json file", out.display());
        }
        output::check_output("--out", out, &inputs, args.force)?;
        // Where an interrupted batch would write: checked now, not after hours of work.
        if let Some(partial) = &partial {
            output::check_output("--out (its .partial sibling)", partial, &inputs, args.force)?;
        }
        inputs.push(("--out", out));
    }
    if let Some(it) = &args.iterates {
        output::check_output("--iterates", it, &inputs, args.force)?;
    }
    Ok(())
}

/// Writes and prints the answers: --out (a `.partial` sibling when interrupted), JSON on
/// stdout with --json, else a report (one), a table (a batch on a terminal) or CSV (a batch
/// into a pipe or file), so nothing computed is thrown away.
pub(super) fn present(
    args: &SolveArgs,
    rows: &[AnswerRow],
    k: usize,
    complete: bool,
    names: &[String],
    seconds: f64,
) -> Result<()> {
    let out = args.out.as_ref().map(|out| {
        if complete {
            out.clone()
        } else {
            partial_sibling(out)
        }
    });
    if let Some(out) = &out {
        if extension_of(out) == "json" {
            let json = answers::to_json(rows, k, complete)?;
            output::write_atomically(out, |w| Ok(w.write_all(json.as_bytes())?))?;
        } else {
            output::write_atomically(out, |w| answers::write_csv(w, rows, names))?;
        }
    }
    let mut text: Vec<u8> = Vec::new();
    if args.json {
        text.extend(answers::to_json(rows, k, complete)?.as_bytes());
        text.push(b'\n');
    } else if k == 1 && complete {
        answers::write_one(&mut text, &rows[0])?;
    } else {
        use std::io::Write;
        if out.is_none() {
            if std::io::stdout().is_terminal() {
                answers::write_table(&mut text, rows, names)?;
            } else {
                answers::write_csv(&mut text, rows, names)?;
            }
        }
        if std::io::stdout().is_terminal() || out.is_some() {
            writeln!(
                text,
                "solved {} of {k} observations with {} in {seconds:.2} s",
                rows.len(),
                rows.first().map_or("-", |r| r.method.as_str())
            )?;
            for r in rows.iter().filter(|r| !r.verdict.is_ok()) {
                writeln!(
                    text,
                    "observation {}: {}: {}",
                    r.observation,
                    r.verdict.word(),
                    r.verdict.reason()
                )?;
            }
        }
    }
    output::stdout_text(&String::from_utf8_lossy(&text))?;
    if let Some(out) = &out {
        eprintln!(
            "wrote {} ({} answers{})",
            out.display(),
            rows.len(),
            if complete {
                ""
            } else {
                ", partial: interrupted"
            }
        );
    }
    Ok(())
}

/// The batch's end: an interrupted batch is an error (exit status 130), and so is any answer
/// that did not pass its verdict.
pub(super) fn finish(args: &SolveArgs, rows: &[AnswerRow], k: usize, complete: bool) -> Result<()> {
    if !complete {
        return Err(interrupt::Interrupted {
            done: rows.len(),
            of: k,
        }
        .into());
    }
    let untrusted = rows.iter().filter(|r| !r.verdict.is_ok()).count();
    if untrusted > 0 {
        bail!(
            "{untrusted} of {k} answers did not pass their verdict (failed, suspect, at the box's \
             edge or ambiguous): see the verdicts above{}",
            if args.noise_std.is_none() {
                "; for noisy data, give --noise-std"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// A file's extension in lower case (`.CSV` is a CSV file).
pub(super) fn extension_of(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// `answers.csv` → `answers.partial.csv`: an interrupted batch's answers never take the name
/// of a complete run's.
fn partial_sibling(out: &Path) -> PathBuf {
    let stem = out
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("answers");
    let ext = out.extension().and_then(|e| e.to_str()).unwrap_or("csv");
    out.with_file_name(format!("{stem}.partial.{ext}"))
}

pub(super) fn write_iterates(
    path: &Path,
    trace: proxyland_optim::Trace,
    space: &proxyland_physics::ParamSpace,
) -> Result<()> {
    let points = trace.into_inner();
    output::write_atomically(path, |w| {
        writeln!(w, "evaluation,objective,{},value", space.names.join(","))?;
        for (i, p) in points.iter().enumerate() {
            let (x, _) = space.fold(&space.from_unit(&p.u));
            let x: Vec<String> = x.iter().map(|v| format!("{v:.17e}")).collect();
            writeln!(w, "{i},{},{},{:.17e}", p.objective, x.join(","), p.value)?;
        }
        Ok(())
    })?;
    eprintln!(
        "iterates:        {} evaluations in {}",
        points.len(),
        path.display()
    );
    Ok(())
}
