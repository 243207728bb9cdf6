//! The app's open mailboxes: each opened once (vault and hub connection), each with a sync
//! task whose events become UI events and desktop notifications while it runs.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use sealpost_client::{sync::SyncEvent, Accounts, ClientError, Mailbox};
use serde::Serialize;
use tauri::AppHandle;
use tauri_specta::Event as _;
use tokio::sync::watch;

use crate::events::{Mail, MailKind, Progress};
use crate::notify;

/// What the app holds while it runs.
pub struct Desk {
    pub accounts: Accounts,
    open: Mutex<HashMap<String, Arc<Mailbox>>>,
    syncing: Mutex<HashMap<String, watch::Sender<bool>>>,
    /// Seconds of inactivity before the window locks, when set for this computer; else
    /// the hubs' idle timeouts apply.
    pub idle_seconds: Option<u64>,
    /// A `sealpost://` link the app was started with.
    pub launch_link: Mutex<Option<String>>,
    /// Why the app cannot work at all (no keyring, no home folder).
    pub fatal: Option<String>,
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
}

impl Desk {
    pub fn new(
        accounts: Accounts,
        idle_seconds: Option<u64>,
        launch_link: Option<String>,
        fatal: Option<String>,
    ) -> Self {
        Self {
            accounts,
            open: Mutex::new(HashMap::new()),
            syncing: Mutex::new(HashMap::new()),
            idle_seconds,
            launch_link: Mutex::new(launch_link),
            fatal,
        }
    }

    /// The open mailbox of `account`, opening it (vault key from the keyring) if needed.
    pub fn mailbox(&self, app: &AppHandle, account: &str) -> Result<Arc<Mailbox>, ClientError> {
        let mut open = self.open.lock().expect("BUG: poisoned");
        if let Some(m) = open.get(account) {
            return Ok(m.clone());
        }
        let mailbox = Arc::new(self.accounts.open(account)?);
        let (app, id) = (app.clone(), account.to_owned());
        mailbox.set_progress(Some(Arc::new(move |name: &str, done: u64, total: u64| {
            let _ = Progress {
                account: id.clone(),
                name: name.to_owned(),
                done,
                total,
            }
            .emit(&app);
        })));
        open.insert(account.to_owned(), mailbox.clone());
        Ok(mailbox)
    }

    /// Every open mailbox.
    pub fn open_mailboxes(&self) -> Vec<Arc<Mailbox>> {
        self.open
            .lock()
            .expect("BUG: poisoned")
            .values()
            .cloned()
            .collect()
    }

    /// Forgets an account's open mailbox (after it is removed).
    pub fn close(&self, account: &str) {
        self.stop_sync(account);
        self.open.lock().expect("BUG: poisoned").remove(account);
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
        }
    }

    /// Starts (or restarts) the mailbox's sync task; its events reach the UI.
    pub fn start_sync(&self, app: &AppHandle, mailbox: Arc<Mailbox>) {
        let id = mailbox.account.id.clone();
        self.stop_sync(&id);
        let (stop, stopped) = watch::channel(false);
        let mut forwarder_stopped = stopped.clone();
        self.syncing
            .lock()
            .expect("BUG: poisoned")
            .insert(id.clone(), stop);
        let mut events = mailbox.syncer.subscribe();
        let runner = mailbox.clone();
        tauri::async_runtime::spawn(async move {
            runner
                .syncer
                .run(async move {
                    let mut stopped = stopped;
                    let _ = stopped.changed().await;
                })
                .await;
        });
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            // Tells the window when the hub refused something that waited in the outbox: a
            // refused message is back among the composes, to be shown with its reason.
            let flush = |mailbox: Arc<Mailbox>, app: AppHandle, id: String| async move {
                if let Ok(report) = mailbox.flush_outbox().await {
                    if report.failed > 0 {
                        let _ = Mail {
                            account: id.clone(),
                            kind: MailKind::Refused,
                            count: report.failed as u64,
                        }
                        .emit(&app);
                    }
                }
            };
            // Whatever waited in the outbox leaves now that the session is back.
            flush(mailbox.clone(), app.clone(), id.clone()).await;
            loop {
                let received = tokio::select! {
                    _ = forwarder_stopped.changed() => break,
                    r = events.recv() => r,
                };
                let event = match received {
                    Ok(e) => e,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => SyncEvent::Changed,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                };
                let (kind, count) = match &event {
                    SyncEvent::NewMail {
                        count,
                        senders,
                        latest,
                    } => {
                        notify::new_mail(&app, &id, latest.clone(), *count, senders);
                        (MailKind::NewMail, *count as u64)
                    }
                    SyncEvent::Changed => (MailKind::Changed, 0),
                    SyncEvent::Offline => (MailKind::Offline, 0),
                    SyncEvent::Online => {
                        flush(mailbox.clone(), app.clone(), id.clone()).await;
                        (MailKind::Online, 0)
                    }
                    SyncEvent::SignInRequired => (MailKind::SignInRequired, 0),
                };
                let _ = Mail {
                    account: id.clone(),
                    kind,
                    count,
                }
                .emit(&app);
                if matches!(event, SyncEvent::SignInRequired) {
                    break;
                }
            }
        });
    }

    /// Stops the mailbox's sync task, if one runs.
    pub fn stop_sync(&self, account: &str) {
        if let Some(stop) = self.syncing.lock().expect("BUG: poisoned").remove(account) {
            let _ = stop.send(true);
        }
    }
}
