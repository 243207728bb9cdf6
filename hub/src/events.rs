//! Push: signed-in clients hold `/events` open and hear each new mailbox state. One task
//! polls the states of watched mailboxes, so changes made by another process (a
//! `sealpost-hub send` beside `serve`) are heard as quickly as the server's own.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use tokio::sync::broadcast;

use crate::error::Result;
use crate::hub::Hub;

/// How often watched mailboxes are checked.
const POLL: Duration = Duration::from_millis(200);

/// Who is listening, and the last state each mailbox was heard at.
#[derive(Default)]
pub struct Notifier {
    watched: Mutex<HashMap<String, (broadcast::Sender<i64>, i64)>>,
    started: std::sync::OnceLock<()>,
}

impl Hub {
    /// Listens for a mailbox's new states; returns the current one too.
    pub async fn watch(
        self: &Arc<Self>,
        account_id: &str,
    ) -> Result<(i64, broadcast::Receiver<i64>)> {
        let current = self.mailbox_state(account_id).await?;
        let receiver = {
            let mut watched = self
                .notifier
                .watched
                .lock()
                .expect("BUG: notifier poisoned");
            let entry = watched
                .entry(account_id.to_owned())
                .or_insert_with(|| (broadcast::channel(16).0, current));
            entry.0.subscribe()
        };
        let weak = Arc::downgrade(self);
        self.notifier.started.get_or_init(|| {
            tokio::spawn(poll(weak));
        });
        Ok((current, receiver))
    }
}

async fn poll(hub: Weak<Hub>) {
    loop {
        tokio::time::sleep(POLL).await;
        let Some(hub) = hub.upgrade() else { return };
        let ids: Vec<String> = {
            let mut watched = hub.notifier.watched.lock().expect("BUG: notifier poisoned");
            watched.retain(|_, (tx, _)| tx.receiver_count() > 0);
            watched.keys().cloned().collect()
        };
        if ids.is_empty() {
            continue;
        }
        let states = match hub.store.read(move |tx| tx.states_of(&ids)).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "reading mailbox states for /events");
                continue;
            }
        };
        let mut watched = hub.notifier.watched.lock().expect("BUG: notifier poisoned");
        for (id, state) in states {
            if let Some((tx, last)) = watched.get_mut(&id) {
                if *last != state {
                    *last = state;
                    let _ = tx.send(state);
                }
            }
        }
    }
}
