//! The hub's store: SQLite through rusqlite, one file in the data directory.
//!
//! Everything above this module speaks to the store through [`Store::read`] /
//! [`Store::write`] and the domain methods of [`Tx`]; no SQL lives outside `store/`. A
//! PostgreSQL store would implement the same methods.

mod accounts;
mod address_book;
mod audit;
mod changes;
mod consistency;
mod devices;
mod hub_keys;
mod mail_queue;
mod messages;
mod org_sends;
mod org_tokens;
mod schema;
mod sessions;
mod upgrade;
mod uploads;

use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use rusqlite::{Connection, TransactionBehavior};

pub use accounts::{
    guard_key, Account, AccountStatus, GuardState, LinkPurpose, PasswordForm, WrappedKeys,
};
pub use address_book::{EntryKind, EntryRow};
pub use audit::AuditEntry;
pub use changes::Change;
pub use consistency::FileRef;
pub use devices::DeviceGuard;
pub use hub_keys::{MasterSealed, MASTER as MASTER_KEY_ROW};
pub use mail_queue::QueuedMail;
pub use messages::{
    AttachmentRow, MessageRow, NewAttachment, NewMessage, SealedFields, Stats, StoredContent,
};
pub use org_sends::OrgSend;
pub use org_tokens::OrgToken;
pub use sessions::{AccessCheck, RefreshOutcome, REFRESH_RETRY_GRACE};
pub use uploads::UploadRow;

use crate::error::{Error, Result};

/// Told, after each commit, which mailboxes it advanced and to which state.
pub type CommitHook = Arc<dyn Fn(&[(String, i64)]) + Send + Sync>;

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    on_commit: Arc<std::sync::OnceLock<CommitHook>>,
}

/// An open transaction, with the store's domain operations as methods. It notes the
/// mailbox states it advances, for the commit hook.
pub struct Tx<'a>(
    &'a rusqlite::Transaction<'a>,
    &'a std::cell::RefCell<Vec<(String, i64)>>,
);

impl Store {
    /// Opens (creating if need be) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = Connection::open(path)?;
        // Another process (`sealpost-hub send`) may write while `serve` runs: wait for it.
        conn.busy_timeout(Duration::from_secs(10))?;
        // A read first proves the file is a database at all.
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })?;
        // Referential integrity: deleting an account removes its sessions and messages.
        conn.pragma_update(None, "foreign_keys", true)?;
        // WAL lets readers go on while one writer writes, across processes.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL is durable across application crashes in WAL mode, and much faster than FULL.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Keep the working set in memory (negative = KiB): 32 MiB.
        conn.pragma_update(None, "cache_size", -32_768)?;
        migrate(&mut conn)?;
        accounts::renormalise_addresses(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            on_commit: Arc::default(),
        })
    }

    /// Sets what is told of the mailbox states each commit advanced (once; the hub sets
    /// it to wake `/events` listeners). Called after the commit, never for a rollback.
    pub fn on_commit(&self, hook: CommitHook) {
        let _ = self.on_commit.set(hook);
    }

    fn committed(&self, advanced: std::cell::RefCell<Vec<(String, i64)>>) {
        let advanced = advanced.into_inner();
        if advanced.is_empty() {
            return;
        }
        if let Some(hook) = self.on_commit.get() {
            hook(&advanced);
        }
    }

    /// Runs `f` in a read transaction, off the async runtime.
    pub async fn read<R, F>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&Tx) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.run(TransactionBehavior::Deferred, f).await
    }

    /// Runs `f` in a write transaction, off the async runtime; commits if it returns `Ok`.
    pub async fn write<R, F>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&Tx) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.run(TransactionBehavior::Immediate, f).await
    }

    async fn run<R, F>(&self, behavior: TransactionBehavior, f: F) -> Result<R>
    where
        F: FnOnce(&Tx) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let advanced = std::cell::RefCell::default();
            let out = {
                let mut conn = store
                    .conn
                    .lock()
                    .map_err(|_| Error::Other("store lock poisoned".into()))?;
                let tx = conn.transaction_with_behavior(behavior)?;
                let out = f(&Tx(&tx, &advanced))?;
                tx.commit()?;
                out
            };
            store.committed(advanced);
            Ok(out)
        })
        .await
        .map_err(|e| Error::Other(format!("store task failed: {e}")))?
    }

    /// Whether SQLite overwrites what it frees with zeros (`PRAGMA secure_delete`): on
    /// while the storage upgrade replaces rows that held recipients in the clear, so the
    /// old text does not linger in free pages.
    pub fn set_secure_delete(&self, on: bool) -> Result<()> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| Error::Other("store lock poisoned".into()))?;
        conn.pragma_update(None, "secure_delete", on)?;
        Ok(())
    }

    /// Makes every committed transaction durable now: in WAL mode with
    /// `synchronous = NORMAL` a commit survives the process but not a power cut until the
    /// next checkpoint. For a commit another step depends on (a master-key rotation
    /// renames the key file after it). Copies the log into the database, syncs both, and
    /// empties the log.
    pub fn checkpoint(&self) -> Result<()> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| Error::Other("store lock poisoned".into()))?;
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        if busy != 0 {
            return Err(Error::Conflict(
                "the database is in use by another process; stop it and try again".into(),
            ));
        }
        Ok(())
    }

    /// Runs `f` in a write transaction on the calling thread (for the CLI and tests).
    pub fn write_blocking<R>(&self, f: impl FnOnce(&Tx) -> Result<R>) -> Result<R> {
        let advanced = std::cell::RefCell::default();
        let out = {
            let mut conn = self
                .conn
                .lock()
                .map_err(|_| Error::Other("store lock poisoned".into()))?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&Tx(&tx, &advanced))?;
            tx.commit()?;
            out
        };
        self.committed(advanced);
        Ok(out)
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    sealpost_common::migrate(conn, schema::MIGRATIONS).map_err(|e| match e {
        sealpost_common::MigrateError::Newer { found, known } => Error::Other(format!(
            "the database was written by a newer Sealpost hub (schema {found}, this one knows \
             {known}); upgrade sealpost-hub"
        )),
        sealpost_common::MigrateError::Sqlite(e) => e.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_from_a_newer_hub_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.db");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        drop(conn);
        let err = Store::open(&path).err().expect("a newer schema is refused");
        assert!(err.to_string().contains("newer"), "{err}");
    }

    #[test]
    fn addresses_stored_before_the_address_rule_are_found_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.db");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        for (id, email) in [
            ("acc_1", "ann@bücher.example"),
            ("acc_2", "bob@partner.example."),
            ("acc_3", "cat@xn--bcher-kva.example"),
            ("acc_4", "cat@bücher.example"),
        ] {
            conn.execute(
                "INSERT INTO accounts (id, email, status, mailbox_public, mailbox_key, created_at) \
                 VALUES (?1, ?2, 'pending', '', x'', 0)",
                [id, email],
            )
            .unwrap();
        }
        drop(conn);
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        let email = |id: &str| -> String {
            conn.query_row("SELECT email FROM accounts WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap()
        };
        assert_eq!(email("acc_1"), "ann@xn--bcher-kva.example");
        assert_eq!(email("acc_2"), "bob@partner.example");
        assert_eq!(
            email("acc_4"),
            "cat@bücher.example",
            "an address another account has in the new form is left for the admin"
        );
    }

    #[test]
    fn migrations_run_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.db");
        drop(Store::open(&path).unwrap());
        drop(Store::open(&path).expect("reopening an up-to-date database works"));
    }
}
