//! What hub admins do from the CLI: users, org tokens, the audit log, figures.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::crypto::{hash_token, new_id, new_token, Sensitive};
use crate::error::{Error, Result};
use crate::hub::{Caller, Hub};
use crate::store::{AccountStatus, AuditEntry, OrgToken, Stats};

/// One user as admins see it. No secrets.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    /// Address.
    pub email: String,
    /// `pending`, `active` or `disabled`.
    pub status: &'static str,
    /// Locked until then, if a lock is in force.
    pub locked_until: Option<DateTime<Utc>>,
    /// Consecutive failed sign-ins.
    pub failed_sign_ins: u32,
    /// When the mailbox was created.
    pub created_at: DateTime<Utc>,
    /// When the person registered.
    pub registered_at: Option<DateTime<Utc>>,
    /// Last successful sign-in.
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// Messages in the inbox.
    pub inbox: u64,
    /// Of which unread.
    pub unread: u64,
    /// Devices signed in.
    pub sessions: u32,
    /// Two-step sign-in is on (`user reset-mfa` turns it off).
    pub mfa: bool,
    /// A shared mailbox without a password of its own (`mailbox shared-only`).
    pub shared_only: bool,
    /// The addresses of the people who work this mailbox as its delegates.
    pub delegates: Vec<String>,
    /// The shared mailboxes this person works as a delegate.
    pub delegate_of: Vec<String>,
}

/// An org token as listed (the secret is shown only at creation).
#[derive(Debug, Clone, Serialize)]
pub struct TokenView {
    /// Id, for `token revoke`.
    pub id: String,
    /// Name given at creation.
    pub name: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Last use.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revocation time, if revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<OrgToken> for TokenView {
    fn from(t: OrgToken) -> Self {
        Self {
            id: t.id,
            name: t.name,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
        }
    }
}

/// A newly created org token: the secret is in here and nowhere else.
#[derive(Debug)]
pub struct CreatedToken {
    /// Its id.
    pub id: String,
    /// The bearer secret, to hand to the sending system.
    pub token: Sensitive<String>,
}

impl Hub {
    fn user_not_found(email: &str) -> Error {
        Error::UnknownUser(email.to_owned())
    }

    /// Every user.
    pub async fn users(&self) -> Result<Vec<UserView>> {
        let now = self.now();
        let idle = Duration::minutes(self.config.security.idle_timeout_minutes);
        self.store
            .read(move |tx| {
                tx.accounts()?
                    .into_iter()
                    .map(|a| {
                        let guard = tx.guard(&a.email)?;
                        let (inbox, unread) = tx.inbox_counts(&a.id)?;
                        Ok(UserView {
                            status: a.status.as_str(),
                            // The address's lock, or a trusted device's (whichever ends last).
                            locked_until: guard
                                .locked_until
                                .filter(|u| *u > now)
                                .max(tx.device_lock(&a.id, now)?),
                            failed_sign_ins: guard.failures,
                            created_at: a.created_at,
                            registered_at: a.registered_at,
                            last_sign_in_at: a.last_sign_in_at,
                            inbox,
                            unread,
                            sessions: tx.live_session_count(&a.id, now, idle)?,
                            mfa: tx.mfa(&a.id)?.is_some_and(|m| m.enabled_at.is_some()),
                            shared_only: a.shared_only,
                            delegates: tx
                                .delegates_of(&a.id)?
                                .into_iter()
                                .map(|d| d.person_email)
                                .collect(),
                            delegate_of: tx
                                .delegations_of(&a.id)?
                                .into_iter()
                                .map(|d| d.mailbox_email)
                                .collect(),
                            email: a.email,
                        })
                    })
                    .collect()
            })
            .await
    }

    /// One user.
    pub async fn user(&self, email: &str) -> Result<UserView> {
        let email = self.email(email)?;
        self.users()
            .await?
            .into_iter()
            .find(|u| u.email == email)
            .ok_or_else(|| Self::user_not_found(&email))
    }

    /// Clears every lock and failure count of a user (their trusted devices' too), and
    /// opens the owner's window: for a while, failures from elsewhere lock only the client
    /// IP they come from (see [`Hub::sign_in`]).
    pub async fn unlock_user(&self, email: &str, caller: &Caller) -> Result<()> {
        let window = Duration::minutes(self.config.security.owner_window_minutes);
        self.admin_change(email, caller, "unlocked", move |tx, account, now| {
            tx.clear_guards_of(&account.email)?;
            tx.clear_device_locks(&account.id)?;
            tx.set_owner_window(&account.id, now + window)
        })
        .await
    }

    /// Disables a user and signs them out everywhere.
    pub async fn disable_user(&self, email: &str, caller: &Caller) -> Result<()> {
        self.admin_change(email, caller, "disabled", |tx, account, now| {
            tx.set_account_status(&account.id, AccountStatus::Disabled)?;
            tx.revoke_account_sessions(&account.id, now)?;
            // A shared mailbox switched off ends its delegates' sessions on it as well, so
            // that enabling it again does not bring them back to life.
            tx.revoke_mailbox_sessions(&account.id, now)?;
            Ok(())
        })
        .await
    }

    /// Re-enables a disabled user (pending again if they never registered).
    pub async fn enable_user(&self, email: &str, caller: &Caller) -> Result<()> {
        self.admin_change(email, caller, "enabled", |tx, account, _| {
            // A shared-only mailbox has no password by design, and is not waiting for one.
            let status = if account.password_hash.is_empty() && !account.shared_only {
                AccountStatus::Pending
            } else {
                AccountStatus::Active
            };
            tx.set_account_status(&account.id, status)
        })
        .await
    }

    /// Deletes a user with their mailbox, messages and attachment files.
    pub async fn delete_user(&self, email: &str, caller: &Caller) -> Result<()> {
        let email = self.email(email)?;
        let now = self.now();
        let ip = caller.ip.clone();
        let blobs = self
            .store
            .write(move |tx| {
                let account = tx
                    .account_by_email(&email)?
                    .ok_or_else(|| Self::user_not_found(&email))?;
                // A shared-only mailbox must keep someone who can work it.
                for d in tx.delegations_of(&account.id)? {
                    let shared_only = tx
                        .account_by_id(&d.mailbox_id)?
                        .is_some_and(|m| m.shared_only);
                    if shared_only && tx.delegates_of(&d.mailbox_id)?.len() == 1 {
                        return Err(Error::Conflict(format!(
                            "{email} is the last delegate of the shared-only mailbox {}: \
                             nobody could work it any more. Add someone else to it first \
                             (admin mailbox add-delegate); nothing was deleted",
                            d.mailbox_email
                        )));
                    }
                }
                let blobs = tx.delete_account(&account.id)?;
                tx.clear_guard(&email)?;
                tx.audit(
                    now,
                    "user_deleted",
                    &email,
                    &ip,
                    &format!("{} attachment files", blobs.len()),
                )?;
                Ok(blobs)
            })
            .await?;
        for blob in blobs {
            let _ = self.blobs.remove(&blob);
        }
        Ok(())
    }

    async fn admin_change(
        &self,
        email: &str,
        caller: &Caller,
        event: &'static str,
        change: impl Fn(&crate::store::Tx, &crate::store::Account, DateTime<Utc>) -> Result<()>
            + Send
            + 'static,
    ) -> Result<()> {
        let email = self.email(email)?;
        let now = self.now();
        let ip = caller.ip.clone();
        self.store
            .write(move |tx| {
                let account = tx
                    .account_by_email(&email)?
                    .ok_or_else(|| Self::user_not_found(&email))?;
                change(tx, &account, now)?;
                tx.audit(now, event, &email, &ip, "")
            })
            .await
    }

    /// Creates an org API token; its secret is returned once and stored only hashed.
    pub async fn create_org_token(&self, name: &str, caller: &Caller) -> Result<CreatedToken> {
        let name = name.trim().to_owned();
        if name.is_empty() {
            return Err(Error::BadRequest(
                "give the token a name with --name".into(),
            ));
        }
        let id = new_id(self.entropy.as_ref(), "tok_");
        let token = new_token(self.entropy.as_ref(), "spo_");
        let hash = hash_token(token.expose());
        let now = self.now();
        let ip = caller.ip.clone();
        let token_id = id.clone();
        self.store
            .write(move |tx| {
                tx.insert_org_token(&token_id, &name, &hash, now)?;
                tx.audit(
                    now,
                    "org_token_created",
                    "",
                    &ip,
                    &format!("{token_id} {name}"),
                )
            })
            .await?;
        Ok(CreatedToken { id, token })
    }

    /// Every org token.
    pub async fn org_tokens(&self) -> Result<Vec<TokenView>> {
        Ok(self
            .store
            .read(|tx| tx.org_tokens())
            .await?
            .into_iter()
            .map(TokenView::from)
            .collect())
    }

    /// Revokes an org token.
    pub async fn revoke_org_token(&self, id: &str, caller: &Caller) -> Result<()> {
        let id = id.trim().to_owned();
        let now = self.now();
        let ip = caller.ip.clone();
        self.store
            .write(move |tx| {
                if !tx.revoke_org_token(&id, now)? {
                    return Err(Error::Other(format!(
                        "there is no live org token with id {id}"
                    )));
                }
                tx.audit(now, "org_token_revoked", "", &ip, &id)
            })
            .await
    }

    /// Checks an org token; `Ok(id)` if it is live.
    pub async fn authenticate_org(&self, token: &str) -> Result<String> {
        let hash = hash_token(token);
        let now = self.now();
        self.store
            .write(move |tx| tx.use_org_token(&hash, now))
            .await?
            .ok_or(Error::Unauthenticated)
    }

    /// Audit entries since `since`.
    pub async fn audit_log(&self, since: DateTime<Utc>) -> Result<Vec<AuditEntry>> {
        self.store.read(move |tx| tx.audit_since(since)).await
    }

    /// Figures for the whole hub.
    pub async fn stats(&self) -> Result<Stats> {
        let now = self.now();
        self.store.read(move |tx| tx.stats(now)).await
    }
}
