//! Contacts and groups.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn contacts_and_groups_can_be_created_listed_changed_and_deleted() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let (status, w) = alice
        .post(
            "/contacts",
            json!({"name": "Wendy Worker", "email": "Wendy@Example.gov.uk"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        w["email"], "wendy@example.gov.uk",
        "addresses are normalised"
    );
    let (_, b) = alice
        .post("/contacts", json!({"email": "boss@example.gov.uk"}))
        .await;
    assert_eq!(
        b["name"], "boss@example.gov.uk",
        "no name: the address stands in"
    );
    let (status, body) = alice
        .post("/contacts", json!({"name": "X", "email": "nope"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (_, list) = alice.get("/contacts").await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["boss@example.gov.uk", "Wendy Worker"], "by name");

    let (status, g) = alice
        .post(
            "/groups",
            json!({"name": "Team", "contact_ids": [w["id"], b["id"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let group = g["id"].as_str().unwrap().to_owned();
    let (status, _) = alice
        .post("/groups", json!({"name": "", "contact_ids": []}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a group needs a name");

    let (status, w2) = alice
        .call(
            Method::PUT,
            &format!("/contacts/{}", w["id"].as_str().unwrap()),
            Some(json!({"name": "Wendy W.", "email": "wendy@example.gov.uk"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(w2["name"], "Wendy W.");

    let (status, _) = alice
        .call(
            Method::DELETE,
            &format!("/contacts/{}", b["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, groups) = alice.get("/groups").await;
    assert_eq!(
        groups["items"][0]["contact_ids"],
        json!([w["id"]]),
        "a deleted contact leaves its groups"
    );

    let (status, g2) = alice
        .call(
            Method::PUT,
            &format!("/groups/{group}"),
            Some(json!({"name": "Core", "contact_ids": []})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(g2["name"], "Core");
    let (status, _) = alice
        .call(Method::DELETE, &format!("/groups/{group}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(alice.get("/groups").await.1["items"], json!([]));
    assert_eq!(
        alice.get("/contacts").await.1["items"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "contacts stay"
    );
}

#[tokio::test]
async fn contact_names_are_not_stored_in_the_clear() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    alice
        .post(
            "/contacts",
            json!({"name": "Quetzalcoatl Marker", "email": "q@example.gov.uk"}),
        )
        .await;
    for f in files_under(&t.data()) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !bytes.windows(11).any(|w| w == b"Quetzalcoat"),
            "{} holds the name",
            f.display()
        );
    }
}

#[tokio::test]
async fn an_address_already_in_the_address_book_is_refused() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let (status, wendy) = alice
        .post(
            "/contacts",
            json!({"name": "Wendy Worker", "email": "wendy@example.gov.uk"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = alice
        .post(
            "/contacts",
            json!({"name": "W. Worker", "email": " WENDY@example.gov.uk. "}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "another spelling is the same person: {body}"
    );
    assert_eq!(code(&body), "conflict");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("as Wendy Worker"),
        "{body}"
    );
    let (status, _) = alice
        .call(
            Method::PUT,
            &format!("/contacts/{}", wendy["id"].as_str().unwrap()),
            Some(json!({"name": "Wendy W.", "email": "wendy@example.gov.uk"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "a contact may keep its own address");
    let (_, boss) = alice
        .post(
            "/contacts",
            json!({"name": "Boss", "email": "boss@example.gov.uk"}),
        )
        .await;
    let (status, body) = alice
        .call(
            Method::PUT,
            &format!("/contacts/{}", boss["id"].as_str().unwrap()),
            Some(json!({"name": "Boss", "email": "wendy@example.gov.uk"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "nor take another's: {body}");
    alice
        .call(
            Method::DELETE,
            &format!("/contacts/{}", boss["id"].as_str().unwrap()),
            None,
        )
        .await;
    let (_, list) = alice.get("/contacts").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "one contact");
}

#[tokio::test]
async fn the_same_address_saved_at_once_from_several_places_is_kept_once() {
    let t = TestHub::start().await;
    let alice = t.user(alice()).await;
    let attempts = (0..8).map(|i| {
        alice.post(
            "/contacts",
            json!({"name": format!("Wendy {i}"), "email": "wendy@example.gov.uk"}),
        )
    });
    let answers = futures_util::future::join_all(attempts).await;
    let created = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let refused = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CONFLICT)
        .count();
    assert_eq!(
        (created, refused),
        (1, 7),
        "one save wins, the rest are told the address is taken: {answers:?}"
    );
    let (_, list) = alice.get("/contacts").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
}
