//! Request rate limits counted in the database, shared by every hub process on it.

use chrono::{DateTime, Duration, Utc};

use super::sql::params;
use super::Tx;
use crate::clock::{from_millis, to_millis};
use crate::error::Result;

impl Tx<'_> {
    /// Counts a hit on the limit `name` for `key` in a fixed window of `window`: starts a
    /// new window when the last one ended. Returns the window's start and its hits, this
    /// one included. One statement, atomic by itself (see `Store::write_atomic`).
    pub fn count_hit(
        &self,
        name: &str,
        key: &str,
        now: DateTime<Utc>,
        window: Duration,
    ) -> Result<(DateTime<Utc>, u32)> {
        let now_ms = to_millis(now);
        let ended = now_ms - window.num_milliseconds();
        let (start, hits): (i64, i64) = self.0.query_row(
            "INSERT INTO throttles (name, key, window_start, hits) VALUES (?1, ?2, ?3, 1) \
             ON CONFLICT (name, key) DO UPDATE SET \
             hits = CASE WHEN throttles.window_start <= ?4 THEN 1 ELSE throttles.hits + 1 END, \
             window_start = CASE WHEN throttles.window_start <= ?4 THEN ?3 \
                 ELSE throttles.window_start END \
             RETURNING window_start, hits",
            params![name, key, now_ms, ended],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((from_millis(start), u32::try_from(hits).unwrap_or(u32::MAX)))
    }

    /// Drops the windows that started before `cutoff`.
    pub fn prune_throttles(&self, cutoff: DateTime<Utc>) -> Result<usize> {
        self.0.execute(
            "DELETE FROM throttles WHERE window_start < ?1",
            [to_millis(cutoff)],
        )
    }
}
