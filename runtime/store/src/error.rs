use thiserror::Error;

/// A storage failure. None of these is the caller's input being wrong except `Conflict`.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot open the database at `{url}`: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot make `{path}` readable by its owner alone: {source}; check who owns it")]
    Permissions {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot bring the database schema up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A row that should be unique already exists, e.g. an organisation slug.
    #[error("{0} already exists")]
    Conflict(String),
    #[error("stored {what} is not valid: {source}")]
    Corrupt {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl StoreError {
    pub(crate) fn corrupt(what: &'static str) -> impl FnOnce(serde_json::Error) -> StoreError {
        move |source| StoreError::Corrupt { what, source }
    }
}

/// Turns a unique-constraint violation into [`StoreError::Conflict`] naming `what`.
pub(crate) fn unique(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| match &error {
        sqlx::Error::Database(database) if database.is_unique_violation() => {
            StoreError::Conflict(what.into())
        }
        _ => StoreError::Database(error),
    }
}
