//! Storage v2: making every mailbox's data key, and rewriting the rows of storage v1.
//!
//! [`prepare_keys`] runs whenever a hub opens (it is quick: one wrap per mailbox that has
//! no data key). [`upgrade_rows`] rewrites v1 rows — each message's age file becomes
//! fields sealed with the data key, its recipients leave the clear — in batches of
//! [`BATCH`] rows, each batch one transaction: stopped half-way, it goes on from where it
//! was at the next run, and a row is never half-rewritten. `serve` runs it before it
//! listens; `sealpost-hub admin upgrade` runs it on its own. Rows not yet rewritten are
//! read as they are meanwhile.

use rand::RngCore;
use zeroize::Zeroizing;

use crate::crypto::sealed::{is_v1, seal_entry, MessageContent};
use crate::crypto::{DataKey, Field, MailboxKeys, MasterKey};
use crate::error::{Error, Result};
use crate::store::{EntryKind, Store, Tx};

/// Rows rewritten per transaction, and per progress line.
pub const BATCH: u32 = 1_000;

/// The hub key the staff-send fingerprints are made with (`sending.rs`).
pub const ORG_SEND_FINGERPRINT: &str = "org_send_fingerprint";

/// How far the upgrade is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Messages rewritten so far in this run.
    pub done: u64,
    /// Messages there were to rewrite when this run began.
    pub total: u64,
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "storage upgrade: {} of {} messages rewritten",
            self.done, self.total
        )
    }
}

/// Checks that `master` is the key the database is wrapped with, records it in a new
/// database, and gives each mailbox without one a data key. Returns the staff-send
/// fingerprint key.
///
/// # Errors
/// `Other` when the database names another master key than `master`.
pub fn prepare_keys(store: &Store, master: &MasterKey) -> Result<Zeroizing<[u8; 32]>> {
    let public = master.public_text();
    let fingerprint = store.write_blocking(|tx| {
        match tx.hub_key(crate::store::MASTER_KEY_ROW)? {
            Some((recorded, _)) if recorded != public => {
                return Err(Error::Other(format!(
                    "master.key is not the key this hub's database is wrapped with (the database \
                     names {recorded}, master.key holds {public}); put the matching master.key \
                     back, from the hub's backup"
                )))
            }
            Some(_) => {}
            None => {
                // The first open by this release. A hub of format 1 has mailboxes, whose
                // keys prove master.key before it is recorded as the database's; a new
                // hub has none, and no row of format 1 either.
                match tx.some_wrapped_mailbox_key()? {
                    Some(wrapped) => {
                        master.unwrap_mailbox_key(&wrapped).map_err(|_| {
                            Error::Other(
                                "master.key does not open this hub's mailbox keys: it is not \
                                 the key this hub was made with; put the matching master.key \
                                 back, from the hub's backup"
                                    .into(),
                            )
                        })?;
                    }
                    None => tx.set_storage_format(2)?,
                }
                tx.set_hub_key(crate::store::MASTER_KEY_ROW, &public, b"")?
            }
        }
        match tx.hub_key(ORG_SEND_FINGERPRINT)? {
            Some((_, wrapped)) => {
                let plain = master.open(&wrapped)?;
                let key: [u8; 32] =
                    plain.expose().as_slice().try_into().map_err(|_| {
                        Error::Other("the stored fingerprint key is damaged".into())
                    })?;
                Ok(Zeroizing::new(key))
            }
            None => {
                // A hub of storage v1 made its fingerprints with a key derived from the
                // master key; keeping that key keeps them valid. A new hub draws one.
                let has_history = tx.account_count()? > 0;
                let key = if has_history {
                    master.legacy_fingerprint_key("org send")
                } else {
                    let mut key = Zeroizing::new([0u8; 32]);
                    rand::rngs::OsRng.fill_bytes(key.as_mut());
                    key
                };
                tx.set_hub_key(ORG_SEND_FINGERPRINT, "", &master.seal(key.as_ref())?)?;
                Ok(key)
            }
        }
    })?;
    let missing = store.write_blocking(|tx| tx.accounts_without_data_key())?;
    for id in missing {
        let (_, bytes) = DataKey::generate();
        let wrapped = master.wrap_data_key(&bytes)?;
        store.write_blocking(|tx| tx.set_first_data_key(&id, &wrapped))?;
    }
    Ok(fingerprint)
}

/// Rewrites every row still in storage v1, calling `progress` after each batch. Returns
/// how many messages were rewritten. When none is left, records storage format 2: from
/// then on a value of format 1 is refused, and this returns at once.
///
/// A message that does not open with its mailbox's key (damaged before the upgrade) is
/// left as it was and named in a warning; it reads as before (an error) and keeps the
/// hub at format 1 until it is deleted, so the upgrade looks at it again at each start.
///
/// # Errors
/// A mailbox whose keys do not unwrap, or the store failing; the batches before are kept.
pub fn upgrade_rows(
    store: &Store,
    master: &MasterKey,
    mut progress: impl FnMut(Progress),
) -> Result<u64> {
    if store.write_blocking(|tx| tx.storage_format())? >= 2 {
        return Ok(0);
    }
    let total = store.write_blocking(|tx| tx.count_v1_messages())?;
    store.set_secure_delete(true)?;
    let result = rewrite_all(store, master, total, &mut progress);
    store.set_secure_delete(false)?;
    let done = result?;
    // The log held the replaced pages too: empty it (best effort: another process may be
    // reading, and the next checkpoint does it anyway).
    let _ = store.checkpoint();
    Ok(done)
}

fn rewrite_all(
    store: &Store,
    master: &MasterKey,
    total: u64,
    progress: &mut impl FnMut(Progress),
) -> Result<u64> {
    let mut done = 0u64;
    let mut after = 0i64;
    // The last mailbox's keys, kept from one batch to the next (a Mutex: the batch's
    // closure may run again, and on another thread).
    let keys: std::sync::Mutex<Option<(String, MailboxKeys)>> = std::sync::Mutex::new(None);
    loop {
        // One write transaction per batch: rows are read, opened and rewritten under it,
        // so a send or a draft saved meanwhile is either before it or after it.
        let batch = store.write_blocking(|tx| {
            let found = tx.v1_messages_after(after, BATCH)?;
            let mut rewritten = 0u64;
            let mut last = after;
            let mut keys = keys.lock().unwrap_or_else(|p| p.into_inner());
            for (rowid, account_id, id) in &found {
                last = *rowid;
                if keys.as_ref().is_none_or(|(a, _)| a != account_id) {
                    *keys = Some((account_id.clone(), keys_of(tx, master, account_id)?));
                }
                let (_, k) = keys.as_ref().expect("BUG: keys just loaded");
                let Some(row) = tx.message(account_id, id)? else {
                    continue;
                };
                let content = match MessageContent::open(k, account_id, id, &row.content) {
                    Ok(content) => content,
                    Err(e) => {
                        tracing::warn!(message = %id, error = %e,
                            "a message of format 1 does not open; left as it was");
                        continue;
                    }
                };
                let sealed = content.seal(&k.data, account_id, id);
                if tx.rewrite_message_v2(id, &sealed)? {
                    rewritten += 1;
                }
            }
            Ok((found.len(), last, rewritten))
        })?;
        let (found, last, rewritten) = batch;
        done += rewritten;
        after = last;
        if found == 0 {
            break;
        }
        progress(Progress {
            done: done.min(total),
            total,
        });
    }
    for kind in [EntryKind::Contact, EntryKind::Group] {
        let field = match kind {
            EntryKind::Contact => Field::Contact,
            EntryKind::Group => Field::Group,
        };
        store.write_blocking(|tx| {
            for (account_id, id, sealed) in tx.v1_entries(kind)? {
                let k = keys_of(tx, master, &account_id)?;
                let plain = k.files.open(&sealed)?;
                let value: serde_json::Value = serde_json::from_slice(plain.expose())
                    .map_err(|e| Error::Other(format!("the stored {id} is unreadable: {e}")))?;
                let resealed = seal_entry(&k.data, &account_id, &id, field, &value);
                debug_assert!(!is_v1(&resealed));
                tx.rewrite_entry(kind, &id, &sealed, &resealed)?;
            }
            Ok(())
        })?;
    }
    store.write_blocking(|tx| {
        let left = tx.count_v1_messages()?
            + tx.v1_entries(EntryKind::Contact)?.len() as u64
            + tx.v1_entries(EntryKind::Group)?.len() as u64;
        if left == 0 {
            tx.set_storage_format(2)?;
        }
        Ok(())
    })?;
    Ok(done)
}

fn keys_of(tx: &Tx, master: &MasterKey, account_id: &str) -> Result<MailboxKeys> {
    let account = tx
        .account_by_id(account_id)?
        .ok_or_else(|| Error::Other(format!("mailbox {account_id} vanished")))?;
    Ok(MailboxKeys {
        data: master.unwrap_data_key(&account.data_key)?,
        files: master.unwrap_mailbox_key(&account.mailbox_key)?,
        legacy: true,
    })
}
