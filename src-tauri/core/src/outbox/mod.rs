//! Sending: messages and drafts go through the outbox in the vault, so that writing works
//! offline. Policy is checked first (the hub's rules, the hub's words); a queued item leaves
//! once the hub answers, in order, and once only (each carries a `client_ref` the hub
//! recognises on a retry).

use std::path::PathBuf;

use sealpost_proto::{MessageSummary, Outgoing, SendMode, Upload};
use serde::Serialize;

use crate::error::{ClientError, Code, Result};
use crate::hub::Method;
use crate::mailbox::Mailbox;
use crate::policy;
use crate::vault::QueuedFile;

/// The outbox kind of a change to a message's flags: `{"id", "read"?, "deleted"?}` (a
/// `MessagePatch` with its id). Named `read` because read flags came first; the vault's
/// table allows only its original kinds, and items queued by older versions still parse.
pub(crate) const PATCH: &str = "read";

/// What flushing the outbox did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FlushReport {
    /// Items the hub accepted.
    pub sent: Vec<MessageSummary>,
    /// Items the hub refused (kept, marked failed, with the reason).
    pub failed: usize,
    /// Items still waiting because the hub cannot be reached.
    pub waiting: usize,
    /// Items of any kind the hub took (messages, drafts, read flags, deletions).
    pub changes: usize,
    /// Which queued item became which message or draft.
    #[serde(skip)]
    pub(crate) sent_items: Vec<(i64, MessageSummary)>,
    /// Why the hub refused which item.
    #[serde(skip)]
    pub(crate) refusals: Vec<(i64, Refusal)>,
}

/// Whether a failure to hand an item to the hub is for now only: it is kept in the queue
/// (the hub is away, the session ended, or two-step sign-in must be turned on first).
fn waits(e: &ClientError) -> bool {
    matches!(
        e.code(),
        Code::Offline | Code::SignInRequired | Code::RateLimited | Code::MfaEnrolmentRequired
    ) || matches!(
        e,
        ClientError::Hub {
            code: Code::Internal,
            ..
        }
    )
}

/// A refusal of the hub, kept to be told to the person who asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    code: Code,
    message: String,
    refused: Vec<String>,
}

impl Refusal {
    fn of(e: &ClientError) -> Self {
        let refused = match e {
            ClientError::Hub { detail, .. } => detail.refused.clone().unwrap_or_default(),
            ClientError::Refused { refused, .. } => refused.clone(),
            _ => Vec::new(),
        };
        Self {
            code: e.code(),
            message: e.to_string(),
            refused,
        }
    }
}

impl FlushReport {
    /// The message or draft the hub made of queued item `item`, if it took it.
    pub(crate) fn sent_by(&self, item: i64) -> Option<MessageSummary> {
        self.sent_items
            .iter()
            .find(|(id, _)| *id == item)
            .map(|(_, m)| m.clone())
    }

    /// Why the hub refused queued item `item`, if it did.
    pub(crate) fn refusal_of(&self, item: i64) -> Option<ClientError> {
        self.refusals
            .iter()
            .find(|(id, _)| *id == item)
            .map(|(_, r)| ClientError::Refused {
                code: r.code,
                message: r.message.clone(),
                refused: r.refused.clone(),
            })
    }
}

/// What happened to a message given to [`Mailbox::send`].
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SendOutcome {
    /// The hub has it; here is the Sent item.
    Sent {
        /// The Sent item.
        message: Box<MessageSummary>,
    },
    /// Offline: it waits in the outbox and leaves when the hub is back.
    Queued {
        /// The outbox id.
        outbox_id: i64,
    },
}

/// Something waiting in the outbox, as the app lists it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pending {
    /// Queue id.
    pub id: i64,
    /// `send` or `draft`.
    pub kind: String,
    /// `queued` (waits for the hub) or `failed` (refused; `error` says why).
    pub status: String,
    /// Why the hub refused it.
    pub error: String,
    /// Its subject.
    pub subject: String,
    /// Its recipients.
    pub to: Vec<String>,
}

/// A fresh random reference (128 bits, hex): compose ids and `client_ref`s.
pub(crate) fn new_ref() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// The files to queue, with their sizes (checked against the limits before any copying).
pub(crate) fn files_to_queue(files: &[PathBuf]) -> Result<(Vec<QueuedFile>, Vec<u64>)> {
    let mut queued = Vec::new();
    let mut sizes = Vec::new();
    for p in files {
        let meta = std::fs::metadata(p).map_err(|e| ClientError::Refused {
            code: Code::Invalid,
            message: format!("The file {} cannot be read: {e}.", p.display()),
            refused: Vec::new(),
        })?;
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "attachment".into());
        sizes.push(meta.len());
        queued.push(QueuedFile {
            content_type: guess_type(&name),
            name,
            path: p.clone(),
        });
    }
    Ok((queued, sizes))
}

fn guess_type(name: &str) -> String {
    let ext = name.rsplit('.').next().unwrap_or_default().to_lowercase();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
    .to_owned()
}

impl Mailbox {
    /// The organisation's domains, as the hub gave them at the last sign-in.
    pub fn org_domains(&self) -> Result<Vec<String>> {
        Ok(self
            .vault
            .setting("org_domains")?
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default())
    }

    /// What the hub allows this mailbox, as it said at the last sign-in (kept in the vault,
    /// so that compose checks work offline); a hub's defaults before the first sign-in.
    pub fn limits(&self) -> Result<sealpost_proto::MailboxLimits> {
        Ok(self
            .vault
            .setting("limits")?
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default())
    }

    /// `entries` as typed in a recipient field, checked against the organisation's domains.
    pub fn check_addresses(&self, entries: &[String]) -> Result<policy::AddressCheck> {
        Ok(policy::check_addresses(entries, &self.org_domains()?))
    }

    /// Who an answer (`mode`) to the message `id` reaches (see [`policy::reply_audience`]).
    pub fn reply_audience(&self, id: &str, mode: SendMode) -> Result<policy::ReplyAudience> {
        let m = self.vault.message(id)?;
        Ok(policy::reply_audience(
            mode,
            &m.summary.from,
            &m.summary.to,
            &m.summary.cc,
            &self.account.email,
            &self.org_domains()?,
        ))
    }

    /// Messages and drafts waiting in the outbox (read flags and deletions are not listed).
    pub fn pending(&self) -> Result<Vec<Pending>> {
        Ok(self
            .vault
            .outbox()?
            .into_iter()
            .filter(|i| i.kind == "send" || i.kind == "draft")
            .map(|i| {
                let out: Option<Outgoing> = serde_json::from_str(&i.payload).ok();
                Pending {
                    id: i.id,
                    kind: i.kind,
                    status: i.status,
                    error: i.last_error,
                    subject: out.as_ref().map(|o| o.subject.clone()).unwrap_or_default(),
                    to: out.map(|o| o.to).unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Checks a message against the hub's rules without sending anything.
    pub fn check(&self, out: &Outgoing, file_sizes: &[u64]) -> Result<()> {
        let (to, cc) = self.with_group_members(out)?;
        policy::check_recipients(out.mode, &to, &cc, &self.org_domains()?)?;
        policy::check_attachments(file_sizes, &self.limits()?)
    }

    /// To and Cc with the members of the chosen groups added (from the vault's address
    /// book), as the hub will expand them.
    fn with_group_members(&self, out: &Outgoing) -> Result<(Vec<String>, Vec<String>)> {
        if out.to_groups.is_empty() && out.cc_groups.is_empty() {
            return Ok((out.to.clone(), out.cc.clone()));
        }
        let (groups, contacts) = (self.vault.groups()?, self.vault.contacts()?);
        let members = |group_ids: &[String]| -> Vec<String> {
            groups
                .iter()
                .filter(|g| group_ids.contains(&g.id))
                .flat_map(|g| &g.contact_ids)
                .filter_map(|id| contacts.iter().find(|c| &c.id == id))
                .map(|c| c.email.clone())
                .collect()
        };
        let mut to = out.to.clone();
        to.extend(members(&out.to_groups));
        let mut cc = out.cc.clone();
        cc.extend(members(&out.cc_groups));
        Ok((to, cc))
    }

    /// Sends a message with files from disk: checked, queued in the vault, and sent now
    /// if the hub answers; offline it waits in the outbox.
    pub async fn send(&self, mut out: Outgoing, files: &[PathBuf]) -> Result<SendOutcome> {
        let (queued, sizes) = files_to_queue(files)?;
        self.check(&out, &sizes)?;
        out.client_ref = Some(new_ref());
        let payload = serde_json::to_string(&out).expect("BUG: outgoing serialises");
        let now = chrono::Utc::now().timestamp_millis();
        // Queued and flushed under one lock: no other flush can take this message and
        // leave this call believing it still waits.
        let _one_at_a_time = self.flushing.lock().await;
        let id = self.vault.queue("send", &payload, &queued, now)?;
        let report = self.flush_locked().await?;
        if let Some(message) = report.sent_by(id) {
            return Ok(SendOutcome::Sent {
                message: Box::new(message),
            });
        }
        match report.refusal_of(id) {
            Some(refusal) => Err(refusal),
            None => Ok(SendOutcome::Queued { outbox_id: id }),
        }
    }

    /// Saves a draft (new, or replacing `draft_id`) with files from disk: at the hub when
    /// it answers, else in the outbox until it does.
    pub async fn save_draft(
        &self,
        mut out: Outgoing,
        draft_id: Option<&str>,
        files: &[PathBuf],
    ) -> Result<SendOutcome> {
        let (queued, sizes) = files_to_queue(files)?;
        policy::check_attachments(&sizes, &self.limits()?)?;
        out.draft_id = draft_id.map(str::to_owned);
        let payload = serde_json::to_string(&out).expect("BUG: outgoing serialises");
        let _one_at_a_time = self.flushing.lock().await;
        let id = self.vault.queue(
            "draft",
            &payload,
            &queued,
            chrono::Utc::now().timestamp_millis(),
        )?;
        let report = self.flush_locked().await?;
        if let Some(message) = report.sent_by(id) {
            return Ok(SendOutcome::Sent {
                message: Box::new(message),
            });
        }
        match report.refusal_of(id) {
            Some(refusal) => Err(refusal),
            None => Ok(SendOutcome::Queued { outbox_id: id }),
        }
    }

    /// Sends what waits in the outbox, oldest first. Stops at the first item the hub cannot
    /// be reached for (order is kept); refused items are marked failed and skipped.
    pub async fn flush_outbox(&self) -> Result<FlushReport> {
        let _one_at_a_time = self.flushing.lock().await;
        self.flush_locked().await
    }

    /// The flush, for a caller holding `self.flushing`.
    pub(crate) async fn flush_locked(&self) -> Result<FlushReport> {
        let mut report = FlushReport::default();
        let items = self.vault.outbox()?;
        let queued: Vec<_> = items.into_iter().filter(|i| i.status == "queued").collect();
        let total = queued.len();
        for (done, item) in queued.into_iter().enumerate() {
            match self.send_item(&item).await {
                Ok(summary) => {
                    self.vault.unqueue(item.id)?;
                    if let Some(summary) = summary {
                        report.sent_items.push((item.id, summary.clone()));
                        report.sent.push(summary);
                    }
                    report.changes += 1;
                }
                // The hub cannot take it now (unreachable, signed out, busy, or failing
                // itself): it waits, in order, for the next flush. Only a refusal with a
                // reason is final.
                Err(e) if waits(&e) => {
                    self.vault.outbox_attempted(item.id)?;
                    report.waiting = total - done;
                    if e.code() == Code::SignInRequired {
                        return Err(e);
                    }
                    break;
                }
                Err(e) => {
                    if item.compose_id.is_empty() {
                        self.vault.outbox_failed(item.id, &e.to_string())?;
                    } else {
                        // Whichever flush hears it: the compose comes back, saying why.
                        self.vault.return_refused(
                            item.id,
                            &e.to_string(),
                            chrono::Utc::now().timestamp_millis(),
                        )?;
                    }
                    report.refusals.push((item.id, Refusal::of(&e)));
                    report.failed += 1;
                }
            }
        }
        if report.changes > 0 {
            // Bring the Sent items (and anything else new) into the vault.
            let _ = self.syncer.sync().await;
        }
        Ok(report)
    }

    async fn send_item(&self, item: &crate::vault::OutboxItem) -> Result<Option<MessageSummary>> {
        #[derive(serde::Deserialize)]
        struct Target {
            id: String,
            #[serde(flatten)]
            patch: sealpost_proto::MessagePatch,
        }
        if matches!(item.kind.as_str(), PATCH | "delete") {
            let target: Target =
                serde_json::from_str(&item.payload).map_err(|e| ClientError::Damaged {
                    message: format!("a queued change is unreadable: {e}"),
                    source: e,
                })?;
            let path = format!("/messages/{}", target.id);
            let done = if item.kind == PATCH {
                self.hub
                    .call_empty(Method::PATCH, &path, Some(&target.patch))
                    .await
            } else {
                self.hub
                    .call_empty(Method::DELETE, &path, None::<&()>)
                    .await
            };
            return match done {
                // Gone at the hub already (expired, deleted elsewhere): nothing left to do.
                Err(e) if e.code() == Code::NotFound => Ok(None),
                other => other.map(|_| None),
            };
        }
        self.send_message_item(item).await.map(Some)
    }

    async fn send_message_item(&self, item: &crate::vault::OutboxItem) -> Result<MessageSummary> {
        let mut out: Outgoing =
            serde_json::from_str(&item.payload).map_err(|e| ClientError::Damaged {
                message: format!("a queued message is unreadable: {e}"),
                source: e,
            })?;
        for (position, (name, content_type, size)) in item.files.iter().enumerate() {
            let (vault, id, progress) = (self.vault.clone(), item.id, self.progress_for(name));
            let progress = std::sync::Arc::new(std::sync::Mutex::new(progress));
            let body = || {
                // Chunks are read from the vault as the request goes out.
                let (vault, progress, total) = (vault.clone(), progress.clone(), *size);
                let chunks = futures_util::stream::unfold((0u32, 0u64), move |(seq, sent)| {
                    let (vault, progress) = (vault.clone(), progress.clone());
                    async move {
                        let read = tokio::task::spawn_blocking(move || {
                            vault.outbox_chunk(id, position, seq)
                        })
                        .await;
                        match read {
                            Ok(Ok(Some(bytes))) => {
                                let sent = sent + bytes.len() as u64;
                                if let Ok(mut p) = progress.lock() {
                                    p(sent, total);
                                }
                                Some((Ok(bytes::Bytes::from(bytes)), (seq + 1, sent)))
                            }
                            Ok(Ok(None)) => None,
                            Ok(Err(e)) => {
                                Some((Err(std::io::Error::other(e.to_string())), (u32::MAX, sent)))
                            }
                            Err(e) => {
                                Some((Err(std::io::Error::other(e.to_string())), (u32::MAX, sent)))
                            }
                        }
                    }
                });
                reqwest::Body::wrap_stream(chunks)
            };
            let upload: Upload = self.hub.upload(name, content_type, *size, body).await?;
            out.upload_ids.push(upload.upload_id);
        }
        match (item.kind.as_str(), out.draft_id.clone()) {
            ("draft", Some(id)) => {
                out.draft_id = None;
                self.hub
                    .call(Method::PUT, &format!("/drafts/{id}"), Some(&out))
                    .await
            }
            ("draft", None) => self.hub.call(Method::POST, "/drafts", Some(&out)).await,
            _ => self.hub.call(Method::POST, "/messages", Some(&out)).await,
        }
    }
}
