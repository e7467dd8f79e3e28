//! The whole pipeline through the binary on a tiny config: generate → train → evaluate →
//! landscape → report, checking each artifact's schema.

mod common;

use common::{ok, proxyland};

#[test]
fn tiny_pipeline_chooses_on_validation_scores_on_test_and_reports_every_method() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = |name: &str| d.join(name).to_str().unwrap().to_string();
    std::fs::create_dir_all(d.join("runs/burgers")).unwrap();
    common::tiny_burgers_pool(d, &d.join("runs/burgers/data.h5"));
    let train = |noise: &str, seed: &str, name: &str| {
        common::tiny_train(
            &d.join("runs/burgers/data.h5"),
            &d.join(name),
            &["--noise", noise, "--seed", seed],
        )
    };
    train("0", "0", "runs/burgers/p0.safetensors");
    train("0.05", "0", "runs/burgers/p5.safetensors");
    let info = ok(proxyland(&["info", &p("runs/burgers/p5.safetensors")]));
    assert!(info.contains("noise σ = 0.05"), "{info}");

    // Validation: the two checkpoints on the validation targets, then the choice.
    ok(proxyland(&[
        "evaluate",
        "--data",
        &p("runs/burgers/data.h5"),
        "--split",
        "validation",
        "--methods",
        "proxy-bfgs,proxy-multistart",
        "--models",
        &p("runs/burgers/p0.safetensors"),
        &p("runs/burgers/p5.safetensors"),
        "--out",
        &p("runs/burgers/validation-sigma.json"),
    ]));
    let chosen = ok(proxyland(&[
        "select",
        "--validation",
        &p("runs/burgers/validation-sigma.json"),
        "--out",
        &p("runs/burgers/selection.json"),
    ]));
    assert!(
        chosen.contains("chosen on 2 validation targets"),
        "{chosen}"
    );
    let selection: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("runs/burgers/selection.json")).unwrap(),
    )
    .unwrap();
    let noise = selection["noise"].as_f64().unwrap();
    let chosen_file = if noise == 0.0 { "p0" } else { "p5" };
    // A second seed of the chosen configuration.
    train(
        &noise.to_string(),
        "1",
        "runs/burgers/chosen-seed1.safetensors",
    );
    let table = ok(proxyland(&[
        "evaluate",
        "--data",
        &p("runs/burgers/data.h5"),
        "--models",
        &p("runs/burgers/p0.safetensors"),
        &p("runs/burgers/p5.safetensors"),
        &p("runs/burgers/chosen-seed1.safetensors"),
        "--selection",
        &p("runs/burgers/selection.json"),
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
    assert_eq!(json["split"], "test");
    assert_eq!(json["targets"], 3);
    assert_eq!(json["pool_simulations"], 24);
    assert_eq!(json["selection"]["noise"].as_f64(), Some(noise));
    assert!(
        json["environment"]["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("libtorch")
    );
    let methods = json["methods"].as_array().unwrap();
    let family_count = |f: &str| methods.iter().filter(|m| m["id"]["family"] == f).count();
    for plain in ["bfgs", "lbfgs", "gd", "adam", "pool-bfgs"] {
        assert_eq!(family_count(plain), 1, "{plain}");
    }
    // Proxy methods once per checkpoint; budgeted baselines once per reference (proxy-bfgs,
    // proxy-multistart) and multiple (1×).
    for proxy in ["proxy", "proxy-bfgs", "proxy-multistart"] {
        assert_eq!(family_count(proxy), 3, "{proxy}");
    }
    for baseline in ["multistart-bfgs", "cmaes", "de"] {
        assert_eq!(family_count(baseline), 2, "{baseline}");
    }
    for m in methods {
        let label = m["label"].as_str().unwrap();
        for field in [
            "success_rate",
            "median_resim_loss",
            "median_param_error",
            "mean_sim_calls",
            "wall_s",
        ] {
            assert!(m[field].is_number(), "{label}.{field} in {m}");
        }
        let (lo, hi) = (
            m["success_interval"][0].as_f64().unwrap(),
            m["success_interval"][1].as_f64().unwrap(),
        );
        let rate = m["success_rate"].as_f64().unwrap();
        assert!(
            lo <= rate && rate <= hi,
            "{label}: {rate} outside [{lo}, {hi}]"
        );
        assert!(table.contains(label), "the printed table lists {label}");
        // The chosen configuration's runs are flagged, and only those.
        let c = &m["id"]["surrogate"];
        let is_chosen = !c.is_null() && c["noise"].as_f64() == Some(noise) && c["penalty"] == 0.0;
        assert_eq!(m["headline"].as_bool(), Some(is_chosen), "{label}");
        // A budgeted baseline spent no more than its budget.
        if let Some(budget) = m["id"]["budget"]["calls"].as_f64() {
            assert!(m["mean_sim_calls"].as_f64().unwrap() <= budget, "{label}");
        }
    }
    assert_eq!(
        json["rows"].as_array().unwrap().len(),
        3 * methods.len(),
        "one row per method and target"
    );
    assert_eq!(json["surrogates"].as_array().unwrap().len(), 3);
    assert!(json["surrogates"][0]["quality"]["median_argmin_error"].is_number());

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
        &p(&format!("runs/burgers/{chosen_file}.safetensors")),
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
            "--force",
        ]));
        std::fs::read_to_string(d.join("results/REPORT.md")).unwrap()
    };
    let report = write_report();
    // No paper run is on record yet: its sizes are listed, its time is "not run".
    assert!(
        report.contains("| burgers | paper | 4096 | 50 / 30 | 200 × 65536 | not run |"),
        "{report}"
    );
    assert!(!report.contains("Profiles side by side"));
    // The headline gives the chosen configuration's seeds, and every claim rests on a paired
    // test: with 3 targets nothing can be significant, and each claim says how they compare.
    assert!(report.contains("over 2 seeds"), "{report}");
    // Its interval is the first seed's over the 3 targets, never the two seeds pooled into n = 6
    // (spec v3): Wilson's interval written out here, apart from the library's.
    let results = proxyland_optim::Results::from_json(
        &d.join("runs/burgers/eval.json"),
        &std::fs::read_to_string(d.join("runs/burgers/eval.json")).unwrap(),
    )
    .unwrap();
    let first = results
        .headline(proxyland_optim::Family::ProxyMultistart)
        .unwrap()
        .runs[0];
    let wilson = |k: f64, n: f64| {
        let (z, p) = (1.959_963_984_540_054_f64, k / n);
        let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
        let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
        (centre - half, centre + half)
    };
    let (lo, hi) = wilson(first.successes as f64, 3.0);
    let cell = format!(
        "first seed {:.2} [{:.2}–{:.2}]",
        first.successes as f64 / 3.0,
        lo.max(0.0),
        hi.min(1.0)
    );
    assert!(report.contains(&cell), "{cell} not in\n{report}");
    let claims: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("  - proxy-"))
        .collect();
    assert!(claims.len() >= 3, "{report}");
    for c in &claims {
        assert!(
            (c.contains("no significant difference from") && c.contains("at n = 3"))
                || c.contains("ties with"),
            "{c}"
        );
    }
    assert!(report.contains("validation: argmin error"));
    assert!(d.join("results/burgers/amortization.png").exists());
    // The ablation profile writes its own validation-*.json beside the sweeps' in the same
    // folder: they do not enter this report (not even a garbled one).
    let ablation = d.join("runs/burgers/validation-ablation-noise.json");
    std::fs::write(&ablation, "{}").unwrap();
    assert_eq!(
        write_report(),
        report,
        "another profile's validation file changed the report"
    );
    std::fs::remove_file(&ablation).unwrap();
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
        report.contains("| burgers | paper | 4096 | 50 / 30 | 200 × 65536 | 7 min |"),
        "420 s of burgers stages, not ks's: {report}"
    );
    let side_by_side = report
        .split("## Profiles side by side")
        .nth(1)
        .expect("a paper run on record gets the side-by-side table");
    for profile in ["quick", "paper"] {
        assert!(
            side_by_side.contains(&format!("| burgers | {profile} | ")),
            "{side_by_side}"
        );
    }
    for m in methods {
        let label = m["label"].as_str().unwrap();
        assert!(
            report.contains(&format!("| {label} |")) || report.contains(&format!("| {label} ★ |")),
            "REPORT.md has no row for {label}"
        );
    }
    assert!(d.join("results/burgers/tradeoff.png").exists());
}

/// The ablation profile's stages on a tiny pool: a regularizer family chosen on validation,
/// the proxies scored on test, then `ablation-report`.
#[test]
fn tiny_ablation_chooses_each_regularizer_on_validation_and_tests_it_against_noise() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = |name: &str| d.join(name).to_str().unwrap().to_string();
    common::tiny_burgers_pool(d, &d.join("data.h5"));
    let train =
        |name: &str, extra: &[&str]| common::tiny_train(&d.join("data.h5"), &d.join(name), extra);
    train("none.safetensors", &[]);
    train("noise.safetensors", &["--noise", "0.05"]);
    train("d1.safetensors", &["--dropout", "0.1"]);
    train("d3.safetensors", &["--dropout", "0.3"]);
    train("sn.safetensors", &["--spectral-norm"]);
    let evaluate = |split: &str, models: &[&str], out: &str| {
        let mut a: Vec<String> = [
            "evaluate",
            "--data",
            &p("data.h5"),
            "--split",
            split,
            "--methods",
            "proxy-bfgs,proxy-multistart",
            "--out",
            &p(out),
            "--models",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(models.iter().map(|m| p(m)));
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        ok(proxyland(&refs));
    };
    // The dropout family, chosen on validation: the choice names its dropout.
    evaluate(
        "validation",
        &["d1.safetensors", "d3.safetensors"],
        "validation-dropout.json",
    );
    ok(proxyland(&[
        "select",
        "--validation",
        &p("validation-dropout.json"),
        "--out",
        &p("selection-dropout.json"),
    ]));
    let selection: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("selection-dropout.json")).unwrap())
            .unwrap();
    let dropout = selection["regularizers"]["dropout"].as_f64().unwrap();
    assert!(dropout == 0.1 || dropout == 0.3, "{selection}");
    assert!(selection["rule"].as_str().unwrap().contains("weaker"));
    let chosen = if dropout == 0.1 {
        "d1.safetensors"
    } else {
        "d3.safetensors"
    };

    evaluate(
        "test",
        &[
            "none.safetensors",
            "noise.safetensors",
            chosen,
            "sn.safetensors",
        ],
        "ablation-eval.json",
    );
    let eval: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("ablation-eval.json")).unwrap())
            .unwrap();
    for s in eval["surrogates"].as_array().unwrap() {
        let r = s["quality"]["roughness"].as_f64().unwrap();
        assert!(r.is_finite() && r >= 0.0, "{s}");
    }

    let report = |out: &str, force: bool| {
        let mut a = vec![
            "ablation-report".to_string(),
            "--ablation".into(),
            p("ablation-eval.json"),
            "--sigma-sweep".into(),
            p("ablation-eval.json"),
            "--out".into(),
            p(out),
        ];
        if force {
            a.push("--force".into());
        }
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        proxyland(&refs)
    };
    ok(report("ablation", false));
    let md = std::fs::read_to_string(d.join("ablation/REPORT.md")).unwrap();
    for row in [
        "| none | – |",
        "| noise injection | σ = 0.05 |",
        &format!("| dropout | p = {dropout} |"),
        "| spectral norm | on |",
    ] {
        assert!(md.contains(row), "{row} not in\n{md}");
    }
    // Three others against noise, with both methods: one family of six. With 3 targets
    // nothing can be significant, so noise injection is tied, never best or beaten.
    assert!(md.contains("(Holm over 6 comparisons)"), "{md}");
    assert!(
        md.contains("In burgers, noise injection is **tied**"),
        "{md}"
    );
    // The σ sweep holds the noise-only proxies (σ = 0 and 0.05), not dropout or the norm.
    assert!(
        md.contains("| 0 | 1 |") && md.contains("| 0.05 | 1 |"),
        "{md}"
    );
    assert_eq!(
        &std::fs::read(d.join("ablation/sigma-burgers.png")).unwrap()[1..4],
        b"PNG"
    );
    // Time: a stage the paper profile also ran is counted there, not as the ablation's own.
    std::fs::write(
        d.join("timings-ablation.txt"),
        "burgers/train proxy-s0-l0-r0 60.0\nburgers/evaluate ablation 30.0\n",
    )
    .unwrap();
    std::fs::write(d.join("timings.txt"), "burgers/train proxy-s0-l0-r0 60.0\n").unwrap();
    ok(proxyland(&[
        "ablation-report",
        "--ablation",
        &p("ablation-eval.json"),
        "--timings",
        &p("timings-ablation.txt"),
        "--shared-timings",
        &p("timings.txt"),
        "--out",
        &p("timed"),
    ]));
    let timed = std::fs::read_to_string(d.join("timed/REPORT.md")).unwrap();
    assert!(
        timed.contains("own stages took 30 s on this machine (burgers 30 s)")
            && timed.contains("took 60 s there"),
        "{timed}"
    );
    // Nothing is replaced unasked, and a validation file is not a test score.
    let again = report("ablation", false);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let wrong = proxyland(&[
        "ablation-report",
        "--ablation",
        &p("validation-dropout.json"),
        "--out",
        &p("other"),
    ]);
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("validation split"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
}
