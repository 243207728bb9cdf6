//! What only a shared PostgreSQL store has to get right: replicas migrating at once, and
//! writes from several hub processes at once that must come out as if one at a time.
//!
//! These use the server `SEALPOST_TEST_POSTGRES` names (`make test` starts one), or start
//! a cluster of their own.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use reqwest::StatusCode;
use sealpost_hub::{
    config::StoreConfig,
    store::Store,
    testing::{
        postgres::{create_schema, with_schema, Cluster, SERVER_ENV},
        TestServer,
    },
};
use serde_json::{json, Value};

use crate::support::*;

/// A PostgreSQL server for one test: the run's, or a cluster of the test's own (kept
/// alive by the returned guard).
fn server() -> (Option<Cluster>, String) {
    match std::env::var(SERVER_ENV).ok().filter(|s| !s.is_empty()) {
        Some(url) => (None, url),
        None => {
            let cluster = Cluster::start();
            let url = cluster.url("postgres");
            (Some(cluster), url)
        }
    }
}

/// A fresh schema on `server`, as a store URL.
fn fresh_store(server: &str) -> StoreConfig {
    let schema = format!("t_{}", hex::encode(rand::random::<[u8; 8]>()));
    create_schema(server, &schema);
    StoreConfig {
        url: with_schema(server, &schema),
        max_connections: 8,
    }
}

async fn hub_on(store: StoreConfig) -> TestHub {
    TestHub {
        server: TestServer::start_on(Some(store), |_| {}).await,
        http: reqwest::Client::new(),
    }
}

async fn replica_of(hub: &TestHub) -> TestHub {
    TestHub {
        server: hub.replica().await,
        http: reqwest::Client::new(),
    }
}

#[tokio::test]
async fn replicas_starting_together_migrate_the_schema_once_and_a_newer_one_is_refused() {
    let (_cluster, server) = server();
    let store = fresh_store(&server);
    let starts: Vec<_> = (0..6)
        .map(|_| {
            let url = store.url.clone();
            std::thread::spawn(move || Store::connect(&url, 2).map(|_| ()))
        })
        .collect();
    for start in starts {
        start
            .join()
            .unwrap()
            .expect("every replica starts: the others wait for the one migrating");
    }
    let db = Store::connect(&store.url, 1).unwrap();
    let versions: i64 = db
        .write_blocking(|tx| {
            tx.sql()
                .query_row("SELECT count(*) FROM schema_version", [], |r| r.get(0))
        })
        .unwrap();
    assert_eq!(versions, 1, "one record of the schema's version");
    db.write_blocking(|tx| {
        tx.sql()
            .execute("UPDATE schema_version SET version = 999", [])
    })
    .unwrap();
    let err = Store::connect(&store.url, 1)
        .err()
        .expect("a schema from a newer hub is refused");
    assert!(
        err.to_string().contains("newer Sealpost hub"),
        "says why and what to do: {err}"
    );
}

#[tokio::test]
async fn a_shared_database_that_holds_a_hub_is_not_initialised_again() {
    let (_cluster, server) = server();
    let store = fresh_store(&server);
    let first = hub_on(store.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let err = sealpost_hub::Hub::init(
        &dir.path().join("hub"),
        sealpost_hub::InitOptions {
            org_name: "Another Council".into(),
            org_domains: vec!["other.gov.uk".into()],
            public_url: "http://other.invalid".into(),
            store: Some(store),
            blobs: None,
        },
    )
    .expect_err("a second init on the same database is refused");
    assert!(
        err.to_string().contains("copy hub.toml and master.key"),
        "says how to add a replica instead: {err}"
    );
    assert!(
        !dir.path().join("hub").exists(),
        "nothing was written for the refused hub"
    );
    drop(first);
}

#[tokio::test]
async fn two_replicas_writing_to_one_mailbox_never_let_a_sync_reader_skip_a_change() {
    let (_cluster, server) = server();
    let a = hub_on(fresh_store(&server)).await;
    let b = replica_of(&a).await;
    a.registered(alice()).await;
    let token = a.access_token(alice()).await;
    let client = reqwest::Client::new();
    let changes = |url: String, since: Option<String>| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            let mut path = format!("{url}/api/v1/changes?limit=7");
            if let Some(since) = since {
                path.push_str(&format!("&since={since}"));
            }
            let r = client.get(path).bearer_auth(token).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            r.json::<Value>().await.unwrap()
        }
    };

    let before = changes(a.url.clone(), None).await["created"]
        .as_array()
        .unwrap()
        .len();
    let expected = before + 80;

    // A client syncs, through either replica in turn, while staff send through both.
    let senders = async {
        tokio::join!(
            async {
                for i in 0..40 {
                    a.org_send(&[alice()], &format!("A{i}"), "b").await;
                }
            },
            async {
                for i in 0..40 {
                    b.org_send(&[alice()], &format!("B{i}"), "b").await;
                }
            }
        );
    };
    let reader = async {
        let mut seen: Vec<String> = Vec::new();
        let mut state: Option<String> = None;
        for round in 0..2_000 {
            let url = if round % 2 == 0 { &a.url } else { &b.url };
            let page = changes(url.clone(), state.clone()).await;
            for item in page["created"].as_array().unwrap() {
                seen.push(item["id"].as_str().unwrap().to_owned());
            }
            state = Some(page["state"].as_str().unwrap().to_owned());
            if seen.len() >= expected {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        seen
    };
    let (_, seen) = tokio::join!(senders, reader);
    // A fresh full sync, through the other replica, pages through what the hub holds.
    let mut all: HashSet<String> = HashSet::new();
    let mut since = None;
    loop {
        let page = changes(b.url.clone(), since).await;
        all.extend(
            page["created"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned()),
        );
        since = Some(page["state"].as_str().unwrap().to_owned());
        if !page["has_more"].as_bool().unwrap() {
            break;
        }
    }
    assert_eq!(
        all.len(),
        expected,
        "both replicas' sends are in the mailbox"
    );
    let unique: HashSet<String> = seen.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "no message is announced as created twice"
    );
    assert_eq!(
        unique, all,
        "the syncing client ends with exactly the hub's messages: none skipped"
    );
}

#[tokio::test]
async fn three_failed_sign_ins_at_once_over_two_replicas_lock_the_account() {
    let (_cluster, server) = server();
    let a = hub_on(fresh_store(&server)).await;
    let b = replica_of(&a).await;
    a.registered(alice()).await;
    let wrong = |url: String| async move {
        reqwest::Client::new()
            .post(format!("{url}/api/v1/sessions"))
            .json(&json!({"email": alice(), "password": "not the password at all", "remember_me": false}))
            .send()
            .await
            .unwrap()
            .status()
    };
    let (one, two, three) = tokio::join!(
        wrong(a.url.clone()),
        wrong(b.url.clone()),
        wrong(a.url.clone())
    );
    for status in [one, two, three] {
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::LOCKED,
            "{status}"
        );
    }
    for hub in [&a, &b] {
        let r = hub
            .post(
                "/api/v1/sessions",
                json!({"email": alice(), "password": GOOD_PASSWORD, "remember_me": false}),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::LOCKED,
            "three failures at once, counted by two replicas, still lock the account"
        );
    }
}

#[tokio::test]
async fn a_client_on_one_replica_hears_within_a_second_what_staff_send_through_another() {
    let (_cluster, server) = server();
    let a = hub_on(fresh_store(&server)).await;
    let b = replica_of(&a).await;
    let user = a.user(alice()).await;
    let listen = || async {
        let response = a
            .http
            .get(format!("{}/api/v1/events", a.url))
            .bearer_auth(&user.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response
    };
    let reader = tokio::spawn(crate::sync::read_events(
        listen().await,
        2,
        Duration::from_secs(5),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent_at = Instant::now();
    b.org_send(&[alice()], "Through the other replica", "Body")
        .await;
    let events = reader.await.unwrap();
    let elapsed = sent_at.elapsed();
    assert_eq!(
        events.len(),
        2,
        "the current state, then the new one: {events:?}"
    );
    assert!(
        elapsed < Duration::from_secs(1),
        "heard through replica A within 1 s of a send through B ({elapsed:?})"
    );

    // The notification channel breaks (the database restarts, a network blip), and a
    // send lands while replica A is not listening: A reads its watched mailboxes' states
    // again when it is back, so the client still hears of it.
    let reader = tokio::spawn(crate::sync::read_events(
        listen().await,
        2,
        Duration::from_secs(8),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let admin = Store::connect(&server, 1).unwrap();
    let ended: i64 = admin
        .write_blocking(|tx| {
            tx.sql().query_row(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE query LIKE 'LISTEN %'",
                [],
                |r| r.get(0),
            )
        })
        .unwrap();
    assert!(
        ended >= 2,
        "both replicas' listening connections ended ({ended})"
    );
    b.org_send(&[alice()], "While A was not listening", "Body")
        .await;
    let events = reader.await.unwrap();
    assert_eq!(
        events.len(),
        2,
        "the send made while the channel was down is still announced: {events:?}"
    );
}

#[tokio::test]
async fn each_queued_email_leaves_once_with_two_replicas_delivering() {
    let (_cluster, server) = server();
    let a = hub_on(fresh_store(&server)).await;
    let b = replica_of(&a).await;
    let people: Vec<String> = (0..40)
        .map(|i| format!("person{i}@partner.example"))
        .collect();
    for person in &people {
        a.org_send(&[person.as_str()], "Subject", "Body").await;
    }
    let (sent_a, sent_b) = tokio::join!(a.hub.deliver_mail(), b.hub.deliver_mail());
    let (sent_a, sent_b) = (sent_a.unwrap(), sent_b.unwrap());
    let mut recipients: Vec<String> = Vec::new();
    for hub in [&a, &b] {
        for file in files_under(&hub.data().join("outbox")) {
            let text = std::fs::read_to_string(file).unwrap();
            let to = text.lines().find_map(|l| l.strip_prefix("To: ")).unwrap();
            recipients.push(to.to_owned());
        }
    }
    recipients.sort();
    let mut expected = people.clone();
    expected.sort();
    assert_eq!(
        recipients, expected,
        "every invitation went out once, whichever replica sent it \
         ({sent_a} through A, {sent_b} through B)"
    );
}

#[tokio::test]
async fn the_hourly_sweep_runs_once_however_many_replicas_ask() {
    let (_cluster, server) = server();
    let a = hub_on(fresh_store(&server)).await;
    let b = replica_of(&a).await;
    for round in 1..=2 {
        // A message past its 90 days: the sweep's purge deletes it and says so.
        a.org_send(&[alice()], "Subject", "Body").await;
        a.advance(chrono::Duration::days(91));
        let (ran_a, ran_b) = tokio::join!(a.hub.sweep_if_due(), b.hub.sweep_if_due());
        assert_eq!(
            u8::from(ran_a.unwrap()) + u8::from(ran_b.unwrap()),
            1,
            "one of the two replicas sweeps"
        );
        assert!(
            !a.hub.sweep_if_due().await.unwrap(),
            "not again within the hour"
        );
        assert!(
            !b.hub.sweep_if_due().await.unwrap(),
            "not by the other either"
        );
        assert_eq!(
            a.audit_count("purge").await,
            round,
            "the retention purge ran once per hour across both replicas"
        );
    }
}

#[tokio::test]
async fn a_sign_in_flood_spread_over_two_replicas_meets_one_rate_limit() {
    let (_cluster, server) = server();
    let a = TestHub {
        server: TestServer::start_on(Some(fresh_store(&server)), |c| {
            c.security.sign_in_per_ip_per_minute = 4;
        })
        .await,
        http: reqwest::Client::new(),
    };
    let b = replica_of(&a).await;
    let mut statuses = Vec::new();
    for i in 0..8 {
        let hub = if i % 2 == 0 { &a } else { &b };
        let r = hub
            .post(
                "/api/v1/sessions",
                json!({"email": format!("nobody{i}@partner.example"),
                       "password": "not the password at all", "remember_me": false}),
            )
            .await;
        statuses.push(r.status());
    }
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(
        limited, 4,
        "4 sign-ins a minute from one network, counted across both replicas: {statuses:?}"
    );
}

#[tokio::test]
async fn health_and_readiness_say_when_the_database_is_gone() {
    // A cluster of this test's own, to stop under the hub.
    let cluster = Cluster::start();
    let server = cluster.url("postgres");
    let hub = hub_on(fresh_store(&server)).await;
    assert_eq!(hub.get("/healthz").await.status(), StatusCode::OK);
    drop(cluster);
    let r = hub.get("/healthz").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.text().await.unwrap(), "the database does not answer\n");
    let r = hub.get("/readyz").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["store"], "the database does not answer", "{body}");
}

/// A server that accepts TLS only, with a certificate for `localhost` from an authority of
/// the test's own; the returned guard keeps both.
fn tls_server() -> (tempfile::TempDir, Cluster, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let files =
        sealpost_hub::testing::certificates::authority_and_server(dir.path(), &["localhost"]);
    let cluster = Cluster::start_tls(&files.cert, &files.key);
    (dir, cluster, files.ca)
}

#[tokio::test]
async fn replicas_reach_a_database_that_accepts_tls_only_and_check_its_certificate() {
    let (_dir, cluster, ca) = tls_server();
    let url = format!(
        "postgres://sealpost@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        cluster.port(),
        ca.display()
    );
    let a = hub_on(StoreConfig {
        url,
        max_connections: 4,
    })
    .await;
    let b = replica_of(&a).await;

    // The pool, the notification listener and the job lock each connect: the server
    // refuses any of them without TLS.
    let user = a.user(alice()).await;
    let response = a
        .http
        .get(format!("{}/api/v1/events", a.url))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let reader = tokio::spawn(crate::sync::read_events(
        response,
        2,
        Duration::from_secs(5),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.org_send(&[alice()], "Over TLS", "Body").await;
    let events = reader.await.unwrap();
    assert_eq!(
        events.len(),
        2,
        "heard through the other replica: {events:?}"
    );
    assert!(
        a.hub.sweep_if_due().await.unwrap(),
        "the sweep took its lock"
    );

    let plain: i64 = a
        .hub
        .store()
        .read(|tx| {
            tx.sql().query_row(
                "SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
                 WHERE a.backend_type = 'client backend' AND NOT s.ssl",
                [],
                |r| r.get(0),
            )
        })
        .await
        .unwrap();
    assert_eq!(plain, 0, "no connection without TLS");
}

#[tokio::test]
async fn a_database_certificate_the_hub_cannot_check_is_refused_with_what_to_do() {
    let (_dir, cluster, ca) = tls_server();
    let port = cluster.port();
    let refused = |url: String| match Store::connect(&url, 1) {
        Ok(_) => panic!("connected with {url}"),
        Err(e) => e.to_string(),
    };

    // An authority the system does not know: `require` checks the certificate too.
    let said = refused(format!(
        "postgres://sealpost@localhost:{port}/postgres?sslmode=require"
    ));
    assert!(said.contains("certificate"), "{said}");
    assert!(said.contains("sslrootcert"), "{said}");

    // The right authority, but a name the certificate does not hold.
    let said = refused(format!(
        "postgres://sealpost@127.0.0.1:{port}/postgres?sslmode=verify-full&sslrootcert={}",
        ca.display()
    ));
    assert!(said.contains("certificate"), "{said}");
    // verify-ca checks the chain only.
    Store::connect(
        &format!(
            "postgres://sealpost@127.0.0.1:{port}/postgres?sslmode=verify-ca&sslrootcert={}",
            ca.display()
        ),
        1,
    )
    .expect("verify-ca accepts the name");

    // Without TLS, the server refuses; a server without TLS is named as such.
    let said = refused(format!("postgres://sealpost@localhost:{port}/postgres"));
    assert!(
        said.contains("no encryption") || said.contains("pg_hba"),
        "{said}"
    );
    let plain = Cluster::start();
    let said = refused(format!(
        "postgres://sealpost@127.0.0.1:{}/postgres?sslmode=require",
        plain.port()
    ));
    assert!(said.contains("does not offer TLS"), "{said}");
}

#[tokio::test]
async fn the_master_key_is_not_rotated_while_any_replica_serves() {
    let (_cluster, server) = server();
    let a = hub_on(fresh_store(&server)).await;
    a.org_send(&[alice()], "Before the rotation", "Body").await;
    // The admin's own data directory (copies of hub.toml and master.key), no server on it.
    let admin = tempfile::tempdir().unwrap();
    let data = admin.path().join("hub");
    std::fs::create_dir(&data).unwrap();
    for file in ["hub.toml", "master.key"] {
        std::fs::copy(a.data().join(file), data.join(file)).unwrap();
    }
    let rotate = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("sealpost-hub"))
            .args(["admin", "--data"])
            .arg(&data)
            .arg("rotate-master-key")
            .output()
            .unwrap()
    };
    // Replica A holds its serving lock once it listens.
    let started = Instant::now();
    while a
        .hub
        .store()
        .read(|tx| {
            tx.sql().query_row(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' \
                 AND mode = 'ShareLock' AND objsubid = 2 \
                 AND classid::bigint = hashtext(current_schema())::bigint & 4294967295",
                [],
                |r| r.get::<_, i64>(0),
            )
        })
        .await
        .unwrap()
        == 0
    {
        assert!(started.elapsed() < Duration::from_secs(5), "A listens");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = rotate();
    assert!(!out.status.success(), "rotated while replica A serves");
    let refused = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(refused.contains("serving on this database"), "{refused}");

    // Every replica stopped: the rotation goes ahead.
    let _stopped = a.server.stop().await;
    let started = Instant::now();
    loop {
        let out = rotate();
        if out.status.success() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still refused after the replica stopped: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_email_whose_claim_ran_out_is_sent_by_the_process_that_claimed_it_next() {
    let (_cluster, server) = server();
    let a = hub_on(fresh_store(&server)).await;
    let store = a.hub.store().clone();
    let now = chrono::Utc::now();
    store
        .write_blocking(move |tx| tx.enqueue_mail(alice(), "reset", b"sealed", now))
        .unwrap();
    let lease = chrono::Duration::minutes(15);
    // Process A claims the invitation, then a slow relay keeps it past its lease...
    let first = store
        .write_blocking(move |tx| tx.claim_due_mail(now, lease, 20))
        .unwrap();
    assert_eq!(first.len(), 1);
    let later = now + chrono::Duration::minutes(16);
    // ...and process B claims it meanwhile.
    let second = store
        .write_blocking(move |tx| tx.claim_due_mail(later, lease, 20))
        .unwrap();
    assert_eq!(second.len(), 1, "the lease ran out: B may take it");
    let (id, held) = (first[0].id, first[0].claimed_until);
    let until = sealpost_hub::clock::to_millis(later + lease);
    assert!(
        !store
            .write_blocking(move |tx| tx.renew_mail_claim(id, held, until))
            .unwrap(),
        "A finds its claim gone and does not send it too"
    );
    let held = second[0].claimed_until;
    assert!(store
        .write_blocking(move |tx| tx.renew_mail_claim(id, held, until))
        .unwrap());
}
