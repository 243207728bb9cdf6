//! The PostgreSQL backend: a pool of connections (deadpool-postgres over tokio-postgres)
//! on a small runtime of its own, so that the store's domain methods, which are plain
//! blocking code like SQLite's, can drive it from any thread that is not itself async.
//!
//! Writes run `SERIALIZABLE`: PostgreSQL then gives every write the outcome it would have
//! had alone, as SQLite's single writer does, and one that raced another (SQLSTATE 40001,
//! or 40P01 for a deadlock) is run again from the start. Reads run `REPEATABLE READ READ
//! ONLY`: one snapshot for the whole read, as a SQLite read transaction has.

use std::{str::FromStr, sync::Arc, time::Duration};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use postgres_native_tls::MakeTlsConnector;
use tokio_postgres::{config::SslMode, error::SqlState, IsolationLevel};

use super::{
    sql::{to_postgres, Param},
    Heard, StoreError,
};
use crate::error::{Error, Result};

/// The notification channel on which writes tell every hub process the mailbox states
/// they advanced (`account_id state` lines, see `events::encode`).
pub const STATES_CHANNEL: &str = "sealpost_mailbox_states";

/// The name of the advisory lock every serving process holds shared (on its listening
/// connection), and that a master-key rotation takes exclusively
/// (`Store::lock_out_serving`).
pub const SERVING_LOCK: &str = "serving";

/// An advisory lock of this hub's: the two-key form, keyed by the schema the connection
/// works in and the lock's name, so that hubs in other schemas of one database never
/// share one.
const LOCK_KEYS: &str = "hashtext(current_schema()), hashtext($1)";

/// The longest notification payload sent (PostgreSQL's limit is 8000 bytes).
pub const NOTIFY_MAX: usize = 7_900;

/// How often a write that lost a race with another is run again before giving up.
const ATTEMPTS: u32 = 12;

/// What a transaction does, which sets its isolation on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads, from one snapshot (`REPEATABLE READ READ ONLY`).
    Read,
    /// Reads and writes, as if alone (`SERIALIZABLE`, run again after a race).
    Write,
    /// Statements each atomic by themselves (an upsert that counts): `READ COMMITTED`,
    /// where writers of one row wait for its lock instead of racing.
    Atomic,
}

/// A connection pool on its own runtime; cheap to clone.
#[derive(Clone)]
pub struct Pg {
    pool: Pool,
    runtime: Arc<crate::runtime::OwnRuntime>,
    config: tokio_postgres::Config,
    tls: MakeTlsConnector,
}

/// An open transaction on a pooled connection.
pub struct PgTx<'a> {
    tx: deadpool_postgres::Transaction<'a>,
    rt: &'a tokio::runtime::Handle,
}

impl PgTx<'_> {
    /// Prepares `sql` (written for SQLite, see `sql`) through the connection's cache.
    pub fn prepare(&self, sql: &str) -> Result<tokio_postgres::Statement> {
        let sql = to_postgres(sql);
        Ok(self
            .rt
            .block_on(self.tx.prepare_cached(&sql))
            .map_err(StoreError::from)?)
    }

    /// Runs a prepared statement; returns the rows it changed.
    pub fn execute(&self, stmt: &tokio_postgres::Statement, params: &[Param]) -> Result<u64> {
        let refs = refs(params);
        Ok(self
            .rt
            .block_on(self.tx.execute(stmt, &refs))
            .map_err(StoreError::from)?)
    }

    /// Runs a prepared query; returns its rows.
    pub fn query(
        &self,
        stmt: &tokio_postgres::Statement,
        params: &[Param],
    ) -> Result<Vec<tokio_postgres::Row>> {
        let refs = refs(params);
        Ok(self
            .rt
            .block_on(self.tx.query(stmt, &refs))
            .map_err(StoreError::from)?)
    }

    /// Runs statements with no parameters and no result, as one batch.
    pub fn batch(&self, sql: &str) -> Result<()> {
        Ok(self
            .rt
            .block_on(self.tx.batch_execute(sql))
            .map_err(StoreError::from)?)
    }
}

/// The first fault talking to a server, said with where the server is and what to check
/// (never the password).
fn first_contact(e: Error, config: &tokio_postgres::Config) -> Error {
    let Error::Store(StoreError::Postgres(pg)) = &e else {
        return e;
    };
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(host, port)| match host {
            tokio_postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
            tokio_postgres::config::Host::Unix(dir) => format!("{}", dir.display()),
        })
        .collect();
    let at = format!(
        "PostgreSQL at {} (database {}, user {})",
        hosts.join(", "),
        config.get_dbname().unwrap_or("?"),
        config.get_user().unwrap_or("?")
    );
    let schema = config
        .get_options()
        .and_then(|o| o.split("search_path=").nth(1))
        .map(|rest| rest.split([' ', ',']).next().unwrap_or_default().to_owned())
        .unwrap_or_else(|| "NAME".into());
    let schema_hint = format!(
        "create the schema the URL's search_path names (CREATE SCHEMA {schema} AUTHORIZATION {})",
        config.get_user().unwrap_or("USER")
    );
    let what = e.to_string();
    let what = what.strip_prefix("database error: ").unwrap_or(&what);
    let check = match pg.code().map(|c| c.code()) {
        Some("28000") if what.contains("no encryption") => {
            "the server accepts only TLS connections: add sslmode=verify-full (and \
             sslrootcert=PATH for a CA of your own) to the store URL"
        }
        Some("28000") if what.contains("pg_hba.conf") => {
            "the server's pg_hba.conf does not let this user connect from here: ask the \
             database's administrator"
        }
        Some("28P01" | "28000") => {
            "check the user and password of the store URL (hub.toml [store] url, or \
             SEALPOST_STORE_URL); any @ : / # ? % in them must be percent-encoded"
        }
        Some("3D000") => {
            "create the database (createdb --owner USER NAME) or fix its name in the URL"
        }
        Some("3F000") => &schema_hint,
        Some("42501") => {
            "the URL's user may not use the hub's tables: they belong to another role \
             (after pg_restore, restore as the hub's role or with --role=USER)"
        }
        Some(_) => "",
        None if what.contains("TLS") || what.contains("certificate") => "",
        None => {
            "check the host and port of the store URL; any @ : / # ? % in the user or \
             password must be percent-encoded"
        }
    };
    Error::Other(if check.is_empty() {
        format!("{at}: {what}")
    } else {
        format!("{at}: {what}; {check}")
    })
}

fn refs<'a>(params: &'a [Param<'a>]) -> Vec<&'a (dyn tokio_postgres::types::ToSql + Sync)> {
    params.iter().map(|p| p as _).collect()
}

impl Pg {
    /// Connects to the server at `url` (`postgres://user:password@host:port/database`,
    /// with TLS as its `sslmode` and `sslrootcert` say, see [`super::postgres_tls`]), with
    /// at most `max_connections` open at once, and brings its schema up to date.
    /// Blocks; call it from anywhere (it runs on a thread of its own).
    pub fn connect(url: &str, max_connections: usize) -> Result<Self> {
        let (url, tls_options) = super::postgres_tls::split_url(url)?;
        let tls = super::postgres_tls::connector(&tls_options)?;
        let mut config = tokio_postgres::Config::from_str(&url).map_err(|e| {
            // The cause names the part ("invalid value for option `port`").
            let part = std::error::Error::source(&e)
                .map(|c| format!(": {c}"))
                .unwrap_or_default();
            Error::Other(format!(
                "the store URL is not a valid PostgreSQL URL ({e}{part}); expected \
                 postgres://USER:PASSWORD@HOST:PORT/DATABASE, with any @ : / # ? % in the \
                 user or password percent-encoded (%40 for @)"
            ))
        })?;
        config.ssl_mode(match tls_options.mode {
            super::postgres_tls::TlsMode::Off => SslMode::Disable,
            _ => SslMode::Require,
        });
        let runtime = crate::runtime::OwnRuntime::new("sealpost-postgres")?;
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| Error::Other(format!("the PostgreSQL pool: {e}")))?;
        let pg = Pg {
            pool,
            runtime: Arc::new(runtime),
            config,
            tls,
        };
        off_runtime(|| pg.migrate()).map_err(|e| first_contact(e, &pg.config))?;
        Ok(pg)
    }

    /// Runs `f` in a transaction of the given access, again from the start if PostgreSQL
    /// says it raced another; commits if `f` returns `Ok`. Blocks: call it from a thread
    /// that is not running async tasks (`spawn_blocking`, or see [`off_runtime`]).
    pub fn run<R>(&self, access: Access, f: impl Fn(&PgTx) -> Result<R>) -> Result<R> {
        let rt = self.runtime.handle();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = (|| {
                let mut client = rt.block_on(self.pool.get()).map_err(pool_error)?;
                let tx = match rt.block_on(
                    client
                        .build_transaction()
                        .isolation_level(match access {
                            Access::Read => IsolationLevel::RepeatableRead,
                            Access::Write => IsolationLevel::Serializable,
                            Access::Atomic => IsolationLevel::ReadCommitted,
                        })
                        .read_only(access == Access::Read)
                        .start(),
                ) {
                    Ok(tx) => tx,
                    // A pooled connection the server closed (it restarted): nothing was
                    // begun on it, so another connection may simply try.
                    Err(e) if e.is_closed() => {
                        return Err(Error::Store(StoreError::Unreachable(
                            "a pooled connection was closed".into(),
                        )))
                    }
                    Err(e) => return Err(StoreError::from(e).into()),
                };
                let tx = PgTx { tx, rt };
                let out = f(&tx)?;
                rt.block_on(tx.tx.commit()).map_err(StoreError::from)?;
                Ok(out)
            })();
            match outcome {
                Err(e) if attempt < ATTEMPTS && (raced(&e) || closed_before_begin(&e)) => {
                    // Back off a little, more each time, so that the racers spread out.
                    let wait = rand::random::<u64>() % (2 * u64::from(attempt)) + 1;
                    std::thread::sleep(Duration::from_millis(wait));
                }
                outcome => return outcome,
            }
        }
    }

    /// Listens on [`STATES_CHANNEL`] on a connection of its own (not the pool's), and
    /// passes what it hears to the receiver; after a broken connection it connects again
    /// (every second until it can) and says [`Heard::Reconnected`]. Stops when the
    /// receiver is dropped.
    pub fn listen(&self) -> tokio::sync::mpsc::Receiver<Heard> {
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        let (config, tls) = (self.config.clone(), self.tls.clone());
        self.runtime.handle().spawn(async move {
            let mut first = true;
            while !tx.is_closed() {
                match hear(&config, &tls, &tx, first).await {
                    Ok(()) => return,
                    Err(e) => tracing::warn!(error = %e,
                        "lost the database's notification channel; connecting again"),
                }
                first = false;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        rx
    }

    /// Takes this hub's advisory lock `name` (see `LOCK_KEYS`) on a connection of its
    /// own, if no other session holds it. Held until the returned lock is dropped, or until
    /// this process dies (the server releases a session's locks when its connection ends).
    pub async fn try_lock(&self, name: &str) -> Result<Option<JobLock>> {
        let name = name.to_owned();
        let (config, tls) = (self.config.clone(), self.tls.clone());
        let taken = self.runtime.handle().spawn(async move {
            let (client, connection) = config.connect(tls).await?;
            let driver = tokio::spawn(connection);
            let row = client
                .query_one(
                    &format!("SELECT pg_try_advisory_lock({LOCK_KEYS})"),
                    &[&name],
                )
                .await?;
            Ok::<_, tokio_postgres::Error>(row.get::<_, bool>(0).then_some(JobLock {
                _client: client,
                driver,
            }))
        });
        Ok(taken
            .await
            .map_err(|e| Error::Other(format!("the job lock task failed: {e}")))?
            .map_err(StoreError::from)?)
    }

    /// [`Pg::try_lock`], from blocking code.
    pub fn try_lock_blocking(&self, name: &str) -> Result<Option<JobLock>> {
        off_runtime(|| self.runtime.handle().block_on(self.try_lock(name)))
    }

    /// Whether the server answers (for `/readyz` and `/healthz`).
    pub async fn ping(&self) -> Result<()> {
        let pool = self.pool.clone();
        let answer = self.runtime.handle().spawn(async move {
            let client = pool.get().await.map_err(pool_error)?;
            client
                .simple_query("SELECT 1")
                .await
                .map_err(StoreError::from)?;
            Ok::<_, Error>(())
        });
        answer
            .await
            .map_err(|e| Error::Other(format!("the store check failed: {e}")))?
    }

    fn migrate(&self) -> Result<()> {
        let rt = self.runtime.handle();
        let mut client = rt.block_on(self.pool.get()).map_err(pool_error)?;
        // One replica migrates at a time; the others wait here, then find nothing to do.
        // The lock is the session's, so it goes with the connection if this process dies.
        rt.block_on(client.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")))
            .map_err(StoreError::from)?;
        let done = (|| {
            rt.block_on(client.batch_execute(
                // (No NOTICE for a table that is there already: it would reach the log.)
                "SET client_min_messages = warning; \
                 CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL); \
                 INSERT INTO schema_version (version) \
                 SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version)",
            ))
            .map_err(StoreError::from)?;
            let found: i64 = rt
                .block_on(client.query_one("SELECT version FROM schema_version", &[]))
                .map_err(StoreError::from)?
                .get(0);
            let steps = super::schema_postgres::MIGRATIONS;
            let found = usize::try_from(found).unwrap_or(0);
            if found > steps.len() {
                return Err(Error::Other(format!(
                    "the database was written by a newer Sealpost hub (schema {found}, this one \
                     knows {}); upgrade sealpost-hub",
                    steps.len()
                )));
            }
            for (i, step) in steps.iter().enumerate().skip(found) {
                let tx = rt
                    .block_on(client.transaction())
                    .map_err(StoreError::from)?;
                rt.block_on(tx.batch_execute(step))
                    .map_err(StoreError::from)?;
                rt.block_on(tx.execute(
                    "UPDATE schema_version SET version = $1",
                    &[&((i + 1) as i64)],
                ))
                .map_err(StoreError::from)?;
                rt.block_on(tx.commit()).map_err(StoreError::from)?;
            }
            Ok(())
        })();
        let unlocked = rt
            .block_on(client.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")))
            .map_err(StoreError::from);
        done?;
        unlocked?;
        Ok(())
    }
}

/// A PostgreSQL advisory lock held by a connection of its own; dropping it closes the
/// connection, which releases the lock.
pub struct JobLock {
    _client: tokio_postgres::Client,
    driver: tokio::task::JoinHandle<std::result::Result<(), tokio_postgres::Error>>,
}

impl Drop for JobLock {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// One connection's listening: returns `Ok` when the receiver is gone, what went wrong
/// when the connection broke.
async fn hear(
    config: &tokio_postgres::Config,
    tls: &MakeTlsConnector,
    tx: &tokio::sync::mpsc::Sender<Heard>,
    first: bool,
) -> std::result::Result<(), StoreError> {
    use futures_util::StreamExt;
    let (client, mut connection) = config.connect(tls.clone()).await?;
    let (heard, mut payloads) = tokio::sync::mpsc::unbounded_channel();
    // The connection's messages arrive only while it is polled: a task drives it.
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(tokio_postgres::AsyncMessage::Notification(n)) => {
                    let _ = heard.send(Ok(n.payload().to_owned()));
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = heard.send(Err(e));
                    return;
                }
            }
        }
    });
    let listening = async {
        // The listening connection also says "a hub serves on this database" for as long as
        // it lives: a shared hold of SERVING_LOCK, which a master-key rotation (exclusive)
        // cannot take while any process serves.
        client
            .execute(
                &format!("SELECT pg_try_advisory_lock_shared({LOCK_KEYS})"),
                &[&SERVING_LOCK],
            )
            .await?;
        client
            .batch_execute(&format!("LISTEN {STATES_CHANNEL}"))
            .await?;
        if !first && tx.send(Heard::Reconnected).await.is_err() {
            return Ok(());
        }
        loop {
            tokio::select! {
                payload = payloads.recv() => match payload {
                    Some(Ok(text)) => {
                        let states = crate::events::parse(text.as_bytes());
                        if !states.is_empty() && tx.send(Heard::States(states)).await.is_err() {
                            return Ok(());
                        }
                    }
                    Some(Err(e)) => return Err(e.into()),
                    None => return Err(StoreError::Unreachable("the connection closed".into())),
                },
                () = tx.closed() => return Ok(()),
            }
        }
    };
    let outcome = listening.await;
    driver.abort();
    outcome
}

/// The advisory lock held while the schema is migrated (an arbitrary constant, "sealpost").
const MIGRATION_LOCK: i64 = 0x7365_616c_706f_7374;

fn pool_error(e: deadpool_postgres::PoolError) -> Error {
    match e {
        deadpool_postgres::PoolError::Backend(e) => StoreError::from(e).into(),
        other => StoreError::Unreachable(other.to_string()).into(),
    }
}

/// Whether `e` says the pooled connection was found closed before anything began.
fn closed_before_begin(e: &Error) -> bool {
    matches!(e, Error::Store(StoreError::Unreachable(m)) if m == "a pooled connection was closed")
}

/// Whether `e` is PostgreSQL saying the transaction raced another and may simply be
/// run again.
fn raced(e: &Error) -> bool {
    let Error::Store(StoreError::Postgres(e)) = e else {
        return false;
    };
    matches!(
        e.code(),
        Some(&SqlState::T_R_SERIALIZATION_FAILURE | &SqlState::T_R_DEADLOCK_DETECTED)
    )
}

/// Runs `f` on a thread of its own, so that it may block on the pool's runtime even when
/// the caller is itself an async task (the CLI and tests call the store this way).
pub fn off_runtime<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
