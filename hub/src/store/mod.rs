//! The hub's store: SQLite through rusqlite (one file in the data directory, the default)
//! or PostgreSQL (for several hub processes on one database).
//!
//! Everything above this module speaks to the store through [`Store::read`] /
//! [`Store::write`] and the domain methods of [`Tx`]; no SQL lives outside `store/`. Those
//! methods are written once, for both backends, through [`sql::Conn`].

mod accounts;
mod address_book;
mod audit;
mod changes;
mod consistency;
mod copy;
mod delegates;
mod devices;
mod hub_keys;
mod mail_queue;
mod messages;
mod mfa;
mod org_sends;
mod org_tokens;
pub mod postgres;
pub mod postgres_tls;
mod schema;
mod schema_postgres;
mod sessions;
pub mod sql;
mod throttles;
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
pub use copy::TABLES;
pub use delegates::{DelegateRole, Delegation};
pub use devices::DeviceGuard;
pub use hub_keys::{MasterSealed, MASTER as MASTER_KEY_ROW};
pub use mail_queue::QueuedMail;
pub use messages::{
    AttachmentRow, MessageRow, NewAttachment, NewMessage, SealedFields, Stats, StoredContent,
};
pub use org_sends::{OrgSend, RecipientRow, SendEvent};
pub use org_tokens::OrgToken;
pub use sessions::{AccessCheck, RefreshOutcome, Signer, REFRESH_RETRY_GRACE};
pub use uploads::UploadRow;

use crate::error::{Error, Result};
use postgres::Access;
use sql::{Advanced, Conn};

/// Told, after each commit, which mailboxes it advanced and to which state.
pub type CommitHook = Arc<dyn Fn(&[(String, i64)]) + Send + Sync>;

/// A fault in the store (never a refusal: those are the domain's [`Error`]s).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite said no.
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL said no, or the connection broke.
    #[error("{}", postgres_text(.0))]
    Postgres(#[from] tokio_postgres::Error),
    /// No connection to PostgreSQL could be had.
    #[error("the PostgreSQL server cannot be reached: {0}")]
    Unreachable(String),
    /// A single-row read found no row.
    #[error("a row was expected and none was found")]
    NoRows,
    /// A column held another type than the code reads.
    #[error("{0}")]
    Column(String),
}

/// See [`Store::lock_out_serving`]; released when dropped.
pub struct ServingLockout(#[allow(dead_code)] Option<postgres::JobLock>);

/// PostgreSQL's message and SQLSTATE, without its DETAIL line (which can quote the
/// values of a row, such as an address).
fn postgres_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        // A data exception (22…) or integrity violation (23…) can quote the value in its
        // message: only the constraint is named.
        Some(db) if matches!(&db.code().code()[..2], "22" | "23") => format!(
            "the row was refused (SQLSTATE {}{})",
            db.code().code(),
            db.constraint()
                .map(|c| format!(", constraint {c}"))
                .unwrap_or_default()
        ),
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        // The innermost cause says it (its wrappers repeat "error connecting to server").
        None => {
            let mut cause: &dyn std::error::Error = e;
            while let Some(inner) = cause.source() {
                cause = inner;
            }
            let mut tls = None;
            let mut link: Option<&(dyn std::error::Error + 'static)> = Some(e);
            while let Some(l) = link {
                if l.is::<native_tls::Error>() {
                    tls = Some(l);
                }
                link = l.source();
            }
            if let Some(cause) = tls {
                format!(
                    "the database server's TLS certificate was refused ({cause}); if a CA \
                     of your own signed it, name that CA's certificate with \
                     sslrootcert=PATH in the store URL"
                )
            } else if cause.to_string() == "server does not support TLS" {
                "the database server does not offer TLS, and the store URL's sslmode \
                 requires it"
                    .into()
            } else if cause.is::<std::io::Error>() {
                format!("the database server cannot be reached ({cause})")
            } else {
                e.to_string()
            }
        }
    }
}

/// What a hub process hears on a shared database's notification channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// Mailboxes some process advanced, with their new states.
    States(Vec<(String, i64)>),
    /// Listening again after the connection broke: states may have been missed.
    Reconnected,
}

/// Which database a hub keeps its rows in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database, by URL, with at most this many connections.
    Postgres {
        /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE`.
        url: String,
        /// The pool's size.
        max_connections: usize,
    },
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    on_commit: Arc<std::sync::OnceLock<CommitHook>>,
}

#[derive(Clone)]
enum Backend {
    Sqlite(Arc<Mutex<Connection>>),
    Postgres(Arc<postgres::Pg>),
}

/// An open transaction, with the store's domain operations as methods. It notes the
/// mailbox states it advances, for the commit hook.
pub struct Tx<'a>(Conn<'a>, &'a Advanced);

impl<'a> Tx<'a> {
    /// The transaction itself, for statements of tests that shape rows by hand.
    #[cfg(feature = "testing")]
    pub fn sql(&self) -> &Conn<'a> {
        &self.0
    }

    /// Whether this transaction is SQLite's.
    fn is_sqlite(&self) -> bool {
        matches!(self.0, Conn::Lite(_))
    }

    /// For a claim of queued work: on PostgreSQL, ` FOR UPDATE [OF table] SKIP LOCKED`,
    /// so that hub processes claiming at once take different rows instead of waiting on
    /// (and then racing for) the same ones; nothing on SQLite, whose writers take turns.
    fn skip_locked(&self, of: &str) -> String {
        match self.0 {
            Conn::Lite(_) => String::new(),
            Conn::Pg(_) => format!(" FOR UPDATE {of} SKIP LOCKED"),
        }
    }
}

impl Store {
    /// Opens the store at `location`: see [`Store::open`] and [`Store::connect`].
    pub fn at(location: &Location) -> Result<Self> {
        match location {
            Location::Sqlite(path) => Self::open(path),
            Location::Postgres {
                url,
                max_connections,
            } => Self::connect(url, *max_connections),
        }
    }

    /// Opens (creating if need be) and migrates the SQLite database at `path`.
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
            backend: Backend::Sqlite(Arc::new(Mutex::new(conn))),
            on_commit: Arc::default(),
        })
    }

    /// Connects to the PostgreSQL database at `url` and migrates it (one process at a
    /// time: the others wait for it).
    pub fn connect(url: &str, max_connections: usize) -> Result<Self> {
        Ok(Self {
            backend: Backend::Postgres(Arc::new(postgres::Pg::connect(url, max_connections)?)),
            on_commit: Arc::default(),
        })
    }

    /// Whether this store is PostgreSQL (several hub processes may share it).
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Sets what is told of the mailbox states each commit advanced (once; the hub sets
    /// it to wake `/events` listeners). Called after the commit, never for a rollback.
    pub fn on_commit(&self, hook: CommitHook) {
        let _ = self.on_commit.set(hook);
    }

    fn committed(&self, advanced: Advanced) {
        let advanced = advanced.into_inner();
        if advanced.is_empty() {
            return;
        }
        if let Some(hook) = self.on_commit.get() {
            hook(&advanced);
        }
    }

    /// The mailbox states other hub processes on this (PostgreSQL) database advance, as
    /// they commit; `None` on SQLite. The channel says [`Heard::Reconnected`] after the
    /// connection to the server was lost and found again (what was said meanwhile was
    /// missed). Listening stops when the receiver is dropped.
    pub fn hear_states(&self) -> Option<tokio::sync::mpsc::Receiver<Heard>> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(pg) => Some(pg.listen()),
        }
    }

    /// Runs the periodic job `name` if it is this process's turn: if it last ran `every`
    /// or more before `now` (on any hub process of the database), and, on PostgreSQL, no
    /// other process is running it (an advisory lock, held for the job's length and
    /// released should this process die). Returns what `job` returned, or `None` when it
    /// was not this process's turn.
    pub async fn run_job<T, F>(
        &self,
        name: &'static str,
        now: chrono::DateTime<chrono::Utc>,
        every: chrono::Duration,
        job: F,
    ) -> Result<Option<T>>
    where
        F: std::future::Future<Output = Result<T>>,
    {
        let _lock = match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(pg) => match pg.try_lock(name).await? {
                Some(lock) => Some(lock),
                None => return Ok(None),
            },
        };
        if !self.write(move |tx| tx.claim_job(name, now, every)).await? {
            return Ok(None);
        }
        job.await.map(Some)
    }

    /// Keeps `serve` processes of other data directories off a shared database while
    /// the returned hold lives: `None` when one still serves on it after 5 s (each holds
    /// [`postgres::SERVING_LOCK`] shared while it listens). On SQLite the data directory's
    /// own lock does this, and the hold is empty.
    pub fn lock_out_serving(&self) -> Result<Option<ServingLockout>> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(Some(ServingLockout(None))),
            // A process that has just stopped lets go once the server sees its connection
            // close: a few seconds' grace before saying one serves.
            Backend::Postgres(pg) => {
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
                loop {
                    if let Some(lock) = pg.try_lock_blocking(postgres::SERVING_LOCK)? {
                        return Ok(Some(ServingLockout(Some(lock))));
                    }
                    if std::time::Instant::now() > deadline {
                        return Ok(None);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            }
        }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(_) => self.read(|_| Ok(())).await,
            Backend::Postgres(pg) => pg.ping().await,
        }
    }

    /// Runs `f` in a read transaction, off the async runtime.
    pub async fn read<R, F>(&self, f: F) -> Result<R>
    where
        F: Fn(&Tx) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.run_off_runtime(Access::Read, f).await
    }

    /// Runs `f` in a write transaction, off the async runtime; commits if it returns `Ok`.
    /// On PostgreSQL `f` may run more than once (a write that raced another is run again
    /// from the start), so it must do nothing but its work in the store.
    pub async fn write<R, F>(&self, f: F) -> Result<R>
    where
        F: Fn(&Tx) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.run_off_runtime(Access::Write, f).await
    }

    /// Runs `f`, a write whose statements are each atomic by themselves (an upsert that
    /// counts), off the async runtime. On PostgreSQL it runs `READ COMMITTED`: writers of
    /// one row wait for its lock in turn instead of racing and running again, which
    /// keeps a flood of hits on one counter cheap.
    pub async fn write_atomic<R, F>(&self, f: F) -> Result<R>
    where
        F: Fn(&Tx) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        self.run_off_runtime(Access::Atomic, f).await
    }

    /// Runs `f` in a write transaction on the calling thread (for the CLI and tests).
    pub fn write_blocking<R: Send>(&self, f: impl Fn(&Tx) -> Result<R> + Send) -> Result<R> {
        match &self.backend {
            Backend::Sqlite(_) => self.run(Access::Write, f),
            Backend::Postgres(_) => postgres::off_runtime(|| self.run(Access::Write, f)),
        }
    }

    async fn run_off_runtime<R, F>(&self, access: Access, f: F) -> Result<R>
    where
        F: Fn(&Tx) -> Result<R> + Send + 'static,
        R: Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.run(access, f))
            .await
            .map_err(|e| Error::Other(format!("store task failed: {e}")))?
    }

    fn run<R>(&self, access: Access, f: impl Fn(&Tx) -> Result<R>) -> Result<R> {
        let advanced = Advanced::default();
        let out = match &self.backend {
            Backend::Sqlite(conn) => {
                let mut conn = conn
                    .lock()
                    .map_err(|_| Error::Other("store lock poisoned".into()))?;
                let tx = conn.transaction_with_behavior(match access {
                    Access::Read => TransactionBehavior::Deferred,
                    Access::Write | Access::Atomic => TransactionBehavior::Immediate,
                })?;
                let out = f(&Tx(Conn::Lite(&tx), &advanced))?;
                tx.commit()?;
                out
            }
            Backend::Postgres(pg) => pg.run(access, |tx| {
                // A write run again starts with nothing advanced.
                advanced.borrow_mut().clear();
                let out = f(&Tx(Conn::Pg(tx), &advanced))?;
                // Told to every hub process on this database when (and only if) it commits.
                for text in crate::events::encode(&advanced.borrow(), postgres::NOTIFY_MAX) {
                    Conn::Pg(tx).execute(
                        &format!("SELECT pg_notify('{}', ?1)", postgres::STATES_CHANNEL),
                        [text],
                    )?;
                }
                Ok(out)
            })?,
        };
        self.committed(advanced);
        Ok(out)
    }

    /// The SQLite connection, for what only SQLite has; `None` on PostgreSQL.
    fn sqlite(&self) -> Option<std::sync::MutexGuard<'_, Connection>> {
        match &self.backend {
            Backend::Sqlite(conn) => Some(conn.lock().unwrap_or_else(|p| p.into_inner())),
            Backend::Postgres(_) => None,
        }
    }

    /// Copies the SQLite database, as it is at one moment, to a new file at `to` with
    /// SQLite's online backup API: one step, inside one read transaction, so the copy is
    /// consistent and writers (a running `serve`) go on meanwhile.
    ///
    /// # Errors
    /// `Conflict` on PostgreSQL (back it up with `pg_dump`); store and file errors.
    pub fn backup_to(&self, to: &Path) -> Result<()> {
        let Some(conn) = self.sqlite() else {
            return Err(Error::Conflict(
                "this hub keeps its rows in PostgreSQL: back them up with pg_dump (see the \
                 admin guide, Backups)"
                    .into(),
            ));
        };
        let mut copy = Connection::open(to)?;
        let backup = rusqlite::backup::Backup::new(&conn, &mut copy)?;
        loop {
            match backup.step(-1)? {
                rusqlite::backup::StepResult::Done => break,
                // Another connection held a lock for a moment: try again shortly.
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        Ok(())
    }

    /// Whether SQLite overwrites what it frees with zeros (`PRAGMA secure_delete`): on
    /// while the storage upgrade replaces rows that held recipients in the clear, so the
    /// old text does not linger in free pages. (PostgreSQL stores never hold such rows.)
    pub fn set_secure_delete(&self, on: bool) -> Result<()> {
        if let Some(conn) = self.sqlite() {
            conn.pragma_update(None, "secure_delete", on)?;
        }
        Ok(())
    }

    /// Makes every committed transaction durable now: in WAL mode with
    /// `synchronous = NORMAL` a commit survives the process but not a power cut until the
    /// next checkpoint. For a commit another step depends on (a master-key rotation
    /// renames the key file after it). Copies the log into the database, syncs both, and
    /// empties the log. (A PostgreSQL commit is durable when it returns.)
    pub fn checkpoint(&self) -> Result<()> {
        let Some(conn) = self.sqlite() else {
            return Ok(());
        };
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        if busy != 0 {
            return Err(Error::Conflict(
                "the database is in use by another process; stop it and try again".into(),
            ));
        }
        Ok(())
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
