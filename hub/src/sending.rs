//! Organisation staff sending secure messages to external people.

use sealpost_proto::text::counted;
use std::{collections::BTreeSet, fs, io::Read, path::PathBuf};

use chrono::Duration;
use sealpost_proto::{address, Folder, SendMode};

use crate::blobs::Blobs;
use crate::crypto::sealed::{MessageContent, SealedAttachment};
use crate::crypto::{new_id, PublicKey};
use crate::error::{Error, Result};
use crate::hub::{Caller, Hub};
use crate::store::{AccountStatus, NewAttachment, NewMessage, WrappedKeys};

/// A secure message from organisation staff.
#[derive(Debug, Clone, Default)]
pub struct OrgMessage {
    /// Staff address, in an organisation domain.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Copy recipients.
    pub cc: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body_text: String,
    /// HTML body, if the staff member wrote one (shown sanitised by the app).
    pub body_html: Option<String>,
    /// Files to attach.
    pub attachments: Vec<AttachmentFile>,
    /// Keep it for this many days instead of the hub's retention (never longer).
    pub keep_days: Option<u32>,
    /// The sending system's reference for this message, scoped by the caller
    /// (`tok_…:ref`, `cli:ref`): a retry with it returns the first receipt.
    pub client_ref: Option<String>,
    /// Who gets a copy, when that is not everyone external in `to` and `cc`: the SMTP
    /// envelope's recipients (a Bcc among them is delivered, never shown; a `To:`
    /// address the gateway did not relay here gets no copy).
    pub envelope: Option<Vec<String>>,
}

impl OrgMessage {
    /// What tells a retry from another message reusing a reference: addresses, subject,
    /// bodies and how many files. Not the files themselves: a retried job uploads its
    /// files again (new upload ids) or names them by another path, and is still a retry.
    fn identity(&self) -> Vec<u8> {
        let addresses = |list: &[String]| -> Vec<String> {
            list.iter()
                .map(|a| address::normalise(a).unwrap_or_else(|_| a.trim().to_owned()))
                .collect()
        };
        serde_json::json!([
            address::normalise(&self.from).unwrap_or_else(|_| self.from.trim().to_lowercase()),
            addresses(&self.to),
            addresses(&self.cc),
            self.subject,
            self.body_text,
            self.body_html,
            self.attachments.len(),
            self.envelope.as_deref().map(addresses),
        ])
        .to_string()
        .into_bytes()
    }
}

/// A file to attach: a file on the hub's disk (the CLI) or an organisation upload (the API).
#[derive(Debug, Clone)]
pub enum AttachmentFile {
    /// Read from this path when the message is stored; named after the file.
    Path(PathBuf),
    /// An upload made with `POST /api/v1/org/uploads`.
    Upload(String),
}

impl AttachmentFile {
    /// An attachment read from a file and named after it.
    pub fn from_path(path: impl Into<PathBuf>) -> Self {
        Self::Path(path.into())
    }
}

/// An attachment source resolved to something readable.
struct Source {
    name: String,
    size: u64,
    /// A plain file, or a blob sealed to the master key (an org upload).
    from: SourceFrom,
    upload_id: Option<String>,
}

enum SourceFrom {
    File(PathBuf),
    Blob(String),
}

/// The outcome of a send.
#[derive(Debug, Clone)]
pub struct SendReceipt {
    /// The send's id, shared by every recipient's copy.
    pub id: String,
    /// External recipients whose mailbox got a copy.
    pub delivered_to: Vec<String>,
    /// Whether this is the receipt of an earlier send under the same reference (a retry:
    /// nothing was sent now).
    pub repeated: bool,
}

use sealpost_proto::text::clean_file_name;

impl Hub {
    /// Stores a staff member's message in each external recipient's mailbox, creating
    /// pending mailboxes as needed, and queues the notification emails.
    pub async fn send_org_message(
        &self,
        message: OrgMessage,
        caller: &Caller,
    ) -> Result<SendReceipt> {
        let reference = message.client_ref.clone().filter(|r| !r.trim().is_empty());
        let fingerprint = crate::crypto::fingerprint(&self.org_send_key, &message.identity());
        if let Some(reference) = &reference {
            if let Some(receipt) = self.earlier_send(reference, &fingerprint).await? {
                // The retry's own uploads (made again for it) are not needed.
                self.discard_uploads(&message.attachments).await;
                return Ok(receipt);
            }
        }
        let attachments = message.attachments.clone();
        match self
            .store_org_message(message, reference.clone(), &fingerprint, caller)
            .await
        {
            // Sent meanwhile by the same request, retried at once (its uploads are used).
            Err(e) => match &reference {
                Some(r) => match self.earlier_send(r, &fingerprint).await? {
                    Some(receipt) => {
                        self.discard_uploads(&attachments).await;
                        Ok(receipt)
                    }
                    None => Err(e),
                },
                None => Err(e),
            },
            sent => sent,
        }
    }

    /// The receipt of the send made earlier under `reference`, if there was one and it was
    /// this message; another message under the same reference is refused.
    async fn earlier_send(
        &self,
        reference: &str,
        fingerprint: &str,
    ) -> Result<Option<SendReceipt>> {
        let lookup = reference.to_owned();
        let earlier = self.store.read(move |tx| tx.org_send(&lookup)).await?;
        match earlier {
            None => Ok(None),
            Some(send) if send.fingerprint == fingerprint => Ok(Some(SendReceipt {
                id: send.origin_id,
                delivered_to: send.delivered_to,
                repeated: true,
            })),
            Some(_) => Err(Error::Conflict(
                "this reference (client_ref, Idempotency-Key or --client-ref) was already used for a \
                 different message; nothing was sent. Use a new reference for each message."
                    .into(),
            )),
        }
    }

    /// Removes the organisation uploads among `files` that are still there (a retry's,
    /// answered with the first send's receipt); a failure only leaves them to expire.
    pub(crate) async fn discard_uploads(&self, files: &[AttachmentFile]) {
        for file in files {
            let AttachmentFile::Upload(id) = file else {
                continue;
            };
            let (lookup, now) = (id.clone(), self.now());
            let Ok(Some(row)) = self.store.read(move |tx| tx.upload("", &lookup, now)).await else {
                continue;
            };
            let id = row.id.clone();
            if self
                .store
                .write(move |tx| tx.delete_upload(&id))
                .await
                .is_ok()
            {
                self.remove_blobs(&[row.blob]);
            }
        }
    }

    async fn store_org_message(
        &self,
        message: OrgMessage,
        reference: Option<String>,
        fingerprint: &str,
        caller: &Caller,
    ) -> Result<SendReceipt> {
        let from = self.email(&message.from)?;
        if !self.config.is_org_address(&from) {
            return Err(Error::SenderNotAllowed(from));
        }
        let mut invalid = Vec::new();
        let mut normalise = |list: &[String]| -> Vec<String> {
            let mut seen = BTreeSet::new();
            list.iter()
                .filter_map(|raw| match address::normalise(raw) {
                    Ok(e) => seen.insert(e.clone()).then_some(e),
                    Err(_) => {
                        invalid.push(raw.trim().to_owned());
                        None
                    }
                })
                .collect()
        };
        let to = normalise(&message.to);
        let cc = normalise(&message.cc);
        let envelope = message.envelope.as_deref().map(&mut normalise);
        if !invalid.is_empty() {
            return Err(Error::BadRequest(format!(
                "these are not valid email addresses: {}",
                invalid.join(", ")
            )));
        }
        let mut external: Vec<String> = Vec::new();
        let delivered: Vec<&String> = match &envelope {
            Some(envelope) => envelope.iter().collect(),
            None => to.iter().chain(&cc).collect(),
        };
        for address in delivered {
            if !self.config.is_org_address(address) && !external.contains(address) {
                external.push(address.clone());
            }
        }
        if external.is_empty() {
            return Err(Error::BadRequest(
                "the message has no external recipient; organisation staff are reached by normal email"
                    .into(),
            ));
        }
        let limits = &self.config.limits;
        let mut sources = Vec::new();
        for file in &message.attachments {
            sources.push(self.resolve_source(file).await?);
        }
        let total: u64 = sources.iter().map(|s| s.size).sum();
        if message.attachments.len() > limits.max_attachments as usize
            || total > limits.max_attachment_bytes
        {
            return Err(Error::AttachmentLimit {
                max_files: limits.max_attachments,
                max_total_bytes: limits.max_attachment_bytes,
            });
        }

        // 1. Every recipient has a mailbox (and so a key) before anything is encrypted.
        let mut mailboxes = Vec::new();
        for address in &external {
            mailboxes.push(self.ensure_mailbox(address).await?);
        }

        // 2. Encrypt each copy to its mailbox. Files written here are removed on failure.
        let now = self.now();
        let origin_id = new_id(self.entropy.as_ref(), "snd_");
        let keep = message.keep_days.map_or(limits.retention_days, |d| {
            i64::from(d).min(limits.retention_days)
        });
        let expires_at = now + Duration::days(keep);
        let mut copies = Vec::new();
        let mut written: Vec<String> = Vec::new();
        let mut data_keys = Vec::with_capacity(mailboxes.len());
        for (account_id, ..) in &mailboxes {
            data_keys.push(self.mailbox_key(account_id).await?);
        }
        // Each copy is sealed and written (to a bucket, maybe) here: blocking work.
        let prepared = crate::runtime::blocking(|| -> Result<()> {
            for ((account_id, email, public, status), keys) in mailboxes.iter().zip(&data_keys) {
                let key = PublicKey::parse(public)?;
                let mut sealed_attachments = Vec::new();
                let mut stored = Vec::new();
                for source in &sources {
                    let id = new_id(self.entropy.as_ref(), "att_");
                    let relative = Blobs::name_for(&id);
                    let input: Box<dyn Read> = match &source.from {
                        SourceFrom::Blob(blob) => {
                            Box::new(self.master.open_stream(self.blobs.open(blob)?)?)
                        }
                        SourceFrom::File(path) => Box::new(fs::File::open(path)?),
                    };
                    written.push(relative.clone());
                    let (size, _) = self.write_sealed(
                        &key,
                        input.take(limits.max_attachment_bytes + 1),
                        &relative,
                    )?;
                    let name = clean_file_name(&source.name);
                    sealed_attachments.push(SealedAttachment {
                        id: id.clone(),
                        content_type: mime_guess::from_path(&name)
                            .first_or_octet_stream()
                            .essence_str()
                            .to_owned(),
                        name,
                    });
                    stored.push(NewAttachment {
                        id,
                        size,
                        blob: relative,
                    });
                }
                let content = MessageContent {
                    subject: sealpost_proto::text::clean_line(&message.subject),
                    body_text: message.body_text.clone(),
                    body_html: message.body_html.clone().filter(|h| !h.trim().is_empty()),
                    to: to.clone(),
                    cc: cc.clone(),
                    attachments: sealed_attachments,
                };
                let id = new_id(self.entropy.as_ref(), "msg_");
                let content = content.seal(&keys.data, account_id, &id);
                copies.push((
                    NewMessage {
                        id,
                        account_id: account_id.clone(),
                        origin_id: origin_id.clone(),
                        folder: Folder::Inbox,
                        mode: SendMode::New,
                        sender: from.clone(),
                        sent_at: now,
                        expires_at,
                        read: false,
                        in_reply_to: String::new(),
                        delivery: "",
                        client_ref: String::new(),
                        content,
                        attachments: stored,
                    },
                    email.clone(),
                    *status,
                ));
            }
            Ok(())
        });
        if let Err(e) = prepared {
            self.remove_blobs(&written);
            return Err(e);
        }

        // 3. Notifications: each mailbox that is not disabled counts the message for its
        //    next notification email (collapsed, at most one per interval).
        let notify: Vec<String> = copies
            .iter()
            .filter(|(_, _, status)| *status != AccountStatus::Disabled)
            .map(|(copy, _, _)| copy.account_id.clone())
            .collect();
        let interval = Duration::minutes(self.config.limits.notification_minutes);

        // 4. Store every copy and count every notification in one transaction.
        let ip = caller.ip.clone();
        let sender = from.clone();
        let count = copies.len();
        let attachments = message.attachments.len();
        let used_uploads: Vec<String> =
            sources.iter().filter_map(|s| s.upload_id.clone()).collect();
        let upload_files: Vec<String> = sources
            .iter()
            .filter_map(|s| match &s.from {
                SourceFrom::Blob(blob) => Some(blob.clone()),
                SourceFrom::File(_) => None,
            })
            .collect();
        let recorded = reference.map(|r| {
            (
                r,
                crate::store::OrgSend {
                    fingerprint: fingerprint.to_owned(),
                    origin_id: origin_id.clone(),
                    delivered_to: external.clone(),
                },
            )
        });
        let stored = self
            .store
            .write(move |tx| {
                if let Some((reference, send)) = &recorded {
                    // Another request with this reference may have stored first.
                    if tx.org_send(reference)?.is_some() {
                        return Err(Error::Conflict("sent meanwhile".into()));
                    }
                    tx.insert_org_send(reference, send, now)?;
                }
                for (copy, email, _) in &copies {
                    tx.insert_message(copy)?;
                    tx.insert_send_recipient(
                        &copy.origin_id,
                        &copy.account_id,
                        email,
                        &copy.id,
                        copy.sent_at,
                        copy.expires_at,
                    )?;
                }
                for id in &used_uploads {
                    tx.delete_upload(id)?;
                }
                for account_id in &notify {
                    tx.note_arrival(account_id, now, interval)?;
                }
                tx.audit(
                    now,
                    "org_message_sent",
                    &sender,
                    &ip,
                    &format!(
                        "{}, {}",
                        counted(count, "recipient", "recipients"),
                        counted(attachments, "attachment", "attachments")
                    ),
                )
            })
            .await;
        if let Err(e) = stored {
            // A fault of the store may have come after the commit (a connection lost in
            // it): the files stay for the orphan sweep, which removes them only if no
            // row refers to them.
            if !matches!(e, Error::Store(_)) {
                self.remove_blobs(&written);
            }
            return Err(e);
        }
        self.remove_blobs(&upload_files);
        self.mail_queued();
        Ok(SendReceipt {
            id: origin_id,
            delivered_to: external,
            repeated: false,
        })
    }

    async fn resolve_source(&self, file: &AttachmentFile) -> Result<Source> {
        match file {
            AttachmentFile::Path(path) => {
                let meta = fs::metadata(path).map_err(|e| {
                    Error::BadRequest(format!(
                        "the attachment {} cannot be read: {e}",
                        path.display()
                    ))
                })?;
                Ok(Source {
                    name: path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| "attachment".into()),
                    size: meta.len(),
                    from: SourceFrom::File(path.clone()),
                    upload_id: None,
                })
            }
            AttachmentFile::Upload(id) => {
                let (lookup, now) = (id.clone(), self.now());
                let row = self
                    .store
                    .read(move |tx| tx.upload("", &lookup, now))
                    .await?
                    .ok_or(Error::NotFound("upload"))?;
                let meta: crate::uploads::UploadMeta = serde_json::from_slice(
                    self.master.open(&row.sealed)?.expose(),
                )
                .map_err(|e| Error::Other(format!("an upload's details are unreadable: {e}")))?;
                Ok(Source {
                    name: meta.name,
                    size: row.size,
                    from: SourceFrom::Blob(row.blob),
                    upload_id: Some(row.id),
                })
            }
        }
    }

    /// The mailbox of `email`, created pending (with a new key) if there is none.
    /// Returns id, address, public key and status.
    pub(crate) async fn ensure_mailbox(
        &self,
        email: &str,
    ) -> Result<(String, String, String, AccountStatus)> {
        let lookup = email.to_owned();
        let found = self
            .store
            .read(move |tx| tx.account_by_email(&lookup))
            .await?;
        match found {
            Some(a) if a.status != AccountStatus::Pending => {
                return Ok((a.id, a.email, a.mailbox_public, a.status));
            }
            Some(a) => {
                // An old pending mailbox whose messages all expired is a leftover to the
                // sweep; this send is about to fill it. Found and renewed in one write, so
                // the sweep either removed it before (it is made again below) or leaves it.
                let (lookup, now) = (a.email.clone(), self.now());
                let renewed = self
                    .store
                    .write(move |tx| {
                        let a = tx.account_by_email(&lookup)?;
                        if let Some(a) = &a {
                            tx.renew_empty_pending(&a.id, now)?;
                        }
                        Ok(a)
                    })
                    .await?;
                if let Some(a) = renewed {
                    return Ok((a.id, a.email, a.mailbox_public, a.status));
                }
            }
            None => {}
        }
        let (public, wrapped) = self.master.new_mailbox_key()?;
        let (_, data_key) = crate::crypto::DataKey::generate();
        let keys = WrappedKeys {
            public: public.to_string(),
            mailbox_key: wrapped,
            data_key: self.master.wrap_data_key(&data_key)?,
        };
        let id = new_id(self.entropy.as_ref(), "acc_");
        let now = self.now();
        let email = email.to_owned();
        let public = keys.public.clone();
        self.store
            .write(move |tx| {
                // Another send may have created it meanwhile; keep the first.
                if let Some(a) = tx.account_by_email(&email)? {
                    return Ok((a.id, a.email, a.mailbox_public, a.status));
                }
                tx.insert_pending_account(&id, &email, &keys, now)?;
                tx.audit(now, "mailbox_created", &email, "", "")?;
                Ok((
                    id.clone(),
                    email.clone(),
                    public.clone(),
                    AccountStatus::Pending,
                ))
            })
            .await
    }

    /// Seals `input` to `key` into the new blob `name` and makes it durable (a row will
    /// refer to it); returns the plaintext and stored lengths. The blob is removed if
    /// anything fails.
    pub(crate) fn write_sealed(
        &self,
        key: &PublicKey,
        input: impl Read,
        name: &str,
    ) -> Result<(u64, u64)> {
        let written = (|| {
            let mut writer = self.blobs.create(name)?;
            let size = key.seal_into(input, &mut writer)?;
            writer.finish()?;
            let stored = self.blobs.make_durable(name)?;
            Ok::<_, Error>((size, stored))
        })();
        if written.is_err() {
            let _ = self.blobs.remove(name);
        }
        written
    }

    /// Removes blobs no row refers to any more; a failure only leaves them to the
    /// orphan sweep.
    pub(crate) fn remove_blobs(&self, names: &[String]) {
        // An empty name is "no file" (notification emails carry none).
        crate::runtime::blocking(|| {
            for name in names.iter().filter(|b| !b.is_empty()) {
                if let Err(e) = self.blobs.remove(name) {
                    tracing::warn!(error = %e, "a file no row refers to was left for the sweep");
                }
            }
        });
    }
}
