//! `/changes` and `/events`: what a client needs to keep its vault in step.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn first_sync_brings_everything_then_only_what_changed() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let (_, contact) = alice
        .post(
            "/contacts",
            json!({"name": "Worker", "email": "worker@example.gov.uk"}),
        )
        .await;
    let (status, all) = alice.get("/changes").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["has_more"], false);
    let created = all["created"].as_array().unwrap();
    assert_eq!(
        created.len(),
        2,
        "the welcome message and the contact: {all}"
    );
    assert_eq!(created[0]["kind"], "message");
    assert_eq!(
        created[0]["body_text"], "First message",
        "whole messages, for offline reading"
    );
    assert_eq!(created[1]["kind"], "contact");
    assert_eq!(created[1]["email"], "worker@example.gov.uk");
    let state = all["state"].as_str().unwrap().to_owned();

    let (_, nothing) = alice.get(&format!("/changes?since={state}")).await;
    assert_eq!(nothing["state"], state.as_str());
    assert_eq!(nothing["created"], json!([]));
    assert_eq!(nothing["updated"], json!([]));
    assert_eq!(nothing["destroyed"], json!([]));
    let raw = t
        .http
        .get(format!("{}/api/v1/changes?since={state}", t.url))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        raw.len() <= 2048,
        "'nothing changed' is one small answer ({} bytes)",
        raw.len()
    );

    t.org_send(&[alice.email.as_str()], "New one", "b").await;
    let welcome = ids(&all["created"])[0].clone();
    alice
        .call(
            Method::PATCH,
            &format!("/messages/{welcome}"),
            Some(json!({"read": true})),
        )
        .await;
    alice
        .call(
            Method::DELETE,
            &format!("/contacts/{}", contact["id"].as_str().unwrap()),
            None,
        )
        .await;
    let (_, delta) = alice.get(&format!("/changes?since={state}")).await;
    assert_eq!(delta["created"].as_array().unwrap().len(), 1);
    assert_eq!(delta["created"][0]["subject"], "New one");
    assert_eq!(
        ids(&delta["updated"]),
        vec![welcome.clone()],
        "the read flag is an update"
    );
    assert_eq!(delta["updated"][0]["read"], true);
    assert_eq!(
        delta["destroyed"],
        json!([{"kind": "contact", "id": contact["id"]}])
    );

    let (_, after) = alice
        .get(&format!(
            "/changes?since={}",
            delta["state"].as_str().unwrap()
        ))
        .await;
    alice
        .call(Method::DELETE, &format!("/messages/{welcome}"), None)
        .await;
    let (_, gone) = alice
        .get(&format!(
            "/changes?since={}",
            after["state"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        gone["destroyed"],
        json!([{"kind": "message", "id": welcome}])
    );
}

#[tokio::test]
async fn changes_come_in_pages_without_loss_or_duplicates() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    for i in 0..6 {
        t.org_send(&[alice.email.as_str()], &format!("m{i}"), "b")
            .await;
    }
    let mut since: Option<String> = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let path = match &since {
            Some(s) => format!("/changes?since={s}&limit=3"),
            None => "/changes?limit=3".to_owned(),
        };
        let (status, page) = alice.get(&path).await;
        assert_eq!(status, StatusCode::OK);
        pages += 1;
        seen.extend(ids(&page["created"]));
        since = Some(page["state"].as_str().unwrap().to_owned());
        if page["has_more"] == false {
            break;
        }
    }
    assert_eq!(pages, 3, "7 messages in pages of 3");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        (seen.len(), unique.len()),
        (7, 7),
        "each message exactly once"
    );
    let (_, end) = alice
        .get(&format!("/changes?since={}", since.unwrap()))
        .await;
    assert_eq!(end["created"], json!([]));
}

#[tokio::test]
async fn an_unknown_or_pruned_state_asks_for_a_full_resync() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let (status, body) = alice.get("/changes?since=banana").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = alice.get("/changes?since=999999").await;
    assert_eq!(
        status,
        StatusCode::GONE,
        "a state from the future (another hub, a restored backup)"
    );
    assert_eq!(code(&body), "state_too_old");

    let (_, first) = alice.get("/changes").await;
    let old_state = first["state"].as_str().unwrap().to_owned();
    let welcome = ids(&first["created"])[0].clone();
    alice
        .call(Method::DELETE, &format!("/messages/{welcome}"), None)
        .await;
    t.advance(chrono::Duration::days(31));
    t.hub
        .purge(false, &sealpost_hub::Caller::cli())
        .await
        .unwrap();
    let alice = User {
        token: t.access_token(alice.email.as_str()).await,
        ..alice
    };
    let (status, body) = alice.get(&format!("/changes?since={old_state}")).await;
    assert_eq!(
        status,
        StatusCode::GONE,
        "the deletion it would need was pruned"
    );
    assert_eq!(code(&body), "state_too_old");
    let (status, fresh) = alice.get("/changes").await;
    assert_eq!(status, StatusCode::OK, "starting over works");
    assert_eq!(fresh["created"], json!([]));
}

/// Reads server-sent events until `want` `state` events arrived or the time runs out.
pub(crate) async fn read_events(
    response: reqwest::Response,
    want: usize,
    within: Duration,
) -> Vec<Value> {
    use futures_util::StreamExt;
    let mut stream = response.bytes_stream();
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = Instant::now() + within;
    while events.len() < want {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(Some(Ok(chunk))) = tokio::time::timeout(left, stream.next()).await else {
            break;
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if block.lines().any(|l| l == "event: state") {
                let data = block
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .unwrap();
                events.push(serde_json::from_str(data).unwrap());
            }
        }
    }
    events
}

#[tokio::test]
async fn events_announce_each_new_state_within_two_seconds_and_carry_no_content() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let response = t
        .http
        .get(format!("{}/api/v1/events", t.url))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let (_, now) = alice.get("/changes").await;
    let reader = tokio::spawn(read_events(response, 2, Duration::from_secs(5)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent_at = Instant::now();
    t.org_send(&[alice.email.as_str()], "Secret subject", "Secret body")
        .await;
    let events = reader.await.unwrap();
    let elapsed = sent_at.elapsed();
    assert_eq!(
        events.len(),
        2,
        "the current state, then the new one: {events:?}"
    );
    assert_eq!(events[0], json!({"state": now["state"]}));
    assert_ne!(events[1]["state"], events[0]["state"]);
    assert!(
        elapsed < Duration::from_secs(2),
        "heard within 2 s ({elapsed:?})"
    );
    assert_eq!(
        events[1].as_object().unwrap().len(),
        1,
        "only the state, no content"
    );
    let metrics = t.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("sealpost_sse_clients 0") || metrics.contains("sealpost_sse_clients 1")
    );
}
