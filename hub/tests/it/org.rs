//! Organisation-side sending over HTTP with an org API token.

use reqwest::StatusCode;
use sealpost_hub::Caller;
use serde_json::{json, Value};

use crate::support::*;

async fn org_post(t: &TestHub, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut req = t
        .http
        .post(format!("{}/api/v1/org/messages", t.url))
        .json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.json().await.unwrap())
}

/// A new org API token's secret.
async fn org_token(t: &TestHub, name: &str) -> String {
    let created = t.hub.create_org_token(name, &Caller::cli()).await.unwrap();
    created.token.expose().clone()
}

#[tokio::test]
async fn an_org_token_sends_to_external_recipients() {
    let t = TestHub::start().await;
    let token = org_token(&t, "case system").await;
    assert!(token.starts_with("spo_"));
    let (status, body) = org_post(
        &t,
        Some(&token),
        json!({"from": staff(), "to": [alice()], "cc": [bob(), "manager@example.gov.uk"],
               "subject": "Case review", "body_text": "See you Tuesday"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(body["id"].as_str().unwrap().starts_with("snd_"));
    assert_eq!(
        body["delivered_to"],
        json!([alice(), bob()]),
        "staff in Cc get no mailbox"
    );
    assert!(token_in(&t.emails_to(alice()).await[0], "/register").is_some());
    assert!(token_in(&t.emails_to(bob()).await[0], "/register").is_some());
    let users: Vec<String> = t
        .hub
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect();
    assert_eq!(users, vec![alice().to_owned(), bob().to_owned()]);
    let listed = t.hub.org_tokens().await.unwrap();
    assert!(listed[0].last_used_at.is_some(), "use is recorded");
}

#[tokio::test]
async fn org_sending_refusals() {
    let t = TestHub::start().await;
    let token = org_token(&t, "ci").await;
    let msg =
        |from: &str, to: Value| json!({"from": from, "to": to, "subject": "s", "body_text": "b"});

    let (status, body) = org_post(&t, None, msg(staff(), json!([alice()]))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no token");
    assert_eq!(code(&body), "not_signed_in");
    let (status, _) = org_post(&t, Some("spo_forged"), msg(staff(), json!([alice()]))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "unknown token");

    let (status, body) = org_post(
        &t,
        Some(&token),
        msg("someone@gmail.example", json!([alice()])),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "from must be the organisation's"
    );
    assert_eq!(code(&body), "sender_not_allowed");

    let (status, body) = org_post(&t, Some(&token), msg(staff(), json!(["not-an-address"]))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not-an-address"));

    let (status, _) = org_post(
        &t,
        Some(&token),
        msg(staff(), json!(["boss@example.gov.uk"])),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no external recipient");
    assert!(
        t.hub.users().await.unwrap().is_empty(),
        "nothing was created by refusals"
    );

    let id = t.hub.org_tokens().await.unwrap()[0].id.clone();
    t.hub.revoke_org_token(&id, &Caller::cli()).await.unwrap();
    let (status, body) = org_post(&t, Some(&token), msg(staff(), json!([alice()]))).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a revoked token stops working"
    );
    assert_eq!(code(&body), "invalid_token");
}

#[tokio::test]
async fn attachment_limits_are_enforced_for_org_sends() {
    let t = TestHub::start_with(|c| {
        c.limits.max_attachments = 2;
        c.limits.max_attachment_bytes = 1000;
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = (0..3)
        .map(|i| {
            let p = dir.path().join(format!("f{i}.txt"));
            std::fs::write(&p, "x").unwrap();
            p
        })
        .collect();
    let cli = Caller::cli();
    let send = |files: Vec<std::path::PathBuf>| {
        t.hub.send_org_message(
            sealpost_hub::sending::OrgMessage {
                from: staff().into(),
                to: vec![alice().into()],
                attachments: files
                    .into_iter()
                    .map(sealpost_hub::sending::AttachmentFile::from_path)
                    .collect(),
                ..Default::default()
            },
            &cli,
        )
    };
    let err = send(files.clone()).await.unwrap_err();
    assert!(matches!(
        err,
        sealpost_hub::Error::AttachmentLimit {
            max_files: 2,
            max_total_bytes: 1000
        }
    ));
    let big = dir.path().join("big.bin");
    std::fs::write(&big, vec![0u8; 1001]).unwrap();
    assert!(
        send(vec![big]).await.is_err(),
        "1001 bytes is over a 1000-byte limit"
    );
    assert!(
        send(files[..2].to_vec()).await.is_ok(),
        "two small files pass"
    );
}

#[tokio::test]
async fn org_uploads_attach_to_org_messages_and_are_resealed_per_recipient() {
    let t = TestHub::start().await;
    let token = org_token(&t, "ci").await;
    let r = t
        .http
        .post(format!("{}/api/v1/org/uploads?name=minutes.txt", t.url))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("the minutes")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let up: Value = r.json().await.unwrap();
    let (status, body) = org_post(
        &t,
        Some(&token),
        json!({"from": staff(), "to": [alice(), bob()], "subject": "Minutes", "body_text": "attached",
               "upload_ids": [up["upload_id"]]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for who in [alice(), bob()] {
        let u = t.user(who).await;
        let m = u
            .folder("inbox")
            .await
            .into_iter()
            .find(|m| m["subject"] == "Minutes")
            .unwrap();
        assert_eq!(m["attachments"][0]["name"], "minutes.txt");
        let r = t
            .http
            .get(format!(
                "{}/api/v1/messages/{}/attachments/{}",
                t.url,
                m["id"].as_str().unwrap(),
                m["attachments"][0]["id"].as_str().unwrap()
            ))
            .bearer_auth(&u.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.text().await.unwrap(), "the minutes", "{who} can read it");
    }
    let (status, _) = org_post(
        &t,
        Some(&token),
        json!({"from": staff(), "to": [alice()], "subject": "again", "upload_ids": [up["upload_id"]]}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an upload is attached once");
    let r = t
        .http
        .post(format!("{}/api/v1/org/uploads?name=x", t.url))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "org uploads need an org token"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_report_stored_totals() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    t.sign_in(alice(), "wrong wrong wrong wrong", false).await;
    t.get("/healthz").await;
    let r = t.get("/metrics").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = r.text().await.unwrap();
    for line in [
        "sealpost_http_requests_total{method=\"POST\",route=\"/api/v1/sessions\",status=\"401\"} 1",
        "sealpost_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1",
        "sealpost_sign_in_failures_total 1",
        "sealpost_messages_stored 1",
        "sealpost_accounts{status=\"active\"} 1",
        "sealpost_lockouts_total 0",
        "sealpost_purged_messages_total 0",
        "sealpost_sse_clients 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in:\n{text}"
        );
    }
    assert!(
        !text.contains("token="),
        "routes are patterns, never concrete paths"
    );
}

#[tokio::test]
async fn an_html_body_from_staff_reaches_the_recipient_and_is_sealed_at_rest() {
    let t = TestHub::start().await;
    let user = t.user(alice()).await;
    let token = org_token(&t, "case system").await;
    let html = "<p>Agenda: <b>QUOKKA-7719</b></p>";
    let (status, body) = org_post(
        &t,
        Some(&token),
        json!({"from": staff(), "to": [alice()], "subject": "Agenda",
               "body_text": "Agenda: QUOKKA-7719", "body_html": html}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The test clock stands still: both messages share a date, so find them by subject.
    let inbox = user.folder("inbox").await;
    let id_of = |subject: &str| {
        inbox
            .iter()
            .find(|m| m["subject"] == subject)
            .and_then(|m| m["id"].as_str())
            .unwrap()
            .to_owned()
    };
    let (status, message) = user.get(&format!("/messages/{}", id_of("Agenda"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        message["body_html"], html,
        "the recipient gets the HTML exactly as sent; the app sanitises it"
    );
    assert_eq!(
        message["body_text"], "Agenda: QUOKKA-7719",
        "the text stays"
    );

    let (_, plain) = user.get(&format!("/messages/{}", id_of("Welcome"))).await;
    assert!(
        plain.get("body_html").is_none_or(|h| h.is_null()),
        "a text-only message has no HTML body: {plain}"
    );
    t.hub.store().read(|_| Ok(())).await.unwrap();
    let clear: Vec<_> = files_under(&t.data())
        .into_iter()
        .filter(|p| {
            let bytes = std::fs::read(p).unwrap();
            bytes.windows(11).any(|w| w == b"QUOKKA-7719")
        })
        .collect();
    assert!(
        clear.is_empty(),
        "the HTML body is sealed at rest: {clear:?}"
    );
}

/// How many copies are in `email`'s mailbox, from the store (no sign-in needed).
async fn inbox_count(t: &TestHub, email: &str) -> u64 {
    t.hub
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.email == email)
        .map_or(0, |u| u.inbox)
}

#[tokio::test]
async fn a_retried_org_send_is_not_sent_twice() {
    let t = TestHub::start().await;
    let token = org_token(&t, "case system").await;
    let message = json!({"from": staff(), "to": [alice()], "subject": "Case review",
                         "body_text": "See you Tuesday", "client_ref": "case-4471-letter-1"});
    let (status, first) = org_post(&t, Some(&token), message.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    // The staff system did not hear the answer, and sends again.
    let (status, again) = org_post(&t, Some(&token), message).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again, first, "the first receipt comes back");
    assert_eq!(inbox_count(&t, alice()).await, 1, "one copy in the mailbox");
    assert_eq!(
        t.emails_to(alice()).await.len(),
        1,
        "one email to the recipient"
    );

    // The same, by the Idempotency-Key header.
    let send = |subject: &str| {
        t.http
            .post(format!("{}/api/v1/org/messages", t.url))
            .bearer_auth(&token)
            .header("idempotency-key", "letter-2")
            .json(&json!({"from": staff(), "to": [alice()], "subject": subject, "body_text": "b"}))
            .send()
    };
    let first: Value = send("Second letter").await.unwrap().json().await.unwrap();
    let again: Value = send("Second letter").await.unwrap().json().await.unwrap();
    assert_eq!(first, again);
    assert_eq!(inbox_count(&t, alice()).await, 2);

    // The reference used again for another message: refused, nothing sent.
    let r = send("A different letter").await.unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(inbox_count(&t, alice()).await, 2);

    // Another token's references are its own.
    let other = org_token(&t, "another system").await;
    let (status, body) = org_post(
        &t,
        Some(&other),
        json!({"from": staff(), "to": [alice()], "subject": "Theirs", "body_text": "b",
               "client_ref": "case-4471-letter-1"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(inbox_count(&t, alice()).await, 3);
}

#[tokio::test]
async fn a_retried_org_send_with_uploads_returns_the_first_receipt() {
    let t = TestHub::start().await;
    let token = org_token(&t, "case system").await;
    let upload = || async {
        let r = t
            .http
            .post(format!("{}/api/v1/org/uploads?name=plan.pdf", t.url))
            .bearer_auth(&token)
            .body(vec![7u8; 1000])
            .send()
            .await
            .unwrap();
        r.json::<Value>().await.unwrap()["upload_id"].clone()
    };
    let message = |upload_id: Value| {
        json!({"from": staff(), "to": [alice()], "subject": "Plan", "body_text": "b",
               "upload_ids": [upload_id], "client_ref": "plan-1"})
    };
    let first_upload = upload().await;
    let (_, first) = org_post(&t, Some(&token), message(first_upload.clone())).await;
    // The upload was used by the first send; the retry is still recognised.
    let (status, again) = org_post(&t, Some(&token), message(first_upload)).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again, first);
    // A job retried from the start uploads its file again: a new upload id, the same
    // message.
    let second_upload = upload().await;
    let (status, again) = org_post(&t, Some(&token), message(second_upload.clone())).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a retried job is not a conflict: {again}"
    );
    assert_eq!(again, first);
    assert_eq!(inbox_count(&t, alice()).await, 1);
    // The retry's upload is not kept for a day: it was not needed.
    let (status, body) = org_post(
        &t,
        Some(&token),
        json!({"from": staff(), "to": [alice()], "subject": "Plan", "body_text": "b",
               "upload_ids": [second_upload]}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the retry's upload is gone: {body}"
    );
}

#[tokio::test]
async fn references_are_refused_rather_than_cut_and_the_refusal_names_both_forms() {
    let t = TestHub::start().await;
    let token = org_token(&t, "case system").await;
    let long = "r".repeat(100);
    let (status, _) = org_post(
        &t,
        Some(&token),
        json!({"from": staff(), "to": [alice()], "subject": "s", "body_text": "b",
               "client_ref": long}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "100 characters are allowed");
    // One character more: once cut to 100 it would be taken for the message above.
    let (status, body) = org_post(
        &t,
        Some(&token),
        json!({"from": staff(), "to": [alice()], "subject": "s", "body_text": "b",
               "client_ref": format!("{long}2")}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 100"),
        "{body}"
    );
    assert_eq!(inbox_count(&t, alice()).await, 1, "nothing more was sent");

    let r = t
        .http
        .post(format!("{}/api/v1/org/messages", t.url))
        .bearer_auth(&token)
        .header("idempotency-key", long.as_str())
        .json(&json!({"from": staff(), "to": [alice()], "subject": "other", "body_text": "b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let body: Value = r.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("client_ref, Idempotency-Key"),
        "the header's user is told it is the header: {message}"
    );
}

#[tokio::test]
async fn readyz_says_which_part_cannot_serve_and_recovers_with_it() {
    let t = TestHub::start().await;
    if t.hub.blobs().is_shared() {
        // The folder is taken away below; a bucket's readiness has its own test
        // (bucket::readyz_says_when_the_bucket_cannot_take_a_file).
        return;
    }
    let r = t.get("/readyz").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!({"store": "ok", "blobs": "ok"}));
    // The attachment folder gone (a volume unmounted, say): not ready, and why.
    let blobs = t.data().join("blobs");
    std::fs::rename(&blobs, t.data().join("blobs.away")).unwrap();
    std::fs::write(&blobs, b"not a folder").unwrap();
    let r = t.get("/readyz").await;
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["store"], "ok");
    assert_eq!(body["blobs"], "the attachment store takes no new file");
    assert!(
        !body.to_string().contains(&t.data().display().to_string()),
        "no path in the answer"
    );
    std::fs::remove_file(&blobs).unwrap();
    std::fs::rename(t.data().join("blobs.away"), &blobs).unwrap();
    assert_eq!(t.get("/readyz").await.status(), 200);
    assert_eq!(
        std::fs::read_dir(&blobs)
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".ready"))
            .count(),
        0,
        "the probe leaves no file behind"
    );
}

async fn recall(t: &TestHub, token: Option<&str>, id: &str) -> (StatusCode, Value) {
    let mut req = t
        .http
        .post(format!("{}/api/v1/org/messages/{id}/recall", t.url));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.json().await.unwrap())
}

#[tokio::test]
async fn staff_recall_a_message_from_every_mailbox_with_its_files() {
    let t = TestHub::start().await;
    let token = org_token(&t, "case system").await;
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("care-plan.pdf");
    std::fs::write(&plan, b"%PDF-1.7 the plan").unwrap();
    let blobs_before = t.blob_names().len();
    let kept = t.org_send(&[alice()], "Kept", "This one stays").await;
    let sent = t
        .org_send_files(alice(), "Wrong person", "Not for you", &[plan])
        .await;
    let also = t
        .org_send(&[alice(), bob()], "Also wrong", "Two copies")
        .await;
    let user = t.user(alice()).await;
    let (_, first) = user.get("/changes").await;
    let state = first["state"].as_str().unwrap().to_owned();
    let ids: Vec<String> = user
        .folder("inbox")
        .await
        .iter()
        .filter(|m| m["subject"] == "Wrong person")
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1);
    assert!(
        t.blob_names().len() > blobs_before,
        "the attachment is stored"
    );

    // Without a token, nothing; with one, the message leaves Alice's mailbox with its file.
    let (status, body) = recall(&t, None, &sent).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = recall(&t, Some(&token), &sent).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], sent.as_str());
    assert_eq!(body["copies_deleted"], 1);
    let recalled_at = body["recalled_at"].as_str().unwrap().to_owned();
    let (status, _) = user.get(&format!("/messages/{}", ids[0])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(t.blob_names().len(), blobs_before, "its file is gone");
    // Her computers hear of it at their next sync, with when it was recalled (the app
    // shows a line in its place).
    let (_, changes) = user.get(&format!("/changes?since={state}")).await;
    assert_eq!(
        changes["destroyed"],
        json!([{"kind": "message", "id": ids[0], "recalled_at": recalled_at}]),
        "{changes}"
    );

    // Asked again: the same answer, nothing more done.
    t.advance(chrono::Duration::minutes(5));
    let (status, again) = recall(&t, Some(&token), &sent).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["recalled_at"], recalled_at.as_str());
    // A send to two: both copies go, from the CLI's side too.
    let r = t
        .hub
        .recall_org_message(&also, &Caller::cli())
        .await
        .unwrap();
    assert_eq!((r.copies, r.repeated), (2, false));
    assert!(t
        .user(bob())
        .await
        .folder("inbox")
        .await
        .iter()
        .all(|m| m["subject"] != "Also wrong"));

    // Unknown ids, and a recipient's own message, are not staff's to recall.
    let (status, body) = recall(&t, Some(&token), "snd_unknown").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(code(&body), "not_found");
    let (status, reply) = user
        .post(
            "/messages",
            json!({"mode": "reply", "in_reply_to": user.folder("inbox").await[0]["id"],
                   "to": [staff()], "subject": "Re: Kept", "body_text": "Thanks"}),
        )
        .await;
    assert!(status.is_success(), "{reply}");
    let (status, _) = recall(&t, Some(&token), reply["id"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let inbox = user.folder("inbox").await;
    assert!(inbox.iter().any(|m| m["subject"] == "Kept"), "{inbox:?}");
    let _ = kept;

    // Counted, never described, in the audit log.
    let events = t.audit_events().await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.starts_with("org_message_recalled"))
            .count(),
        2,
        "{events:?}"
    );
}

async fn status_of(t: &TestHub, token: Option<&str>, id: &str) -> (StatusCode, Value) {
    let mut req = t.http.get(format!("{}/api/v1/org/messages/{id}", t.url));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.json().await.unwrap())
}

#[tokio::test]
async fn staff_see_what_became_of_each_recipients_copy() {
    let t = TestHub::start().await;
    let token = org_token(&t, "case system").await;
    let id = t
        .org_send(&[alice(), bob()], "Case review", "See you Tuesday")
        .await;
    // Alice registers, opens the message and replies; Bob does nothing.
    let user = t.user(alice()).await;
    let message = user
        .folder("inbox")
        .await
        .into_iter()
        .find(|m| m["subject"] == "Case review")
        .unwrap();
    let message_id = message["id"].as_str().unwrap().to_owned();
    t.advance(chrono::Duration::minutes(1));
    let (status, _) = user
        .call(
            reqwest::Method::PATCH,
            &format!("/messages/{message_id}"),
            Some(json!({"read": true})),
        )
        .await;
    assert!(status.is_success());
    t.advance(chrono::Duration::minutes(1));
    let (status, reply) = user
        .post(
            "/messages",
            json!({"mode": "reply", "in_reply_to": message_id, "to": [staff()],
                   "subject": "Re: Case review", "body_text": "Tuesday is fine"}),
        )
        .await;
    assert!(status.is_success(), "{reply}");
    assert!(!t.emails_to(bob()).await.is_empty(), "Bob was notified");

    let (status, body) = status_of(&t, None, &id).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = status_of(&t, Some(&token), &id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], id.as_str());
    let (a, b) = (&body["recipients"][0], &body["recipients"][1]);
    assert_eq!(
        (a["address"].as_str(), b["address"].as_str()),
        (Some(alice()), Some(bob()))
    );
    for field in [
        "notified_at",
        "registered_at",
        "first_opened_at",
        "replied_at",
    ] {
        assert!(a[field].is_string(), "Alice's {field}: {body}");
    }
    assert!(
        a["first_opened_at"].as_str() < a["replied_at"].as_str(),
        "opened, then replied: {body}"
    );
    assert!(b["notified_at"].is_string(), "{body}");
    for field in [
        "registered_at",
        "first_opened_at",
        "replied_at",
        "recalled_at",
        "expired_at",
    ] {
        assert!(b[field].is_null(), "Bob's {field}: {body}");
    }
    assert_eq!(b["not_registered_after_7_days"], false, "not yet");

    // A week on, Bob has still not registered: flagged, for staff to check his address.
    t.advance(chrono::Duration::days(7));
    let (_, body) = status_of(&t, Some(&token), &id).await;
    assert_eq!(
        body["recipients"][1]["not_registered_after_7_days"], true,
        "{body}"
    );
    assert_eq!(body["recipients"][0]["not_registered_after_7_days"], false);

    // Recalled: said for each; it stays answerable after the copies are gone.
    let (status, recalled) = recall(&t, Some(&token), &id).await;
    assert_eq!(status, StatusCode::OK, "{recalled}");
    let (_, body) = status_of(&t, Some(&token), &id).await;
    for r in body["recipients"].as_array().unwrap() {
        assert_eq!(r["recalled_at"], recalled["recalled_at"], "{body}");
        assert!(r["expired_at"].is_null());
    }

    // Another message, left to expire: said when it did.
    let kept = t.org_send(&[alice()], "Short-lived", "Read soon").await;
    t.advance(chrono::Duration::days(91));
    let (_, body) = status_of(&t, Some(&token), &kept).await;
    assert!(body["recipients"][0]["expired_at"].is_string(), "{body}");

    let (status, body) = status_of(&t, Some(&token), "snd_unknown").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(code(&body), "not_found");
}

#[tokio::test]
async fn a_recall_before_the_notice_goes_takes_the_notice_back() {
    let t = TestHub::start().await;
    let first = t.org_send(&[bob()], "Welcome pack", "Hello").await;
    assert_eq!(
        t.emails_to(bob()).await.len(),
        1,
        "the first notice goes at once"
    );
    // A second message waits for the next notice (one per interval): recalled before it
    // goes, nothing is left to tell, and no notice goes.
    let wrong = t.org_send(&[bob()], "Wrong person", "Not for you").await;
    t.hub
        .recall_org_message(&wrong, &Caller::cli())
        .await
        .unwrap();
    t.advance(chrono::Duration::hours(2));
    t.hub.queue_notifications().await.unwrap();
    assert_eq!(
        t.emails_to(bob()).await.len(),
        1,
        "no notice for the recalled one"
    );
    // The first message is still his, and its status survives the hourly sweep of the
    // mailbox the recall emptied of the second.
    t.hub
        .recall_org_message(&first, &Caller::cli())
        .await
        .unwrap();
    t.hub.purge(false, &Caller::cli()).await.unwrap();
    let users = t.hub.users().await.unwrap();
    assert!(
        users.iter().all(|u| u.email != bob()),
        "the empty pending mailbox went"
    );
    let status = t.hub.send_status(&first).await.unwrap();
    assert_eq!(status.recipients.len(), 1);
    assert_eq!(status.recipients[0].address, bob());
    assert!(status.recipients[0].recalled_at.is_some());
    assert!(status.recipients[0].notified_at.is_some());
    assert!(
        !status.recipients[0].not_registered,
        "recalled: nothing to check"
    );
}
