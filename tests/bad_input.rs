//! Bad input across the subcommands: each case must exit non-zero, say what is wrong (naming the
//! file, field or flag), and leave existing files untouched.

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
    let o = Command::new(env!("CARGO_BIN_EXE_proxyland"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
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
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["generate", "--config", &unknown_key, "--out", &precious_h5],
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
            "already exists",
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
                &precious_json,
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
                &precious_json,
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
            "kind",
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
                &precious_json,
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
    ];
    assert!(cases.len() >= 20);
    for (args, needle) in &cases {
        let (success, err) = run(args);
        assert!(!success, "{args:?} should fail");
        assert!(
            err.contains(needle),
            "{args:?}: expected `{needle}` in:\n{err}"
        );
        assert!(!err.contains("panicked"), "{args:?} panicked:\n{err}");
    }
    assert_eq!(
        std::fs::read_to_string(f.path("precious.json")).unwrap(),
        "precious"
    );
    assert_eq!(
        std::fs::read_to_string(f.path("precious.h5")).unwrap(),
        "precious"
    );
}
