//! Delivering queued email: notifications, security notices and messages to staff leave
//! the mail queue in batches, each claimed for a while so that two processes never send
//! one email twice; failures are retried for about ten hours, then given up and audited.

use std::{io::Read, sync::Arc};

use chrono::Duration;

use crate::clock::to_millis;
use crate::error::Result;
use crate::hub::Hub;
use crate::mail::templates::Email;

/// Attempts before a queued email is given up (about 10 hours of retries).
pub const MAX_MAIL_ATTEMPTS: u32 = 14;

/// Emails claimed at a time; batches follow each other until the queue is empty.
const MAIL_BATCH: u32 = 20;

/// How long a claim keeps other senders (another `serve`, a `sealpost-hub send`) off a
/// batch: long enough for twenty emails of 75 MB over a slow relay, after which a crashed
/// sender's batch is taken up again.
const MAIL_LEASE_MINUTES: i64 = 15;

/// Reads an email kept in memory without copying it out of its zeroised wrapper.
struct SensitiveReader(Arc<crate::crypto::Sensitive<Vec<u8>>>, usize);

impl Read for SensitiveReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rest = &self.0.expose()[self.1..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.1 += n;
        Ok(n)
    }
}

impl Hub {
    /// An email composed and sealed to the master key, ready for the mail queue (it may
    /// hold a one-time link, so it is never stored in the clear).
    pub(crate) fn seal_email(&self, to: &str, email: Email) -> Result<Vec<u8>> {
        let raw = self.mailer.compose(to, &email.subject, email.text)?;
        Ok(self.master.seal(&raw)?)
    }

    /// Queues one of the hub's emails (`kind` for the queue's order: see `enqueue_mail`)
    /// and wakes the mail worker.
    pub(crate) async fn queue_email(
        &self,
        to: &str,
        kind: &'static str,
        email: Email,
    ) -> Result<()> {
        let sealed = self.seal_email(to, email)?;
        let (to, now) = (to.to_owned(), self.now());
        self.store
            .write(move |tx| tx.enqueue_mail(&to, kind, &sealed, now))
            .await?;
        self.mail_queued();
        Ok(())
    }

    /// Sends every email that is due, the notifications due first turned into emails, in
    /// batches until none is left (security emails first). Returns how many went out.
    pub async fn deliver_mail(&self) -> Result<usize> {
        if let Err(e) = self.queue_notifications().await {
            // The emails already queued still go out.
            tracing::error!(error = %e, "notifications could not be queued");
        }
        let mut sent = 0;
        loop {
            let now = self.now();
            let due = self
                .store
                .write(move |tx| {
                    tx.claim_due_mail(now, Duration::minutes(MAIL_LEASE_MINUTES), MAIL_BATCH)
                })
                .await?;
            let whole = due.len() == MAIL_BATCH as usize;
            sent += self.deliver_batch(due).await?;
            if !whole {
                return Ok(sent);
            }
        }
    }

    /// Sends a batch of claimed emails; returns how many went out.
    async fn deliver_batch(&self, due: Vec<crate::store::QueuedMail>) -> Result<usize> {
        let mut sent = 0;
        for mut mail in due {
            // The batch's lease may have run out behind a slow relay: renewed before each
            // email, which another process may have claimed meanwhile (then it sends it).
            let (id, held, until) = (
                mail.id,
                mail.claimed_until,
                to_millis(self.now() + Duration::minutes(MAIL_LEASE_MINUTES)),
            );
            if !self
                .store
                .write(move |tx| tx.renew_mail_claim(id, held, until))
                .await?
            {
                continue;
            }
            mail.claimed_until = until;
            // A notification is small and sealed in its row; an email to staff, with its
            // attachments, streams from its sealed file.
            let content: crate::mail::Content = if mail.blob.is_empty() {
                let raw = Arc::new(self.master.open(&mail.sealed)?);
                Arc::new(move || {
                    Ok(Box::new(SensitiveReader(raw.clone(), 0)) as Box<dyn Read + Send>)
                })
            } else {
                let (key, blobs, name) = (
                    self.master.clone_key(),
                    self.blobs.clone(),
                    mail.blob.clone(),
                );
                Arc::new(move || {
                    key.open_stream(blobs.open(&name)?)
                        .map(|r| Box::new(r) as Box<dyn Read + Send>)
                        .map_err(std::io::Error::other)
                })
            };
            let name = format!("{:013}-{:06}", to_millis(self.now()), mail.id);
            let recipients: Vec<String> = mail.recipient.split(',').map(str::to_owned).collect();
            let outcome = self.mailer.deliver(&recipients, content, &name).await;
            let now = self.now();
            let attempts = mail.attempts + 1;
            match outcome {
                Ok(()) => {
                    sent += 1;
                    let (id, message_id) = (mail.id, mail.message_id.clone());
                    self.store
                        .write(move |tx| {
                            tx.mail_sent(id, now)?;
                            if !message_id.is_empty() {
                                tx.set_delivery(&message_id, "delivered", "")?;
                            }
                            Ok(())
                        })
                        .await?;
                    self.remove_blobs(&[mail.blob]);
                }
                Err(error) if error.permanent || attempts >= MAX_MAIL_ATTEMPTS => {
                    tracing::warn!(queue_id = mail.id, attempts, error = %error.message, "email delivery failed for good");
                    let (id, message_id, recipient) =
                        (mail.id, mail.message_id.clone(), mail.recipient.clone());
                    self.store
                        .write(move |tx| {
                            tx.mail_abandoned(id, &error.message, now)?;
                            if !message_id.is_empty() {
                                tx.set_delivery(&message_id, "failed", &error.message)?;
                            }
                            tx.audit(
                                now,
                                "mail_failed",
                                &recipient,
                                "",
                                &format!("gave up: {}", error.message),
                            )
                        })
                        .await?;
                    self.remove_blobs(&[mail.blob]);
                }
                Err(error) => {
                    // 1, 2, 4 … minutes, at most an hour apart.
                    let wait = Duration::minutes(1 << mail.attempts.min(6));
                    tracing::warn!(queue_id = mail.id, attempts, error = %error.message, "email delivery failed; will retry");
                    let (id, message_id, recipient) =
                        (mail.id, mail.message_id.clone(), mail.recipient.clone());
                    let retry_at = now + wait;
                    self.store
                        .write(move |tx| {
                            tx.mail_failed(id, &error.message, retry_at)?;
                            if !message_id.is_empty() {
                                let detail = format!(
                                    "Not delivered yet; trying again at {} UTC. {}",
                                    retry_at.format("%H:%M"),
                                    error.message
                                );
                                tx.set_delivery(&message_id, "queued", &detail)?;
                            }
                            tx.audit(now, "mail_failed", &recipient, "", &error.message)
                        })
                        .await?;
                }
            }
        }
        Ok(sent)
    }
}
