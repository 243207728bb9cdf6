use rusqlite::{Connection, TransactionBehavior};

/// Why a database could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The file was written by a newer release: its schema has steps this one does not know.
    #[error("the database has schema {found}; this release knows {known}")]
    Newer {
        /// The file's `user_version`.
        found: usize,
        /// How many steps this release has.
        known: usize,
    },
    /// SQLite refused a step (the step's transaction was rolled back).
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Brings `conn` up to date with `steps`, an append-only list of SQL batches: step `i`
/// runs once, in its own exclusive transaction that also sets `PRAGMA user_version` to
/// `i + 1`, so a crash between steps resumes at the first step not yet committed.
///
/// # Errors
/// [`MigrateError::Newer`] when `user_version` is above `steps.len()` (nothing is changed);
/// [`MigrateError::Sqlite`] when a step fails.
pub fn migrate(conn: &mut Connection, steps: &[&str]) -> Result<(), MigrateError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let found = usize::try_from(version).unwrap_or(0);
    if found > steps.len() {
        return Err(MigrateError::Newer {
            found,
            known: steps.len(),
        });
    }
    for (i, step) in steps.iter().enumerate().skip(found) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: &[&str] = &[
        "CREATE TABLE a (x INTEGER NOT NULL) STRICT;",
        "INSERT INTO a (x) VALUES (1);",
    ];

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM a", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn each_step_runs_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, STEPS).unwrap();
        migrate(&mut conn, STEPS).unwrap();
        assert_eq!(count(&conn), 1, "the data step ran once over two opens");
    }

    #[test]
    fn a_failed_step_leaves_the_earlier_ones_and_resumes() {
        let mut conn = Connection::open_in_memory().unwrap();
        let broken: &[&str] = &[STEPS[0], "INSERT INTO a (x) VALUES (2); NOT SQL;"];
        assert!(matches!(
            migrate(&mut conn, broken),
            Err(MigrateError::Sqlite(_))
        ));
        assert_eq!(count(&conn), 0, "the failed step's insert was rolled back");
        migrate(&mut conn, STEPS).unwrap();
        assert_eq!(
            count(&conn),
            1,
            "the next run resumes at the step that failed"
        );
    }

    #[test]
    fn a_newer_database_is_refused_untouched() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 5).unwrap();
        let err = migrate(&mut conn, STEPS).unwrap_err();
        assert!(
            matches!(err, MigrateError::Newer { found: 5, known: 2 }),
            "{err}"
        );
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 0, "nothing was created in a newer database");
    }
}
