//! Messages being written. A compose is kept in the vault as the person writes, so that a
//! lock, a sign-out, a crash of the app or a restart loses none of it; it is saved at the
//! hub as a draft (a lock and a sign-out do so first), and it is sent at most once.
//!
//! The compose's id is the `client_ref` of everything it sends the hub: the hub keeps one
//! draft per compose however often it is saved (offline saves included, whose answers the
//! app never heard), and returns the message already sent when a send is repeated.

use std::path::PathBuf;

use sealpost_proto::{AttachmentInfo, Folder, Outgoing, SendMode};
use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Code, Result};
use crate::mailbox::{now_ms, Mailbox};
use crate::outbox::{files_to_queue, new_ref, SendOutcome};
use crate::vault::{AfterQueue, SentCompose};

/// A message being written, as the window holds it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compose {
    /// The compose's own id ("" until first kept); the `client_ref` of what it sends.
    #[serde(default)]
    pub id: String,
    /// New message, reply, reply to all or forward.
    #[serde(default)]
    pub mode: SendMode,
    /// Recipients as typed.
    #[serde(default)]
    pub to: Vec<String>,
    /// Copy recipients as typed.
    #[serde(default)]
    pub cc: Vec<String>,
    /// Address-book groups whose members go in To.
    #[serde(default)]
    pub to_groups: Vec<String>,
    /// Subject line.
    #[serde(default)]
    pub subject: String,
    /// The text.
    #[serde(default)]
    pub body_text: String,
    /// The message answered or forwarded.
    #[serde(default)]
    pub in_reply_to: Option<String>,
    /// The draft at the hub this compose saves to, when known.
    #[serde(default)]
    pub draft_id: Option<String>,
    /// Files from this computer, not yet at the hub.
    #[serde(default)]
    pub files: Vec<ComposeFile>,
    /// Attachments already at the hub: the draft's own, or the forwarded message's.
    #[serde(default)]
    pub carried: Vec<AttachmentInfo>,
    /// Why the hub refused it, the last time it was sent or saved (it came back here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}

/// A file chosen from this computer.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComposeFile {
    /// Where it is read from when the compose is sent or saved.
    pub path: PathBuf,
    /// Its name.
    pub name: String,
    /// Its size in bytes when it was chosen.
    pub size: u64,
}

impl Compose {
    /// Whether it holds anything worth keeping.
    pub fn has_content(&self) -> bool {
        let text = self
            .to
            .iter()
            .chain(&self.cc)
            .chain([&self.subject, &self.body_text])
            .any(|s| !s.trim().is_empty());
        text || !self.files.is_empty() || !self.to_groups.is_empty()
    }

    /// The message as the hub takes it. Attachments at the hub are named in
    /// `keep_attachment_ids`: with a known draft, the draft's own; forwarding, the
    /// original's (only those the person kept). Files are uploaded apart.
    pub fn outgoing(&self) -> Outgoing {
        let forwarding = self.mode == SendMode::Forward && self.draft_id.is_none();
        Outgoing {
            mode: self.mode,
            to: self.to.clone(),
            cc: self.cc.clone(),
            to_groups: self.to_groups.clone(),
            subject: self.subject.clone(),
            body_text: self.body_text.clone(),
            in_reply_to: self.in_reply_to.clone(),
            forward_attachments: (forwarding && !self.carried.is_empty()).then_some(true),
            draft_id: self.draft_id.clone(),
            keep_attachment_ids: Some(self.carried.iter().map(|a| a.id.clone()).collect()),
            client_ref: Some(self.id.clone()).filter(|id| !id.is_empty()),
            ..Default::default()
        }
    }

    fn paths(&self) -> Vec<PathBuf> {
        self.files.iter().map(|f| f.path.clone()).collect()
    }

    fn json(&self) -> String {
        serde_json::to_string(self).expect("BUG: a compose serialises")
    }
}

/// `Re: subject` or `Fwd: subject`, unless it starts with that prefix already (any case):
/// answers do not stack `Re: Re:`.
pub fn prefixed(prefix: &str, subject: &str) -> String {
    let already = subject
        .get(..prefix.len() + 1)
        .is_some_and(|head| head.eq_ignore_ascii_case(&format!("{prefix}:")));
    if already {
        subject.to_owned()
    } else {
        format!("{prefix}: {subject}")
    }
}

/// The line a recalled message leaves in its place, in local time: "Withdrawn by the
/// sender on 2 Dec 2026".
pub fn withdrawn_line(recalled_at: &str) -> String {
    let day = chrono::DateTime::parse_from_rfc3339(recalled_at)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%-d %b %Y")
                .to_string()
        })
        .unwrap_or_else(|_| recalled_at.to_owned());
    format!("Withdrawn by the sender on {day}")
}

/// An RFC 3339 time in this computer's time zone, the zone said: `2026-12-01 14:32 +01:00`
/// (the text as it came when it is not RFC 3339).
pub fn local_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M %:z")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_owned())
}

/// The original under a forward, as mail programs set it out: a header block (subject,
/// date, from, to, cc) and the text as it was, not quoted.
pub fn forwarded(original: &sealpost_proto::Message) -> String {
    let m = &original.summary;
    let mut head = format!(
        "\n\n---------- Forwarded message ----------\nSubject: {}\nDate: {}\nFrom: {}\nTo: {}\n",
        m.subject,
        local_time(&m.sent_at),
        m.from,
        m.to.join(", ")
    );
    if !m.cc.is_empty() {
        head.push_str(&format!("Cc: {}\n", m.cc.join(", ")));
    }
    format!("{head}\n{}", original.body_text)
}

/// The original quoted under a reply: who wrote it and when (in this computer's time
/// zone, the zone said), then each line after `> `.
pub fn quote(from: &str, sent_at: &str, body: &str) -> String {
    let when = local_time(sent_at);
    let quoted: Vec<String> = body.lines().map(|l| format!("> {l}")).collect();
    format!("\n\nOn {when}, {from} wrote:\n{}", quoted.join("\n"))
}

impl Mailbox {
    /// A compose answering the message `id` (`Reply`, `ReplyAll` or `Forward`): the subject
    /// prefixed; below an empty line, a reply quotes the original and a forward sets it out
    /// under a forwarded-message header, with the original's attachments carried along.
    /// Recipients of a reply are the hub's to fill in.
    ///
    /// # Errors
    /// `NotFound` when the vault has no such message; `Invalid` for `New`.
    pub fn answer(&self, id: &str, mode: SendMode) -> Result<Compose> {
        if mode == SendMode::New {
            return Err(ClientError::Refused {
                code: Code::Invalid,
                message: "a new message answers nothing; choose reply, reply to all or forward"
                    .into(),
                refused: Vec::new(),
            });
        }
        let original = self.vault.message(id)?;
        if original.summary.recalled_at.is_some() {
            return Err(ClientError::Refused {
                code: Code::Invalid,
                message: "its sender withdrew this message; there is nothing to answer or forward"
                    .into(),
                refused: Vec::new(),
            });
        }
        let prefix = if mode == SendMode::Forward {
            "Fwd"
        } else {
            "Re"
        };
        Ok(Compose {
            mode,
            subject: prefixed(prefix, &original.summary.subject),
            body_text: if mode == SendMode::Forward {
                forwarded(&original)
            } else {
                quote(
                    &original.summary.from,
                    &original.summary.sent_at,
                    &original.body_text,
                )
            },
            in_reply_to: Some(id.to_owned()),
            carried: if mode == SendMode::Forward {
                original.summary.attachments
            } else {
                Vec::new()
            },
            ..Compose::default()
        })
    }

    /// The composes kept on this computer, most recently changed first.
    pub fn composes(&self) -> Result<Vec<Compose>> {
        Ok(self
            .vault
            .composes()?
            .iter()
            .filter_map(|json| serde_json::from_str(json).ok())
            .collect())
    }

    /// Keeps a compose as it is being written (on this computer only; quick). Gives it an
    /// id the first time; returns it as kept. A compose already sent is refused: what
    /// holds it holds an old copy.
    pub fn keep_compose(&self, mut compose: Compose) -> Result<Compose> {
        if compose.id.is_empty() {
            compose.id = new_ref();
        }
        self.vault
            .keep_compose(&compose.id, &compose.json(), now_ms())?;
        Ok(compose)
    }

    /// Sends a compose, at most once: it leaves the composes and enters the outbox in one
    /// step, it is remembered as sent (nothing brings it back to be changed), its draft goes
    /// with it, and a repeat (a lost answer, a second process) returns the message already
    /// sent. Refused by the hub, now or in a later flush, it is back among the composes as
    /// it was, saying why.
    pub async fn send_compose(&self, mut compose: Compose) -> Result<SendOutcome> {
        if compose.id.is_empty() {
            compose.id = new_ref();
        }
        compose.refusal = None;
        let (files, mut sizes) = files_to_queue(&compose.paths())?;
        let out = compose.outgoing();
        sizes.extend(compose.carried.iter().map(|a| a.size));
        self.check(&out, &sizes)?;
        let payload = serde_json::to_string(&out).expect("BUG: outgoing serialises");
        let _one_at_a_time = self.flushing.lock().await;
        // A second click, or a second window holding the same compose: the first send's
        // outcome, never a second message.
        match self.vault.sent_compose(&compose.id)? {
            Some(SentCompose::Queued(outbox_id)) => {
                return Ok(SendOutcome::Queued { outbox_id });
            }
            Some(SentCompose::Delivered(Some(id))) => {
                return Ok(SendOutcome::Sent {
                    message: Box::new(self.vault.message(&id)?.summary),
                });
            }
            Some(SentCompose::Delivered(None)) => {
                return Err(ClientError::Refused {
                    code: Code::Invalid,
                    message: "This message was sent already; it is in Sent once the app has \
                              synced."
                        .into(),
                    refused: Vec::new(),
                });
            }
            None => {}
        }
        let item = self.vault.queue_compose(
            &compose.id,
            &compose.json(),
            "send",
            &payload,
            &files,
            now_ms(),
            AfterQueue::Close,
        )?;
        let report = self.flush_locked().await?;
        if let Some(message) = report.sent_by(item) {
            return Ok(SendOutcome::Sent {
                message: Box::new(message),
            });
        }
        match report.refusal_of(item) {
            Some(refusal) => Err(refusal),
            None => Ok(SendOutcome::Queued { outbox_id: item }),
        }
    }

    /// Saves a compose as a draft at the hub (now, or offline when it answers again). With
    /// `keep_open` it also stays open here (a lock or a sign-out saves it this way); else it
    /// is closed. Returns what happened and the compose as it now stands (its draft, and its
    /// files as the draft's attachments, once the hub has them).
    pub async fn save_compose(
        &self,
        mut compose: Compose,
        keep_open: bool,
    ) -> Result<(SendOutcome, Compose)> {
        if compose.id.is_empty() {
            compose.id = new_ref();
        }
        compose.refusal = None;
        let (files, mut sizes) = files_to_queue(&compose.paths())?;
        sizes.extend(compose.carried.iter().map(|a| a.size));
        crate::policy::check_attachments(&sizes, &self.limits()?)?;
        let payload = serde_json::to_string(&compose.outgoing()).expect("BUG: outgoing serialises");
        let json = compose.json();
        let after = if keep_open {
            AfterQueue::Keep(&json)
        } else {
            AfterQueue::Close
        };
        let _one_at_a_time = self.flushing.lock().await;
        let item = self.vault.queue_compose(
            &compose.id,
            &json,
            "draft",
            &payload,
            &files,
            now_ms(),
            after,
        )?;
        let report = self.flush_locked().await?;
        if let Some(draft) = report.sent_by(item) {
            if keep_open {
                // The files are the draft's attachments now: sending later does not upload
                // them again.
                compose.draft_id = Some(draft.id.clone());
                compose.carried = draft.attachments.clone();
                compose.files.clear();
                self.vault
                    .keep_compose(&compose.id, &compose.json(), now_ms())?;
            }
            return Ok((
                SendOutcome::Sent {
                    message: Box::new(draft),
                },
                compose,
            ));
        }
        match report.refusal_of(item) {
            Some(refusal) => Err(refusal),
            None => Ok((SendOutcome::Queued { outbox_id: item }, compose)),
        }
    }

    /// Discards a compose: it is forgotten here with what of it waits in the outbox, and
    /// its draft is deleted (at the hub now, or when it answers again).
    pub async fn discard_compose(&self, compose: &Compose) -> Result<()> {
        let id = compose.id.as_str();
        // Once no flush runs: one under way may be saving this compose's draft right now.
        let draft = {
            let _one_at_a_time = self.flushing.lock().await;
            let kept: Option<Compose> = match id {
                "" => None,
                id => self
                    .vault
                    .compose(id)?
                    .and_then(|json| serde_json::from_str(&json).ok()),
            };
            let draft = match compose.draft_id.clone().or(kept.and_then(|c| c.draft_id)) {
                Some(d) => Some(d),
                None if !id.is_empty() => self.vault.draft_of_compose(id)?,
                None => None,
            };
            if !id.is_empty() {
                self.vault.forget_compose(id)?;
            }
            draft
        };
        match draft {
            Some(d) => match self.delete(&d).await {
                Err(ClientError::NotFound(_)) => Ok(()),
                other => other.map(|_| ()),
            },
            None => Ok(()),
        }
    }

    /// The compose for a draft of the Drafts folder: the one already open for it, if any,
    /// else a new one that saves to the same draft.
    pub fn compose_for_draft(&self, draft_id: &str) -> Result<Compose> {
        let draft = self.vault.message(draft_id)?;
        if draft.summary.folder != Folder::Drafts {
            return Err(ClientError::NotFound("draft"));
        }
        let open = self
            .composes()?
            .into_iter()
            .find(|c| draft.summary.client_ref.as_deref() == Some(c.id.as_str()))
            .or_else(|| {
                self.composes()
                    .ok()?
                    .into_iter()
                    .find(|c| c.draft_id.as_deref() == Some(draft_id))
            });
        if let Some(open) = open {
            return Ok(open);
        }
        Ok(Compose {
            id: draft.summary.client_ref.clone().unwrap_or_else(new_ref),
            mode: draft.mode.unwrap_or_default(),
            to: draft.summary.to,
            cc: draft.summary.cc,
            to_groups: Vec::new(),
            subject: draft.summary.subject,
            body_text: draft.body_text,
            in_reply_to: draft.in_reply_to,
            draft_id: Some(draft.summary.id),
            files: Vec::new(),
            carried: draft.summary.attachments,
            refusal: None,
        })
    }

    /// Deletes a draft of the Drafts folder, with any compose open for it.
    pub async fn delete_draft(&self, draft_id: &str) -> Result<()> {
        let compose = self.compose_for_draft(draft_id)?;
        {
            let _one_at_a_time = self.flushing.lock().await;
            self.vault.forget_compose(&compose.id)?;
        }
        self.delete(draft_id).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::{forwarded, prefixed, quote};

    #[test]
    fn answers_do_not_stack_prefixes() {
        assert_eq!(prefixed("Re", "Care plan"), "Re: Care plan");
        assert_eq!(prefixed("Re", "RE: Care plan"), "RE: Care plan");
        assert_eq!(prefixed("Fwd", "Re: Care plan"), "Fwd: Re: Care plan");
        assert_eq!(prefixed("Re", ""), "Re: ");
    }

    #[test]
    fn the_original_is_quoted_line_by_line_under_who_wrote_it() {
        let q = quote(
            "case.worker@example.gov.uk",
            "2026-12-01T09:30:00Z",
            "Hello\nSee attached",
        );
        assert!(q.starts_with("\n\nOn 2026-12-01 "), "{q}");
        assert!(q.contains(", case.worker@example.gov.uk wrote:\n> Hello\n> See attached"));
    }

    #[test]
    fn a_forward_sets_the_original_out_under_a_header_not_a_quote() {
        let original: sealpost_proto::Message = serde_json::from_value(serde_json::json!({
            "id": "msg_1", "folder": "inbox", "from": "case.worker@example.gov.uk",
            "to": ["ann@partner.example"], "cc": ["lead@example.gov.uk"],
            "subject": "Care plan", "sent_at": "2026-12-01T09:30:00Z",
            "expires_at": "2027-03-01T09:30:00Z", "read": true, "attachments": [],
            "body_text": "Hello\nSee attached"
        }))
        .unwrap();
        let f = forwarded(&original);
        assert!(
            f.starts_with("\n\n---------- Forwarded message ----------\nSubject: Care plan\n"),
            "{f}"
        );
        assert!(f.contains("\nFrom: case.worker@example.gov.uk\nTo: ann@partner.example\nCc: lead@example.gov.uk\n"), "{f}");
        assert!(
            f.ends_with("\n\nHello\nSee attached"),
            "the text as it was, not quoted: {f}"
        );
    }
}
