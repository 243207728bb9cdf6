//! Password reset: always 202, a single-use link valid 30 minutes, sessions revoked, lock
//! cleared; and the page that works without JavaScript.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::json;

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

#[tokio::test]
async fn a_reset_link_expires_after_30_minutes_and_only_the_newest_works() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    t.post("/api/v1/password-resets", json!({"email": alice()}))
        .await;
    let old = t.link_token(alice(), "/reset").await;
    t.post("/api/v1/password-resets", json!({"email": alice()}))
        .await;
    let new = t.link_token(alice(), "/reset").await;
    let r = t
        .post(
            "/api/v1/password-resets/confirm",
            json!({"token": old, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "a newer request voids the older link"
    );

    t.advance(Duration::minutes(30));
    let r = t
        .post(
            "/api/v1/password-resets/confirm",
            json!({"token": new, "new_password": NEW_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "dead after 30 minutes");
    assert_eq!(code(&r.json().await.unwrap()), "invalid_token");
}

#[tokio::test]
async fn repeated_reset_requests_are_throttled_for_every_address_alike() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    for email in [alice(), "nobody@nowhere.example"] {
        for _ in 0..3 {
            let r = t
                .post("/api/v1/password-resets", json!({"email": email}))
                .await;
            assert_eq!(r.status(), StatusCode::ACCEPTED);
        }
        let r = t
            .post("/api/v1/password-resets", json!({"email": email}))
            .await;
        assert_eq!(
            r.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "throttled: {email}"
        );
        assert!(r.headers().contains_key("retry-after"));
    }
    assert_eq!(
        t.emails_to(alice())
            .await
            .iter()
            .filter(|e| e.contains("/reset?token="))
            .count(),
        3,
        "no more than three reset emails an hour"
    );
}

#[tokio::test]
async fn a_reset_for_an_unregistered_address_sends_a_registration_link() {
    let t = TestHub::start().await;
    t.org_send(&[bob()], "s", "b").await;
    t.post("/api/v1/password-resets", json!({"email": bob()}))
        .await;
    let last = t.emails_to(bob()).await.pop().unwrap();
    assert!(last.contains("has not been registered yet"));
    assert!(token_in(&last, "/register").is_some());
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
