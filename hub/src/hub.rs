//! The hub itself: configuration, store, keys and mail, and the operations the HTTP API
//! and the CLI share. Each operation lives in the module of its domain word
//! (`accounts`, `sending`, `admin`); this file opens and initialises a hub and runs the
//! mail queue.

use std::{io::Write, path::Path, sync::Arc};

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Notify;

use crate::clock::{Clock, Entropy, OsEntropy, SystemClock};
use crate::config::{private_dir, private_file, DataDir, HubConfig};
use crate::crypto::{MasterKey, PasswordHasher};
use crate::error::{Error, Result};
use crate::mail::Mailer;
use crate::policy::{HashPool, PasswordPolicy, Throttle};
use crate::store::Store;

/// Listening to other processes' commits ([`Hub::hear_other_processes`]); stops when
/// dropped.
pub struct Hearing(Vec<tokio::task::JoinHandle<()>>);

impl Hearing {
    /// Stops listening.
    pub fn abort(&self) {
        for task in &self.0 {
            task.abort();
        }
    }

    /// Stops listening, and returns once the listening tasks have ended.
    pub async fn stop(&mut self) {
        self.abort();
        for task in &mut self.0 {
            let _ = task.await;
        }
    }
}

impl Drop for Hearing {
    fn drop(&mut self) {
        self.abort();
    }
}

/// A running hub's state, shared by every request.
pub struct Hub {
    pub(crate) config: HubConfig,
    pub(crate) dir: DataDir,
    pub(crate) store: Store,
    /// The encrypted files (attachments, uploads, emails to staff).
    pub(crate) blobs: crate::blobs::Blobs,
    pub(crate) master: MasterKey,
    /// Mailbox keys unwrapped lately (bounded in time and number).
    pub(crate) keys: crate::crypto::KeyCache,
    /// Whether rows of storage format 1 may remain, and so may be read (`upgrade.rs`).
    pub(crate) legacy_rows: std::sync::atomic::AtomicBool,
    /// The key staff-send fingerprints are made with (`sending.rs`).
    pub(crate) org_send_key: zeroize::Zeroizing<[u8; 32]>,
    pub(crate) mailer: Mailer,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) entropy: Arc<dyn Entropy>,
    pub(crate) hasher: Arc<PasswordHasher>,
    pub(crate) passwords: PasswordPolicy,
    pub(crate) hash_pool: HashPool,
    pub(crate) sign_in_by_ip: Throttle,
    /// Sign-ins per address and client IP (devices not yet trusted).
    pub(crate) sign_in_by_address: Throttle,
    /// Sign-ins per trusted device.
    pub(crate) sign_in_by_device: Throttle,
    /// The spacing of reset emails per address.
    pub(crate) resets_by_address: Throttle,
    pub(crate) resets_by_ip: Throttle,
    /// Invitations to work a shared mailbox, per mailbox (see `delegates`).
    pub(crate) invites_by_mailbox: Throttle,
    /// Invitation emails per invited address.
    pub(crate) invites_by_address: Throttle,
    /// Work that goes on after its request was answered (reset emails); tests wait for it.
    pub(crate) background: tokio_util::task::TaskTracker,
    pub(crate) mail_wakeup: Notify,
    pub(crate) notifier: Arc<crate::events::Notifier>,
    /// Whether this process receives the other processes' commits (it serves).
    feed_served: Arc<std::sync::atomic::AtomicBool>,
    /// Counters for `/metrics`.
    pub metrics: crate::metrics::Metrics,
    _lock: crate::rotation::HubLock,
}

/// Who is asking, for rate limits and the audit log.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// Client IP address (empty for the CLI).
    pub ip: String,
    /// At a sign-in: the device's name as the client gives it, and the shared mailbox it
    /// is for (empty otherwise), for the audit log of a failure.
    pub device: String,
    /// See `device`.
    pub mailbox: String,
}

impl Caller {
    /// The local admin CLI.
    pub fn cli() -> Self {
        Self {
            ip: "cli".into(),
            ..Self::default()
        }
    }

    /// The network the caller is counted by in rate limits and sign-in locks: an IPv4
    /// address as it is, an IPv6 address by its /64 prefix (`2001:db8:0:1::/64`). One
    /// IPv6 subscriber or host is usually given a whole /64, so counting single addresses
    /// would hand one person 2^64 fresh counters (RFC 6177, RFC 7934). IPv4-mapped IPv6
    /// addresses count as their IPv4 address; anything that is not an address is kept.
    pub fn network(&self) -> String {
        match self.ip.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                    format!("{prefix}/64")
                }
            },
            Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
            Err(_) => self.ip.clone(),
        }
    }
}

/// What `init` needs to know.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The organisation's name.
    pub org_name: String,
    /// Its email domains.
    pub org_domains: Vec<String>,
    /// Where people reach the hub.
    pub public_url: String,
    /// A PostgreSQL database instead of `hub.db`.
    pub store: Option<crate::config::StoreConfig>,
    /// An S3 bucket instead of `blobs/`.
    pub blobs: Option<crate::blobs::BucketConfig>,
}

impl Hub {
    /// Creates a hub in `dir`: `hub.toml`, `master.key` (0600), the database and folders.
    /// Refuses a directory that already holds a hub, and changes nothing in it.
    pub fn init(dir: &Path, options: InitOptions) -> Result<HubConfig> {
        let data = DataDir::new(dir);
        let sqlite = options.store.is_none();
        for existing in [data.config(), data.master_key(), data.database()] {
            if existing.exists() {
                return Err(Error::Conflict(format!(
                    "{} already holds a hub ({} exists); nothing was changed",
                    dir.display(),
                    existing.file_name().unwrap_or_default().to_string_lossy()
                )));
            }
        }
        let mut domains = Vec::new();
        for d in &options.org_domains {
            let d = sealpost_proto::address::normalise_domain(d)
                .map_err(|_| Error::BadRequest(format!("{:?} is not a domain name", d.trim())))?;
            domains.push(d);
        }
        let config = HubConfig {
            org_name: options.org_name.trim().to_owned(),
            org_domains: domains,
            public_url: options.public_url.trim_end_matches('/').to_owned(),
            listen: "127.0.0.1:8080".into(),
            mail_from: None,
            reply_address: None,
            security: Default::default(),
            limits: Default::default(),
            smtp: None,
            store: options.store.clone(),
            blobs: options.blobs.clone(),
            smtp_in: None,
            updates: None,
        };
        config.validate().map_err(Error::BadRequest)?;
        let location = config.store_location(&data);
        if options.blobs.is_some() {
            // The bucket is checked before anything is written: it must take a file.
            let blobs = config.blobs_of(&data)?;
            let probe = format!(".init-{}", crate::crypto::new_id(&OsEntropy, ""));
            blobs.probe(&probe).map_err(|e| {
                Error::Other(format!(
                    "the bucket does not take a file ({e}); check [blobs] (bucket, endpoint, \
                     region) and the access key"
                ))
            })?;
            // Two hubs on one set of files would each take the other's for leftovers.
            let held = blobs.any_file().map_err(|e| {
                Error::Other(format!(
                    "the bucket cannot be listed ({e}); the hub's key needs to list, read, \
                     write and delete under its prefix"
                ))
            })?;
            if let Some(name) = held {
                return Err(Error::Conflict(format!(
                    "the bucket (or its prefix) already holds files ({name}, …): give this \
                     hub an empty bucket or a prefix of its own (s3://BUCKET/PREFIX); \
                     nothing was written"
                )));
            }
        }
        let shared = if sqlite {
            None
        } else {
            // A shared database is checked before anything is written here: it must not
            // hold another hub (whose rows this new master key could not open).
            let store = Store::at(&location)?;
            if store
                .write_blocking(|tx| tx.hub_key(crate::store::MASTER_KEY_ROW))?
                .is_some()
            {
                return Err(Error::Conflict(
                    "that database already holds a hub; to run another replica of it, copy \
                     hub.toml and master.key from its first data directory instead"
                        .into(),
                ));
            }
            Some(store)
        };
        private_dir(dir)?;
        private_dir(&data.blobs())?;
        private_dir(&data.outbox())?;
        let master = MasterKey::create(&data.master_key())?;
        let store = match shared {
            Some(store) => store,
            None => {
                // Made owner-only before SQLite opens it: its journal files take its mode.
                private_file()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(data.database())?;
                Store::open(&data.database())?
            }
        };
        crate::upgrade::prepare_keys(&store, &master)?;
        let text = toml::to_string_pretty(&config)
            .map_err(|e| Error::Other(format!("hub.toml could not be written: {e}")))?;
        private_file()
            .write(true)
            .create_new(true)
            .open(data.config())?
            .write_all(format!("# Sealpost hub configuration\n{text}").as_bytes())?;
        Ok(config)
    }

    /// Opens the hub in `dir` with the real clock and random source.
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, Arc::new(SystemClock), Arc::new(OsEntropy))
    }

    /// Opens the hub in `dir` with the given clock and random source (tests move the clock).
    pub fn open_with(dir: &Path, clock: Arc<dyn Clock>, entropy: Arc<dyn Entropy>) -> Result<Self> {
        let data = DataDir::new(dir);
        if !data.config().exists() {
            return Err(Error::Other(format!(
                "{} is not an initialised hub (no hub.toml); run `sealpost-hub init --data {}` first",
                dir.display(),
                dir.display()
            )));
        }
        let config = HubConfig::read(&data)?;
        // Held while the hub is open: a master-key rotation waits for no one.
        let lock = crate::rotation::HubLock::shared(&data)?;
        data.make_private()?;
        let store = Store::at(&config.store_location(&data))?;
        crate::rotation::finish_interrupted(&data, &store)?;
        let master = MasterKey::load(&data.master_key())?;
        let blobs = config.blobs_of(&data)?;
        let org_send_key = crate::upgrade::prepare_keys(&store, &master)?;
        let legacy_rows = store.write_blocking(|tx| tx.storage_format())? < 2;
        let notifier = Arc::new(crate::events::Notifier::default());
        let feed_served = Arc::new(std::sync::atomic::AtomicBool::new(false));
        {
            // Every commit wakes this process's `/events` listeners at once, and those of
            // the serving process when this one is not it (a `send` beside `serve`).
            let (notifier, served) = (notifier.clone(), feed_served.clone());
            let feed = crate::events::Feed::new(data.root());
            store.on_commit(Arc::new(move |advanced| {
                notifier.publish(advanced);
                if !served.load(std::sync::atomic::Ordering::Relaxed) {
                    feed.send(advanced);
                }
            }));
        }
        let mailer = Mailer::new(&config, &data)?;
        let hasher = Arc::new(PasswordHasher::new(entropy.as_ref())?);
        let security = &config.security;
        let concurrency = match security.hash_concurrency {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n as usize,
        };
        Ok(Self {
            passwords: PasswordPolicy {
                min_length: security.password_min_length,
                max_length: security.password_max_length,
            },
            hash_pool: HashPool::new(concurrency, security.hash_queue as usize),
            sign_in_by_ip: Throttle::new(security.sign_in_per_ip_per_minute, Duration::minutes(1))
                .shared(&store, "sign_in_by_ip"),
            sign_in_by_address: Throttle::new(
                security.sign_in_per_address_per_minute,
                Duration::minutes(1),
            )
            .shared(&store, "sign_in_by_address"),
            sign_in_by_device: Throttle::new(
                security.sign_in_per_address_per_minute,
                Duration::minutes(1),
            )
            .shared(&store, "sign_in_by_device"),
            resets_by_address: Throttle::new(
                1,
                Duration::seconds(3600 / i64::from(security.resets_per_address_per_hour.max(1))),
            )
            .shared(&store, "resets_by_address"),
            invites_by_mailbox: Throttle::new(
                crate::delegates::INVITES_PER_MAILBOX_PER_HOUR,
                Duration::hours(1),
            )
            .shared(&store, "invites_by_mailbox"),
            invites_by_address: Throttle::new(1, Duration::minutes(10))
                .shared(&store, "invites_by_address"),
            resets_by_ip: Throttle::new(
                security.resets_per_address_per_hour * 10,
                Duration::hours(1),
            )
            .shared(&store, "resets_by_ip"),
            background: tokio_util::task::TaskTracker::new(),
            mail_wakeup: Notify::new(),
            notifier,
            feed_served,
            metrics: Default::default(),
            config,
            dir: data.clone(),
            store,
            blobs,
            master,
            keys: Default::default(),
            legacy_rows: legacy_rows.into(),
            org_send_key,
            _lock: lock,
            mailer,
            clock,
            entropy,
            hasher,
        })
    }

    /// The hub's configuration.
    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    /// The hub's data directory.
    pub fn data_dir(&self) -> &DataDir {
        &self.dir
    }

    /// Where the encrypted files are (for tests and tools that inspect them).
    pub fn blobs(&self) -> &crate::blobs::Blobs {
        &self.blobs
    }

    /// The store (for tests and tools that inspect it).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Rewrites every row still in storage v1 (see `upgrade.rs`), calling `progress` after
    /// each batch of 1,000 messages. Returns how many messages were rewritten.
    pub async fn upgrade_storage(
        &self,
        progress: impl FnMut(crate::upgrade::Progress) + Send + 'static,
    ) -> Result<u64> {
        let (store, master) = (self.store.clone(), self.master.clone_key());
        let done = tokio::task::spawn_blocking(move || {
            let done = crate::upgrade::upgrade_rows(&store, &master, progress)?;
            Ok::<_, Error>((done, store.write_blocking(|tx| tx.storage_format())?))
        })
        .await
        .map_err(|e| Error::Other(format!("the storage upgrade stopped: {e}")))?;
        let (done, format) = done?;
        if format >= 2 {
            // Keys unwrapped while format 1 could be read are dropped, so none opens it.
            self.legacy_rows
                .store(false, std::sync::atomic::Ordering::Relaxed);
            self.keys.clear();
        }
        Ok(done)
    }

    /// Proves the blob folder takes a new file: writes and removes an empty one.
    ///
    /// # Errors
    /// The I/O error that stopped it (a folder gone, read-only or full).
    pub async fn blobs_writable(&self) -> Result<()> {
        let probe = format!(
            ".ready-{}",
            crate::crypto::new_id(self.entropy.as_ref(), "")
        );
        let blobs = self.blobs.clone();
        tokio::task::spawn_blocking(move || blobs.probe(&probe))
            .await
            .map_err(|e| Error::Other(format!("the readiness probe failed: {e}")))??;
        Ok(())
    }

    /// Whether another process serves this data directory now (`sealpost-hub serve`
    /// refuses to be a second one).
    pub fn served_elsewhere(&self) -> bool {
        crate::events::Feed::new(self.dir.root()).is_served()
    }

    /// Receives the mailbox states other processes advance and wakes this process's
    /// `/events` listeners with them: processes on this data directory (a `sealpost-hub
    /// send` beside `serve`) through `events.sock`, and, on a shared PostgreSQL store,
    /// every hub process on the database through its notification channel. After that
    /// channel was lost and found again, the state of every watched mailbox is read
    /// afresh and told, so that a change made meanwhile is not missed. The serving
    /// process calls it once; listening ends when the returned value is dropped.
    pub fn hear_other_processes(&self) -> std::io::Result<Hearing> {
        let mut tasks = Vec::new();
        let feed = crate::events::Feed::new(self.dir.root()).serve(self.notifier.clone());
        if let Some(mut heard) = self.store.hear_states() {
            let (notifier, store) = (self.notifier.clone(), self.store.clone());
            tasks.push(tokio::spawn(async move {
                while let Some(h) = heard.recv().await {
                    match h {
                        crate::store::Heard::States(states) => notifier.publish(&states),
                        crate::store::Heard::Reconnected => {
                            let watched = notifier.watched_mailboxes();
                            let states = store
                                .read(move |tx| {
                                    let mut states = Vec::new();
                                    for id in &watched {
                                        if let Ok((state, _)) = tx.mailbox_state(id) {
                                            states.push((id.clone(), state));
                                        }
                                    }
                                    Ok(states)
                                })
                                .await;
                            match states {
                                Ok(states) => notifier.publish(&states),
                                Err(e) => tracing::warn!(error = %e,
                                    "watched mailboxes could not be read after a reconnect"),
                            }
                        }
                    }
                }
            }));
        }
        // The database's channel listens even when the local socket could not be bound.
        match feed {
            Ok(feed) => {
                self.feed_served
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                tasks.push(feed);
                Ok(Hearing(tasks))
            }
            Err(e) if !tasks.is_empty() => {
                tracing::warn!(error = %e, "the events socket could not be bound: sends by \
                    other commands on this host reach open apps through the database only");
                Ok(Hearing(tasks))
            }
            Err(e) => Err(e),
        }
    }

    /// How many unwrapped mailbox keys this hub holds in memory, once those past their
    /// lifetime are dropped (the background loop drops them every 15 s).
    pub fn cached_keys(&self) -> usize {
        self.keys.sweep(self.now());
        self.keys.len()
    }

    /// The master key (for interoperability tests).
    pub fn master_key(&self) -> &MasterKey {
        &self.master
    }

    /// The current time on the hub's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// A normalised address, or a clear refusal.
    pub(crate) fn email(&self, raw: &str) -> Result<String> {
        sealpost_proto::address::normalise(raw).map_err(|why| {
            Error::BadRequest(format!(
                "{:?} is not a valid email address: {why}",
                raw.trim()
            ))
        })
    }

    /// A link into the hub's web pages.
    pub(crate) fn link(&self, path: &str, token: &str) -> String {
        format!("{}{path}?token={token}", self.config.public_url)
    }

    /// Waits until the work started after answering requests (reset emails) is done.
    pub async fn background_done(&self) {
        self.background.close();
        self.background.wait().await;
        self.background.reopen();
    }

    /// Wakes the mail worker after new email was queued.
    pub(crate) fn mail_queued(&self) {
        self.mail_wakeup.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::Caller;

    fn network(ip: &str) -> String {
        Caller {
            ip: ip.into(),
            ..Caller::default()
        }
        .network()
    }

    #[test]
    fn ipv6_callers_are_counted_by_their_64_prefix() {
        assert_eq!(network("2001:db8:0:1::7"), "2001:db8:0:1::/64");
        assert_eq!(network("2001:db8:0:1:ffff:1:2:3"), "2001:db8:0:1::/64");
        assert_ne!(network("2001:db8:0:2::7"), network("2001:db8:0:1::7"));
        assert_eq!(network("::ffff:192.0.2.9"), "192.0.2.9");
        assert_eq!(network("192.0.2.9"), "192.0.2.9");
        assert_eq!(network("cli"), "cli");
        assert_eq!(network(""), "");
    }
}
