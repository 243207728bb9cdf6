//! Notification emails, collapsed per mailbox: the messages that arrive for someone are
//! counted, and one email says how many, at most one per `limits.notification_minutes`. A
//! person sent 10,000 messages gets a handful of emails, not 10,000, and a pending mailbox
//! gets one registration link at a time instead of one per message.

use chrono::Duration;

use crate::error::Result;
use crate::hub::Hub;
use crate::mail::templates;
use crate::store::LinkPurpose;

impl Hub {
    /// Turns the notifications that are due into emails in the queue; returns how many.
    /// One mailbox whose email cannot be made is logged and left to its next turn (the
    /// claim lapses); it never keeps the others' emails back.
    pub async fn queue_notifications(&self) -> Result<usize> {
        let now = self.now();
        let due = self
            .store
            .write(move |tx| tx.claim_due_notifications(now, Duration::minutes(2), 500))
            .await?;
        let mut queued = 0;
        for (account_id, email, status, waiting) in due {
            match self
                .queue_notification(account_id.clone(), email, &status, waiting)
                .await
            {
                Ok(made) => queued += usize::from(made),
                Err(e) => {
                    tracing::error!(account = %account_id, error = %e, "a notification email could not be made");
                }
            }
        }
        Ok(queued)
    }

    /// Queues the email for one mailbox's `waiting` messages; whether one was made.
    async fn queue_notification(
        &self,
        account_id: String,
        email: String,
        status: &str,
        waiting: u32,
    ) -> Result<bool> {
        let now = self.now();
        let interval = Duration::minutes(self.config.limits.notification_minutes);
        let org = &self.config.org_name;
        let (link, message) = match status {
            "pending" => {
                let link = self.prepare_link(LinkPurpose::Register);
                let message = templates::invitation(org, &link.url, link.expires_at, waiting);
                (Some(link), Some(message))
            }
            "active" => (None, Some(templates::new_message(org, waiting))),
            // Disabled meanwhile: nothing to tell.
            _ => (None, None),
        };
        let sealed = message.map(|m| self.seal_email(&email, m)).transpose()?;
        let made = sealed.is_some();
        self.store
            .write(move |tx| {
                if let Some(link) = &link {
                    tx.insert_link(&link.hash, link.purpose, &account_id, now, link.expires_at)?;
                }
                if let Some(sealed) = &sealed {
                    tx.enqueue_mail(&email, "notification", sealed, now)?;
                }
                if sealed.is_some() {
                    tx.note_notified(&account_id, now)?;
                }
                tx.notification_sent(&account_id, waiting, now, interval)
            })
            .await?;
        Ok(made)
    }
}
