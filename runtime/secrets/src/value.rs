//! A secret's plaintext, kept out of every printout.

use std::fmt;

/// A secret's value. `Debug` and `Display` print `[secret]`; only [`SecretValue::expose`]
/// gives the text, so every place a secret is used is one a reader can find.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: impl Into<String>) -> SecretValue {
        SecretValue(value.into())
    }

    /// The plaintext, for the one call that needs it (an auth header, a signature).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[secret]")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[secret]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints() {
        let value = SecretValue::new("hunter2");
        assert_eq!(
            format!("{value} {value:?} {:?}", Some(&value)),
            "[secret] [secret] Some([secret])"
        );
        assert_eq!(value.expose(), "hunter2");
    }
}
