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
use crate::store::postgres_tls::without_password;
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
    let config = HubConfig::read(data)?;
    if let Some(current) = &config.store {
        let same = without_password(&current.url) == without_password(&to.url);
        if same && (bucket.is_none() || bucket == config.blobs) {
            // Moved by an earlier run: a second one (a script's, say) has nothing to do.
            progress("this hub keeps its rows in that database already; nothing to move");
            return Ok(Migration {
                tables: Vec::new(),
                files: 0,
                files_copied: 0,
                bytes: 0,
                previous_config: previous_config(data).display().to_string(),
            });
        }
        return Err(Error::Conflict(
            "this hub keeps its rows in PostgreSQL already (hub.toml [store]); migrate-store \
             moves a hub off SQLite only. To redo a move, put hub.toml.before-migrate-store \
             back first; nothing was changed"
                .into(),
        ));
    }
    if bucket.is_some() && config.blobs.is_some() {
        return Err(Error::Conflict(
            "this hub keeps its files in a bucket already (hub.toml [blobs]): leave out \
             --blobs-url; nothing was changed"
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
    let from = config.blobs_of(data)?;
    let mut names: Vec<String> = source
        .write_blocking(|tx| tx.referenced_blobs())?
        .into_iter()
        .filter(|n| !n.is_empty())
        .collect();
    names.sort();
    // The bucket takes a file before the database is touched (connecting makes the
    // hub's tables in it).
    if let Some(bucket) = &bucket {
        Blobs::bucket(bucket)
            .map_err(Error::Other)?
            .probe(".migrate-store-probe")
            .map_err(|e| {
                Error::Conflict(format!(
                    "the bucket does not take a file ({e}); check the bucket, endpoint, \
                     region and access key; nothing was changed"
                ))
            })?;
    }
    let target = Store::connect(&to.url, to.max_connections.max(1))?;
    let marker = source
        .write_blocking(|tx| tx.hub_key(MASTER_KEY_ROW))?
        .map(|(public, _)| public)
        .unwrap_or_default();
    let earlier = target.write_blocking(|tx| tx.copy_marker())?;
    let resuming = earlier.as_deref() == Some(marker.as_str());
    // The bucket is checked before anything is written: it must take a file, and hold
    // nothing but this hub's files (another hub's sweep and this one's would remove each
    // other's). Resuming a stopped run, the files it copied may include some whose rows
    // are gone since (a message deleted meanwhile): named as the hub names files, they
    // are this hub's, and its hourly sweep removes them.
    let into = match &bucket {
        Some(bucket) => {
            let into = Blobs::bucket(bucket).map_err(Error::Other)?;
            let refused = |e: std::io::Error| {
                Error::Conflict(format!(
                    "the bucket does not take a file ({e}); check the bucket, endpoint, \
                     region and access key; nothing was changed"
                ))
            };
            into.probe(".migrate-store-probe").map_err(refused)?;
            let ours: std::collections::HashSet<&str> = names.iter().map(String::as_str).collect();
            if let Some(other) = into.list().map_err(refused)?.iter().find(|o| {
                let copied_before = resuming && Blobs::is_hub_name(&o.name);
                !ours.contains(o.name.as_str()) && !copied_before
            }) {
                return Err(Error::Conflict(format!(
                    "the bucket (or prefix) holds files that are not this hub's ({}): give an \
                     empty bucket or a new prefix; nothing was changed",
                    other.name
                )));
            }
            Some(into)
        }
        None => None,
    };
    // Every file the rows refer to is there before any row is copied.
    for name in &names {
        if !from.exists(name)? {
            return Err(Error::Conflict(format!(
                "the file {name} a row refers to is missing: run `admin check --repair` \
                 first; nothing was changed"
            )));
        }
    }

    // The database is empty (but for what its schema holds), or holds an earlier run's
    // copy of this hub, marked as such: that copy is replaced whole (the hub may have
    // changed since), the files already in the bucket are kept.
    match earlier {
        Some(m) if m == marker => {
            progress("replacing the rows an earlier run copied");
            target.write_blocking(|tx| tx.clear_for_copy())?;
        }
        Some(_) => return Err(another_hub()),
        None if !target.write_blocking(|tx| tx.is_empty_for_copy())? => return Err(another_hub()),
        None => {}
    }
    target.write_blocking(|tx| tx.set_copy_marker(&marker))?;

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
        let here = source.write_blocking(|tx| tx.count_rows(table))?;
        // The marker is the database's own row of hub_state, not a copied one.
        let there =
            target.write_blocking(|tx| tx.count_rows(table))? - u64::from(*table == "hub_state");
        if here != there {
            return Err(Error::Other(format!(
                "the copy of {table} does not add up ({here} rows here, {there} in the \
                 database); nothing was changed in hub.toml. Run migrate-store again"
            )));
        }
        progress(&format!("{table}: {here} rows"));
        tables.push(TableCopy {
            table: table.to_string(),
            rows: here,
            copied,
        });
    }

    let (mut files, mut files_copied, mut bytes) = (0, 0, 0);
    if let Some(into) = &into {
        for name in &names {
            let length = from.make_durable(name)?;
            let there = match into.exists(name)? {
                true => Some(into.make_durable(name)?),
                false => None,
            };
            if there != Some(length) {
                if there.is_some() {
                    into.remove(name)?;
                }
                let copied = from.open(name).and_then(|mut reader| {
                    let mut writer = into.create(name)?;
                    std::io::copy(&mut reader, &mut writer)?;
                    writer.finish()
                });
                if let Err(e) = copied {
                    return Err(Error::Other(format!(
                        "copying {name} into the bucket failed ({e}); the files copied so far \
                         stay: run migrate-store again once mended; hub.toml was not changed"
                    )));
                }
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
    target.write_blocking(|tx| tx.set_copy_marker(""))?;

    // Verified: hub.toml now names the new stores. The sections are added to the file as
    // it is (its comments and settings kept); the previous one is kept beside it.
    let previous = previous_config(data);
    if !previous.exists() {
        std::fs::copy(data.config(), &previous)?;
        crate::config::set_private(&previous)?;
    }
    // A password given through the environment stays there (serve reads the same
    // variable); one given on the command line goes where the URL goes.
    let from_env = std::env::var(crate::config::STORE_URL_ENV).is_ok_and(|u| u == to.url);
    let to = if from_env {
        StoreConfig {
            url: without_password(&to.url),
            ..to
        }
    } else {
        to
    };
    let mut added = HubConfig {
        store: Some(to),
        blobs: bucket,
        ..config.clone()
    };
    let mut text = std::fs::read_to_string(data.config())?;
    for (section, value) in [
        ("store", added.store.take().map(toml::Value::try_from)),
        ("blobs", added.blobs.take().map(toml::Value::try_from)),
    ] {
        let Some(value) = value else { continue };
        let value =
            value.map_err(|e| Error::Other(format!("hub.toml could not be written: {e}")))?;
        let mut table = toml::Table::new();
        table.insert(section.to_owned(), value);
        let rendered = toml::to_string_pretty(&table)
            .map_err(|e| Error::Other(format!("hub.toml could not be written: {e}")))?;
        text.push_str(&format!(
            "\n# Added by `sealpost-hub admin migrate-store`.\n{rendered}"
        ));
    }
    // The result must still read as a configuration before it replaces the file.
    let _: HubConfig = toml::from_str(&text)
        .map_err(|e| Error::Other(format!("hub.toml could not be updated: {}", e.message())))?;
    let fresh = data.root().join("hub.toml.new");
    crate::config::private_file()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&fresh)
        .and_then(|mut f| {
            use std::io::Write;
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })?;
    std::fs::rename(&fresh, data.config())?;
    std::fs::File::open(data.root())?.sync_all()?;
    Ok(Migration {
        tables,
        files,
        files_copied,
        bytes,
        previous_config: previous.display().to_string(),
    })
}

fn previous_config(data: &DataDir) -> std::path::PathBuf {
    data.root().join("hub.toml.before-migrate-store")
}

fn another_hub() -> Error {
    Error::Conflict(
        "that database holds rows of another hub (or of a hub process started on it): give \
         an empty database; nothing was changed"
            .into(),
    )
}
