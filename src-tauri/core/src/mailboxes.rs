//! The mailboxes of this computer, side by side: every step of the desktop's and the
//! terminal client's journeys that opens, creates, locks, signs out or removes a mailbox
//! goes through here, so both do them the same way and each can be tested without a window.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tokio::sync::{broadcast::error::RecvError, watch};

use crate::accounts::{AccountRecord, Accounts};
use crate::attachments::OpenedFiles;
use crate::compose::Compose;
use crate::error::{ClientError, Code, Result};
use crate::hub::{check_hub_url, same_hub};
use crate::links::{parse_link, LinkKind};
use crate::mailbox::Mailbox;
use crate::sync::SyncEvent;

/// Hears what each running sync does: the mailbox and the event. Runs on the sync task.
pub type Listener = Arc<dyn Fn(&Mailbox, &SyncEvent) + Send + Sync>;

/// Called on each mailbox as it is opened (to set its progress listener, say).
pub type OnOpen = Arc<dyn Fn(&Mailbox) + Send + Sync>;

/// The mailboxes of this computer, each opened once (vault and hub connection), each with
/// at most one running sync.
pub struct Mailboxes {
    /// The account list and keyring the mailboxes come from.
    pub accounts: Accounts,
    /// Attachments copied out to be opened in another application (see [`OpenedFiles`]).
    pub opened: OpenedFiles,
    open: Arc<Mutex<HashMap<String, Arc<Mailbox>>>>,
    syncing: Mutex<HashMap<String, watch::Sender<bool>>>,
    on_open: Option<OnOpen>,
}

impl Mailboxes {
    /// The mailboxes of `accounts`, none open yet.
    pub fn new(accounts: Accounts) -> Self {
        Self {
            opened: OpenedFiles::new(accounts.dir().join("opened")),
            accounts,
            open: Arc::new(Mutex::new(HashMap::new())),
            syncing: Mutex::new(HashMap::new()),
            on_open: None,
        }
    }

    /// Runs `f` on each mailbox when it is opened.
    pub fn with_on_open(mut self, f: OnOpen) -> Self {
        self.on_open = Some(f);
        self
    }

    /// The mailbox of account `id`, opened (vault key from the keyring) the first time.
    ///
    /// # Errors
    /// `NotFound` for an unknown account; keyring and vault errors as they come.
    pub fn get(&self, id: &str) -> Result<Arc<Mailbox>> {
        let mut open = self.open.lock().expect("BUG: poisoned");
        if let Some(m) = open.get(id) {
            return Ok(m.clone());
        }
        let mailbox = Arc::new(self.accounts.open(id)?);
        if let Some(f) = &self.on_open {
            f(&mailbox);
        }
        open.insert(id.to_owned(), mailbox.clone());
        Ok(mailbox)
    }

    /// The mailbox with address `wanted` (any spelling of it), or the only one when none
    /// is named.
    ///
    /// # Errors
    /// `Refused` (`NotFound` or `Invalid`) saying which to choose, when that is not clear.
    pub fn by_address(&self, wanted: Option<&str>) -> Result<Arc<Mailbox>> {
        self.by_address_as(wanted, None)
    }

    /// As [`Mailboxes::by_address`]; with `person`, the shared mailbox worked as that
    /// named person (their own address). A shared mailbox this computer has both as its
    /// owner and as a delegate needs `person` to be told apart (`Invalid` otherwise).
    pub fn by_address_as(
        &self,
        wanted: Option<&str>,
        person: Option<&str>,
    ) -> Result<Arc<Mailbox>> {
        self.choose(wanted, person, None)
    }

    /// As [`Mailboxes::by_address_as`]; with `hub`, only the mailboxes of that hub (its
    /// address, in any spelling [`check_hub_url`] accepts), which tells apart one address
    /// added on two hubs.
    ///
    /// # Errors
    /// `Refused`: `Invalid` for a hub address that is not one, or when the address is here
    /// more than once (the message gives the `--hub` and `--as` choices that tell them
    /// apart); `NotFound` when nothing matches.
    pub fn choose(
        &self,
        wanted: Option<&str>,
        person: Option<&str>,
        hub: Option<&str>,
    ) -> Result<Arc<Mailbox>> {
        let record = self.choose_account(wanted, person, hub)?;
        self.get(&record.id)
    }

    /// The account [`Mailboxes::choose`] would open, without opening it (removing a
    /// mailbox whose vault cannot be opened, say).
    ///
    /// # Errors
    /// As [`Mailboxes::choose`], less the vault's.
    pub fn choose_account(
        &self,
        wanted: Option<&str>,
        person: Option<&str>,
        hub: Option<&str>,
    ) -> Result<AccountRecord> {
        let hub = hub.map(check_hub_url).transpose()?;
        let all = self.accounts.list()?;
        let list: Vec<&AccountRecord> = all
            .iter()
            .filter(|a| match person {
                // The mailbox's own sign-in is "as" its own address.
                Some(p) => {
                    sealpost_proto::address::same(a.person.as_deref().unwrap_or(&a.email), p)
                }
                None => true,
            })
            .filter(|a| hub.as_ref().is_none_or(|h| same_hub(&a.hub_url, h)))
            .collect();
        if let Some(email) = wanted {
            let same: Vec<&AccountRecord> = list
                .iter()
                .copied()
                .filter(|a| sealpost_proto::address::same(&a.email, email))
                .collect();
            if let [first, ..] = same.as_slice() {
                // Two alike (the same hub and person, added by an older version that kept
                // hub addresses as typed) are the same mailbox: the first is taken, and
                // `account remove` run twice removes both.
                let alike = same
                    .iter()
                    .all(|a| same_hub(&a.hub_url, &first.hub_url) && a.person == first.person);
                if same.len() > 1 && !alike {
                    return Err(more_than_once(email, first, &same));
                }
            }
        }
        let refused = |code, message: String| ClientError::Refused {
            code,
            message,
            refused: Vec::new(),
        };
        // What narrowed the choice, for a refusal: " on HUB", " as PERSON".
        let narrowed = format!(
            "{}{}",
            hub.as_ref().map(|h| format!(" on {h}")).unwrap_or_default(),
            person
                .map(|p| format!(" worked as {p}"))
                .unwrap_or_default()
        );
        let record = match wanted {
            Some(email) => list
                .iter()
                .find(|a| sealpost_proto::address::same(&a.email, email))
                .ok_or_else(|| {
                    refused(
                        Code::NotFound,
                        format!(
                            "there is no mailbox {email}{narrowed} here; see `sealpost account \
                             list`"
                        ),
                    )
                })?,
            None => match list.as_slice() {
                [only] => only,
                [] if all.is_empty() => {
                    return Err(refused(
                        Code::NotFound,
                        "no mailbox yet; add one with `sealpost account add`".into(),
                    ))
                }
                [] => {
                    return Err(refused(
                        Code::NotFound,
                        format!("there is no mailbox{narrowed} here; see `sealpost account list`"),
                    ))
                }
                [first, ..]
                    if list
                        .iter()
                        .all(|a| sealpost_proto::address::same(&a.email, &first.email)) =>
                {
                    // One address, on several hubs or as several people: --account alone
                    // would not tell them apart.
                    return Err(more_than_once(&first.email, first, &list));
                }
                _ => {
                    return Err(refused(
                        Code::Invalid,
                        format!(
                            "there are several mailboxes{narrowed}; choose one with --account \
                             EMAIL"
                        ),
                    ))
                }
            },
        };
        Ok((*record).clone())
    }

    /// Every mailbox opened so far.
    pub fn opened(&self) -> Vec<Arc<Mailbox>> {
        self.open
            .lock()
            .expect("BUG: poisoned")
            .values()
            .cloned()
            .collect()
    }

    /// Stops the sync of account `id` and forgets its open mailbox.
    pub fn close(&self, id: &str) {
        self.stop_sync(id);
        let closed = self.open.lock().expect("BUG: poisoned").remove(id);
        if let Some(mailbox) = closed {
            mailbox.vault.close();
        }
    }

    /// Signs in to the mailbox `email` at `hub_url`, adding it to this computer if it is
    /// new, and brings its vault up to date (an unreachable hub leaves that for later).
    ///
    /// A mailbox added by this call is removed again when the sign-in fails (a mistyped
    /// address, hub or password): no account, vault file or keyring entry is left behind.
    ///
    /// # Errors
    /// The hub's refusal (`InvalidCredentials`, `AccountLocked`, ...), `Offline`, or a
    /// keyring or vault failure.
    pub async fn sign_in(
        &self,
        hub_url: &str,
        email: &str,
        password: &str,
        remember: bool,
    ) -> Result<Arc<Mailbox>> {
        self.sign_in_with_code(hub_url, email, password, None, remember)
            .await
    }

    /// As [`Mailboxes::sign_in`], with the second step of an account that has two-step
    /// sign-in (`MfaRequired` without one).
    pub async fn sign_in_with_code(
        &self,
        hub_url: &str,
        email: &str,
        password: &str,
        mfa_code: Option<&str>,
        remember: bool,
    ) -> Result<Arc<Mailbox>> {
        let known = self.accounts.list()?;
        let record = self.accounts.add(hub_url, email)?;
        let is_new = !known.iter().any(|a| a.id == record.id);
        let signed_in = async {
            let mailbox = self.get(&record.id)?;
            mailbox
                .sign_in_with_code(password, mfa_code, remember)
                .await?;
            Ok::<_, ClientError>(mailbox)
        }
        .await;
        let mailbox = match signed_in {
            Ok(m) => m,
            Err(e) => {
                if is_new {
                    self.close(&record.id);
                    // The sign-in's error is the one to tell; a failure to clean up would
                    // only hide it, and the next sign-in reuses the same account.
                    let _ = self.accounts.remove(&record.id);
                }
                if e.code() == Code::AccessRemoved && !is_new {
                    self.forget_removed(&record.id);
                }
                return Err(e);
            }
        };
        self.catch_up_or_forget(&mailbox).await?;
        if record.person.is_none() {
            self.open_shared(&mailbox, Some(password), remember).await;
        }
        Ok(mailbox)
    }

    /// Opens, beside `own`, each shared mailbox its person works as a named delegate and
    /// this computer does not have yet (the hub lists them at sign-in), from `own`'s
    /// session: no password or code is asked again (`password`, when at hand, is kept for
    /// the lock screen). One that fails is left out, and logged; the person's own sign-in
    /// stands. Returns the mailboxes added to this computer.
    pub async fn open_shared(
        &self,
        own: &Mailbox,
        password: Option<&str>,
        remember: bool,
    ) -> Vec<AccountRecord> {
        let shared = own
            .hub
            .account()
            .map(|a| a.shared_mailboxes)
            .unwrap_or_default();
        let mine: Vec<AccountRecord> = self
            .accounts
            .list()
            .unwrap_or_default()
            .into_iter()
            .filter(|a| {
                a.hub_url == own.account.hub_url
                    && a.person
                        .as_deref()
                        .is_some_and(|p| sealpost_proto::address::same(p, &own.account.email))
            })
            .collect();
        let mut added = Vec::new();
        for s in shared {
            let known = mine
                .iter()
                .find(|a| sealpost_proto::address::same(&a.email, &s.email));
            let opened = match known {
                // Known here and signed out: its session is opened again from this one.
                Some(record) => {
                    self.reopen_shared(own, &record.id, password, remember)
                        .await
                }
                None => self
                    .add_shared(own, &s.email, password, remember)
                    .await
                    .map(|m| added.push(m.account.clone())),
            };
            if let Err(e) = opened {
                tracing::warn!(mailbox = %s.email, error = %e, "a shared mailbox was not opened");
            }
        }
        added
    }

    /// Opens a new session on the known shared mailbox `id` from `own`'s, unless it has
    /// one (signed in, or Remember me).
    async fn reopen_shared(
        &self,
        own: &Mailbox,
        id: &str,
        password: Option<&str>,
        remember: bool,
    ) -> Result<()> {
        let mailbox = self.get(id)?;
        if mailbox.hub.signed_in() || mailbox.remembered()? {
            return Ok(());
        }
        mailbox
            .hub
            .open_delegate_session(
                &own.hub,
                &mailbox.account.email,
                remember,
                &crate::accounts::device_name(),
            )
            .await?;
        mailbox.lift_lock();
        if let Some(password) = password {
            // The lock screen checks the person's password here; without it (opened
            // from a remembered session), the hub checks it at the first unlock.
            mailbox.keep_verifier(password).await?;
        }
        self.catch_up_or_forget(&mailbox).await
    }

    /// Adds the shared mailbox `email` for `own`'s person and opens its session.
    async fn add_shared(
        &self,
        own: &Mailbox,
        email: &str,
        password: Option<&str>,
        remember: bool,
    ) -> Result<Arc<Mailbox>> {
        let person = own.account.email.clone();
        let known: Vec<String> = self.accounts.list()?.into_iter().map(|a| a.id).collect();
        let record = self
            .accounts
            .add_as(&own.account.hub_url, email, Some(&person))?;
        let added = !known.contains(&record.id);
        let opened = async {
            let mailbox = self.get(&record.id)?;
            let session = mailbox
                .hub
                .open_delegate_session(&own.hub, email, remember, &crate::accounts::device_name())
                .await?;
            mailbox.keep_account_info(&session.account)?;
            if let Some(password) = password {
                // The lock screen checks the person's password here; without it (opened
                // from a remembered session), the hub checks it at the first unlock.
                mailbox.keep_verifier(password).await?;
            }
            catch_up(&mailbox).await?;
            Ok::<_, ClientError>(mailbox)
        }
        .await;
        // A copy this call added goes again; one that was here stays (offline, say).
        if opened.is_err() && added {
            self.close(&record.id);
            let _ = self.accounts.remove(&record.id);
        }
        opened
    }

    /// Deletes this computer's copy of a shared mailbox whose named delegate lost access:
    /// its sync stops, its vault files, keyring entries and opened attachments go. The
    /// hub is not told (it refused already).
    pub fn forget_removed(&self, id: &str) {
        forget_removed(&self.open, &self.accounts, &self.opened, id);
        self.stop_sync(id);
    }

    /// `result` of work on mailbox `id`, its copy deleted first when the work found that
    /// access to it was taken away (`AccessRemoved`).
    fn forgetting_removed<T>(&self, id: &str, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            if e.code() == Code::AccessRemoved {
                self.forget_removed(id);
            }
        }
        result
    }

    /// [`catch_up`], deleting the copy of a mailbox whose access was taken away.
    async fn catch_up_or_forget(&self, mailbox: &Mailbox) -> Result<()> {
        self.forgetting_removed(&mailbox.account.id, catch_up(mailbox).await)
    }

    /// Signs in again to account `id` when it is a shared mailbox worked as the named
    /// person `email` (their own password, lock and code; the session is the mailbox's);
    /// otherwise, or for no `id`, as [`Mailboxes::sign_in_with_code`] to `email`.
    ///
    /// # Errors
    /// As [`Mailboxes::sign_in_with_code`]; `AccessRemoved` (the copy here is deleted).
    pub async fn sign_in_to(
        &self,
        id: Option<&str>,
        hub_url: &str,
        email: &str,
        password: &str,
        mfa_code: Option<&str>,
        remember: bool,
    ) -> Result<Arc<Mailbox>> {
        let record = match id {
            Some(id) => self.accounts.list()?.into_iter().find(|a| a.id == id),
            None => None,
        };
        let Some(record) = record.filter(|r| {
            r.person
                .as_deref()
                .is_some_and(|p| sealpost_proto::address::same(p, email))
                && crate::hub::check_hub_url(hub_url).is_ok_and(|u| u == r.hub_url)
        }) else {
            return self
                .sign_in_with_code(hub_url, email, password, mfa_code, remember)
                .await;
        };
        let mailbox = self.get(&record.id)?;
        let signed_in = mailbox
            .sign_in_with_code(password, mfa_code, remember)
            .await;
        self.forgetting_removed(&record.id, signed_in)?;
        self.catch_up_or_forget(&mailbox).await?;
        Ok(mailbox)
    }

    /// Registers the address of a registration `link` with `password`, and adds the
    /// mailbox to this computer (not signed in).
    ///
    /// # Errors
    /// `InvalidLink` for a link that is not a registration link, or is used or expired;
    /// `WeakPassword` with the broken rules.
    pub async fn register(&self, link: &str, password: &str) -> Result<AccountRecord> {
        let link = parse_link(link)?;
        if link.kind != LinkKind::Register {
            return Err(ClientError::Refused {
                code: Code::InvalidLink,
                message: "That is a password-reset link; use it to choose a new password.".into(),
                refused: Vec::new(),
            });
        }
        self.accounts.register(&link, password).await
    }

    /// [`Mailboxes::register`], then signs in with the same password and syncs.
    pub async fn register_and_sign_in(
        &self,
        link: &str,
        password: &str,
        remember: bool,
    ) -> Result<Arc<Mailbox>> {
        let record = self.register(link, password).await?;
        let mailbox = self.get(&record.id)?;
        mailbox.sign_in(password, remember).await?;
        catch_up(&mailbox).await?;
        if !mailbox.hub.mfa_enrolment_required() {
            // A person invited to a shared mailbox finds it beside their own at once.
            self.open_shared(&mailbox, Some(password), remember).await;
        }
        Ok(mailbox)
    }

    /// Asks the hub at `hub_url` to email `email` a password-reset link. The hub answers
    /// alike whether or not the address is known; returns how many minutes the link works.
    ///
    /// # Errors
    /// `RateLimited` after too many requests; `Offline`.
    pub async fn request_reset(&self, hub_url: &str, email: &str) -> Result<i64> {
        crate::hub::HubClient::new(hub_url)?
            .request_reset(email)
            .await
    }

    /// Chooses a new password with a reset `link`.
    ///
    /// # Errors
    /// `InvalidLink` for a registration link, or a used or expired one; `WeakPassword`.
    pub async fn confirm_reset(&self, link: &str, password: &str) -> Result<()> {
        let link = parse_link(link)?;
        if link.kind != LinkKind::Reset {
            return Err(ClientError::Refused {
                code: Code::InvalidLink,
                message: "That is a registration link; use it on the Register screen.".into(),
                refused: Vec::new(),
            });
        }
        let hub = crate::hub::HubClient::new(&link.hub_url)?;
        hub.confirm_reset(&link.token, password).await
    }

    /// Continues a remembered session (Remember me) and syncs; the vault is readable
    /// offline, so an unreachable hub is no failure here.
    ///
    /// # Errors
    /// `SignInRequired` when the mailbox is locked or has neither a session nor Remember
    /// me; the hub's refusal of the remembered token.
    pub async fn resume(&self, id: &str) -> Result<Arc<Mailbox>> {
        let mailbox = self.get(id)?;
        if mailbox.is_locked() || (!mailbox.remembered()? && !mailbox.hub.signed_in()) {
            return Err(ClientError::SignInRequired);
        }
        self.catch_up_or_forget(&mailbox).await?;
        if mailbox.account.person.is_none() && !mailbox.hub.mfa_enrolment_required() {
            // Shared mailboxes the person was given since, beside their own.
            let remember = mailbox.remembered()?;
            self.open_shared(&mailbox, None, remember).await;
        }
        Ok(mailbox)
    }

    /// Unlocks account `id` with its password (checked on this computer first).
    pub async fn unlock(&self, id: &str, password: &str) -> Result<Arc<Mailbox>> {
        let mailbox = self.get(id)?;
        self.forgetting_removed(id, mailbox.unlock(password).await)?;
        Ok(mailbox)
    }

    /// Locks every open mailbox and stops its sync. The compose in progress (with the
    /// account it belongs to) is saved as a draft and kept for after the unlock; every
    /// mailbox locks even when saving fails. Returns whether a draft was saved (at the
    /// hub, or queued for it).
    ///
    /// # Errors
    /// The first failure to save, once all are locked.
    pub async fn lock_all(&self, compose: Option<(&str, Compose)>) -> Result<bool> {
        let mut saved = false;
        let mut first_error = None;
        for mailbox in self.opened() {
            self.stop_sync(&mailbox.account.id);
            let draft = compose
                .as_ref()
                .filter(|(account, _)| *account == mailbox.account.id)
                .map(|(_, c)| c.clone());
            let had_draft = draft.as_ref().is_some_and(Compose::has_content);
            match mailbox.lock(draft).await {
                Ok(_) => saved |= had_draft,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        // A copy another application holds open may refuse to go: the next lock or start
        // tries again, and the lock itself does not fail for it.
        if let Err(e) = self.opened.forget_all() {
            tracing::warn!(error = %e, "opened attachments could not all be removed");
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(saved),
        }
    }

    /// Signs out of account `id`: its sync stops, the compose in progress becomes a
    /// draft (kept for the next sign-in), the hub ends the session, Remember me is deleted.
    pub async fn sign_out(&self, id: &str, compose: Option<Compose>) -> Result<()> {
        let mailbox = self.get(id)?;
        self.stop_sync(id);
        if let Err(e) = self.opened.forget(id) {
            tracing::warn!(error = %e, "opened attachments could not all be removed");
        }
        mailbox.sign_out(compose).await
    }

    /// Removes account `id` from this computer: signs out where it can, then deletes its
    /// vault files and keyring entries.
    pub async fn remove(&self, id: &str) -> Result<()> {
        if let Ok(mailbox) = self.get(id) {
            // Best effort: a removed mailbox must go even when the hub cannot be told.
            let _ = mailbox.sign_out(None).await;
        }
        self.close(id);
        if let Err(e) = self.opened.forget(id) {
            tracing::warn!(error = %e, "opened attachments could not all be removed");
        }
        self.accounts.remove(id)
    }

    /// Keeps `mailbox` in step with its hub until [`Mailboxes::stop_sync`] (or a sign-in
    /// is needed), telling `listener` what happens. Whatever waits in the outbox leaves
    /// when the sync starts and whenever the hub answers again; items the hub refuses then
    /// are told as [`SyncEvent::Refused`]. Call within a tokio runtime.
    pub fn start_sync(&self, mailbox: Arc<Mailbox>, listener: Listener) {
        let id = mailbox.account.id.clone();
        self.stop_sync(&id);
        let (stop, stopped) = watch::channel(false);
        let mut forwarder_stopped = stopped.clone();
        self.syncing.lock().expect("BUG: poisoned").insert(id, stop);
        let mut events = mailbox.syncer.subscribe();
        let runner = mailbox.clone();
        let (open, accounts, opened) = (
            self.open.clone(),
            self.accounts.clone(),
            self.opened.clone(),
        );
        tokio::spawn(async move {
            runner
                .syncer
                .run(async move {
                    let mut stopped = stopped;
                    let _ = stopped.changed().await;
                })
                .await;
        });
        tokio::spawn(async move {
            flush(&mailbox, &listener).await;
            loop {
                let received = tokio::select! {
                    _ = forwarder_stopped.changed() => break,
                    r = events.recv() => r,
                };
                let event = match received {
                    Ok(e) => e,
                    Err(RecvError::Lagged(_)) => SyncEvent::Changed,
                    Err(RecvError::Closed) => break,
                };
                if event == SyncEvent::Online {
                    flush(&mailbox, &listener).await;
                }
                if event == SyncEvent::AccessRemoved {
                    forget_removed(&open, &accounts, &opened, &mailbox.account.id);
                }
                listener(&mailbox, &event);
                if matches!(
                    event,
                    SyncEvent::SignInRequired
                        | SyncEvent::AccessRemoved
                        | SyncEvent::MfaEnrolmentRequired
                ) {
                    break;
                }
            }
        });
    }

    /// Stops the sync of account `id`, if one runs.
    pub fn stop_sync(&self, id: &str) {
        if let Some(stop) = self.syncing.lock().expect("BUG: poisoned").remove(id) {
            let _ = stop.send(true);
        }
    }
}

/// Deletes this computer's copy of mailbox `id` (see [`Mailboxes::forget_removed`]).
fn forget_removed(
    open: &Mutex<HashMap<String, Arc<Mailbox>>>,
    accounts: &Accounts,
    opened: &OpenedFiles,
    id: &str,
) {
    if let Some(mailbox) = open.lock().expect("BUG: poisoned").remove(id) {
        mailbox.vault.close();
    }
    if let Err(e) = opened.forget(id) {
        tracing::warn!(error = %e, "opened attachments could not all be removed");
    }
    if let Err(e) = accounts.remove(id) {
        tracing::error!(error = %e, "the copy of a mailbox whose access ended was not deleted");
    }
}

/// Syncs once; an unreachable hub is no failure (the vault reads offline). What a
/// Remember-me refresh on the way said about the account is kept.
async fn catch_up(mailbox: &Mailbox) -> Result<()> {
    match mailbox.syncer.sync().await {
        Ok(_) => mailbox.keep_refreshed_account_info(),
        Err(e) if e.code() == Code::Offline => Ok(()),
        // Found only now (a remembered session, say): the window asks for two-step
        // sign-in, and sync starts once it is on.
        Err(e) if e.code() == Code::MfaEnrolmentRequired => Ok(()),
        Err(e) => Err(e),
    }
}

/// Hands the outbox to the hub; refusals come back to the composes and are told.
async fn flush(mailbox: &Mailbox, listener: &Listener) {
    if let Ok(report) = mailbox.flush_outbox().await {
        if report.failed > 0 {
            listener(
                mailbox,
                &SyncEvent::Refused {
                    count: report.failed,
                },
            );
        }
    }
}

/// The refusal for an address this computer has more than once: the `--hub` and `--as`
/// choices that tell `same` apart (only those that differ).
fn more_than_once(email: &str, first: &AccountRecord, same: &[&AccountRecord]) -> ClientError {
    let as_whom = |a: &AccountRecord| a.person.clone().unwrap_or_else(|| a.email.clone());
    let hubs_differ = same.iter().any(|a| !same_hub(&a.hub_url, &first.hub_url));
    let persons_differ = same
        .iter()
        .any(|a| !sealpost_proto::address::same(&as_whom(a), &as_whom(first)));
    let choices: Vec<String> = same
        .iter()
        .map(|a| {
            let mut choice = Vec::new();
            if hubs_differ {
                choice.push(format!("--hub {}", a.hub_url));
            }
            if persons_differ {
                choice.push(format!("--as {}", as_whom(a)));
            }
            choice.join(" ")
        })
        .collect();
    let why = match (hubs_differ, persons_differ) {
        (true, true) => "on more than one hub, and as a named person",
        (true, false) => "on more than one hub",
        _ => "its own sign-in and as a named person",
    };
    ClientError::Refused {
        code: Code::Invalid,
        message: format!(
            "{email} is here more than once ({why}); choose with {}",
            choices.join(" or ")
        ),
        refused: Vec::new(),
    }
}
