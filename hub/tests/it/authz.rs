//! A user never sees another user's data: every id of someone else's answers 404, on
//! every route that takes one.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn every_route_answers_404_for_someone_elses_ids() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let bob = t.user(bob()).await;

    // Alice's things: a message with an attachment, a draft, a contact, a group, an upload.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.txt");
    std::fs::write(&file, "alice's file").unwrap();
    t.advance(chrono::Duration::minutes(1));
    t.org_send_files(&alice.email, "For Alice", "b", &[file])
        .await;
    let msg = alice.folder("inbox").await[0].clone();
    let message = msg["id"].as_str().unwrap().to_owned();
    let attachment = msg["attachments"][0]["id"].as_str().unwrap().to_owned();
    let (_, draft) = alice
        .post("/drafts", json!({"subject": "alice's draft"}))
        .await;
    let draft = draft["id"].as_str().unwrap().to_owned();
    let (_, contact) = alice
        .post(
            "/contacts",
            json!({"name": "A", "email": "a@example.gov.uk"}),
        )
        .await;
    let contact = contact["id"].as_str().unwrap().to_owned();
    let (_, group) = alice
        .post("/groups", json!({"name": "G", "contact_ids": [contact]}))
        .await;
    let group = group["id"].as_str().unwrap().to_owned();
    let (_, upload) = alice.upload("u.txt", b"u".to_vec()).await;
    let upload = upload["upload_id"].as_str().unwrap().to_owned();
    let (status, delegate) = alice
        .post(
            "/mailbox/delegates",
            json!({"email": "carol@elsewhere.example", "name": "Carol"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{delegate}");
    let delegate = delegate["id"].as_str().unwrap().to_owned();

    let matrix: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, format!("/messages/{message}"), None),
        (
            Method::PATCH,
            format!("/messages/{message}"),
            Some(json!({"read": true})),
        ),
        (Method::DELETE, format!("/messages/{message}"), None),
        (
            Method::GET,
            format!("/messages/{message}/attachments/{attachment}"),
            None,
        ),
        (Method::GET, format!("/messages/{draft}"), None),
        (
            Method::PUT,
            format!("/drafts/{draft}"),
            Some(json!({"subject": "bob's now"})),
        ),
        (Method::DELETE, format!("/drafts/{draft}"), None),
        (
            Method::PUT,
            format!("/contacts/{contact}"),
            Some(json!({"name": "B", "email": "b@example.gov.uk"})),
        ),
        (Method::DELETE, format!("/contacts/{contact}"), None),
        (
            Method::PUT,
            format!("/groups/{group}"),
            Some(json!({"name": "B", "contact_ids": []})),
        ),
        (Method::DELETE, format!("/groups/{group}"), None),
        (
            Method::POST,
            "/groups".into(),
            Some(json!({"name": "steal", "contact_ids": [contact]})),
        ),
        (
            Method::POST,
            "/messages".into(),
            Some(json!({"mode": "reply", "in_reply_to": message})),
        ),
        (
            Method::POST,
            "/messages".into(),
            Some(
                json!({"mode": "forward", "in_reply_to": message, "to": ["w@example.gov.uk"], "forward_attachments": true}),
            ),
        ),
        (
            Method::POST,
            "/messages".into(),
            Some(json!({"to": ["w@example.gov.uk"], "draft_id": draft})),
        ),
        (
            Method::POST,
            "/messages".into(),
            Some(json!({"to": ["w@example.gov.uk"], "upload_ids": [upload]})),
        ),
        (
            Method::POST,
            "/messages".into(),
            Some(json!({"to_groups": [group]})),
        ),
        (
            Method::POST,
            "/drafts".into(),
            Some(json!({"upload_ids": [upload]})),
        ),
        (
            Method::DELETE,
            format!("/mailbox/delegates/{delegate}"),
            None,
        ),
    ];
    for (method, path, body) in matrix {
        let (status, answer) = bob.call(method.clone(), &path, body).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{method} {path} as bob: {answer}"
        );
        assert_eq!(code(&answer), "not_found", "{method} {path}");
    }

    // Nothing of Alice's changed, and nothing leaked into Bob's listings or sync.
    let (status, m) = alice.get(&format!("/messages/{message}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(m["read"], false);
    assert_eq!(alice.folder("drafts").await.len(), 1);
    assert_eq!(
        alice.get("/contacts").await.1["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(alice.get("/groups").await.1["items"][0]["name"], "G");
    assert!(bob.folder("sent").await.is_empty());
    assert!(bob.folder("drafts").await.is_empty());
    let (_, bob_sync) = bob.get("/changes").await;
    let text = bob_sync.to_string();
    assert!(!text.contains("For Alice") && !text.contains(&contact) && !text.contains(&draft));
}

/// A NUL character in an id, a token or a query value is refused or not found, never a
/// fault: PostgreSQL cannot hold one in text, and SQLite finds no row.
#[tokio::test]
async fn a_nul_in_any_id_is_a_clear_refusal_on_either_store() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let routes = [
        (Method::GET, "/messages/a%00b"),
        (Method::PATCH, "/messages/%00"),
        (Method::DELETE, "/messages/%00"),
        (Method::GET, "/messages/%00/attachments/%00"),
        (Method::PUT, "/drafts/%00"),
        (Method::DELETE, "/drafts/%00"),
        (Method::PUT, "/contacts/%00"),
        (Method::DELETE, "/contacts/%00"),
        (Method::PUT, "/groups/%00"),
        (Method::DELETE, "/groups/%00"),
        (Method::GET, "/registrations/%00"),
        (Method::GET, "/password-resets/%00"),
        (Method::GET, "/changes?since=%00"),
        (Method::GET, "/messages?folder=inbox&before=%00"),
    ];
    for (method, path) in routes {
        let body = matches!(method, Method::PATCH | Method::PUT)
            .then(|| json!({"read": true, "name": "x", "email": "x@partner.example", "to": []}));
        let (status, answer) = alice.call(method.clone(), path, body).await;
        assert!(
            status.is_client_error(),
            "{method} {path}: {status} {answer}"
        );
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{method} {path} says why: {answer}"
        );
    }
}
