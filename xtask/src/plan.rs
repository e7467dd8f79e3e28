//! What each study runs, read from the experiment configs: `[profile.<p>.reproduce]` (the
//! proxy sweep, the seeds, the methods and the baselines' budgets), `[ablation]` (the
//! regularizers' grids and the fine σ sweep) and `[refine]` (the refine profile's rules,
//! learned-start studies and data-requirement pool sizes) of `datasets/<e>.toml`. The dataset crate owns
//! their schema and checks it when `generate` reads the file; xtask reads the same keys here
//! with `toml` alone, so that it still builds before `bootstrap` (dataset links HDF5).

use anyhow::{Context, Result, bail};
use std::path::Path;

/// One profile's plan for one experiment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    /// σ at λ = 0, chosen on validation.
    pub(crate) noise: Vec<f64>,
    /// λ at the chosen σ.
    pub(crate) penalty: Vec<f64>,
    /// Seeds of the chosen configuration (the sweep is seed 0).
    pub(crate) seeds: u64,
    /// `--methods` of the validation stages.
    pub(crate) validation_methods: String,
    /// `--methods` of the test evaluation.
    pub(crate) methods: String,
    /// `--budgets`, `--solve-budgets` and `--large-budget-baselines` of the test evaluation,
    /// each only when the config gives it.
    pub(crate) budgets: Option<String>,
    pub(crate) solve_budgets: Option<String>,
    pub(crate) large_budget_baselines: Option<String>,
}

/// The regularizer ablation's grids for one experiment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AblationPlan {
    pub(crate) dropout: Vec<f64>,
    pub(crate) weight_decay: Vec<f64>,
    pub(crate) fine_noise: Vec<f64>,
    pub(crate) fine_seeds: u64,
    pub(crate) methods: String,
}

impl Plan {
    /// The test evaluation's budget flags (none the config leaves to `evaluate`'s defaults).
    pub(crate) fn budget_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        for (flag, value) in [
            ("--budgets", &self.budgets),
            ("--solve-budgets", &self.solve_budgets),
            ("--large-budget-baselines", &self.large_budget_baselines),
        ] {
            if let Some(v) = value {
                a.extend([flag.to_string(), v.clone()]);
            }
        }
        a
    }
}

/// `profile`'s plan for experiment `e`.
pub(crate) fn reproduce(repo: &Path, e: &str, profile: &str) -> Result<Plan> {
    let (path, table) = config(repo, e)?;
    let at = format!("[profile.{profile}.reproduce]");
    let t = table
        .get("profile")
        .and_then(|p| p.get(profile))
        .and_then(|p| p.get("reproduce"))
        .and_then(toml::Value::as_table)
        .with_context(|| {
            format!(
                "{}: no {at}, which says what {profile} runs",
                path.display()
            )
        })?;
    let key = Key {
        path: &path,
        at: &at,
        table: t,
    };
    Ok(Plan {
        noise: key.numbers("noise")?,
        penalty: key.numbers_or_empty("penalty")?,
        seeds: key.count("seeds")?,
        validation_methods: key.words("validation_methods")?,
        methods: key.words("methods")?,
        budgets: key.optional_list("budgets")?,
        solve_budgets: key.optional_list("solve_budgets")?,
        large_budget_baselines: key.optional_words("large_budget_baselines")?,
    })
}

/// Experiment `e`'s ablation grids.
pub(crate) fn ablation(repo: &Path, e: &str) -> Result<AblationPlan> {
    let (path, table) = config(repo, e)?;
    let at = "[ablation]".to_string();
    let t = table
        .get("ablation")
        .and_then(toml::Value::as_table)
        .with_context(|| format!("{}: no {at}", path.display()))?;
    let key = Key {
        path: &path,
        at: &at,
        table: t,
    };
    let plan = AblationPlan {
        dropout: key.numbers_or_empty("dropout")?,
        weight_decay: key.numbers_or_empty("weight_decay")?,
        fine_noise: key.numbers("fine_noise")?,
        fine_seeds: key.count("fine_seeds")?,
        methods: key.words("methods")?,
    };
    // The ablation report compares both proxy methods for every regularizer.
    for needed in ["proxy-bfgs", "proxy-multistart"] {
        if !plan.methods.split(',').any(|m| m == needed) {
            return key.fail("methods", "a list with proxy-bfgs and proxy-multistart");
        }
    }
    Ok(plan)
}

/// The refine profile's studies on one scaling-family member (`[refine]`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RefinePlan {
    /// Whether the learned-start studies (and the confirmation) run.
    pub(crate) learned_starts: bool,
    /// Nested pool sizes of the data requirement.
    pub(crate) pool_sizes: Vec<usize>,
    /// `--targets` and `--seed` of the confirmation on fresh targets.
    pub(crate) confirmation_targets: u64,
    pub(crate) confirmation_seed: u64,
}

/// Member `e`'s refine studies.
pub(crate) fn refine(repo: &Path, e: &str) -> Result<RefinePlan> {
    let (path, table) = config(repo, e)?;
    let at = "[refine]".to_string();
    let t = table
        .get("refine")
        .and_then(toml::Value::as_table)
        .with_context(|| {
            format!(
                "{}: no {at}, which says what the refine profile runs",
                path.display()
            )
        })?;
    let key = Key {
        path: &path,
        at: &at,
        table: t,
    };
    // A misspelt key would drop a study without a word: refuse what is not one of ours.
    const KEYS: [&str; 4] = [
        "learned_starts",
        "pool_sizes",
        "confirmation_targets",
        "confirmation_seed",
    ];
    if let Some(unknown) = t.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return key.fail(
            unknown,
            &format!("no such key (known: {})", KEYS.join(", ")),
        );
    }
    let learned_starts = match t.get("learned_starts") {
        None => false,
        Some(v) => match v.as_bool() {
            Some(b) => b,
            None => return key.fail("learned_starts", "true or false"),
        },
    };
    let pool_sizes = match t.get("pool_sizes").and_then(toml::Value::as_array) {
        Some(items) if items.is_empty() => Vec::new(),
        _ => match key.optional_list("pool_sizes")? {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|n| n.parse().expect("checked"))
                .collect(),
        },
    };
    if !pool_sizes.is_empty() && !learned_starts {
        return key.fail("pool_sizes", "no sizes unless learned_starts = true");
    }
    let confirmation_seed = match t.get("confirmation_seed") {
        None => 1000,
        Some(v) => match v.as_integer() {
            Some(n) if n >= 0 => n as u64,
            _ => return key.fail("confirmation_seed", "an integer ≥ 0"),
        },
    };
    Ok(RefinePlan {
        learned_starts,
        pool_sizes,
        confirmation_targets: match t.contains_key("confirmation_targets") {
            true => key.count("confirmation_targets")?,
            false => 30,
        },
        confirmation_seed,
    })
}

/// Experiment `e`'s settings less its study plans, in a canonical form: what a pool depends
/// on (the pool stage hashes it). Editing a plan or a comment leaves it alone.
pub(crate) fn pool_settings(repo: &Path, e: &str) -> Result<String> {
    let (path, mut table) = config(repo, e)?;
    table.remove("ablation");
    table.remove("refine");
    if let Some(profiles) = table.get_mut("profile").and_then(toml::Value::as_table_mut) {
        for (_, p) in profiles.iter_mut() {
            if let Some(p) = p.as_table_mut() {
                p.remove("reproduce");
            }
        }
    }
    toml::to_string(&table).with_context(|| format!("{}: cannot re-serialize", path.display()))
}

fn config(repo: &Path, e: &str) -> Result<(std::path::PathBuf, toml::Table)> {
    let path = repo.join("datasets").join(format!("{e}.toml"));
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{}: not TOML", path.display()))?;
    Ok((path, table))
}

/// Typed reads of one table's keys, each error naming the file, the table and the key.
struct Key<'a> {
    path: &'a Path,
    at: &'a str,
    table: &'a toml::Table,
}

impl Key<'_> {
    fn fail<T>(&self, key: &str, want: &str) -> Result<T> {
        bail!(
            "{}: {} {key}: expected {want}",
            self.path.display(),
            self.at
        )
    }

    fn array(&self, key: &str) -> Option<&Vec<toml::Value>> {
        self.table.get(key).and_then(toml::Value::as_array)
    }

    fn numbers(&self, key: &str) -> Result<Vec<f64>> {
        let v = self.numbers_or_empty(key)?;
        if v.is_empty() {
            return self.fail(key, "a non-empty list of numbers");
        }
        Ok(v)
    }

    fn numbers_or_empty(&self, key: &str) -> Result<Vec<f64>> {
        let Some(items) = self.array(key) else {
            if self.table.contains_key(key) {
                return self.fail(key, "a list of numbers");
            }
            return Ok(Vec::new());
        };
        let number = |v: &toml::Value| v.as_float().or_else(|| v.as_integer().map(|i| i as f64));
        match items.iter().map(number).collect::<Option<Vec<f64>>>() {
            Some(v) => Ok(v),
            None => self.fail(key, "a list of numbers"),
        }
    }

    fn count(&self, key: &str) -> Result<u64> {
        match self.table.get(key).and_then(toml::Value::as_integer) {
            Some(n) if n > 0 => Ok(n as u64),
            _ => self.fail(key, "a positive integer"),
        }
    }

    /// A list of strings, joined with commas as a command line takes it.
    fn words(&self, key: &str) -> Result<String> {
        match self.optional_words(key)? {
            Some(w) => Ok(w),
            None => self.fail(key, "a non-empty list of method names"),
        }
    }

    fn optional_words(&self, key: &str) -> Result<Option<String>> {
        let Some(items) = self.array(key) else {
            if self.table.contains_key(key) {
                return self.fail(key, "a list of method names");
            }
            return Ok(None);
        };
        match items
            .iter()
            .map(toml::Value::as_str)
            .collect::<Option<Vec<_>>>()
        {
            Some(w) if !w.is_empty() => Ok(Some(w.join(","))),
            _ => self.fail(key, "a non-empty list of method names"),
        }
    }

    /// A list of positive integers, joined with commas.
    fn optional_list(&self, key: &str) -> Result<Option<String>> {
        let Some(items) = self.array(key) else {
            if self.table.contains_key(key) {
                return self.fail(key, "a list of positive integers");
            }
            return Ok(None);
        };
        let ints: Option<Vec<String>> = items
            .iter()
            .map(|v| v.as_integer().filter(|n| *n > 0).map(|n| n.to_string()))
            .collect();
        match ints {
            Some(v) if !v.is_empty() => Ok(Some(v.join(","))),
            _ => self.fail(key, "a non-empty list of positive integers"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxyland_physics::{EXPERIMENTS, SCALING_EXPERIMENTS};

    fn repo() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn every_experiment_plans_every_profile_that_runs_it() {
        for e in EXPERIMENTS {
            for profile in ["quick", "paper"] {
                let p = reproduce(&repo(), e, profile).unwrap();
                assert!(
                    p.noise.contains(&0.0),
                    "{e} {profile}: σ = 0 is the baseline"
                );
                assert!(p.seeds >= 1 && !p.methods.is_empty());
            }
            let a = ablation(&repo(), e).unwrap();
            assert!(a.fine_noise.len() > 2 && a.fine_seeds >= 1, "{e}");
        }
        for e in SCALING_EXPERIMENTS {
            let p = reproduce(&repo(), e, "scaling").unwrap();
            assert!(
                p.solve_budgets.is_some(),
                "{e}: spec v3 budgets in field solves"
            );
        }
    }

    #[test]
    fn a_missing_or_mistyped_key_names_the_file_table_and_key() {
        let dir = std::env::temp_dir().join(format!("xtask-plan-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("datasets")).unwrap();
        let write = |body: &str| std::fs::write(dir.join("datasets/x.toml"), body).unwrap();
        write("[profile.quick.reproduce]\nnoise = [0.0]\nseeds = 1\nmethods = [\"bfgs\"]\n");
        let e = reproduce(&dir, "x", "quick").unwrap_err().to_string();
        assert!(
            e.contains("x.toml") && e.contains("[profile.quick.reproduce] validation_methods"),
            "{e}"
        );
        write(
            "[profile.quick.reproduce]\nnoise = [\"a\"]\nseeds = 1\nmethods = [\"bfgs\"]\n\
             validation_methods = [\"bfgs\"]\n",
        );
        let e = reproduce(&dir, "x", "quick").unwrap_err().to_string();
        assert!(e.contains("noise: expected a list of numbers"), "{e}");
        let e = reproduce(&dir, "x", "paper").unwrap_err().to_string();
        assert!(e.contains("no [profile.paper.reproduce]"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_pool_depends_on_the_settings_not_on_the_plans() {
        let dir = std::env::temp_dir().join(format!("xtask-pool-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("datasets")).unwrap();
        let base = std::fs::read_to_string(repo().join("datasets/burgers.toml")).unwrap();
        let settings = |text: &str| {
            std::fs::write(dir.join("datasets/burgers.toml"), text).unwrap();
            pool_settings(&dir, "burgers").unwrap()
        };
        let before = settings(&base);
        assert!(!before.contains("reproduce") && !before.contains("fine_noise"));
        let plan_edit = base.replace("seeds = 3", "seeds = 5");
        assert_ne!(plan_edit, base);
        assert_eq!(settings(&plan_edit), before, "a plan edit moved the pool");
        assert_eq!(
            settings(&format!("# note\n{base}")),
            before,
            "a comment moved it"
        );
        assert_ne!(settings(&base.replace("n = 128", "n = 64")), before);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_refine_plans_run_learned_starts_at_d_8_and_16_and_pool_sizes_at_d_8() {
        for e in SCALING_EXPERIMENTS {
            let p = refine(&repo(), e).unwrap();
            let d = proxyland_physics::experiment(e)
                .unwrap()
                .param_space()
                .dim();
            assert_eq!(
                p.learned_starts,
                d >= 8,
                "{e}: the goals of issue 24 are at d ≥ 8"
            );
            assert_eq!(
                !p.pool_sizes.is_empty(),
                d == 8,
                "{e}: the data requirement is at d = 8"
            );
            assert!(
                !pool_settings(&repo(), e)
                    .unwrap()
                    .contains("learned_starts")
            );
        }
    }

    #[test]
    fn a_misspelt_refine_key_is_refused_not_ignored() {
        let dir = std::env::temp_dir().join(format!("xtask-refine-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("datasets")).unwrap();
        let write = |body: &str| std::fs::write(dir.join("datasets/x.toml"), body).unwrap();
        write(
            "[refine]
learned_start = true
",
        );
        let e = refine(&dir, "x").unwrap_err().to_string();
        assert!(
            e.contains("[refine] learned_start") && e.contains("no such key"),
            "{e}"
        );
        write(
            "[refine]
pool_sizes = [1024]
",
        );
        let e = refine(&dir, "x").unwrap_err().to_string();
        assert!(e.contains("pool_sizes"), "{e}");
        write(
            "[refine]
learned_starts = true
pool_sizes = []
confirmation_seed = 0
",
        );
        let p = refine(&dir, "x").unwrap();
        assert!(p.pool_sizes.is_empty() && p.confirmation_seed == 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn budgets_become_flags_only_where_given() {
        let p = reproduce(&repo(), "burgers-k8", "scaling").unwrap();
        assert_eq!(
            p.budget_args(),
            [
                "--budgets",
                "1",
                "--solve-budgets",
                "1,10",
                "--large-budget-baselines",
                "de"
            ]
        );
        assert!(
            reproduce(&repo(), "burgers", "quick")
                .unwrap()
                .budget_args()
                .is_empty()
        );
    }
}
