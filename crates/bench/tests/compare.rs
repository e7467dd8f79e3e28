//! The comparison harness end to end on small sizes: it writes a report with every table, and
//! the exported cases agree with the NumPy references (run with the machine's python3 when it has
//! numpy; skipped with a message otherwise).

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python_with_numpy() -> Option<&'static str> {
    Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| "python3")
}

#[test]
fn quick_run_writes_every_table_and_the_numpy_references_agree() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    let out = tmp.path().join("BENCH.md");
    let run = Command::new(env!("CARGO_BIN_EXE_proxyland-bench"))
        .current_dir(repo_root())
        .args(["--quick", "--cases", "ks,billiards,generation", "--work"])
        .arg(&work)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let md = std::fs::read_to_string(&out).unwrap();
    for heading in [
        "## Targets",
        "## E2 Kuramoto–Sivashinsky",
        "## E3 billiards",
        "## Dataset generation",
        "FFT floor",
        "| forward, 1 trajectory |",
        "| one simulation |",
    ] {
        assert!(md.contains(heading), "missing {heading:?} in\n{md}");
    }
    assert!(md.contains("only proxyland's side was measured"));

    let Some(python) = python_with_numpy() else {
        eprintln!("skipped the NumPy agreement part: no python3 with numpy here");
        return;
    };
    for (script, case) in [
        ("etdrk4_numpy.py", "ks"),
        ("billiards_numpy.py", "billiards2d"),
    ] {
        let status = Command::new(python)
            .arg(repo_root().join("benches/reference").join(script))
            .arg(work.join(case))
            .status()
            .unwrap();
        assert!(status.success(), "{script} refused {case}");
        let result: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(work.join(case).join("numpy.json")).unwrap(),
        )
        .unwrap();
        let checks = result["checks"].as_array().unwrap();
        assert!(!checks.is_empty());
        for c in checks {
            // Two independent implementations of one discretization: rounding-level agreement.
            assert!(c["max_rel_err"].as_f64().unwrap() < 1e-10, "{case}: {c}");
        }
    }
}

#[test]
fn unknown_cases_and_missing_interpreters_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = Command::new(env!("CARGO_BIN_EXE_proxyland-bench"))
        .args(["--cases", "fluids", "--out"])
        .arg(tmp.path().join("B.md"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("\"fluids\""));
    let bad = Command::new(env!("CARGO_BIN_EXE_proxyland-bench"))
        .args(["--python", "/nonexistent/python", "--out"])
        .arg(tmp.path().join("B.md"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/nonexistent/python"));
    assert!(!tmp.path().join("B.md").exists());
}
