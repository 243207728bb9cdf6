//! Reading a mailbox: listings, paging, read flags, opening, attachments, deleting.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn inbox_lists_newest_first_with_unread_flags_and_pages() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await; // holds the "Welcome" message
    for i in 1..=4 {
        t.advance(chrono::Duration::minutes(1));
        t.org_send(&[alice.email.as_str()], &format!("Message {i}"), "body")
            .await;
    }
    let (status, page) = alice.get("/messages?folder=inbox&limit=2").await;
    assert_eq!(status, StatusCode::OK);
    let subjects: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["Message 4", "Message 3"], "newest first");
    let first = &page["items"][0];
    assert_eq!(first["read"], false, "new mail is unread");
    assert_eq!(first["from"], staff());
    assert_eq!(first["to"], json!([alice.email]));
    assert_eq!(first["folder"], "inbox");
    assert_eq!(first["sent_at"], "2026-03-02T09:04:00Z");
    assert_eq!(first["expires_at"], "2026-05-31T09:04:00Z", "90 days later");
    let next = page["next_before"].as_str().unwrap();
    let (_, page2) = alice
        .get(&format!("/messages?folder=inbox&limit=2&before={next}"))
        .await;
    let subjects: Vec<&str> = page2["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["Message 2", "Message 1"]);
    let (_, page3) = alice
        .get(&format!(
            "/messages?limit=2&before={}",
            page2["next_before"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        page3["items"].as_array().unwrap().len(),
        1,
        "the Welcome message"
    );
    assert!(page3.get("next_before").is_none(), "last page");

    let (status, body) = alice.get("/messages?folder=junk").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown folder: {body}");
    let (status, _) = alice.get("/messages?before=nonsense").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn opening_and_marking_read() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let id = alice.folder("inbox").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, m) = alice.get(&format!("/messages/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(m["body_text"], "First message");
    assert_eq!(m["subject"], "Welcome");
    let (status, s) = alice
        .call(
            Method::PATCH,
            &format!("/messages/{id}"),
            Some(json!({"read": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s["read"], true);
    assert_eq!(
        alice.folder("inbox").await[0]["read"],
        true,
        "the flag is kept"
    );
    let (status, _) = alice
        .call(
            Method::PATCH,
            &format!("/messages/{id}"),
            Some(json!({"read": "yes"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "malformed patch");
}

#[tokio::test]
async fn attachments_are_listed_with_sizes_and_download_whole() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("Care plan – Mrs Jones.pdf");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(&pdf, &bytes).unwrap();
    t.advance(chrono::Duration::minutes(1));
    t.org_send_files(&alice.email, "Plan", "attached", &[pdf])
        .await;
    let m = &alice.folder("inbox").await[0];
    let att = &m["attachments"][0];
    assert_eq!(att["name"], "Care plan – Mrs Jones.pdf");
    assert_eq!(att["size"], 300_000);
    assert_eq!(att["content_type"], "application/pdf");
    let r = t
        .http
        .get(format!(
            "{}/api/v1/messages/{}/attachments/{}",
            t.url,
            m["id"].as_str().unwrap(),
            att["id"].as_str().unwrap()
        ))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-length"], "300000");
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cd.starts_with("attachment;"), "{cd}");
    assert!(
        cd.contains("filename*=UTF-8''Care%20plan%20%E2%80%93%20Mrs%20Jones.pdf"),
        "{cd}"
    );
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        &bytes[..],
        "every byte comes back"
    );

    let (status, _) = alice
        .get(&format!(
            "/messages/{}/attachments/att_nope",
            m["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn deleting_removes_the_message_and_its_files() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.txt");
    std::fs::write(&file, "x").unwrap();
    t.advance(chrono::Duration::minutes(1));
    t.org_send_files(&alice.email, "With file", "b", &[file])
        .await;
    let blobs_before = t.blob_names().len();
    let id = alice.folder("inbox").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = alice
        .call(Method::DELETE, &format!("/messages/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = alice.get(&format!("/messages/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code(&body), "not_found");
    assert_eq!(t.blob_names().len(), blobs_before - 1, "the file is gone");
    let (status, _) = alice
        .call(Method::DELETE, &format!("/messages/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "twice is not found");
}

#[tokio::test]
async fn delete_moves_to_deleted_and_undo_moves_back_to_where_it_was() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    t.advance(chrono::Duration::minutes(1));
    t.org_send_files(&alice.email, "Referral", "text", &[])
        .await;
    let inbox = alice.folder("inbox").await.len(); // the welcome message too
    let id = alice.folder("inbox").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, before) = alice.get("/changes").await;
    let state = before["state"].as_str().unwrap().to_owned();
    let path = format!("/messages/{id}");

    let (status, moved) = alice
        .call(Method::PATCH, &path, Some(json!({"deleted": true})))
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["folder"], "deleted");
    assert_eq!(moved["deleted_from"], "inbox", "it says where it came from");
    let original = before["created"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id.as_str())
        .unwrap();
    assert_eq!(
        moved["expires_at"], original["expires_at"],
        "the 90-day rule still runs"
    );
    assert_eq!(
        alice.folder("inbox").await.len(),
        inbox - 1,
        "out of the inbox"
    );
    assert_eq!(alice.folder("deleted").await.len(), 1, "in Deleted");
    let (_, changes) = alice.get(&format!("/changes?since={state}")).await;
    assert_eq!(
        changes["updated"][0]["folder"], "deleted",
        "other devices hear of the move: {changes}"
    );

    let (status, back) = alice
        .call(
            Method::PATCH,
            &path,
            Some(json!({"deleted": false, "read": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(back["folder"], "inbox", "Undo puts it back where it was");
    assert!(back.get("deleted_from").is_none());
    assert_eq!(back["read"], false, "one patch may change both");
    assert_eq!(alice.folder("inbox").await.len(), inbox);

    let (status, body) = alice.call(Method::PATCH, &path, Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "a patch that names nothing: {body}");
    assert_eq!(
        (body["folder"].clone(), body["read"].clone()),
        (json!("inbox"), json!(false)),
        "changes nothing"
    );

    // Deleted for good from Deleted.
    alice
        .call(Method::PATCH, &path, Some(json!({"deleted": true})))
        .await;
    let (status, _) = alice.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(alice.folder("deleted").await.is_empty(), "emptied");

    // A draft is deleted for good, not moved.
    let (_, draft) = alice
        .post("/drafts", json!({"mode": "new", "subject": "half"}))
        .await;
    let (status, body) = alice
        .call(
            Method::PATCH,
            &format!("/messages/{}", draft["id"].as_str().unwrap()),
            Some(json!({"deleted": true})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn mailbox_routes_need_a_session() {
    let t = TestHub::start().await;
    for path in [
        "/api/v1/messages",
        "/api/v1/changes",
        "/api/v1/contacts",
        "/api/v1/events",
    ] {
        let r = t.get(path).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}
