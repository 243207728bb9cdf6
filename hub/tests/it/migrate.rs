//! `admin migrate-store`: a SQLite hub moved into PostgreSQL and a bucket reads back
//! exactly as before. Needs the run's PostgreSQL (and, for the files, Garage): `make
//! test` runs it so; without them it returns at once.

use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use sealpost_hub::testing::{garage, postgres, TestServer};

use crate::storage::everything;
use crate::support::*;

#[tokio::test]
async fn a_sqlite_hub_moved_into_postgres_and_a_bucket_reads_back_every_message_the_same() {
    let Some(store) = postgres::test_store() else {
        return;
    };
    let bucket = garage::test_blobs();
    // SQLite rows and the blobs/ folder, as every hub starts.
    let t = TestHub {
        server: TestServer::start_on(None, |c| c.blobs = None).await,
        http: reqwest::Client::new(),
    };
    t.registered(alice()).await;
    t.registered(bob()).await;
    let work = tempfile::tempdir().unwrap();
    let plan = work.path().join("care plan.pdf");
    std::fs::write(
        &plan,
        (0..3_000_000u32)
            .map(|i| (i % 241) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    t.org_send_files(alice(), "Referral", "The plan is attached.", &[plan])
        .await;
    t.org_send(&[alice(), bob()], "To both", "Body").await;
    // Someone whose mailbox goes between a stopped run and the next (below).
    let leaver = "carol@partner.example";
    let note = work.path().join("note.txt");
    std::fs::write(&note, "a file of the leaver's").unwrap();
    t.org_send_files(leaver, "For Carol", "Attached.", &[note])
        .await;
    let alice_user = t.signed_in(alice()).await;
    let (status, _) = alice_user
        .post(
            "/contacts",
            serde_json::json!({"name": "Case worker", "email": staff()}),
        )
        .await;
    assert!(status.is_success());
    let before_alice = everything(&t, alice(), GOOD_PASSWORD).await;
    let before_bob = everything(&t, bob(), GOOD_PASSWORD).await;
    assert_eq!(before_alice.1.len(), 1, "the attachment reads before");
    let dir = t.server.stop().await;
    let data = dir.path().join("hub");

    // The database named on the command line, or (`via_env`) in SEALPOST_STORE_URL.
    let migrate_with = |via_env: bool| {
        let mut cmd = Command::cargo_bin("sealpost-hub").unwrap();
        cmd.args(["admin", "--data"])
            .arg(&data)
            .arg("migrate-store");
        if via_env {
            cmd.env("SEALPOST_STORE_URL", &store.url);
        } else {
            cmd.args(["--to", &store.url]);
        }
        if let Some(b) = &bucket {
            cmd.args(["--blobs-url", &b.url])
                .args(["--blobs-endpoint", b.endpoint.as_deref().unwrap()])
                .args(["--blobs-region", &b.region])
                .env(
                    "SEALPOST_S3_ACCESS_KEY_ID",
                    b.access_key_id.as_deref().unwrap(),
                )
                .env(
                    "SEALPOST_S3_SECRET_ACCESS_KEY",
                    b.secret_access_key.as_deref().unwrap(),
                );
        }
        cmd.output().unwrap()
    };
    let migrate = || migrate_with(false);
    let out = migrate();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(said.contains("messages: "), "a line per table: {said}");
    assert!(said.contains("rows verified in the database"), "{said}");
    let config = std::fs::read_to_string(data.join("hub.toml")).unwrap();
    assert!(
        config.contains("[store]"),
        "hub.toml names the database: {config}"
    );
    assert_eq!(
        config.contains("[blobs]"),
        bucket.is_some(),
        "and the bucket when one was given"
    );

    // Run again (a script's second run): nothing to move, and it says so.
    let again = migrate();
    assert!(again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("nothing to move"),
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
    // With the previous hub.toml back, the database (holding the moved hub, which may
    // have served since) is not written over.
    std::fs::copy(
        data.join("hub.toml.before-migrate-store"),
        data.join("hub.toml"),
    )
    .unwrap();
    let over = migrate();
    assert!(!over.status.success());
    assert!(
        String::from_utf8_lossy(&over.stderr).contains("rows of another hub"),
        "{}",
        String::from_utf8_lossy(&over.stderr)
    );
    // As a run stopped half-way leaves it: its marker set, some rows not copied yet. The
    // next run replaces the rows whole and keeps the files already in the bucket.
    let db = sealpost_hub::store::Store::connect(&store.url, 1).unwrap();
    let public = db
        .write_blocking(|tx| tx.hub_key(sealpost_hub::store::MASTER_KEY_ROW))
        .unwrap()
        .unwrap()
        .0;
    db.write_blocking(|tx| {
        tx.set_copy_marker(&public)?;
        tx.sql().execute("DELETE FROM audit", [])?;
        Ok(())
    })
    .unwrap();
    drop(db);
    // Meanwhile the hub (still on SQLite) deleted a mailbox: the bucket holds its file,
    // copied by the stopped run, which no row refers to any more. It is still this hub's.
    let deleted = Command::cargo_bin("sealpost-hub")
        .unwrap()
        .args(["admin", "--data"])
        .arg(&data)
        .args(["user", "delete", leaver])
        .output()
        .unwrap();
    assert!(deleted.status.success(), "{deleted:?}");
    let resumed = migrate_with(true);
    let said = String::from_utf8_lossy(&resumed.stdout).into_owned();
    assert!(
        resumed.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert!(
        said.contains("replacing the rows an earlier run copied"),
        "{said}"
    );
    if bucket.is_some() {
        assert!(said.contains("(0 copied now)"), "the files stay: {said}");
    }
    assert!(
        !said.contains("For Carol"),
        "nothing of the content is printed: {said}"
    );

    // The hub on its new stores (given the bucket's key as `serve` would get it from
    // the environment): every message, contact and file as before.
    if let Some(b) = &bucket {
        let path = data.join("hub.toml");
        let mut config: sealpost_hub::config::HubConfig =
            toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let blobs = config.blobs.as_mut().unwrap();
        blobs.access_key_id = b.access_key_id.clone();
        blobs.secret_access_key = b.secret_access_key.clone();
        std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    }
    let start = "2026-03-02T10:00:00Z".parse().unwrap();
    let moved = TestHub {
        server: TestServer::start_in(dir, start).await,
        http: reqwest::Client::new(),
    };
    assert!(
        moved.hub.store().is_shared(),
        "the rows are in PostgreSQL now"
    );
    assert_eq!(moved.hub.blobs().is_shared(), bucket.is_some());
    let after_alice = everything(&moved, alice(), GOOD_PASSWORD).await;
    let after_bob = everything(&moved, bob(), GOOD_PASSWORD).await;
    assert_eq!(
        after_alice, before_alice,
        "Alice's mailbox reads back the same, files too"
    );
    assert_eq!(after_bob, before_bob, "and Bob's");
    // And it goes on working there: a new message arrives and is read.
    moved.org_send(&[alice()], "After the move", "Body").await;
    let user = moved.signed_in(alice()).await;
    assert!(user
        .folder("inbox")
        .await
        .iter()
        .any(|m| m["subject"] == "After the move"));
}

#[tokio::test]
async fn a_bucket_that_takes_no_file_is_said_before_anything_is_copied() {
    let (Some(store), Some(mut bucket)) = (postgres::test_store(), garage::test_blobs()) else {
        return;
    };
    let t = TestHub {
        server: TestServer::start_on(None, |c| c.blobs = None).await,
        http: reqwest::Client::new(),
    };
    t.registered(alice()).await;
    let dir = t.server.stop().await;
    let data = dir.path().join("hub");
    let before = std::fs::read_to_string(data.join("hub.toml")).unwrap();
    bucket.secret_access_key = Some("0".repeat(64));
    let out = Command::cargo_bin("sealpost-hub")
        .unwrap()
        .args(["admin", "--data"])
        .arg(&data)
        .args(["migrate-store", "--to", &store.url])
        .args(["--blobs-url", &bucket.url])
        .args(["--blobs-endpoint", bucket.endpoint.as_deref().unwrap()])
        .args(["--blobs-region", &bucket.region])
        .env(
            "SEALPOST_S3_ACCESS_KEY_ID",
            bucket.access_key_id.as_deref().unwrap(),
        )
        .env(
            "SEALPOST_S3_SECRET_ACCESS_KEY",
            bucket.secret_access_key.as_deref().unwrap(),
        )
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(said.contains("the bucket does not take a file"), "{said}");
    assert!(
        String::from_utf8_lossy(&out.stdout).is_empty(),
        "no table was copied first: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        std::fs::read_to_string(data.join("hub.toml")).unwrap(),
        before,
        "hub.toml is untouched"
    );
}
