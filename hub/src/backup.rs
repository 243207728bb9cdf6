//! `admin backup` and `admin restore` for a hub on SQLite: the database copied with
//! SQLite's online backup API while the hub serves, the attachment files it refers to,
//! and `hub.toml`. Never `master.key`: a backup with its key opens all mail, so the key
//! is backed up on its own, and kept apart.
//!
//! A PostgreSQL hub is backed up with the database's own tools (`pg_dump`); the admin
//! guide says how.

use std::{
    fs,
    path::{Path, PathBuf},
};

use serde::Serialize;

use crate::blobs::Blobs;
use crate::config::{private_dir, private_file, DataDir};
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::store::Store;

/// The manifest a backup folder carries (`backup.json`).
const MANIFEST: &str = "backup.json";

/// What a backup holds, or what a restore put back.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct BackupReport {
    /// The backup folder.
    pub path: String,
    /// When the database was copied (RFC 3339).
    pub taken_at: String,
    /// Messages in it (every mailbox's copies).
    pub messages: u64,
    /// Mailboxes in it.
    pub mailboxes: u64,
    /// Encrypted files copied.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Files the database refers to that were deleted between the copy of the database
    /// and the copy of the files (their messages were deleted meanwhile); `admin check
    /// --repair` on a restored hub forgets them.
    pub missing_files: Vec<String>,
    /// What a restore changed in `hub.toml`, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Hub {
    /// Writes a backup of this hub to the new folder `to` (it must not exist, or be
    /// empty): `hub.db` as it was at one moment, the files it refers to under `blobs/`,
    /// `hub.toml` and `backup.json`. The hub may serve meanwhile.
    ///
    /// # Errors
    /// `Conflict` when `to` holds something, or on a PostgreSQL hub; file and store
    /// errors (what was written so far is left for the admin to remove).
    pub async fn backup(&self, to: &Path) -> Result<BackupReport> {
        if !self.store.is_shared() && fs::read_dir(to).is_ok_and(|mut d| d.next().is_some()) {
            return Err(Error::Conflict(format!(
                "{} is not empty; back up into a new folder",
                to.display()
            )));
        }
        let taken_at = crate::clock::rfc3339(self.now());
        let (store, blobs, data, to) = (
            self.store.clone(),
            self.blobs.clone(),
            self.dir.clone(),
            to.to_owned(),
        );
        tokio::task::spawn_blocking(move || write_backup(&store, &blobs, &data, &to, taken_at))
            .await
            .map_err(|e| Error::Other(format!("the backup task failed: {e}")))?
    }
}

fn write_backup(
    store: &Store,
    blobs: &Blobs,
    data: &DataDir,
    to: &Path,
    taken_at: String,
) -> Result<BackupReport> {
    if store.is_shared() {
        // Says what to do instead, before anything is written.
        store.backup_to(Path::new(""))?;
    }
    private_dir(to)?;
    let target = DataDir::new(to);
    // Made owner-only before SQLite writes into it.
    private_file()
        .write(true)
        .create_new(true)
        .open(target.database())?;
    store.backup_to(&target.database())?;
    let copy = Store::open(&target.database())?;
    let (refs, messages, mailboxes) =
        copy.write_blocking(|tx| Ok((tx.file_refs()?, tx.count_messages()?, tx.account_count()?)))?;
    drop(copy);
    private_dir(&target.blobs())?;
    let copies = Blobs::folder(target.blobs());
    let (mut files, mut bytes, mut missing_files) = (0, 0, Vec::new());
    for blob in refs
        .iter()
        .map(|r| r.blob())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let copied = blobs.open(blob).and_then(|mut from| {
            let mut into = copies.create(blob)?;
            std::io::copy(&mut from, &mut into)?;
            into.finish()?;
            copies.make_durable(blob)
        });
        match copied {
            Ok(n) => {
                files += 1;
                bytes += n;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                missing_files.push(blob.to_owned())
            }
            Err(e) => return Err(e.into()),
        }
    }
    copy_private(&data.config(), &target.config())?;
    let report = BackupReport {
        path: to.display().to_string(),
        taken_at,
        messages,
        mailboxes,
        files,
        bytes,
        missing_files,
        note: None,
    };
    let manifest = serde_json::to_vec_pretty(&report)
        .map_err(|e| Error::Other(format!("the manifest could not be written: {e}")))?;
    private_file()
        .write(true)
        .create_new(true)
        .open(to.join(MANIFEST))
        .and_then(|mut f| std::io::Write::write_all(&mut f, &manifest))?;
    Ok(report)
}

/// Copies `from` to the new owner-only file `into`; returns the bytes copied.
fn copy_private(from: &Path, into: &Path) -> std::io::Result<u64> {
    let mut source = fs::File::open(from)?;
    let mut target = private_file().write(true).create_new(true).open(into)?;
    let n = std::io::copy(&mut source, &mut target)?;
    target.sync_all()?;
    Ok(n)
}

/// Restores the backup in `from` into the data directory `data`, which must hold no hub
/// yet, with the master key at `master_key` (or the one already in `data`). Checks that
/// the key opens the restored mailboxes before it says done.
///
/// # Errors
/// `Conflict` when `data` holds a hub, when `from` is not a backup, or when the master
/// key is missing or is not this backup's (the restored files are then removed again).
pub fn restore(from: &Path, data: &Path, master_key: Option<&Path>) -> Result<BackupReport> {
    let manifest = fs::read(from.join(MANIFEST)).map_err(|_| {
        Error::Conflict(format!(
            "{} is not a Sealpost backup (no {MANIFEST}); nothing was changed",
            from.display()
        ))
    })?;
    let report: BackupReport = serde_json::from_slice(&manifest)
        .map_err(|e| Error::Conflict(format!("{MANIFEST} is not valid: {e}")))?;
    let target = DataDir::new(data);
    if target.config().exists() {
        return Err(Error::Conflict(format!(
            "{} already holds a hub (hub.toml exists); restore into a new data directory",
            data.display()
        )));
    }
    if target.database().exists() || target.blobs().exists() {
        // hub.toml is written last: without it, this is what a stopped restore left.
        return Err(Error::Conflict(format!(
            "{} holds hub.db or blobs/ but no hub.toml (a restore stopped half-way?): \
             remove that directory, or give a new one, and restore again",
            data.display()
        )));
    }
    if std::env::var(crate::config::STORE_URL_ENV).is_ok_and(|u| !u.is_empty()) {
        // The restored hub is checked by opening it, which would open that database.
        return Err(Error::Conflict(format!(
            "{} is set: it would point the restored hub at that database; unset it for \
             this command (a backup restores a hub on SQLite); nothing was changed",
            crate::config::STORE_URL_ENV
        )));
    }
    let key_in_place = target.master_key().exists();
    if master_key.is_none() && !key_in_place {
        return Err(Error::Conflict(
            "the backup holds no master key: give the hub's master key with --master-key FILE \
             (from its own backup); nothing was changed"
                .into(),
        ));
    }
    let made_here = !data.exists();
    private_dir(data)?;
    let source = DataDir::new(from);
    let mut written: Vec<PathBuf> = Vec::new();
    let mut note = None;
    let outcome = (|| {
        if let Some(key) = master_key {
            copy_private(key, &target.master_key())?;
            written.push(target.master_key());
        }
        copy_private(&source.database(), &target.database())?;
        written.push(target.database());
        copy_tree(&source.blobs(), &target.blobs())?;
        written.push(target.blobs());
        private_dir(&target.outbox())?;
        // hub.toml last: a directory without it is no hub, so a restore stopped before
        // here leaves nothing that could be served half-restored.
        // The files come back into blobs/: a restored copy must never work on the live
        // hub's bucket (its sweep would remove the live hub's newer files). Written whole
        // in one step, so that no hub.toml naming the bucket is ever in place.
        let mut config = crate::config::HubConfig::read(&source)?;
        if config.blobs.take().is_none() {
            copy_private(&source.config(), &target.config())?;
            written.push(target.config());
        } else {
            let text = toml::to_string_pretty(&config)
                .map_err(|e| Error::Other(format!("hub.toml could not be written: {e}")))?;
            let fresh = data.join("hub.toml.new");
            crate::config::private_file()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&fresh)
                .and_then(|mut f| {
                    use std::io::Write;
                    f.write_all(format!("# Sealpost hub configuration\n{text}").as_bytes())
                })?;
            written.push(fresh.clone());
            fs::rename(&fresh, target.config())?;
            written.push(target.config());
            note = Some(
                "the files were restored into blobs/, and [blobs] was taken out of hub.toml so \
                 that this copy never touches the live bucket"
                    .to_owned(),
            );
        }
        // Opening proves the key: it unwraps a mailbox's keys before anything else.
        drop(Hub::open(data)?);
        Ok::<_, Error>(())
    })();
    if let Err(e) = outcome {
        if made_here {
            let _ = fs::remove_dir_all(data);
        } else {
            for path in written.iter().rev() {
                let _ = fs::remove_dir_all(path).or_else(|_| fs::remove_file(path));
            }
        }
        return Err(e);
    }
    Ok(BackupReport {
        path: data.display().to_string(),
        note,
        ..report
    })
}

/// Copies the folder `from` into the new folder `into`, owner-only throughout.
fn copy_tree(from: &Path, into: &Path) -> std::io::Result<()> {
    private_dir(into)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = into.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            copy_private(&entry.path(), &target)?;
        }
    }
    Ok(())
}
