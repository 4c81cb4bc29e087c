//! Write to the run's log. Lines show up in `assent plugin call` and in the audit trail.

use crate::bindings::assent::flow::log::{Level, log};

pub fn debug(message: &str) {
    log(Level::Debug, message, &[]);
}

pub fn info(message: &str) {
    log(Level::Info, message, &[]);
}

pub fn warn(message: &str) {
    log(Level::Warn, message, &[]);
}

pub fn error(message: &str) {
    log(Level::Error, message, &[]);
}

/// A line with key/value fields beside the message.
pub fn with_fields(level: Level, message: &str, fields: &[(&str, &str)]) {
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
    log(level, message, &fields);
}

pub use crate::bindings::assent::flow::log::Level as LogLevel;
