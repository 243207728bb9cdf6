//! The 90-day rule: expired messages leave the hub with their files and are reported to
//! sync as destroyed; unused uploads go after 24 hours; old sync history is pruned.

use chrono::Duration;
use serde::Serialize;

use crate::error::Result;
use crate::hub::{Caller, Hub};

/// How long deletions stay answerable by `/changes`; older sync states must start over.
pub const SYNC_HISTORY_DAYS: i64 = 30;

/// What a purge removed (or, dry, would remove).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct PurgeReport {
    /// Expired message copies.
    pub messages: u64,
    /// Their attachment files.
    pub attachments: u64,
    /// Uploads never attached within 24 hours.
    pub uploads: u64,
    /// Sync history entries pruned.
    pub history: u64,
    /// What crashes left: files no row refers to, empty pending mailboxes.
    pub leftovers: crate::check::Leftovers,
    /// Nothing was changed.
    pub dry_run: bool,
}

impl Hub {
    /// Deletes every message past its `expires_at`, with its files; with `dry_run`, only
    /// counts. Writes the counts (never content) to the audit log.
    pub async fn purge(&self, dry_run: bool, caller: &Caller) -> Result<PurgeReport> {
        let now = self.now();
        let mut report = PurgeReport {
            dry_run,
            ..Default::default()
        };
        if dry_run {
            let expired = self
                .store
                .read(move |tx| tx.expired_messages(now, u32::MAX))
                .await?;
            report.messages = expired.len() as u64;
            report.attachments = expired.iter().map(|(_, _, b)| b.len() as u64).sum();
            report.leftovers = self.sweep_leftovers(true, caller).await?;
            return Ok(report);
        }
        loop {
            let batch = self
                .store
                .write(move |tx| {
                    let expired = tx.expired_messages(now, 500)?;
                    for (account, id, _) in &expired {
                        tx.delete_message(account, id, now)?;
                    }
                    Ok(expired)
                })
                .await?;
            if batch.is_empty() {
                break;
            }
            report.messages += batch.len() as u64;
            for (_, _, blobs) in &batch {
                report.attachments += blobs.len() as u64;
                self.remove_blobs(blobs);
            }
        }
        let uploads = self
            .store
            .write(move |tx| tx.take_expired_uploads(now))
            .await?;
        report.uploads = uploads.len() as u64;
        self.remove_blobs(&uploads);
        let cutoff = now - Duration::days(SYNC_HISTORY_DAYS);
        report.history = self
            .store
            .write(move |tx| tx.prune_tombstones(cutoff))
            .await? as u64;
        // After the expired messages: a pending mailbox they emptied goes too.
        report.leftovers = self.sweep_leftovers(false, caller).await?;
        let retention = now - Duration::days(self.config.limits.retention_days);
        self.store
            .write(move |tx| tx.prune_org_sends(retention))
            .await?;
        // What became of each recipient's copy stays answerable a month past its expiry.
        let forgotten = now - Duration::days(SYNC_HISTORY_DAYS);
        self.store
            .write(move |tx| tx.prune_send_recipients(forgotten))
            .await?;
        let left = &report.leftovers;
        if report.messages + report.uploads + left.files + left.mailboxes > 0 {
            let detail = format!(
                "{} messages, {} attachment files, {} uploads, {} files left by crashes, \
                 {} empty pending mailboxes",
                report.messages, report.attachments, report.uploads, left.files, left.mailboxes
            );
            let ip = caller.ip.clone();
            self.store
                .write(move |tx| tx.audit(now, "purge", "", &ip, &detail))
                .await?;
        }
        self.metrics.purged(report.messages);
        Ok(report)
    }
}
