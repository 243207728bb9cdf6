//! Row access for the storage v2 upgrade (`crate::upgrade`): finding rows still in
//! format 1 and rewriting them in place. A rewrite changes no mailbox state: the content
//! is the same, so clients have nothing to fetch again.

use super::sql::params;

use super::address_book::EntryKind;
use super::messages::SealedFields;
use super::Tx;
use crate::error::Result;

/// A v1 row of the address book: (account id, entry id, sealed age file).
pub type V1Entry = (String, String, Vec<u8>);

impl Tx<'_> {
    /// How many messages are still in storage format 1.
    pub fn count_v1_messages(&self) -> Result<u64> {
        Ok(self.0.query_row(
            "SELECT count(*) FROM messages WHERE length(sealed) > 0",
            [],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// Up to `limit` messages in format 1 after `rowid`, in rowid order: (rowid, account
    /// id, message id). Resuming from the last rowid seen never visits a row twice.
    pub fn v1_messages_after(&self, rowid: i64, limit: u32) -> Result<Vec<(i64, String, String)>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT rowid, account_id, id FROM messages WHERE rowid > ?1 AND length(sealed) > 0 \
             ORDER BY rowid LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![rowid, limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        rows.collect::<Result<_>>()
    }

    /// Replaces a format-1 message's content with its v2 fields and empties the v1 columns
    /// (the age file and the recipients in the clear). False if it was rewritten meanwhile.
    pub fn rewrite_message_v2(&self, id: &str, content: &SealedFields) -> Result<bool> {
        Ok(self
            .0
            .prepare_cached(
                "UPDATE messages SET sealed = x'', recipients = '{}', sealed_subject = ?2, \
             sealed_body_text = ?3, sealed_body_html = ?4, sealed_recipients = ?5, \
             sealed_attachments = ?6 WHERE id = ?1 AND length(sealed) > 0",
            )?
            .execute(params![
                id,
                content.subject,
                content.body_text,
                content.body_html,
                content.recipients,
                content.attachments
            ])?
            == 1)
    }

    /// Address-book entries still in format 1 (an age file).
    pub fn v1_entries(&self, kind: EntryKind) -> Result<Vec<V1Entry>> {
        let mut stmt = self.0.prepare(&format!(
            "SELECT account_id, id, sealed FROM {} \
             WHERE substr(sealed, 1, 19) = CAST('age-encryption.org/' AS BLOB) ORDER BY rowid",
            kind.table()
        ))?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_>>()
    }

    /// Replaces an entry's sealed value if it is still `old`, without changing its state.
    pub fn rewrite_entry(&self, kind: EntryKind, id: &str, old: &[u8], new: &[u8]) -> Result<bool> {
        Ok(self.0.execute(
            &format!(
                "UPDATE {} SET sealed = ?3 WHERE id = ?1 AND sealed = ?2",
                kind.table()
            ),
            params![id, old, new],
        )? == 1)
    }
}
