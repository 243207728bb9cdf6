//! Registration, sign-in, sessions, lockout and password reset.

use chrono::{DateTime, Duration, Utc};
use sealpost_proto::{AccountInfo, RegistrationInfo, Session};

use crate::clock::rfc3339;
use crate::crypto::{hash_token, new_id, new_token, Sensitive};
use crate::error::{Error, Result};
use crate::hub::{Caller, Hub};
use crate::mail::templates;
use crate::store::{AccessCheck, Account, AccountStatus, GuardState, LinkPurpose, RefreshOutcome};

/// A one-time link made but not yet stored.
pub(crate) struct PreparedLink {
    /// The full address to put in an email.
    pub url: String,
    /// What the store keeps.
    pub hash: String,
    /// What it is for.
    pub purpose: LinkPurpose,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A signed-in caller of the mailbox API.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The account.
    pub account_id: String,
    /// The session family, ended by sign-out.
    pub family_id: String,
}

impl Hub {
    /// A new one-time link: the token for the email, its hash for the store, its expiry.
    pub(crate) fn prepare_link(&self, purpose: LinkPurpose) -> PreparedLink {
        let now = self.now();
        let security = &self.config.security;
        let expires_at = match purpose {
            LinkPurpose::Register => now + Duration::days(security.registration_link_days),
            LinkPurpose::Reset => now + Duration::minutes(security.reset_link_minutes),
        };
        let token = new_token(self.entropy.as_ref(), "");
        let path = match purpose {
            LinkPurpose::Register => "/register",
            LinkPurpose::Reset => "/reset",
        };
        PreparedLink {
            url: self.link(path, token.expose()),
            hash: hash_token(token.expose()),
            purpose,
            expires_at,
        }
    }

    async fn link_account(&self, token: &str, purpose: LinkPurpose) -> Result<Account> {
        let hash = hash_token(token.trim());
        let now = self.now();
        self.store
            .read(move |tx| tx.link_account(&hash, purpose, now))
            .await?
            .ok_or(Error::InvalidToken)
    }

    /// What the registration page shows for a link: the address and the rules.
    pub async fn registration_info(&self, token: &str) -> Result<RegistrationInfo> {
        let account = self.link_account(token, LinkPurpose::Register).await?;
        if account.status != AccountStatus::Pending {
            return Err(Error::InvalidToken);
        }
        Ok(RegistrationInfo {
            email: account.email,
            org_name: self.config.org_name.clone(),
            password_rules: self.passwords.rules(),
        })
    }

    /// The address a reset link is for.
    pub async fn reset_info(&self, token: &str) -> Result<RegistrationInfo> {
        let account = self.link_account(token, LinkPurpose::Reset).await?;
        Ok(RegistrationInfo {
            email: account.email,
            org_name: self.config.org_name.clone(),
            password_rules: self.passwords.rules(),
        })
    }

    /// The password rules in force.
    pub fn password_rules(&self) -> sealpost_proto::PasswordRules {
        self.passwords.rules()
    }

    async fn hash_password(&self, password: &str) -> Result<String> {
        let hasher = self.hasher.clone();
        let entropy = self.entropy.clone();
        let secret = Sensitive::new(password.to_owned());
        self.hash_pool
            .run(move || hasher.hash(secret.expose(), entropy.as_ref()))
            .await
            .ok_or(Error::RateLimited(2))?
            .map_err(Error::from)
    }

    /// Completes registration: sets the password, uses up the link.
    pub async fn register(&self, token: &str, password: &str, caller: &Caller) -> Result<String> {
        let hash = hash_token(token.trim());
        let now = self.now();
        let account = self
            .store
            .read(move |tx| tx.link_account(&hash, LinkPurpose::Register, now))
            .await?
            .ok_or(Error::InvalidToken)?;
        if account.status != AccountStatus::Pending {
            return Err(Error::AlreadyRegistered);
        }
        let failed = self.passwords.check(password, &account.email);
        if !failed.is_empty() {
            return Err(Error::WeakPassword(failed));
        }
        let password_hash = self.hash_password(password).await?;
        let ip = caller.ip.clone();
        let now = self.now();
        self.store
            .write(move |tx| {
                // Re-read inside the write: two tabs may race to register.
                let current = tx.account_by_id(&account.id)?.ok_or(Error::InvalidToken)?;
                if current.status != AccountStatus::Pending {
                    return Err(Error::AlreadyRegistered);
                }
                tx.complete_registration(&account.id, &password_hash, now)?;
                tx.delete_links(&account.id, LinkPurpose::Register)?;
                tx.audit(now, "registered", &account.email, &ip, "")?;
                Ok(account.email)
            })
            .await
    }

    /// Signs in with address and password, with rate limits, lockout and bounded hashing.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        remember_me: bool,
        device_name: Option<&str>,
        caller: &Caller,
    ) -> Result<Session> {
        let now = self.now();
        // Throttles answer before any hashing, so a flood costs almost nothing.
        self.sign_in_by_ip
            .hit(&caller.ip, now)
            .map_err(Error::RateLimited)?;
        let Some(email) = crate::policy::normalise_email(email) else {
            return Err(Error::InvalidCredentials);
        };
        self.sign_in_by_address
            .hit(&email, now)
            .map_err(Error::RateLimited)?;

        let lookup = email.clone();
        let (guard, account) = self
            .store
            .read(move |tx| Ok((tx.guard(&lookup)?, tx.account_by_email(&lookup)?)))
            .await?;
        if let Some(until) = guard.locked_until.filter(|u| *u > now) {
            return Err(Error::AccountLocked(until));
        }

        let stored = account
            .as_ref()
            .filter(|a| a.status != AccountStatus::Pending && !a.password_hash.is_empty())
            .map(|a| a.password_hash.clone());
        let hasher = self.hasher.clone();
        let secret = Sensitive::new(password.to_owned());
        // Argon2 is CPU- and memory-bound: it runs on the bounded hashing threads, and a
        // full queue answers 429 at once.
        let verified = self
            .hash_pool
            .run(move || match stored {
                Some(hash) => hasher.verify(&hash, secret.expose()),
                // Unknown or unregistered: the same work, the same answer as a wrong password.
                None => hasher.verify_decoy(secret.expose()),
            })
            .await
            .ok_or(Error::RateLimited(2))?;

        let now = self.now();
        let ip = caller.ip.clone();
        if !verified {
            let threshold = self.config.security.lockout_threshold;
            let lock_for = Duration::minutes(self.config.security.lockout_minutes);
            let failing = email.clone();
            let locked = self
                .store
                .write(move |tx| {
                    let mut guard = tx.guard(&failing)?;
                    guard.failures += 1;
                    tx.audit(now, "sign_in_failed", &failing, &ip, "")?;
                    let mut locked = None;
                    if guard.failures >= threshold {
                        let until = now + lock_for;
                        guard = GuardState {
                            failures: 0,
                            locked_until: Some(until),
                        };
                        locked = Some(until);
                        let detail = format!("until {}", rfc3339(until));
                        tx.audit(now, "locked", &failing, &ip, &detail)?;
                    }
                    tx.set_guard(&failing, &guard, now)?;
                    Ok(locked)
                })
                .await?;
            self.metrics.sign_in_failed();
            if let Some(until) = locked {
                self.metrics.lockout();
                if let Some(account) = account.filter(|a| a.status == AccountStatus::Active) {
                    self.send_lock_notice(&account, until).await?;
                }
                return Err(Error::AccountLocked(until));
            }
            return Err(Error::InvalidCredentials);
        }

        let account = account.expect("BUG: a verified password implies an account");
        if account.status == AccountStatus::Disabled {
            self.store
                .write(move |tx| tx.audit(now, "sign_in_refused_disabled", &email, &ip, ""))
                .await?;
            return Err(Error::AccountDisabled);
        }
        // The client names itself; the name goes into the audit log, so nothing in it may
        // break a line there.
        let device: String = device_name
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_control())
            .take(100)
            .collect();
        self.metrics.sign_in();
        self.issue_session(&account, remember_me, &device, None, caller)
            .await
    }

    async fn send_lock_notice(&self, account: &Account, until: DateTime<Utc>) -> Result<()> {
        let link = self.prepare_link(LinkPurpose::Reset);
        let email = templates::locked(&self.config.org_name, until, &link.url);
        let sealed = self.seal_email(&account.email, email)?;
        let (id, to, now) = (account.id.clone(), account.email.clone(), self.now());
        self.store
            .write(move |tx| {
                tx.insert_link(&link.hash, link.purpose, &id, now, link.expires_at)?;
                tx.enqueue_mail(&to, "lock_notice", &sealed, now)
            })
            .await?;
        self.mail_queued();
        Ok(())
    }

    /// Creates a session (and a refresh token with Remember me) for an account.
    async fn issue_session(
        &self,
        account: &Account,
        remember_me: bool,
        device: &str,
        family: Option<String>,
        caller: &Caller,
    ) -> Result<Session> {
        let now = self.now();
        let security = &self.config.security;
        let access = new_token(self.entropy.as_ref(), "spa_");
        let refresh = remember_me.then(|| new_token(self.entropy.as_ref(), "spr_"));
        let access_hash = hash_token(access.expose());
        let refresh_hash = refresh.as_ref().map(|r| hash_token(r.expose()));
        let max_expires = now + Duration::hours(security.session_max_hours);
        let refresh_expires = now + Duration::days(security.remember_me_days);
        let is_new_family = family.is_none();
        let family_id = family.unwrap_or_else(|| new_id(self.entropy.as_ref(), "fam_"));
        let account_id = account.id.clone();
        let email = account.email.clone();
        let device = device.to_owned();
        let ip = caller.ip.clone();
        self.store
            .write(move |tx| {
                if is_new_family {
                    tx.insert_family(&family_id, &account_id, &device, remember_me, now)?;
                    tx.clear_guard(&email)?;
                    tx.touch_sign_in(&account_id, now)?;
                    // Which device signed in tells apart the people sharing a mailbox.
                    let detail = match (device.trim(), remember_me) {
                        ("", true) => "remember_me".to_owned(),
                        ("", false) => String::new(),
                        (name, true) => format!("device: {name}; remember_me"),
                        (name, false) => format!("device: {name}"),
                    };
                    tx.audit(now, "sign_in", &email, &ip, &detail)?;
                } else {
                    tx.audit(now, "session_refreshed", &email, &ip, "")?;
                }
                tx.insert_access_token(&access_hash, &family_id, &account_id, now, max_expires)?;
                if let Some(hash) = &refresh_hash {
                    tx.insert_refresh_token(hash, &family_id, now, refresh_expires)?;
                }
                Ok(())
            })
            .await?;
        let idle_end = now + Duration::minutes(security.idle_timeout_minutes);
        Ok(Session {
            access_token: access.expose().clone(),
            expires_at: rfc3339(idle_end.min(max_expires)),
            refresh_token: refresh.map(|r| r.expose().clone()),
            account: self.account_info(&account.email),
        })
    }

    /// The account block of a session answer.
    pub(crate) fn account_info(&self, email: &str) -> AccountInfo {
        AccountInfo {
            email: email.to_owned(),
            org_name: self.config.org_name.clone(),
            org_domains: self.config.org_domains.clone(),
        }
    }

    /// Exchanges a refresh token for a new session and a new refresh token.
    pub async fn refresh(&self, refresh_token: &str, caller: &Caller) -> Result<Session> {
        let hash = hash_token(refresh_token.trim());
        let now = self.now();
        let ip = caller.ip.clone();
        let outcome = self
            .store
            .write(move |tx| {
                let outcome = tx.use_refresh_token(&hash, now)?;
                if let RefreshOutcome::Reused { account_id } = &outcome {
                    let email = tx
                        .account_by_id(account_id)?
                        .map(|a| a.email)
                        .unwrap_or_default();
                    tx.audit(
                        now,
                        "refresh_token_reused",
                        &email,
                        &ip,
                        "device signed out",
                    )?;
                }
                Ok(outcome)
            })
            .await?;
        match outcome {
            RefreshOutcome::Rotated {
                account_id,
                family_id,
            } => {
                let account = self
                    .store
                    .read(move |tx| tx.account_by_id(&account_id))
                    .await?
                    .ok_or(Error::InvalidToken)?;
                self.issue_session(&account, true, "", Some(family_id), caller)
                    .await
            }
            RefreshOutcome::Reused { .. } | RefreshOutcome::Invalid => Err(Error::InvalidToken),
        }
    }

    /// Resolves a bearer access token. Most calls only read; the idle window is slid at
    /// most every 30 seconds.
    pub async fn authenticate(&self, access_token: &str) -> Result<Authenticated> {
        let hash = hash_token(access_token);
        let now = self.now();
        let idle = Duration::minutes(self.config.security.idle_timeout_minutes);
        let lookup = hash.clone();
        let mut check = self
            .store
            .read(move |tx| tx.check_access(&lookup, now, idle, false))
            .await?;
        if matches!(check, AccessCheck::Valid { stale: true, .. }) {
            check = self
                .store
                .write(move |tx| tx.check_access(&hash, now, idle, true))
                .await?;
        }
        match check {
            AccessCheck::Valid {
                account_id,
                family_id,
                ..
            } => Ok(Authenticated {
                account_id,
                family_id,
            }),
            AccessCheck::Expired => Err(Error::SessionExpired),
            AccessCheck::Unknown => Err(Error::Unauthenticated),
        }
    }

    /// Signs out: the session's access and refresh tokens stop working.
    pub async fn sign_out(&self, who: &Authenticated, caller: &Caller) -> Result<()> {
        let now = self.now();
        let who = who.clone();
        let ip = caller.ip.clone();
        self.store
            .write(move |tx| {
                tx.revoke_family(&who.family_id, now)?;
                let email = tx
                    .account_by_id(&who.account_id)?
                    .map(|a| a.email)
                    .unwrap_or_default();
                tx.audit(now, "sign_out", &email, &ip, "")
            })
            .await
    }

    /// Starts a password reset. Always succeeds (unless throttled) whether or not the
    /// address is known; only a real account gets an email.
    pub async fn request_reset(&self, email: &str, caller: &Caller) -> Result<()> {
        let now = self.now();
        self.resets_by_ip
            .hit(&caller.ip, now)
            .map_err(Error::RateLimited)?;
        let Some(email) = crate::policy::normalise_email(email) else {
            return Ok(());
        };
        self.resets_by_address
            .hit(&email, now)
            .map_err(Error::RateLimited)?;
        let lookup = email.clone();
        let Some(account) = self
            .store
            .read(move |tx| tx.account_by_email(&lookup))
            .await?
        else {
            return Ok(());
        };
        let purpose = match account.status {
            AccountStatus::Active => LinkPurpose::Reset,
            AccountStatus::Pending => LinkPurpose::Register,
            AccountStatus::Disabled => return Ok(()),
        };
        let link = self.prepare_link(purpose);
        let org = &self.config.org_name;
        let message = match purpose {
            LinkPurpose::Reset => {
                templates::reset(org, &link.url, self.config.security.reset_link_minutes)
            }
            LinkPurpose::Register => templates::register_instead(org, &link.url, link.expires_at),
        };
        let sealed = self.seal_email(&account.email, message)?;
        let now = self.now();
        let ip = caller.ip.clone();
        self.store
            .write(move |tx| {
                if purpose == LinkPurpose::Reset {
                    // Only the newest reset link works.
                    tx.delete_links(&account.id, LinkPurpose::Reset)?;
                }
                tx.insert_link(&link.hash, purpose, &account.id, now, link.expires_at)?;
                tx.enqueue_mail(&account.email, "reset", &sealed, now)?;
                tx.audit(now, "reset_requested", &account.email, &ip, "")
            })
            .await?;
        self.mail_queued();
        Ok(())
    }

    /// Completes a reset: new password, every session ended, lock cleared.
    pub async fn confirm_reset(
        &self,
        token: &str,
        new_password: &str,
        caller: &Caller,
    ) -> Result<String> {
        let account = self.link_account(token, LinkPurpose::Reset).await?;
        let failed = self.passwords.check(new_password, &account.email);
        if !failed.is_empty() {
            return Err(Error::WeakPassword(failed));
        }
        let password_hash = self.hash_password(new_password).await?;
        let token_hash = hash_token(token.trim());
        let now = self.now();
        let ip = caller.ip.clone();
        self.store
            .write(move |tx| {
                // The link may have been used meanwhile in another tab.
                tx.link_account(&token_hash, LinkPurpose::Reset, now)?
                    .ok_or(Error::InvalidToken)?;
                tx.set_password_hash(&account.id, &password_hash)?;
                tx.delete_links(&account.id, LinkPurpose::Reset)?;
                let ended = tx.revoke_account_sessions(&account.id, now)?;
                tx.clear_guard(&account.email)?;
                tx.audit(
                    now,
                    "password_reset",
                    &account.email,
                    &ip,
                    &format!("{ended} sessions ended"),
                )?;
                Ok(account.email)
            })
            .await
    }
}
