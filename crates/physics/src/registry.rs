//! The experiments proxyland ships, by name: the paper's five (E0–E4) and the two scaling
//! families (docs/spec.md, "Scaling families"). [`crate::experiment`] builds any of them;
//! tools that list or group experiments (xtask's profiles, the scaling report) read them here.

/// The paper's experiments E0–E4, in the order reports list them. (`ks-kt` is the
/// Kassam–Trefethen benchmark: a reference run, not an inverse problem.)
pub const EXPERIMENTS: [&str; 5] = ["gramacy-lee", "burgers", "ks", "billiards2d", "billiards4d"];

/// The scaling families at the d the scaling profile runs: `burgers-k{K}` for K ∈ {1, 2, 4, 8}
/// (d = 2K) and `ks-m{M}` for M ∈ {2, 4, 8, 16} (d = M), smallest d first per family.
pub const SCALING_EXPERIMENTS: [&str; 8] = [
    "burgers-k1",
    "burgers-k2",
    "burgers-k4",
    "burgers-k8",
    "ks-m2",
    "ks-m4",
    "ks-m8",
    "ks-m16",
];

/// A scaling family: one solver whose number of unknowns grows with one count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScalingFamily {
    /// `burgers-k{K}`: E1 with K forcing sources, d = 2K.
    Burgers,
    /// `ks-m{M}`: E2 with M initial-condition modes, d = M.
    Ks,
}

impl ScalingFamily {
    /// Both families.
    pub const ALL: [ScalingFamily; 2] = [ScalingFamily::Burgers, ScalingFamily::Ks];

    /// The name pattern: `burgers-k{K}` or `ks-m{M}`.
    pub fn pattern(self) -> &'static str {
        match self {
            ScalingFamily::Burgers => "burgers-k{K}",
            ScalingFamily::Ks => "ks-m{M}",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            ScalingFamily::Burgers => "burgers-k",
            ScalingFamily::Ks => "ks-m",
        }
    }
}

/// The family and count of a scaling-family member's name (`burgers-k4` → Burgers, 4); `None`
/// for any other name.
///
/// ```
/// use proxyland_physics::registry::{ScalingFamily, scaling_member};
/// assert_eq!(scaling_member("burgers-k4"), Some((ScalingFamily::Burgers, 4)));
/// assert_eq!(scaling_member("ks-m16"), Some((ScalingFamily::Ks, 16)));
/// assert_eq!(scaling_member("burgers"), None);
/// assert_eq!(scaling_member("ks-mx"), None);
/// ```
pub fn scaling_member(name: &str) -> Option<(ScalingFamily, usize)> {
    ScalingFamily::ALL.into_iter().find_map(|family| {
        let count = name.strip_prefix(family.prefix())?.parse::<usize>().ok()?;
        Some((family, count))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_experiment_builds_and_members_parse() {
        for name in EXPERIMENTS.iter().chain(&SCALING_EXPERIMENTS) {
            assert!(crate::experiment(name).is_ok(), "{name}");
        }
        for name in SCALING_EXPERIMENTS {
            assert!(scaling_member(name).is_some(), "{name}");
        }
        for name in EXPERIMENTS {
            assert!(scaling_member(name).is_none(), "{name}");
        }
    }
}
