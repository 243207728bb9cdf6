use super::sql::{params, OptionalExtension};
use chrono::{DateTime, Utc};

use super::Tx;
use crate::clock::to_millis;
use crate::error::Result;

/// A stored upload waiting to be attached.
#[derive(Debug, Clone)]
pub struct UploadRow {
    /// Upload id.
    pub id: String,
    /// Owner (empty for organisation uploads).
    pub account_id: String,
    /// Plaintext size.
    pub size: u64,
    /// Encrypted file, relative to the blob directory.
    pub blob: String,
    /// The encrypted file's length when written.
    pub stored_bytes: u64,
    /// Name and type, sealed with the same key as the bytes.
    pub sealed: Vec<u8>,
}

impl Tx<'_> {
    /// Records an upload whose bytes are already encrypted on disk.
    pub fn insert_upload(
        &self,
        u: &UploadRow,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO uploads (id, account_id, size, blob, stored_bytes, sealed, created_at, \
             expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                u.id,
                u.account_id,
                u.size as i64,
                u.blob,
                u.stored_bytes as i64,
                u.sealed,
                to_millis(now),
                to_millis(expires_at)
            ],
        )?;
        Ok(())
    }

    /// An upload of this owner that has not expired.
    pub fn upload(
        &self,
        account_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<UploadRow>> {
        self.0
            .query_row(
                "SELECT id, account_id, size, blob, sealed, stored_bytes FROM uploads \
                 WHERE id = ?1 AND account_id = ?2 AND expires_at > ?3",
                params![id, account_id, to_millis(now)],
                |r| {
                    Ok(UploadRow {
                        id: r.get(0)?,
                        account_id: r.get(1)?,
                        size: r.get::<_, i64>(2)? as u64,
                        blob: r.get(3)?,
                        sealed: r.get(4)?,
                        stored_bytes: r.get::<_, i64>(5)? as u64,
                    })
                },
            )
            .optional()
    }

    /// Forgets an upload (its file now belongs to a message, or is removed by the caller).
    pub fn delete_upload(&self, id: &str) -> Result<()> {
        self.0.execute("DELETE FROM uploads WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Removes expired uploads and returns their files.
    pub fn take_expired_uploads(&self, now: DateTime<Utc>) -> Result<Vec<String>> {
        let mut stmt = self
            .0
            .prepare("DELETE FROM uploads WHERE expires_at <= ?1 RETURNING blob")?;
        let blobs = stmt
            .query_map([to_millis(now)], |r| r.get(0))?
            .collect::<Result<Vec<String>>>()?;
        Ok(blobs)
    }
}
