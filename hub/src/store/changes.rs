use super::sql::params;
use chrono::{DateTime, Utc};

use super::address_book::EntryKind;
use super::Tx;
use crate::clock::{from_millis, to_millis};
use crate::error::Result;

/// One change in a mailbox's history, in state order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A message exists with this id and was created or changed at `modseq`.
    Message { id: String, modseq: i64 },
    /// A contact or group.
    Entry {
        kind: EntryKind,
        id: String,
        modseq: i64,
    },
    /// Something was deleted or expired.
    Destroyed {
        kind: String,
        id: String,
        modseq: i64,
        /// When its sender recalled it, if that is why it went.
        recalled_at: Option<DateTime<Utc>>,
    },
}

impl Change {
    /// The state this change brought the mailbox to.
    pub fn modseq(&self) -> i64 {
        match self {
            Self::Message { modseq, .. }
            | Self::Entry { modseq, .. }
            | Self::Destroyed { modseq, .. } => *modseq,
        }
    }
}

impl Tx<'_> {
    /// Up to `limit` changes after state `since`, oldest first. Every change has its own
    /// state number, so a page can end after any of them.
    pub fn changes_since(&self, account_id: &str, since: i64, limit: u32) -> Result<Vec<Change>> {
        // Each table's first `limit` through its (account_id, modseq) index, then merged:
        // a LIMIT over the whole UNION would make PostgreSQL read every later row.
        let mut stmt = self.0.prepare_cached(
            "SELECT kind, id, modseq, recalled_at FROM (SELECT 'message' AS kind, id, modseq, \
                 0 AS recalled_at FROM messages \
                 WHERE account_id = ?1 AND modseq > ?2 ORDER BY modseq LIMIT ?3) m \
             UNION ALL SELECT kind, id, modseq, recalled_at FROM (SELECT 'contact' AS kind, id, \
                 modseq, 0 AS recalled_at \
                 FROM contacts WHERE account_id = ?1 AND modseq > ?2 ORDER BY modseq LIMIT ?3) c \
             UNION ALL SELECT kind, id, modseq, recalled_at FROM (SELECT 'group' AS kind, id, \
                 modseq, 0 AS recalled_at \
                 FROM groups WHERE account_id = ?1 AND modseq > ?2 ORDER BY modseq LIMIT ?3) g \
             UNION ALL SELECT kind, id, modseq, recalled_at FROM (SELECT 'gone:' || kind AS kind, \
                 id, modseq, CASE WHEN reason = 'recalled' THEN at ELSE 0 END AS recalled_at \
                 FROM tombstones WHERE account_id = ?1 AND modseq > ?2 ORDER BY modseq LIMIT ?3) t \
             ORDER BY 3 LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![account_id, since, limit], |r| {
            let kind: String = r.get(0)?;
            let id: String = r.get(1)?;
            let modseq: i64 = r.get(2)?;
            let recalled_at: i64 = r.get(3)?;
            Ok(match kind.as_str() {
                "message" => Change::Message { id, modseq },
                "contact" => Change::Entry {
                    kind: EntryKind::Contact,
                    id,
                    modseq,
                },
                "group" => Change::Entry {
                    kind: EntryKind::Group,
                    id,
                    modseq,
                },
                gone => Change::Destroyed {
                    kind: gone.trim_start_matches("gone:").to_owned(),
                    id,
                    modseq,
                    recalled_at: (recalled_at > 0).then(|| from_millis(recalled_at)),
                },
            })
        })?;
        rows.collect::<Result<_>>()
    }

    /// Drops tombstones recorded before `cutoff`, and raises each mailbox's history floor
    /// so that sync states older than what is left answer "start over".
    pub fn prune_tombstones(&self, cutoff: DateTime<Utc>) -> Result<usize> {
        self.0.execute(
            "UPDATE accounts SET history_floor = \
                 (SELECT CASE WHEN max(t.modseq) > accounts.history_floor THEN max(t.modseq) \
                     ELSE accounts.history_floor END \
                  FROM tombstones t WHERE t.account_id = accounts.id AND t.at < ?1) \
             WHERE EXISTS (SELECT 1 FROM tombstones t WHERE t.account_id = accounts.id AND t.at < ?1)",
            [to_millis(cutoff)],
        )?;
        self.0
            .execute("DELETE FROM tombstones WHERE at < ?1", [to_millis(cutoff)])
    }

    /// The states of these accounts (for the events notifier).
    pub fn states_of(&self, account_ids: &[String]) -> Result<Vec<(String, i64)>> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT mailbox_state FROM accounts WHERE id = ?1")?;
        let mut out = Vec::with_capacity(account_ids.len());
        for id in account_ids {
            let state: Option<i64> = stmt.query_row([id], |r| r.get(0)).ok();
            if let Some(state) = state {
                out.push((id.clone(), state));
            }
        }
        Ok(out)
    }
}
