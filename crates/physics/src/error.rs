use thiserror::Error;

/// Everything that can go wrong in a simulation, grouped by kind.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    // --- bad input -------------------------------------------------------------------------
    /// X has the wrong number of parameters for the experiment.
    #[error("{experiment}: expected {expected} parameters ({names}), got {got}")]
    ParamCount {
        /// The experiment's name.
        experiment: String,
        /// The experiment's dimension d.
        expected: usize,
        /// The parameter names, comma-separated.
        names: String,
        /// How many values X held.
        got: usize,
    },
    /// A parameter is NaN or infinite.
    #[error("{experiment}: parameter `{name}` is {value}, not a finite number")]
    NonFiniteParam {
        /// The experiment's name.
        experiment: String,
        /// The parameter at fault.
        name: String,
        /// Its value.
        value: f64,
    },
    /// A parameter lies outside its box where X must be inside (no folding).
    #[error("{experiment}: parameter {name} = {value} is outside its box [{lo}, {hi}]")]
    OutsideBox {
        /// The experiment's name.
        experiment: String,
        /// The parameter at fault.
        name: String,
        /// Its value.
        value: f64,
        /// The box's lower bound for it.
        lo: f64,
        /// The box's upper bound for it.
        hi: f64,
    },
    /// A target trajectory's (frames, components) differ from the simulator's.
    #[error("{experiment}: target trajectory has shape {got:?}, expected {expected:?}")]
    TargetShape {
        /// The experiment's name.
        experiment: String,
        /// The simulator's (F, S).
        expected: (usize, usize),
        /// The target's shape.
        got: (usize, usize),
    },
    /// A trajectory handed back by a simulator, or a buffer handed to one to fill, does not hold
    /// frames × components values.
    #[error(
        "{experiment}: a trajectory of {got} values where {} frames × {} components were expected",
        expected.0,
        expected.1
    )]
    TrajectorySize {
        /// The experiment's name.
        experiment: String,
        /// The simulator's (F, S).
        expected: (usize, usize),
        /// The number of values found.
        got: usize,
    },
    /// A target trajectory holds NaN or infinite values.
    #[error("{experiment}: target trajectory holds a non-finite value at frame {frame}")]
    NonFiniteTarget {
        /// The experiment's name.
        experiment: String,
        /// The first frame with a non-finite value.
        frame: usize,
    },
    /// A simulator setting breaks a rule of its discretization (e.g. odd N, dt <= 0).
    #[error("invalid setting `{field}` = {value}: {rule}")]
    InvalidSetting {
        /// The setting's name.
        field: String,
        /// Its value, as text.
        value: String,
        /// The rule it breaks.
        rule: String,
    },
    /// An experiment name that no simulator answers to.
    #[error(
        "unknown experiment `{0}` (known: gramacy-lee, burgers, ks, ks-kt, billiards2d, billiards4d)"
    )]
    UnknownExperiment(String),

    // --- the simulation itself failed ----------------------------------------------------------
    /// The solution left its bounds or turned non-finite, or the start state is impossible.
    #[error("{experiment}: simulation blew up at step {step} (t = {t}) for X = {x:?}: {reason}")]
    BlowUp {
        /// The experiment's name.
        experiment: String,
        /// The parameters simulated.
        x: Vec<f64>,
        /// The time step it happened at (0: the initial state).
        step: usize,
        /// The simulated time it happened at.
        t: f64,
        /// What went wrong.
        reason: String,
    },
    /// A billiards shot needed more collision events than `max_events` allows.
    #[error("{experiment}: more than {cap} collision events for X = {x:?} (runaway simulation)")]
    TooManyEvents {
        /// The experiment's name.
        experiment: String,
        /// The parameters simulated.
        x: Vec<f64>,
        /// The event cap that was exceeded.
        cap: usize,
    },
    /// Every draw of a held-out target was inadmissible (e.g. no object ball moved).
    #[error("{experiment}: no admissible target after {tries} draws (nothing moves)")]
    NoTarget {
        /// The experiment's name.
        experiment: String,
        /// How many draws were tried.
        tries: usize,
    },
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
