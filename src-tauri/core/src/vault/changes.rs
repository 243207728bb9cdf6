//! Sync into the vault: each page of the hub's `/changes` applied with its state in one
//! transaction, and the reset before a full resync.

use rusqlite::params;
use sealpost_proto::{ChangedItem, Changes, Folder};

use super::messages::{delete_message, pending_deletes, upsert_message, withdraw_message};
use super::Vault;
use crate::error::Result;

/// What a page of changes did to the vault.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// New inbox messages (for notifications): their senders.
    pub new_inbox_from: Vec<String>,
    /// The id of the last new inbox message of the page.
    pub latest_new: Option<String>,
    /// Items created, updated or destroyed.
    pub changed: usize,
}

impl Vault {
    /// Applies one page of `/changes` and records its state, in one transaction: a crash
    /// at any point leaves the vault at the previous page or at this one, never between.
    pub fn apply_changes(&self, page: &Changes) -> Result<Applied> {
        self.write(|tx| {
            let mut applied = Applied::default();
            let deleting = pending_deletes(tx)?;
            for (item, created) in page
                .created
                .iter()
                .map(|i| (i, true))
                .chain(page.updated.iter().map(|i| (i, false)))
            {
                match item {
                    ChangedItem::Message(m) if deleting.contains(&m.summary.id) => {}
                    ChangedItem::Message(m) => {
                        let existed = upsert_message(tx, m)?;
                        if created
                            && !existed
                            && m.summary.folder == Folder::Inbox
                            && !m.summary.read
                        {
                            applied.new_inbox_from.push(m.summary.from.clone());
                            applied.latest_new = Some(m.summary.id.clone());
                        }
                    }
                    ChangedItem::Contact(c) => {
                        tx.execute(
                            "INSERT INTO contacts (id, name, email) VALUES (?1, ?2, ?3) \
                             ON CONFLICT(id) DO UPDATE SET name = ?2, email = ?3",
                            params![c.id, c.name, c.email],
                        )?;
                    }
                    ChangedItem::Group(g) => {
                        let ids =
                            serde_json::to_string(&g.contact_ids).expect("BUG: ids serialise");
                        tx.execute(
                            "INSERT INTO groups (id, name, contact_ids) VALUES (?1, ?2, ?3) \
                             ON CONFLICT(id) DO UPDATE SET name = ?2, contact_ids = ?3",
                            params![g.id, g.name, ids],
                        )?;
                    }
                }
                applied.changed += 1;
            }
            for gone in &page.destroyed {
                match gone.kind.as_str() {
                    "message" => match &gone.recalled_at {
                        Some(at) => {
                            withdraw_message(tx, &gone.id, at)?;
                        }
                        None => {
                            delete_message(tx, &gone.id)?;
                        }
                    },
                    "contact" => {
                        tx.execute("DELETE FROM contacts WHERE id = ?1", [&gone.id])?;
                    }
                    "group" => {
                        tx.execute("DELETE FROM groups WHERE id = ?1", [&gone.id])?;
                    }
                    _ => {}
                }
                applied.changed += 1;
            }
            tx.execute(
                "INSERT INTO sync (key, value) VALUES ('state', ?1) \
                 ON CONFLICT(key) DO UPDATE SET value = ?1",
                [&page.state],
            )?;
            Ok(applied)
        })
    }

    /// Forgets everything synced (before a full resync after `state_too_old`); the outbox
    /// and cached drafts waiting to leave are kept.
    pub fn reset_sync(&self) -> Result<()> {
        self.write(|tx| {
            tx.execute_batch(
                "INSERT INTO search (search) VALUES ('delete-all'); DELETE FROM messages; \
                 DELETE FROM search_pending; DELETE FROM contacts; DELETE FROM groups; DELETE FROM sync WHERE key = 'state';",
            )?;
            Ok(())
        })
    }
}
