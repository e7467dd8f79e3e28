use thiserror::Error;

/// Everything that can go wrong in a simulation, grouped by kind.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    // --- bad input -------------------------------------------------------------------------
    #[error("{experiment}: expected {expected} parameters ({names}), got {got}")]
    ParamCount {
        experiment: String,
        expected: usize,
        names: String,
        got: usize,
    },
    #[error("{experiment}: parameter `{name}` is {value}, not a finite number")]
    NonFiniteParam {
        experiment: String,
        name: String,
        value: f64,
    },
    #[error("{experiment}: target trajectory has shape {got:?}, expected {expected:?}")]
    TargetShape {
        experiment: String,
        expected: (usize, usize),
        got: (usize, usize),
    },
    #[error("{experiment}: target trajectory holds a non-finite value at frame {frame}")]
    NonFiniteTarget { experiment: String, frame: usize },
    #[error("invalid setting `{field}` = {value}: {rule}")]
    InvalidSetting {
        field: String,
        value: String,
        rule: String,
    },
    #[error(
        "unknown experiment `{0}` (known: gramacy-lee, burgers, ks, ks-kt, billiards2d, billiards4d)"
    )]
    UnknownExperiment(String),

    // --- the simulation itself failed ----------------------------------------------------------
    #[error("{experiment}: simulation blew up at step {step} (t = {t}) for X = {x:?}: {reason}")]
    BlowUp {
        experiment: String,
        x: Vec<f64>,
        step: usize,
        t: f64,
        reason: String,
    },
    #[error("{experiment}: more than {cap} collision events for X = {x:?} (runaway simulation)")]
    TooManyEvents {
        experiment: String,
        x: Vec<f64>,
        cap: usize,
    },
    #[error("{experiment}: no admissible target after {tries} draws (nothing moves)")]
    NoTarget { experiment: String, tries: usize },
}

/// The crate-wide result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn invalid(field: &str, value: impl std::fmt::Display, rule: &str) -> Self {
        Error::InvalidSetting {
            field: field.to_string(),
            value: value.to_string(),
            rule: rule.to_string(),
        }
    }
}
