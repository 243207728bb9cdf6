//! Several mailboxes per OS user, side by side: each account is a hub address and an email
//! address, with its own vault file in the platform's data folder and its own keyring
//! entries. The list of accounts (`accounts.json`) holds nothing secret.

use std::{
    fs,
    path::{Path, PathBuf},
    sync::Arc,
};

use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Code, Result};
use crate::hub::{check_hub_url, HubClient, RememberSlot};
use crate::keyring::{device_token_name, remember_name, vault_key_name, SecretStore};
use crate::links::HubLink;
use crate::sync::Syncer;
use crate::vault::{new_key, Vault};

/// One account as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// Local id (names the vault file and keyring entries).
    pub id: String,
    /// The hub's address.
    pub hub_url: String,
    /// The mailbox's address.
    pub email: String,
}

/// The accounts of this OS user.
pub struct Accounts {
    dir: PathBuf,
    keyring: Arc<dyn SecretStore>,
}

/// An account opened: its vault, its hub connection, its syncer.
pub struct Mailbox {
    /// Which account.
    pub account: AccountRecord,
    /// Its vault.
    pub vault: Vault,
    /// Its hub.
    pub hub: Arc<HubClient>,
    /// Its sync.
    pub syncer: Syncer,
    keyring: Arc<dyn SecretStore>,
    pub(crate) locked: std::sync::atomic::AtomicBool,
    progress: std::sync::Mutex<Option<Progress>>,
    /// One flush of the outbox at a time (the app, sync and a send may all start one).
    pub(crate) flushing: tokio::sync::Mutex<()>,
    /// A lock (with the save of the compose it holds) and an unlock one after the other:
    /// an unlock never runs before a lock under way has finished.
    pub(crate) locking: tokio::sync::Mutex<()>,
    /// Wrong passwords at the lock screen, and when the next may be tried.
    pub(crate) unlock_failures: std::sync::Mutex<(u32, Option<std::time::Instant>)>,
    /// The clock those waits are measured by; tests move it.
    pub wait_clock: crate::lock::WaitClock,
}

/// Hears how a transfer goes: (file name, bytes so far, total bytes).
pub type Progress = Arc<dyn Fn(&str, u64, u64) + Send + Sync>;

impl Accounts {
    /// The platform's data folder for Sealpost (e.g. `~/.local/share/sealpost`).
    pub fn default_dir() -> Result<PathBuf> {
        directories::ProjectDirs::from("org", "Sealpost", "sealpost")
            .map(|d| d.data_dir().to_owned())
            .ok_or_else(|| ClientError::Other("no home folder to keep mailboxes in".into()))
    }

    /// The accounts kept in `dir`, with secrets in `keyring`.
    pub fn new(dir: impl Into<PathBuf>, keyring: Arc<dyn SecretStore>) -> Self {
        Self {
            dir: dir.into(),
            keyring,
        }
    }

    /// The folder holding the vaults.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn list_path(&self) -> PathBuf {
        self.dir.join("accounts.json")
    }

    /// Every account, in the order added.
    pub fn list(&self) -> Result<Vec<AccountRecord>> {
        match fs::read_to_string(self.list_path()) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| ClientError::Damaged {
                message: format!(
                    "the list of mailboxes ({}) is damaged: {e}",
                    self.list_path().display()
                ),
                source: e,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    fn save(&self, list: &[AccountRecord]) -> Result<()> {
        self.make_dir()?;
        let tmp = self.dir.join("accounts.json.tmp");
        fs::write(
            &tmp,
            serde_json::to_vec_pretty(list).expect("BUG: accounts serialise"),
        )?;
        fs::rename(tmp, self.list_path())?;
        Ok(())
    }

    /// The folder of the vaults, made readable by this OS user only (the vaults are
    /// encrypted; which mailboxes and hubs there are is nobody else's business either).
    fn make_dir(&self) -> Result<()> {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&self.dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }

    /// The vault file of an account.
    pub fn vault_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.vault"))
    }

    /// Adds an account (or returns the existing one for the same hub and address) and
    /// creates its vault with a new key kept in the keyring.
    pub fn add(&self, hub_url: &str, email: &str) -> Result<AccountRecord> {
        let hub_url = check_hub_url(hub_url)?;
        let email =
            sealpost_proto::address::normalise(email).map_err(|why| ClientError::Refused {
                code: Code::Invalid,
                message: format!("{:?} is not an email address: {why}", email.trim()),
                refused: Vec::new(),
            })?;
        let mut list = self.list()?;
        if let Some(existing) = list
            .iter()
            .find(|a| a.hub_url == hub_url && a.email == email)
        {
            return Ok(existing.clone());
        }
        let id = {
            use rand::RngCore;
            let mut b = [0u8; 8];
            rand::rngs::OsRng.fill_bytes(&mut b);
            hex::encode(b)
        };
        let record = AccountRecord { id, hub_url, email };
        self.make_dir()?;
        let key = new_key();
        self.keyring
            .store(&vault_key_name(&record.id), key.expose())?;
        // Read it back: a keyring that does not keep secrets must fail here, not after
        // mail has been stored under a key that is gone.
        match self.keyring.load(&vault_key_name(&record.id))? {
            Some(k) if k.expose() == key.expose() => {}
            _ => {
                return Err(ClientError::Other(
                    "the system keyring did not keep the vault key; the account was not added"
                        .into(),
                ))
            }
        }
        Vault::open(&self.vault_path(&record.id), key.expose())?;
        list.push(record.clone());
        self.save(&list)?;
        Ok(record)
    }

    /// Opens an account's vault with its key from the keyring. A missing key over an
    /// existing vault is an error: a new key is never made for an existing vault.
    pub fn open(&self, id: &str) -> Result<Mailbox> {
        let account = self
            .list()?
            .into_iter()
            .find(|a| a.id == id)
            .ok_or(ClientError::NotFound("account"))?;
        let path = self.vault_path(id);
        let key = self.keyring.load(&vault_key_name(id))?.ok_or_else(|| {
            ClientError::vault(format!(
                "the key of the vault for {} is not in the system keyring, so its local copy cannot be opened. \
                 Remove the account and add it again: everything is synced afresh from the hub",
                account.email
            ))
        })?;
        if !path.exists() {
            return Err(ClientError::vault(format!(
                "the vault file for {} is missing; remove the account and add it again",
                account.email
            )));
        }
        let vault = Vault::open(&path, key.expose())?;
        let hub = Arc::new(HubClient::new(&account.hub_url)?);
        hub.set_remember_slot(Some(RememberSlot {
            store: self.keyring.clone(),
            name: remember_name(id),
            device: device_token_name(id),
            lock: self.dir.join(format!("{id}.refresh.lock")),
        }));
        let syncer = Syncer::new(vault.clone(), hub.clone(), 500);
        Ok(Mailbox {
            account,
            vault,
            hub,
            syncer,
            keyring: self.keyring.clone(),
            locked: std::sync::atomic::AtomicBool::new(false),
            progress: std::sync::Mutex::new(None),
            flushing: tokio::sync::Mutex::new(()),
            locking: tokio::sync::Mutex::new(()),
            unlock_failures: std::sync::Mutex::new((0, None)),
            wait_clock: crate::lock::WaitClock::default(),
        })
    }

    /// Registers the address of an emailed registration link with `password`, then adds
    /// its account here (signing in is a separate step).
    pub async fn register(&self, link: &HubLink, password: &str) -> Result<AccountRecord> {
        let hub = HubClient::new(&link.hub_url)?;
        let registered = hub.register(&link.token, password).await?;
        self.add(&link.hub_url, &registered.email)
    }

    /// Removes an account: its vault files and keyring entries.
    pub fn remove(&self, id: &str) -> Result<()> {
        let mut list = self.list()?;
        let before = list.len();
        list.retain(|a| a.id != id);
        if list.len() == before {
            return Err(ClientError::NotFound("account"));
        }
        for suffix in ["", "-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", self.vault_path(id).display()));
            if p.exists() {
                fs::remove_file(p)?;
            }
        }
        let _ = fs::remove_file(self.dir.join(format!("{id}.refresh.lock")));
        self.keyring.delete(&vault_key_name(id))?;
        self.keyring.delete(&remember_name(id))?;
        self.keyring.delete(&device_token_name(id))?;
        self.save(&list)
    }
}

/// How this computer appears in the hub's audit log when it signs in: the computer's name
/// and its system, so that people sharing a mailbox can tell its workstations apart.
pub fn device_name() -> String {
    let host = std::env::var("COMPUTERNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty());
    match host {
        Some(host) => format!("Sealpost on {host} ({})", std::env::consts::OS),
        None => format!("Sealpost on {}", std::env::consts::OS),
    }
}

impl std::fmt::Debug for Mailbox {
    /// The account only: a mailbox's vault, keys and sessions are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("id", &self.account.id)
            .field("email", &self.account.email)
            .finish_non_exhaustive()
    }
}

impl Mailbox {
    /// Signs in to the hub. With `remember_me` the refresh token is kept in the keyring.
    pub async fn sign_in(&self, password: &str, remember_me: bool) -> Result<()> {
        if !remember_me {
            self.keyring.delete(&remember_name(&self.account.id))?;
        }
        let session = self
            .hub
            .sign_in(&self.account.email, password, remember_me, &device_name())
            .await?;
        // The password was right: whatever the idle lock held back may go on.
        self.lift_lock();
        self.vault.set_setting(
            "org_domains",
            &serde_json::to_string(&session.account.org_domains).expect("BUG: domains serialise"),
        )?;
        self.vault.set_setting(
            "limits",
            &serde_json::to_string(&session.account.limits).expect("BUG: limits serialise"),
        )?;
        self.keep_verifier(password).await
    }

    /// Reports uploads and downloads to `progress` from now on (`None`: silence).
    pub fn set_progress(&self, progress: Option<Progress>) {
        *self.progress.lock().expect("BUG: poisoned") = progress;
    }

    /// The progress listener for a transfer of `name`.
    pub(crate) fn progress_for(&self, name: &str) -> impl FnMut(u64, u64) + Send + 'static {
        let listener = self.progress.lock().expect("BUG: poisoned").clone();
        let name = name.to_owned();
        move |done, total| {
            if let Some(l) = &listener {
                l(&name, done, total);
            }
        }
    }

    /// Makes sure an attachment is in the vault: downloaded once, chunk by chunk (memory
    /// stays flat whatever the size), kept encrypted for offline use.
    pub async fn fetch_attachment(&self, message_id: &str, attachment_id: &str) -> Result<()> {
        let vault = self.vault.clone();
        let id = attachment_id.to_owned();
        let cached = blocking(move || vault.attachment_cached(&id)).await?;
        if cached {
            return Ok(());
        }
        let (total, mut stream) = self.hub.download(message_id, attachment_id).await?;
        let mut progress = self.progress_for(attachment_id);
        let (vault, id) = (self.vault.clone(), attachment_id.to_owned());
        blocking(move || vault.attachment_cache_begin(&id)).await?;
        let mut buffer: Vec<u8> = Vec::with_capacity(crate::vault::CHUNK);
        let (mut seq, mut received) = (0u32, 0u64);
        loop {
            let next = futures_util::StreamExt::next(&mut stream)
                .await
                .transpose()?;
            let done = next.is_none();
            if let Some(bytes) = next {
                received += bytes.len() as u64;
                buffer.extend_from_slice(&bytes);
                progress(received, total.max(received));
            }
            while buffer.len() >= crate::vault::CHUNK || (done && !buffer.is_empty()) {
                let take = buffer.len().min(crate::vault::CHUNK);
                let chunk: Vec<u8> = buffer.drain(..take).collect();
                let (vault, id) = (self.vault.clone(), attachment_id.to_owned());
                blocking(move || vault.attachment_cache_put(&id, seq, &chunk)).await?;
                seq += 1;
            }
            if done {
                break;
            }
        }
        let (vault, id) = (self.vault.clone(), attachment_id.to_owned());
        blocking(move || vault.attachment_cache_finish(&id)).await
    }

    /// An attachment's bytes, whole in memory (for showing small files).
    pub async fn attachment(&self, message_id: &str, attachment_id: &str) -> Result<Vec<u8>> {
        self.fetch_attachment(message_id, attachment_id).await?;
        let (vault, id) = (self.vault.clone(), attachment_id.to_owned());
        blocking(move || vault.cached_attachment(&id))
            .await?
            .ok_or(ClientError::NotFound("attachment"))
    }

    /// Saves an attachment to the file the person chose, and only there, chunk by chunk.
    /// A file already at `to` is replaced only with `replace` (a save dialog asked);
    /// otherwise it is left as it is and the answer says so. Returns the bytes written.
    pub async fn save_attachment(
        &self,
        message_id: &str,
        attachment_id: &str,
        to: &Path,
        replace: bool,
    ) -> Result<u64> {
        self.fetch_attachment(message_id, attachment_id).await?;
        let (vault, id, to) = (self.vault.clone(), attachment_id.to_owned(), to.to_owned());
        blocking(move || {
            use std::io::Write;
            // Straight to the chosen path: no temporary copy of the plaintext anywhere else.
            let opened = match replace {
                true => fs::File::create(&to),
                false => fs::File::options().write(true).create_new(true).open(&to),
            };
            let mut file = match opened {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(ClientError::Refused {
                        code: Code::Invalid,
                        message: format!(
                            "{} exists already and was left as it is; choose another name",
                            to.display()
                        ),
                        refused: Vec::new(),
                    });
                }
                other => other?,
            };
            let (mut seq, mut written) = (0u32, 0u64);
            while let Some(chunk) = vault.attachment_chunk(&id, seq)? {
                file.write_all(&chunk)?;
                written += chunk.len() as u64;
                seq += 1;
            }
            file.sync_all()?;
            Ok(written)
        })
        .await
    }

    /// Marks a message read or unread: in the vault at once, at the hub now or, offline,
    /// when it answers again.
    pub async fn mark_read(&self, message_id: &str, read: bool) -> Result<()> {
        self.queue_read(message_id, read)?;
        self.flush_or_wait().await
    }

    /// Marks a message read or unread in the vault and queues the flag for the hub, without
    /// waiting for it: the next [`Mailbox::flush_outbox`] takes it there.
    pub fn queue_read(&self, message_id: &str, read: bool) -> Result<()> {
        self.vault.set_read(message_id, read)?;
        let payload = serde_json::json!({"id": message_id, "read": read}).to_string();
        self.vault
            .queue("read", &payload, &[], chrono::Utc::now().timestamp_millis())?;
        Ok(())
    }

    /// Opens a message from the vault. An unread inbox message is marked read at once,
    /// without waiting for the network: the flag is queued, and the second value says so
    /// (the caller runs [`Mailbox::flush_outbox`] when it suits it).
    ///
    /// # Errors
    /// `NotFound` when the vault has no such message.
    pub fn open_message(&self, id: &str) -> Result<(sealpost_proto::Message, bool)> {
        let message = self.vault.message(id)?;
        let unread =
            !message.summary.read && message.summary.folder == sealpost_proto::Folder::Inbox;
        if unread {
            self.queue_read(id, true)?;
        }
        Ok((message, unread))
    }

    /// Deletes a message: from the vault at once, at the hub now or, offline, when it
    /// answers again (other devices hear of it by sync).
    pub async fn delete(&self, message_id: &str) -> Result<()> {
        self.vault.remove_message(message_id)?;
        let payload = serde_json::json!({"id": message_id}).to_string();
        self.vault.queue(
            "delete",
            &payload,
            &[],
            chrono::Utc::now().timestamp_millis(),
        )?;
        self.flush_or_wait().await
    }

    async fn flush_or_wait(&self) -> Result<()> {
        match self.flush_outbox().await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == crate::Code::Offline => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether this device has a Remember-me token for the account.
    pub fn remembered(&self) -> Result<bool> {
        Ok(self
            .keyring
            .load(&remember_name(&self.account.id))?
            .is_some())
    }

    /// Signs out: saves `compose` (if it holds anything) as a draft first, and keeps it open
    /// for the next sign-in, then ends the session at the hub (when reachable) and deletes
    /// Remember me.
    pub async fn sign_out(&self, compose: Option<crate::compose::Compose>) -> Result<()> {
        if let Some(c) = compose.filter(crate::compose::Compose::has_content) {
            if let Err(e) = self.save_compose(c.clone(), true).await {
                // Offline, or the draft refused: it stays kept on this computer, and the
                // sign-out goes ahead.
                tracing::debug!(error = %e, "the compose stays on this computer");
                if let Err(e) = self.keep_compose(c) {
                    // Sent meanwhile, say: the sign-out goes ahead whatever became of it.
                    tracing::debug!(error = %e, "the compose was not kept");
                }
            }
        }
        self.hub.sign_out().await
    }
}

/// Runs vault work off the async runtime.
pub(crate) async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R> + Send + 'static,
) -> Result<R> {
    tokio::task::spawn_blocking(f).await?
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn the_device_name_carries_the_computer_name() {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        let name = super::device_name();
        assert!(
            std::env::var_os("COMPUTERNAME").is_some() || name.contains(host.trim()),
            "{name} names {host}"
        );
        assert!(name.starts_with("Sealpost on "), "{name}");
    }
}
