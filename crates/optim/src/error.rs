use thiserror::Error;

/// What can stop a method or an evaluation, grouped by kind.
#[derive(Debug, Error)]
pub enum Error {
    // --- the objective ---------------------------------------------------------------------
    /// A budgeted objective ran out of simulator calls, or of field solves.
    #[error("simulator budget of {budget} {} exhausted", if *.in_field_solves { "field solves" } else { "calls" })]
    BudgetExhausted {
        /// The budget.
        budget: usize,
        /// Whether it counts field solves (a call with gradient costs 1 + d) rather than calls.
        in_field_solves: bool,
    },
    /// The objective returned NaN or ±∞.
    #[error("the objective is not finite at u = {u:?}")]
    NonFinite {
        /// Where (normalized coordinates).
        u: Vec<f64>,
    },
    /// The simulator failed (a blow-up, a bad target).
    #[error(transparent)]
    Physics(#[from] proxyland_physics::Error),
    /// A surrogate (a trained network, or a user's model) failed to predict.
    #[error("surrogate: {source}")]
    Surrogate {
        /// The surrogate's own error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    // --- configuration ---------------------------------------------------------------------
    /// A method name that is not in [`crate::METHOD_NAMES`].
    #[error("unknown method `{0}` (known: {1})")]
    UnknownMethod(String, String),
    /// A method needs something the caller did not give (a surrogate, a sample library).
    #[error("method {method} needs {what}")]
    Missing {
        /// The method.
        method: String,
        /// What it needs.
        what: &'static str,
    },
    /// An argument is out of its range or inconsistent with another.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The argument or field.
        field: String,
        /// What was expected.
        message: String,
    },
}

impl Error {
    pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Error {
        Error::Invalid {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// The crate-wide result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
