//! Bad input across the subcommands: each case must exit with status 1 (an error, not a panic or
//! a signal), say what is wrong (naming the file, field or flag), and leave every file that
//! existed before it byte-identical, with no temporary left behind.

mod common;

use common::{npy, replaced, repo};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

fn run(args: &[&str]) -> (bool, String) {
    let (code, err) = run_code(args);
    (code == Some(0), err)
}

/// Exit code (None if killed by a signal) and stderr.
fn run_code(args: &[&str]) -> (Option<i32>, String) {
    let o = common::proxyland(args);
    (o.status.code(), common::stderr(&o))
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
        &replaced(&base, "dt = 0.01", "dt = 0.01\ndtt = 1"),
    );
    let odd_n = write("odd.toml", &replaced(&base, "n = 128", "n = 127"));
    let bad_toml = write("bad.toml", "experiment = [");
    let bad_box = write(
        "box.toml",
        &replaced(
            &base,
            "omega_range = [2.0, 12.0]",
            "omega_range = [5.0, 5.0]",
        ),
    );
    let truncated = {
        let bytes = std::fs::read(f.path("pool.h5")).unwrap();
        std::fs::write(f.path("trunc.h5"), &bytes[..bytes.len() / 2]).unwrap();
        f.s("trunc.h5")
    };
    let not_ckpt = write("fake.safetensors", "not a checkpoint");
    let decimal_comma = write("gl.csv", "-0,8\n");
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
        &replaced(&base, "steps = 400", "steps = 4000000000"),
    );
    let big_grid = write("grid.toml", &replaced(&base, "n = 128", "n = 1048576"));
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
                &m_st,
                "--dropout",
                "1.5",
                "--epochs",
                "1",
            ],
            "--dropout 1.5",
        ),
        (
            vec![
                "train",
                "--data",
                &pool,
                "--out",
                &m_st,
                "--weight-decay=-0.1",
                "--epochs",
                "1",
            ],
            "--weight-decay -0.1",
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
                "--method",
                "bfgs",
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
            "not a proxyland results file",
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
            "line 8, column 3: inf; expected a finite number",
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
                "--method",
                "bfgs",
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
        // --- impossible or unused settings are errors, never silently changed or ignored ----
        (
            vec![
                "solve",
                "--experiment",
                "ks",
                "--target",
                "0,0",
                "--budget",
                "0",
            ],
            "--budget 0: give 1 to",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "ks",
                "--target",
                "0,0",
                "--budget",
                "100000000000",
            ],
            "--budget 100000000000: give 1 to",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "ks",
                "--target",
                "0,0",
                "--method",
                "bfgs",
                "--budget",
                "50",
            ],
            "--budget is not used by --method bfgs",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "ks",
                "--target",
                "0,0",
                "--method",
                "de",
                "--init",
                "0,0",
            ],
            "--init is not used by --method de",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "billiards2d",
                "--target",
                "1.0,0.1",
                "--method",
                "bfgs",
                "--model",
                &ckpt,
            ],
            "--model is not used by --method bfgs",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "ks",
                "--target",
                "0,0",
                "--method",
                "multistart-bfgs",
                "--horizon",
                "full",
            ],
            "--horizon is not used by --method multistart-bfgs",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "billiards2d",
                "--data",
                &pool,
                "--target",
                "1.0,0.1",
                "--horizon",
                "half",
            ],
            "--horizon half: choose continuation or full",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "ks",
                "--target",
                "0,0",
                "--method",
                "de",
                "--horizon",
                "continuation",
            ],
            "--horizon is not used by --method de",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "ks",
                "--target",
                "0,0",
                "--method",
                "multistart-bfgs",
                "--refine",
                "lm",
            ],
            "--refine is not used by --method multistart-bfgs",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "billiards2d",
                "--observed",
                &traj,
                "--delimiter",
                ";",
            ],
            "--delimiter is for CSV",
        ),
        (
            vec!["solve", "--experiment", "billiards4d", "--observed", &traj],
            "says it holds billiards2d",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "ks",
                "--target",
                "0,0",
                "--noise-std",
                &missing,
            ],
            "--noise-std",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "gramacy-lee",
                "--observed",
                &decimal_comma,
            ],
            "could be a decimal comma",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "ks",
                "--observed",
                &nan_npy,
                "--fold",
            ],
            "--fold folds --target and --init",
        ),
        (
            vec![
                "solve",
                "--experiment",
                "ks",
                "--target",
                "0,0",
                "--delimiter",
                ";",
            ],
            "--delimiter is for CSV observations",
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
        fails_cleanly(f.dir.path(), args, &[needle]);
    }
}

/// Runs `args` and checks that it fails with status 1 (our error) or 2 (a usage error clap
/// caught), never 0, a panic (101) or a signal; that stderr says every one of `needles`; and
/// that every file under `dir` is byte-identical afterwards. Returns the status and seconds.
fn fails_cleanly(dir: &Path, args: &[&str], needles: &[&str]) -> (Option<i32>, f64) {
    let before = snapshot(dir);
    let started = std::time::Instant::now();
    let (code, err) = run_code(args);
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        matches!(code, Some(1 | 2)),
        "{args:?} should fail with status 1 or 2, got {code:?}:\n{err}"
    );
    assert!(!err.contains("panicked"), "{args:?} panicked:\n{err}");
    for needle in needles {
        assert!(
            err.contains(needle),
            "{args:?}: expected `{needle}` in:\n{err}"
        );
    }
    let after = snapshot(dir);
    assert!(
        before == after,
        "{args:?} changed files: {:?}",
        after
            .keys()
            .filter(|k| before.get(*k) != after.get(*k))
            .chain(before.keys().filter(|k| !after.contains_key(*k)))
            .collect::<Vec<_>>()
    );
    (code, seconds)
}

#[test]
fn a_closed_stdout_ends_quietly_and_logs_carry_no_colour_codes() {
    let f = Fixture::new();
    // `proxyland info pool.h5 | true`: the reader is gone before the writer writes.
    let mut child = common::command()
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
    let o = common::command()
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

#[test]
fn no_wrap_around_one_writer_per_output_and_refused_resumes_change_nothing() {
    let f = Fixture::new();
    let (b2, pool) = (f.s("b2.toml"), f.s("pool.h5"));
    let (busy_h5, busy_st, r_h5) = (f.s("busy.h5"), f.s("busy.safetensors"), f.s("r.h5"));
    // Fails with status 1 (or 2: clap), says `needles`, and leaves every file byte-identical.
    let refused = |args: &[&str], needles: &[&str]| fails_cleanly(f.dir.path(), args, needles);

    // (a) A count that would wrap around is refused at once, naming the flag, creating nothing.
    let (code, seconds) = refused(
        &[
            "generate",
            "--config",
            &b2,
            "--out",
            &f.s("wrap.h5"),
            "--samples",
            "18446744073709551615",
        ],
        &["--samples 18446744073709551615"],
    );
    assert_eq!(code, Some(1));
    // "At once": before any allocation or simulation, which for 2^64 samples would never end.
    // The bound is loose so a loaded machine does not fail it; nothing runs that long.
    assert!(seconds < 30.0, "refusing took {seconds:.1} s");
    for name in ["wrap.h5", "wrap.h5.partial", "wrap.h5.lock"] {
        assert!(!f.path(name).exists(), "{name} was created");
    }

    // (b) An output another process is writing: refused with that process's id, before the
    // command looks at the interrupted state the other run is making.
    let hold = |out: &str| -> std::fs::File {
        use std::io::Write;
        use std::os::fd::AsRawFd;
        let mut lock = std::fs::File::create(f.path(&format!("{out}.lock"))).unwrap();
        writeln!(lock, "4242").unwrap();
        // SAFETY: flock on a descriptor this test owns and keeps open.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        lock
    };
    let pool_lock = hold("busy.h5");
    std::fs::copy(f.path("pool.h5"), f.path("busy.h5.partial")).unwrap();
    for extra in [&[][..], &["--resume"][..]] {
        let mut args: Vec<&str> = vec![
            "generate",
            "--config",
            &b2,
            "--out",
            &busy_h5,
            "--samples",
            "16",
            "--targets",
            "2",
        ];
        args.extend_from_slice(extra);
        let (code, _) = refused(&args, &["being written by process 4242", "busy.h5"]);
        assert_eq!(code, Some(1));
    }
    drop(pool_lock);
    let checkpoint_lock = hold("busy.safetensors");
    std::fs::copy(f.path("b2.safetensors"), f.path("busy.safetensors.resume")).unwrap();
    for extra in [&[][..], &["--resume"][..]] {
        let mut args: Vec<&str> = vec![
            "train", "--data", &pool, "--out", &busy_st, "--epochs", "1", "--device", "cpu",
        ];
        args.extend_from_slice(extra);
        let (code, _) = refused(
            &args,
            &["being written by process 4242", "busy.safetensors"],
        );
        assert_eq!(code, Some(1));
    }
    let (code, _) = refused(
        &[
            "train-inverse",
            "--data",
            &pool,
            "--out",
            &busy_st,
            "--device",
            "cpu",
        ],
        &["being written by process 4242"],
    );
    assert_eq!(code, Some(1));
    drop(checkpoint_lock);

    // (c) --resume with --force says which it would be.
    refused(
        &[
            "generate",
            "--config",
            &b2,
            "--out",
            &f.s("both.h5"),
            "--resume",
            "--force",
        ],
        &["--resume", "--force"],
    );
    refused(
        &[
            "train",
            "--data",
            &pool,
            "--out",
            &f.s("both.safetensors"),
            "--resume",
            "--force",
        ],
        &["--resume", "--force"],
    );

    // (d) A resume refused for other settings leaves every byte of the `.partial` as it was
    // (checked on a read-only handle; the file is opened for writing only once it fits).
    std::fs::copy(f.path("pool.h5"), f.path("r.h5.partial")).unwrap();
    // Another pool size; another seed (the fixture's pool has 16 samples and the config's 3).
    for other in [
        &["--samples", "20"][..],
        &["--samples", "16", "--seed", "99"][..],
    ] {
        let mut args: Vec<&str> = vec![
            "generate",
            "--config",
            &b2,
            "--out",
            &r_h5,
            "--targets",
            "2",
            "--resume",
        ];
        args.extend_from_slice(other);
        let (code, _) = refused(&args, &["r.h5.partial", "different run"]);
        assert_eq!(code, Some(1));
    }
}

/// A Burgers simulator whose ω box is wider than the experiment's, to make observations whose
/// truth lies outside the box `solve` searches.
fn wide_burgers() -> Box<dyn proxyland_physics::Simulator> {
    let text = std::fs::read_to_string(repo().join("datasets/burgers.toml")).unwrap();
    let wide = replaced(
        &text,
        "omega_range = [2.0, 12.0]",
        "omega_range = [0.5, 20.0]",
    );
    proxyland_dataset::ExperimentConfig::parse(Path::new("wide.toml"), &wide)
        .unwrap()
        .simulator()
        .unwrap()
}

/// `observation + relative · RMS(observation) · N(0, 1)`, and the σ that is.
fn noisy(y: &proxyland_physics::Trajectory, relative: f64, seed: u64) -> (Vec<f64>, f64) {
    let rms = (y.iter().map(|v| v * v).sum::<f64>() / y.len() as f64).sqrt();
    let sigma = relative * rms;
    let mut stream = proxyland_physics::rng::Domain::Scratch.stream(seed, 0);
    (
        y.iter().map(|v| v + sigma * stream.normal()).collect(),
        sigma,
    )
}

/// Runs `solve` with `args` and --json; returns (exit code, the answers, stderr).
fn solve_json(args: &[&str]) -> (Option<i32>, Vec<serde_json::Value>, String) {
    let o = common::command()
        .arg("solve")
        .args(args)
        .arg("--json")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: no JSON ({e}): {err}"));
    assert_eq!(doc["schema_version"], 1);
    (
        o.status.code(),
        doc["answers"].as_array().unwrap().clone(),
        err,
    )
}

#[test]
fn wrong_answers_are_never_ok_and_a_verdict_depends_on_its_own_observation() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let wide = wide_burgers();
    let budget = ["--method", "multistart-bfgs", "--budget", "120"];
    let observe =
        |x: &[f64], relative: f64, seed: u64| noisy(&wide.simulate(x).unwrap(), relative, seed);

    // ω just outside the box (3% noise, the right σ) and far outside (5%): pinned on the face.
    for (x, relative, name) in [
        ([2.71, 12.35], 0.03, "edge.npy"),
        ([2.0, 15.8], 0.05, "far.npy"),
        ([4.0, 1.6], 0.03, "low.npy"),
    ] {
        let (values, sigma) = observe(&x, relative, 1);
        std::fs::write(path(name), npy(&[41, 128], &values)).unwrap();
        let before = snapshot(dir.path());
        let (sigma_text, file) = (sigma.to_string(), path(name));
        let mut args = vec!["--experiment", "burgers", "--observed", &file];
        args.extend(["--noise-std", &sigma_text]);
        args.extend(budget);
        let (code, answers, err) = solve_json(&args);
        assert_eq!(code, Some(1), "{x:?}: {err}");
        // On the face (at-boundary), or stopped just short of it with a misfit (suspect) whose
        // reason points at the face.
        let verdict = answers[0]["verdict"].as_str().unwrap();
        assert!(
            verdict == "at-boundary" || verdict == "suspect",
            "{x:?}: {}",
            answers[0]
        );
        assert!(
            answers[0]["reason"].as_str().unwrap().contains("edge"),
            "{}",
            answers[0]
        );
        assert_eq!(before, snapshot(dir.path()), "solve changed a file");
    }

    // The same three without a noise level, as one batch: none is ok (no batch reference).
    let mut batch = Vec::new();
    for (k, x) in [[2.71, 12.35], [2.0, 15.8], [4.0, 1.6]].iter().enumerate() {
        batch.extend(observe(x, 0.03, 10 + k as u64).0);
    }
    std::fs::write(path("bad3.npy"), npy(&[3, 41, 128], &batch)).unwrap();
    let bad3 = path("bad3.npy");
    let mut args = vec!["--experiment", "burgers", "--observed", &bad3];
    args.extend(budget);
    let (code, answers, _) = solve_json(&args);
    assert_eq!(code, Some(1));
    assert_eq!(answers.len(), 3);
    assert!(answers.iter().all(|a| a["verdict"] != "ok"), "{answers:?}");

    // Good observations mixed into that batch keep `ok`, with and without σ: a verdict never
    // depends on the rest of the batch.
    let (good1, sigma) = observe(&[2.0, 7.5], 0.03, 20);
    let (good2, _) = observe(&[4.5, 3.3], 0.03, 21);
    let mut mixed = good1.clone();
    mixed.extend(&batch);
    mixed.extend(&good2);
    std::fs::write(path("mixed.npy"), npy(&[5, 41, 128], &mixed)).unwrap();
    let mut goods = good1;
    goods.extend(good2);
    std::fs::write(path("good2.npy"), npy(&[2, 41, 128], &goods)).unwrap();
    let sigma_text = sigma.to_string();
    for noise in [vec![], vec!["--noise-std", &sigma_text]] {
        let mixed_path = path("mixed.npy");
        let mut args = vec!["--experiment", "burgers", "--observed", &mixed_path];
        args.extend(budget);
        args.extend(noise.iter().copied());
        let (code, answers, _) = solve_json(&args);
        assert_eq!(code, Some(1), "three of five are bad");
        let verdicts: Vec<&str> = answers
            .iter()
            .map(|a| a["verdict"].as_str().unwrap())
            .collect();
        assert_eq!(verdicts[0], "ok", "{noise:?}: {answers:?}");
        assert_eq!(verdicts[4], "ok", "{noise:?}: {answers:?}");
        assert!(verdicts[1..4].iter().all(|v| *v != "ok"), "{verdicts:?}");
        let mixed_answers = answers;
        // The good ones alone get the same verdicts, and the same answers: starts come from an
        // observation's content, not its place in the file.
        let goods_path = path("good2.npy");
        let mut args = vec!["--experiment", "burgers", "--observed", &goods_path];
        args.extend(budget);
        args.extend(noise.iter().copied());
        let (code, answers, err) = solve_json(&args);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(answers[0]["x_hat"], mixed_answers[0]["x_hat"]);
        assert_eq!(answers[1]["x_hat"], mixed_answers[4]["x_hat"]);
        assert!(answers.iter().all(|a| a["verdict"] == "ok"));
        // χ² statistics come with every answer, and the p-value of a good fit is not tiny.
        for a in &answers {
            assert!(a["p_value"].as_f64().unwrap() >= 1e-3, "{a}");
            assert_eq!(a["parameters"], serde_json::json!(["x_c", "omega"]));
            assert_eq!(a["experiment"], "burgers");
            assert!(a["covariance"][0][1].is_number(), "{a}");
        }
    }

    // A trajectory of another model (two forcing sources) is no exact fit of one source.
    let k2 = proxyland_physics::experiment("burgers-k2").unwrap();
    let y = k2.simulate(&[1.5, 4.0, 6.0, 9.0]).unwrap();
    std::fs::write(path("k2.npy"), npy(&[41, 128], y.as_slice().unwrap())).unwrap();
    let k2_path = path("k2.npy");
    let mut args = vec!["--experiment", "burgers", "--observed", &k2_path];
    args.extend(budget);
    let (code, answers, _) = solve_json(&args);
    assert_eq!(code, Some(1));
    assert_eq!(answers[0]["verdict"], "suspect", "{}", answers[0]);

    // A single start on one observed value cannot know whether other X fit as well.
    let (code, answers, _) = solve_json(&[
        "--experiment",
        "gramacy-lee",
        "--target",
        "1.2",
        "--method",
        "bfgs",
        "--init",
        "1.21",
    ]);
    assert_eq!(code, Some(1));
    assert_eq!(answers[0]["verdict"], "ambiguous", "{}", answers[0]);

    // One observed value of Gramacy–Lee has several answers: the multi-start finds more than
    // one exact fit and says the data do not decide.
    for seed in ["0", "1"] {
        let (code, answers, _) = solve_json(&[
            "--experiment",
            "gramacy-lee",
            "--target",
            "1.2",
            "--seed",
            seed,
        ]);
        assert_eq!(code, Some(1));
        assert_eq!(answers[0]["verdict"], "ambiguous", "{}", answers[0]);
        let fitting = answers[0]["alternatives"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["fits"] == true)
            .count();
        assert!(fitting >= 1, "{}", answers[0]);
    }
}

#[test]
fn nothing_computed_is_lost_and_stdout_errors_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let sim = proxyland_physics::experiment("burgers").unwrap();
    let mut values = Vec::new();
    for k in 0..3 {
        values.extend(noisy(&sim.simulate(&[1.0 + k as f64, 5.0]).unwrap(), 0.02, k).0);
    }
    std::fs::write(path("b3.npy"), npy(&[3, 41, 128], &values)).unwrap();
    let b3 = path("b3.npy");
    // A CSV from a spreadsheet in a comma-decimal locale: a UTF-8 byte-order mark, `;` between
    // fields and a header row. Read as data, solved, and `ok`.
    let y = sim.simulate(&[1.0, 5.0]).unwrap();
    let mut text = String::from("\u{feff}t;");
    text.push_str(
        &(0..128)
            .map(|j| format!("u{j}"))
            .collect::<Vec<_>>()
            .join(";"),
    );
    text.push('\n');
    for (i, row) in y.outer_iter().enumerate() {
        let values: Vec<String> = row.iter().map(|v| format!("{v:.17e}")).collect();
        text.push_str(&format!("{};{}\n", i as f64 * 0.1, values.join(";")));
    }
    std::fs::write(path("excel.csv"), text).unwrap();
    let (code, answers, err) = solve_json(&[
        "--experiment",
        "burgers",
        "--observed",
        &path("excel.csv"),
        "--method",
        "bfgs",
        "--init",
        "1.02,5.05",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(answers[0]["verdict"], "ok", "{}", answers[0]);
    let x = answers[0]["x_hat"].as_array().unwrap();
    assert!(
        (x[1].as_f64().unwrap() - 5.0).abs() < 1e-6,
        "{}",
        answers[0]
    );

    // A batch without --out prints its answers: CSV when stdout is no terminal.
    let o = common::command()
        .args(["solve", "--experiment", "burgers", "--observed", &b3])
        .args(["--method", "multistart-bfgs", "--budget", "60"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("observation,experiment,method,x_c,omega"),
        "{text}"
    );
    assert_eq!(lines.len(), 4, "a header and 3 answers: {text}");

    // A write error on stdout is a one-line error and status 1, never a panic.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    for args in [
        vec![
            "solve",
            "--experiment",
            "gramacy-lee",
            "--target",
            "0.7",
            "--json",
        ],
        vec!["simulate", "--experiment", "ks", "--params", "0,0"],
        vec![
            "solve",
            "--experiment",
            "burgers",
            "--observed",
            &b3,
            "--method",
            "bfgs",
        ],
    ] {
        let o = common::command()
            .args(&args)
            .stdout(full.try_clone().unwrap())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("cannot write to standard output"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }

    // Ctrl-C during a batch: the answers finished so far are written, marked partial, and the
    // complete run's name is left free.
    let mut many = Vec::new();
    for _ in 0..40 {
        many.extend(&values);
    }
    std::fs::write(path("b120.npy"), npy(&[120, 41, 128], &many)).unwrap();
    let answers = path("answers.csv");
    let child = common::command()
        .args([
            "solve",
            "--experiment",
            "burgers",
            "--observed",
            &path("b120.npy"),
        ])
        .args([
            "--method",
            "multistart-bfgs",
            "--budget",
            "200",
            "--out",
            &answers,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(4));
    // SAFETY: signalling our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    // 130, as a shell reports SIGINT: neither success nor an ordinary error.
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(
        !Path::new(&answers).exists(),
        "a partial run took the complete run's name"
    );
    let partial = std::fs::read_to_string(path("answers.partial.csv")).unwrap();
    let rows = partial.lines().count() - 1;
    assert!(rows < 120, "{rows} answers: the run was not interrupted");
    assert!(err.contains("answers.partial.csv"), "{err}");
}
