//! `admin migrate-store`: moves a hub from SQLite and its `blobs/` folder to PostgreSQL
//! and (optionally) an S3 bucket, for an organisation outgrowing one machine.
//!
//! Rows and files are copied as they are: sealed values stay sealed, files stay age
//! files, and nothing is decrypted on the way. The copy is resumable (a row or file
//! already there is skipped, so a copy stopped half-way is finished by running it again)
//! and verified (every table's count, every file's length) before `hub.toml` is changed
//! to name the new stores. The hub must be stopped meanwhile; `hub.db` and `blobs/` are
//! left as they were, as a way back.

use serde::Serialize;

use crate::blobs::{Blobs, BucketConfig};
use crate::config::{DataDir, HubConfig, StoreConfig};
use crate::error::{Error, Result};
use crate::rotation::HubLock;
use crate::store::{Store, MASTER_KEY_ROW, TABLES};

/// Rows copied per transaction.
const BATCH: u32 = 1_000;

/// What `migrate-store` did.
#[derive(Debug, Clone, Serialize)]
pub struct Migration {
    /// Per table: the rows the hub holds, and how many of them this run copied (the rest
    /// were there from an earlier run).
    pub tables: Vec<TableCopy>,
    /// Encrypted files now in the bucket (none when the files stay in `blobs/`).
    pub files: u64,
    /// Of those, copied by this run.
    pub files_copied: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Where the previous `hub.toml` was kept.
    pub previous_config: String,
}

/// One table's copy.
#[derive(Debug, Clone, Serialize)]
pub struct TableCopy {
    /// The table.
    pub table: String,
    /// Its rows, in both stores once verified.
    pub rows: u64,
    /// Copied by this run.
    pub copied: u64,
}

/// Copies the hub in `data` into the PostgreSQL database `to` (and its files into
/// `bucket`), verifies the copy, and points `hub.toml` at it. `progress` hears a line per
/// table and per thousand files.
///
/// # Errors
/// `Conflict` while the hub runs, when it is on PostgreSQL already, when its rows are
/// not yet all in the current storage format, or when the database holds another hub;
/// `Other` when the verification finds a difference (nothing is changed in `hub.toml`).
pub fn migrate_store(
    data: &DataDir,
    to: StoreConfig,
    bucket: Option<BucketConfig>,
    mut progress: impl FnMut(&str),
) -> Result<Migration> {
    let mut config = HubConfig::read(data)?;
    if config.store.is_some() {
        return Err(Error::Conflict(
            "this hub keeps its rows in PostgreSQL already (hub.toml [store]); nothing to move"
                .into(),
        ));
    }
    let _lock = HubLock::exclusive(data).map_err(|_| {
        Error::Conflict(
            "the hub is in use: stop `sealpost-hub serve` (and any other sealpost-hub \
             command on this directory), then run migrate-store again; nothing was changed"
                .into(),
        )
    })?;
    let source = Store::open(&data.database())?;
    if source.write_blocking(|tx| tx.storage_format())? < 2 {
        return Err(Error::Conflict(
            "some messages are in an older storage format: run `sealpost-hub admin upgrade` \
             first; nothing was changed"
                .into(),
        ));
    }
    let target = Store::connect(&to.url, to.max_connections.max(1))?;
    let ours = source.write_blocking(|tx| tx.hub_key(MASTER_KEY_ROW))?;
    let theirs = target.write_blocking(|tx| tx.hub_key(MASTER_KEY_ROW))?;
    if theirs.is_some() && theirs.as_ref().map(|k| &k.0) != ours.as_ref().map(|k| &k.0) {
        return Err(Error::Conflict(
            "that database holds another hub (its master key is not this one's); give an \
             empty database; nothing was changed"
                .into(),
        ));
    }

    let mut tables = Vec::new();
    for table in TABLES {
        let columns = source.write_blocking(|tx| tx.table_columns(table))?;
        let known = target.write_blocking(|tx| tx.table_columns(table))?;
        if let Some(missing) = columns.iter().find(|c| !known.contains(c)) {
            return Err(Error::Other(format!(
                "the database's table {table} has no column {missing}: it was made by another \
                 release of the hub; nothing was changed in hub.toml"
            )));
        }
        let mut after = 0i64;
        let mut copied = 0u64;
        loop {
            let rows = source.write_blocking(|tx| tx.rows_after(table, &columns, after, BATCH))?;
            let Some((last, _)) = rows.last() else {
                break;
            };
            after = *last;
            let values: Vec<_> = rows.into_iter().map(|(_, v)| v).collect();
            copied += target.write_blocking(|tx| tx.insert_rows(table, &columns, &values))?;
        }
        target.write_blocking(|tx| tx.renumber_after_copy(table))?;
        let (here, there) = (
            source.write_blocking(|tx| tx.count_rows(table))?,
            target.write_blocking(|tx| tx.count_rows(table))?,
        );
        if here != there {
            return Err(Error::Other(format!(
                "the copy of {table} does not add up ({here} rows here, {there} in the \
                 database); nothing was changed in hub.toml. Run migrate-store again; if it \
                 says so again, the database is not empty"
            )));
        }
        progress(&format!("{table}: {here} rows ({copied} copied now)"));
        tables.push(TableCopy {
            table: table.to_string(),
            rows: here,
            copied,
        });
    }

    let (mut files, mut files_copied, mut bytes) = (0, 0, 0);
    if let Some(bucket) = &bucket {
        let into = Blobs::bucket(bucket).map_err(Error::Other)?;
        let from = Blobs::folder(data.blobs());
        let refs = source.write_blocking(|tx| tx.referenced_blobs())?;
        let mut names: Vec<_> = refs.into_iter().collect();
        names.sort();
        for name in &names {
            let length = match from.make_durable(name) {
                Ok(length) => length,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Error::Other(format!(
                        "the file {name} a row refers to is missing from blobs/: run `admin \
                         check` and mend it first; nothing was changed in hub.toml"
                    )))
                }
                Err(e) => return Err(e.into()),
            };
            let there = match into.exists(name)? {
                true => Some(into.make_durable(name)?),
                false => None,
            };
            if there != Some(length) {
                if there.is_some() {
                    into.remove(name)?;
                }
                let mut reader = from.open(name)?;
                let mut writer = into.create(name)?;
                std::io::copy(&mut reader, &mut writer)?;
                writer.finish()?;
                if into.make_durable(name)? != length {
                    return Err(Error::Other(format!(
                        "the copy of {name} in the bucket is not whole; run migrate-store again"
                    )));
                }
                files_copied += 1;
            }
            files += 1;
            bytes += length;
            if files % 1_000 == 0 {
                progress(&format!("files: {files} of {} in the bucket", names.len()));
            }
        }
        progress(&format!(
            "files: {files} in the bucket ({files_copied} copied now)"
        ));
    }

    // Verified: hub.toml now names the new stores; the previous one is kept beside it.
    let previous = data.root().join("hub.toml.before-migrate-store");
    if !previous.exists() {
        std::fs::copy(data.config(), &previous)?;
        crate::config::set_private(&previous)?;
    }
    config.store = Some(to);
    if bucket.is_some() {
        config.blobs = bucket;
    }
    let text = toml::to_string_pretty(&config)
        .map_err(|e| Error::Other(format!("hub.toml could not be written: {e}")))?;
    let fresh = data.root().join("hub.toml.new");
    crate::config::private_file()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&fresh)
        .and_then(|mut f| {
            use std::io::Write;
            f.write_all(format!("# Sealpost hub configuration\n{text}").as_bytes())?;
            f.sync_all()
        })?;
    std::fs::rename(&fresh, data.config())?;
    Ok(Migration {
        tables,
        files,
        files_copied,
        bytes,
        previous_config: previous.display().to_string(),
    })
}
