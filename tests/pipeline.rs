//! The whole pipeline through the binary on a tiny config: generate → train → evaluate →
//! landscape → report, checking each artifact's schema.

use std::path::Path;
use std::process::{Command, Output};

fn proxyland(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_proxyland"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the binary runs")
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn tiny_config(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../datasets/burgers.toml"
    ))
    .unwrap()
    .replace("n = 128", "n = 32")
    .replace("steps = 400", "steps = 40");
    let path = dir.join("burgers.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn tiny_pipeline_produces_every_artifact_and_a_report_row_per_method() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = |name: &str| d.join(name).to_str().unwrap().to_string();
    let config = tiny_config(d);
    std::fs::create_dir_all(d.join("runs/burgers")).unwrap();
    ok(proxyland(&[
        "generate",
        "--config",
        config.to_str().unwrap(),
        "--out",
        &p("runs/burgers/data.h5"),
        "--samples",
        "24",
        "--targets",
        "2",
    ]));
    ok(proxyland(&[
        "train",
        "--data",
        &p("runs/burgers/data.h5"),
        "--out",
        &p("runs/burgers/proxy.safetensors"),
        "--noise",
        "0.05",
        "--epochs",
        "1",
        "--pairs-per-epoch",
        "256",
        "--device",
        "cpu",
    ]));
    let info = ok(proxyland(&["info", &p("runs/burgers/proxy.safetensors")]));
    assert!(info.contains("noise σ = 0.05"), "{info}");
    let table = ok(proxyland(&[
        "evaluate",
        "--data",
        &p("runs/burgers/data.h5"),
        "--models",
        &p("runs/burgers/proxy.safetensors"),
        "--methods",
        "all",
        "--budgets",
        "1",
        "--seed",
        "3",
        "--out",
        &p("runs/burgers/eval.json"),
    ]));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("runs/burgers/eval.json")).unwrap())
            .unwrap();
    assert_eq!(json["experiment"], "burgers");
    assert_eq!(json["targets"], 2);
    let methods = json["methods"].as_object().unwrap();
    let expected = [
        "bfgs",
        "lbfgs",
        "gd",
        "adam",
        "proxy[s=0.05]",
        "proxy-bfgs[s=0.05]",
        "proxy-multistart[s=0.05]",
        "pool-bfgs",
        "multistart-bfgs@1x",
        "cmaes@1x",
        "de@1x",
    ];
    for m in expected {
        let s = &methods[m];
        for field in [
            "success_rate",
            "median_resim_loss",
            "median_param_error",
            "mean_sim_calls",
            "wall_s",
        ] {
            assert!(s[field].is_number(), "{m}.{field} in {s}");
        }
        assert!(table.contains(m), "the printed table lists {m}");
    }
    assert_eq!(json["rows"].as_array().unwrap().len(), 2 * expected.len());
    assert_eq!(json["proxy_cost"][0]["dataset_simulations"], 24);
    // The budgeted baselines spent no more than the measured budget.
    let budget = methods["de@1x"]["budget"].as_u64().unwrap() as f64;
    assert!(methods["de@1x"]["mean_sim_calls"].as_f64().unwrap() <= budget);

    // The landscape through target 0, with the methods' end points from the results file.
    ok(proxyland(&[
        "landscape",
        "--experiment",
        "burgers",
        "--data",
        &p("runs/burgers/data.h5"),
        "--results",
        &p("runs/burgers/eval.json"),
        "--model",
        &p("runs/burgers/proxy.safetensors"),
        "--grid",
        "6",
        "--out",
        &p("landscape.png"),
    ]));
    assert_eq!(
        &std::fs::read(d.join("landscape.png")).unwrap()[1..4],
        b"PNG"
    );
    // The report of the quick run, with the (so far empty) paper runs folder beside it.
    let write_report = || {
        ok(proxyland(&[
            "report",
            "--runs",
            &p("runs"),
            "--out",
            &p("results"),
            "--experiments",
            "burgers",
            "--configs",
            d.to_str().unwrap(),
            "--profile-runs",
            &format!("paper={}", p("paper-runs")),
        ]));
        std::fs::read_to_string(d.join("results/REPORT.md")).unwrap()
    };
    let report = write_report();
    // No paper run is on record yet: its sizes are listed, its time is "not run".
    assert!(
        report.contains("| burgers | paper | 4096 | 50 | 200 × 65536 | not run |"),
        "{report}"
    );
    assert!(report.contains("Only the quick profile is on record"));
    // pool-bfgs ran beside the proxy methods: the report says how the two compare.
    assert!(report.contains("of 1 experiments here"), "{report}");
    std::fs::create_dir_all(d.join("paper-runs/burgers")).unwrap();
    std::fs::copy(
        d.join("runs/burgers/eval.json"),
        d.join("paper-runs/burgers/eval.json"),
    )
    .unwrap();
    std::fs::write(
        d.join("paper-runs/timings.txt"),
        "burgers/generate 20.0\nburgers/train proxy-s0 400.0\nks/generate 999.0\n",
    )
    .unwrap();
    let report = write_report();
    assert!(
        report.contains("| burgers | paper | 4096 | 50 | 200 × 65536 | 7 min |"),
        "420 s of burgers stages, not ks's: {report}"
    );
    let side_by_side = report
        .split("### Profiles side by side")
        .nth(1)
        .expect("a paper run on record gets the side-by-side table");
    for profile in ["quick", "paper"] {
        assert!(
            side_by_side.contains(&format!("| burgers | {profile} | ")),
            "{side_by_side}"
        );
    }
    for m in expected {
        assert!(
            report.contains(&format!("| {m} |")),
            "REPORT.md has no row for {m}"
        );
    }
    assert!(d.join("results/burgers/tradeoff.png").exists());
}
