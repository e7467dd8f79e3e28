//! The size rules of docs/architecture.md, checked by `cargo xtask test`: no production function
//! past [`MAX_FUNCTION_LINES`], no file of the cli past [`MAX_CLI_FILE_LINES`]. A room a
//! newcomer can read in one sitting stays that way only if growing past it fails the build.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// The longest production function, `fn` line to closing brace.
pub const MAX_FUNCTION_LINES: usize = 120;
/// The longest file of the cli, whose files each hold one subcommand's concept.
pub const MAX_CLI_FILE_LINES: usize = 300;

/// Fails, naming each offender, when a production function or a cli file is too long.
pub fn check_room_sizes(repo: &Path) -> Result<()> {
    let mut offenders = Vec::new();
    let mut files = Vec::new();
    for crate_dir in std::fs::read_dir(repo.join("crates"))? {
        rust_files(&crate_dir?.path().join("src"), &mut files)?;
    }
    rust_files(&repo.join("xtask").join("src"), &mut files)?;
    let cli = repo.join("crates").join("cli").join("src");
    for path in &files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        for (line, name, length) in long_functions(&text) {
            offenders.push(format!(
                "{}:{line}: fn {name} has {length} lines (at most {MAX_FUNCTION_LINES})",
                path.display()
            ));
        }
        let lines = text.lines().count();
        if path.starts_with(&cli) && lines > MAX_CLI_FILE_LINES {
            offenders.push(format!(
                "{}: {lines} lines (a cli file holds at most {MAX_CLI_FILE_LINES})",
                path.display()
            ));
        }
    }
    if !offenders.is_empty() {
        bail!(
            "rooms too big (split them along their concepts):\n  {}",
            offenders.join("\n  ")
        );
    }
    eprintln!(
        "[xtask] no production function over {MAX_FUNCTION_LINES} lines, no cli file over \
         {MAX_CLI_FILE_LINES}"
    );
    Ok(())
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// (line, name, length) of each function over [`MAX_FUNCTION_LINES`] in rustfmt-formatted
/// `text`, test modules excluded: a function ends at the first `}` line indented as its `fn`
/// line, and a file's `#[cfg(test)]` module ends its production code.
fn long_functions(text: &str) -> Vec<(usize, String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim() == "#[cfg(test)]" && lines.get(i + 1).is_some_and(|l| l.contains("mod ")) {
            break;
        }
        let Some((indent, name)) = fn_start(line) else {
            continue;
        };
        let close = format!("{indent}}}");
        if let Some(end) = lines[i + 1..].iter().position(|l| *l == close) {
            let length = end + 2;
            if length > MAX_FUNCTION_LINES {
                found.push((i + 1, name, length));
            }
        }
    }
    found
}

/// The indentation and name of a line that starts a function with a body.
fn fn_start(line: &str) -> Option<(&str, String)> {
    let indent = &line[..line.len() - line.trim_start().len()];
    let mut rest = line.trim_start();
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let name: String = rest
        .strip_prefix("fn ")?
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    // A declaration without a body (a trait method) ends in `;` on its own line.
    (!name.is_empty() && !line.trim_end().ends_with(';')).then_some((indent, name))
}

#[cfg(test)]
mod tests {
    use super::{MAX_FUNCTION_LINES, long_functions};

    fn function(name: &str, indent: &str, body_lines: usize) -> String {
        let body: String = (0..body_lines)
            .map(|k| format!("{indent}    let _ = {k};\n"))
            .collect();
        format!("{indent}pub fn {name}() {{\n{body}{indent}}}\n")
    }

    #[test]
    fn a_function_past_the_limit_is_named_and_tests_do_not_count() {
        // A function of exactly the limit passes; one line more fails, nested ones too.
        let at_limit = function("fits", "", MAX_FUNCTION_LINES - 2);
        let over = function("grows", "    ", MAX_FUNCTION_LINES - 1);
        let in_tests = function("long_test", "    ", 3 * MAX_FUNCTION_LINES);
        let text =
            format!("{at_limit}impl S {{\n{over}}}\n#[cfg(test)]\nmod tests {{\n{in_tests}}}\n");
        let found = long_functions(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].1.as_str(), found[0].2),
            ("grows", MAX_FUNCTION_LINES + 1)
        );
        assert_eq!(found[0].0, MAX_FUNCTION_LINES + 2, "its `fn` line");
    }

    #[test]
    fn declarations_without_a_body_are_not_functions() {
        assert!(
            super::fn_start("    fn simulate(&self, x: &[f64]) -> Result<Trajectory>;").is_none()
        );
        assert_eq!(super::fn_start("    pub(crate) fn run(").unwrap().1, "run");
    }
}
