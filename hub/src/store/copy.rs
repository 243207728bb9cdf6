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
    "audit",
    "mail_queue",
    "org_sends",
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
