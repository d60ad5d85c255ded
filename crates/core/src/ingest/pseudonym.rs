//! Pseudonymisation of `worker_id`: a keyed hash applied on ingest, so a raw ID-card number never gets
//! past this module.
//!
//! The hash is SipHash-2-4, a keyed pseudo-random function built for short inputs, with a 128-bit key
//! derived from the secret: it is fast enough to apply to every row (an ID-card number hashes in about
//! 25 ns), and without the key the pseudonyms cannot be recomputed from guessed ID numbers.
//!
//! The key is 32 bytes, taken from the `WAGEWATCH_PSEUDONYM_KEY` environment variable (64 hex digits) or
//! from a key file created on first use with owner-only permissions. The same key serves every table, so
//! a worker's payments still match their payroll rows.

use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The environment variable that may hold the key as 64 hex digits.
pub const KEY_ENV: &str = "WAGEWATCH_PSEUDONYM_KEY";

/// A pseudonymised worker: the keyed SipHash-2-4 of the raw id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkerKey(u64);

impl WorkerKey {
    /// The key as a number (for hashing and sorting; it reveals nothing without the secret key).
    pub fn value(self) -> u64 {
        self.0
    }

    /// A key given as its [`WorkerKey::value`] (as a store wrote it, or as a read just computed it): already
    /// pseudonymised, never a raw id.
    pub(crate) fn from_value(value: u64) -> WorkerKey {
        WorkerKey(value)
    }
}

impl fmt::Display for WorkerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "w{:016x}", self.0)
    }
}

/// Why the pseudonymisation key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{KEY_ENV} must be 64 hex digits (32 bytes)")]
    BadEnv,
    #[error("key file {path} must hold 64 hex digits (32 bytes)")]
    BadFile { path: PathBuf },
    #[error("cannot read or create key file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Turns raw worker ids into [`WorkerKey`]s with a secret key.
#[derive(Clone)]
pub struct Pseudonymizer {
    k0: u64,
    k1: u64,
}

impl fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymizer { key: <secret> }")
    }
}

impl Pseudonymizer {
    /// A pseudonymizer with an explicit key (tests, and callers that manage keys themselves).
    pub fn from_key(key: [u8; 32]) -> Pseudonymizer {
        let derived = blake3::derive_key("wagewatch 2026 worker_id pseudonym v1", &key);
        let half = |i: usize| u64::from_le_bytes(derived[i..i + 8].try_into().expect("8 bytes"));
        Pseudonymizer { k0: half(0), k1: half(8) }
    }

    /// The key from `WAGEWATCH_PSEUDONYM_KEY` if set, else from `key_file`, creating that file with a fresh
    /// random key and mode 0600 when it does not exist yet.
    pub fn from_env_or_file(key_file: &Path) -> Result<Pseudonymizer, KeyError> {
        if let Ok(hex) = std::env::var(KEY_ENV) {
            return parse_hex_key(hex.trim()).map(Pseudonymizer::from_key).ok_or(KeyError::BadEnv);
        }
        Self::from_file(key_file)
    }

    /// The key in `path`, created with a fresh random key and mode 0600 when the file does not exist.
    pub fn from_file(path: &Path) -> Result<Pseudonymizer, KeyError> {
        let io = |source| KeyError::Io { path: path.to_path_buf(), source };
        match fs::read_to_string(path) {
            Ok(text) => parse_hex_key(text.trim())
                .map(Pseudonymizer::from_key)
                .ok_or_else(|| KeyError::BadFile { path: path.to_path_buf() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = random_key().map_err(io)?;
                write_key_file(path, &key).map_err(io)?;
                Ok(Pseudonymizer::from_key(key))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The pseudonym of a raw worker id, as written.
    pub fn pseudonym(&self, raw: &str) -> WorkerKey {
        use std::hash::Hasher;
        let mut h = siphasher::sip::SipHasher24::new_with_keys(self.k0, self.k1);
        h.write(raw.as_bytes());
        WorkerKey(h.finish())
    }
}

fn parse_hex_key(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

fn random_key() -> std::io::Result<[u8; 32]> {
    let mut key = [0u8; 32];
    fs::File::open("/dev/urandom")?.read_exact(&mut key)?;
    Ok(key)
}

fn write_key_file(path: &Path, key: &[u8; 32]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(hex.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/pseudonym.key");
        let first = Pseudonymizer::from_file(&path).unwrap();
        let again = Pseudonymizer::from_file(&path).unwrap();
        assert_eq!(first.pseudonym("320102199001011234"), again.pseudonym("320102199001011234"));
        // An id is taken as written: white space around it makes another id.
        assert_ne!(first.pseudonym("320102199001011234"), again.pseudonym(" 320102199001011234 "));
        assert_ne!(first.pseudonym("320102199001011234"), first.pseudonym("320102199001011235"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let other = Pseudonymizer::from_key([7; 32]);
        assert_ne!(first.pseudonym("x"), other.pseudonym("x"));
        fs::write(&path, "not hex").unwrap();
        assert!(matches!(Pseudonymizer::from_file(&path), Err(KeyError::BadFile { .. })));
    }
}
