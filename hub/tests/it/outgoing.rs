//! What external users send: policy, delivery to staff, attachments and limits, drafts.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

fn find_email(emails: &[String], needle: &str) -> String {
    emails
        .iter()
        .find(|e| e.contains(needle))
        .unwrap_or_else(|| panic!("no email containing {needle}"))
        .clone()
}

#[tokio::test]
async fn a_new_message_to_staff_lands_in_sent_and_is_emailed_with_its_attachment() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let (status, up) = alice
        .upload("report.txt", b"quarterly figures".to_vec())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{up}");
    assert_eq!(up["name"], "report.txt");
    assert_eq!(up["size"], 17);
    let (status, sent) = alice
        .post(
            "/messages",
            json!({"mode": "new", "to": ["Worker@Example.gov.uk"], "cc": ["boss@example.gov.uk"],
                   "subject": "Figures", "body_text": "Here they are", "upload_ids": [up["upload_id"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["folder"], "sent");
    assert_eq!(sent["to"], json!(["worker@example.gov.uk"]));
    assert_eq!(sent["delivery"]["status"], "queued");
    assert_eq!(sent["attachments"][0]["name"], "report.txt");
    assert_eq!(alice.folder("sent").await.len(), 1, "a copy in Sent");

    let email = find_email(
        &t.emails_to("worker@example.gov.uk").await,
        "Subject: Figures",
    );
    assert!(email.contains("Cc: boss@example.gov.uk"), "{email}");
    let from = email.lines().find(|l| l.starts_with("From: ")).unwrap();
    assert!(
        from.ends_with("<no-reply@example.gov.uk>"),
        "from the hub's address: {from}"
    );
    let encoded = from
        .trim_start_matches("From: =?utf-8?b?")
        .split('?')
        .next()
        .unwrap();
    use base64::Engine;
    let name = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    assert_eq!(
        String::from_utf8(name).unwrap(),
        format!("{} via Example Council", alice.email),
        "names the sender"
    );
    let id = sent["id"].as_str().unwrap();
    assert!(
        email.contains(&format!("Reply-To: secure-reply+{id}@example.gov.uk")),
        "{email}"
    );
    assert!(email.contains("Here they are"));
    assert!(
        email.contains("filename=\"report.txt\""),
        "the attachment travels"
    );
    assert!(email.contains(&format!(
        "Sent by {} (outside the organisation)",
        alice.email
    )));

    let (_, m) = alice.get(&format!("/messages/{id}")).await;
    assert_eq!(
        m["delivery"]["status"], "delivered",
        "the Sent item shows it was delivered"
    );
    let (status, _) = alice
        .post(
            "/messages",
            json!({"to": ["w@example.gov.uk"], "upload_ids": [up["upload_id"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an upload is used once");
}

#[tokio::test]
async fn messages_outside_the_organisation_are_refused_listing_every_address() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let (status, body) = alice
        .post(
            "/messages",
            json!({"to": ["worker@example.gov.uk", "friend@gmail.example"], "cc": ["x@other.example"],
                   "subject": "s", "body_text": "b"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(&body), "recipient_not_allowed");
    assert_eq!(
        body["error"]["refused"],
        json!(["friend@gmail.example", "x@other.example"])
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Nothing was sent"));
    assert!(alice.folder("sent").await.is_empty(), "nothing in Sent");
    assert!(
        t.emails_to("worker@example.gov.uk").await.is_empty(),
        "nothing emailed"
    );

    let (status, body) = alice
        .post("/messages", json!({"to": ["not an address"]}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not an address"));
    let (status, _) = alice.post("/messages", json!({"to": []})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no recipient");
}

#[tokio::test]
async fn reply_goes_to_the_sender_only_and_reply_all_to_staff_participants() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    t.advance(chrono::Duration::minutes(1));
    t.hub
        .send_org_message(
            sealpost_hub::sending::OrgMessage {
                from: staff().into(),
                to: vec![alice.email.clone(), "boss@example.gov.uk".into()],
                cc: vec![bob().into(), "team@example.gov.uk".into()],
                subject: "Case".into(),
                body_text: "b".into(),
                ..Default::default()
            },
            &sealpost_hub::Caller::cli(),
        )
        .await
        .unwrap();
    let original = alice.folder("inbox").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, r) = alice
        .post("/messages", json!({"mode": "reply", "in_reply_to": original, "subject": "Re: Case", "body_text": "ok"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["to"], json!([staff()]));
    assert_eq!(r["cc"], json!([]));
    let (status, body) = alice
        .post(
            "/messages",
            json!({"mode": "reply", "in_reply_to": original, "cc": ["boss@example.gov.uk"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no Cc on a reply");
    assert_eq!(body["error"]["refused"], json!(["boss@example.gov.uk"]));

    let (status, r) = alice
        .post(
            "/messages",
            json!({"mode": "reply_all", "in_reply_to": original}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["to"], json!([staff()]));
    assert_eq!(
        r["cc"],
        json!(["boss@example.gov.uk", "team@example.gov.uk"]),
        "bob is outside: left out"
    );

    let (status, _) = alice
        .post(
            "/messages",
            json!({"mode": "reply", "in_reply_to": "msg_nope"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = alice.post("/messages", json!({"mode": "reply"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a reply needs in_reply_to");
}

#[tokio::test]
async fn the_original_is_marked_replied_and_forwarded_and_other_devices_hear_of_it() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    t.advance(chrono::Duration::minutes(1));
    t.org_send_files(&alice.email, "Case", "b", &[]).await;
    let original = alice.folder("inbox").await[0].clone();
    let id = original["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (original["replied"].clone(), original["forwarded"].clone()),
        (json!(false), json!(false)),
        "not answered yet"
    );
    let (_, before) = alice.get("/changes").await;
    let state = before["state"].as_str().unwrap().to_owned();

    let (status, r) = alice
        .post(
            "/messages",
            json!({"mode": "reply", "in_reply_to": id, "body_text": "ok"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let (_, changes) = alice.get(&format!("/changes?since={state}")).await;
    let updated = changes["updated"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id.as_str())
        .unwrap_or_else(|| panic!("the original travels as an update: {changes}"));
    assert_eq!(updated["replied"], true);
    assert_eq!(updated["forwarded"], false);

    let (status, r) = alice
        .post(
            "/messages",
            json!({"mode": "forward", "in_reply_to": id, "to": ["boss@example.gov.uk"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let (_, m) = alice.get(&format!("/messages/{id}")).await;
    assert_eq!(
        (m["replied"].clone(), m["forwarded"].clone()),
        (json!(true), json!(true))
    );
}

#[tokio::test]
async fn forward_carries_the_attachments_to_the_organisation_only() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.txt");
    std::fs::write(&file, "the plan").unwrap();
    t.advance(chrono::Duration::minutes(1));
    t.org_send_files(&alice.email, "Plan", "see attached", &[file])
        .await;
    let original = alice.folder("inbox").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = alice
        .post("/messages", json!({"mode": "forward", "in_reply_to": original, "to": ["me@gmail.example"], "forward_attachments": true}))
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "forwarding outside is refused"
    );
    assert_eq!(body["error"]["refused"], json!(["me@gmail.example"]));
    let (status, fwd) = alice
        .post("/messages", json!({"mode": "forward", "in_reply_to": original, "to": ["colleague@example.gov.uk"],
                                    "subject": "Fwd: Plan", "body_text": "fyi", "forward_attachments": true}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{fwd}");
    assert_eq!(fwd["attachments"][0]["name"], "plan.txt");
    let email = find_email(&t.emails_to("colleague@example.gov.uk").await, "Fwd: Plan");
    assert!(email.contains("filename=\"plan.txt\""));

    // Deleting the original keeps the forwarded copy's file.
    alice
        .call(Method::DELETE, &format!("/messages/{original}"), None)
        .await;
    let sent = alice.folder("sent").await;
    let att = &sent[0]["attachments"][0];
    let (status, _) = alice
        .get(&format!(
            "/messages/{}/attachments/{}",
            sent[0]["id"].as_str().unwrap(),
            att["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn attachment_limits_refuse_before_storing_anything() {
    let t = TestHub::start_with(|c| {
        c.limits.max_attachments = 3;
        c.limits.max_attachment_bytes = 1000;
    })
    .await;
    let alice = t.user(alice()).await;
    let (_, session) = t.sign_in(&alice.email, GOOD_PASSWORD, false).await;
    assert_eq!(
        session["account"]["limits"],
        serde_json::json!({"max_files": 3, "max_total_bytes": 1000, "idle_timeout_seconds": 1200}),
        "the sign-in answer reports the configured limits, not the defaults"
    );
    let blobs = || t.blob_names().len();
    let before = blobs();
    let (status, body) = alice.upload("big.bin", vec![7u8; 1001]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(code(&body), "attachment_limit");
    assert_eq!(body["error"]["max_files"], 3);
    assert_eq!(body["error"]["max_total_bytes"], 1000);
    assert_eq!(blobs(), before, "no file left behind");

    let mut ids = Vec::new();
    for i in 0..4 {
        let (status, up) = alice.upload(&format!("f{i}.txt"), vec![1u8; 100]).await;
        assert_eq!(status, StatusCode::CREATED);
        ids.push(up["upload_id"].clone());
    }
    let (status, body) = alice
        .post(
            "/messages",
            json!({"to": ["w@example.gov.uk"], "upload_ids": ids}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "four files over a three-file limit"
    );
    assert_eq!(code(&body), "attachment_limit");
    assert!(alice.folder("sent").await.is_empty());
    let (status, _) = alice
        .post(
            "/messages",
            json!({"to": ["w@example.gov.uk"], "upload_ids": ids[..3]}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "three pass, and the refused send consumed nothing"
    );
}

#[tokio::test]
async fn an_upload_over_75_mb_is_refused_as_soon_as_the_limit_is_crossed() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let limit = 75_000_000u64;
    // Declared too large: refused before reading.
    let r = t
        .http
        .post(format!("{}/api/v1/uploads?name=huge.bin", t.url))
        .bearer_auth(&alice.token)
        .header("content-length", (limit + 1).to_string())
        .body(vec![0u8; 10])
        .send()
        .await;
    if let Ok(r) = r {
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    // Streamed with no length: the hub stops at the limit.
    let chunk = bytes::Bytes::from(vec![0u8; 1024 * 1024]);
    let chunks = (0..=75u32).map(move |_| Ok::<_, std::io::Error>(chunk.clone()));
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let r = t
        .http
        .post(format!("{}/api/v1/uploads?name=huge.bin", t.url))
        .bearer_auth(&alice.token)
        .body(body)
        .send()
        .await;
    match r {
        Ok(r) => assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(e) => panic!("the hub answers rather than dropping the connection: {e}"),
    }
    assert!(t.blob_names().is_empty(), "no file left behind");
}

#[tokio::test]
async fn drafts_save_update_and_send_then_disappear() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let (_, up1) = alice.upload("one.txt", b"1".to_vec()).await;
    let (status, d) = alice
        .post("/drafts", json!({"to": ["not-yet-an-address"], "subject": "Half", "upload_ids": [up1["upload_id"]]}))
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "nothing is required of a draft: {d}"
    );
    assert_eq!(d["folder"], "drafts");
    let draft = d["id"].as_str().unwrap().to_owned();
    let (_, full) = alice.get(&format!("/messages/{draft}")).await;
    assert_eq!(full["mode"], "new");
    assert_eq!(full["to"], json!(["not-yet-an-address"]));

    let (_, up2) = alice.upload("two.txt", b"22".to_vec()).await;
    let (status, d) = alice
        .call(
            Method::PUT,
            &format!("/drafts/{draft}"),
            Some(json!({"to": ["worker@example.gov.uk"], "subject": "Whole", "body_text": "done", "upload_ids": [up2["upload_id"]]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{d}");
    assert_eq!(d["id"], draft.as_str(), "updated in place");
    let names: Vec<&str> = d["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["one.txt", "two.txt"], "kept and added");
    assert_eq!(alice.folder("drafts").await.len(), 1);

    let (status, sent) = alice
        .post("/messages", json!({"to": ["worker@example.gov.uk"], "subject": "Whole", "body_text": "done", "draft_id": draft}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(
        sent["attachments"].as_array().unwrap().len(),
        2,
        "the draft's files come along"
    );
    assert!(
        alice.folder("drafts").await.is_empty(),
        "sending removes the draft"
    );
    let (status, _) = alice.get(&format!("/messages/{draft}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let email = find_email(
        &t.emails_to("worker@example.gov.uk").await,
        "Subject: Whole",
    );
    assert!(email.contains("one.txt") && email.contains("two.txt"));

    let (_, d2) = alice.post("/drafts", json!({"subject": "scrap"})).await;
    let (status, _) = alice
        .call(
            Method::DELETE,
            &format!("/drafts/{}", d2["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let inbox_id = alice.folder("inbox").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = alice
        .call(Method::DELETE, &format!("/drafts/{inbox_id}"), None)
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "only drafts are deleted through /drafts"
    );
}

#[tokio::test]
async fn sending_to_a_group_expands_it_and_applies_the_policy_to_each_member() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let mut ids = Vec::new();
    for (name, email) in [
        ("Worker", "worker@example.gov.uk"),
        ("Boss", "boss@example.gov.uk"),
    ] {
        let (status, c) = alice
            .post("/contacts", json!({"name": name, "email": email}))
            .await;
        assert_eq!(status, StatusCode::CREATED);
        ids.push(c["id"].clone());
    }
    let (_, g) = alice
        .post("/groups", json!({"name": "Case team", "contact_ids": ids}))
        .await;
    let (status, sent) = alice
        .post(
            "/messages",
            json!({"to_groups": [g["id"]], "subject": "To the team", "body_text": "hi"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(
        sent["to"],
        json!(["worker@example.gov.uk", "boss@example.gov.uk"])
    );

    let (_, outsider) = alice
        .post(
            "/contacts",
            json!({"name": "Friend", "email": "friend@gmail.example"}),
        )
        .await;
    let mut with_outsider = ids.clone();
    with_outsider.push(outsider["id"].clone());
    let (_, g2) = alice
        .post(
            "/groups",
            json!({"name": "Mixed", "contact_ids": with_outsider}),
        )
        .await;
    let (status, body) = alice
        .post("/messages", json!({"to_groups": [g2["id"]]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["refused"], json!(["friend@gmail.example"]));
}

#[tokio::test]
async fn an_upload_whose_file_was_cut_short_is_refused_with_a_request_to_upload_again() {
    // Uploads are flushed to disk when attached, not when answered; a crash in between
    // can cut the file. The hub notices and says so rather than sending a broken file.
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let (_, up) = alice.upload("scan.pdf", vec![9u8; 200_000]).await;
    let blob = t.blob_names().pop().unwrap();
    let whole = t.read_blob(&blob);
    t.replace_blob(&blob, &whole[..whole.len() / 2]);
    let (status, body) = alice
        .post(
            "/messages",
            json!({"to": ["w@example.gov.uk"], "upload_ids": [up["upload_id"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Upload the file again"));
    assert!(alice.folder("sent").await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_send_retried_with_the_same_client_ref_is_sent_once() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let body = json!({"to": ["worker@example.gov.uk"], "subject": "Once", "body_text": "b", "client_ref": "c-123"});
    let (status, first) = alice.post("/messages", body.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, second) = alice.post("/messages", body).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the retry is answered like the first"
    );
    assert_eq!(first["id"], second["id"], "with the same message");
    assert_eq!(alice.folder("sent").await.len(), 1, "one copy in Sent");
    let emails = t.emails_to("worker@example.gov.uk").await;
    assert_eq!(
        emails
            .iter()
            .filter(|e| e.contains("Subject: Once"))
            .count(),
        1,
        "one email to staff"
    );
}

#[tokio::test]
async fn seventy_six_million_bytes_are_over_the_75_mb_limit() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    // One file declared at 76,000,000 bytes: refused before reading, in the same unit.
    let r = t
        .http
        .post(format!("{}/api/v1/uploads?name=scan.pdf", t.url))
        .bearer_auth(&alice.token)
        .header("content-length", "76000000")
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["max_total_bytes"], 75_000_000);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("75 MB"),
        "the message says the limit in the unit it is enforced in: {body}"
    );
    // Two files of 38,000,000 bytes each: each fits, together they do not.
    let (_, first) = alice.upload("part1.bin", vec![1u8; 38_000_000]).await;
    let (_, second) = alice.upload("part2.bin", vec![2u8; 38_000_000]).await;
    let (status, body) = alice
        .post(
            "/messages",
            json!({"mode": "new", "to": ["w@example.gov.uk"], "subject": "Scans",
                   "upload_ids": [first["upload_id"], second["upload_id"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(code(&body), "attachment_limit");
}

#[tokio::test]
async fn an_address_in_to_and_cc_is_sent_once() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let (status, sent) = alice
        .post(
            "/messages",
            json!({"mode": "new", "to": ["worker@example.gov.uk"],
                   "cc": ["Worker@Example.gov.uk.", "boss@example.gov.uk"],
                   "subject": "Twice", "body_text": "Once, please"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["to"], json!(["worker@example.gov.uk"]));
    assert_eq!(
        sent["cc"],
        json!(["boss@example.gov.uk"]),
        "the second spelling of the To address is dropped from Cc"
    );
    let emails: Vec<String> = t
        .emails_to("worker@example.gov.uk")
        .await
        .into_iter()
        .filter(|e| e.contains("Subject: Twice"))
        .collect();
    assert_eq!(emails.len(), 1, "one email reaches the worker");
    assert!(
        !emails[0].contains("Cc: worker@") && !emails[0].contains(", worker@"),
        "{}",
        emails[0]
    );
}
