//! Encryption at rest, tokens and password hashing.
//!
//! The key hierarchy: the hub's master identity (age X25519) lives in `master.key` beside
//! the database, never inside it. It wraps, for each mailbox, a data key (storage v2: the
//! AEAD key of every content value in the mailbox's rows, see [`envelope`]) and an X25519
//! identity (attachment files are age files sealed to it). Rotating the master key
//! re-wraps these and nothing else.

pub mod cache;
pub mod envelope;
mod password;
pub mod sealed;
mod tokens;

use std::{
    fs,
    io::{self, BufReader, Read, Write},
    iter,
    path::Path,
    str::FromStr,
};

use age::secrecy::ExposeSecret;
use age::x25519;

pub use cache::KeyCache;
pub use envelope::{DataKey, Field, Place};
pub use password::{PasswordHasher, HASH_PARAMS};
pub use sealpost_common::Sensitive;
pub use tokens::{hash_token, new_id, new_token};

/// A failure to encrypt, decrypt or read key material.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The key file could not be read or is not an age identity.
    #[error("the master key file {path} cannot be used: {reason}")]
    MasterKey {
        /// Where the key file was looked for.
        path: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// Ciphertext did not decrypt with the key at hand.
    #[error("stored data could not be decrypted with this hub's key")]
    Decrypt,
    /// A sealed value failed its integrity check: altered, or moved from another place.
    #[error(
        "the stored {field} of {row} failed its integrity check: it was altered, or copied \
         from another row or mailbox; restore the database from a backup"
    )]
    Sealed {
        /// The row it was read from.
        row: String,
        /// The field it was read as.
        field: &'static str,
    },
    /// Encryption failed (an I/O error underneath).
    #[error("data could not be encrypted: {0}")]
    Encrypt(String),
    /// Reading or writing an encrypted file failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The hub's master identity, which wraps every mailbox key.
pub struct MasterKey {
    identity: x25519::Identity,
}

impl MasterKey {
    /// Makes a new master key and writes it to `path` with mode 0600; refuses to overwrite.
    pub fn create(path: &Path) -> Result<Self, CryptoError> {
        let identity = x25519::Identity::generate();
        let text = format!(
            "# Sealpost hub master key. Anyone with this file and the database can read all mail.\n\
             # public key: {}\n{}\n",
            identity.to_public(),
            identity.to_string().expose_secret()
        );
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        Ok(Self { identity })
    }

    /// Reads the master key; refuses a file other users can read.
    pub fn load(path: &Path) -> Result<Self, CryptoError> {
        let fail = |reason: String| CryptoError::MasterKey {
            path: path.display().to_string(),
            reason,
        };
        let text = Sensitive::new(fs::read_to_string(path).map_err(|e| fail(e.to_string()))?);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(path)
                .map_err(|e| fail(e.to_string()))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(fail(format!(
                    "other users can read it (mode {:o}); run `chmod 600` on it",
                    mode & 0o777
                )));
            }
        }
        let line = text
            .expose()
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .ok_or_else(|| fail("it holds no age identity".into()))?;
        let identity = x25519::Identity::from_str(line)
            .map_err(|_| fail("the identity is malformed".into()))?;
        Ok(Self { identity })
    }

    /// Encrypts a small payload to the master key (used for queued mail).
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal(&self.identity.to_public(), plaintext)
    }

    /// Decrypts what [`MasterKey::seal`] made.
    pub fn open(&self, ciphertext: &[u8]) -> Result<Sensitive<Vec<u8>>, CryptoError> {
        open(&self.identity, ciphertext)
    }

    /// Wraps a mailbox data key (its 32 bytes) to this master key.
    pub fn wrap_data_key(&self, bytes: &[u8; 32]) -> Result<Vec<u8>, CryptoError> {
        self.seal(bytes)
    }

    /// Unwraps a data key stored by [`MasterKey::wrap_data_key`].
    ///
    /// # Errors
    /// `Decrypt` when it was wrapped by another master key or is damaged.
    pub fn unwrap_data_key(&self, wrapped: &[u8]) -> Result<DataKey, CryptoError> {
        DataKey::from_bytes(self.open(wrapped)?.expose())
    }

    /// The master key's public half, for staging files (organisation uploads, queued mail).
    pub fn public(&self) -> PublicKey {
        PublicKey(self.identity.to_public())
    }

    /// A reader yielding the plaintext of a stream sealed to the master key.
    pub fn open_stream(
        &self,
        sealed: impl Read + Send + 'static,
    ) -> Result<impl Read + Send + 'static, CryptoError> {
        open_stream(&self.identity, sealed)
    }

    /// A second handle on the key, for work moved to other threads.
    pub fn clone_key(&self) -> Self {
        Self {
            identity: self.identity.clone(),
        }
    }

    /// The key storage format 1 derived from the master key for fingerprints of
    /// `purpose`. Storage v2 keeps fingerprint keys wrapped in the database instead (so
    /// that a rotated master key leaves them valid); the upgrade stores this one, so that
    /// the fingerprints recorded before it still match.
    pub fn legacy_fingerprint_key(&self, purpose: &str) -> zeroize::Zeroizing<[u8; 32]> {
        use sha2::{Digest, Sha256};
        let secret = self.identity.to_string();
        zeroize::Zeroizing::new(
            Sha256::new()
                .chain_update(b"sealpost fingerprint key\0")
                .chain_update(purpose.as_bytes())
                .chain_update(b"\0")
                .chain_update(secret.expose_secret().as_bytes())
                .finalize()
                .into(),
        )
    }

    /// The `age1…` public key, recorded in the database to tell which master key it uses.
    pub fn public_text(&self) -> String {
        self.identity.to_public().to_string()
    }

    /// Makes a new mailbox key: its public half and its identity wrapped by this master key.
    pub fn new_mailbox_key(&self) -> Result<(PublicKey, Vec<u8>), CryptoError> {
        let identity = x25519::Identity::generate();
        let secret = identity.to_string();
        let wrapped = self.seal(secret.expose_secret().as_bytes())?;
        Ok((PublicKey(identity.to_public()), wrapped))
    }

    /// Unwraps a mailbox key stored by [`MasterKey::new_mailbox_key`].
    pub fn unwrap_mailbox_key(&self, wrapped: &[u8]) -> Result<MailboxKey, CryptoError> {
        let secret = self.open(wrapped)?;
        let text = std::str::from_utf8(secret.expose()).map_err(|_| CryptoError::Decrypt)?;
        let identity = x25519::Identity::from_str(text).map_err(|_| CryptoError::Decrypt)?;
        Ok(MailboxKey { identity })
    }
}

/// The public half of a mailbox key or of the master key: anything may be sealed to it.
#[derive(Clone)]
pub struct PublicKey(x25519::Recipient);

impl PublicKey {
    /// Parses the `age1…` form stored in the database.
    pub fn parse(s: &str) -> Result<Self, CryptoError> {
        x25519::Recipient::from_str(s)
            .map(Self)
            .map_err(|_| CryptoError::Decrypt)
    }

    /// Encrypts a small payload to this mailbox.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal(&self.0, plaintext)
    }

    /// Streams `input` into `output` (a new blob), encrypted to this key. Returns the
    /// number of plaintext bytes. On an error the caller removes what was written.
    pub fn seal_into(&self, mut input: impl Read, output: impl Write) -> Result<u64, CryptoError> {
        let encryptor = age::Encryptor::with_recipients(iter::once(&self.0 as _))
            .map_err(|e| CryptoError::Encrypt(e.to_string()))?;
        // age writes whole 64 KiB chunks: the output needs no buffer of its own.
        let mut writer = encryptor.wrap_output(output)?;
        let copied = copy_large(&mut input, &mut writer)?;
        // Without finish() the last chunk is never written.
        writer.finish()?;
        Ok(copied)
    }
}

impl PublicKey {
    /// A writer that encrypts to this key what is written to it, into `output`, for data
    /// that arrives in pieces (a message over SMTP). Call `finish` on it at the end, or
    /// the last chunk is never written.
    pub fn sealing_writer<W: Write>(
        &self,
        output: W,
    ) -> Result<age::stream::StreamWriter<W>, CryptoError> {
        let encryptor = age::Encryptor::with_recipients(iter::once(&self.0 as _))
            .map_err(|e| CryptoError::Encrypt(e.to_string()))?;
        Ok(encryptor.wrap_output(output)?)
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A keyed digest of `data` (HMAC-SHA256, RFC 2104, as 64 hex digits) under `key`. What
/// it is made from cannot be confirmed by guessing without the key, so it may be stored
/// beside the data it identifies (a message's subject and body, for instance).
pub fn fingerprint(key: &[u8; 32], data: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    use sha2::Sha256;
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("BUG: HMAC takes keys of any length");
    mac.update(data);
    hex::encode(mac.finalize().into_bytes())
}

/// A mailbox's keys, unwrapped: the data key of its rows and the identity of its files.
pub struct MailboxKeys {
    /// Seals and opens the content values of the mailbox's rows.
    pub data: DataKey,
    /// Opens the mailbox's attachment files and staged uploads (age).
    pub files: MailboxKey,
    /// Whether values of storage format 1 may be opened: only while the upgrade has not
    /// rewritten them all. Afterwards such a value is refused like a moved one, since it
    /// carries no binding to its place and anyone can seal one to a mailbox's public key.
    pub legacy: bool,
}

/// A mailbox's private key (age X25519, for its files), unwrapped for the duration of one operation.
pub struct MailboxKey {
    identity: x25519::Identity,
}

impl MailboxKey {
    /// A second handle on the same key (for work moved to other threads).
    pub fn clone_key(&self) -> Self {
        Self {
            identity: self.identity.clone(),
        }
    }

    /// Decrypts a small payload sealed to this mailbox.
    pub fn open(&self, ciphertext: &[u8]) -> Result<Sensitive<Vec<u8>>, CryptoError> {
        open(&self.identity, ciphertext)
    }

    /// A reader yielding the plaintext of an encrypted stream (a blob).
    pub fn open_stream(
        &self,
        sealed: impl Read + Send + 'static,
    ) -> Result<impl Read + Send + 'static, CryptoError> {
        open_stream(&self.identity, sealed)
    }

    /// The identity in age's text form, for interoperability checks with other age tools.
    pub fn to_age_identity(&self) -> Sensitive<String> {
        Sensitive::new(self.identity.to_string().expose_secret().to_owned())
    }
}

/// `io::copy` with a 1 MiB buffer: fewer, larger writes into the encryptor and the file.
fn copy_large(input: &mut impl Read, output: &mut impl Write) -> io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        output.write_all(&buf[..n])?;
        total += n as u64;
    }
}

fn open_stream(
    identity: &x25519::Identity,
    sealed: impl Read + Send + 'static,
) -> Result<impl Read + Send + 'static, CryptoError> {
    let decryptor =
        age::Decryptor::new_buffered(BufReader::new(sealed)).map_err(|_| CryptoError::Decrypt)?;
    decryptor
        .decrypt(iter::once(identity as _))
        .map_err(|_| CryptoError::Decrypt)
}

fn seal(recipient: &x25519::Recipient, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    age::encrypt(recipient, plaintext).map_err(|e| CryptoError::Encrypt(e.to_string()))
}

fn open(identity: &x25519::Identity, ciphertext: &[u8]) -> Result<Sensitive<Vec<u8>>, CryptoError> {
    age::decrypt(identity, ciphertext)
        .map(Sensitive::new)
        .map_err(|_| CryptoError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_key_round_trips_through_the_master_key() {
        let dir = tempfile::tempdir().unwrap();
        let master = MasterKey::create(&dir.path().join("master.key")).unwrap();
        let (public, wrapped) = master.new_mailbox_key().unwrap();
        let sealed = public.seal(b"hello").unwrap();
        assert!(
            !sealed.windows(5).any(|w| w == b"hello"),
            "sealed bytes must not contain the plaintext"
        );
        let reloaded = MasterKey::load(&dir.path().join("master.key")).unwrap();
        let key = reloaded.unwrap_mailbox_key(&wrapped).unwrap();
        assert_eq!(key.open(&sealed).unwrap().expose(), b"hello");
    }

    #[test]
    fn master_key_is_refused_when_others_can_read_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        MasterKey::create(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = MasterKey::load(&path)
            .err()
            .expect("a readable key is refused");
        assert!(
            err.to_string().contains("chmod 600"),
            "the error says how to fix it: {err}"
        );
    }

    #[test]
    fn master_key_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        MasterKey::create(&path).unwrap();
        let before = fs::read(&path).unwrap();
        assert!(MasterKey::create(&path).is_err(), "a second create fails");
        assert_eq!(
            fs::read(&path).unwrap(),
            before,
            "the key file is untouched"
        );
    }

    #[test]
    fn streamed_file_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let master = MasterKey::create(&dir.path().join("master.key")).unwrap();
        let (public, wrapped) = master.new_mailbox_key().unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut sealed = Vec::new();
        let n = public.seal_into(&data[..], &mut sealed).unwrap();
        assert_eq!(n, data.len() as u64);
        let key = master.unwrap_mailbox_key(&wrapped).unwrap();
        let mut out = Vec::new();
        key.open_stream(std::io::Cursor::new(sealed))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(
            out, data,
            "every byte, including the last chunk, comes back"
        );
    }
}
