//! Two replicas under many clients, for docs/benchmarks.md: two real `sealpost-hub serve`
//! processes (release build) on one PostgreSQL and one Garage bucket, started by
//! `scripts/with-postgres.sh` and `scripts/with-garage.sh` (`make bench` does).
//!
//! 200 clients (50 mailboxes, each signed in on four devices: two through each replica)
//! hold `/events` open and poll `/changes` every two seconds for 60 s, while staff send
//! 100 messages, each to all 50 mailboxes, alternately through either replica. A client
//! fetches `/changes` whenever its stream announces a new state, and notes the messages
//! it learned that way. Targets: no errors, p99 of `/changes` ≤ 200 ms, and every stream
//! hears every send.

mod common;

use std::{
    collections::HashMap,
    path::Path,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use common::{ms, Server};
use sealpost_hub::{
    sending::OrgMessage,
    testing::{garage, postgres, token_in},
    Caller, Hub, InitOptions,
};

const PASSWORD: &str = "plum kettle orbit sandstone";
const MAILBOXES: usize = 50;
/// Devices per mailbox; half sign in through each replica.
const DEVICES: usize = 4;
const SENDS: usize = 100;
const RUN: Duration = Duration::from_secs(60);
const POLL_EVERY: Duration = Duration::from_secs(2);
/// How long after the run a stream may still be catching up before it counts as deaf.
const GRACE: Duration = Duration::from_secs(10);

fn address(i: usize) -> String {
    format!("person{i}@partner.example")
}

/// What every client adds to.
#[derive(Default)]
struct Tally {
    /// How long each `/changes` request took, poll or fetch.
    changes: Mutex<Vec<Duration>>,
    requests: AtomicUsize,
    errors: AtomicUsize,
    /// The first few errors, to say what went wrong.
    samples: Mutex<Vec<String>>,
}

impl Tally {
    fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut samples = self.samples.lock().unwrap();
        if samples.len() < 5 {
            samples.push(what);
        }
    }
}

/// A hub on the shared stores with one welcome message (and so a registration email) for
/// each mailbox; returns the org API token and each address's registration token.
async fn seeded_hub(data: &Path) -> (String, Vec<String>) {
    Hub::init(
        data,
        InitOptions {
            org_name: "Bench Council".into(),
            org_domains: vec!["example.gov.uk".into()],
            public_url: "http://127.0.0.1:9".into(),
            store: Some(
                postgres::test_store().expect("SEALPOST_TEST_POSTGRES (scripts/with-postgres.sh)"),
            ),
            blobs: Some(garage::test_blobs().expect("SEALPOST_TEST_S3 (scripts/with-garage.sh)")),
        },
    )
    .unwrap();
    common::configure(data, |c| {
        c.security.sign_in_per_ip_per_minute = 1_000_000;
        c.security.sign_in_per_address_per_minute = 1_000_000;
    });
    let hub = Hub::open(data).unwrap();
    let org_token = hub
        .create_org_token("bench", &Caller::cli())
        .await
        .unwrap()
        .token
        .expose()
        .clone();
    for i in 0..MAILBOXES {
        hub.send_org_message(
            OrgMessage {
                from: "staff@example.gov.uk".into(),
                to: vec![address(i)],
                subject: "Welcome".into(),
                body_text: "Your secure mailbox is ready.".into(),
                ..Default::default()
            },
            &Caller::cli(),
        )
        .await
        .unwrap();
    }
    hub.deliver_mail().await.unwrap();
    let mut by_address = HashMap::new();
    for entry in std::fs::read_dir(data.join("outbox")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let to = text
            .lines()
            .find_map(|l| l.strip_prefix("To: "))
            .unwrap()
            .to_owned();
        if let Some(token) = token_in(&text, "/register") {
            by_address.insert(to, token);
        }
    }
    let tokens = (0..MAILBOXES)
        .map(|i| {
            by_address
                .remove(&address(i))
                .expect("a registration email")
        })
        .collect();
    (org_token, tokens)
}

/// Every page of `/changes` after `since`; returns the new state and the subjects of the
/// messages created, or what went wrong.
async fn changes(
    http: &reqwest::Client,
    url: &str,
    access: &str,
    since: &str,
    tally: &Tally,
) -> Result<(String, Vec<String>), String> {
    let mut since = since.to_owned();
    let mut created = Vec::new();
    loop {
        let start = Instant::now();
        tally.requests.fetch_add(1, Ordering::Relaxed);
        let r = http
            .get(format!("{url}/api/v1/changes?since={since}"))
            .bearer_auth(access)
            .send()
            .await
            .map_err(|e| format!("/changes: {e}"))?;
        let status = r.status();
        let body = r.bytes().await.map_err(|e| format!("/changes: {e}"))?;
        tally.changes.lock().unwrap().push(start.elapsed());
        if !status.is_success() {
            return Err(format!(
                "/changes answered {status}: {}",
                String::from_utf8_lossy(&body)
            ));
        }
        let page: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        for m in page["created"].as_array().unwrap() {
            created.push(m["subject"].as_str().unwrap_or_default().to_owned());
        }
        since = page["state"].as_str().unwrap().to_owned();
        if !page["has_more"].as_bool().unwrap() {
            return Ok((since, created));
        }
    }
}

/// One client's stream: fetches the changes each announced state brings and notes when it
/// learned each subject, until `deadline`. Returns those times.
async fn listen(
    http: reqwest::Client,
    url: String,
    access: String,
    tally: Arc<Tally>,
    connected: Arc<AtomicUsize>,
    deadline: Arc<Mutex<Option<Instant>>>,
    wanted: usize,
) -> HashMap<String, Instant> {
    let mut heard = HashMap::new();
    let fail = |what: String| {
        tally.error(what);
        HashMap::new()
    };
    tally.requests.fetch_add(1, Ordering::Relaxed);
    let mut stream = match http
        .get(format!("{url}/api/v1/events"))
        .bearer_auth(&access)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => return fail(format!("/events answered {}", r.status())),
        Err(e) => return fail(format!("/events: {e}")),
    };
    let mut buffer = String::new();
    let mut cursor: Option<String> = None;
    let mut last_state = -1i64;
    loop {
        let stop_at = deadline
            .lock()
            .unwrap()
            .unwrap_or(Instant::now() + RUN * 10);
        let left = stop_at.saturating_duration_since(Instant::now());
        if heard.len() >= wanted || left.is_zero() {
            return heard;
        }
        let chunk =
            match tokio::time::timeout(left.min(Duration::from_secs(1)), stream.chunk()).await {
                Err(_) => continue,
                Ok(Ok(Some(chunk))) => chunk,
                Ok(Ok(None)) => {
                    tally.error("an /events stream ended".into());
                    return heard;
                }
                Ok(Err(e)) => {
                    tally.error(format!("/events: {e}"));
                    return heard;
                }
            };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        let mut newest = None;
        while let Some(end) = buffer.find('\n') {
            let line: String = buffer.drain(..=end).collect();
            if let Some(data) = line.trim_end().strip_prefix("data:") {
                let event: serde_json::Value = serde_json::from_str(data.trim()).unwrap();
                let state: i64 = event["state"].as_str().unwrap().parse().unwrap();
                if state > last_state {
                    last_state = state;
                    newest = Some(state.to_string());
                }
            }
        }
        let Some(state) = newest else { continue };
        match &cursor {
            // The first event says where the mailbox is: only later messages count.
            None => {
                cursor = Some(state);
                connected.fetch_add(1, Ordering::SeqCst);
            }
            Some(since) => match changes(&http, &url, &access, since, &tally).await {
                Ok((next, created)) => {
                    let now = Instant::now();
                    for subject in created {
                        heard.entry(subject).or_insert(now);
                    }
                    cursor = Some(next);
                }
                Err(e) => tally.error(e),
            },
        }
    }
}

/// One client's polling: `/changes` every `POLL_EVERY` (from a staggered start) until
/// `until`.
async fn poll(
    http: reqwest::Client,
    url: String,
    access: String,
    tally: Arc<Tally>,
    offset: Duration,
    until: Instant,
) {
    tokio::time::sleep(offset).await;
    let mut since = match changes(&http, &url, &access, "0", &tally).await {
        Ok((state, _)) => state,
        Err(e) => return tally.error(e),
    };
    let mut tick = tokio::time::interval(POLL_EVERY);
    tick.tick().await;
    while Instant::now() < until {
        tick.tick().await;
        match changes(&http, &url, &access, &since, &tally).await {
            Ok((state, _)) => since = state,
            Err(e) => tally.error(e),
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    let (org_token, registrations) = seeded_hub(&data).await;
    // The second replica: a data directory of its own with the same hub.toml and key.
    let data_b = tmp.path().join("hub-b");
    std::fs::create_dir(&data_b).unwrap();
    for file in ["hub.toml", "master.key"] {
        std::fs::copy(data.join(file), data_b.join(file)).unwrap();
    }
    let replicas = [Server::start(&data), Server::start(&data_b)];
    let urls: Vec<String> = replicas.iter().map(|s| s.url.clone()).collect();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .unwrap();

    // Registration and sign-in (Argon2id each) before the clock starts.
    let mut sessions = Vec::new();
    for (i, token) in registrations.iter().enumerate() {
        common::register(&http, &urls[i % 2], token, PASSWORD).await;
        for d in 0..DEVICES {
            let url = urls[d % 2].clone();
            let access = common::sign_in(&http, &url, &address(i), PASSWORD).await;
            sessions.push((url, access));
        }
    }

    let tally = Arc::new(Tally::default());
    let connected = Arc::new(AtomicUsize::new(0));
    let deadline = Arc::new(Mutex::new(None));
    let streams: Vec<_> = sessions
        .iter()
        .map(|(url, access)| {
            tokio::spawn(listen(
                http.clone(),
                url.clone(),
                access.clone(),
                tally.clone(),
                connected.clone(),
                deadline.clone(),
                SENDS,
            ))
        })
        .collect();
    let waiting = Instant::now();
    while connected.load(Ordering::SeqCst) < sessions.len() {
        assert!(
            waiting.elapsed() < Duration::from_secs(60),
            "streams connected: {} of {}",
            connected.load(Ordering::SeqCst),
            sessions.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let start = Instant::now();
    let until = start + RUN;
    let polls: Vec<_> = sessions
        .iter()
        .enumerate()
        .map(|(n, (url, access))| {
            let offset = POLL_EVERY.mul_f64(n as f64 / sessions.len() as f64);
            tokio::spawn(poll(
                http.clone(),
                url.clone(),
                access.clone(),
                tally.clone(),
                offset,
                until,
            ))
        })
        .collect();

    // Staff: SENDS messages spread over the run, alternately through either replica.
    let to: Vec<String> = (0..MAILBOXES).map(address).collect();
    let every = RUN.mul_f64(0.9) / SENDS as u32;
    let mut sent_at = HashMap::new();
    for k in 0..SENDS {
        tokio::time::sleep_until((start + every * k as u32).into()).await;
        let subject = format!("Load {k}");
        let at = Instant::now();
        tally.requests.fetch_add(1, Ordering::Relaxed);
        let r = http
            .post(format!("{}/api/v1/org/messages", urls[k % 2]))
            .bearer_auth(&org_token)
            .json(&serde_json::json!({
                "from": "staff@example.gov.uk",
                "to": to,
                "subject": subject,
                "body_text": "Please find the update to your case below.",
            }))
            .send()
            .await;
        match r {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => tally.error(format!("a send answered {}", r.status())),
            Err(e) => tally.error(format!("a send: {e}")),
        }
        sent_at.insert(subject, at);
    }
    let sends_done = start.elapsed();
    for p in polls {
        p.await.unwrap();
    }
    *deadline.lock().unwrap() = Some(Instant::now() + GRACE);
    let mut heard_all = 0;
    let mut push = Vec::new();
    for s in streams {
        let heard = s.await.unwrap();
        let load: Vec<_> = heard
            .iter()
            .filter(|(subject, _)| subject.starts_with("Load "))
            .collect();
        if load.len() == SENDS {
            heard_all += 1;
        }
        for (subject, at) in load {
            push.push(at.saturating_duration_since(sent_at[subject]));
        }
    }
    let mut latencies = tally.changes.lock().unwrap().clone();
    latencies.sort();
    push.sort();
    let errors = tally.errors.load(Ordering::Relaxed);

    println!("## Two replicas on PostgreSQL 15 + Garage 2.5 under 200 clients (loopback)");
    println!();
    println!("| measure | value | target |");
    println!("|---|---|---|");
    println!(
        "| clients (streams held, polling every {} s) over 2 replicas | {} | 200 |",
        POLL_EVERY.as_secs(),
        sessions.len()
    );
    println!(
        "| staff sends, each to {MAILBOXES} mailboxes, within | {SENDS} in {:.1} s | 100 in 60 s |",
        sends_done.as_secs_f64()
    );
    println!(
        "| requests in {} s (sends, streams, `/changes`) | {} | |",
        RUN.as_secs(),
        tally.requests.load(Ordering::Relaxed)
    );
    println!("| errors | {errors} | 0 |");
    println!(
        "| `/changes` p50 / p99 / max ({} requests) | {} / {} / {} | p99 ≤ 200 ms |",
        latencies.len(),
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(percentile(&latencies, 1.0))
    );
    println!(
        "| streams that heard every send | {heard_all} of {} | all |",
        sessions.len()
    );
    println!(
        "| send request → message fetched on a stream's news, p50 / p99 / max | {} / {} / {} | |",
        ms(percentile(&push, 0.5)),
        ms(percentile(&push, 0.99)),
        ms(percentile(&push, 1.0))
    );
    println!();
    for sample in tally.samples.lock().unwrap().iter() {
        eprintln!("error: {sample}");
    }
    drop(replicas);
}
