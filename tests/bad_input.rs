//! Bad input across the subcommands: each case must exit with status 1 (an error, not a panic or
//! a signal), say what is wrong (naming the file, field or flag), and leave every file that
//! existed before it byte-identical, with no temporary left behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let f = Fixture { dir };
        // A small valid pool and checkpoint to misuse.
        let cfg = std::fs::read_to_string(repo().join("datasets/billiards2d.toml")).unwrap();
        std::fs::write(f.path("b2.toml"), cfg).unwrap();
        let o = run(&[
            "generate",
            "--config",
            &f.s("b2.toml"),
            "--out",
            &f.s("pool.h5"),
            "--samples",
            "16",
            "--targets",
            "2",
        ]);
        assert!(o.0, "{}", o.1);
        let o = run(&[
            "train",
            "--data",
            &f.s("pool.h5"),
            "--out",
            &f.s("b2.safetensors"),
            "--epochs",
            "1",
            "--pairs-per-epoch",
            "128",
            "--device",
            "cpu",
        ]);
        assert!(o.0, "{}", o.1);
        std::fs::write(f.path("precious.json"), "precious").unwrap();
        std::fs::write(f.path("precious.h5"), "precious").unwrap();
        let o = run(&[
            "simulate",
            "--experiment",
            "billiards2d",
            "--params",
            "1.0,0.1",
            "--out",
            &f.s("traj.h5"),
        ]);
        assert!(o.0, "{}", o.1);
        // An interrupted training's state, a folder, a folder holding a report.
        std::fs::copy(f.path("b2.safetensors"), f.path("b2r.safetensors.resume")).unwrap();
        std::fs::create_dir(f.path("dir")).unwrap();
        std::fs::create_dir(f.path("rep")).unwrap();
        std::fs::write(f.path("rep/REPORT.md"), "an earlier report").unwrap();
        // Observations for KS (41 × 64): with a NaN, too short, a doubled time axis.
        let ks = |frames: usize, bad: Option<(usize, f64)>| {
            let mut v = vec![0.1; frames * 64];
            if let Some((i, x)) = bad {
                v[i] = x;
            }
            npy(&[frames, 64], &v)
        };
        std::fs::write(f.path("nan.npy"), ks(41, Some((3 * 64 + 5, f64::NAN)))).unwrap();
        std::fs::write(f.path("short.npy"), ks(20, None)).unwrap();
        std::fs::write(f.path("double.npy"), ks(82, None)).unwrap();
        let mut csv = String::new();
        for frame in 0..41 {
            let row: Vec<String> = (0..64)
                .map(|j| {
                    if frame == 7 && j == 2 {
                        "inf".into()
                    } else {
                        "0.1".into()
                    }
                })
                .collect();
            csv.push_str(&row.join(","));
            csv.push('\n');
        }
        std::fs::write(f.path("inf.csv"), csv).unwrap();
        f
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn s(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_string()
    }
}

/// A little-endian float64 `.npy` file.
fn npy(dims: &[usize], values: &[f64]) -> Vec<u8> {
    let shape = dims
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({shape}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    for v in values {
        out.extend(v.to_le_bytes());
    }
    out
}

fn run(args: &[&str]) -> (bool, String) {
    let (code, err) = run_code(args);
    (code == Some(0), err)
}

/// Exit code (None if killed by a signal) and stderr.
fn run_code(args: &[&str]) -> (Option<i32>, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_proxyland"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Every file under `dir` (recursively) with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn every_bad_input_fails_with_a_clear_message_and_damages_nothing() {
    let f = Fixture::new();
    let write = |name: &str, text: &str| {
        std::fs::write(f.path(name), text).unwrap();
        f.s(name)
    };
    let base = std::fs::read_to_string(repo().join("datasets/burgers.toml")).unwrap();
    let unknown_key = write(
        "unknown.toml",
        &base.replace("dt = 0.01", "dt = 0.01\ndtt = 1"),
    );
    let odd_n = write("odd.toml", &base.replace("n = 128", "n = 127"));
    let bad_toml = write("bad.toml", "experiment = [");
    let bad_box = write(
        "box.toml",
        &base.replace("omega_range = [2.0, 12.0]", "omega_range = [5.0, 5.0]"),
    );
    let truncated = {
        let bytes = std::fs::read(f.path("pool.h5")).unwrap();
        std::fs::write(f.path("trunc.h5"), &bytes[..bytes.len() / 2]).unwrap();
        f.s("trunc.h5")
    };
    let not_ckpt = write("fake.safetensors", "not a checkpoint");
    let (pool, ckpt, precious_json, precious_h5) = (
        f.s("pool.h5"),
        f.s("b2.safetensors"),
        f.s("precious.json"),
        f.s("precious.h5"),
    );
    let missing = f.s("missing.h5");
    let unwritable = "/proc/proxyland-cannot-write/out.json".to_string();
    let (x_h5, t_xyz, m_st, nodir, e_json, l_png, m_h5, none_toml, b2) = (
        f.s("x.h5"),
        f.s("t.xyz"),
        f.s("m.safetensors"),
        f.s("nodir/m.safetensors"),
        f.s("e.json"),
        f.s("l.png"),
        f.s("m.h5"),
        f.s("none.toml"),
        f.s("b2.toml"),
    );

    let burgers_config = repo().join("datasets/burgers.toml").display().to_string();
    let huge_steps = write(
        "huge.toml",
        &base.replace("steps = 400", "steps = 4000000000"),
    );
    let big_grid = write("grid.toml", &base.replace("n = 128", "n = 1048576"));
    let (traj, b2r, dir, rep) = (
        f.s("traj.h5"),
        f.s("b2r.safetensors"),
        f.s("dir"),
        f.s("rep"),
    );
    let (nan_npy, short_npy, double_npy, inf_csv) = (
        f.s("nan.npy"),
        f.s("short.npy"),
        f.s("double.npy"),
        f.s("inf.csv"),
    );
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["generate", "--config", &unknown_key, "--out", &x_h5],
            "dtt",
        ),
        (vec!["generate", "--config", &odd_n, "--out", &x_h5], "even"),
        (
            vec!["generate", "--config", &bad_toml, "--out", &x_h5],
            "bad.toml",
        ),
        (
            vec!["generate", "--config", &bad_box, "--out", &x_h5],
            "lo < hi",
        ),
        (
            vec!["generate", "--config", &none_toml, "--out", &x_h5],
            "none.toml",
        ),
        (
            vec!["generate", "--config", &b2, "--out", &precious_h5],
            "pass --force",
        ),
        (
            vec![
                "generate", "--config", &b2, "--out", &x_h5, "--shard", "3/2",
            ],
            "--shard",
        ),
        (
            vec![
                "generate",
                "--config",
                &b2,
                "--out",
                &x_h5,
                "--profile",
                "huge",
            ],
            "profile.huge",
        ),
        (
            vec!["simulate", "--experiment", "burgers", "--params", "1,2,3"],
            "expected 2 parameters",
        ),
        (
            vec!["simulate", "--experiment", "burgers", "--params", "1,inf"],
            "finite",
        ),
        (
            vec![
                "simulate",
                "--experiment",
                "ks",
                "--params",
                "0,0",
                "--out",
                &t_xyz,
            ],
            ".csv or .h5",
        ),
        (vec!["info", &missing], "missing.h5"),
        (vec!["info", &truncated], "trunc.h5"),
        (vec!["info", &not_ckpt], "fake.safetensors"),
        (
            vec!["train", "--data", &truncated, "--out", &m_st],
            "trunc.h5",
        ),
        (
            vec!["train", "--data", &pool, "--out", &m_st, "--device", "tpu"],
            "--device tpu",
        ),
        (
            vec![
                "train",
                "--data",
                &pool,
                "--out",
                &m_st,
                "--noise=-1",
                "--epochs",
                "1",
            ],
            "--noise",
        ),
        (
            vec![
                "train",
                "--data",
                &pool,
                "--out",
                &nodir,
                "--epochs",
                "1",
                "--pairs-per-epoch",
                "64",
                "--device",
                "cpu",
            ],
            "does not exist",
        ),
        (
            vec![
                "evaluate",
                "--data",
                &pool,
                "--methods",
                "magic",
                "--out",
                &e_json,
            ],
            "unknown method `magic`",
        ),
        (
            vec![
                "evaluate",
                "--data",
                &pool,
                "--methods",
                "proxy-bfgs",
                "--out",
                &e_json,
            ],
            "give --models",
        ),
        (
            vec![
                "evaluate",
                "--data",
                &pool,
                "--methods",
                "bfgs",
                "--out",
                &unwritable,
            ],
            "does not exist",
        ),
        (
            vec!["evaluate", "--data", &missing, "--out", &e_json],
            "missing.h5",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "burgers",
                "--target",
                "1,5",
                "--method",
                "proxy-bfgs",
                "--model",
                &ckpt,
            ],
            "is for billiards2d",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "burgers",
                "--target-file",
                &pool,
                "--method",
                "bfgs",
            ],
            "no /trajectory dataset",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "burgers",
                "--target",
                "1,5",
                "--init",
                "1",
            ],
            "expected 2 parameters",
        ),
        (
            vec![
                "landscape",
                "--experiment",
                "ks",
                "--target",
                "0,0",
                "--model",
                &ckpt,
                "--out",
                &l_png,
            ],
            "is for billiards2d",
        ),
        (vec!["merge", &pool, &truncated, "--out", &m_h5], "trunc.h5"),
        (
            vec![
                "landscape",
                "--experiment",
                "billiards2d",
                "--data",
                &pool,
                "--results",
                &precious_json,
                "--grid",
                "4",
                "--out",
                &l_png,
            ],
            "not a results file",
        ),
        (
            vec![
                "evaluate",
                "--config",
                &burgers_config,
                "--methods",
                "pool-bfgs",
                "--out",
                &e_json,
            ],
            "give --data",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "burgers",
                "--target",
                "1,5",
                "--method",
                "pool-bfgs",
            ],
            "needs --data",
        ),
        (
            vec!["report", "--profile-runs", "paper", "--out", &nodir],
            "PROFILE=DIR",
        ),
        (
            vec![
                "report",
                "--experiments",
                "burgers",
                "--configs",
                &none_toml,
                "--out",
                &nodir,
            ],
            "none.toml",
        ),
        // --- data lost: outputs never overwrite inputs or existing files --------------------
        (
            vec![
                "simulate",
                "--experiment",
                "billiards2d",
                "--params",
                "1.0,0.1",
                "--out",
                &pool,
            ],
            "pass --force",
        ),
        (
            vec!["train", "--data", &pool, "--out", &pool],
            "is also the input --data",
        ),
        (
            vec![
                "evaluate",
                "--data",
                &pool,
                "--methods",
                "bfgs",
                "--out",
                &pool,
            ],
            "is also the input --data",
        ),
        (
            vec!["train", "--data", &pool, "--out", &ckpt, "--epochs", "1"],
            "pass --force",
        ),
        (
            vec![
                "train", "--data", &pool, "--out", &b2r, "--epochs", "1", "--device", "cpu",
            ],
            "interrupted run",
        ),
        (vec!["merge", &pool, "--out", &pool], "is also the input"),
        (
            vec![
                "solve",
                "--experiment",
                "ks",
                "--target",
                "0,0",
                "--out",
                &precious_json,
            ],
            "pass --force",
        ),
        (
            vec!["report", "--experiments", "burgers", "--out", &rep],
            "pass --force",
        ),
        // --- only finite, well-shaped data ---------------------------------------------------
        (
            vec!["solve", "--experiment", "ks", "--observed", &nan_npy],
            "observation 0, frame 3",
        ),
        (
            vec!["solve", "--experiment", "ks", "--observed", &inf_csv],
            "frame 7 holds NaN or infinite",
        ),
        (
            vec!["solve", "--experiment", "ks", "--observed", &short_npy],
            "20 × 64",
        ),
        (
            vec!["solve", "--experiment", "ks", "--observed", &double_npy],
            "82 × 64",
        ),
        (
            vec!["solve", "--experiment", "ks", "--observed", &traj],
            "41 × 64",
        ),
        (
            vec!["solve", "--experiment", "ks", "--observed", &precious_json],
            ".csv, .npy",
        ),
        (
            vec!["simulate", "--experiment", "burgers", "--params", "1.5,50"],
            "omega = 50 is outside its box [2, 12]",
        ),
        (
            vec!["solve", "--experiment", "burgers", "--target", "1,50"],
            "--target lies outside the box",
        ),
        (
            vec![
                "landscape",
                "--experiment",
                "ks",
                "--target",
                "5,0",
                "--out",
                &l_png,
            ],
            "outside its box",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "burgers",
                "--target",
                "1,5",
                "--init",
                "nan,3",
            ],
            "--init entry 1",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "ks",
                "--target",
                "0,0",
                "--noise-std",
                "-1",
            ],
            "--noise-std",
        ),
        // --- output folders checked before any work ------------------------------------------
        (
            vec![
                "evaluate",
                "--data",
                &pool,
                "--methods",
                "bfgs",
                "--out",
                "/proc/self/e.json",
            ],
            "cannot write in folder /proc/self",
        ),
        (
            vec![
                "landscape",
                "--experiment",
                "billiards2d",
                "--data",
                &pool,
                "--out",
                "/proc/self/l.png",
            ],
            "cannot write in folder /proc/self",
        ),
        (
            vec![
                "simulate",
                "--experiment",
                "ks",
                "--params",
                "0,0",
                "--out",
                &dir,
            ],
            "is a folder",
        ),
        // --- sizes checked before allocation ---------------------------------------------------
        (
            vec!["generate", "--config", &huge_steps, "--out", &x_h5],
            "GiB each",
        ),
        (
            vec!["generate", "--config", &big_grid, "--out", &x_h5],
            "at most 8192 grid points",
        ),
        (
            vec![
                "generate",
                "--config",
                &b2,
                "--out",
                &x_h5,
                "--samples",
                "1000000000000",
            ],
            "the pool would hold",
        ),
        (
            vec![
                "evaluate",
                "--config",
                &b2,
                "--methods",
                "bfgs",
                "--targets",
                "100000000000",
                "--out",
                &e_json,
            ],
            "give 1 to 100000 targets",
        ),
        // --- clear messages --------------------------------------------------------------------
        (vec!["info", &dir], "is a folder"),
        (
            vec!["train", "--data", &traj, "--out", &m_st],
            "one simulated trajectory, not a pool",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "billiards2d",
                "--target",
                "1.0,0.1",
                "--method",
                "proxy",
                "--model",
                &pool,
            ],
            "is an HDF5 file",
        ),
        (
            vec![
                "train", "--data", &pool, "--out", &m_st, "--device", "cuda", "--epochs", "1",
            ],
            "libtorch_cuda.so",
        ),
        (
            vec!["select", "--validation", &precious_json, "--out", &e_json],
            "not a proxyland results file",
        ),
        (
            vec!["select", "--validation", &missing, "--out", &e_json],
            "cannot read",
        ),
    ];
    assert!(cases.len() >= 45, "{} cases", cases.len());
    for (args, needle) in &cases {
        let before = snapshot(f.dir.path());
        let (code, err) = run_code(args);
        // 1: our error; 2: a usage error clap caught. Never 0, a panic (101) or a signal.
        assert!(
            matches!(code, Some(1 | 2)),
            "{args:?} should fail with status 1 or 2, got {code:?}:\n{err}"
        );
        assert!(
            err.contains(needle),
            "{args:?}: expected `{needle}` in:\n{err}"
        );
        assert!(!err.contains("panicked"), "{args:?} panicked:\n{err}");
        let after = snapshot(f.dir.path());
        assert!(
            before == after,
            "{args:?} changed files: {:?}",
            after
                .keys()
                .filter(|k| before.get(*k) != after.get(*k))
                .chain(before.keys().filter(|k| !after.contains_key(*k)))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn a_closed_stdout_ends_quietly_and_logs_carry_no_colour_codes() {
    let f = Fixture::new();
    // `proxyland info pool.h5 | true`: the reader is gone before the writer writes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_proxyland"))
        .args(["info", &f.s("pool.h5")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(o.status.code(), Some(101), "{err}");
    // Logs to a file (not a terminal) have no ANSI escape codes.
    let o = Command::new(env!("CARGO_BIN_EXE_proxyland"))
        .args(["simulate", "--experiment", "ks", "--params", "0,0"])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && err.contains("simulated"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "colour codes in a log file: {err:?}"
    );
}
