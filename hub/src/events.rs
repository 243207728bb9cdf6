//! Push: signed-in clients hold `/events` open and hear each new mailbox state.
//!
//! Nothing polls. The store tells the [`Notifier`] after every commit which mailboxes it
//! advanced and to which state (`Store::on_commit`), and the notifier wakes those
//! mailboxes' streams. Other processes on the same data directory (a `sealpost-hub send`
//! beside `serve`) feed it too: their commits are sent as datagrams to the serving
//! process's socket `events.sock` in the data directory ([`Feed`]). On a PostgreSQL store
//! shared by several hub processes, each writing transaction also sends its states on the
//! database's notification channel (`NOTIFY`, delivered at commit), and every serving
//! process listens there (`Store::hear_states`, `Hub::hear_other_processes`).
//!
//! The hub holds one notifier; `Hub::watch` answers `/events` with it (`mailbox.rs`).

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::{broadcast, watch};

/// Who is listening, by mailbox.
pub struct Notifier {
    watched: Mutex<HashMap<String, broadcast::Sender<i64>>>,
    /// True while the server is stopping: open streams end, so that a graceful shutdown
    /// does not wait for clients that would listen for ever.
    closing: watch::Sender<bool>,
}

impl Default for Notifier {
    fn default() -> Self {
        Self {
            watched: Mutex::default(),
            closing: watch::channel(false).0,
        }
    }
}

/// What an open `/events` stream listens to.
pub struct Listener {
    /// The mailbox's state when listening began (read after subscribing, so that no
    /// change falls between the two).
    pub current: i64,
    /// Each new state.
    pub states: broadcast::Receiver<i64>,
    /// Turns true when the server stops.
    pub closing: watch::Receiver<bool>,
}

impl Notifier {
    /// Subscribes to the new states of `account_id`'s mailbox. Read the current state
    /// after this, then build the [`Listener`].
    pub fn subscribe(&self, account_id: &str) -> (broadcast::Receiver<i64>, watch::Receiver<bool>) {
        let mut watched = self.watched.lock().expect("BUG: notifier poisoned");
        let sender = watched
            .entry(account_id.to_owned())
            .or_insert_with(|| broadcast::channel(16).0);
        (sender.subscribe(), self.closing.subscribe())
    }

    /// Wakes the listeners of each mailbox in `advanced` with its new state, and forgets
    /// mailboxes no one listens to any more.
    pub fn publish(&self, advanced: &[(String, i64)]) {
        let mut watched = self.watched.lock().expect("BUG: notifier poisoned");
        for (account_id, state) in advanced {
            if let Some(sender) = watched.get(account_id) {
                if sender.send(*state).is_err() {
                    watched.remove(account_id);
                }
            }
        }
    }

    /// The mailboxes that have listeners now.
    pub fn watched_mailboxes(&self) -> Vec<String> {
        let mut watched = self.watched.lock().expect("BUG: notifier poisoned");
        watched.retain(|_, sender| sender.receiver_count() > 0);
        watched.keys().cloned().collect()
    }

    /// How many mailboxes have listeners (for tests and `/metrics`).
    pub fn watched(&self) -> usize {
        let mut watched = self.watched.lock().expect("BUG: notifier poisoned");
        watched.retain(|_, sender| sender.receiver_count() > 0);
        watched.len()
    }

    /// Ends every open stream, and any opened later, until [`Notifier::reopen`].
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Lets streams be opened again.
    pub fn reopen(&self) {
        self.closing.send_replace(false);
    }
}

/// The local feed between processes of one data directory: a Unix datagram socket the
/// serving process binds, to which other processes send the states their commits
/// advanced, one `account_id state` line each.
pub struct Feed {
    path: PathBuf,
}

/// The most a datagram carries; longer lists are sent in several.
const DATAGRAM: usize = 8 * 1024;

impl Feed {
    /// The feed of the data directory at `root`.
    pub fn new(root: &Path) -> Self {
        Self {
            path: root.join("events.sock"),
        }
    }

    /// Whether a serving process listens on this feed now (a socket file a stopped
    /// server left answers no one).
    pub fn is_served(&self) -> bool {
        #[cfg(unix)]
        {
            std::os::unix::net::UnixDatagram::unbound()
                .and_then(|s| s.connect(&self.path))
                .is_ok()
        }
        #[cfg(not(unix))]
        {
            false
        }
    }

    /// Sends `advanced` to the serving process, if one listens. Best effort and quick:
    /// with no server (or a full socket for 200 ms) the states are not sent, and clients
    /// learn them when they next connect.
    pub fn send(&self, advanced: &[(String, i64)]) {
        #[cfg(unix)]
        {
            let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() else {
                return;
            };
            let _ = socket.set_write_timeout(Some(Duration::from_millis(200)));
            for text in encode(advanced, DATAGRAM) {
                let _ = socket.send_to(text.as_bytes(), &self.path);
            }
        }
    }

    /// Binds the socket (replacing one a stopped server left) and passes what other
    /// processes send to `notifier` until the task is dropped.
    ///
    /// # Errors
    /// The socket could not be bound (a path too long for a socket, say).
    #[cfg(unix)]
    pub fn serve(self, notifier: Arc<Notifier>) -> std::io::Result<tokio::task::JoinHandle<()>> {
        let _ = std::fs::remove_file(&self.path);
        let socket = tokio::net::UnixDatagram::bind(&self.path)?;
        crate::config::set_private(&self.path)?;
        Ok(tokio::spawn(async move {
            let mut buf = vec![0u8; DATAGRAM + 128];
            loop {
                let n = match socket.recv(&mut buf).await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(error = %e, "reading the events socket");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let advanced = parse(&buf[..n]);
                notifier.publish(&advanced);
            }
        }))
    }
}

/// `advanced` as texts of at most `most` bytes: one `account_id state` line each.
pub(crate) fn encode(advanced: &[(String, i64)], most: usize) -> Vec<String> {
    let mut texts = Vec::new();
    let mut text = String::new();
    for (account_id, state) in advanced {
        let line = format!("{account_id} {state}\n");
        if !text.is_empty() && text.len() + line.len() > most {
            texts.push(std::mem::take(&mut text));
        }
        text.push_str(&line);
    }
    if !text.is_empty() {
        texts.push(text);
    }
    texts
}

/// The states in a text [`encode`] made; lines that are not a hub's are skipped.
pub(crate) fn parse(datagram: &[u8]) -> Vec<(String, i64)> {
    String::from_utf8_lossy(datagram)
        .lines()
        .filter_map(|line| {
            let (id, state) = line.split_once(' ')?;
            // States start at 1; anything else was not sent by a hub.
            let state: i64 = state.parse().ok().filter(|s| *s > 0)?;
            Some((id.to_owned(), state))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_publish_wakes_only_that_mailboxs_listeners() {
        let notifier = Notifier::default();
        let (mut a, _) = notifier.subscribe("acc_a");
        let (mut b, _) = notifier.subscribe("acc_b");
        notifier.publish(&[("acc_a".into(), 7)]);
        assert_eq!(a.try_recv().unwrap(), 7);
        assert!(
            b.try_recv().is_err(),
            "Bob's stream hears nothing of Alice's mail"
        );
    }

    #[tokio::test]
    async fn states_sent_by_another_process_reach_the_listeners() {
        let dir = tempfile::tempdir().unwrap();
        let notifier = Arc::new(Notifier::default());
        let (mut a, _) = notifier.subscribe("acc_a");
        let task = Feed::new(dir.path()).serve(notifier.clone()).unwrap();
        let many: Vec<(String, i64)> = (0..2_000).map(|i| (format!("acc_{i}"), i)).collect();
        Feed::new(dir.path()).send(&many);
        Feed::new(dir.path()).send(&[("acc_a".into(), 42)]);
        let got = tokio::time::timeout(Duration::from_secs(5), a.recv()).await;
        assert_eq!(got.unwrap().unwrap(), 42);
        task.abort();
    }

    #[test]
    fn malformed_lines_are_skipped() {
        assert_eq!(
            parse(b"acc_a 3\nnonsense\nacc_b x\nacc_c 9\n"),
            vec![("acc_a".to_owned(), 3), ("acc_c".to_owned(), 9)]
        );
    }
}
