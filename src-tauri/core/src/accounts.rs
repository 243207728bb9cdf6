//! Several mailboxes per OS user, side by side: each account is a hub address and an email
//! address, with its own vault file in the platform's data folder and its own keyring
//! entries. The list of accounts (`accounts.json`) holds nothing secret. An account opened
//! is a [`Mailbox`].

use std::{
    fs,
    path::{Path, PathBuf},
    sync::Arc,
};

use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Code, Result};
use crate::hub::{check_hub_url, same_hub, HubClient, RememberSlot};
use crate::keyring::{device_token_name, remember_name, vault_key_name, SecretStore};
use crate::links::HubLink;
use crate::mailbox::Mailbox;
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
    /// On a shared mailbox worked as a named delegate: the person's own address, which
    /// signs in (with their own password) for it. `None`: the mailbox's own sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
}

/// The accounts of this OS user.
#[derive(Clone)]
pub struct Accounts {
    dir: PathBuf,
    keyring: Arc<dyn SecretStore>,
}

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
            Ok(text) => serde_json::from_str::<Vec<AccountRecord>>(&text)
                .map(|mut list| {
                    // An address saved as typed by an older version (upper case, a default
                    // port) is compared in its one spelling, as new ones are kept.
                    for a in &mut list {
                        if let Ok(canonical) = check_hub_url(&a.hub_url) {
                            a.hub_url = canonical;
                        }
                    }
                    list
                })
                .map_err(|e| ClientError::Damaged {
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
    pub(crate) fn make_dir(&self) -> Result<()> {
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
        self.add_as(hub_url, email, None)
    }

    /// As [`Accounts::add`], for the shared mailbox `email` worked by the named delegate
    /// `person` (their own address, and name): one account per mailbox and person.
    pub fn add_as(
        &self,
        hub_url: &str,
        email: &str,
        person: Option<&str>,
    ) -> Result<AccountRecord> {
        let hub_url = check_hub_url(hub_url)?;
        let email =
            sealpost_proto::address::normalise(email).map_err(|why| ClientError::Refused {
                code: Code::Invalid,
                message: format!("{:?} is not an email address: {why}", email.trim()),
                refused: Vec::new(),
            })?;
        let mut list = self.list()?;
        let same_person = |a: &AccountRecord| match (&a.person, person) {
            (None, None) => true,
            (Some(mine), Some(theirs)) => sealpost_proto::address::same(mine, theirs),
            _ => false,
        };
        if let Some(existing) = list.iter().find(|a| {
            same_hub(&a.hub_url, &hub_url)
                && sealpost_proto::address::same(&a.email, &email)
                && same_person(a)
        }) {
            return Ok(existing.clone());
        }
        let id = {
            use rand::RngCore;
            let mut b = [0u8; 8];
            rand::rngs::OsRng.fill_bytes(&mut b);
            hex::encode(b)
        };
        let record = AccountRecord {
            id,
            hub_url,
            email,
            person: person.map(str::to_owned),
        };
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

    /// Removes an account: its keyring entries, its place in the list, and its vault
    /// files. The vault key goes first: once it is gone the vault cannot be read, even if
    /// its file cannot be removed now (another program holding it open, on Windows); such
    /// a file is removed at the next start (see [`Accounts::sweep`]).
    pub fn remove(&self, id: &str) -> Result<()> {
        let mut list = self.list()?;
        let before = list.len();
        list.retain(|a| a.id != id);
        if list.len() == before {
            return Err(ClientError::NotFound("account"));
        }
        self.keyring.delete(&vault_key_name(id))?;
        self.keyring.delete(&remember_name(id))?;
        self.keyring.delete(&device_token_name(id))?;
        self.save(&list)?;
        self.remove_files(id)
    }

    fn remove_files(&self, id: &str) -> Result<()> {
        let mut first_error = None;
        for suffix in ["", "-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", self.vault_path(id).display()));
            if let Err(e) = fs::remove_file(&p) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    first_error.get_or_insert(e);
                }
            }
        }
        let _ = fs::remove_file(self.dir.join(format!("{id}.refresh.lock")));
        match first_error {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// Removes vault files no listed account owns (left by a removal whose file could
    /// not go at the time). Returns how many were removed.
    pub fn sweep(&self) -> Result<usize> {
        let listed: std::collections::HashSet<String> =
            self.list()?.into_iter().map(|a| a.id).collect();
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".vault") else {
                continue;
            };
            if !listed.contains(id) && self.remove_files(id).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
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
