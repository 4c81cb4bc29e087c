//! One key's sealing: XChaCha20-Poly1305 under a 256-bit key. The random 192-bit nonce is
//! stored in front of the ciphertext; with nonces that long, random ones never collide in
//! practice, so no counter has to be kept across replicas.

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

// XChaCha20-Poly1305's nonce: 192 bits, long enough to pick at random for every seal.
const NONCE_LEN: usize = 24;

/// Why a key or a sealed value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error(
        "the secrets key must be 64 hex digits (32 bytes); generate one with `openssl rand -hex 32`"
    )]
    BadKey,
    #[error("a sealed value could not be opened: it was sealed with another key or altered")]
    Tampered,
    #[error("a value could not be sealed")]
    Seal,
    #[error(
        "the previous secrets key is the current one; give the key you are rotating away from as the previous key"
    )]
    SameKey,
}

/// Seals and opens values with the configured key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// A box for the key given as 64 hex digits.
    pub fn from_hex(key: &str) -> Result<SecretBox, SecretError> {
        let bytes = hex::decode(key.trim()).map_err(|_| SecretError::BadKey)?;
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| SecretError::BadKey)?;
        Ok(SecretBox { cipher })
    }

    /// `nonce || ciphertext || tag`.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, SecretError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = self
            .cipher
            .encrypt(&nonce, plaintext)
            .map_err(|_| SecretError::Seal)?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(sealed)
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SecretError> {
        if sealed.len() < NONCE_LEN {
            return Err(SecretError::Tampered);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(XNonce::from_slice(nonce), ciphertext)
            .map_err(|_| SecretError::Tampered)
    }

    /// Seals `plaintext` as hex, for URLs.
    pub fn seal_hex(&self, plaintext: &[u8]) -> Result<String, SecretError> {
        self.seal(plaintext).map(hex::encode)
    }

    pub fn open_hex(&self, sealed: &str) -> Result<Vec<u8>, SecretError> {
        let bytes = hex::decode(sealed).map_err(|_| SecretError::Tampered)?;
        self.open(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn sealed_values_open_only_under_their_key_and_unaltered() -> Result<(), SecretError> {
        let secrets = SecretBox::from_hex(KEY)?;
        let sealed = secrets.seal(b"xoxb-secret")?;
        assert!(!sealed.windows(11).any(|w| w == b"xoxb-secret"));
        assert_eq!(secrets.open(&sealed)?, b"xoxb-secret");
        // Two seals of one value differ (fresh nonces).
        assert_ne!(secrets.seal(b"xoxb-secret")?, sealed);

        let mut altered = sealed.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert_eq!(secrets.open(&altered), Err(SecretError::Tampered));
        let other = SecretBox::from_hex(&KEY.replace("00", "ff"))?;
        assert_eq!(other.open(&sealed), Err(SecretError::Tampered));
        assert_eq!(secrets.open(b"short"), Err(SecretError::Tampered));
        Ok(())
    }

    #[test]
    fn keys_must_be_32_bytes_of_hex() {
        assert_eq!(
            SecretBox::from_hex("abcd").map(|_| ()),
            Err(SecretError::BadKey)
        );
        assert_eq!(
            SecretBox::from_hex("not hex").map(|_| ()),
            Err(SecretError::BadKey)
        );
    }
}
