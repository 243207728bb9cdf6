//! `hub.toml`: what an admin can set, with the defaults the design asks for.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Everything in `hub.toml`. Every field but the organisation's has a default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubConfig {
    /// The organisation's name, as recipients see it.
    pub org_name: String,
    /// Addresses in these domains are the organisation's staff.
    pub org_domains: Vec<String>,
    /// The address people reach the hub at; links in emails start with it.
    pub public_url: String,
    /// Where `serve` listens unless `--listen` says otherwise.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The sender of the hub's emails; defaults to `no-reply@` the first organisation domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_from: Option<String>,
    /// Where staff replies to external users' messages should go (`Reply-To`, with the
    /// message id as a `+tag`); defaults to `secure-reply@` the first organisation domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_address: Option<String>,
    /// Sign-in, password and session rules.
    #[serde(default)]
    pub security: SecurityConfig,
    /// Message size, attachment and retention limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// The SMTP relay for outgoing email. Without one, emails are written to `outbox/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpConfig>,
    /// Where rows are kept. Without it, `hub.db` (SQLite) in the data directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<StoreConfig>,
    /// Where encrypted files are kept. Without it, `blobs/` in the data directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blobs: Option<crate::blobs::BucketConfig>,
    /// The SMTP listener for the organisation's mail gateway. Off without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_in: Option<crate::smtp_in::SmtpInConfig>,
    /// App updates this hub hands out to the desktop apps of its people. Off without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updates: Option<UpdatesConfig>,
}

/// `[updates]`: the organisation serves the desktop app's signed updates itself, so it
/// chooses which version its people run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UpdatesConfig {
    /// The folder holding `latest.json` (the update manifest of the Tauri updater) and the
    /// packages it names; a relative path is taken from the data directory.
    pub dir: PathBuf,
}

/// The database, when it is not the data directory's SQLite file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (libpq's URL form; `?host=/run/…`
    /// for a Unix socket). The environment variable `SEALPOST_STORE_URL` overrides it,
    /// so that a password need not sit in `hub.toml`.
    pub url: String,
    /// Most connections this process opens at once.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

fn default_max_connections() -> usize {
    16
}

/// Where byte `at` of a TOML text is, for an error: ` at line N (section.key)`. Only the
/// names are said, never a value (values can be secrets).
fn place_in(text: &str, at: usize) -> String {
    let before = &text[..at.min(text.len())];
    let line_no = before.matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or_default().trim();
    let section = before
        .lines()
        .chain(std::iter::once(line))
        .filter_map(|l| {
            let l = l.trim();
            l.strip_prefix('[')
                .and_then(|l| l.split(']').next())
                .map(str::trim)
        })
        .next_back();
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| !k.starts_with('['));
    let name = match (section, key) {
        (Some(section), Some(key)) => format!("{section}.{key}"),
        (Some(section), None) => format!("[{section}]"),
        (None, Some(key)) => key.to_owned(),
        (None, None) => return format!(" at line {line_no}"),
    };
    format!(" at line {line_no} ({name})")
}

/// The environment variable that names the store, over `hub.toml`'s `[store] url`.
pub const STORE_URL_ENV: &str = "SEALPOST_STORE_URL";

impl HubConfig {
    /// Reads and checks `hub.toml` in `data`.
    pub fn read(data: &DataDir) -> crate::error::Result<Self> {
        use crate::error::Error;
        let text = std::fs::read_to_string(data.config())?;
        let config: HubConfig = toml::from_str(&text).map_err(|e| {
            Error::Other(format!(
                "hub.toml is not valid{}: {}",
                e.span()
                    .map(|s| place_in(&text, s.start))
                    .unwrap_or_default(),
                e.message()
            ))
        })?;
        config
            .validate()
            .map_err(|e| Error::Other(format!("hub.toml is not valid: {e}")))?;
        if let Some(updates) = &config.updates {
            // Everything in the updates folder can be fetched without signing in: the
            // data directory (master.key, hub.db) must never be, or be inside, it.
            let root = data.root();
            if updates
                .dir
                .components()
                .any(|c| c == std::path::Component::ParentDir)
            {
                return Err(Error::Other(format!(
                    "hub.toml is not valid: [updates] dir ({}) holds \"..\"; give the updates \
                     a folder of their own, such as \"updates\", or an absolute path",
                    updates.dir.display()
                )));
            }
            let dir = root.join(&updates.dir);
            let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_owned());
            if canonical(root).starts_with(canonical(&dir)) {
                return Err(Error::Other(format!(
                    "hub.toml is not valid: [updates] dir ({}) is the data directory or holds \
                     it, and its files would be served to anyone; give the updates a folder \
                     of their own, such as \"updates\"",
                    dir.display()
                )));
            }
            if std::fs::metadata(&dir).is_ok_and(|m| !m.is_dir()) {
                return Err(Error::Other(format!(
                    "hub.toml is not valid: [updates] dir ({}) is a file, not a folder; give \
                     the updates a folder of their own, such as \"updates\"",
                    dir.display()
                )));
            }
        }
        Ok(config)
    }

    /// Where this hub's encrypted files are: `[blobs]`'s bucket, else `blobs/` in `data`.
    pub fn blobs_of(&self, data: &DataDir) -> crate::error::Result<crate::blobs::Blobs> {
        match &self.blobs {
            Some(bucket) => crate::blobs::Blobs::bucket(bucket).map_err(crate::error::Error::Other),
            None => Ok(crate::blobs::Blobs::folder(data.blobs())),
        }
    }

    /// Where this hub's rows are: `SEALPOST_STORE_URL`, else `[store] url`, else the
    /// SQLite file in `data`.
    pub fn store_location(&self, data: &DataDir) -> crate::store::Location {
        let from_env = std::env::var(STORE_URL_ENV)
            .ok()
            .filter(|u| !u.trim().is_empty());
        let max_connections = self
            .store
            .as_ref()
            .map_or_else(default_max_connections, |s| s.max_connections);
        match from_env.or_else(|| self.store.as_ref().map(|s| s.url.clone())) {
            Some(url) => crate::store::Location::Postgres {
                url,
                max_connections,
            },
            None => crate::store::Location::Sqlite(data.database()),
        }
    }
}

/// Sign-in, password and session rules.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Fewest characters in a password (NIST SP 800-63B: 15 for a single factor).
    pub password_min_length: u32,
    /// Most characters in a password (at least 64 must be allowed).
    pub password_max_length: u32,
    /// Consecutive failed sign-ins that lock an account.
    pub lockout_threshold: u32,
    /// How long a lock lasts.
    pub lockout_minutes: i64,
    /// A session unused this long ends.
    pub idle_timeout_minutes: i64,
    /// A session ends this long after sign-in even when in use.
    pub session_max_hours: i64,
    /// How long Remember me lasts without being used.
    pub remember_me_days: i64,
    /// How long a registration link works.
    pub registration_link_days: i64,
    /// How long a password-reset link works.
    pub reset_link_minutes: i64,
    /// Sign-in attempts per minute from one IP address before 429.
    pub sign_in_per_ip_per_minute: u32,
    /// Sign-in attempts per minute for one address before 429.
    pub sign_in_per_address_per_minute: u32,
    /// Reset emails per address per hour, spaced evenly (6: at most one every 10
    /// minutes); requests in between are answered alike and send nothing.
    pub resets_per_address_per_hour: u32,
    /// After a reset or an admin's unlock, for this long, failed sign-ins from devices not
    /// yet trusted lock only the address and client IP they came from: someone failing on
    /// purpose elsewhere cannot lock the owner out again at once.
    pub owner_window_minutes: i64,
    /// Password hashes computed at once (0: one per CPU core).
    pub hash_concurrency: u32,
    /// Sign-ins allowed to wait for a hashing slot before the rest get 429.
    pub hash_queue: u32,
    /// IP addresses of reverse proxies whose `X-Forwarded-For` names the real client.
    /// Empty: the connecting address is the client (the header is ignored).
    pub trusted_proxies: Vec<String>,
    /// Every user must use two-step sign-in (an authenticator app, RFC 6238): one who has
    /// not turned it on is asked to at their next sign-in, and can do nothing else until
    /// they have.
    pub require_mfa: bool,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            password_min_length: 15,
            password_max_length: 128,
            lockout_threshold: 3,
            lockout_minutes: 30,
            idle_timeout_minutes: 20,
            session_max_hours: 12,
            remember_me_days: 30,
            registration_link_days: 30,
            reset_link_minutes: 30,
            sign_in_per_ip_per_minute: 30,
            sign_in_per_address_per_minute: 10,
            resets_per_address_per_hour: 6,
            owner_window_minutes: 60,
            hash_concurrency: 0,
            hash_queue: 32,
            trusted_proxies: Vec::new(),
            require_mfa: false,
        }
    }
}

/// Message limits and retention.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Most attachments on one message.
    pub max_attachments: u32,
    /// Most bytes of attachments on one message (75 MB = 75,000,000: sizes are stated in SI
    /// megabytes everywhere).
    pub max_attachment_bytes: u64,
    /// Days a message is kept after it was sent.
    pub retention_days: i64,
    /// At most one notification email per mailbox in this many minutes: messages arriving
    /// meanwhile are told together ("3 new secure messages").
    pub notification_minutes: i64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_attachments: 10,
            max_attachment_bytes: 75 * sealpost_proto::text::MEGABYTE,
            retention_days: 90,
            notification_minutes: 10,
        }
    }
}

/// How the hub reaches its SMTP relay.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Relay host name.
    pub host: String,
    /// Relay port; defaults by `tls`: 587 starttls, 465 tls, 25 none.
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none`.
    #[serde(default)]
    pub tls: SmtpTls,
    /// User name, if the relay wants one.
    #[serde(default)]
    pub user: Option<String>,
    /// Password for `user`.
    #[serde(default)]
    pub password: Option<String>,
}

/// Transport security towards the relay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required).
    #[default]
    Starttls,
    /// TLS from the first byte.
    Tls,
    /// No encryption: only for a relay on the same host.
    None,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}

impl HubConfig {
    /// The address hub emails come from.
    pub fn mail_from(&self) -> String {
        self.mail_from.clone().unwrap_or_else(|| {
            format!(
                "no-reply@{}",
                self.org_domains
                    .first()
                    .map(String::as_str)
                    .unwrap_or("localhost")
            )
        })
    }

    /// The `Reply-To` of a user's message emailed to staff: `local+id@domain`.
    pub fn reply_address_for(&self, id: &str) -> String {
        let base = self.reply_address.clone().unwrap_or_else(|| {
            format!(
                "secure-reply@{}",
                self.org_domains
                    .first()
                    .map(String::as_str)
                    .unwrap_or("localhost")
            )
        });
        match base.split_once('@') {
            Some((local, domain)) => format!("{local}+{id}@{domain}"),
            None => base,
        }
    }

    /// Whether `email` is in an organisation domain (`sealpost_proto::address::in_domains`).
    pub fn is_org_address(&self, email: &str) -> bool {
        sealpost_proto::address::in_domains(email, &self.org_domains)
    }

    /// Checks values an admin may have mistyped.
    pub fn validate(&self) -> Result<(), String> {
        if self.org_name.trim().is_empty() {
            return Err("org_name is empty".into());
        }
        if self.org_domains.is_empty() {
            return Err("org_domains lists no domain".into());
        }
        if !(self.public_url.starts_with("http://") || self.public_url.starts_with("https://")) {
            return Err("public_url must start with http:// or https://".into());
        }
        if self.security.password_max_length < 64 {
            return Err("security.password_max_length must be at least 64".into());
        }
        if self.security.password_min_length > self.security.password_max_length {
            return Err("security.password_min_length is above password_max_length".into());
        }
        for proxy in &self.security.trusted_proxies {
            if proxy.parse::<std::net::IpAddr>().is_err() {
                return Err(format!(
                    "security.trusted_proxies: {proxy:?} is not an IP address"
                ));
            }
        }
        if self.security.resets_per_address_per_hour == 0 {
            return Err("security.resets_per_address_per_hour must be at least 1".into());
        }
        if self.security.lockout_threshold == 0 {
            return Err("security.lockout_threshold must be at least 1".into());
        }
        // Apps lock their window after this long; less than a minute would lock it again
        // as soon as it is unlocked.
        if self.security.idle_timeout_minutes < 1 {
            return Err("security.idle_timeout_minutes must be at least 1".into());
        }
        if let Some(smtp_in) = &self.smtp_in {
            smtp_in.validate()?;
        }
        Ok(())
    }
}

/// Creates `dir` (with any missing parents) readable by its owner only, and makes it so if it
/// exists: everything under a hub's data directory is the hub's alone (queued emails carry
/// working links, `hub.toml` may hold the relay's password).
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;
    set_private(dir)
}

/// Options that make a new file readable and writable by its owner only (mode 0600).
pub fn private_file() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Takes away every permission of group and others from a file or folder.
pub fn set_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    Ok(())
}

/// The files of a hub's data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The directory at `root` (not checked).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }
    /// `hub.toml`.
    pub fn config(&self) -> PathBuf {
        self.root.join("hub.toml")
    }
    /// `master.key`: the systemd credential of that name when the service was given one
    /// (`LoadCredential=master.key:…`, read from `$CREDENTIALS_DIRECTORY`), else the file
    /// in the data directory.
    pub fn master_key(&self) -> PathBuf {
        if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
            let credential = PathBuf::from(dir).join("master.key");
            if credential.exists() {
                return credential;
            }
        }
        self.root.join("master.key")
    }
    /// Whether the master key is a systemd credential (read-only, outside the data
    /// directory) rather than `master.key` in it.
    pub fn master_key_is_credential(&self) -> bool {
        self.master_key() != self.root.join("master.key")
    }

    /// Where `admin rotate-master-key` writes the new master key until its rotation
    /// commits (then it replaces `master.key`).
    pub fn new_master_key(&self) -> PathBuf {
        self.root.join("master.key.new")
    }
    /// The lock every process using the hub holds shared, and a master-key rotation
    /// holds alone.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("hub.lock")
    }
    /// The SQLite database.
    pub fn database(&self) -> PathBuf {
        self.root.join("hub.db")
    }
    /// Encrypted attachment files.
    pub fn blobs(&self) -> PathBuf {
        self.root.join("blobs")
    }
    /// Emails written when no SMTP relay is configured.
    pub fn outbox(&self) -> PathBuf {
        self.root.join("outbox")
    }

    /// Messages arriving over SMTP, sealed, while they are read (`spool/`).
    pub fn spool(&self) -> PathBuf {
        self.root.join("spool")
    }

    /// Makes the directory and what the hub keeps at its top (configuration, database,
    /// folders) owner-only, for directories made before the hub did so itself. What lies
    /// deeper is out of others' reach once the directory is; `admin check --repair` fixes
    /// it too.
    pub fn make_private(&self) -> std::io::Result<()> {
        set_private(&self.root)?;
        let db = self.database().display().to_string();
        for path in [
            self.config(),
            self.database(),
            PathBuf::from(format!("{db}-wal")),
            PathBuf::from(format!("{db}-shm")),
            self.blobs(),
            self.outbox(),
        ] {
            if path.exists() {
                set_private(&path)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{place_in, HubConfig};

    #[test]
    fn a_toml_error_names_its_line_and_key_but_no_value() {
        let text =
            "org_name = \"x\"\n\n[smtp_in]\nlisten = \"127.0.0.1:25\"\nmax_recipients = -1\n";
        let e = toml::from_str::<HubConfig>(text).unwrap_err();
        let place = place_in(text, e.span().unwrap().start);
        assert_eq!(place, " at line 5 (smtp_in.max_recipients)");
        assert_eq!(
            place_in("[store]\nurl = \"postgres://u:secret@h/db\"\n", 8),
            " at line 2 (store.url)"
        );
        assert_eq!(place_in("[smtp_in]\n", 0), " at line 1 ([smtp_in])");
    }

    fn config(extra: &str) -> HubConfig {
        toml::from_str(&format!(
            "org_name = \"C\"\norg_domains = [\"example.gov.uk\"]\npublic_url = \"http://x.example\"\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn an_idle_timeout_under_a_minute_is_refused() {
        assert!(config("").validate().is_ok());
        let err = config("[security]\nidle_timeout_minutes = 0\n")
            .validate()
            .unwrap_err();
        assert!(err.contains("idle_timeout_minutes"), "{err}");
    }
}
