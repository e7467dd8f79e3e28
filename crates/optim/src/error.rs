use thiserror::Error;

/// What can stop a method or an evaluation, grouped by kind.
#[derive(Debug, Error)]
pub enum Error {
    // --- the objective ---------------------------------------------------------------------
    #[error("simulator call budget of {0} exhausted")]
    BudgetExhausted(usize),
    #[error("the objective is not finite at u = {u:?}")]
    NonFinite { u: Vec<f64> },
    #[error(transparent)]
    Physics(#[from] proxyland_physics::Error),
    #[error(transparent)]
    Proxy(#[from] proxyland_proxy::Error),

    // --- configuration ---------------------------------------------------------------------
    #[error("unknown method `{0}` (known: {1})")]
    UnknownMethod(String, String),
    #[error("invalid input: {0}")]
    Input(String),
    #[error("optimizer: {0}")]
    Solver(String),
}

/// The crate-wide result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
