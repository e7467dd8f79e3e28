//! End-to-end tests of the `proxyland` binary.

use std::path::Path;
use std::process::{Command, Output};

fn proxyland(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_proxyland"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_lists_every_subcommand_of_the_design() {
    let out = proxyland(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "simulate",
        "landscape",
        "generate",
        "train",
        "solve",
        "evaluate",
        "info",
        "merge",
    ] {
        assert!(text.contains(cmd), "--help does not list `{cmd}`:\n{text}");
    }
}

fn read_csv(path: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect()
}

#[test]
fn simulate_writes_the_same_trajectory_as_the_library() {
    let dir = tempfile::tempdir().unwrap();
    for (name, params) in [
        ("burgers", "1.5,7.0"),
        ("ks", "0.3,-0.4"),
        ("billiards4d", "0.2,0.4,1.5,0.1"),
    ] {
        let out = dir.path().join(format!("{name}.csv"));
        let o = proxyland(&[
            "simulate",
            "--experiment",
            name,
            "--params",
            params,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let rows = read_csv(&out);
        let sim = proxyland_physics_for_tests(name);
        let x: Vec<f64> = params.split(',').map(|v| v.parse().unwrap()).collect();
        let y = sim.simulate(&x).unwrap();
        assert_eq!(rows.len(), y.nrows());
        for (row, (yrow, t)) in rows.iter().zip(y.outer_iter().zip(sim.frame_times())) {
            assert_eq!(row[0], t);
            assert_eq!(
                &row[1..],
                yrow.as_slice().unwrap(),
                "{name}: CSV must be lossless"
            );
        }
    }
}

fn proxyland_physics_for_tests(name: &str) -> Box<dyn proxyland_physics::Simulator> {
    proxyland_physics::experiment(name).unwrap()
}

#[test]
fn simulate_ks_kt_writes_the_four_benchmark_frames() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("kt.csv");
    let o = proxyland(&[
        "simulate",
        "--experiment",
        "ks-kt",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = read_csv(&out);
    let times: Vec<f64> = rows.iter().map(|r| r[0]).collect();
    assert_eq!(times, vec![0.0, 50.0, 100.0, 150.0]);
    assert_eq!(rows[0].len(), 129);
}

#[test]
fn bad_simulate_input_fails_with_a_message_naming_the_problem() {
    let cases: [(&[&str], &str); 4] = [
        (
            &["simulate", "--experiment", "navier-stokes", "--params", "1"],
            "unknown experiment",
        ),
        (
            &["simulate", "--experiment", "burgers", "--params", "1"],
            "expected 2 parameters",
        ),
        (
            &["simulate", "--experiment", "burgers", "--params", "1,abc"],
            "entry 2",
        ),
        (
            &["simulate", "--experiment", "burgers", "--params", "1,NaN"],
            "finite",
        ),
    ];
    for (args, needle) in cases {
        let o = proxyland(args);
        assert!(!o.status.success(), "{args:?} should fail");
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn simulate_into_a_missing_folder_fails_and_leaves_existing_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nope").join("t.csv");
    let o = proxyland(&[
        "simulate",
        "--experiment",
        "ks",
        "--params",
        "0,0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
    let keep = dir.path().join("keep.csv");
    std::fs::write(&keep, "precious").unwrap();
    let o = proxyland(&[
        "simulate",
        "--experiment",
        "ks",
        "--params",
        "0,1e400",
        "--out",
        keep.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert_eq!(std::fs::read_to_string(&keep).unwrap(), "precious");
}

#[test]
fn generate_then_info_describes_the_pool_and_refuses_to_overwrite_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pool.h5");
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../datasets/billiards2d.toml"
    );
    let args = [
        "generate",
        "--config",
        config,
        "--out",
        out.to_str().unwrap(),
        "--samples",
        "16",
        "--targets",
        "2",
    ];
    let o = proxyland(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let info = proxyland(&["info", out.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        text.contains("billiards2d") && text.contains("16 in this file"),
        "{text}"
    );
    let before = std::fs::read(&out).unwrap();
    let again = proxyland(&args);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        before,
        "the existing pool is untouched"
    );
}

#[test]
fn simulate_to_h5_round_trips_through_info() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.h5");
    let o = proxyland(&[
        "simulate",
        "--experiment",
        "ks",
        "--params",
        "0.1,-0.2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let info = proxyland(&["info", out.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(
        text.contains("trajectory of ks") && text.contains("41 frames × 64"),
        "{text}"
    );
}

#[test]
fn solve_finds_an_easy_target_and_landscape_draws_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let iterates = dir.path().join("it.csv");
    let o = proxyland(&[
        "solve",
        "--experiment",
        "gramacy-lee",
        "--iterates",
        iterates.to_str().unwrap(),
        "--target",
        "0.5485634445276052",
        "--init",
        "0.56",
        "--method",
        "bfgs",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(text.contains("success: true"), "{text}");
    let rows = std::fs::read_to_string(&iterates).unwrap();
    assert!(rows.starts_with("evaluation,objective,x,value"), "{rows}");
    let last: Vec<&str> = rows.lines().last().unwrap().split(',').collect();
    assert_eq!(last[1], "true");
    assert!(rows.lines().count() > 2, "BFGS took several evaluations");
    let png = dir.path().join("l.png");
    let o = proxyland(&[
        "landscape",
        "--experiment",
        "billiards2d",
        "--target",
        "1.2,0.1",
        "--grid",
        "12",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
}

#[test]
fn solve_with_pool_bfgs_starts_from_the_pool_not_from_init() {
    // Gramacy–Lee from x0 = 1.3 sits in a local basin far from the global minimum at 0.5486;
    // pool-bfgs ignores the start and refines the pool samples nearest to the target instead.
    let dir = tempfile::tempdir().unwrap();
    let pool = dir.path().join("gl.h5");
    let config = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../datasets/gramacy-lee.toml"
    );
    let o = proxyland(&[
        "generate",
        "--config",
        config,
        "--out",
        pool.to_str().unwrap(),
        "--samples",
        "64",
        "--targets",
        "1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let solve = |method: &str| {
        let o = proxyland(&[
            "solve",
            "--experiment",
            "gramacy-lee",
            "--target",
            "0.5485634445276052",
            "--init",
            "1.3",
            "--method",
            method,
            "--data",
            pool.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    assert!(solve("bfgs").contains("success: false"));
    let text = solve("pool-bfgs");
    assert!(text.contains("success: true"), "{text}");
}
