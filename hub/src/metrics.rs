//! Figures for `GET /metrics` in Prometheus' text format. Counters live in memory since
//! the server started; stored totals are read from the store when scraped.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        atomic::{AtomicI64, AtomicU64, Ordering},
        Mutex,
    },
};

use crate::store::Stats;

/// The hub's counters.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    sign_ins: AtomicU64,
    sign_in_failures: AtomicU64,
    lockouts: AtomicU64,
    purged_messages: AtomicU64,
    sse_clients: AtomicI64,
}

impl Metrics {
    /// Counts an answered request by route pattern (never the concrete path: it may hold
    /// a token) and status.
    pub fn request(&self, method: &str, route: &str, status: u16) {
        let mut map = self.requests.lock().expect("BUG: metrics poisoned");
        *map.entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
    }
    /// A successful sign-in.
    pub fn sign_in(&self) {
        self.sign_ins.fetch_add(1, Ordering::Relaxed);
    }
    /// A failed sign-in.
    pub fn sign_in_failed(&self) {
        self.sign_in_failures.fetch_add(1, Ordering::Relaxed);
    }
    /// An account (or address) locked.
    pub fn lockout(&self) {
        self.lockouts.fetch_add(1, Ordering::Relaxed);
    }
    /// Messages removed by retention.
    pub fn purged(&self, n: u64) {
        self.purged_messages.fetch_add(n, Ordering::Relaxed);
    }
    /// An `/events` client connected.
    pub fn sse_opened(&self) {
        self.sse_clients.fetch_add(1, Ordering::Relaxed);
    }
    /// An `/events` client went away.
    pub fn sse_closed(&self) {
        self.sse_clients.fetch_sub(1, Ordering::Relaxed);
    }
    /// Connected `/events` clients.
    pub fn sse_clients(&self) -> i64 {
        self.sse_clients.load(Ordering::Relaxed)
    }

    /// The text format.
    pub fn render(&self, stats: &Stats) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, lines: Vec<(String, String)>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in lines {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let requests = self.requests.lock().expect("BUG: metrics poisoned").clone();
        metric(
            "sealpost_http_requests_total",
            "counter",
            "HTTP requests answered, by method, route and status.",
            requests
                .into_iter()
                .map(|((m, r, s), n)| {
                    (
                        format!("{{method=\"{m}\",route=\"{r}\",status=\"{s}\"}}"),
                        n.to_string(),
                    )
                })
                .collect(),
        );
        let plain = |v: u64| vec![(String::new(), v.to_string())];
        metric(
            "sealpost_sign_ins_total",
            "counter",
            "Successful sign-ins.",
            plain(self.sign_ins.load(Ordering::Relaxed)),
        );
        metric(
            "sealpost_sign_in_failures_total",
            "counter",
            "Failed sign-ins (wrong address or password).",
            plain(self.sign_in_failures.load(Ordering::Relaxed)),
        );
        metric(
            "sealpost_lockouts_total",
            "counter",
            "Sign-in locks.",
            plain(self.lockouts.load(Ordering::Relaxed)),
        );
        metric(
            "sealpost_purged_messages_total",
            "counter",
            "Messages removed by retention.",
            plain(self.purged_messages.load(Ordering::Relaxed)),
        );
        metric(
            "sealpost_sse_clients",
            "gauge",
            "Connected /events clients.",
            vec![(String::new(), self.sse_clients().to_string())],
        );
        metric(
            "sealpost_messages_stored",
            "gauge",
            "Message copies stored.",
            plain(stats.messages),
        );
        metric(
            "sealpost_attachment_bytes_stored",
            "gauge",
            "Plaintext bytes of stored attachments.",
            plain(stats.attachment_bytes),
        );
        metric(
            "sealpost_accounts",
            "gauge",
            "Accounts by status.",
            vec![
                (
                    "{status=\"pending\"}".into(),
                    stats.accounts_pending.to_string(),
                ),
                (
                    "{status=\"active\"}".into(),
                    stats.accounts_active.to_string(),
                ),
                (
                    "{status=\"disabled\"}".into(),
                    stats.accounts_disabled.to_string(),
                ),
            ],
        );
        metric(
            "sealpost_mail_backlog",
            "gauge",
            "Emails waiting to be delivered.",
            plain(stats.mail_backlog),
        );
        out
    }
}
