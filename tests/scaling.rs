//! The scaling study end to end on a tiny family member: generate → proxy → validation choice →
//! the two inverse networks → evaluation with `inverse-net` → `scaling-report`, whose verdicts
//! must follow from the results file by an exact test computed here.

mod common;

use common::{ok, proxyland};
use std::path::Path;

/// The exact two-sided sign-test p-value on the discordant targets, written out here.
fn sign_test(b: usize, c: usize) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    let k = b.min(c);
    let mut choose = 1.0_f64;
    let mut tail = 0.0;
    for i in 0..=k {
        if i > 0 {
            choose *= (n - i + 1) as f64 / i as f64;
        }
        tail += choose;
    }
    (2.0 * tail / 2f64.powi(n as i32)).min(1.0)
}

/// Per-target successes of the method labelled `label` in a results file, in target order.
fn successes_in(file: &serde_json::Value, label: &str) -> Vec<bool> {
    let mut rows: Vec<(u64, bool)> = file["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == label)
        .map(|r| {
            (
                r["target"].as_u64().unwrap(),
                r["success"].as_bool().unwrap(),
            )
        })
        .collect();
    rows.sort();
    rows.into_iter().map(|r| r.1).collect()
}

#[test]
fn scaling_report_tables_and_verdicts_follow_from_the_results() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = |name: &str| d.join(name).to_str().unwrap().to_string();
    let config = common::tiny_config(d, "burgers-k2");
    std::fs::create_dir_all(d.join("runs/burgers-k2")).unwrap();
    let data = p("runs/burgers-k2/data.h5");
    ok(proxyland(&[
        "generate",
        "--config",
        config.to_str().unwrap(),
        "--out",
        &data,
        "--samples",
        "64",
        "--targets",
        "6",
        "--validation-targets",
        "4",
    ]));
    let proxy = p("runs/burgers-k2/proxy.safetensors");
    ok(proxyland(&[
        "train",
        "--data",
        &data,
        "--out",
        &proxy,
        "--epochs",
        "2",
        "--pairs-per-epoch",
        "512",
        "--device",
        "cpu",
    ]));
    ok(proxyland(&[
        "evaluate",
        "--data",
        &data,
        "--split",
        "validation",
        "--methods",
        "proxy-multistart",
        "--models",
        &proxy,
        "--out",
        &p("runs/burgers-k2/validation.json"),
    ]));
    ok(proxyland(&[
        "select",
        "--validation",
        &p("runs/burgers-k2/validation.json"),
        "--out",
        &p("runs/burgers-k2/selection.json"),
    ]));
    let supervised = p("runs/burgers-k2/inverse-supervised.safetensors");
    let physics = p("runs/burgers-k2/inverse-physics.safetensors");
    ok(proxyland(&[
        "train-inverse",
        "--data",
        &data,
        "--out",
        &supervised,
        "--epochs",
        "5",
        "--device",
        "cpu",
    ]));
    // `solve` refines the network's prediction for the user's observation, by LM if asked.
    let o = proxyland(&[
        "solve",
        "--experiment",
        "burgers-k2",
        "--data",
        &data,
        "--method",
        "inverse-net",
        "--inverse-model",
        &supervised,
        "--target",
        "1.2,4.5,5.0,9.0",
        "--refine",
        "lm",
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    let answer = &doc["answers"][0];
    assert_eq!(answer["method"], "inverse-net");
    assert!(answer["sim_calls"].as_u64().unwrap() >= 1, "{answer}");
    // Each LM call asks for the Jacobian: 1 + d field solves.
    assert_eq!(
        answer["field_solves"].as_u64().unwrap(),
        5 * answer["sim_calls"].as_u64().unwrap(),
        "{answer}"
    );
    for refused in [&["--init", "1,4,5,9"][..], &[][..]] {
        let mut args = vec![
            "solve",
            "--experiment",
            "burgers-k2",
            "--data",
            &data,
            "--method",
            "inverse-net",
            "--target",
            "1.2,4.5,5.0,9.0",
        ];
        if !refused.is_empty() {
            args.extend(["--inverse-model", &supervised]);
        }
        args.extend(refused);
        let o = proxyland(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.contains("--init") || err.contains("--inverse-model"),
            "{err}"
        );
    }
    // The physics variant starts from the supervised network and counts its simulator calls.
    let said = ok(proxyland(&[
        "train-inverse",
        "--data",
        &data,
        "--out",
        &physics,
        "--variant",
        "physics",
        "--from",
        &supervised,
        "--physics-samples",
        "8",
        "--physics-epochs",
        "2",
        "--physics-batch",
        "4",
        "--device",
        "cpu",
    ]));
    assert!(said.contains("16 simulator calls"), "{said}");
    let info = ok(proxyland(&["info", &physics]));
    assert!(
        info.contains("inverse network (physics) for burgers-k2"),
        "{info}"
    );
    let missing_from = proxyland(&[
        "train-inverse",
        "--data",
        &data,
        "--out",
        &p("x.safetensors"),
        "--variant",
        "physics",
    ]);
    assert!(!missing_from.status.success());
    assert!(String::from_utf8_lossy(&missing_from.stderr).contains("--from"));

    ok(proxyland(&[
        "evaluate",
        "--data",
        &data,
        "--methods",
        "bfgs,pool-bfgs,proxy-multistart,inverse-net,inverse-pool,de",
        "--solve-budgets",
        "1",
        "--large-budget-baselines",
        "de",
        "--refine",
        "lm",
        "--horizon",
        "continuation",
        "--stop-at-fit",
        "--selection",
        &p("runs/burgers-k2/selection.json"),
        "--models",
        &proxy,
        "--inverse-models",
        &supervised,
        &physics,
        "--out",
        &p("runs/burgers-k2/eval.json"),
    ]));
    // The same evaluation refined by BFGS, its baselines at the LM run's budget units.
    ok(proxyland(&[
        "evaluate",
        "--data",
        &data,
        "--methods",
        "bfgs,pool-bfgs,proxy-multistart,inverse-net,inverse-pool,de",
        "--budgets",
        "1",
        "--budget-units-from",
        &p("runs/burgers-k2/eval.json"),
        "--refine",
        "bfgs",
        "--horizon",
        "continuation",
        "--stop-at-fit",
        "--selection",
        &p("runs/burgers-k2/selection.json"),
        "--models",
        &proxy,
        "--inverse-models",
        &supervised,
        &physics,
        "--out",
        &p("runs/burgers-k2/eval-bfgs.json"),
    ]));
    let results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("runs/burgers-k2/eval.json")).unwrap(),
    )
    .unwrap();
    let bfgs_results: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("runs/burgers-k2/eval-bfgs.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(results["budget_units"], bfgs_results["budget_units"]);
    // A file without budget units is refused as a source of them, by its flag.
    let no_units = proxyland(&[
        "evaluate",
        "--data",
        &data,
        "--methods",
        "bfgs",
        "--budget-units-from",
        &p("runs/burgers-k2/eval-bfgs.json.missing"),
        "--out",
        &p("runs/burgers-k2/never.json"),
    ]);
    assert!(!no_units.status.success());
    assert!(String::from_utf8_lossy(&no_units.stderr).contains("--budget-units-from"));
    // Large budgets go to budgeted baselines only, by name.
    let not_baseline = proxyland(&[
        "evaluate",
        "--data",
        &data,
        "--methods",
        "bfgs",
        "--large-budget-baselines",
        "pool-bfgs",
        "--out",
        &p("runs/burgers-k2/never.json"),
    ]);
    assert!(!not_baseline.status.success());
    assert!(
        String::from_utf8_lossy(&not_baseline.stderr)
            .contains("--large-budget-baselines: `pool-bfgs`")
    );
    // The file the units come from is an input: never the output, even with --force.
    let onto_source = proxyland(&[
        "evaluate",
        "--data",
        &data,
        "--methods",
        "bfgs",
        "--budget-units-from",
        &p("runs/burgers-k2/eval.json"),
        "--out",
        &p("runs/burgers-k2/eval.json"),
        "--force",
    ]);
    assert!(!onto_source.status.success());
    assert!(String::from_utf8_lossy(&onto_source.stderr).contains("--budget-units-from"));
    // Both inverse networks took part, with their one-off costs: the physics variant's 16
    // training calls (with gradient: 1 + d = 5 solves each) and one value call per validation
    // target (4) at each of its 3 scorings (the start and 2 epochs).
    let nets = results["inverse_networks"].as_array().unwrap();
    assert_eq!(nets.len(), 2);
    assert_eq!(nets[1]["training_sim_calls"].as_u64(), Some(16 + 3 * 4));
    assert_eq!(
        nets[1]["training_field_solves"].as_u64(),
        Some(16 * 5 + 3 * 4)
    );
    let successes = |label: &str| successes_in(&results, label);
    assert_eq!(successes("inverse-net[supervised]").len(), 6);

    // Test-time training on the targets themselves is a second start per network, and each
    // target pays for it: its rows spend the adaptation's calls beyond the plain start's.
    let tt = p("runs/burgers-k2/eval-test-time.json");
    ok(proxyland(&[
        "evaluate",
        "--data",
        &data,
        "--methods",
        "inverse-net",
        "--refine",
        "lm",
        "--inverse-models",
        &supervised,
        "--test-time-epochs",
        "3",
        "--out",
        &tt,
    ]));
    let tt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&tt).unwrap()).unwrap();
    let variants: Vec<&str> = tt["inverse_networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["variant"].as_str().unwrap())
        .collect();
    assert_eq!(variants, ["supervised", "supervised+tt"]);
    assert_eq!(
        tt["inverse_networks"][1]["adaptation_calls"].as_u64(),
        Some(3)
    );
    let adapted_rows: Vec<&serde_json::Value> = tt["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "inverse-net[supervised+tt]")
        .collect();
    assert_eq!(adapted_rows.len(), 6);
    for r in adapted_rows {
        let calls = r["sim_calls"].as_u64().unwrap();
        assert!(calls > 3, "3 adaptation calls and the refinement's: {r}");
        assert_eq!(r["field_solves"].as_u64(), Some(5 * calls), "{r}");
    }

    // The report of this member beside one that was not run.
    let report = |force: bool| {
        let mut a = vec![
            "scaling-report".to_string(),
            "--runs".into(),
            p("runs"),
            "--out".into(),
            p("results"),
            "--experiments".into(),
            "burgers-k2,ks-m4".into(),
        ];
        if force {
            a.push("--force".into());
        }
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        proxyland(&a)
    };
    ok(report(false));
    let md = std::fs::read_to_string(d.join("results/REPORT.md")).unwrap();
    assert!(md.contains("**Not run:** ks-m4"), "{md}");
    assert!(md.contains("### burgers-k2 (d = 4)"), "{md}");
    // The protocol is read from the results, not assumed.
    assert!(md.contains("LM refinement, horizon continuation"), "{md}");
    // A member whose large budgets went to some baselines only says which.
    assert!(
        md.contains("On burgers-k2 only de ran at the budgets above 1×"),
        "{md}"
    );
    // Baselines at the proxy's spend in calls and, separately, in field solves.
    for unit in ["calls", "solves"] {
        let row = md
            .lines()
            .find(|l| l.starts_with(&format!("| strongest baseline @1× {unit} | de: ")))
            .unwrap_or_else(|| panic!("no 1× {unit} baseline:\n{md}"));
        assert!(row.contains("solves"), "{row}");
    }
    for png in ["success-vs-d.png", "calls-vs-d.png"] {
        let bytes = std::fs::read(d.join("results").join(png)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{png}");
    }
    // Every network-against-lookup verdict is the exact test on the rows, computed here.
    let pool = successes("pool-bfgs");
    let label_of = |net: &str| -> String {
        if net == "proxy-multistart" {
            results["methods"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["id"]["family"] == "proxy-multistart" && m["headline"] == true)
                .unwrap()["label"]
                .as_str()
                .unwrap()
                .to_string()
        } else {
            net.to_string()
        }
    };
    let answers = |label: &str| answers_in(&results, label);
    // Raw p-values first, then Holm over all of them (step-down, monotone), then verdicts.
    let mut tests: Vec<(String, usize, usize, f64)> = Vec::new();
    let mut listed: Vec<String> = Vec::new();
    for net in [
        "proxy-multistart",
        "inverse-net[supervised]",
        "inverse-net[physics]",
        "inverse-pool[supervised]",
        "inverse-pool[physics]",
    ] {
        let label = label_of(net);
        // Answers equal to an earlier network's on every target: the same test, listed once.
        if let Some(earlier) = listed.iter().find(|l| answers(&label) == answers(l)) {
            assert!(
                md.contains(&format!("{label} on burgers-k2 (as {earlier})")),
                "{label} should be listed as {earlier}:\n{md}"
            );
            continue;
        }
        listed.push(label.clone());
        let s = successes(&label);
        let only_net = s.iter().zip(&pool).filter(|(a, b)| **a && !**b).count();
        let only_pool = s.iter().zip(&pool).filter(|(a, b)| !**a && **b).count();
        tests.push((label, only_net, only_pool, sign_test(only_net, only_pool)));
    }
    let m = tests.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| tests[a].3.total_cmp(&tests[b].3));
    let mut holm = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * tests[i].3).min(1.0));
        holm[i] = running;
    }
    let mut wins = 0;
    for ((label, only_net, only_pool, _), p_holm) in tests.iter().zip(&holm) {
        let row = md
            .lines()
            .skip_while(|l| !l.starts_with("## Where a network beats the lookup"))
            .find(|l| l.starts_with("| burgers-k2 | 4 |") && l.contains(&format!("| {label} |")))
            .unwrap_or_else(|| panic!("no verdict row for {label}:\n{md}"));
        let expected = if *only_net == 0 && *only_pool == 0 {
            "the same targets"
        } else if *p_holm < 0.05 && only_net > only_pool {
            wins += 1;
            "better"
        } else if *p_holm < 0.05 {
            "worse"
        } else {
            "no significant difference"
        };
        assert!(
            row.ends_with(&format!("| {expected} |")),
            "{label}: expected `{expected}` in {row}"
        );
    }
    if wins == 0 {
        assert!(
            md.contains(&format!(
                "**Answer: no significant win for a network anywhere up to d = 4** (Holm over \
                 {m} comparisons)"
            )),
            "{md}"
        );
    } else {
        assert!(
            md.contains(&format!(
                "beats the lookup in {wins} of {m} comparisons after Holm"
            )),
            "{md}"
        );
    }
    // Physics training against its supervised start: the paired test on the rows (one
    // member, so Holm changes nothing), and the learning curve's length from the file (2
    // epochs run).
    let (physics, supervised) = (
        successes("inverse-net[physics]"),
        successes("inverse-net[supervised]"),
    );
    let only_physics = physics
        .iter()
        .zip(&supervised)
        .filter(|(a, b)| **a && !**b)
        .count();
    let only_supervised = physics
        .iter()
        .zip(&supervised)
        .filter(|(a, b)| !**a && **b)
        .count();
    let p_value = sign_test(only_physics, only_supervised);
    let expected = if only_physics == 0 && only_supervised == 0 {
        "the same targets"
    } else if p_value < 0.05 && only_physics > only_supervised {
        "better"
    } else if p_value < 0.05 {
        "worse"
    } else {
        "no significant difference"
    };
    let row = md
        .lines()
        .find(|l| l.starts_with("| burgers-k2 | 4 |") && l.contains(" → "))
        .unwrap_or_else(|| panic!("no physics-training row:\n{md}"));
    assert!(row.contains("| 2, physics epoch "), "{row}");
    assert!(
        row.ends_with(&format!("| {expected} |")),
        "{expected}: {row}"
    );
    // LM against BFGS for every method both ran: each row's verdict is the paired test on the
    // two files' rows, Holm-corrected over the rows (computed here).
    let refined: Vec<&str> = md
        .lines()
        .skip_while(|l| !l.starts_with("## Refinement: Levenberg–Marquardt against BFGS"))
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with("| burgers-k2 | 4 |"))
        .collect();
    let labels: Vec<String> = refined
        .iter()
        .map(|l| l.split(" | ").nth(2).unwrap().to_string())
        .collect();
    // Single-start BFGS is BFGS under either rule: not a refinement to compare.
    assert!(!labels.iter().any(|l| l == "bfgs"), "{labels:?}");
    // Each refining method is a row, or named as the same answers as an earlier row.
    let repeated = |l: &str| md.contains(&format!("{l} on burgers-k2 (as "));
    for expected in [
        "pool-bfgs",
        "inverse-net[supervised]",
        "inverse-pool[supervised]",
        "de@1x(proxy-multistart)",
    ] {
        assert!(
            labels.iter().any(|l| l == expected) || repeated(expected),
            "{expected} not in {labels:?}\n{md}"
        );
    }
    assert!(
        labels.iter().any(|l| l.starts_with("proxy-multistart[")),
        "{labels:?}"
    );
    // A repeat really is one: the same answers on every target under both rules.
    for l in [
        "inverse-pool[supervised]",
        "inverse-pool[physics]",
        "inverse-net[physics]",
    ] {
        if repeated(l) {
            let line = md
                .lines()
                .find(|x| x.contains(&format!("{l} on burgers-k2 (as ")))
                .unwrap();
            let earlier = line
                .split(&format!("{l} on burgers-k2 (as "))
                .nth(1)
                .unwrap()
                .split(')')
                .next()
                .unwrap();
            for file in [&results, &bfgs_results] {
                assert_eq!(
                    answers_in(file, l),
                    answers_in(file, earlier),
                    "{l} as {earlier}"
                );
            }
        }
    }
    let raw: Vec<(usize, usize, f64)> = labels
        .iter()
        .map(|l| {
            let (a, b) = (successes_in(&results, l), successes_in(&bfgs_results, l));
            assert_eq!(a.len(), 6, "{l}");
            let only_lm = a.iter().zip(&b).filter(|(x, y)| **x && !**y).count();
            let only_bfgs = a.iter().zip(&b).filter(|(x, y)| !**x && **y).count();
            (only_lm, only_bfgs, sign_test(only_lm, only_bfgs))
        })
        .collect();
    let m = raw.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| raw[a].2.total_cmp(&raw[b].2));
    let mut holm = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * raw[i].2).min(1.0));
        holm[i] = running;
    }
    let mut tally = [0usize; 3];
    for ((row, (only_lm, only_bfgs, _)), p_holm) in refined.iter().zip(&raw).zip(&holm) {
        let (word, k) = if *only_lm == 0 && *only_bfgs == 0 {
            ("the same targets", 2)
        } else if *p_holm < 0.05 && only_lm > only_bfgs {
            ("better", 0)
        } else if *p_holm < 0.05 {
            ("worse", 1)
        } else {
            ("no significant difference", 2)
        };
        tally[k] += 1;
        assert!(
            row.contains(&format!("| {word} ({only_lm} vs {only_bfgs} targets alone")),
            "{row}"
        );
    }
    // And which rule spent fewer calls, pair by pair, from the summaries' means.
    let mean_calls = |file: &serde_json::Value, label: &str| -> f64 {
        file["methods"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["label"] == label)
            .unwrap()["mean_sim_calls"]
            .as_f64()
            .unwrap()
    };
    // Baselines (labels with a budget, `@`) spend equal budgets under both rules.
    let starts: Vec<&String> = labels.iter().filter(|l| !l.contains('@')).collect();
    let lm_cheaper = starts
        .iter()
        .filter(|l| mean_calls(&results, l) < mean_calls(&bfgs_results, l))
        .count();
    let bfgs_cheaper = starts
        .iter()
        .filter(|l| mean_calls(&bfgs_results, l) < mean_calls(&results, l))
        .count();
    assert!(
        md.contains(&format!(
            "- d = 4: LM better for {}, BFGS better for {}, no significant difference for {} \
             (of {m} methods × members); of the starts that refine (the baselines run at equal \
             budgets), fewer mean simulator calls per target with LM for {lm_cheaper}, with BFGS \
             for {bfgs_cheaper}.",
            tally[0], tally[1], tally[2]
        )),
        "{md}"
    );
    // The protocol's sizes are this member's, not the study's defaults.
    assert!(md.contains("4 validation and 6 test targets"), "{md}");
    // An existing report is not replaced unasked.
    let again = report(false);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    ok(report(true));
}

/// Per-target successes of `pool-bfgs` in a results file, in target order.
fn pool_successes(path: &Path) -> Vec<bool> {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    successes_in(&doc, "pool-bfgs")
}

#[test]
fn refine_report_verdicts_are_the_holm_corrected_paired_tests_of_the_results() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config = common::tiny_config(d, "burgers-k2");
    let member = d.join("runs/burgers-k2");
    std::fs::create_dir_all(&member).unwrap();
    let data = member.join("data.h5");
    ok(proxyland(&[
        "generate",
        "--config",
        config.to_str().unwrap(),
        "--out",
        data.to_str().unwrap(),
        "--samples",
        "64",
        "--targets",
        "8",
    ]));
    let refinements = ["bfgs", "lm", "bfgs+lm"];
    for r in refinements {
        ok(proxyland(&[
            "evaluate",
            "--data",
            data.to_str().unwrap(),
            "--methods",
            "pool-bfgs",
            "--refine",
            r,
            "--out",
            member.join(format!("eval-{r}.json")).to_str().unwrap(),
        ]));
    }
    let report = d.join("REFINE.md");
    let runs = d.join("runs");
    let args = [
        "refine-report",
        "--runs",
        runs.to_str().unwrap(),
        "--experiments",
        "burgers-k2",
        "--out",
        report.to_str().unwrap(),
    ];
    ok(proxyland(&args));
    let md = std::fs::read_to_string(&report).unwrap();
    let row = md
        .lines()
        .find(|l| l.starts_with("| burgers-k2 | 4 |"))
        .unwrap_or_else(|| panic!("no row for burgers-k2:\n{md}"));
    // The family is the table's two verdicts; Holm with m = 2 doubles the smaller p-value and
    // keeps the larger (or the doubled one, whichever is larger).
    let base = pool_successes(&member.join("eval-bfgs.json"));
    let raw: Vec<(usize, usize, f64)> = refinements[1..]
        .iter()
        .map(|r| {
            let other = pool_successes(&member.join(format!("eval-{r}.json")));
            let only_a = other.iter().zip(&base).filter(|(a, b)| **a && !**b).count();
            let only_b = other.iter().zip(&base).filter(|(a, b)| !**a && **b).count();
            (only_a, only_b, sign_test(only_a, only_b))
        })
        .collect();
    let (small, large) = if raw[0].2 <= raw[1].2 { (0, 1) } else { (1, 0) };
    let mut holm = [0.0; 2];
    holm[small] = (2.0 * raw[small].2).min(1.0);
    holm[large] = raw[large].2.max(holm[small]);
    for (i, (only_a, only_b, _)) in raw.iter().enumerate() {
        let expected = if only_a + only_b == 0 {
            "the same targets".to_string()
        } else if holm[i] >= 0.05 {
            "no significant difference".to_string()
        } else if only_a > only_b {
            "better".to_string()
        } else {
            "worse".to_string()
        };
        let said = format!("{expected} ({only_a} vs {only_b} targets alone");
        assert!(row.contains(&said), "expected `{said}` in {row}");
    }
    assert!(md.contains("all 2 verdicts of the table"), "{md}");
    // The studies beside the refinements are left out until their files exist.
    assert!(!md.contains("## Horizon continuation"), "{md}");
    assert!(!md.contains("## What limits each member"), "{md}");
    ok(proxyland(&[
        "evaluate",
        "--data",
        data.to_str().unwrap(),
        "--methods",
        "pool-bfgs",
        "--refine",
        "lm",
        "--horizon",
        "continuation",
        "--out",
        member.join("eval-lm-continuation.json").to_str().unwrap(),
    ]));
    let limits = member.join("limits.json");
    ok(proxyland(&[
        "limits",
        "--data",
        data.to_str().unwrap(),
        "--trials",
        "1",
        "--out",
        limits.to_str().unwrap(),
    ]));
    let with_studies = d.join("studies.md");
    ok(proxyland(&[
        "refine-report",
        "--runs",
        runs.to_str().unwrap(),
        "--experiments",
        "burgers-k2",
        "--out",
        with_studies.to_str().unwrap(),
    ]));
    let md = std::fs::read_to_string(&with_studies).unwrap();
    // Continuation against one-shot LM: a family of one, so Holm is the raw p-value.
    let one_shot = pool_successes(&member.join("eval-lm.json"));
    let staged = pool_successes(&member.join("eval-lm-continuation.json"));
    let only_a = staged
        .iter()
        .zip(&one_shot)
        .filter(|(a, b)| **a && !**b)
        .count();
    let only_b = staged
        .iter()
        .zip(&one_shot)
        .filter(|(a, b)| !**a && **b)
        .count();
    let section = md
        .split("## Horizon continuation")
        .nth(1)
        .unwrap_or_else(|| panic!("no continuation section:\n{md}"));
    let row = section
        .lines()
        .find(|l| l.starts_with("| burgers-k2 | 4 |"))
        .unwrap_or_else(|| panic!("no continuation row:\n{md}"));
    assert!(
        row.contains(&format!("({only_a} vs {only_b} targets alone")),
        "{row}"
    );
    // The limits row: basin shares recomputed from the file, one per radius.
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&limits).unwrap()).unwrap();
    let targets = doc["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 8);
    let shares: Vec<String> = (0..4)
        .map(|i| {
            let reached: u64 = targets
                .iter()
                .map(|t| t["basin"][i]["reached"].as_u64().unwrap())
                .sum();
            format!("{:.2}", reached as f64 / targets.len() as f64)
        })
        .collect();
    let section = md
        .split("## What limits each member")
        .nth(1)
        .unwrap_or_else(|| panic!("no limits section:\n{md}"));
    let row = section
        .lines()
        .find(|l| l.starts_with("| burgers-k2 | 4 |"))
        .unwrap_or_else(|| panic!("no limits row:\n{md}"));
    assert!(row.contains(&shares.join(" / ")), "{row}");
    // An existing report is not replaced unasked, and a missing results file is named.
    let again = proxyland(&args);
    assert!(!again.status.success());
    std::fs::remove_file(member.join("eval-lm.json")).unwrap();
    let o = proxyland(&[
        "refine-report",
        "--runs",
        runs.to_str().unwrap(),
        "--experiments",
        "burgers-k2",
        "--out",
        d.join("other.md").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("eval-lm.json"), "{err}");
}

/// The answers (target, X̂ as written) of method `label` in a results file, in target order.
fn answers_in(file: &serde_json::Value, label: &str) -> Vec<(u64, String)> {
    let mut rows: Vec<(u64, String)> = file["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == label)
        .map(|r| (r["target"].as_u64().unwrap(), r["x_hat"].to_string()))
        .collect();
    rows.sort();
    rows
}
