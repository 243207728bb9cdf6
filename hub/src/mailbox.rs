//! A user's mailbox: listing, opening, read flags, deleting, and sync (`/changes`).

use chrono::{DateTime, Utc};
use sealpost_proto::{
    AttachmentInfo, ChangedItem, Changes, Delivery, Destroyed, Folder, Message, MessageList,
    MessagePatch, MessageSummary,
};

use sealpost_proto::text::{clean_file_name, clean_line};

use crate::accounts::Authenticated;
use crate::clock::{from_millis, rfc3339, to_millis};
use std::sync::Arc;

use crate::crypto::sealed::MessageContent;
use crate::crypto::MailboxKeys;
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::store::{Change, EntryKind, MessageRow};

/// Most items in one page of a listing or of `/changes`.
pub const MAX_PAGE: u32 = 500;

impl Hub {
    /// A mailbox's keys, unwrapped (or from the cache of recently unwrapped keys).
    ///
    /// # Errors
    /// `Unauthenticated` when the account is gone; `Crypto` when its keys do not unwrap
    /// with this hub's master key.
    pub(crate) async fn mailbox_key(&self, account_id: &str) -> Result<Arc<MailboxKeys>> {
        let now = self.now();
        if let Some(keys) = self.keys.get(account_id, now) {
            return Ok(keys);
        }
        let id = account_id.to_owned();
        let account = self
            .store
            .read(move |tx| tx.account_by_id(&id))
            .await?
            .ok_or(Error::Unauthenticated)?;
        if account.data_key.is_empty() {
            return Err(Error::Other(format!(
                "mailbox {} has no data key yet; start `sealpost-hub serve` or run `sealpost-hub admin upgrade` to finish the storage upgrade",
                account.id
            )));
        }
        let keys = Arc::new(MailboxKeys {
            data: self.master.unwrap_data_key(&account.data_key)?,
            files: self.master.unwrap_mailbox_key(&account.mailbox_key)?,
            legacy: self.legacy_rows.load(std::sync::atomic::Ordering::Relaxed),
        });
        self.keys.insert(account_id, keys.clone(), now);
        Ok(keys)
    }

    /// Decrypts a stored copy into the API's view.
    pub(crate) fn message_view(&self, key: &MailboxKeys, row: &MessageRow) -> Result<Message> {
        view_message(key, row)
    }
}

/// Decrypts a stored copy into the API's view.
pub(crate) fn view_message(key: &MailboxKeys, row: &MessageRow) -> Result<Message> {
    {
        let content = MessageContent::open(key, &row.account_id, &row.id, &row.content)?;
        let attachments = row
            .attachments
            .iter()
            .map(|a| {
                let meta = content.attachments.iter().find(|s| s.id == a.id);
                AttachmentInfo {
                    id: a.id.clone(),
                    // Cleaned again as shown: copies stored before names were cleaned of
                    // characters that hide or reorder text are shown clean too.
                    name: meta
                        .map(|m| clean_file_name(&m.name))
                        .unwrap_or_else(|| "attachment".into()),
                    size: a.size,
                    content_type: meta
                        .map(|m| m.content_type.clone())
                        .unwrap_or_else(|| "application/octet-stream".into()),
                }
            })
            .collect();
        let delivery = (!row.delivery.is_empty()).then(|| Delivery {
            status: row.delivery.clone(),
            detail: (!row.delivery_detail.is_empty()).then(|| row.delivery_detail.clone()),
        });
        Ok(Message {
            summary: MessageSummary {
                recalled_at: None,
                id: row.id.clone(),
                folder: if row.deleted {
                    Folder::Deleted
                } else {
                    row.folder
                },
                from: row.sender.clone(),
                to: content.to,
                cc: content.cc,
                subject: clean_line(&content.subject),
                sent_at: rfc3339(row.sent_at),
                expires_at: rfc3339(row.expires_at),
                read: row.read,
                attachments,
                delivery,
                client_ref: (!row.client_ref.is_empty() && row.folder != Folder::Inbox)
                    .then(|| row.client_ref.clone()),
                deleted_from: row.deleted.then_some(row.folder),
                replied: row.replied,
                forwarded: row.forwarded,
            },
            body_text: content.body_text,
            body_html: content.body_html,
            in_reply_to: (!row.in_reply_to.is_empty()).then(|| row.in_reply_to.clone()),
            mode: (row.folder == Folder::Drafts).then_some(row.mode),
        })
    }
}

impl Hub {
    /// A page of a folder, newest first.
    pub async fn list_messages(
        &self,
        who: &Authenticated,
        folder: Folder,
        limit: Option<u32>,
        before: Option<&str>,
    ) -> Result<MessageList> {
        let limit = limit.unwrap_or(50).clamp(1, MAX_PAGE);
        let cursor = before.map(parse_cursor).transpose()?;
        let key = self.mailbox_key(&who.account_id).await?;
        let account = who.account_id.clone();
        let rows = self
            .store
            .read(move |tx| tx.messages_page(&account, folder, limit + 1, cursor.clone()))
            .await?;
        let has_more = rows.len() > limit as usize;
        let rows = &rows[..rows.len().min(limit as usize)];
        let items = rows
            .iter()
            .map(|r| self.message_view(&key, r).map(|m| m.summary))
            .collect::<Result<Vec<_>>>()?;
        let next_before = has_more
            .then(|| {
                rows.last()
                    .map(|r| format!("{}.{}", to_millis(r.sent_at), r.id))
            })
            .flatten();
        Ok(MessageList { items, next_before })
    }

    /// One whole message of the user's.
    ///
    /// Audited as `message_opened` (the app reads from its vault and reports reading by the
    /// read flag instead; this is for other API clients).
    pub async fn open_message(&self, who: &Authenticated, id: &str) -> Result<Message> {
        let key = self.mailbox_key(&who.account_id).await?;
        let row = self.message_row(who, id).await?;
        let message = self.message_view(&key, &row)?;
        let (now, signer, ip, id) = (
            self.now(),
            who.signer.clone(),
            who.ip.clone(),
            id.to_owned(),
        );
        self.store
            .write(move |tx| tx.audit_by(now, "message_opened", &signer, &ip, &id))
            .await?;
        Ok(message)
    }

    pub(crate) async fn message_row(&self, who: &Authenticated, id: &str) -> Result<MessageRow> {
        let (account, id) = (who.account_id.clone(), id.to_owned());
        self.store
            .read(move |tx| tx.message(&account, &id))
            .await?
            .ok_or(Error::NotFound("message"))
    }

    /// Marks a message read or unread, moves it to Deleted or back, or both (one change).
    ///
    /// A patch that names nothing changes nothing and answers the message as it is.
    ///
    /// # Errors
    /// `NotFound`; `Conflict` for moving a draft.
    pub async fn patch_message(
        &self,
        who: &Authenticated,
        id: &str,
        patch: MessagePatch,
    ) -> Result<MessageSummary> {
        let key = self.mailbox_key(&who.account_id).await?;
        let (account, id, now) = (who.account_id.clone(), id.to_owned(), self.now());
        let (signer, ip) = (who.signer.clone(), who.ip.clone());
        let row = self
            .store
            .write(move |tx| {
                let mut row = tx.message(&account, &id)?;
                let Some(was) = row.as_ref().map(|r| r.read) else {
                    return Ok(None);
                };
                if let Some(read) = patch.read {
                    row = tx.set_read(&account, &id, read)?;
                    if read {
                        tx.note_send_event(crate::store::SendEvent::Opened, &account, &id, now)?;
                    }
                    if read && !was {
                        tx.audit_by(now, "message_read", &signer, &ip, &id)?;
                    }
                    if row.is_none() {
                        return Ok(None);
                    }
                }
                if let Some(deleted) = patch.deleted {
                    row = tx.set_deleted(&account, &id, deleted, now)?;
                    let event = if deleted {
                        "message_deleted"
                    } else {
                        "message_restored"
                    };
                    tx.audit_by(now, event, &signer, &ip, &id)?;
                }
                Ok(row)
            })
            .await?
            .ok_or(Error::NotFound("message"))?;
        Ok(self.message_view(&key, &row)?.summary)
    }

    /// Deletes a message from the user's mailbox, files included.
    pub async fn delete_message(&self, who: &Authenticated, id: &str) -> Result<()> {
        let (account, id) = (who.account_id.clone(), id.to_owned());
        let (now, signer, ip) = (self.now(), who.signer.clone(), who.ip.clone());
        let blobs = self
            .store
            .write(move |tx| {
                let blobs = tx.delete_message(&account, &id, now)?;
                if blobs.is_some() {
                    tx.audit_by(now, "message_removed", &signer, &ip, &id)?;
                }
                Ok(blobs)
            })
            .await?
            .ok_or(Error::NotFound("message"))?;
        self.remove_blobs(&blobs);
        Ok(())
    }

    /// What changed since `since` (everything when absent), one page.
    ///
    /// The page is read in one transaction (the change list, then its messages and their
    /// attachments in two queries) and opened off the runtime on every core, in order.
    pub async fn changes(
        &self,
        who: &Authenticated,
        since: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Changes> {
        let limit = limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
        let since = match since {
            None => 0,
            Some(s) => state_number(s).ok_or_else(|| {
                Error::BadRequest(format!("{s:?} is not a sync state from this hub"))
            })?,
        };
        let account = who.account_id.clone();
        let read = self
            .store
            .read(move |tx| {
                let (state, floor) = tx.mailbox_state(&account)?;
                if since > state || (since > 0 && since < floor) {
                    return Ok(None);
                }
                let mut changes = tx.changes_since(&account, since, limit + 1)?;
                let has_more = changes.len() > limit as usize;
                changes.truncate(limit as usize);
                let upto = changes.last().map_or(since, Change::modseq);
                let mut messages = if changes.iter().any(|c| matches!(c, Change::Message { .. })) {
                    tx.messages_changed(&account, since, upto)?
                } else {
                    Default::default()
                };
                let mut page = Vec::with_capacity(changes.len());
                for change in changes {
                    let item = match &change {
                        Change::Message { id, .. } => {
                            messages.remove(id).map(|m| Loaded::Message(Box::new(m)))
                        }
                        Change::Entry { kind, id, .. } => tx
                            .entry(&account, *kind, id)?
                            .map(|e| Loaded::Entry(*kind, e)),
                        Change::Destroyed { .. } => Some(Loaded::Gone),
                    };
                    if let Some(item) = item {
                        page.push((change, item));
                    }
                }
                let state = if has_more { upto } else { state };
                Ok(Some((state, has_more, page)))
            })
            .await?;
        let Some((state, has_more, page)) = read else {
            return Err(Error::StateTooOld);
        };
        // "Nothing changed" is the common answer: unwrap the mailbox key only when needed.
        let key = if page.iter().any(|(_, item)| !matches!(item, Loaded::Gone)) {
            Some(self.mailbox_key(&who.account_id).await?)
        } else {
            None
        };
        let mailbox = who.account_id.clone();
        tokio::task::spawn_blocking(move || {
            let views = open_page(key.as_deref(), &mailbox, &page)?;
            let mut out = Changes {
                state: state.to_string(),
                has_more,
                created: Vec::new(),
                updated: Vec::new(),
                destroyed: Vec::new(),
            };
            for ((change, _), view) in page.into_iter().zip(views) {
                match view {
                    None => {
                        if let Change::Destroyed {
                            kind,
                            id,
                            recalled_at,
                            ..
                        } = change
                        {
                            out.destroyed.push(Destroyed {
                                kind,
                                id,
                                recalled_at: recalled_at.map(rfc3339),
                            });
                        }
                    }
                    Some((created_modseq, changed)) if created_modseq > since => {
                        out.created.push(changed)
                    }
                    Some((_, changed)) => out.updated.push(changed),
                }
            }
            Ok(out)
        })
        .await
        .map_err(|e| Error::Other(format!("opening a page of changes failed: {e}")))?
    }

    /// The current sync state of a mailbox.
    pub async fn mailbox_state(&self, account_id: &str) -> Result<i64> {
        let id = account_id.to_owned();
        Ok(self.store.read(move |tx| tx.mailbox_state(&id)).await?.0)
    }

    /// Listens for a mailbox's new states (`/events`); the current one is in the answer.
    pub async fn watch(&self, account_id: &str) -> Result<crate::events::Listener> {
        // Subscribed first: a change committed while the state is read is heard.
        let (states, closing) = self.notifier.subscribe(account_id);
        let current = self.mailbox_state(account_id).await?;
        Ok(crate::events::Listener {
            current,
            states,
            closing,
        })
    }

    /// Ends every open `/events` stream, and any opened later, until
    /// [`Hub::open_event_streams`]: called when the server stops.
    pub fn close_event_streams(&self) {
        self.notifier.close();
    }

    /// Lets `/events` streams be opened again (a test server that comes back).
    pub fn open_event_streams(&self) {
        self.notifier.reopen();
    }
}

/// Decrypts the items of a page, in order, on up to as many threads as there are cores.
fn open_page(
    key: Option<&MailboxKeys>,
    mailbox: &str,
    page: &[(Change, Loaded)],
) -> Result<Vec<Option<(i64, ChangedItem)>>> {
    let one = |item: &Loaded| -> Result<Option<(i64, ChangedItem)>> {
        let key = || key.ok_or_else(|| Error::Other("BUG: mailbox key not loaded".into()));
        Ok(match item {
            Loaded::Message(row) => Some((
                row.created_modseq,
                ChangedItem::Message(Box::new(view_message(key()?, row)?)),
            )),
            Loaded::Entry(EntryKind::Contact, e) => Some((
                e.created_modseq,
                ChangedItem::Contact(crate::address_book::view_contact(key()?, mailbox, e)?),
            )),
            Loaded::Entry(EntryKind::Group, e) => Some((
                e.created_modseq,
                ChangedItem::Group(crate::address_book::view_group(key()?, mailbox, e)?),
            )),
            Loaded::Gone => None,
        })
    };
    // One page at a time is spread over the cores; pages opened meanwhile (other
    // clients syncing at once) take one thread each, so threads stay bounded.
    static SPREADING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    struct Spreading;
    impl Drop for Spreading {
        fn drop(&mut self) {
            SPREADING.store(false, std::sync::atomic::Ordering::Release);
        }
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if page.len() < 64 || threads < 2 || SPREADING.swap(true, std::sync::atomic::Ordering::Acquire)
    {
        return page.iter().map(|(_, item)| one(item)).collect();
    }
    let _spreading = Spreading;
    let chunk = page.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = page
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(_, item)| one(item))
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(page.len());
        for h in handles {
            out.extend(
                h.join()
                    .map_err(|_| Error::Other("a decrypting thread failed".into()))??,
            );
        }
        Ok(out)
    })
}

enum Loaded {
    Message(Box<MessageRow>),
    Entry(EntryKind, crate::store::EntryRow),
    Gone,
}

/// A sync state as the hub gives them out: 1 to 18 digits (the API document's pattern
/// `^[0-9]{1,18}$`, which every mailbox state fits).
fn state_number(s: &str) -> Option<i64> {
    let digits = !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| s.parse().ok()).flatten()
}

/// A `before` cursor as the hub gives them out, `<milliseconds>.<message id>` (the API
/// document's pattern `^[0-9]{1,18}\.[A-Za-z0-9_-]{1,64}$`).
fn parse_cursor(s: &str) -> Result<(DateTime<Utc>, String)> {
    let bad = || Error::BadRequest(format!("{s:?} is not a `before` value this hub gave out"));
    let (ms, id) = s.split_once('.').ok_or_else(bad)?;
    let id_ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let ms = state_number(ms).filter(|_| id_ok).ok_or_else(bad)?;
    Ok((from_millis(ms), id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::{parse_cursor, state_number};

    #[test]
    fn states_and_cursors_are_read_exactly_as_the_document_says() {
        assert_eq!(state_number("0"), Some(0));
        assert_eq!(
            state_number("123456789012345678"),
            Some(123_456_789_012_345_678)
        );
        for refused in ["", "+5", "-1", " 5", "5 ", "1234567890123456789", "x"] {
            assert_eq!(state_number(refused), None, "{refused:?}");
        }
        assert!(parse_cursor("1764547200000.msg_AbC-d_9").is_ok());
        for refused in [
            "1764547200000",
            ".msg_x",
            "+1.msg_x",
            "1.",
            "1.msg x",
            "1.msg.x",
        ] {
            assert!(parse_cursor(refused).is_err(), "{refused:?}");
        }
    }
}
