//! The 90-day rule, with a clock the test moves.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_message_stays_until_90_days_then_goes_with_its_files() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await; // Welcome, sent at 09:00
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.txt");
    std::fs::write(&file, "plan").unwrap();
    t.org_send_files(&alice.email, "Plan", "b", &[file]).await;
    let (_, first) = alice.get("/changes").await;
    let state = first["state"].as_str().unwrap().to_owned();
    assert_eq!(t.blob_names().len(), 1);

    t.advance(chrono::Duration::days(90) - chrono::Duration::hours(1));
    let cli = sealpost_hub::Caller::cli();
    let report = t.hub.purge(false, &cli).await.unwrap();
    assert_eq!(report.messages, 0, "at 89 days 23 hours nothing goes");
    // Sign in again: the first session is long gone.
    let alice = User {
        token: t.access_token(alice.email.as_str()).await,
        ..alice
    };
    assert_eq!(alice.folder("inbox").await.len(), 2);

    t.advance(chrono::Duration::hours(1));
    let alice = User {
        token: t.access_token(alice.email.as_str()).await,
        ..alice
    };
    let dry = t.hub.purge(true, &cli).await.unwrap();
    assert_eq!((dry.messages, dry.attachments), (2, 1), "a dry run counts");
    assert_eq!(alice.folder("inbox").await.len(), 2, "and changes nothing");
    let report = t.hub.purge(false, &cli).await.unwrap();
    assert_eq!(
        (report.messages, report.attachments),
        (2, 1),
        "at 90 days both go"
    );
    assert!(alice.folder("inbox").await.is_empty());
    assert!(t.blob_names().is_empty(), "the attachment file is gone");
    let (_, delta) = alice.get(&format!("/changes?since={state}")).await;
    assert_eq!(
        delta["destroyed"].as_array().unwrap().len(),
        2,
        "devices learn of it: {delta}"
    );
    assert_eq!(delta["destroyed"][0]["kind"], "message");
    let audit = t
        .hub
        .audit_log(chrono::DateTime::<chrono::Utc>::MIN_UTC)
        .await
        .unwrap();
    let purge = audit.iter().find(|e| e.event == "purge").expect("audited");
    assert_eq!(
        purge.detail, "2 messages, 1 attachment files, 0 uploads, 0 files left by crashes, 0 empty pending mailboxes",
        "counts, not content"
    );
}

#[tokio::test]
async fn unused_uploads_are_removed_after_24_hours() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let (_, up) = alice.upload("draft.txt", b"x".to_vec()).await;
    assert_eq!(t.blob_names().len(), 1);
    t.advance(chrono::Duration::hours(23));
    assert_eq!(
        t.hub
            .purge(false, &sealpost_hub::Caller::cli())
            .await
            .unwrap()
            .uploads,
        0
    );
    t.advance(chrono::Duration::hours(1));
    assert_eq!(
        t.hub
            .purge(false, &sealpost_hub::Caller::cli())
            .await
            .unwrap()
            .uploads,
        1
    );
    assert!(t.blob_names().is_empty());
    let alice = User {
        token: t.access_token(alice.email.as_str()).await,
        ..alice
    };
    let (status, _) = alice
        .post(
            "/messages",
            json!({"to": ["w@example.gov.uk"], "upload_ids": [up["upload_id"]]}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an expired upload cannot be attached"
    );
}

#[tokio::test]
async fn retention_is_configurable() {
    let t = TestHub::start_with(|c| c.limits.retention_days = 7).await;
    let alice = t.user(alice()).await;
    assert_eq!(
        alice.folder("inbox").await[0]["expires_at"],
        "2026-03-09T09:00:00Z"
    );
}

#[tokio::test]
async fn a_message_can_be_kept_for_fewer_days_but_never_more() {
    use sealpost_hub::{sending::OrgMessage, testing::STAFF, Caller};
    let t = TestHub::start().await;
    let alice = t.user(alice()).await; // Welcome, sent at 09:00
    for (subject, keep_days) in [("short", 3), ("long", 400)] {
        t.hub
            .send_org_message(
                OrgMessage {
                    from: STAFF.into(),
                    to: vec![alice.email.clone()],
                    subject: subject.into(),
                    body_text: "b".into(),
                    keep_days: Some(keep_days),
                    ..Default::default()
                },
                &Caller::cli(),
            )
            .await
            .unwrap();
    }
    let inbox = alice.folder("inbox").await;
    let expiry = |s: &str| inbox.iter().find(|m| m["subject"] == s).unwrap()["expires_at"].clone();
    assert_eq!(
        expiry("short"),
        "2026-03-05T09:00:00Z",
        "kept 3 days as asked"
    );
    assert_eq!(
        expiry("long"),
        "2026-05-31T09:00:00Z",
        "the hub's 90-day retention is the most a message is kept"
    );
}
