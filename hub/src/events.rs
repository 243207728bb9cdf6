//! Push: signed-in clients hold `/events` open and hear each new mailbox state. One task
//! polls the states of watched mailboxes, so changes made by another process (a
//! `sealpost-hub send` beside `serve`) are heard as quickly as the server's own.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use tokio::sync::{broadcast, watch};

use crate::error::Result;
use crate::hub::Hub;

/// How often watched mailboxes are checked.
const POLL: Duration = Duration::from_millis(200);

/// Who is listening, and the last state each mailbox was heard at.
pub struct Notifier {
    watched: Mutex<HashMap<String, (broadcast::Sender<i64>, i64)>>,
    started: std::sync::OnceLock<()>,
    /// True while the server is stopping: open streams end, so that a graceful shutdown
    /// does not wait for clients that would listen for ever.
    closing: watch::Sender<bool>,
}

impl Default for Notifier {
    fn default() -> Self {
        Self {
            watched: Mutex::default(),
            started: std::sync::OnceLock::new(),
            closing: watch::channel(false).0,
        }
    }
}

/// What an open `/events` stream listens to.
pub struct Listener {
    /// The mailbox's state when listening began.
    pub current: i64,
    /// Each new state.
    pub states: broadcast::Receiver<i64>,
    /// Turns true when the server stops.
    pub closing: watch::Receiver<bool>,
}

impl Hub {
    /// Listens for a mailbox's new states; returns the current one too.
    pub async fn watch(self: &Arc<Self>, account_id: &str) -> Result<Listener> {
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
        Ok(Listener {
            current,
            states: receiver,
            closing: self.notifier.closing.subscribe(),
        })
    }

    /// Ends every open `/events` stream, and any opened later, until
    /// [`Hub::open_event_streams`]: called when the server stops.
    pub fn close_event_streams(&self) {
        self.notifier.closing.send_replace(true);
    }

    /// Lets `/events` streams be opened again (a test server that comes back).
    pub fn open_event_streams(&self) {
        self.notifier.closing.send_replace(false);
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
