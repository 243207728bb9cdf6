//! Storage v2: the upgrade of a data directory made by the release before, sealed values
//! that stay in their place, the key cache's bounds, and master-key rotation.

use std::{path::Path, process::Command};

use assert_cmd::cargo::CommandCargoExt;
use chrono::{DateTime, Duration, Utc};
use reqwest::Client;
use sealpost_hub::{
    crypto::{sealed::SealedContent, MasterKey, PublicKey},
    store::sql::{Conn, Param},
    testing::{store_of, TestServer},
};
use serde_json::{json, Value};

use crate::support::*;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of the storage v1 fixture (made by the release before storage v2) and what its
/// API answered then.
fn fixture() -> (tempfile::TempDir, Value) {
    use std::os::unix::fs::PermissionsExt;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root.join("storage-v1"), &dir.path().join("hub"));
    // git keeps no modes: the key file is made owner-only again, as it was.
    let key = dir.path().join("hub/master.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let expected = std::fs::read_to_string(root.join("storage-v1.json")).unwrap();
    (dir, serde_json::from_str(&expected).unwrap())
}

/// The moment the fixture's hub is opened at: after it was made, before its mail expires.
fn fixture_time() -> DateTime<Utc> {
    "2026-12-02T09:00:00Z".parse().unwrap()
}

async fn hub_in(dir: tempfile::TempDir, at: DateTime<Utc>) -> TestHub {
    TestHub {
        server: TestServer::start_in(dir, at).await,
        http: Client::new(),
    }
}

/// Every item of a full sync, and every attachment's bytes, as the user's app gets them.
pub(crate) async fn everything(
    t: &TestHub,
    email: &str,
    password: &str,
) -> (Vec<Value>, Vec<Vec<u8>>) {
    let (status, session) = t.sign_in(email, password, false).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{session}");
    let token = session["access_token"].as_str().unwrap().to_owned();
    let changes: Value = t
        .http
        .get(format!("{}/api/v1/changes?limit=500", t.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = changes["created"].as_array().unwrap().clone();
    let mut files = Vec::new();
    for item in items.iter().filter(|i| i["kind"] == "message") {
        for a in item["attachments"].as_array().unwrap() {
            let r = t
                .http
                .get(format!(
                    "{}/api/v1/messages/{}/attachments/{}",
                    t.url,
                    item["id"].as_str().unwrap(),
                    a["id"].as_str().unwrap()
                ))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{} downloads", a["name"]);
            files.push(r.bytes().await.unwrap().to_vec());
        }
    }
    (items, files)
}

fn expected_files(expected: &Value) -> Vec<Vec<u8>> {
    use base64::Engine;
    let mut out = Vec::new();
    for item in expected["items"].as_array().unwrap() {
        for a in item["attachments"].as_array().into_iter().flatten() {
            let b64 = expected["attachments"][a["id"].as_str().unwrap()]["base64"]
                .as_str()
                .unwrap();
            out.push(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap(),
            );
        }
    }
    out
}

/// Runs `sealpost-hub admin --data DATA COMMAND`, which must succeed; its standard output.
fn admin(data: &Path, command: &str) -> String {
    let out = Command::cargo_bin("sealpost-hub")
        .unwrap()
        .args(["admin", "--data"])
        .arg(data)
        .arg(command)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn sql_count(data: &Path, sql: &'static str) -> i64 {
    store_of(data)
        .write_blocking(|tx| tx.sql().query_row(sql, [], |r| r.get(0)))
        .unwrap()
}

#[tokio::test]
async fn a_data_directory_of_the_release_before_upgrades_and_every_item_reads_back_the_same() {
    let (dir, expected) = fixture();
    let email = expected["email"].as_str().unwrap().to_owned();
    let password = expected["password"].as_str().unwrap().to_owned();
    let t = hub_in(dir, fixture_time()).await;
    let data = t.data();
    assert_eq!(
        sql_count(&data, "SELECT count(*) FROM accounts WHERE data_key = x''"),
        0,
        "opening the hub gave every mailbox a data key"
    );
    let (before, files_before) = everything(&t, &email, &password).await;
    assert_eq!(
        &before,
        expected["items"].as_array().unwrap(),
        "before the upgrade, rows of the old format read as they did"
    );
    assert_eq!(files_before, expected_files(&expected));

    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = lines.clone();
    let rewritten = t
        .hub
        .upgrade_storage(move |p| seen.lock().unwrap().push(p.to_string()))
        .await
        .unwrap();
    assert_eq!(
        rewritten, 6,
        "the fixture's six message copies (Alice's five, Bob's one) are rewritten"
    );
    assert_eq!(
        *lines.lock().unwrap(),
        vec!["storage upgrade: 6 of 6 messages rewritten".to_owned()],
        "a progress line per batch"
    );
    assert_eq!(
        sql_count(
            &data,
            "SELECT count(*) FROM messages WHERE length(sealed) > 0 OR recipients != '{}'"
        ),
        0,
        "no age file and no recipients in the clear are left in message rows"
    );
    assert_eq!(
        sql_count(
            &data,
            "SELECT count(*) FROM contacts WHERE substr(sealed, 1, 3) = CAST('age' AS BLOB)"
        ) + sql_count(
            &data,
            "SELECT count(*) FROM groups WHERE substr(sealed, 1, 3) = CAST('age' AS BLOB)"
        ),
        0,
        "the address book is rewritten too"
    );

    let (after, files_after) = everything(&t, &email, &password).await;
    assert_eq!(
        &after,
        expected["items"].as_array().unwrap(),
        "every message, contact and group reads back as the release before gave it"
    );
    assert_eq!(
        files_after,
        expected_files(&expected),
        "every attachment, byte for byte"
    );
    assert_eq!(
        t.hub
            .upgrade_storage(|_| panic!("nothing is left"))
            .await
            .unwrap(),
        0,
        "a second run finds nothing to do"
    );
}

/// Writes `n` messages for `email` the way the release before stored them: one age file
/// of JSON sealed to the mailbox's identity, recipients in the clear.
fn store_v1_messages(data: &Path, email: &str, n: usize) {
    store_of(data)
        .write_blocking(|tx| {
            store_v1_rows(tx.sql(), email, n);
            Ok(())
        })
        .unwrap();
}

fn store_v1_rows(db: &Conn, email: &str, n: usize) {
    let (account, public): (String, String) = db
        .query_row(
            "SELECT id, mailbox_public FROM accounts WHERE email = ?1",
            [email],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let key = PublicKey::parse(&public).unwrap();
    for i in 0..n {
        let content = SealedContent {
            subject: format!("Old message {i}"),
            body_text: format!("Body of old message {i}"),
            body_html: None,
            attachments: Vec::new(),
        };
        let sealed = key.seal(&serde_json::to_vec(&content).unwrap()).unwrap();
        let state: i64 = db
            .query_row(
                "UPDATE accounts SET mailbox_state = mailbox_state + 1 WHERE id = ?1 \
                 RETURNING mailbox_state",
                [&account],
                |r| r.get(0),
            )
            .unwrap();
        db.execute(
            "INSERT INTO messages (id, account_id, origin_id, folder, sender, recipients, sent_at, \
             expires_at, sealed, created_modseq, modseq) VALUES (?1, ?2, ?1, 'inbox', \
             'case.worker@example.gov.uk', ?3, ?4, ?5, ?6, ?7, ?7)",
            [
                Param::Text(&format!("msg_old{i:05}")),
                Param::Text(&account),
                Param::Text(&json!({"to": [email], "cc": []}).to_string()),
                Param::Int(1_772_442_000_000i64 + i as i64),
                Param::Int(1_780_000_000_000i64),
                Param::Blob(&sealed),
                Param::Int(state),
            ],
        )
        .unwrap();
    }
}

#[tokio::test]
async fn an_upgrade_stopped_half_way_resumes_and_says_how_far_it_is_per_thousand() {
    let t = TestHub::start().await;
    if t.hub.store().is_shared() {
        // Rows of format 1 exist only in SQLite hubs made before storage v2; a
        // PostgreSQL hub starts at format 2 (the upgrade walks SQLite's rowids).
        return;
    }
    t.registered(alice()).await;
    let dir = t.server.stop().await;
    let data = dir.path().join("hub");
    store_v1_messages(&data, alice(), 2_500);
    // As on a hub of the release before: rows of format 1 may remain.
    store_of(&data)
        .write_blocking(|tx| tx.sql().execute("DELETE FROM hub_state", []))
        .unwrap();
    let t = hub_in(dir, "2026-03-02T10:00:00Z".parse().unwrap()).await;
    // Stopped after its first batch (a crash, or Ctrl+C): that batch is kept whole.
    let stopped = t
        .hub
        .upgrade_storage(|p| {
            if p.done >= 1_000 {
                panic!("stopped here");
            }
        })
        .await;
    assert!(stopped.is_err(), "the run was stopped");
    let data = t.data();
    assert_eq!(
        sql_count(
            &data,
            "SELECT count(*) FROM messages WHERE length(sealed) > 0"
        ),
        1_500,
        "one batch of 1,000 was rewritten before the stop, the rest waits"
    );
    let alice_http = t.signed_in(alice()).await;
    let inbox = alice_http.folder("inbox").await;
    assert_eq!(
        inbox.len(),
        50,
        "a half-upgraded mailbox lists (both formats read)"
    );
    let dir = t.server.stop().await;

    let stdout = admin(&dir.path().join("hub"), "upgrade");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        vec![
            "storage upgrade: 1000 of 1500 messages rewritten",
            "storage upgrade: 1500 of 1500 messages rewritten",
            "storage upgrade finished: 1500 messages now in the current format",
        ],
        "the admin sees a line per 1,000 messages, and the run resumes where it stopped"
    );

    let t = hub_in(dir, "2026-03-02T10:00:00Z".parse().unwrap()).await;
    let token = t.access_token(alice()).await;
    let mut seen = 0;
    let mut since = String::new();
    loop {
        let page: Value = t
            .http
            .get(format!("{}/api/v1/changes?limit=500{since}", t.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for item in page["created"].as_array().unwrap() {
            let id = item["id"].as_str().unwrap();
            if let Some(i) = id.strip_prefix("msg_old") {
                let i: usize = i.parse().unwrap();
                assert_eq!(item["subject"], format!("Old message {i}"));
                assert_eq!(item["body_text"], format!("Body of old message {i}"));
                assert_eq!(item["to"], json!([alice()]), "recipients came through");
                seen += 1;
            }
        }
        if page["has_more"] != true {
            break;
        }
        since = format!("&since={}", page["state"].as_str().unwrap());
    }
    assert_eq!(seen, 2_500, "every message reads after the upgrade");
}

#[tokio::test]
async fn a_sealed_value_moved_to_another_row_or_mailbox_is_refused_clearly() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    t.registered(bob()).await;
    t.org_send(&[alice()], "Second for Alice", "Body two").await;
    let data = t.data();
    let db = store_of(&data);
    let ids = |email: &'static str| -> Vec<String> {
        db.write_blocking(|tx| {
            tx.sql()
                .prepare(
                    "SELECT m.id FROM messages m JOIN accounts a ON a.id = m.account_id \
                     WHERE a.email = ?1 ORDER BY m.sent_at, m.id",
                )?
                .query_map([email], |r| r.get(0))?
                .collect()
        })
        .unwrap()
    };
    let (a, b) = (ids(alice()), ids(bob()));
    let copy = |from: &str, to: &str| {
        db.write_blocking(|tx| {
            tx.sql().execute(
                "UPDATE messages SET sealed_body_text = \
                 (SELECT sealed_body_text FROM messages WHERE id = ?1) WHERE id = ?2",
                [from, to],
            )
        })
        .unwrap();
    };
    let alice_http = t.signed_in(alice()).await;
    let bob_http = t.signed_in(bob()).await;
    // Row A's body into row B of the same mailbox.
    copy(&a[1], &a[0]);
    let (status, body) = alice_http.get(&format!("/messages/{}", a[0])).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(
        code(&body),
        "internal",
        "the API says the hub failed, no detail"
    );
    let who = t.hub.authenticate(&alice_http.token).await.unwrap();
    let err = t.hub.open_message(&who, &a[0]).await.unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "the stored message.body_text of {} failed its integrity check",
            a[0]
        )),
        "the log names the row and field: {err}"
    );
    let (status, _) = alice_http.get(&format!("/messages/{}", a[1])).await;
    assert_eq!(status, 200, "the row it was copied from still reads");
    // Bob's body into Alice's other message: another mailbox's value does not open either.
    copy(&b[0], &a[1]);
    let (status, _) = alice_http.get(&format!("/messages/{}", a[1])).await;
    assert_eq!(status, 500, "a value from another mailbox is refused");
    let (status, _) = bob_http.get(&format!("/messages/{}", b[0])).await;
    assert_eq!(status, 200, "Bob's own message is untouched");
}

#[tokio::test]
async fn unwrapped_keys_are_kept_ten_minutes_at_most() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let alice_http = t.signed_in(alice()).await;
    alice_http.folder("inbox").await;
    assert_eq!(
        t.hub.cached_keys(),
        1,
        "Alice's keys are kept for her next call"
    );
    t.advance(Duration::minutes(9));
    alice_http.folder("inbox").await;
    assert_eq!(t.hub.cached_keys(), 1);
    t.advance(Duration::minutes(1));
    assert_eq!(
        t.hub.cached_keys(),
        0,
        "ten minutes after they were unwrapped they are dropped, though used a minute ago"
    );
}

#[tokio::test]
async fn rotating_the_master_key_rewraps_every_mailbox_and_the_old_key_opens_nothing() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let attach_dir = tempfile::tempdir().unwrap();
    let file = attach_dir.path().join("plan.pdf");
    std::fs::write(&file, b"%PDF plan bytes").unwrap();
    t.org_send_files(bob(), "For Bob", "Bob's body", &[file])
        .await;
    let alice_http = t.signed_in(alice()).await;
    alice_http
        .post(
            "/contacts",
            json!({"name": "Case Worker", "email": "case.worker@example.gov.uk"}),
        )
        .await;
    // A reset email waits in the queue, sealed to the master key.
    let r = t
        .post("/api/v1/password-resets", json!({"email": alice()}))
        .await;
    assert_eq!(r.status(), 202);
    t.hub.background_done().await;
    let before = everything(&t, alice(), GOOD_PASSWORD).await;
    let data = t.data();
    let old_key = tempfile::NamedTempFile::new().unwrap();
    std::fs::copy(data.join("master.key"), old_key.path()).unwrap();

    // While the hub is open the rotation refuses, and changes nothing.
    let refused =
        sealpost_hub::rotation::rotate_master_key(&sealpost_hub::config::DataDir::new(&data))
            .unwrap_err();
    assert!(refused.to_string().contains("in use"), "{refused}");
    assert!(!data.join("master.key.new").exists());

    let dir = t.server.stop().await;
    let stdout = admin(&dir.path().join("hub"), "rotate-master-key");
    let data = dir.path().join("hub");
    assert!(
        stdout.contains(&format!(
            "the new master key is {}",
            data.join("master.key").display()
        )),
        "it says where the new key is: {stdout}"
    );
    assert!(stdout.contains("2 mailboxes' keys re-wrapped"), "{stdout}");
    assert!(
        !data.join("master.key.new").exists(),
        "the new key took the old one's place"
    );

    // The old key opens nothing left in the hub.
    let old = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(old_key.path(), std::fs::Permissions::from_mode(0o600)).unwrap();
        MasterKey::load(old_key.path()).unwrap()
    };
    let db = store_of(&data);
    let mut wrapped: Vec<Vec<u8>> = Vec::new();
    for sql in [
        "SELECT data_key FROM accounts",
        "SELECT mailbox_key FROM accounts",
        "SELECT wrapped FROM hub_keys WHERE wrapped != x''",
        "SELECT sealed FROM mail_queue WHERE sent_at = 0 AND length(sealed) > 0",
    ] {
        let rows: Vec<Vec<u8>> = db
            .write_blocking(|tx| {
                tx.sql()
                    .prepare(sql)?
                    .query_map([], |r| r.get(0))?
                    .collect()
            })
            .unwrap();
        wrapped.extend(rows);
    }
    assert!(
        wrapped.len() >= 6,
        "keys of two mailboxes, the hub key, the queued reset email: {}",
        wrapped.len()
    );
    for w in &wrapped {
        assert!(old.open(w).is_err(), "the old master key opens none of it");
    }
    let go_age = Command::new("age")
        .args(["-d", "-i"])
        .arg(old_key.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&wrapped[0])?;
            child.wait()
        })
        .unwrap();
    assert!(
        !go_age.success(),
        "Go age with the old key opens no data key either"
    );

    let t = hub_in(dir, "2026-03-02T10:00:00Z".parse().unwrap()).await;
    let after = everything(&t, alice(), GOOD_PASSWORD).await;
    assert_eq!(
        after, before,
        "every message, attachment and contact still reads"
    );
    assert!(
        t.emails_to(alice())
            .await
            .iter()
            .any(|e| e.contains("/reset?token=")),
        "the reset email queued before the rotation (sealed to the master key) goes out"
    );
    let token = t.link_token(bob(), "/register").await;
    let r = t
        .post(
            "/api/v1/registrations",
            json!({"token": token, "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(
        r.status(),
        201,
        "Bob's registration link, made after, works"
    );
    let bob_http = t.signed_in(bob()).await;
    let inbox = bob_http.folder("inbox").await;
    assert_eq!(inbox[0]["subject"], "For Bob");
}

#[tokio::test]
async fn a_rotation_stopped_after_its_commit_is_finished_when_the_hub_next_opens() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let before = everything(&t, alice(), GOOD_PASSWORD).await;
    let dir = t.server.stop().await;
    let data = dir.path().join("hub");
    let old = std::fs::read(data.join("master.key")).unwrap();
    sealpost_hub::rotation::rotate_master_key(&sealpost_hub::config::DataDir::new(&data)).unwrap();
    // The state a stop between the commit and the swap of the key files leaves.
    std::fs::rename(data.join("master.key"), data.join("master.key.new")).unwrap();
    std::fs::write(data.join("master.key"), old).unwrap();

    let t = hub_in(dir, "2026-03-02T10:00:00Z".parse().unwrap()).await;
    assert!(
        !t.data().join("master.key.new").exists(),
        "opening the hub finished the swap"
    );
    let after = everything(&t, alice(), GOOD_PASSWORD).await;
    assert_eq!(after, before);
}

#[tokio::test]
async fn a_master_key_that_is_not_the_databases_is_refused_with_what_to_do() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let dir = t.server.stop().await;
    let data = dir.path().join("hub");
    std::fs::remove_file(data.join("master.key")).unwrap();
    let err = sealpost_hub::Hub::open(&data)
        .err()
        .expect("no key, no hub");
    assert!(err.to_string().contains("master.key"), "{err}");
    MasterKey::create(&data.join("master.key")).unwrap();
    let err = sealpost_hub::Hub::open(&data)
        .err()
        .expect("another key is refused");
    assert!(
        err.to_string().contains("put the matching master.key back"),
        "{err}"
    );
}

#[tokio::test]
async fn after_the_upgrade_a_value_of_the_old_format_is_refused() {
    // Anyone can seal an age file to a mailbox's public key: once no row of format 1 is
    // left, such a value is not content the hub stored.
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let alice_http = t.signed_in(alice()).await;
    let data = t.data();
    store_v1_messages(&data, alice(), 1);
    let (status, body) = alice_http.get("/messages/msg_old00000").await;
    assert_eq!(status, 500, "a new hub never held format 1: {body}");
    let who = t.hub.authenticate(&alice_http.token).await.unwrap();
    let err = t.hub.open_message(&who, "msg_old00000").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("the stored content of msg_old00000 failed its integrity check"),
        "{err}"
    );
    assert_eq!(
        t.hub.upgrade_storage(|_| {}).await.unwrap(),
        0,
        "the upgrade does not take it for a row to rewrite"
    );
    let (status, _) = alice_http.get("/messages/msg_old00000").await;
    assert_eq!(status, 500);

    // An upgraded hub the same, once its last row of format 1 is rewritten.
    let (dir, expected) = fixture();
    let t = hub_in(dir, fixture_time()).await;
    assert!(t.hub.upgrade_storage(|_| {}).await.unwrap() > 0);
    let data = t.data();
    let email = expected["email"].as_str().unwrap();
    store_v1_messages(&data, email, 1);
    let account_id: String = store_of(&data)
        .write_blocking(|tx| {
            tx.sql()
                .query_row("SELECT id FROM accounts WHERE email = ?1", [email], |r| {
                    r.get(0)
                })
        })
        .unwrap();
    let who = sealpost_hub::accounts::Authenticated {
        signer: sealpost_hub::store::Signer {
            person_id: account_id.clone(),
            person_email: email.to_owned(),
            mailbox_email: email.to_owned(),
            device: String::new(),
        },
        account_id,
        family_id: String::new(),
        mfa_on: false,
        ip: String::new(),
    };
    let err = t.hub.open_message(&who, "msg_old00000").await.unwrap_err();
    assert!(
        err.to_string().contains("failed its integrity check"),
        "{err}"
    );
}

#[tokio::test]
async fn the_first_start_of_an_old_data_directory_with_the_wrong_key_records_no_key() {
    let (dir, expected) = fixture();
    let data = dir.path().join("hub");
    let right = std::fs::read(data.join("master.key")).unwrap();
    std::fs::remove_file(data.join("master.key")).unwrap();
    MasterKey::create(&data.join("master.key")).unwrap();
    let err = sealpost_hub::Hub::open(&data)
        .err()
        .expect("a key that opens no mailbox is refused");
    assert!(
        err.to_string()
            .contains("master.key does not open this hub's mailbox keys"),
        "{err}"
    );
    assert_eq!(
        sql_count(&data, "SELECT count(*) FROM hub_keys"),
        0,
        "nothing was recorded with the wrong key"
    );
    assert_eq!(
        sql_count(&data, "SELECT count(*) FROM accounts WHERE data_key != x''"),
        0
    );
    // The right key put back: the hub opens, upgrades, and everything reads.
    std::fs::write(data.join("master.key"), right).unwrap();
    let t = hub_in(dir, fixture_time()).await;
    let email = expected["email"].as_str().unwrap();
    let password = expected["password"].as_str().unwrap();
    let (items, _) = everything(&t, email, password).await;
    assert_eq!(&items, expected["items"].as_array().unwrap());
}
