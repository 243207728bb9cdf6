//! Encrypted files in an S3 bucket (Garage): what only a bucket has to get right. The
//! whole suite already runs with its files in the bucket when `SEALPOST_TEST_S3` is set
//! (`make test` runs it so, on PostgreSQL); these tests need that bucket, and return at
//! once without it.

use reqwest::StatusCode;
use sealpost_hub::{
    testing::{garage, postgres, TestServer},
    Caller,
};
use serde_json::{json, Value};

use crate::support::*;

fn test_s3() -> Option<String> {
    std::env::var(garage::SERVER_ENV)
        .ok()
        .filter(|s| !s.is_empty())
}

#[tokio::test]
async fn readyz_says_when_the_bucket_cannot_take_a_file_and_recovers() {
    if test_s3().is_none() {
        return;
    }
    let t = TestHub::start().await;
    let dir = t.server.stop().await;
    let toml_path = dir.path().join("hub/hub.toml");
    let good = std::fs::read_to_string(&toml_path).unwrap();
    // The bucket renamed away (or the key's grant withdrawn): the hub still starts and
    // serves what needs no file, but says it is not ready.
    std::fs::write(
        &toml_path,
        good.replace("s3://sealpost-test/", "s3://no-such-bucket/"),
    )
    .unwrap();
    let start = "2026-03-02T10:00:00Z".parse().unwrap();
    let t = TestHub {
        server: TestServer::start_in(dir, start).await,
        http: reqwest::Client::new(),
    };
    let r = t.get("/readyz").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["store"], "ok");
    assert_eq!(body["blobs"], "the attachment store takes no new file");

    let dir = t.server.stop().await;
    std::fs::write(dir.path().join("hub/hub.toml"), &good).unwrap();
    let t = TestHub {
        server: TestServer::start_in(dir, start).await,
        http: reqwest::Client::new(),
    };
    assert_eq!(t.get("/readyz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn init_refuses_a_bucket_it_cannot_write_and_writes_nothing() {
    let Some(server) = test_s3() else {
        return;
    };
    let mut bucket = garage::bucket(&server, "t_refused");
    bucket.secret_access_key = Some("0".repeat(64));
    let dir = tempfile::tempdir().unwrap();
    let err = sealpost_hub::Hub::init(
        &dir.path().join("hub"),
        sealpost_hub::InitOptions {
            org_name: "Example Council".into(),
            org_domains: vec!["example.gov.uk".into()],
            public_url: "http://hub.invalid".into(),
            store: None,
            blobs: Some(bucket),
        },
    )
    .expect_err("a wrong secret is refused at init");
    assert!(
        err.to_string().contains("the bucket does not take a file"),
        "{err}"
    );
    assert!(!dir.path().join("hub").exists(), "nothing was written");
}

#[tokio::test]
async fn an_upload_made_through_one_replica_is_attached_through_another() {
    let (Some(_), Some(store)) = (test_s3(), postgres::test_store()) else {
        return;
    };
    let a = TestHub {
        server: TestServer::start_on(Some(store), |_| {}).await,
        http: reqwest::Client::new(),
    };
    let b = TestHub {
        server: a.replica().await,
        http: reqwest::Client::new(),
    };
    let token = a
        .hub
        .create_org_token("case system", &Caller::cli())
        .await
        .unwrap()
        .token
        .expose()
        .clone();
    // 20 MB: a multipart upload of several parts into the bucket, through replica A.
    let bytes: Vec<u8> = (0..20_000_000u32).map(|i| (i % 253) as u8).collect();
    let r = a
        .http
        .post(format!("{}/api/v1/org/uploads?name=scan.pdf", a.url))
        .bearer_auth(&token)
        .header("content-type", "application/pdf")
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let up: Value = r.json().await.unwrap();
    // Attached by a send through replica B, which has no file of its own.
    let r = b
        .http
        .post(format!("{}/api/v1/org/messages", b.url))
        .bearer_auth(&token)
        .json(&json!({"from": staff(), "to": [alice()], "subject": "Scan",
                      "body_text": "attached", "upload_ids": [up["upload_id"]]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    // And read back through A, whole.
    let alice = a.user(alice()).await;
    let m = alice
        .folder("inbox")
        .await
        .into_iter()
        .find(|m| m["subject"] == "Scan")
        .unwrap();
    let got = alice.attachment(&m, 0).await;
    assert!(
        got[..] == bytes[..],
        "every byte, through the other replica"
    );
    assert!(
        !a.data()
            .join("blobs")
            .read_dir()
            .is_ok_and(|mut d| d.next().is_some())
            && !b.data().join("blobs").exists(),
        "no file was kept on either replica's disk"
    );
}

#[tokio::test]
async fn a_restored_backup_of_a_hub_on_a_bucket_keeps_its_files_off_the_live_bucket() {
    if test_s3().is_none() {
        return;
    }
    // SQLite rows, files in the bucket.
    let t = TestHub {
        server: TestServer::start_on(None, |_| {}).await,
        http: reqwest::Client::new(),
    };
    assert!(t.hub.blobs().is_shared());
    t.registered(alice()).await;
    let work = tempfile::tempdir().unwrap();
    let plan = work.path().join("plan.txt");
    std::fs::write(&plan, "the plan").unwrap();
    t.org_send_files(alice(), "Plan", "attached", &[plan]).await;
    let backup = work.path().join("backup");
    t.hub.backup(&backup).await.unwrap();
    let restored = tempfile::tempdir().unwrap();
    let data = restored.path().join("hub");
    let report =
        sealpost_hub::backup::restore(&backup, &data, Some(&t.data().join("master.key"))).unwrap();
    assert!(report.note.is_some(), "the change to hub.toml is said");
    let config = std::fs::read_to_string(data.join("hub.toml")).unwrap();
    assert!(
        !config.contains("[blobs]"),
        "the restored copy never works on the live bucket: {config}"
    );
    let back = TestHub {
        server: TestServer::start_in(restored, "2026-03-02T10:00:00Z".parse().unwrap()).await,
        http: reqwest::Client::new(),
    };
    assert!(!back.hub.blobs().is_shared());
    let alice = back.signed_in(alice()).await;
    let m = alice
        .folder("inbox")
        .await
        .into_iter()
        .find(|m| m["subject"] == "Plan")
        .unwrap();
    let got = alice.attachment(&m, 0).await;
    assert_eq!(
        got, b"the plan",
        "the file reads back from the restored folder"
    );
}

#[tokio::test]
async fn another_hubs_files_in_the_bucket_are_never_taken_for_leftovers() {
    let Some(server) = test_s3() else {
        return;
    };
    let prefix = format!("t_{}", hex::encode(rand::random::<[u8; 6]>()));
    let blobs = sealpost_hub::blobs::Blobs::bucket(&garage::bucket(&server, &prefix)).unwrap();
    // Another organisation's hub under a prefix inside this one's, and a file someone
    // left at its root.
    for name in ["orgb/1-/att_mFH1y6WNpikrrN1-.age", "README.txt"] {
        let mut w = blobs.create(name).unwrap();
        std::io::Write::write_all(&mut w, b"not this hub's").unwrap();
        w.finish().unwrap();
    }

    // A new hub is not given a prefix that holds files.
    let dir = tempfile::tempdir().unwrap();
    let init = |bucket| {
        sealpost_hub::Hub::init(
            &dir.path().join("hub"),
            sealpost_hub::InitOptions {
                org_name: "Example Council".into(),
                org_domains: vec!["example.gov.uk".into()],
                public_url: "http://hub.invalid".into(),
                store: None,
                blobs: Some(bucket),
            },
        )
    };
    let err = init(garage::bucket(&server, &prefix)).expect_err("a prefix holding files");
    assert!(err.to_string().contains("already holds files"), "{err}");
    assert!(!dir.path().join("hub").exists(), "nothing was written");

    // A hub whose files share the bucket (set up by hand, past init): its check and
    // sweep count and remove only files named as the hub names them.
    let t = TestServer::start_on(postgres::test_store(), |c| {
        c.blobs = Some(garage::bucket(&server, &prefix))
    })
    .await;
    let report = t.hub.check(false, &Caller::cli()).await.unwrap();
    assert_eq!(
        (report.orphan_files, report.recent_unreferenced_files),
        (0, 0),
        "{report:?}"
    );
    t.hub.check(true, &Caller::cli()).await.unwrap();
    let mut left = t.blob_names();
    left.sort();
    assert!(
        left.iter().any(|n| n == "README.txt") && left.iter().any(|n| n.starts_with("orgb/")),
        "{left:?}"
    );
}
