use super::sql::{params, OptionalExtension};
use chrono::{DateTime, Utc};

use super::Tx;
use crate::clock::{from_millis, to_millis};
use crate::error::Result;

/// An organisation API token (the secret itself is never stored).
#[derive(Debug, Clone)]
pub struct OrgToken {
    /// Id, as `token revoke` takes it.
    pub id: String,
    /// What the admin called it.
    pub name: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was last used, if ever.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Tx<'_> {
    /// Stores a new org token by hash.
    pub fn insert_org_token(
        &self,
        id: &str,
        name: &str,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO org_tokens (id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, name, token_hash, to_millis(now)],
        )?;
        Ok(())
    }

    /// The id of the live org token with this hash, marking it used.
    pub fn use_org_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<String>> {
        let id: Option<String> = self
            .0
            .query_row(
                "SELECT id FROM org_tokens WHERE token_hash = ?1 AND revoked_at = 0",
                [token_hash],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = &id {
            // At most once a minute: a busy staff system's calls in parallel would all
            // write this one row otherwise (and race for it on a shared database).
            self.0.execute(
                "UPDATE org_tokens SET last_used_at = ?2 WHERE id = ?1 AND last_used_at < ?3",
                params![id, to_millis(now), to_millis(now) - 60_000],
            )?;
        }
        Ok(id)
    }

    /// Every org token, oldest first.
    pub fn org_tokens(&self) -> Result<Vec<OrgToken>> {
        let mut stmt = self.0.prepare(
            "SELECT id, name, created_at, last_used_at, revoked_at FROM org_tokens \
             ORDER BY created_at, id",
        )?;
        let rows = stmt.query_map([], |r| {
            let opt = |ms: i64| (ms != 0).then(|| from_millis(ms));
            Ok(OrgToken {
                id: r.get(0)?,
                name: r.get(1)?,
                created_at: from_millis(r.get(2)?),
                last_used_at: opt(r.get(3)?),
                revoked_at: opt(r.get(4)?),
            })
        })?;
        rows.collect::<Result<_>>()
    }

    /// Revokes an org token; false if there is no live token with that id.
    pub fn revoke_org_token(&self, id: &str, now: DateTime<Utc>) -> Result<bool> {
        Ok(self.0.execute(
            "UPDATE org_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at = 0",
            params![id, to_millis(now)],
        )? == 1)
    }
}
