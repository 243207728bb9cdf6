use super::sql::{params, OptionalExtension};

use super::Tx;
use crate::error::Result;

/// A stored contact or group: its content (name, address, members) is sealed.
#[derive(Debug, Clone)]
pub struct EntryRow {
    /// Id.
    pub id: String,
    /// Sealed JSON.
    pub sealed: Vec<u8>,
    /// Mailbox state at creation.
    pub created_modseq: i64,
    /// Mailbox state at the last change.
    pub modseq: i64,
}

/// Which address-book table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// `contacts`.
    Contact,
    /// `groups`.
    Group,
}

impl EntryKind {
    pub(super) fn table(self) -> &'static str {
        match self {
            Self::Contact => "contacts",
            Self::Group => "groups",
        }
    }
    /// The sync kind name.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Contact => "contact",
            Self::Group => "group",
        }
    }
}

impl Tx<'_> {
    /// Every entry of the account's contacts or groups.
    pub fn entries(&self, account_id: &str, kind: EntryKind) -> Result<Vec<EntryRow>> {
        let mut stmt = self.0.prepare_cached(&format!(
            "SELECT id, sealed, created_modseq, modseq FROM {} WHERE account_id = ?1 ORDER BY id",
            kind.table()
        ))?;
        let rows = stmt.query_map([account_id], |r| {
            Ok(EntryRow {
                id: r.get(0)?,
                sealed: r.get(1)?,
                created_modseq: r.get(2)?,
                modseq: r.get(3)?,
            })
        })?;
        rows.collect::<Result<_>>()
    }

    /// One entry, if it is the account's.
    pub fn entry(&self, account_id: &str, kind: EntryKind, id: &str) -> Result<Option<EntryRow>> {
        self
            .0
            .prepare_cached(&format!(
                "SELECT id, sealed, created_modseq, modseq FROM {} WHERE account_id = ?1 AND id = ?2",
                kind.table()
            ))?
            .query_row([account_id, id], |r| {
                Ok(EntryRow {
                    id: r.get(0)?,
                    sealed: r.get(1)?,
                    created_modseq: r.get(2)?,
                    modseq: r.get(3)?,
                })
            })
            .optional()
    }

    /// Adds an entry.
    pub fn insert_entry(
        &self,
        account_id: &str,
        kind: EntryKind,
        id: &str,
        sealed: &[u8],
    ) -> Result<()> {
        let modseq = self.bump_mailbox_state(account_id)?;
        self.0.execute(
            &format!(
                "INSERT INTO {} (id, account_id, sealed, created_modseq, modseq) \
                 VALUES (?1, ?2, ?3, ?4, ?4)",
                kind.table()
            ),
            params![id, account_id, sealed, modseq],
        )?;
        Ok(())
    }

    /// Replaces an entry's content; false if it is not the account's.
    pub fn update_entry(
        &self,
        account_id: &str,
        kind: EntryKind,
        id: &str,
        sealed: &[u8],
    ) -> Result<bool> {
        if self.entry(account_id, kind, id)?.is_none() {
            return Ok(false);
        }
        let modseq = self.bump_mailbox_state(account_id)?;
        self.0.execute(
            &format!(
                "UPDATE {} SET sealed = ?2, modseq = ?3 WHERE id = ?1",
                kind.table()
            ),
            params![id, sealed, modseq],
        )?;
        Ok(true)
    }

    /// Deletes an entry (recorded for sync); false if it is not the account's.
    pub fn delete_entry(
        &self,
        account_id: &str,
        kind: EntryKind,
        id: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool> {
        if self.entry(account_id, kind, id)?.is_none() {
            return Ok(false);
        }
        self.0
            .execute(&format!("DELETE FROM {} WHERE id = ?1", kind.table()), [id])?;
        self.tombstone(account_id, kind.kind(), id, now)?;
        Ok(true)
    }
}
