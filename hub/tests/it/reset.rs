//! Password reset: always 202, a single-use link valid 30 minutes, sessions revoked, lock
//! cleared; and the page that works without JavaScript.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

const NEW_PASSWORD: &str = "violet harbour lantern cedar";

#[tokio::test]
async fn reset_answers_202_for_any_address_and_emails_only_real_accounts() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let before = t.emails_to(alice()).await.len();
    for email in [alice(), "nobody@nowhere.example", "not an address"] {
        let r = t
            .post("/api/v1/password-resets", json!({"email": email}))
            .await;
        assert_eq!(r.status(), StatusCode::ACCEPTED, "same answer for {email}");
    }
    let emails = t.emails_to(alice()).await;
    assert_eq!(emails.len(), before + 1);
    assert!(token_in(emails.last().unwrap(), "/reset").is_some());
    assert!(t.emails_to("nobody@nowhere.example").await.is_empty());
}

#[tokio::test]
async fn confirming_a_reset_revokes_sessions_and_clears_the_lock() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let (_, s) = t.sign_in(alice(), GOOD_PASSWORD, true).await;
    for _ in 0..3 {
        t.sign_in(alice(), "wrong wrong wrong wrong", false).await;
    }
    assert_eq!(
        t.sign_in(alice(), GOOD_PASSWORD, false).await.0,
        StatusCode::LOCKED
    );

    t.post("/api/v1/password-resets", json!({"email": alice()}))
        .await;
    let token = t.link_token(alice(), "/reset").await;
    let weak = t
        .post(
            "/api/v1/password-resets/confirm",
            json!({"token": token, "new_password": "password"}),
        )
        .await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(code(&weak.json().await.unwrap()), "weak_password");

    let r = t
        .post(
            "/api/v1/password-resets/confirm",
            json!({"token": token, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(
        t.token_works(s["access_token"].as_str().unwrap())
            .await
            .is_err(),
        "sessions ended"
    );
    let r = t
        .post(
            "/api/v1/sessions/refresh",
            json!({"refresh_token": s["refresh_token"]}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "Remember me revoked too"
    );
    assert_eq!(
        t.sign_in(alice(), GOOD_PASSWORD, false).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        t.sign_in(alice(), NEW_PASSWORD, false).await.0,
        StatusCode::CREATED,
        "the lock is cleared and the new password works"
    );
    let again = t
        .post(
            "/api/v1/password-resets/confirm",
            json!({"token": token, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "the link works once");
    assert!(t
        .audit_events()
        .await
        .contains(&format!("password_reset {}", alice())));
}

#[tokio::test]
async fn the_link_in_the_lock_notice_unlocks() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    for _ in 0..3 {
        t.sign_in(alice(), "wrong wrong wrong wrong", false).await;
    }
    let token = t.link_token(alice(), "/reset").await;
    let r = t
        .post(
            "/api/v1/password-resets/confirm",
            json!({"token": token, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        t.sign_in(alice(), NEW_PASSWORD, false).await.0,
        StatusCode::CREATED
    );
}

async fn reset_emails(t: &TestHub, to: &str) -> usize {
    t.emails_to(to)
        .await
        .iter()
        .filter(|e| e.contains("/reset?token="))
        .count()
}

#[tokio::test]
async fn a_reset_link_expires_after_30_minutes_and_a_newer_one_does_not_void_it() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    t.post("/api/v1/password-resets", json!({"email": alice()}))
        .await;
    let old = t.link_token(alice(), "/reset").await;
    t.advance(Duration::minutes(10));
    t.post("/api/v1/password-resets", json!({"email": alice()}))
        .await;
    let new = t.link_token(alice(), "/reset").await;
    assert_ne!(old, new, "a second email, with its own link");
    let info = t.get(&format!("/api/v1/password-resets/{old}")).await;
    assert_eq!(
        info.status(),
        StatusCode::OK,
        "the older link still works: a request by someone else cannot take it away"
    );
    let info: Value = info.json().await.unwrap();
    assert_eq!(
        info["email"],
        alice(),
        "the link says whose password it sets"
    );
    assert!(info["password_rules"]["rules"].is_array());

    t.advance(Duration::minutes(20));
    let r = t
        .post(
            "/api/v1/password-resets/confirm",
            json!({"token": old, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "dead after 30 minutes");
    assert_eq!(code(&r.json().await.unwrap()), "invalid_token");
    let r = t
        .post(
            "/api/v1/password-resets/confirm",
            json!({"token": new, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "the newer one works");
    assert_eq!(
        t.get(&format!("/api/v1/password-resets/{new}"))
            .await
            .status(),
        StatusCode::NOT_FOUND,
        "used: every link of the account is void"
    );
}

#[tokio::test]
async fn reset_requests_are_answered_alike_and_emails_spaced_for_every_address() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let mut answers = Vec::new();
    for email in [alice(), "nobody@nowhere.example"] {
        for _ in 0..4 {
            let r = t
                .post("/api/v1/password-resets", json!({"email": email}))
                .await;
            assert_eq!(r.status(), StatusCode::ACCEPTED, "{email}");
            answers.push(r.json::<Value>().await.unwrap());
        }
    }
    assert!(
        answers.iter().all(|a| *a == json!({"link_minutes": 30})),
        "the same answer for every request and address: {answers:?}"
    );
    assert_eq!(
        reset_emails(&t, alice()).await,
        1,
        "one email for four requests in a row"
    );
    t.advance(Duration::minutes(10));
    t.post("/api/v1/password-resets", json!({"email": alice()}))
        .await;
    assert_eq!(
        reset_emails(&t, alice()).await,
        2,
        "ten minutes later, another"
    );
}

#[tokio::test]
async fn requests_by_someone_else_keep_neither_the_lock_notices_link_nor_a_new_one_away() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    for _ in 0..3 {
        t.sign_in(alice(), "wrong wrong wrong wrong", false).await;
    }
    let from_notice = t.link_token(alice(), "/reset").await;
    // Someone else asks for resets of the owner's address, again and again.
    for minute in 0..30 {
        t.post("/api/v1/password-resets", json!({"email": alice()}))
            .await;
        if minute % 10 == 9 {
            t.advance(Duration::minutes(10));
        }
    }
    let fresh = t.link_token(alice(), "/reset").await;
    assert_ne!(fresh, from_notice, "the owner keeps getting fresh links");
    let r = t
        .post(
            "/api/v1/password-resets/confirm",
            json!({"token": fresh, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "and the newest works");
    assert_eq!(
        t.sign_in(alice(), NEW_PASSWORD, false).await.0,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn the_lock_notices_link_survives_someone_elses_reset_requests() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    for _ in 0..3 {
        t.sign_in(alice(), "wrong wrong wrong wrong", false).await;
    }
    let from_notice = t.link_token(alice(), "/reset").await;
    for _ in 0..3 {
        t.post("/api/v1/password-resets", json!({"email": alice()}))
            .await;
    }
    let r = t
        .post(
            "/api/v1/password-resets/confirm",
            json!({"token": from_notice, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::NO_CONTENT,
        "three requests by someone else did not void the link the owner was sent"
    );
}

#[tokio::test]
async fn a_reset_for_an_unregistered_address_sends_a_registration_link() {
    let t = TestHub::start().await;
    t.org_send(&[bob()], "s", "b").await;
    t.post("/api/v1/password-resets", json!({"email": bob()}))
        .await;
    let emails = t.emails_to(bob()).await;
    let answer = emails
        .iter()
        .find(|e| e.contains("has not been registered yet"))
        .expect("the reset request was answered with a registration link");
    assert!(token_in(answer, "/register").is_some());
}

#[tokio::test]
async fn the_reset_page_works_without_javascript() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    t.post("/api/v1/password-resets", json!({"email": alice()}))
        .await;
    let token = t.link_token(alice(), "/reset").await;
    let page = t.get(&format!("/reset?token={token}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(alice()) && html.contains("At least 15 characters"));
    let r = t
        .http
        .post(format!("{}/reset", t.url))
        .form(&[
            ("token", token.as_str()),
            ("password", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Password changed"));
    assert_eq!(
        t.sign_in(alice(), NEW_PASSWORD, false).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        t.get("/reset?token=nope").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_reset_request_takes_as_long_for_a_known_address_as_for_an_unknown_one() {
    let t = TestHub::start_with(|c| c.security.resets_per_address_per_hour = 3600).await;
    t.registered(alice()).await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    let mut bodies = std::collections::BTreeSet::new();
    // One stranger asked for as often as the registered address: each request of
    // either finds the same rate-limit state (counted in the database on a shared
    // store, where a first hit inserts a row and a later one updates it).
    let stranger = "nobody@nowhere.example";
    for _ in 0..80 {
        for (email, times) in [(alice(), &mut known), (stranger, &mut unknown)] {
            // What the last request left to do after its answer is done before the next
            // one is timed, and each email may go (one a second per address here).
            t.hub.background_done().await;
            t.advance(Duration::seconds(2));
            let started = std::time::Instant::now();
            let r = t
                .post("/api/v1/password-resets", json!({"email": email}))
                .await;
            let status = r.status();
            let body = r.text().await.unwrap();
            times.push(started.elapsed());
            bodies.insert(format!("{status} {body}"));
        }
    }
    assert_eq!(bodies.len(), 1, "one answer for every address: {bodies:?}");
    // Each known request against the unknown one timed right after it: a burst of load
    // from other tests slows both of a pair, where it would skew two medians apart.
    let mut ratios: Vec<f64> = known
        .iter()
        .zip(&unknown)
        .map(|(k, u)| k.as_secs_f64() / u.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    let ratio = ratios[ratios.len() / 2];
    let median = |v: &mut Vec<std::time::Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1000.0
    };
    let (known, unknown) = (median(&mut known), median(&mut unknown));
    assert!(
        (0.75..1.33).contains(&ratio),
        "a registered address answers in {known:.2} ms (median of 80), an unknown one in \
         {unknown:.2} ms: the time tells them apart (median ratio of pairs {ratio:.2})"
    );
    assert_eq!(
        reset_emails(&t, alice()).await,
        80,
        "and every request of the registered address was emailed"
    );
}
