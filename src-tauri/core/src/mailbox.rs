//! One mailbox opened: its vault, its hub connection and its sync, and what a person does
//! with it that is neither writing (`compose.rs`, `outbox/`) nor locking (`lock.rs`):
//! signing in and out, opening, marking and deleting messages.

use std::sync::Arc;

use crate::accounts::{device_name, AccountRecord};
use crate::error::Result;
use crate::hub::HubClient;
use crate::keyring::{remember_name, SecretStore};
use crate::sync::Syncer;
use crate::vault::Vault;
use sealpost_proto::Folder;

/// Now, in milliseconds since 1970 (the vault's timestamps).
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// An account opened: its vault, its hub connection, its syncer.
pub struct Mailbox {
    /// Which account.
    pub account: AccountRecord,
    /// Its vault.
    pub vault: Vault,
    /// Its hub.
    pub hub: Arc<HubClient>,
    /// Its sync.
    pub syncer: Syncer,
    pub(crate) keyring: Arc<dyn SecretStore>,
    pub(crate) locked: std::sync::atomic::AtomicBool,
    pub(crate) progress: std::sync::Mutex<Option<Progress>>,
    /// One flush of the outbox at a time (the app, sync and a send may all start one).
    pub(crate) flushing: tokio::sync::Mutex<()>,
    /// A lock (with the save of the compose it holds) and an unlock one after the other:
    /// an unlock never runs before a lock under way has finished.
    pub(crate) locking: tokio::sync::Mutex<()>,
    /// Wrong passwords at the lock screen, and when the next may be tried.
    pub(crate) unlock_failures: std::sync::Mutex<(u32, Option<std::time::Instant>)>,
    /// The clock those waits are measured by; tests move it.
    pub wait_clock: crate::lock::WaitClock,
}

/// Hears how a transfer goes: (file name, bytes so far, total bytes).
pub type Progress = Arc<dyn Fn(&str, u64, u64) + Send + Sync>;

impl std::fmt::Debug for Mailbox {
    /// The account only: a mailbox's vault, keys and sessions are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("id", &self.account.id)
            .field("email", &self.account.email)
            .finish_non_exhaustive()
    }
}

impl Mailbox {
    /// Signs in to the hub. With `remember_me` the refresh token is kept in the keyring.
    pub async fn sign_in(&self, password: &str, remember_me: bool) -> Result<()> {
        self.sign_in_with_code(password, None, remember_me).await
    }

    /// As [`Mailbox::sign_in`], with the second step of an account that has two-step
    /// sign-in (the authenticator's code, or a recovery code).
    ///
    /// # Errors
    /// `MfaRequired` when the account has two-step sign-in and no code was given (the
    /// password was right: ask for the code and call again); `MfaCodeWrong`; the other
    /// sign-in refusals.
    pub async fn sign_in_with_code(
        &self,
        password: &str,
        mfa_code: Option<&str>,
        remember_me: bool,
    ) -> Result<()> {
        // A named delegate signs in with their own address; the session is the mailbox's.
        let (email, mailbox) = match &self.account.person {
            Some(person) => (person.as_str(), Some(self.account.email.as_str())),
            None => (self.account.email.as_str(), None),
        };
        let session = self
            .hub
            .sign_in_with_code(
                email,
                password,
                mfa_code,
                remember_me,
                &device_name(),
                mailbox,
            )
            .await?;
        if !remember_me {
            // Only once signed in: a mistyped password must not cost the device its
            // Remember me (a scheduled sync would stop).
            self.keyring.delete(&remember_name(&self.account.id))?;
        }
        // The password was right: whatever the idle lock held back may go on.
        self.lift_lock();
        self.keep_account_info(&session.account)?;
        self.keep_verifier(password).await
    }

    /// Keeps what the hub said about the account (its domains and limits) in the vault, so
    /// that checks work offline and after a restart.
    pub(crate) fn keep_account_info(&self, info: &sealpost_proto::AccountInfo) -> Result<()> {
        self.vault.set_setting(
            "org_domains",
            &serde_json::to_string(&info.org_domains).expect("BUG: domains serialise"),
        )?;
        self.vault.set_setting(
            "signed_in_as",
            &serde_json::to_string(&info.signed_in_as).expect("BUG: a person serialises"),
        )?;
        self.vault.set_setting(
            "limits",
            &serde_json::to_string(&info.limits).expect("BUG: limits serialise"),
        )
    }

    /// On a shared mailbox worked as a named delegate: who this computer's person is there
    /// (their address and name, as the hub said at the last sign-in).
    pub fn signed_in_as(&self) -> Option<sealpost_proto::Person> {
        let person = self.account.person.as_ref()?;
        self.vault
            .setting("signed_in_as")
            .ok()
            .flatten()
            .and_then(|kept| serde_json::from_str::<Option<sealpost_proto::Person>>(&kept).ok())
            .flatten()
            .or_else(|| {
                Some(sealpost_proto::Person {
                    email: person.clone(),
                    name: person.clone(),
                })
            })
    }

    /// How the mailbox is shown: its address, and on a shared mailbox who this person is
    /// there: "care.referrals@partner.org — you are Alice Smith".
    pub fn label(&self) -> String {
        match self.signed_in_as() {
            Some(me) => format!("{} — you are {}", self.account.email, me.name),
            None => self.account.email.clone(),
        }
    }

    /// Keeps the domains and limits a Remember-me refresh brought, if one happened: a
    /// remembered device learns a hub's new limits without a password sign-in.
    pub fn keep_refreshed_account_info(&self) -> Result<()> {
        match self.hub.account() {
            Some(info) => self.keep_account_info(&info),
            None => Ok(()),
        }
    }

    /// Reports uploads and downloads to `progress` from now on (`None`: silence).
    pub fn set_progress(&self, progress: Option<Progress>) {
        *self.progress.lock().expect("BUG: poisoned") = progress;
    }

    /// The progress listener for a transfer of `name`.
    pub(crate) fn progress_for(&self, name: &str) -> impl FnMut(u64, u64) + Send + 'static {
        let listener = self.progress.lock().expect("BUG: poisoned").clone();
        let name = name.to_owned();
        move |done, total| {
            if let Some(l) = &listener {
                l(&name, done, total);
            }
        }
    }

    /// Marks a message read or unread: in the vault at once, at the hub now or, offline,
    /// when it answers again.
    pub async fn mark_read(&self, message_id: &str, read: bool) -> Result<()> {
        self.queue_read(message_id, read)?;
        self.flush_or_wait().await
    }

    /// Marks a message read or unread in the vault and queues the flag for the hub, without
    /// waiting for it: the next [`Mailbox::flush_outbox`] takes it there.
    pub fn queue_read(&self, message_id: &str, read: bool) -> Result<()> {
        self.vault.set_read(message_id, read)?;
        let payload = serde_json::json!({"id": message_id, "read": read}).to_string();
        self.vault
            .queue(crate::outbox::PATCH, &payload, &[], now_ms())?;
        Ok(())
    }

    /// Opens a message from the vault. An unread inbox message is marked read at once,
    /// without waiting for the network: the flag is queued, and the second value says so
    /// (the caller runs [`Mailbox::flush_outbox`] when it suits it).
    ///
    /// # Errors
    /// `NotFound` when the vault has no such message.
    pub fn open_message(&self, id: &str) -> Result<(sealpost_proto::Message, bool)> {
        let message = self.vault.message(id)?;
        let unread =
            !message.summary.read && message.summary.folder == sealpost_proto::Folder::Inbox;
        if unread {
            self.queue_read(id, true)?;
        }
        Ok((message, unread))
    }

    /// Deletes a message. From the inbox or Sent it moves to Deleted (where the 90-day rule
    /// still runs, and [`Mailbox::restore`] undoes it); from Deleted, and a draft, it goes
    /// for good. In the vault at once, at the hub now or, offline, when it answers again
    /// (other devices hear of it by sync). The line a recall left goes for good, from this
    /// device only. Returns whether it went for good.
    ///
    /// # Errors
    /// `NotFound` when the vault has no such message; vault errors.
    pub async fn delete(&self, message_id: &str) -> Result<bool> {
        Ok(self.delete_many(&[message_id.to_owned()]).await? == 1)
    }

    /// Deletes several messages as [`Mailbox::delete`] does each, telling the hub in one
    /// go. Returns how many went for good (the rest moved to Deleted).
    ///
    /// A message no longer in the vault (a sync took it meanwhile) is passed over.
    ///
    /// # Errors
    /// `NotFound` when none of them is in the vault; vault errors.
    pub async fn delete_many(&self, message_ids: &[String]) -> Result<usize> {
        let mut for_good = 0;
        let mut found = 0;
        for id in message_ids {
            let summary = match self.vault.message(id) {
                Ok(m) => m.summary,
                Err(crate::ClientError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            found += 1;
            if summary.recalled_at.is_some() {
                // The line left by a recall is this device's alone: the hub has nothing.
                self.vault.remove_message(id)?;
                for_good += 1;
            } else if matches!(summary.folder, Folder::Deleted | Folder::Drafts) {
                self.vault.remove_message(id)?;
                let payload = serde_json::json!({"id": id}).to_string();
                self.vault.queue("delete", &payload, &[], now_ms())?;
                for_good += 1;
            } else {
                self.move_deleted(id, true)?;
            }
        }
        self.flush_or_wait().await?;
        if found == 0 && !message_ids.is_empty() {
            return Err(crate::ClientError::NotFound("message"));
        }
        Ok(for_good)
    }

    /// Moves a message from Deleted back to the folder it was deleted from (Undo).
    ///
    /// # Errors
    /// `NotFound` when the vault has no such message; vault errors.
    pub async fn restore(&self, message_id: &str) -> Result<()> {
        self.restore_many(&[message_id.to_owned()]).await
    }

    /// Moves several messages from Deleted back where they came from, telling the hub in
    /// one go.
    ///
    /// # Errors
    /// `NotFound` when the vault has no such message; vault errors.
    pub async fn restore_many(&self, message_ids: &[String]) -> Result<()> {
        for id in message_ids {
            self.move_deleted(id, false)?;
        }
        self.flush_or_wait().await
    }

    /// Deletes every message in Deleted for good. Returns how many.
    ///
    /// # Errors
    /// Vault errors.
    pub async fn empty_deleted(&self) -> Result<usize> {
        let ids = self.vault.deleted_ids()?;
        self.delete_many(&ids).await
    }

    fn move_deleted(&self, message_id: &str, deleted: bool) -> Result<()> {
        self.vault.set_deleted(message_id, deleted)?;
        let payload = serde_json::json!({"id": message_id, "deleted": deleted}).to_string();
        self.vault
            .queue(crate::outbox::PATCH, &payload, &[], now_ms())?;
        Ok(())
    }

    async fn flush_or_wait(&self) -> Result<()> {
        match self.flush_outbox().await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == crate::Code::Offline => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Whether this device has a Remember-me token for the account.
    pub fn remembered(&self) -> Result<bool> {
        Ok(self
            .keyring
            .load(&remember_name(&self.account.id))?
            .is_some())
    }

    /// Signs out: saves `compose` (if it holds anything) as a draft first, and keeps it open
    /// for the next sign-in, then ends the session at the hub (when reachable) and deletes
    /// Remember me.
    pub async fn sign_out(&self, compose: Option<crate::compose::Compose>) -> Result<()> {
        if let Some(c) = compose.filter(crate::compose::Compose::has_content) {
            if let Err(e) = self.save_compose(c.clone(), true).await {
                // Offline, or the draft refused: it stays kept on this computer, and the
                // sign-out goes ahead.
                tracing::debug!(error = %e, "the compose stays on this computer");
                if let Err(e) = self.keep_compose(c) {
                    // Sent meanwhile, say: the sign-out goes ahead whatever became of it.
                    tracing::debug!(error = %e, "the compose was not kept");
                }
            }
        }
        self.hub.sign_out().await
    }
}

/// Runs vault work off the async runtime.
pub(crate) async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R> + Send + 'static,
) -> Result<R> {
    tokio::task::spawn_blocking(f).await?
}
