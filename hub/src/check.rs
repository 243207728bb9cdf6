//! A data directory that adds up. A crash in the middle of an upload or a send leaves an
//! encrypted file no row refers to, or a pending mailbox nothing was delivered to; a lost
//! disk or a restore from an old backup leaves rows whose file is gone. The hourly sweep
//! (and the first one, as `serve` starts) removes what crashes leave; `sealpost-hub admin
//! check` reports everything that does not add up and, with `--repair`, mends what can be.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    time::{Duration as StdDuration, SystemTime},
};

use chrono::Duration;
use serde::Serialize;

use crate::error::Result;
use crate::hub::{Caller, Hub};
use crate::store::FileRef;

/// Files and pending mailboxes younger than this may belong to an upload or a send still
/// under way (in this process or a `sealpost-hub send` beside it): they are left alone.
pub const LEFTOVER_AGE_MINUTES: i64 = 60;

/// What a crash left behind, and what was done with it.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Leftovers {
    /// Encrypted files no row refers to, older than an hour.
    pub files: u64,
    /// Their size on disk.
    pub bytes: u64,
    /// Pending mailboxes over an hour old that hold no message.
    pub mailboxes: u64,
}

/// What `admin check` found (and, with `--repair`, mended).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// SQLite's check of the database: `ok`, or what is wrong (not repairable here:
    /// restore from a backup).
    pub database: String,
    /// Files no row refers to, older than an hour (repair: removed).
    pub orphan_files: u64,
    /// Their size on disk.
    pub orphan_bytes: u64,
    /// Files no row refers to yet, younger than an hour: left alone (work under way).
    pub recent_unreferenced_files: u64,
    /// Messages whose attachment file is gone (repair: the attachment is forgotten, the
    /// message stays; restore the file from a backup first if there is one).
    pub lost_attachments: Vec<String>,
    /// Uploads whose file is gone (repair: forgotten; the sender uploads again).
    pub lost_uploads: u64,
    /// Emails to staff whose file is gone (repair: given up, the Sent copy says so).
    pub lost_emails: u64,
    /// Pending mailboxes over an hour old holding no message (repair: removed).
    pub empty_mailboxes: Vec<String>,
    /// Files and folders group or others may use (repair: made owner-only).
    pub not_private: Vec<String>,
    /// Settings worth a second look.
    pub notes: Vec<String>,
    /// Whether the repairs were made.
    pub repaired: bool,
}

impl CheckReport {
    /// How many problems remain: after a repair, only those it cannot mend.
    pub fn problems(&self) -> usize {
        let unrepairable = usize::from(self.database != "ok");
        if self.repaired {
            return unrepairable;
        }
        unrepairable
            + (self.orphan_files + self.lost_uploads + self.lost_emails) as usize
            + self.lost_attachments.len()
            + self.empty_mailboxes.len()
            + self.not_private.len()
    }
}

/// A file nothing refers to.
struct Unreferenced {
    place: Place,
    bytes: u64,
    old: bool,
}

/// Where a file nothing refers to is.
enum Place {
    /// Among the encrypted files, by name.
    Blob(String),
    /// A temporary file in the data directory (`outbox/`, `spool/`).
    Local(PathBuf),
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                folders.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    Ok(out)
}

/// Every file and folder under `dir` (itself included) that group or others may use.
fn not_private(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut paths = files_under(dir)?;
        let mut folders = vec![dir.to_owned()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder)? {
                let entry = entry?;
                if entry.file_type()?.is_dir() {
                    folders.push(entry.path());
                    paths.push(entry.path());
                }
            }
        }
        paths.push(dir.to_owned());
        for path in paths {
            if std::fs::symlink_metadata(&path)?.permissions().mode() & 0o077 != 0 {
                out.push(path);
            }
        }
    }
    Ok(out)
}

impl Hub {
    /// Files under the blob folder that no row refers to, and temporary files an email
    /// being written into the outbox left.
    fn unreferenced_files(&self, referenced: &HashSet<String>) -> Result<Vec<Unreferenced>> {
        let cutoff = SystemTime::now() - StdDuration::from_secs(LEFTOVER_AGE_MINUTES as u64 * 60);
        let mut out = Vec::new();
        for blob in crate::runtime::blocking(|| self.blobs.list())? {
            // Only names the hub makes: anything else in a shared bucket is not its own.
            if crate::blobs::Blobs::is_hub_name(&blob.name) && !referenced.contains(&blob.name) {
                out.push(Unreferenced {
                    old: blob.modified < cutoff,
                    bytes: blob.bytes,
                    place: Place::Blob(blob.name),
                });
            }
        }
        let outbox_temporaries = files_under(&self.dir.outbox())?.into_iter().filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.') && n.ends_with(".tmp"))
        });
        // A message the SMTP listener was receiving when the hub stopped.
        let spooled = files_under(&self.dir.spool())?;
        for path in outbox_temporaries.chain(spooled) {
            let meta = match std::fs::metadata(&path) {
                Ok(meta) => meta,
                // Removed meanwhile (an email finished).
                Err(_) => continue,
            };
            out.push(Unreferenced {
                old: meta.modified().is_ok_and(|m| m < cutoff),
                bytes: meta.len(),
                place: Place::Local(path),
            });
        }
        Ok(out)
    }

    fn remove_unreferenced(&self, file: &Unreferenced) {
        let _ = match &file.place {
            Place::Blob(name) => self.blobs.remove(name),
            Place::Local(path) => std::fs::remove_file(path),
        };
    }

    /// Removes what crashes left: files no row refers to, older than an hour, and pending
    /// mailboxes over an hour old that hold no message. With `dry_run`, only counts.
    pub async fn sweep_leftovers(&self, dry_run: bool, caller: &Caller) -> Result<Leftovers> {
        let referenced = self.store.read(|tx| tx.referenced_blobs()).await?;
        let mut report = Leftovers::default();
        for file in self.unreferenced_files(&referenced)? {
            if !file.old {
                continue;
            }
            report.files += 1;
            report.bytes += file.bytes;
            if !dry_run {
                self.remove_unreferenced(&file);
            }
        }
        let cutoff = self.now() - Duration::minutes(LEFTOVER_AGE_MINUTES);
        let empty = self
            .store
            .read(move |tx| tx.empty_pending_mailboxes(cutoff))
            .await?;
        report.mailboxes = empty.len() as u64;
        if !dry_run && !empty.is_empty() {
            self.remove_empty_mailboxes(empty, cutoff, caller).await?;
        }
        Ok(report)
    }

    async fn remove_empty_mailboxes(
        &self,
        mailboxes: Vec<(String, String)>,
        cutoff: chrono::DateTime<chrono::Utc>,
        caller: &Caller,
    ) -> Result<()> {
        let (now, ip) = (self.now(), caller.ip.clone());
        self.store
            .write(move |tx| {
                // Re-checked in the write: a message may have arrived meanwhile, or a send
                // renewed the mailbox to fill it.
                let still: HashSet<String> = tx
                    .empty_pending_mailboxes(cutoff)?
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect();
                for (id, email) in mailboxes.iter().filter(|(id, _)| still.contains(id)) {
                    tx.delete_account(id)?;
                    tx.audit(now, "mailbox_removed", email, &ip, "pending, no message")?;
                }
                Ok(())
            })
            .await
    }

    /// Checks that the data directory adds up; with `repair`, mends what can be mended
    /// (see [`CheckReport`]). What was done is written to the audit log.
    pub async fn check(&self, repair: bool, caller: &Caller) -> Result<CheckReport> {
        let mut report = CheckReport {
            database: self.store.read(|tx| tx.quick_check()).await?,
            repaired: repair,
            ..Default::default()
        };
        let refs = self.store.read(|tx| tx.file_refs()).await?;
        let mut lost_mail = Vec::new();
        let mut lost_uploads = Vec::new();
        let mut lost_files = Vec::new();
        for r in &refs {
            if self.blobs.exists(r.blob())? {
                continue;
            }
            match r {
                FileRef::Attachment { message_id, .. } => {
                    if !report.lost_attachments.contains(message_id) {
                        report.lost_attachments.push(message_id.clone());
                    }
                    lost_files.push(r.clone());
                }
                FileRef::Upload { .. } => lost_uploads.push(r.clone()),
                FileRef::Mail { .. } => lost_mail.push(r.clone()),
            }
        }
        report.lost_uploads = lost_uploads.len() as u64;
        report.lost_emails = lost_mail.len() as u64;
        let referenced: HashSet<String> = refs.iter().map(|r| r.blob().to_owned()).collect();
        for file in self.unreferenced_files(&referenced)? {
            if file.old {
                report.orphan_files += 1;
                report.orphan_bytes += file.bytes;
                if repair {
                    self.remove_unreferenced(&file);
                }
            } else {
                report.recent_unreferenced_files += 1;
            }
        }
        let cutoff = self.now() - Duration::minutes(LEFTOVER_AGE_MINUTES);
        let empty = self
            .store
            .read(move |tx| tx.empty_pending_mailboxes(cutoff))
            .await?;
        report.empty_mailboxes = empty.iter().map(|(_, email)| email.clone()).collect();
        let root = self.dir.root().to_owned();
        // The updates folder is served to anyone by design: its files may be readable.
        let public = self.updates_dir();
        let loose: Vec<PathBuf> = not_private(&root)?
            .into_iter()
            .filter(|p| public.as_ref().is_none_or(|d| !p.starts_with(d)))
            .collect();
        report.not_private = loose
            .iter()
            .map(|p| p.strip_prefix(&root).unwrap_or(p).display().to_string())
            .map(|p| if p.is_empty() { ".".to_owned() } else { p })
            .collect();
        if self.config.limits.max_attachment_bytes == 78_643_200 {
            report.notes.push(
                "limits.max_attachment_bytes is 78643200 (75 MiB, an older default); the apps \
                 and messages say 75 MB = 75000000: set that in hub.toml"
                    .into(),
            );
        }
        if repair {
            for path in &loose {
                crate::config::set_private(path)?;
            }
            if !empty.is_empty() {
                self.remove_empty_mailboxes(empty, cutoff, caller).await?;
            }
            let (now, ip) = (self.now(), caller.ip.clone());
            let detail = format!(
                "{} files removed, {} attachments, {} uploads and {} emails whose file was \
                 lost given up, {} empty mailboxes removed, {} permissions tightened",
                report.orphan_files,
                lost_files.len(),
                report.lost_uploads,
                report.lost_emails,
                report.empty_mailboxes.len(),
                report.not_private.len()
            );
            // Looked for again (outside the transaction: a bucket answers slowly), and any
            // answer but "not there" stops the repair: a store that fails to answer says
            // nothing of its files.
            let mut missing = HashSet::new();
            for r in lost_uploads.iter().chain(&lost_mail).chain(&lost_files) {
                if !self.blobs.exists(r.blob())? {
                    missing.insert(r.blob().to_owned());
                }
            }
            self.store
                .write(move |tx| {
                    // Re-checked in the write: an email may have been sent, or an upload
                    // attached, since they were found; only what is still lost is given up.
                    let current = tx.file_refs()?;
                    let still_lost =
                        |r: &FileRef| current.contains(r) && missing.contains(r.blob());
                    for r in lost_uploads.iter().filter(|r| still_lost(r)) {
                        if let FileRef::Upload { id, .. } = r {
                            tx.forget_upload(id)?;
                        }
                    }
                    for r in lost_files.iter().filter(|r| still_lost(r)) {
                        tx.forget_attachment_file(r.blob())?;
                    }
                    for r in lost_mail.iter().filter(|r| still_lost(r)) {
                        let FileRef::Mail { id, message_id, .. } = r else {
                            continue;
                        };
                        tx.mail_abandoned(*id, "its file was lost", now)?;
                        tx.set_delivery(
                            message_id,
                            "failed",
                            "The hub lost this email before it was sent; send the message again.",
                        )?;
                    }
                    tx.audit(now, "check_repaired", "", &ip, &detail)
                })
                .await?;
        }
        Ok(report)
    }
}
