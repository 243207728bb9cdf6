//! Keeping the vault in step with the hub: pages of `/changes`, each applied with its new
//! state in one vault transaction; then waiting on `/events`; backing off while the hub
//! is unreachable; starting over on `state_too_old`.

use std::{sync::Arc, time::Duration};

use futures_util::StreamExt;
use tokio::sync::broadcast;

use crate::error::{ClientError, Code, Result};
use crate::hub::HubClient;
use crate::vault::Vault;

/// What the app hears from sync. Never content: counts and sender addresses only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncEvent {
    /// New messages arrived in the inbox.
    NewMail {
        /// How many.
        count: usize,
        /// Who sent them (deduplicated, in order).
        senders: Vec<String>,
        /// The newest of them, for opening it from a notification.
        latest: Option<String>,
    },
    /// The vault changed; views should refresh.
    Changed,
    /// The hub cannot be reached; working from the vault.
    Offline,
    /// The hub answers again.
    Online,
    /// The session ended and cannot be renewed: the password is needed.
    SignInRequired,
    /// A named delegate's access to this shared mailbox was taken away: its copy on this
    /// computer has been deleted (by [`crate::Mailboxes::start_sync`]).
    AccessRemoved,
    /// The organisation requires two-step sign-in and it is not on: sync stopped until it
    /// is turned on.
    MfaEnrolmentRequired,
    /// The hub refused items that waited in the outbox; they are back among the composes,
    /// with the reason (told by [`crate::Mailboxes::start_sync`]).
    Refused {
        /// How many.
        count: usize,
    },
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Pages fetched and applied.
    pub pages: usize,
    /// Items created, updated or destroyed.
    pub changed: usize,
    /// New unread inbox messages.
    pub new_mail: usize,
    /// Whether it started over from nothing.
    pub resynced: bool,
}

/// Syncs one account's vault with its hub.
#[derive(Clone)]
pub struct Syncer {
    vault: Vault,
    hub: Arc<HubClient>,
    events: broadcast::Sender<SyncEvent>,
    page_size: u32,
}

impl Syncer {
    /// A syncer; `page_size` items per `/changes` page (the hub allows up to 500).
    pub fn new(vault: Vault, hub: Arc<HubClient>, page_size: u32) -> Self {
        Self {
            vault,
            hub,
            events: broadcast::channel(64).0,
            page_size,
        }
    }

    /// Listens to what sync does.
    pub fn subscribe(&self) -> broadcast::Receiver<SyncEvent> {
        self.events.subscribe()
    }

    fn fetch(
        &self,
        since: Option<String>,
    ) -> tokio::task::JoinHandle<Result<sealpost_proto::Changes>> {
        let (hub, size) = (self.hub.clone(), self.page_size);
        tokio::spawn(async move { hub.changes(since.as_deref(), size).await })
    }

    /// Fetches and applies pages until the vault is current (or `max_pages` were applied:
    /// tests use that to stop between pages as a crash would). The next page is fetched
    /// while the current one is written, but pages are applied strictly in order, each
    /// with its state in one transaction.
    pub async fn sync_pages(&self, max_pages: Option<usize>) -> Result<SyncReport> {
        if self.hub.mfa_enrolment_required() {
            // The organisation requires two-step sign-in and it is not on: the hub would
            // refuse every call, so none is made until it is.
            return Err(ClientError::Refused {
                code: Code::MfaEnrolmentRequired,
                message: "Your organisation requires two-step sign-in: turn it on (in \
                          Settings, or `sealpost mfa on`) before the mailbox syncs."
                    .into(),
                refused: Vec::new(),
            });
        }
        let mut report = SyncReport::default();
        let mut senders: Vec<String> = Vec::new();
        let mut latest: Option<String> = None;
        let since = {
            let vault = self.vault.clone();
            tokio::task::spawn_blocking(move || vault.sync_state()).await??
        };
        let mut fetching = Some(self.fetch(since));
        while let Some(handle) = fetching.take() {
            let page = match handle.await? {
                Err(ClientError::Hub { detail, .. })
                    if detail.code == sealpost_proto::ErrorCode::StateTooOld
                        && !report.resynced =>
                {
                    let vault = self.vault.clone();
                    tokio::task::spawn_blocking(move || vault.reset_sync()).await??;
                    report.resynced = true;
                    fetching = Some(self.fetch(None));
                    continue;
                }
                other => other?,
            };
            let last = !page.has_more || max_pages.is_some_and(|m| report.pages + 1 >= m);
            if !last {
                fetching = Some(self.fetch(Some(page.state.clone())));
            }
            let vault = self.vault.clone();
            let applied = tokio::task::spawn_blocking(move || vault.apply_changes(&page)).await??;
            report.pages += 1;
            report.changed += applied.changed;
            report.new_mail += applied.new_inbox_from.len();
            if applied.latest_new.is_some() {
                latest = applied.latest_new;
            }
            for s in applied.new_inbox_from {
                if !senders.contains(&s) {
                    senders.push(s);
                }
            }
        }
        if report.changed > 0 {
            // Messages are listable now; their search entries follow off this task (a
            // search before then indexes what still waits itself).
            let vault = self.vault.clone();
            tokio::task::spawn_blocking(move || {
                if let Err(e) = vault.index_pending() {
                    tracing::warn!(error = %e, "indexing synced messages for search");
                }
            });
            let _ = self.events.send(SyncEvent::Changed);
        }
        if report.new_mail > 0 {
            let _ = self.events.send(SyncEvent::NewMail {
                count: report.new_mail,
                senders,
                latest,
            });
        }
        Ok(report)
    }

    /// Syncs until the vault is current.
    pub async fn sync(&self) -> Result<SyncReport> {
        self.sync_pages(None).await
    }

    /// Runs until `shutdown`: sync, then wait for the hub's push and sync again; while the
    /// hub is unreachable, retry after 1, 2, 4 … seconds (at most a minute apart).
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut backoff = Duration::from_secs(1);
        let mut offline = false;
        loop {
            let outcome = async {
                self.sync().await?;
                let mut events = self.hub.events().await?;
                if offline {
                    offline = false;
                    let _ = self.events.send(SyncEvent::Online);
                }
                backoff = Duration::from_secs(1);
                while let Some(state) = events.next().await {
                    let state = state?;
                    let current = self.vault.sync_state()?;
                    if current.as_deref() != Some(state.as_str()) {
                        self.sync().await?;
                    }
                }
                Err::<(), ClientError>(ClientError::offline(self.hub.base().to_owned()))
            };
            let result = tokio::select! {
                _ = &mut shutdown => return,
                r = outcome => r,
            };
            match result {
                Err(e) if e.code() == Code::SignInRequired => {
                    let _ = self.events.send(SyncEvent::SignInRequired);
                    return;
                }
                Err(e) if e.code() == Code::AccessRemoved => {
                    let _ = self.events.send(SyncEvent::AccessRemoved);
                    return;
                }
                Err(e) if e.code() == Code::MfaEnrolmentRequired => {
                    // Switched on at the hub while this ran: nothing works until two-step
                    // sign-in is on, and turning it on starts the sync again.
                    let _ = self.events.send(SyncEvent::MfaEnrolmentRequired);
                    return;
                }
                Err(e) => {
                    if !offline && e.code() == Code::Offline {
                        offline = true;
                        let _ = self.events.send(SyncEvent::Offline);
                    }
                    tracing::debug!(error = %e, "sync interrupted; retrying");
                }
                Ok(()) => {}
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(60));
        }
    }
}
