//! What the app holds while it runs: the core's [`Mailboxes`], and how their sync events
//! become window events and desktop notifications.

use std::sync::{Arc, Mutex, OnceLock};

use sealpost_client::{sync::SyncEvent, Accounts, Mailbox, Mailboxes};
use serde::Serialize;
use tauri::AppHandle;
use tauri_specta::Event as _;

use crate::events::{Mail, MailKind, Progress};
use crate::notify;

/// The rows of a folder the window shows first (ui/src/components/MessageList.svelte,
/// `FIRST_PAGE`).
pub const FIRST_PAGE: u32 = 100;

/// What the app holds while it runs.
pub struct Desk {
    /// The mailboxes of this computer.
    pub mailboxes: Mailboxes,
    /// Seconds of inactivity before the window locks, when set for this computer; else
    /// the hubs' idle timeouts apply.
    pub idle_seconds: Option<u64>,
    /// A `sealpost://` link the app was started with.
    pub launch_link: Mutex<Option<String>>,
    /// Why the app cannot work at all (no keyring, no home folder).
    pub fatal: Option<String>,
    /// The app, once it runs (transfers report their progress to its window).
    app: Arc<OnceLock<AppHandle>>,
    /// Per mailbox, the folder of the last attachment saved, where its next save dialog
    /// opens (forgotten at sign-out).
    pub last_save_folder: Mutex<std::collections::HashMap<String, std::path::PathBuf>>,
    /// What the IT department set for everyone on this computer.
    pub system: sealpost_client::system::SystemSettings,
    /// Why the system-wide settings are not used, when they are wrong.
    pub system_problem: Option<String>,
}

/// A mailbox as the account switcher shows it.
#[derive(Debug, Serialize, specta::Type)]
pub struct AccountView {
    pub id: String,
    pub email: String,
    pub hub_url: String,
    pub unread: u64,
    pub remembered: bool,
    pub signed_in: bool,
    pub locked: bool,
    /// The organisation's domains, as the hub gave them at the last sign-in.
    pub org_domains: Vec<String>,
    /// What the hub allows this mailbox (attachments, idle timeout), as of the last sign-in.
    pub limits: sealpost_proto::MailboxLimits,
    /// The organisation requires two-step sign-in and this mailbox has not turned it on:
    /// nothing else works until it does.
    pub mfa_enrolment_required: bool,
    /// How the mailbox is shown: its address, and on a shared mailbox worked as a named
    /// delegate who this person is there ("… — you are Alice Smith").
    pub label: String,
    /// On a shared mailbox worked as a named delegate: the person signed in.
    pub signed_in_as: Option<sealpost_proto::Person>,
}

impl Desk {
    pub fn new(
        accounts: Accounts,
        idle_seconds: Option<u64>,
        launch_link: Option<String>,
        fatal: Option<String>,
    ) -> Self {
        let app: Arc<OnceLock<AppHandle>> = Arc::new(OnceLock::new());
        let window = app.clone();
        // Vault files a removal could not delete at the time (their keys are gone already).
        if let Err(e) = accounts.sweep() {
            tracing::warn!(error = %e, "left-over vault files could not be removed");
        }
        let mailboxes = Mailboxes::new(accounts).with_on_open(Arc::new(move |mailbox| {
            let (window, id) = (window.clone(), mailbox.account.id.clone());
            mailbox.set_progress(Some(Arc::new(move |name: &str, done: u64, total: u64| {
                if let Some(app) = window.get() {
                    let _ = Progress {
                        account: id.clone(),
                        name: name.to_owned(),
                        done,
                        total,
                    }
                    .emit(app);
                }
            })));
        }));
        Self {
            mailboxes,
            idle_seconds,
            launch_link: Mutex::new(launch_link),
            fatal,
            app,
            last_save_folder: Mutex::new(std::collections::HashMap::new()),
            system: Default::default(),
            system_problem: None,
        }
    }

    /// Hands the running app to the desk (once, at start-up).
    pub fn attach(&self, app: AppHandle) {
        let _ = self.app.set(app);
    }

    /// Opens every mailbox of this computer and reads what the window asks for first (each
    /// inbox's first page of [`FIRST_PAGE`] rows, its unread count), while the window's web
    /// process is still starting: the window then finds the mailboxes open and their pages
    /// in the vault's cache (docs/benchmarks.md, launch). Runs on a thread of its own;
    /// failures are left for the window's own calls to meet and report.
    pub fn prewarm(&self) {
        if self.fatal.is_some() {
            return;
        }
        let Ok(list) = self.mailboxes.accounts.list() else {
            return;
        };
        for record in list {
            if let Ok(mailbox) = self.mailboxes.get(&record.id) {
                let _ = mailbox.vault.unread_count();
                let _ = mailbox
                    .vault
                    .list_after(sealpost_proto::Folder::Inbox, FIRST_PAGE, None);
            }
        }
    }

    pub fn view(&self, mailbox: &Mailbox) -> AccountView {
        AccountView {
            id: mailbox.account.id.clone(),
            email: mailbox.account.email.clone(),
            hub_url: mailbox.account.hub_url.clone(),
            unread: mailbox.vault.unread_count().unwrap_or(0),
            remembered: mailbox.remembered().unwrap_or(false),
            signed_in: mailbox.hub.signed_in(),
            locked: mailbox.is_locked(),
            org_domains: mailbox.org_domains().unwrap_or_default(),
            limits: mailbox.limits().unwrap_or_default(),
            mfa_enrolment_required: mailbox.hub.mfa_enrolment_required(),
            label: mailbox.label(),
            signed_in_as: mailbox.signed_in_as(),
        }
    }

    /// Starts the sync of the shared mailboxes that `own`'s person works and that are
    /// signed in (those its sign-in just opened).
    pub fn start_shared_syncs(&self, app: &AppHandle, own: &Mailbox) {
        let Ok(list) = self.mailboxes.accounts.list() else {
            return;
        };
        for record in list.iter().filter(|r| {
            r.hub_url == own.account.hub_url
                && r.person
                    .as_deref()
                    .is_some_and(|p| sealpost_proto::address::same(p, &own.account.email))
        }) {
            if let Ok(mailbox) = self.mailboxes.get(&record.id) {
                if mailbox.hub.signed_in() {
                    self.start_sync(app, mailbox);
                }
            }
        }
    }

    /// Starts (or restarts) the mailbox's sync; its events reach the window, and new mail
    /// shows a notification.
    pub fn start_sync(&self, app: &AppHandle, mailbox: Arc<Mailbox>) {
        if mailbox.hub.mfa_enrolment_required() {
            // Nothing would sync: the window asks for two-step sign-in first, and turning
            // it on starts the sync.
            return;
        }
        let app = app.clone();
        self.mailboxes.start_sync(
            mailbox,
            Arc::new(move |mailbox: &Mailbox, event: &SyncEvent| {
                let id = &mailbox.account.id;
                let (kind, count) = match event {
                    SyncEvent::NewMail {
                        count,
                        senders,
                        latest,
                    } => {
                        notify::new_mail(&app, id, latest.clone(), *count, senders);
                        (MailKind::NewMail, *count)
                    }
                    SyncEvent::Changed => (MailKind::Changed, 0),
                    SyncEvent::Offline => (MailKind::Offline, 0),
                    SyncEvent::Online => (MailKind::Online, 0),
                    SyncEvent::SignInRequired => (MailKind::SignInRequired, 0),
                    SyncEvent::AccessRemoved => (MailKind::AccessRemoved, 0),
                    SyncEvent::MfaEnrolmentRequired => (MailKind::MfaEnrolmentRequired, 0),
                    SyncEvent::Refused { count } => (MailKind::Refused, *count),
                };
                let _ = Mail {
                    account: id.clone(),
                    kind,
                    count: count as u64,
                }
                .emit(&app);
            }),
        );
    }
}
