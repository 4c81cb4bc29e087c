//! The server's keys: the current one seals, and a previous one (given while rotating) still
//! opens what it sealed, so a rotation re-seals everything without a moment in which stored
//! secrets cannot be read.

use sha2::{Digest, Sha256};

use crate::seal::{SecretBox, SecretError};

/// Which key sealed a value: the first 8 bytes of a SHA-256 of the key, as hex. Stored beside
/// each sealed value so a rotation finds what is still sealed under the previous key without
/// opening everything; it reveals nothing of the key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    fn of(key_hex: &str) -> KeyId {
        let digest = Sha256::new()
            .chain_update(b"assent secrets key id\0")
            .chain_update(key_hex.trim().to_ascii_lowercase().as_bytes())
            .finalize();
        KeyId(hex::encode(&digest[..8]))
    }

    /// A stored id, as read back from the database.
    pub fn from_stored(id: impl Into<String>) -> KeyId {
        KeyId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A value sealed under the current key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub bytes: Vec<u8>,
    pub key_id: KeyId,
}

/// A value opened, and whether it was sealed under the previous key (so should be sealed
/// again under the current one).
#[derive(Debug)]
pub struct Opened {
    pub plaintext: Vec<u8>,
    pub stale: bool,
}

/// The current key and, while rotating, the previous one.
#[derive(Clone)]
pub struct Keyring {
    current: SecretBox,
    current_id: KeyId,
    previous: Option<(SecretBox, KeyId)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current_id)
            .field("previous", &self.previous.as_ref().map(|(_, id)| id))
            .finish()
    }
}

impl Keyring {
    /// A keyring of `current` (64 hex digits) and, while rotating away from it, `previous`.
    pub fn from_hex(current: &str, previous: Option<&str>) -> Result<Keyring, SecretError> {
        let current_id = KeyId::of(current);
        let previous = previous
            .map(|key| {
                let id = KeyId::of(key);
                if id == current_id {
                    return Err(SecretError::SameKey);
                }
                Ok((SecretBox::from_hex(key)?, id))
            })
            .transpose()?;
        Ok(Keyring {
            current: SecretBox::from_hex(current)?,
            current_id,
            previous,
        })
    }

    /// The id of the key new values are sealed under.
    pub fn key_id(&self) -> &KeyId {
        &self.current_id
    }

    /// The key values are being rotated away from, if any.
    pub fn previous_key_id(&self) -> Option<&KeyId> {
        self.previous.as_ref().map(|(_, id)| id)
    }

    /// Seals `plaintext` under the current key.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Sealed, SecretError> {
        Ok(Sealed {
            bytes: self.current.seal(plaintext)?,
            key_id: self.current_id.clone(),
        })
    }

    /// Opens a value sealed under the current key or, while rotating, the previous one.
    pub fn open(&self, sealed: &[u8]) -> Result<Opened, SecretError> {
        match self.current.open(sealed) {
            Ok(plaintext) => Ok(Opened {
                plaintext,
                stale: false,
            }),
            Err(error) => match &self.previous {
                Some((previous, _)) => previous.open(sealed).map(|plaintext| Opened {
                    plaintext,
                    stale: true,
                }),
                None => Err(error),
            },
        }
    }

    /// Seals `plaintext` as hex, for URLs (the OAuth state); opened with [`Keyring::open_hex`].
    pub fn seal_hex(&self, plaintext: &[u8]) -> Result<String, SecretError> {
        self.current.seal_hex(plaintext)
    }

    pub fn open_hex(&self, sealed: &str) -> Result<Vec<u8>, SecretError> {
        let bytes = hex::decode(sealed).map_err(|_| SecretError::Tampered)?;
        self.open(&bytes).map(|opened| opened.plaintext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const NEW: &str = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff101112131415161718191a1b1c1d1e1f";

    #[test]
    fn a_rotation_opens_old_values_as_stale_and_seals_new_ones_under_the_new_key()
    -> Result<(), SecretError> {
        let old = Keyring::from_hex(OLD, None)?;
        let sealed = old.seal(b"okta-token")?;
        assert_eq!(&sealed.key_id, old.key_id());

        let rotating = Keyring::from_hex(NEW, Some(OLD))?;
        assert_eq!(rotating.previous_key_id(), Some(old.key_id()));
        let opened = rotating.open(&sealed.bytes)?;
        assert_eq!(
            (opened.plaintext.as_slice(), opened.stale),
            (&b"okta-token"[..], true)
        );

        let resealed = rotating.seal(&opened.plaintext)?;
        assert_ne!(&resealed.key_id, old.key_id());
        let rotated = Keyring::from_hex(NEW, None)?;
        assert!(!rotated.open(&resealed.bytes)?.stale);
        // Once the previous key is gone, what it alone sealed cannot be opened.
        assert_eq!(
            rotated.open(&sealed.bytes).map(|_| ()),
            Err(SecretError::Tampered)
        );
        Ok(())
    }

    #[test]
    fn the_previous_key_must_differ_and_ids_reveal_nothing() -> Result<(), SecretError> {
        assert_eq!(
            Keyring::from_hex(OLD, Some(&OLD.to_uppercase())).map(|_| ()),
            Err(SecretError::SameKey)
        );
        let keys = Keyring::from_hex(OLD, None)?;
        assert_eq!(keys.key_id().as_str().len(), 16);
        assert!(!OLD.contains(keys.key_id().as_str()));
        assert!(!format!("{keys:?}").contains(OLD));
        Ok(())
    }
}
