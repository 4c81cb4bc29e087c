//! Secrets at rest — Slack bot tokens, integrations' API tokens and keys — and in transit
//! through the browser (OAuth state), sealed under the server's key.
//!
//! - `seal`: one key's XChaCha20-Poly1305 box;
//! - `keyring`: the current key, and the previous one while a rotation re-seals what it
//!   sealed; every sealed value says which key sealed it (`KeyId`);
//! - `value`: [`SecretValue`], a secret's plaintext, which never prints.
//!
//! Invariant: a plaintext leaves this crate only as a [`SecretValue`], whose `Debug` and
//! `Display` show nothing of it, so a secret that ends up in a log line, an error or an audit
//! entry by mistake still shows as `[secret]`.

mod keyring;
mod seal;
mod value;

pub use keyring::{KeyId, Keyring, Opened, Sealed};
pub use seal::{SecretBox, SecretError};
pub use value::SecretValue;
