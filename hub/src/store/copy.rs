//! Copying a store's rows into another, table by table, as they are (sealed values stay
//! sealed): `admin migrate-store` moves a SQLite hub into PostgreSQL with it.

use super::sql::{Param, ToParam, Value};
use super::Tx;
use crate::error::{Error, Result};

/// Every table a copy moves, parents before children (foreign keys hold at each insert).
pub const TABLES: &[&str] = &[
    "accounts",
    "sign_in_guard",
    "one_time_links",
    "session_families",
    "access_tokens",
    "refresh_tokens",
    "trusted_devices",
    "org_tokens",
    "messages",
    "attachments",
    "uploads",
    "contacts",
    "groups",
    "tombstones",
    "mfa",
    "mfa_recovery",
    "delegates",
    "audit",
    "mail_queue",
    "org_sends",
    "recalls",
    "send_recipients",
    "notifications",
    "hub_keys",
    "hub_state",
    "throttles",
];

/// Tables whose `id` the target numbers itself (an identity column on PostgreSQL).
const NUMBERED: &[&str] = &["audit", "mail_queue"];

fn known(table: &str) -> Result<&'static str> {
    TABLES
        .iter()
        .copied()
        .find(|t| *t == table)
        .ok_or_else(|| Error::Other(format!("{table} is not a table of the hub")))
}

impl Tx<'_> {
    /// The columns of `table`, in the order the schema gives them.
    pub fn table_columns(&self, table: &str) -> Result<Vec<String>> {
        let table = known(table)?;
        if self.is_sqlite() {
            let mut stmt = self.0.prepare(&format!("PRAGMA table_info({table})"))?;
            return stmt.query_map([], |r| r.get(1))?.collect();
        }
        let mut stmt = self.0.prepare(
            "SELECT column_name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position",
        )?;
        stmt.query_map([table], |r| r.get(0))?.collect()
    }

    /// How many rows `table` holds.
    pub fn count_rows(&self, table: &str) -> Result<u64> {
        let table = known(table)?;
        let n: i64 = self
            .0
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Up to `limit` rows of `table` (SQLite) after the row numbered `after`, in row
    /// order: (row number, values of `columns`).
    pub fn rows_after(
        &self,
        table: &str,
        columns: &[String],
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, Vec<Value>)>> {
        let table = known(table)?;
        if !self.is_sqlite() {
            return Err(Error::Other(
                "rows are copied out of a SQLite store only".into(),
            ));
        }
        let list = columns.join(", ");
        let mut stmt = self.0.prepare(&format!(
            "SELECT rowid, {list} FROM {table} WHERE rowid > ?1 ORDER BY rowid LIMIT ?2"
        ))?;
        stmt.query_map([after, i64::from(limit)], |r| {
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                values.push(r.get(i + 1)?);
            }
            Ok((r.get(0)?, values))
        })?
        .collect()
    }

    /// Inserts `rows` (values of `columns`) into `table`, skipping any whose key is
    /// there already (a copy run again); returns how many were new.
    pub fn insert_rows(&self, table: &str, columns: &[String], rows: &[Vec<Value>]) -> Result<u64> {
        let table = known(table)?;
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
        // PostgreSQL numbers identity columns itself unless told to keep the given id.
        let overriding = if !self.is_sqlite() && NUMBERED.contains(&table) {
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        };
        let sql = format!(
            "INSERT INTO {table} ({}){overriding} VALUES ({}) ON CONFLICT DO NOTHING",
            columns.join(", "),
            placeholders.join(", ")
        );
        let mut stmt = self.0.prepare_cached(&sql)?;
        let mut added = 0;
        for row in rows {
            let params: Vec<Param> = row.iter().map(ToParam::to_param).collect();
            added += stmt.execute(&params[..])? as u64;
        }
        Ok(added)
    }

    /// After ids were copied into `table`, moves its identity on past them (PostgreSQL),
    /// so that the next row it numbers does not collide.
    pub fn renumber_after_copy(&self, table: &str) -> Result<()> {
        let table = known(table)?;
        if self.is_sqlite() || !NUMBERED.contains(&table) {
            return Ok(());
        }
        self.0.query_row(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 (SELECT CAST(coalesce(max(id), 0) AS BIGINT) + 1 FROM {table}), false)"
            ),
            [],
            |_| Ok(()),
        )
    }
}

/// The `hub_state` row a store copy keeps while it runs: the source hub's master public
/// key; empty once the copy is verified.
const MARKER: &str = "migrate_store_from";

impl Tx<'_> {
    /// The copy marker of an earlier run that did not finish, if any.
    pub fn copy_marker(&self) -> Result<Option<String>> {
        use super::sql::OptionalExtension;
        Ok(self
            .0
            .query_row(
                "SELECT value FROM hub_state WHERE name = ?1",
                [MARKER],
                |r| r.get(0),
            )
            .optional()?
            .filter(|v: &String| !v.is_empty()))
    }

    /// Sets (or, with "", clears) the copy marker.
    pub fn set_copy_marker(&self, source: &str) -> Result<()> {
        self.0.execute(
            "INSERT INTO hub_state (name, value) VALUES (?1, ?2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [MARKER, source],
        )?;
        if source.is_empty() {
            self.0
                .execute("DELETE FROM hub_state WHERE name = ?1", [MARKER])?;
        }
        Ok(())
    }

    /// Whether every table is empty but for what the schema puts in `hub_state` itself.
    pub fn is_empty_for_copy(&self) -> Result<bool> {
        for table in TABLES {
            let n = self.count_rows(table)?;
            let own = if *table == "hub_state" {
                self.0.query_row(
                    "SELECT count(*) FROM hub_state WHERE name = 'storage_format'",
                    [],
                    |r| r.get::<_, i64>(0),
                )? as u64
            } else {
                0
            };
            if n > own {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Removes every row an earlier, unfinished copy wrote (children before parents).
    pub fn clear_for_copy(&self) -> Result<()> {
        for table in TABLES.iter().rev() {
            if *table == "hub_state" {
                self.0.execute(
                    "DELETE FROM hub_state WHERE name NOT IN ('storage_format', ?1)",
                    [MARKER],
                )?;
            } else {
                self.0.execute(&format!("DELETE FROM {table}"), [])?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_copy_moves_every_table_of_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::super::Store::open(&dir.path().join("hub.db")).unwrap();
        let mut tables: Vec<String> = store
            .write_blocking(|tx| {
                tx.0.prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )?
                .query_map([], |r| r.get(0))?
                .collect()
            })
            .unwrap();
        tables.sort();
        let mut listed: Vec<String> = super::TABLES.iter().map(|t| t.to_string()).collect();
        listed.sort();
        assert_eq!(
            tables, listed,
            "a table added to the schema is added to TABLES too"
        );
    }
}
