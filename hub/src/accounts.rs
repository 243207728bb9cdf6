//! Registration, sign-in, sessions, lockout and password reset.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sealpost_proto::{AccountInfo, RegistrationInfo, Session, SignInRequest};
use unicode_normalization::UnicodeNormalization;

use crate::clock::rfc3339;
use crate::crypto::{hash_token, new_id, new_token, Sensitive};
use crate::error::{Error, Result, TriesLeft};
use crate::hub::{Caller, Hub};
use crate::mail::templates;
use crate::policy::nfkc;
use crate::store::{
    guard_key, AccessCheck, Account, AccountStatus, DeviceGuard, GuardState, LinkPurpose,
    PasswordForm, RefreshOutcome, Signer,
};

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

/// How long after answering a reset request its work starts (see [`Hub::request_reset`]).
const RESET_WORK_DELAY: std::time::Duration = std::time::Duration::from_millis(50);

/// What a failed sign-in got wrong: the audit log and the lock notice say which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wrong {
    /// The password.
    Password,
    /// The two-step code (the password was right).
    Code,
}

/// What the password check found.
enum Verdict {
    /// Not the password (or no such account).
    Wrong,
    /// The password; `rehash`: the stored hash is of another form of it and is renewed.
    Right { rehash: bool },
}

impl Verdict {
    fn from(right: bool, rehash: bool) -> Self {
        if right {
            Self::Right { rehash }
        } else {
            Self::Wrong
        }
    }
}

/// How to make a session.
struct NewSession<'a> {
    remember_me: bool,
    /// The device's name, for the audit log.
    device: &'a str,
    /// The family a refresh continues; `None`: a sign-in starts one.
    family: Option<String>,
    /// The guards to clear after a sign-in (the address's, unless a trusted device signed
    /// in; and this caller's count of tries, see [`tries_key`]).
    clear_guard: Vec<String>,
    /// The trusted device that signed in (its failures are forgiven).
    trusted_device: Option<String>,
    /// The refresh token this refresh consumed (it names its replacement).
    replaces: Option<String>,
    /// The named delegate opening a shared mailbox (`None`: the mailbox's own sign-in).
    person: Option<Account>,
}

/// A signed-in caller of the mailbox API.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The mailbox (its account id).
    pub account_id: String,
    /// The session family, ended by sign-out.
    pub family_id: String,
    /// The person and device: the mailbox's owner, or a named delegate.
    pub signer: Signer,
    /// Whether the person has two-step sign-in on (as the session was checked).
    pub mfa_on: bool,
    /// The client's IP address, for the audit log (empty outside HTTP).
    pub ip: String,
}

impl Authenticated {
    /// Whether a named delegate (not the mailbox's own sign-in) holds the session.
    pub fn is_delegate(&self) -> bool {
        self.signer.person_id != self.account_id
    }
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

    /// An Argon2id hash of the NFKC form of `password`.
    async fn hash_password(&self, password: &str) -> Result<String> {
        let hasher = self.hasher.clone();
        let entropy = self.entropy.clone();
        let secret = Sensitive::new(nfkc(password));
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
        let failed = self.passwords.broken_rules(password, &account.email);
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
                Ok(account.email.clone())
            })
            .await
    }

    /// Signs in with address and password, with rate limits, lockout and bounded hashing.
    ///
    /// Failures are counted so that they cannot be turned against the owner: a device that
    /// signed in to this account before (`device_token`) keeps a failure count and lock of
    /// its own, untouched by failures from anywhere else (OWASP, device cookies). Other
    /// devices share the address's count (three failures lock it for 30 minutes) — except in
    /// the owner's window after a reset or an admin's unlock, when each client IP has its own.
    pub async fn sign_in(&self, request: &SignInRequest, caller: &Caller) -> Result<Session> {
        // What the client said of itself goes with a failure into the audit log.
        let caller = &Caller {
            device: clean_device_name(request.device_name.as_deref()),
            mailbox: request
                .mailbox
                .as_deref()
                .and_then(|m| sealpost_proto::address::normalise(m).ok())
                .unwrap_or_default(),
            ..caller.clone()
        };
        let (email, password) = (request.email.as_str(), request.password.as_str());
        let (remember_me, device_name, device_token) = (
            request.remember_me,
            request.device_name.as_deref(),
            request.device_token.as_deref(),
        );
        let now = self.now();
        // Throttles answer before any hashing, so a flood costs almost nothing.
        self.sign_in_by_ip
            .hit(&caller.network(), now)
            .await
            .map_err(Error::RateLimited)?;
        let Ok(email) = sealpost_proto::address::normalise(email) else {
            // Not an address at all: nothing to count.
            return Err(Error::InvalidCredentials(None));
        };
        if password.is_empty() {
            // Never anyone's password: a client with no password at hand, not a guess.
            return Err(Error::BadRequest(
                "The password is empty; nothing was checked. Type the password.".into(),
            ));
        }

        let device_hash = device_token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(hash_token);
        let (lookup, offered) = (email.clone(), device_hash.clone());
        let (account, device) = self
            .store
            .read(move |tx| {
                let account = tx.account_by_email(&lookup)?;
                let device = match (&account, &offered) {
                    (Some(a), Some(hash)) => tx.device(hash, &a.id)?,
                    _ => None,
                };
                Ok((account, device))
            })
            .await?;
        let trusted = device.as_ref().and(device_hash);
        let owner_window = account
            .as_ref()
            .and_then(|a| a.owner_window_until)
            .is_some_and(|until| until > now);
        let guard_key = guard_key(&email, &caller.network(), owner_window);
        match (&trusted, &device) {
            (Some(hash), Some(device)) => {
                self.sign_in_by_device
                    .hit(hash, now)
                    .await
                    .map_err(Error::RateLimited)?;
                if let Some(until) = device.locked_until.filter(|u| *u > now) {
                    return Err(Error::AccountLocked(until));
                }
            }
            _ => {
                // Keyed on what the caller controls: a flood from elsewhere never slows
                // the owner down.
                self.sign_in_by_address
                    .hit(&format!("{email}|{}", caller.network()), now)
                    .await
                    .map_err(Error::RateLimited)?;
                let key = guard_key.clone();
                let guard = self.store.read(move |tx| tx.guard(&key)).await?;
                if let Some(until) = guard.locked_until.filter(|u| *u > now) {
                    return Err(Error::AccountLocked(until));
                }
            }
        }

        let stored = account
            .as_ref()
            .filter(|a| a.status != AccountStatus::Pending && !a.password_hash.is_empty())
            .map(|a| (a.password_hash.clone(), a.password_form));
        let verdict = self.check_password(stored, password).await?;

        let now = self.now();
        let ip = caller.ip.clone();
        let Verdict::Right { rehash } = verdict else {
            return self
                .failed_sign_in(
                    &email,
                    account,
                    trusted,
                    (guard_key, owner_window),
                    Wrong::Password,
                    caller,
                )
                .await;
        };

        let account = account.expect("BUG: a verified password implies an account");
        if account.status == AccountStatus::Disabled {
            self.store
                .write(move |tx| tx.audit(now, "sign_in_refused_disabled", &email, &ip, ""))
                .await?;
            return Err(Error::AccountDisabled);
        }
        if self.mfa_enabled(&account.id).await? {
            // The password alone proves nothing yet: the second step is asked for, and a
            // wrong one counts toward the lock as a wrong password does.
            let Some(code) = request
                .mfa_code
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
            else {
                return Err(Error::MfaRequired);
            };
            if !crate::mfa::plausible_second_step(code) {
                // Five digits, say: told, not counted toward the lock.
                return Err(Error::MfaCodeWrong(None));
            }
            match self.second_step(&account.id, code).await? {
                None => {
                    let failed = self
                        .failed_sign_in(
                            &email,
                            Some(account),
                            trusted,
                            (guard_key, owner_window),
                            Wrong::Code,
                            caller,
                        )
                        .await;
                    return match failed {
                        Err(Error::InvalidCredentials(left)) => Err(Error::MfaCodeWrong(left)),
                        other => other,
                    };
                }
                Some(crate::mfa::Proof::Recovery(left)) => {
                    let (who, ip) = (email.clone(), caller.ip.clone());
                    self.store
                        .write(move |tx| {
                            tx.audit(
                                now,
                                "mfa_recovery_code_used",
                                &who,
                                &ip,
                                &format!("{left} left"),
                            )
                        })
                        .await?;
                }
                Some(crate::mfa::Proof::Code) => {}
            }
        }
        if account.password_form == PasswordForm::Raw {
            // From now on the hash is of the normalised password; unless the password was
            // changed meanwhile (a reset in another tab), which this must not undo.
            let hash = if rehash {
                self.hash_password(password).await?
            } else {
                account.password_hash.clone()
            };
            let (id, checked) = (account.id.clone(), account.password_hash.clone());
            self.store
                .write(move |tx| tx.replace_legacy_password_hash(&id, &checked, &hash))
                .await?;
        }
        let device = clean_device_name(device_name);
        // A named delegate signs in to the shared mailbox with their own password (and
        // code, and lock): the session is the mailbox's, held by them.
        let (account, person) = match request
            .mailbox
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty())
        {
            None => (account, None),
            Some(wanted) => match self.delegated_mailbox(&account, wanted, caller).await? {
                None => (account, None),
                Some(mailbox) => (mailbox, Some(account)),
            },
        };
        self.metrics.sign_in();
        self.issue_session(
            &account,
            NewSession {
                person,
                remember_me,
                device: &device,
                family: None,
                // A trusted device's success says nothing of failures elsewhere.
                clear_guard: trusted
                    .is_none()
                    .then_some(guard_key)
                    .into_iter()
                    .chain([tries_key(&email, &caller.network())])
                    .collect(),
                trusted_device: trusted,
                replaces: None,
            },
            caller,
        )
        .await
    }

    /// The shared mailbox `wanted` that `person` (signed in with their own password) is a
    /// delegate of; `None` when `wanted` is their own address.
    ///
    /// # Errors
    /// `AccessRemoved` when they are not (any more) its delegate; `AccountDisabled` when
    /// the mailbox is switched off.
    async fn delegated_mailbox(
        &self,
        person: &Account,
        wanted: &str,
        caller: &Caller,
    ) -> Result<Option<Account>> {
        let Ok(wanted) = sealpost_proto::address::normalise(wanted) else {
            return Err(Error::BadRequest(format!(
                "{wanted:?} is not a mailbox's address."
            )));
        };
        if wanted == person.email {
            return Ok(None);
        }
        let (person_id, now, ip) = (person.id.clone(), self.now(), caller.ip.clone());
        let person_email = person.email.clone();
        let mailbox = self
            .store
            .write(move |tx| {
                let mailbox = tx.account_by_email(&wanted)?;
                let allowed = match &mailbox {
                    Some(m) => tx.delegation(&m.id, &person_id)?.is_some(),
                    None => false,
                };
                if !allowed {
                    tx.audit(
                        now,
                        "delegate_sign_in_refused",
                        &wanted,
                        &ip,
                        &format!("person: {person_email}; no access"),
                    )?;
                    return Err(Error::AccessRemoved);
                }
                Ok(mailbox)
            })
            .await?
            .ok_or(Error::AccessRemoved)?;
        if mailbox.status == AccountStatus::Disabled {
            return Err(Error::AccountDisabled);
        }
        Ok(Some(mailbox))
    }

    /// Opens a session on a shared mailbox the caller's person is a named delegate of, from
    /// their session on another (their own): no password or code again, since the session
    /// proved both.
    ///
    /// # Errors
    /// `AccessRemoved` when they are not its delegate; `AccountDisabled`.
    pub async fn delegate_session(
        &self,
        who: &Authenticated,
        request: &sealpost_proto::DelegateSessionRequest,
        caller: &Caller,
    ) -> Result<Session> {
        let id = who.signer.person_id.clone();
        let person = self
            .store
            .read(move |tx| tx.account_by_id(&id))
            .await?
            .ok_or(Error::Unauthenticated)?;
        let Some(mailbox) = self
            .delegated_mailbox(&person, &request.mailbox, caller)
            .await?
        else {
            return Err(Error::Conflict(
                "That is your own mailbox: you are signed in to it already.".into(),
            ));
        };
        let device = clean_device_name(request.device_name.as_deref());
        self.issue_session(
            &mailbox,
            NewSession {
                person: Some(person),
                remember_me: request.remember_me,
                device: &device,
                family: None,
                clear_guard: Vec::new(),
                trusted_device: None,
                replaces: None,
            },
            caller,
        )
        .await
    }

    /// The account block of a session: the mailbox, and on a delegate's session the
    /// person; the shared mailboxes the person may also work.
    async fn session_account(&self, mailbox: &Account, person: &Account) -> Result<AccountInfo> {
        let (person_id, mailbox_id) = (person.id.clone(), mailbox.id.clone());
        let (delegations, own) = self
            .store
            .read(move |tx| {
                let own = if person_id == mailbox_id {
                    None
                } else {
                    tx.delegation(&mailbox_id, &person_id)?
                };
                Ok((tx.delegations_of(&person_id)?, own))
            })
            .await?;
        let mut info = self.account_info(&mailbox.email);
        info.shared_mailboxes = delegations
            .iter()
            .map(|d| sealpost_proto::SharedMailbox {
                email: d.mailbox_email.clone(),
                role: d.role.as_str().to_owned(),
            })
            .collect();
        if let Some(d) = own {
            info.signed_in_as = Some(sealpost_proto::Person {
                email: person.email.clone(),
                name: self.delegate_name(&d).await?,
            });
        }
        Ok(info)
    }

    /// Checks `password` against a stored hash (`None`: no such account, or not
    /// registered), on the bounded hashing threads; an unknown account costs the same work
    /// and answers `Wrong`.
    ///
    /// # Errors
    /// `RateLimited` when the hashing queue is full.
    async fn check_password(
        &self,
        stored: Option<(String, PasswordForm)>,
        password: &str,
    ) -> Result<Verdict> {
        let hasher = self.hasher.clone();
        // The forms the text takes: its NFKC form first (how hashes are made now), then as
        // typed and decomposed (NFD), for hashes made before passwords were normalised. Only
        // non-ASCII text has more than one. Every account, known or not, gets one hash
        // computed per form, so the time taken tells nothing about the account.
        let mut forms: Vec<Sensitive<String>> = Vec::new();
        for form in [
            nfkc(password),
            password.to_owned(),
            password.nfd().collect(),
        ] {
            if !forms.iter().any(|f| *f.expose() == form) {
                forms.push(Sensitive::new(form));
            }
        }
        // Argon2 is CPU- and memory-bound: it runs on the bounded hashing threads, and a
        // full queue answers 429 at once.
        self.hash_pool
            .run(move || {
                let normal = forms[0].expose();
                match stored {
                    Some((hash, PasswordForm::Nfkc)) => {
                        let right = hasher.verify(&hash, normal);
                        forms[1..].iter().for_each(|f| {
                            hasher.verify_decoy(f.expose());
                        });
                        Verdict::from(right, false)
                    }
                    // Hashed as typed: whichever form matches; a match renews the hash.
                    Some((hash, PasswordForm::Raw)) => {
                        let matched: Vec<bool> = forms
                            .iter()
                            .map(|f| hasher.verify(&hash, f.expose()))
                            .collect();
                        match matched.iter().position(|m| *m) {
                            Some(i) => Verdict::from(true, i != 0),
                            None => Verdict::Wrong,
                        }
                    }
                    // Unknown or unregistered: the same work, the same answer as a wrong
                    // password.
                    None => {
                        forms.iter().for_each(|f| {
                            hasher.verify_decoy(f.expose());
                        });
                        Verdict::Wrong
                    }
                }
            })
            .await
            .ok_or(Error::RateLimited(2))
    }

    /// Asks a signed-in account for its password again, before a change to how it signs in
    /// (turning two-step sign-in on or off): a stolen session alone cannot make one. A
    /// wrong password counts toward the lock as at sign-in.
    ///
    /// # Errors
    /// `InvalidCredentials` (with `tries_left`), `AccountLocked`, `RateLimited`.
    pub(crate) async fn reauthenticate(
        &self,
        who: &Authenticated,
        password: &str,
        caller: &Caller,
    ) -> Result<()> {
        if password.is_empty() {
            // Never anyone's password: nothing to check or count.
            return Err(Error::BadRequest(
                "The password is empty; nothing was checked. Type the password.".into(),
            ));
        }
        let id = who.signer.person_id.clone();
        let account = self
            .store
            .read(move |tx| tx.account_by_id(&id))
            .await?
            .ok_or(Error::Unauthenticated)?;
        let now = self.now();
        let owner_window = account.owner_window_until.is_some_and(|until| until > now);
        let guard_key = guard_key(&account.email, &caller.network(), owner_window);
        let key = guard_key.clone();
        let guard = self.store.read(move |tx| tx.guard(&key)).await?;
        if let Some(until) = guard.locked_until.filter(|u| *u > now) {
            return Err(Error::AccountLocked(until));
        }
        let stored = Some((account.password_hash.clone(), account.password_form))
            .filter(|(hash, _)| !hash.is_empty());
        match self.check_password(stored, password).await? {
            Verdict::Right { .. } => Ok(()),
            Verdict::Wrong => Err(self.count_failure(account, Wrong::Password, caller).await),
        }
    }

    /// Counts a failure of a signed-in account's re-check (a wrong password or two-step
    /// code) toward its lock, as a failed sign-in from this caller; returns the error to
    /// answer (`InvalidCredentials` with `tries_left`, or `AccountLocked`).
    pub(crate) async fn count_failure(
        &self,
        account: Account,
        wrong: Wrong,
        caller: &Caller,
    ) -> Error {
        let now = self.now();
        let owner_window = account.owner_window_until.is_some_and(|until| until > now);
        let guard_key = guard_key(&account.email, &caller.network(), owner_window);
        let email = account.email.clone();
        match self
            .failed_sign_in(
                &email,
                Some(account),
                None,
                (guard_key, owner_window),
                wrong,
                caller,
            )
            .await
        {
            Err(e) => e,
            Ok(_) => Error::Other("BUG: a failed sign-in made a session".into()),
        }
    }

    /// Counts a failed sign-in against the trusted device, or else the guard key; locks
    /// at the threshold, and tells the owner when the address itself locks.
    async fn failed_sign_in(
        &self,
        email: &str,
        account: Option<Account>,
        trusted: Option<String>,
        (guard_key, owner_window): (String, bool),
        wrong: Wrong,
        caller: &Caller,
    ) -> Result<Session> {
        let what = match wrong {
            Wrong::Password => "",
            Wrong::Code => "two-step code",
        };
        let now = self.now();
        let ip = caller.ip.clone();
        let threshold = self.config.security.lockout_threshold;
        let lock_for = Duration::minutes(self.config.security.lockout_minutes);
        let (failing, account_id) = (
            email.to_owned(),
            account.as_ref().map(|a| a.id.clone()).unwrap_or_default(),
        );
        let by_device = trusted.is_some();
        let own_key = tries_key(email, &caller.network());
        // The person who failed, the device they named and the mailbox they wanted.
        let attempt = crate::store::Signer {
            person_id: String::new(),
            person_email: email.to_owned(),
            mailbox_email: if caller.mailbox.is_empty() {
                email.to_owned()
            } else {
                caller.mailbox.clone()
            },
            device: caller.device.clone(),
        };
        let (locked, failures) = self
            .store
            .write(move |tx| {
                if let Some(hash) = &trusted {
                    let mut device = tx.device(hash, &account_id)?.unwrap_or_default();
                    device.failures += 1;
                    let detail = ["trusted device", what]
                        .iter()
                        .filter(|d| !d.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join("; ");
                    tx.audit_by(now, "sign_in_failed", &attempt, &ip, &detail)?;
                    let mut locked = None;
                    if device.failures >= threshold {
                        let until = now + lock_for;
                        device = DeviceGuard {
                            failures: 0,
                            locked_until: Some(until),
                        };
                        locked = Some(until);
                        let detail = format!("trusted device, until {}", rfc3339(until));
                        tx.audit(now, "locked", &failing, &ip, &detail)?;
                    }
                    tx.set_device(hash, &device, now)?;
                    return Ok((locked, device.failures));
                }
                let mut guard = tx.guard(&guard_key)?;
                guard.failures += 1;
                // What this caller is told: its own failures in a row (see `tries_key`),
                // counted afresh after a lock.
                let mut own = tx.guard(&own_key)?;
                own.failures += 1;
                tx.audit_by(now, "sign_in_failed", &attempt, &ip, what)?;
                let mut locked = None;
                if guard.failures >= threshold {
                    let until = now + lock_for;
                    guard = GuardState {
                        failures: 0,
                        locked_until: Some(until),
                    };
                    locked = Some(until);
                    let detail = match owner_window {
                        true => format!("from this IP only, until {}", rfc3339(until)),
                        false => format!("until {}", rfc3339(until)),
                    };
                    tx.audit(now, "locked", &failing, &ip, &detail)?;
                }
                tx.set_guard(&guard_key, &guard, now)?;
                let told = own.failures;
                if locked.is_some() {
                    own.failures = 0;
                }
                tx.set_guard(&own_key, &own, now)?;
                Ok((locked, told))
            })
            .await?;
        self.metrics.sign_in_failed();
        let Some(until) = locked else {
            // Counted the same way for every address, known or not: saying how many are
            // left tells nothing about the account.
            return Err(Error::InvalidCredentials(Some(TriesLeft {
                tries: threshold.saturating_sub(failures).max(1),
                lock_minutes: self.config.security.lockout_minutes,
            })));
        };
        self.metrics.lockout();
        // The owner hears of every lock, with a link that opens it at once; but not of
        // each client IP locked out in the owner's window (someone else's failures).
        if by_device || !owner_window {
            if let Some(account) = account.filter(|a| a.status == AccountStatus::Active) {
                self.send_lock_notice(&account, until, wrong).await?;
            }
        }
        Err(Error::AccountLocked(until))
    }

    async fn send_lock_notice(
        &self,
        account: &Account,
        until: DateTime<Utc>,
        wrong: Wrong,
    ) -> Result<()> {
        if account.shared_only {
            // No password of its own: a reset link would give it one. Its delegates sign
            // in as themselves, so nobody is locked out by this lock.
            return Ok(());
        }
        let link = self.prepare_link(LinkPurpose::Reset);
        let email = match wrong {
            Wrong::Password => templates::locked(&self.config.org_name, until, &link.url),
            Wrong::Code => templates::locked_after_codes(&self.config.org_name, until, &link.url),
        };
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
        new: NewSession<'_>,
        caller: &Caller,
    ) -> Result<Session> {
        let now = self.now();
        let security = &self.config.security;
        let access = new_token(self.entropy.as_ref(), "spa_");
        let refresh = new
            .remember_me
            .then(|| new_token(self.entropy.as_ref(), "spr_"));
        // A device that proved the password becomes trusted (see `sign_in`).
        let device_token = (new.family.is_none() && new.trusted_device.is_none())
            .then(|| new_token(self.entropy.as_ref(), "spd_"));
        let device_hash = device_token.as_ref().map(|t| hash_token(t.expose()));
        let access_hash = hash_token(access.expose());
        let refresh_hash = refresh.as_ref().map(|r| hash_token(r.expose()));
        let max_expires = now + Duration::hours(security.session_max_hours);
        let refresh_expires = now + Duration::days(security.remember_me_days);
        let is_new_family = new.family.is_none();
        let family_id = new
            .family
            .unwrap_or_else(|| new_id(self.entropy.as_ref(), "fam_"));
        let account_id = account.id.clone();
        let person = new.person.clone().unwrap_or_else(|| account.clone());
        let person_id = new
            .person
            .as_ref()
            .map(|p| p.id.clone())
            .unwrap_or_default();
        let signer = Signer {
            person_id: person.id.clone(),
            person_email: person.email.clone(),
            mailbox_email: account.email.clone(),
            device: new.device.to_owned(),
        };
        let device = new.device.to_owned();
        let remember_me = new.remember_me;
        let (clear_guard, trusted_device, replaces) =
            (new.clear_guard, new.trusted_device, new.replaces);
        let ip = caller.ip.clone();
        self.store
            .write(move |tx| {
                if is_new_family {
                    tx.insert_family(
                        &family_id,
                        &account_id,
                        &person_id,
                        &device,
                        remember_me,
                        now,
                    )?;
                    for key in &clear_guard {
                        tx.clear_guard(key)?;
                    }
                    if let Some(hash) = &trusted_device {
                        tx.set_device(hash, &DeviceGuard::default(), now)?;
                    }
                    if let Some(hash) = &device_hash {
                        tx.insert_device(hash, &signer.person_id, now)?;
                    }
                    tx.touch_sign_in(&signer.person_id, now)?;
                    if !person_id.is_empty() {
                        tx.mark_joined(&account_id, &person_id, now)?;
                    }
                    // Which device signed in tells apart the people sharing a mailbox.
                    let mut detail = Vec::new();
                    if !device.trim().is_empty() {
                        detail.push(format!("device: {}", device.trim()));
                    }
                    if remember_me {
                        detail.push("remember_me".to_owned());
                    }
                    if trusted_device.is_some() {
                        detail.push("trusted device".to_owned());
                    }
                    tx.audit_by(now, "sign_in", &signer, &ip, &detail.join("; "))?;
                } else {
                    tx.audit_by(now, "session_refreshed", &signer, &ip, "")?;
                }
                tx.insert_access_token(&access_hash, &family_id, &account_id, now, max_expires)?;
                if let Some(hash) = &refresh_hash {
                    tx.insert_refresh_token(hash, &family_id, now, refresh_expires)?;
                    if let Some(parent) = &replaces {
                        tx.set_replaced_by(parent, hash)?;
                    }
                }
                Ok(())
            })
            .await?;
        let idle_end = now + Duration::minutes(security.idle_timeout_minutes);
        let mfa_enrolment_required = security.require_mfa && !self.mfa_enabled(&person.id).await?;
        Ok(Session {
            mfa_enrolment_required,
            access_token: access.expose().clone(),
            expires_at: rfc3339(idle_end.min(max_expires)),
            refresh_token: refresh.map(|r| r.expose().clone()),
            device_token: device_token.map(|t| t.expose().clone()),
            account: self.session_account(account, &person).await?,
        })
    }

    /// The account block of a session answer.
    pub(crate) fn account_info(&self, email: &str) -> AccountInfo {
        AccountInfo {
            email: email.to_owned(),
            org_name: self.config.org_name.clone(),
            org_domains: self.config.org_domains.clone(),
            signed_in_as: None,
            shared_mailboxes: Vec::new(),
            limits: sealpost_proto::MailboxLimits {
                max_files: self.config.limits.max_attachments,
                max_total_bytes: self.config.limits.max_attachment_bytes,
                idle_timeout_seconds: u64::try_from(self.config.security.idle_timeout_minutes)
                    .unwrap_or(0)
                    .saturating_mul(60),
            },
        }
    }

    /// Exchanges a refresh token for a new session and a new refresh token.
    pub async fn refresh(&self, refresh_token: &str, caller: &Caller) -> Result<Session> {
        let hash = hash_token(refresh_token.trim());
        let now = self.now();
        let ip = caller.ip.clone();
        let used = hash.clone();
        let outcome = self
            .store
            .write(move |tx| {
                let outcome = tx.use_refresh_token(&used, now)?;
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
                person_id,
                device,
            } => {
                let (account, person) = self
                    .store
                    .read(move |tx| {
                        let person = if person_id.is_empty() {
                            None
                        } else {
                            tx.account_by_id(&person_id)?
                        };
                        Ok((tx.account_by_id(&account_id)?, person))
                    })
                    .await?;
                let account = account.ok_or(Error::InvalidToken)?;
                self.issue_session(
                    &account,
                    NewSession {
                        person,
                        remember_me: true,
                        device: &device,
                        family: Some(family_id),
                        clear_guard: Vec::new(),
                        trusted_device: None,
                        replaces: Some(hash),
                    },
                    caller,
                )
                .await
            }
            RefreshOutcome::Removed => Err(Error::AccessRemoved),
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
                signer,
                mfa_on,
                ..
            } => Ok(Authenticated {
                account_id,
                family_id,
                signer,
                mfa_on,
                ip: String::new(),
            }),
            AccessCheck::Removed => Err(Error::AccessRemoved),
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
                tx.audit_by(now, "sign_out", &who.signer, &ip, "")
            })
            .await
    }

    /// Starts a password reset. The answer is the same, and as quick, whether or not the
    /// address is known: after the throttles, the work (finding the account, writing the
    /// email) runs once the caller has its answer. Only a real account gets an email, at
    /// most one every `60 / resets_per_address_per_hour` minutes; requests beyond that are
    /// answered alike and send nothing. A new link never voids an older one still in date,
    /// so requests made by someone else can neither take away the owner's link nor keep
    /// a new one from coming.
    pub async fn request_reset(self: &Arc<Self>, email: &str, caller: &Caller) -> Result<()> {
        let now = self.now();
        self.resets_by_ip
            .hit(&caller.network(), now)
            .await
            .map_err(Error::RateLimited)?;
        let Ok(email) = sealpost_proto::address::normalise(email) else {
            return Ok(());
        };
        if self.resets_by_address.hit(&email, now).await.is_err() {
            // The owner already has a link less than one spacing old.
            return Ok(());
        }
        let (hub, caller) = (self.clone(), caller.clone());
        self.background.spawn(async move {
            // Only once the answer is on its way: work done while it is still being written
            // would show in its timing.
            tokio::time::sleep(RESET_WORK_DELAY).await;
            if let Err(e) = hub.send_reset_email(&email, &caller).await {
                tracing::error!(error = %e, "a reset email could not be prepared");
            }
        });
        Ok(())
    }

    /// The work of a reset request, after its answer.
    async fn send_reset_email(&self, email: &str, caller: &Caller) -> Result<()> {
        let lookup = email.to_owned();
        let Some(account) = self
            .store
            .read(move |tx| tx.account_by_email(&lookup))
            .await?
        else {
            return Ok(());
        };
        if account.shared_only {
            // No password of its own to reset: its delegates sign in as themselves.
            return Ok(());
        }
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
                tx.insert_link(&link.hash, purpose, &account.id, now, link.expires_at)?;
                tx.enqueue_mail(&account.email, "reset", &sealed, now)?;
                tx.audit(now, "reset_requested", &account.email, &ip, "")
            })
            .await?;
        self.mail_queued();
        Ok(())
    }

    /// How long a reset link works, in minutes (said to the person who asked for one).
    pub fn reset_link_minutes(&self) -> i64 {
        self.config.security.reset_link_minutes
    }

    /// Completes a reset: new password, every session ended, locks cleared, and the
    /// owner's window opened (see [`Hub::sign_in`]).
    pub async fn confirm_reset(
        &self,
        token: &str,
        new_password: &str,
        caller: &Caller,
    ) -> Result<String> {
        let account = self.link_account(token, LinkPurpose::Reset).await?;
        if account.shared_only {
            // A link made before the mailbox became shared-only: it has no password now.
            return Err(Error::InvalidToken);
        }
        let failed = self.passwords.broken_rules(new_password, &account.email);
        if !failed.is_empty() {
            return Err(Error::WeakPassword(failed));
        }
        let password_hash = self.hash_password(new_password).await?;
        let token_hash = hash_token(token.trim());
        let now = self.now();
        let ip = caller.ip.clone();
        let window = Duration::minutes(self.config.security.owner_window_minutes);
        self.store
            .write(move |tx| {
                // The link may have been used meanwhile in another tab.
                tx.link_account(&token_hash, LinkPurpose::Reset, now)?
                    .ok_or(Error::InvalidToken)?;
                tx.set_password_hash(&account.id, &password_hash)?;
                tx.delete_links(&account.id, LinkPurpose::Reset)?;
                let ended = tx.revoke_account_sessions(&account.id, now)?;
                // The owner proved they hold the mailbox's email: every lock goes, and for
                // a while failures from elsewhere cannot lock them out again.
                tx.clear_guards_of(&account.email)?;
                tx.clear_device_locks(&account.id)?;
                tx.set_owner_window(&account.id, now + window)?;
                tx.audit(
                    now,
                    "password_reset",
                    &account.email,
                    &ip,
                    &format!("{ended} sessions ended"),
                )?;
                Ok(account.email.clone())
            })
            .await
    }
}

/// The guard row counting one caller's failed sign-ins to `email` (from `network`), of
/// which the refusal says how many are left. Kept for every address alike, and cleared only
/// by this caller's own success, never by what the owner does elsewhere (a reset, an unlock,
/// a sign-in): the number a caller sees never tells whether the address has a mailbox. The
/// lock itself counts on the address's own guard.
fn tries_key(email: &str, network: &str) -> String {
    format!("tries|{email}|{network}")
}

/// The device's name as a client gave it, fit for the audit log: no control characters
/// (nothing may break a line there), at most 100 characters.
fn clean_device_name(name: Option<&str>) -> String {
    name.unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect()
}
