use super::sql::params;
use chrono::{DateTime, Duration, Utc};

use super::Tx;
use crate::clock::to_millis;
use crate::error::Result;

/// An email waiting to go out.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    /// Queue id.
    pub id: i64,
    /// Envelope recipient.
    pub recipient: String,
    /// The RFC 5322 text, sealed to the master key (empty when it is in `blob`).
    pub sealed: Vec<u8>,
    /// For staff deliveries: the Sent copy to update.
    pub message_id: String,
    /// For staff deliveries: the sealed email's file, relative to the blob directory.
    pub blob: String,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Until when this process holds it (ms since the epoch): the claim's token.
    pub claimed_until: i64,
}

impl Tx<'_> {
    /// Queues a staff delivery (a user's message as email) whose sealed text is in a file.
    pub fn enqueue_delivery(
        &self,
        recipients: &[String],
        message_id: &str,
        blob: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO mail_queue (created_at, recipient, kind, sealed, message_id, blob,              next_attempt_at) VALUES (?1, ?2, 'staff_delivery', x'', ?3, ?4, ?1)",
            params![to_millis(now), recipients.join(","), message_id, blob],
        )?;
        Ok(())
    }

    /// Queues an email for delivery now. Security emails (`lock_notice`, `reset`) go ahead
    /// of everything else, notifications after everything else.
    pub fn enqueue_mail(
        &self,
        recipient: &str,
        kind: &str,
        sealed: &[u8],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let priority = match kind {
            "lock_notice" | "reset" => 0,
            "notification" => 2,
            _ => 1,
        };
        self.0.execute(
            "INSERT INTO mail_queue (created_at, recipient, kind, sealed, next_attempt_at, priority) \
             VALUES (?1, ?2, ?3, ?4, ?1, ?5)",
            params![to_millis(now), recipient, kind, sealed, priority],
        )?;
        Ok(())
    }

    /// Counts a message arrived in a mailbox, for its next notification: due at once if
    /// none went in the last `interval`, else when the interval is over.
    pub fn note_arrival(
        &self,
        account_id: &str,
        now: DateTime<Utc>,
        interval: Duration,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO notifications (account_id, waiting, due_at) VALUES (?1, 1, ?2) \
             ON CONFLICT(account_id) DO UPDATE SET waiting = notifications.waiting + 1, \
             due_at = CASE WHEN notifications.due_at != 0 THEN notifications.due_at \
                 WHEN notifications.last_sent_at + ?3 > ?2 THEN notifications.last_sent_at + ?3 \
                 ELSE ?2 END",
            params![account_id, to_millis(now), interval.num_milliseconds()],
        )?;
        Ok(())
    }

    /// Claims the notifications due, for `lease` (another process does not take them
    /// meanwhile): `(account id, address, status, messages waiting)`.
    pub fn claim_due_notifications(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<(String, String, String, u32)>> {
        let mut stmt = self.0.prepare(&format!(
            "SELECT n.account_id, a.email, a.status, n.waiting FROM notifications n \
             JOIN accounts a ON a.id = n.account_id \
             WHERE n.waiting > 0 AND n.due_at != 0 AND n.due_at <= ?1 ORDER BY n.due_at LIMIT ?2{}",
            self.skip_locked("OF n")
        ))?;
        let due = stmt
            .query_map(params![to_millis(now), limit], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<Vec<(String, String, String, u32)>>>()?;
        for (account, ..) in &due {
            self.0.execute(
                "UPDATE notifications SET due_at = ?2 WHERE account_id = ?1",
                params![account, to_millis(now + lease)],
            )?;
        }
        Ok(due)
    }

    /// Takes back one message counted for `account_id`'s next notification (it was
    /// recalled before the notice went): with none left waiting, no notice goes.
    pub fn unnote_arrival(&self, account_id: &str) -> Result<()> {
        // (The CASEs read `waiting` as it was before this UPDATE.)
        self.0.execute(
            "UPDATE notifications SET \
             waiting = CASE WHEN waiting > 1 THEN waiting - 1 ELSE 0 END, \
             due_at = CASE WHEN waiting > 1 THEN due_at ELSE 0 END \
             WHERE account_id = ?1",
            [account_id],
        )?;
        Ok(())
    }

    /// Records a notification sent for `told` messages: those arrived since wait for the
    /// next one, an interval later.
    pub fn notification_sent(
        &self,
        account_id: &str,
        told: u32,
        now: DateTime<Utc>,
        interval: Duration,
    ) -> Result<()> {
        // (The CASE reads `waiting` as it was before this UPDATE.)
        self.0.execute(
            "UPDATE notifications SET \
             waiting = CASE WHEN waiting - ?2 > 0 THEN waiting - ?2 ELSE 0 END, last_sent_at = ?3, \
             due_at = CASE WHEN waiting - ?2 > 0 THEN CAST(?3 AS BIGINT) + ?4 ELSE 0 END \
             WHERE account_id = ?1",
            params![
                account_id,
                told,
                to_millis(now),
                interval.num_milliseconds()
            ],
        )?;
        Ok(())
    }

    /// Claims due emails for `lease`, so that another process does not send them too.
    pub fn claim_due_mail(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<QueuedMail>> {
        let now_ms = to_millis(now);
        let mut stmt = self.0.prepare(&format!(
            "SELECT id, recipient, sealed, attempts, message_id, blob FROM mail_queue \
             WHERE sent_at = 0 AND abandoned_at = 0 AND next_attempt_at <= ?1 \
             AND claimed_until <= ?1 \
             ORDER BY priority, id LIMIT ?2{}",
            self.skip_locked("")
        ))?;
        let due = stmt
            .query_map(params![now_ms, limit], |r| {
                Ok(QueuedMail {
                    id: r.get(0)?,
                    recipient: r.get(1)?,
                    sealed: r.get(2)?,
                    attempts: r.get(3)?,
                    message_id: r.get(4)?,
                    blob: r.get(5)?,
                    claimed_until: to_millis(now + lease),
                })
            })?
            .collect::<Result<Vec<_>>>()?;
        for mail in &due {
            self.0.execute(
                "UPDATE mail_queue SET claimed_until = ?2 WHERE id = ?1",
                params![mail.id, mail.claimed_until],
            )?;
        }
        Ok(due)
    }

    /// Holds a claimed email until `until` (ms since the epoch) if this process's claim
    /// (`held_until`) still stands and it is not sent: false when the lease ran out and
    /// another process claimed it since (it sends it, not this one).
    pub fn renew_mail_claim(&self, id: i64, held_until: i64, until: i64) -> Result<bool> {
        Ok(self.0.execute(
            "UPDATE mail_queue SET claimed_until = ?3 \
             WHERE id = ?1 AND claimed_until = ?2 AND sent_at = 0 AND abandoned_at = 0",
            params![id, held_until, until],
        )? == 1)
    }

    /// Marks an email delivered and drops its sealed text (the caller removes any file).
    pub fn mail_sent(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        self.0.execute(
            "UPDATE mail_queue SET sent_at = ?2, sealed = x'', blob = '', claimed_until = 0 \
             WHERE id = ?1",
            params![id, to_millis(now)],
        )?;
        Ok(())
    }

    /// Gives up on an email after too many attempts (the caller removes any file).
    pub fn mail_abandoned(&self, id: i64, error: &str, now: DateTime<Utc>) -> Result<()> {
        self.0.execute(
            "UPDATE mail_queue SET attempts = attempts + 1, last_error = ?2, abandoned_at = ?3, \
             sealed = x'', blob = '', claimed_until = 0 WHERE id = ?1",
            params![id, error, to_millis(now)],
        )?;
        Ok(())
    }

    /// Records a failed attempt and when to try again.
    pub fn mail_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<()> {
        self.0.execute(
            "UPDATE mail_queue SET attempts = attempts + 1, last_error = ?2, \
             next_attempt_at = ?3, claimed_until = 0 WHERE id = ?1",
            params![id, error, to_millis(retry_at)],
        )?;
        Ok(())
    }

    /// Emails not yet delivered.
    pub fn mail_backlog(&self) -> Result<u64> {
        let n: i64 = self.0.query_row(
            "SELECT count(*) FROM mail_queue WHERE sent_at = 0 AND abandoned_at = 0",
            [],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }
}
