//! The vault: one SQLCipher database per account, opened with a random 256-bit key that
//! lives only in the OS keyring. Everything the app shows offline is in here, attachment
//! bytes included; nothing is written in the clear anywhere else.

mod address_book;
mod attachments;
mod changes;
mod compose;
mod messages;
mod outbox;
mod schema;
mod search;

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::error::{ClientError, Result};
use sealpost_common::Sensitive;

pub use attachments::CHUNK;
pub use changes::Applied;
pub use compose::{AfterQueue, SentCompose};
pub use outbox::{OutboxItem, QueuedFile};
pub use search::SearchHit;

/// An open vault; cheap to clone.
#[derive(Clone)]
pub struct Vault {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    /// Set by [`Vault::close`]: background work (search indexing) stops.
    closed: Arc<std::sync::atomic::AtomicBool>,
}

/// A fresh random vault key, as hex.
pub fn new_key() -> Sensitive<String> {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let key = Sensitive::new(hex::encode(bytes));
    zeroize::Zeroize::zeroize(&mut bytes);
    key
}

impl Vault {
    /// Opens (or creates) the vault at `path` with `key_hex` (64 hex digits).
    pub fn open(path: &Path, key_hex: &str) -> Result<Self> {
        if key_hex.len() != 64 || !key_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ClientError::vault(
                "the vault key from the keyring is malformed",
            ));
        }
        let mut conn = Connection::open(path)?;
        // The key first: a raw 256-bit key skips SQLCipher's password derivation.
        conn.pragma_update(None, "key", format!("x'{key_hex}'"))?;
        // A read proves the key; a wrong one reads as "file is not a database".
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
            .map_err(|_| {
                ClientError::vault(format!(
                    "the vault {} cannot be opened with the key in the keyring: the key is wrong or the file is damaged",
                    path.display()
                ))
            })?;
        // Deleting a message removes its attachments and cached bytes.
        conn.pragma_update(None, "foreign_keys", true)?;
        // Readers (the UI) go on while sync writes.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // Durable across app crashes in WAL mode, without an fsync per transaction.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // SQLCipher decrypts every page it reads: keep the working set in memory, 48 MiB
        // (docs/benchmarks.md, 2026-12-07: with 64 MiB a first sync of 10,000 messages
        // peaked at 95 MiB of RSS; with 32 MiB, marking messages read in the app took up
        // to half a second while the search index's pages were read back from disk).
        conn.pragma_update(None, "cache_size", -49_152)?;
        // Sync, listing and search each keep their statements prepared (rusqlite's default
        // of 16 would evict some on every page of a sync).
        conn.set_prepared_statement_cache_capacity(64);
        migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_owned(),
            closed: Arc::default(),
        })
    }

    /// Stops background work on this vault (every clone): indexing for search ends before
    /// its next batch, and this returns once a batch under way has committed. Called when
    /// the mailbox is closed, before its files may be removed.
    pub fn close(&self) {
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
        drop(self.conn.lock());
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Where the vault file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in a transaction on the calling thread; commits if it returns `Ok`.
    pub fn write<R>(&self, f: impl FnOnce(&rusqlite::Transaction) -> Result<R>) -> Result<R> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| ClientError::Other("vault lock poisoned".into()))?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` with the connection (reads).
    pub fn read<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| ClientError::Other("vault lock poisoned".into()))?;
        f(&conn)
    }

    /// The sync state the vault is at, if it has synced.
    pub fn sync_state(&self) -> Result<Option<String>> {
        self.read(|c| {
            Ok(
                c.query_row("SELECT value FROM sync WHERE key = 'state'", [], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    sealpost_common::migrate(conn, schema::MIGRATIONS).map_err(|e| match e {
        sealpost_common::MigrateError::Newer { found, .. } => ClientError::vault(format!(
            "this vault was written by a newer Sealpost (schema {found}); update the app"
        )),
        sealpost_common::MigrateError::Sqlite(e) => e.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vault_opens_only_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        let key = new_key();
        drop(Vault::open(&path, key.expose()).unwrap());
        assert!(
            Vault::open(&path, key.expose()).is_ok(),
            "reopens with its key"
        );
        let other = new_key();
        let err = Vault::open(&path, other.expose())
            .err()
            .expect("a wrong key is refused");
        assert!(err.to_string().contains("cannot be opened"), "{err}");
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(6).any(|w| w == b"SQLite"),
            "no plaintext SQLite header"
        );
    }
}
