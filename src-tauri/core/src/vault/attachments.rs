//! Attachment bytes in the vault: downloaded in chunks of [`CHUNK`] bytes, marked cached
//! once whole, read back chunk by chunk or whole.

use rusqlite::{params, OptionalExtension};

use super::Vault;
use crate::error::Result;

/// Attachment bytes are kept in chunks of this size.
pub const CHUNK: usize = 256 * 1024;

impl Vault {
    /// Starts caching an attachment: forgets any partial earlier download.
    pub fn attachment_cache_begin(&self, attachment_id: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM attachment_chunks WHERE attachment_id = ?1",
                [attachment_id],
            )?;
            tx.execute(
                "UPDATE attachments SET cached = 0 WHERE id = ?1",
                [attachment_id],
            )?;
            Ok(())
        })
    }

    /// Stores one chunk of a downloading attachment (encrypted with the vault).
    pub fn attachment_cache_put(&self, attachment_id: &str, seq: u32, bytes: &[u8]) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO attachment_chunks (attachment_id, seq, bytes) VALUES (?1, ?2, ?3)",
                params![attachment_id, seq, bytes],
            )?;
            Ok(())
        })
    }

    /// Marks an attachment's chunks complete: only then is it read from the vault.
    pub fn attachment_cache_finish(&self, attachment_id: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE attachments SET cached = 1 WHERE id = ?1",
                [attachment_id],
            )?;
            Ok(())
        })
    }

    /// Stores a whole attachment at once (small ones, tests).
    pub fn cache_attachment(&self, attachment_id: &str, bytes: &[u8]) -> Result<()> {
        self.attachment_cache_begin(attachment_id)?;
        for (seq, chunk) in bytes.chunks(CHUNK).enumerate() {
            self.attachment_cache_put(attachment_id, seq as u32, chunk)?;
        }
        self.attachment_cache_finish(attachment_id)
    }

    /// Whether an attachment is wholly in the vault.
    pub fn attachment_cached(&self, attachment_id: &str) -> Result<bool> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT cached FROM attachments WHERE id = ?1",
                [attachment_id],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
                == Some(1))
        })
    }

    /// One chunk of a cached attachment, in order from 0; `None` past the end.
    pub fn attachment_chunk(&self, attachment_id: &str, seq: u32) -> Result<Option<Vec<u8>>> {
        self.read(|c| {
            Ok(c.prepare_cached(
                "SELECT bytes FROM attachment_chunks WHERE attachment_id = ?1 AND seq = ?2",
            )?
            .query_row(params![attachment_id, seq], |r| r.get(0))
            .optional()?)
        })
    }

    /// Cached attachment bytes, if downloaded before (whole, in memory: for small files).
    pub fn cached_attachment(&self, attachment_id: &str) -> Result<Option<Vec<u8>>> {
        if !self.attachment_cached(attachment_id)? {
            return Ok(None);
        }
        let mut out = Vec::new();
        let mut seq = 0;
        while let Some(chunk) = self.attachment_chunk(attachment_id, seq)? {
            out.extend_from_slice(&chunk);
            seq += 1;
        }
        Ok(Some(out))
    }
}
