//! Master-key rotation (`sealpost-hub admin rotate-master-key`).
//!
//! A new master key is written to `master.key.new`; every mailbox's data key and file
//! identity, the hub keys, and what is sealed to the master key itself (queued email,
//! organisation uploads not yet attached) are re-wrapped or re-sealed to it; one database
//! transaction stores all of it with the new key's public half; then `master.key.new`
//! replaces `master.key`. No message is re-encrypted: a mailbox's data key stays the same.
//!
//! Stopped before the commit, nothing changed (the next rotation starts again). Stopped
//! after it, the next open of the hub finds the database naming the key in
//! `master.key.new` and finishes the swap ([`finish_interrupted`]). The rotation holds
//! the hub's lock alone: it refuses to run while `serve` or another command has the hub
//! open, since they hold the old key in memory.

use std::{fs, io, path::PathBuf, time::Instant};

use crate::clock::OsEntropy;
use crate::config::DataDir;
use crate::crypto::{new_id, MasterKey};
use crate::error::{Error, Result};
use crate::store::{MasterSealed, Store, WrappedKeys, MASTER_KEY_ROW};

/// What a rotation did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rotation {
    /// Where the new master key is now.
    pub key_file: PathBuf,
    /// Its public half (`age1…`).
    pub public_key: String,
    /// Mailboxes whose keys were re-wrapped.
    pub mailboxes: u64,
    /// Queued emails and organisation uploads re-sealed.
    pub resealed: u64,
    /// How long it took, in milliseconds.
    pub millis: u64,
}

/// Holds the hub's lock, shared (every process using the hub) or alone (a rotation).
pub struct HubLock(#[allow(dead_code)] fs::File);

impl HubLock {
    /// Takes the lock shared, waiting while a rotation holds it.
    pub fn shared(data: &DataDir) -> Result<Self> {
        let file = Self::open(data)?;
        file.lock_shared()?;
        Ok(Self(file))
    }

    /// Takes the lock alone, or says who is in the way.
    pub fn exclusive(data: &DataDir) -> Result<Self> {
        let file = Self::open(data)?;
        match file.try_lock() {
            Ok(()) => Ok(Self(file)),
            Err(fs::TryLockError::WouldBlock) => Err(Error::Conflict(
                "the hub is in use: `sealpost-hub serve` or another sealpost-hub command has it \
                 open. Stop it, then run the rotation again; nothing was changed"
                    .into(),
            )),
            Err(fs::TryLockError::Error(e)) => Err(e.into()),
        }
    }

    fn open(data: &DataDir) -> Result<fs::File> {
        Ok(crate::config::private_file()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(data.lock_file())?)
    }
}

/// Finishes a rotation that stopped after its commit: the database names the key in
/// `master.key.new`, so that file becomes `master.key`. Returns whether it did.
pub fn finish_interrupted(data: &DataDir, store: &Store) -> Result<bool> {
    let pending = data.new_master_key();
    // A credential is read-only: its rotation is finished by hand (see the admin guide).
    if !pending.exists() || data.master_key_is_credential() {
        return Ok(false);
    }
    let recorded = store.write_blocking(|tx| tx.hub_key(MASTER_KEY_ROW))?;
    let Some((recorded, _)) = recorded else {
        return Ok(false);
    };
    // A key the database does not name (a rotation stopped before its commit, a file cut
    // short) is left for the next rotation to replace.
    let Ok(new) = MasterKey::load(&pending) else {
        return Ok(false);
    };
    if new.public_text() != recorded {
        return Ok(false);
    }
    match fs::rename(&pending, data.master_key()) {
        Ok(()) => {}
        // Another process opening at the same moment finished it.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    sync_dir(data)?;
    tracing::warn!("finished a master-key rotation that had stopped after its commit");
    Ok(true)
}

/// Rotates the master key of the (stopped) hub in `data`.
///
/// # Errors
/// `Conflict` while the hub is in use; `Crypto` when `master.key` does not open the keys
/// in the database. On any error before the commit nothing changed but an unused
/// `master.key.new`.
pub fn rotate_master_key(data: &DataDir) -> Result<Rotation> {
    let started = Instant::now();
    if !data.config().exists() {
        return Err(Error::Other(format!(
            "{} is not an initialised hub (no hub.toml)",
            data.root().display()
        )));
    }
    if data.master_key_is_credential() {
        return Err(Error::Conflict(
            "the master key comes from a systemd credential ($CREDENTIALS_DIRECTORY) here; \
             rotate with the key in the data directory, without that variable (see the admin \
             guide, As a systemd service)"
                .into(),
        ));
    }
    let _lock = HubLock::exclusive(data)?;
    let store = Store::at(&crate::config::HubConfig::read(data)?.store_location(data))?;
    // Replicas of other data directories on a shared database: each would go on sealing
    // queued mail to the old key. All of them stop first.
    let Some(_serving) = store.lock_out_serving()? else {
        return Err(Error::Conflict(
            "hub processes are serving on this database: stop `sealpost-hub serve` on every \
             replica, then rotate; nothing was changed"
                .into(),
        ));
    };
    finish_interrupted(data, &store)?;
    let old = MasterKey::load(&data.master_key())?;
    // Proves master.key is the database's key before anything is made.
    crate::upgrade::prepare_keys(&store, &old)?;
    let pending = data.new_master_key();
    if pending.exists() {
        // Left by a rotation stopped before its commit: the database never used it.
        fs::remove_file(&pending)?;
    }
    let new = MasterKey::create(&pending)?;
    // The file is on disk before the database names it (MasterKey::create syncs the file;
    // this syncs its name).
    sync_dir(data)?;
    let blobs = crate::config::HubConfig::read(data)?.blobs_of(data)?;
    let mut written: Vec<String> = Vec::new();
    // Set when the database did not say whether the last write committed.
    let outcome_unknown = std::cell::Cell::new(false);
    let result = (|| -> Result<(u64, u64, Vec<String>)> {
        let accounts = store.write_blocking(|tx| tx.wrapped_keys())?;
        let mut rewrapped = Vec::with_capacity(accounts.len());
        for (id, keys) in &accounts {
            let data_key = old.open(&keys.data_key)?;
            let identity = old.open(&keys.mailbox_key)?;
            rewrapped.push((
                id.clone(),
                WrappedKeys {
                    public: keys.public.clone(),
                    mailbox_key: new.seal(identity.expose())?,
                    data_key: new.seal(data_key.expose())?,
                },
            ));
        }
        let hub_keys = store.write_blocking(|tx| tx.wrapped_hub_keys())?;
        let mut hub_keys_new = Vec::new();
        for (name, wrapped) in &hub_keys {
            hub_keys_new.push((name.clone(), new.seal(old.open(wrapped)?.expose())?));
        }
        let mail = store.write_blocking(|tx| tx.pending_mail_sealing())?;
        let uploads = store.write_blocking(|tx| tx.org_upload_sealing())?;
        let mut old_files = Vec::new();
        let mut reseal = |row: &MasterSealed| -> Result<(MasterSealed, u64)> {
            let sealed = if row.sealed.is_empty() {
                Vec::new()
            } else {
                new.seal(old.open(&row.sealed)?.expose())?
            };
            let (blob, stored) = if row.blob.is_empty() {
                (String::new(), 0)
            } else {
                let relative = resealed_name(&row.blob);
                written.push(relative.clone());
                let mut writer = blobs.create(&relative)?;
                new.public()
                    .seal_into(old.open_stream(blobs.open(&row.blob)?)?, &mut writer)?;
                writer.finish()?;
                let stored = blobs.make_durable(&relative)?;
                old_files.push(row.blob.clone());
                (relative, stored)
            };
            Ok((
                MasterSealed {
                    id: row.id.clone(),
                    sealed,
                    blob,
                },
                stored,
            ))
        };
        let mail_new = mail.iter().map(&mut reseal).collect::<Result<Vec<_>>>()?;
        let uploads_new = uploads
            .iter()
            .map(&mut reseal)
            .collect::<Result<Vec<_>>>()?;
        let public = new.public_text();
        let recorded = store.write_blocking(|tx| {
            for (id, keys) in &rewrapped {
                tx.set_wrapped_keys(id, keys)?;
            }
            for (name, wrapped) in &hub_keys_new {
                tx.set_hub_key(name, "", wrapped)?;
            }
            for (row, _) in &mail_new {
                tx.set_mail_sealing(row)?;
            }
            for (row, stored) in &uploads_new {
                tx.set_upload_sealing(row, *stored)?;
            }
            tx.set_hub_key(MASTER_KEY_ROW, &public, b"")?;
            tx.audit(
                chrono::Utc::now(),
                "master_key_rotated",
                "",
                "cli",
                &format!("{} mailboxes", rewrapped.len()),
            )
        });
        match recorded {
            Ok(()) => {}
            // A store fault can come after the commit (the connection lost during it):
            // the database, asked again, says which key it now names.
            Err(e @ Error::Store(_)) => match store.write_blocking(|tx| tx.hub_key(MASTER_KEY_ROW))
            {
                Ok(Some((named, _))) if named == public => {}
                Ok(_) => return Err(e),
                Err(_) => {
                    outcome_unknown.set(true);
                    return Err(e);
                }
            },
            Err(e) => return Err(e),
        }
        Ok((
            rewrapped.len() as u64,
            (mail_new.len() + uploads_new.len()) as u64,
            old_files,
        ))
    })();
    let (mailboxes, resealed, old_files) = match result {
        Ok(r) => r,
        // master.key.new may be the key the database now needs: it stays, with the files
        // sealed to it; the next start of the hub (or rotation) finishes or undoes this.
        Err(e) if outcome_unknown.get() => {
            return Err(Error::Other(format!(
                "the database did not say whether the rotation was recorded ({e}); \
                 master.key.new is kept: when the database answers again, start the hub or \
                 run rotate-master-key again, which finishes or redoes it. Do not delete \
                 master.key.new"
            )))
        }
        Err(e) => {
            for f in &written {
                let _ = blobs.remove(f);
            }
            let _ = fs::remove_file(&pending);
            return Err(e);
        }
    };
    // Committed. Before the old key file goes, the commit must survive a power cut too:
    // otherwise the database could come back wrapped by a key that no longer exists.
    store.checkpoint()?;
    fs::rename(&pending, data.master_key())?;
    sync_dir(data)?;
    for f in old_files {
        let _ = blobs.remove(&f);
    }
    Ok(Rotation {
        key_file: data.master_key(),
        public_key: new.public_text(),
        mailboxes,
        resealed,
        millis: started.elapsed().as_millis() as u64,
    })
}

/// A new name beside `relative` for its re-sealed copy.
fn resealed_name(relative: &str) -> String {
    let shard = std::path::Path::new(relative)
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let id = new_id(&OsEntropy, "rek_");
    if shard.is_empty() {
        format!("{id}.age")
    } else {
        format!("{shard}/{id}.age")
    }
}

fn sync_dir(data: &DataDir) -> io::Result<()> {
    fs::File::open(data.root())?.sync_all()
}
