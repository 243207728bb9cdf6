//! What external users send: new messages, replies and forwards to the organisation's
//! staff (delivered as email), and drafts.

use chrono::Duration;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use sealpost_proto::text::counted;
use sealpost_proto::{Folder, MessageSummary, Outgoing, SendMode};

use crate::accounts::Authenticated;
use crate::crypto::sealed::{MessageContent, SealedAttachment};
use crate::crypto::{new_id, MailboxKeys};
use crate::error::{Error, Result};
use crate::hub::{Caller, Hub};
use crate::policy::{resolve_recipients, Original};
use crate::store::{Account, MessageRow, NewAttachment, NewMessage};
use crate::uploads::UploadMeta;

/// The client's reference of a message ("" when it gave none); see
/// [`crate::policy::client_reference`].
fn client_ref_of(out: &Outgoing) -> Result<String> {
    Ok(crate::policy::client_reference(out.client_ref.as_deref())?.unwrap_or_default())
}

/// The subject as stored and emailed: one line, nothing in it that hides or reorders text
/// (see `sealpost_proto::text`), at most RFC 5322's 998 characters.
fn subject_of(out: &Outgoing) -> String {
    sealpost_proto::text::clean_line(&out.subject)
        .chars()
        .take(998)
        .collect()
}

/// An attachment as it will be stored on the new message.
struct Planned {
    id: String,
    name: String,
    content_type: String,
    size: u64,
    blob: String,
    /// A file made for this message (removed again if it is not stored).
    fresh_file: bool,
    /// The upload it came from, to forget once stored.
    upload_id: Option<String>,
}

/// Everything checked and ready to store.
struct Prepared {
    account: Account,
    key: std::sync::Arc<MailboxKeys>,
    mode: SendMode,
    to: Vec<String>,
    cc: Vec<String>,
    in_reply_to: String,
    attachments: Vec<Planned>,
    draft: Option<MessageRow>,
    /// Draft attachment files that are not kept.
    dropped: Vec<String>,
}

impl Hub {
    /// Sends a message from an external user. Policy is enforced here whatever the client
    /// does; a refusal sends nothing and changes nothing.
    pub async fn send_message(
        &self,
        who: &Authenticated,
        mut out: Outgoing,
        caller: &Caller,
    ) -> Result<MessageSummary> {
        let client_ref = client_ref_of(&out)?;
        if !client_ref.is_empty() {
            let (account, reference) = (who.account_id.clone(), client_ref.clone());
            if let Some(id) = self
                .store
                .read(move |tx| tx.message_by_client_ref(&account, Folder::Sent, &reference))
                .await?
            {
                // Sent before; the client did not hear the answer. Nothing is sent again.
                let key = self.mailbox_key(&who.account_id).await?;
                let row = self.message_row(who, &id).await?;
                return Ok(self.message_view(&key, &row)?.summary);
            }
        }
        self.adopt_draft(who, &mut out, &client_ref).await?;
        let p = self.prepare(who, &out, true).await?;
        let now = self.now();
        let sent_id = new_id(self.entropy.as_ref(), "msg_");
        let sealed = self
            .content(&out, &p)
            .seal(&p.key.data, &p.account.id, &sent_id);

        // The email to staff is built now and sealed to the master key in a file, so that a
        // later deletion of the Sent copy cannot lose it and a crash cannot half-send it.
        let by = self.delegate_person(who).await?;
        let mail_blob = self.seal_staff_email(&p, &out, &sent_id, by.as_ref()).await;
        let mail_blob = match mail_blob {
            Ok(b) => b,
            Err(e) => {
                self.forget_fresh(&p.attachments);
                return Err(e);
            }
        };
        let recipients: Vec<String> = p.to.iter().chain(&p.cc).cloned().collect();
        let message = NewMessage {
            id: sent_id.clone(),
            account_id: p.account.id.clone(),
            origin_id: sent_id.clone(),
            folder: Folder::Sent,
            mode: p.mode,
            sender: p.account.email.clone(),
            sent_at: now,
            expires_at: now + Duration::days(self.config.limits.retention_days),
            read: true,
            in_reply_to: p.in_reply_to.clone(),
            delivery: "queued",
            client_ref,
            content: sealed,
            attachments: p
                .attachments
                .iter()
                .map(|a| NewAttachment {
                    id: a.id.clone(),
                    size: a.size,
                    blob: a.blob.clone(),
                })
                .collect(),
        };
        let uploads: Vec<String> = p
            .attachments
            .iter()
            .filter_map(|a| a.upload_id.clone())
            .collect();
        let draft = p.draft.as_ref().map(|d| d.id.clone());
        let (account, signer, ip) = (p.account.id.clone(), who.signer.clone(), caller.ip.clone());
        let count = (recipients.len(), p.attachments.len());
        let blob = mail_blob.clone();
        let stored = self
            .store
            .write(move |tx| {
                // Two processes of one device may flush the same queued send at once: the
                // second to get here finds the first's Sent copy and sends nothing.
                if !message.client_ref.is_empty() {
                    if let Some(earlier) =
                        tx.message_by_client_ref(&account, Folder::Sent, &message.client_ref)?
                    {
                        return Ok(Some(earlier));
                    }
                }
                if let Some(draft) = &draft {
                    // The draft's kept files now belong to the Sent copy.
                    tx.delete_message(&account, draft, now)?;
                }
                tx.insert_message(&message)?;
                if !message.in_reply_to.is_empty() {
                    tx.mark_answered(&account, &message.in_reply_to, message.mode)?;
                    if matches!(message.mode, SendMode::Reply | SendMode::ReplyAll) {
                        tx.note_send_event(
                            crate::store::SendEvent::Replied,
                            &account,
                            &message.in_reply_to,
                            now,
                        )?;
                    }
                }
                for id in &uploads {
                    tx.delete_upload(id)?;
                }
                tx.enqueue_delivery(&recipients, &message.id, &blob, now)?;
                tx.audit_by(
                    now,
                    "message_sent",
                    &signer,
                    &ip,
                    &format!(
                        "{}, {}",
                        counted(count.0 as usize, "recipient", "recipients"),
                        counted(count.1 as usize, "attachment", "attachments")
                    ),
                )?;
                Ok(None)
            })
            .await;
        let shown = match stored {
            // A fault of the store may have come after the commit (a connection lost in
            // it): the files stay for the orphan sweep, which removes them only if no
            // row refers to them.
            Err(e @ Error::Store(_)) => return Err(e),
            Err(e) => {
                self.forget_fresh(&p.attachments);
                self.remove_blobs(&[mail_blob]);
                return Err(e);
            }
            Ok(Some(earlier)) => {
                self.forget_fresh(&p.attachments);
                self.remove_blobs(&[mail_blob]);
                earlier
            }
            Ok(None) => {
                self.remove_blobs(&p.dropped);
                self.mail_queued();
                sent_id
            }
        };
        let row = self.message_row(who, &shown).await?;
        Ok(self.message_view(&p.key, &row)?.summary)
    }

    /// Saves a draft (new, or replacing `draft_id`). Nothing is required; recipients are
    /// checked only when it is sent, but attachment limits apply.
    pub async fn save_draft(
        &self,
        who: &Authenticated,
        draft_id: Option<&str>,
        mut out: Outgoing,
    ) -> Result<MessageSummary> {
        out.draft_id = draft_id.map(str::to_owned);
        let client_ref = client_ref_of(&out)?;
        self.adopt_draft(who, &mut out, &client_ref).await?;
        let p = self.prepare(who, &out, false).await?;
        let now = self.now();
        let expires_at = now + Duration::days(self.config.limits.retention_days);
        let uploads: Vec<String> = p
            .attachments
            .iter()
            .filter_map(|a| a.upload_id.clone())
            .collect();
        let added: Vec<NewAttachment> = p
            .attachments
            .iter()
            .filter(|a| a.fresh_file || a.upload_id.is_some())
            .map(|a| NewAttachment {
                id: a.id.clone(),
                size: a.size,
                blob: a.blob.clone(),
            })
            .collect();
        let kept: Vec<String> = p
            .attachments
            .iter()
            .filter(|a| !a.fresh_file && a.upload_id.is_none())
            .map(|a| a.id.clone())
            .collect();
        let id = p
            .draft
            .as_ref()
            .map(|d| d.id.clone())
            .unwrap_or_else(|| new_id(self.entropy.as_ref(), "msg_"));
        let account = p.account.id.clone();
        let existing = p.draft.is_some();
        let sealed = self.content(&out, &p).seal(&p.key.data, &account, &id);
        let message = NewMessage {
            id: id.clone(),
            account_id: account.clone(),
            origin_id: id.clone(),
            folder: Folder::Drafts,
            mode: p.mode,
            sender: p.account.email.clone(),
            sent_at: now,
            expires_at,
            read: true,
            in_reply_to: p.in_reply_to.clone(),
            delivery: "",
            client_ref,
            content: sealed,
            attachments: added.clone(),
        };
        let (signer, ip) = (who.signer.clone(), who.ip.clone());
        let stored = self
            .store
            .write(move |tx| {
                let dropped = if existing {
                    tx.update_draft(
                        &account,
                        &message.id,
                        message.mode,
                        &message.in_reply_to,
                        &message.client_ref,
                        &message.content,
                        &kept,
                        &added,
                        now,
                        expires_at,
                    )?
                } else {
                    tx.insert_message(&message)?;
                    Vec::new()
                };
                for upload in &uploads {
                    tx.delete_upload(upload)?;
                }
                tx.audit_by(now, "draft_saved", &signer, &ip, &message.id)?;
                Ok(dropped)
            })
            .await;
        match stored {
            Ok(dropped) => self.remove_blobs(&dropped),
            // A fault of the store may have come after the commit: the saved draft would
            // refer to the files, so they stay for the orphan sweep to judge.
            Err(e @ Error::Store(_)) => return Err(e),
            Err(e) => {
                self.forget_fresh(&p.attachments);
                return Err(e);
            }
        }
        let row = self.message_row(who, &id).await?;
        Ok(self.message_view(&p.key, &row)?.summary)
    }

    /// A compose saved or sent again under the same `client_ref` (after a lock, say, or a
    /// retry whose answer was lost) works on the draft it saved before, instead of adding
    /// another draft or leaving that one behind. The client did not name the draft, so it
    /// did not know it: of its attachments, only those it names are kept.
    async fn adopt_draft(
        &self,
        who: &Authenticated,
        out: &mut Outgoing,
        client_ref: &str,
    ) -> Result<()> {
        if client_ref.is_empty() {
            return Ok(());
        }
        let (account, reference) = (who.account_id.clone(), client_ref.to_owned());
        // Sending returns the Sent copy before it gets here; a draft saved after its
        // message was sent is an old copy of it, not a new draft.
        let sent = self
            .store
            .read(move |tx| tx.message_by_client_ref(&account, Folder::Sent, &reference))
            .await?;
        if sent.is_some() {
            return Err(Error::Conflict(
                "This message was sent already; it cannot be saved as a draft again.".into(),
            ));
        }
        if out.draft_id.is_some() {
            return Ok(());
        }
        let (account, reference) = (who.account_id.clone(), client_ref.to_owned());
        if let Some(id) = self
            .store
            .read(move |tx| tx.message_by_client_ref(&account, Folder::Drafts, &reference))
            .await?
        {
            out.draft_id = Some(id);
            out.keep_attachment_ids.get_or_insert_with(Vec::new);
        }
        Ok(())
    }

    /// Deletes a draft.
    pub async fn delete_draft(&self, who: &Authenticated, id: &str) -> Result<()> {
        let row = self.message_row(who, id).await?;
        if row.folder != Folder::Drafts {
            return Err(Error::NotFound("draft"));
        }
        self.delete_message(who, id).await
    }

    fn content(&self, out: &Outgoing, p: &Prepared) -> MessageContent {
        MessageContent {
            subject: subject_of(out),
            body_text: out.body_text.clone(),
            body_html: None,
            to: p.to.clone(),
            cc: p.cc.clone(),
            attachments: p
                .attachments
                .iter()
                .map(|a| SealedAttachment {
                    id: a.id.clone(),
                    name: a.name.clone(),
                    content_type: a.content_type.clone(),
                })
                .collect(),
        }
    }

    fn forget_fresh(&self, attachments: &[Planned]) {
        let fresh: Vec<String> = attachments
            .iter()
            .filter(|a| a.fresh_file)
            .map(|a| a.blob.clone())
            .collect();
        self.remove_blobs(&fresh);
    }

    async fn prepare(
        &self,
        who: &Authenticated,
        out: &Outgoing,
        sending: bool,
    ) -> Result<Prepared> {
        let id = who.account_id.clone();
        let account = self
            .store
            .read(move |tx| tx.account_by_id(&id))
            .await?
            .ok_or(Error::Unauthenticated)?;
        let key = self.mailbox_key(&account.id).await?;

        let draft = match &out.draft_id {
            Some(id) => {
                let row = self
                    .message_row(who, id)
                    .await
                    .map_err(|_| Error::NotFound("draft"))?;
                if row.folder != Folder::Drafts {
                    return Err(Error::NotFound("draft"));
                }
                Some(row)
            }
            None => None,
        };
        let original = match out.in_reply_to.as_deref().filter(|s| !s.is_empty()) {
            Some(id) => {
                let row = self.message_row(who, id).await?;
                let content = MessageContent::open(&key, &row.account_id, &row.id, &row.content)?;
                Some((row, content))
            }
            None => None,
        };
        if sending && out.mode != SendMode::New && original.is_none() {
            return Err(Error::BadRequest(
                "a reply or forward needs in_reply_to: the id of the message it answers".into(),
            ));
        }
        if let Some((o, _)) = &original {
            let ok = match out.mode {
                SendMode::Reply | SendMode::ReplyAll => o.folder == Folder::Inbox,
                SendMode::Forward | SendMode::New => o.folder != Folder::Drafts,
            };
            if !ok {
                return Err(Error::BadRequest(
                    "only received messages can be replied to, and drafts cannot be forwarded"
                        .into(),
                ));
            }
        }

        let mut to = out.to.clone();
        let mut cc = out.cc.clone();
        for g in &out.to_groups {
            to.extend(self.group_addresses(who, &key, g).await?);
        }
        for g in &out.cc_groups {
            cc.extend(self.group_addresses(who, &key, g).await?);
        }
        let (to, cc) = if sending {
            resolve_recipients(
                &self.config,
                out.mode,
                &account.email,
                &to,
                &cc,
                original.as_ref().map(|(o, c)| Original {
                    sender: &o.sender,
                    to: &c.to,
                    cc: &c.cc,
                }),
            )?
        } else {
            let tidy = |l: Vec<String>| {
                l.into_iter()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            };
            (tidy(to), tidy(cc))
        };

        // Attachments: the draft's kept ones, forwarded originals, new uploads.
        let mut planned = Vec::new();
        let mut dropped = Vec::new();
        if let Some(d) = &draft {
            let view = self.message_view(&key, d)?;
            for (row, info) in d.attachments.iter().zip(view.summary.attachments) {
                let keep = out
                    .keep_attachment_ids
                    .as_ref()
                    .is_none_or(|k| k.contains(&row.id));
                if keep {
                    planned.push(Planned {
                        id: row.id.clone(),
                        name: info.name,
                        content_type: info.content_type,
                        size: row.size,
                        blob: row.blob.clone(),
                        fresh_file: false,
                        upload_id: None,
                    });
                } else {
                    dropped.push(row.blob.clone());
                }
            }
        }
        let mut uploads = Vec::new();
        for upload_id in &out.upload_ids {
            let (account_id, upload_id, now) = (account.id.clone(), upload_id.clone(), self.now());
            let row = self
                .store
                .read(move |tx| tx.upload(&account_id, &upload_id, now))
                .await?
                .ok_or(Error::NotFound("upload"))?;
            self.durable_upload(&row)?;
            let meta: UploadMeta = serde_json::from_slice(key.files.open(&row.sealed)?.expose())
                .map_err(|e| Error::Other(format!("an upload's details are unreadable: {e}")))?;
            uploads.push((row, meta));
        }
        // With a draft, the client names the original's attachments to forward in
        // `keep_attachment_ids`; the draft's own copies of them are kept or dropped by the
        // same list, so nothing is attached twice.
        let forwarded: Vec<_> = match (&original, out.mode, out.forward_attachments) {
            (Some((o, _)), SendMode::Forward, Some(true)) => {
                let view = self.message_view(&key, o)?;
                o.attachments
                    .iter()
                    .cloned()
                    .zip(view.summary.attachments)
                    // Attachments the person removed from the forward stay behind.
                    .filter(|(row, _)| {
                        out.keep_attachment_ids
                            .as_ref()
                            .is_none_or(|k| k.contains(&row.id))
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        let count = planned.len() + uploads.len() + forwarded.len();
        let total: u64 = planned.iter().map(|a| a.size).sum::<u64>()
            + uploads.iter().map(|(u, _)| u.size).sum::<u64>()
            + forwarded.iter().map(|(a, _)| a.size).sum::<u64>();
        let limits = &self.config.limits;
        if count > limits.max_attachments as usize || total > limits.max_attachment_bytes {
            return Err(Error::AttachmentLimit {
                max_files: limits.max_attachments,
                max_total_bytes: limits.max_attachment_bytes,
            });
        }
        for (row, meta) in uploads {
            planned.push(Planned {
                id: new_id(self.entropy.as_ref(), "att_"),
                name: meta.name,
                content_type: meta.content_type,
                size: row.size,
                blob: row.blob,
                fresh_file: false,
                upload_id: Some(row.id),
            });
        }
        for (row, info) in forwarded {
            // Same mailbox, same key: a byte copy of the encrypted file is enough.
            let id = new_id(self.entropy.as_ref(), "att_");
            let relative = crate::blobs::Blobs::name_for(&id);
            let copied = crate::runtime::blocking(|| {
                self.blobs
                    .copy(&row.blob, &relative)
                    .and_then(|_| self.blobs.make_durable(&relative))
            });
            if let Err(e) = copied {
                self.forget_fresh(&planned);
                return Err(e.into());
            }
            planned.push(Planned {
                id,
                name: info.name,
                content_type: info.content_type,
                size: row.size,
                blob: relative,
                fresh_file: true,
                upload_id: None,
            });
        }
        Ok(Prepared {
            account,
            key,
            mode: out.mode,
            to,
            cc,
            in_reply_to: original.map(|(o, _)| o.id).unwrap_or_default(),
            attachments: planned,
            draft,
            dropped,
        })
    }

    /// Builds the email that carries a user's message to staff and seals it to the master
    /// key in a blob file; returns the file's relative path.
    ///
    /// A named delegate's send says who wrote it: "Alice Smith for
    /// care.referrals@partner.org" in From, and their name and address in the signature.
    async fn seal_staff_email(
        &self,
        p: &Prepared,
        out: &Outgoing,
        sent_id: &str,
        by: Option<&sealpost_proto::Person>,
    ) -> Result<String> {
        let from_address: lettre::Address = self
            .config
            .mail_from()
            .parse()
            .map_err(|_| Error::Other("mail_from is not an address".into()))?;
        let shown = match by {
            Some(person) => format!("{} for {}", person.name, p.account.email),
            None => p.account.email.clone(),
        };
        let from = Mailbox::new(
            Some(format!("{shown} via {}", self.config.org_name)),
            from_address,
        );
        let reply_to: Mailbox = self
            .config
            .reply_address_for(sent_id)
            .parse()
            .map_err(|_| Error::Other("reply_address is not an address".into()))?;
        let trace = crate::mail::Trace::of(&from);
        let mut builder = lettre::Message::builder()
            .from(from)
            .reply_to(reply_to)
            .subject(subject_of(out))
            .header(trace);
        for a in &p.to {
            builder = builder.to(a
                .parse()
                .map_err(|_| Error::BadRequest(format!("{a} is not an address")))?);
        }
        for a in &p.cc {
            builder = builder.cc(a
                .parse()
                .map_err(|_| Error::BadRequest(format!("{a} is not an address")))?);
        }
        let sender = match by {
            Some(person) => format!("{} ({}) for {}", person.name, person.email, p.account.email),
            None => p.account.email.clone(),
        };
        let text = format!(
            "{}\n\n-- \nSent by {sender} (outside the organisation) through {} secure messages.\n",
            out.body_text.trim_end(),
            self.config.org_name
        );
        // lettre formats the headers and the text part; the attachments stream into the
        // sealed file after them, so memory holds a chunk at a time whatever their size.
        let multipart = MultiPart::mixed().singlepart(SinglePart::plain(text));
        let boundary = multipart.boundary();
        let head = builder
            .multipart(multipart)
            .map_err(|e| Error::Other(format!("the email to staff could not be built: {e}")))?
            .formatted();
        let mut parts = Vec::new();
        for a in &p.attachments {
            parts.push(crate::mail::mime::Part {
                name: a.name.clone(),
                content_type: a.content_type.clone(),
                bytes: Box::new(p.key.files.open_stream(self.blobs.open(&a.blob)?)?),
            });
        }
        let id = new_id(self.entropy.as_ref(), "mail_");
        let relative = crate::blobs::Blobs::name_for(&id);
        let (master, blobs, name) = (self.master.public(), self.blobs.clone(), relative.clone());
        tokio::task::spawn_blocking(move || {
            let written = (|| {
                let email = crate::mail::mime::with_attachments(head, &boundary, parts)?;
                let mut writer = blobs.create(&name)?;
                master.seal_into(email, &mut writer)?;
                writer.finish()?;
                blobs.make_durable(&name)?;
                Ok::<_, Error>(())
            })();
            if written.is_err() {
                let _ = blobs.remove(&name);
            }
            written
        })
        .await
        .map_err(|e| Error::Other(format!("sealing the email failed: {e}")))??;
        Ok(relative)
    }

    /// The named delegate holding `who`'s session, with their name; `None` for the
    /// mailbox's own sign-in.
    pub(crate) async fn delegate_person(
        &self,
        who: &Authenticated,
    ) -> Result<Option<sealpost_proto::Person>> {
        if !who.is_delegate() {
            return Ok(None);
        }
        let (mailbox, person) = (who.account_id.clone(), who.signer.person_id.clone());
        let Some(d) = self
            .store
            .read(move |tx| tx.delegation(&mailbox, &person))
            .await?
        else {
            // Removed between the check of the session and now.
            return Err(Error::AccessRemoved);
        };
        Ok(Some(sealpost_proto::Person {
            email: d.person_email.clone(),
            name: self.delegate_name(&d).await?,
        }))
    }
}
