//! Registration by one-time link: JSON API and the no-JavaScript page.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn first_message_creates_a_pending_mailbox_and_emails_a_link_without_content() {
    let t = TestHub::start().await;
    t.org_send(
        &[alice()],
        "Referral for Mrs Jones",
        "Her care plan is attached",
    )
    .await;
    let emails = t.emails_to(alice()).await;
    assert_eq!(emails.len(), 1, "one notification for one message");
    let email = &emails[0];
    assert!(
        email.contains("Example Council"),
        "names the organisation: {email}"
    );
    assert!(
        email.contains("http://hub.invalid/register?token="),
        "carries a registration link"
    );
    assert!(
        !email.contains("Mrs Jones") && !email.contains("care plan"),
        "holds no content"
    );
    assert!(
        email.contains("Content-Transfer-Encoding: 7bit"),
        "the link stays one plain line"
    );

    let token = token_in(email, "/register").unwrap();
    let r = t.get(&format!("/api/v1/registrations/{token}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let info: Value = r.json().await.unwrap();
    assert_eq!(info["email"], alice());
    assert_eq!(info["org_name"], "Example Council");
    assert_eq!(info["password_rules"]["min_length"], 15);
    let ids: Vec<&str> = info["password_rules"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["min_length", "max_length", "not_common", "not_address"]
    );
}

#[tokio::test]
async fn registration_sets_the_password_once_and_the_link_is_used_up() {
    let t = TestHub::start().await;
    t.org_send(&[alice()], "s", "b").await;
    let token = t.link_token(alice(), "/register").await;
    let r = t
        .post(
            "/api/v1/registrations",
            json!({"token": token, "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.json::<Value>().await.unwrap()["email"], alice());

    let again = t
        .post(
            "/api/v1/registrations",
            json!({"token": token, "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "a used link is dead");
    assert_eq!(code(&again.json().await.unwrap()), "invalid_token");
    let info = t.get(&format!("/api/v1/registrations/{token}")).await;
    assert_eq!(info.status(), StatusCode::NOT_FOUND);

    let (status, _) = t.sign_in(alice(), GOOD_PASSWORD, false).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the password alone now signs in"
    );
    assert!(t
        .audit_events()
        .await
        .contains(&format!("registered {}", alice())));
}

#[tokio::test]
async fn an_older_link_still_registered_after_a_fresh_one_is_refused_as_already_registered() {
    let t = TestHub::start().await;
    t.org_send(&[alice()], "one", "b").await;
    let first = t.link_token(alice(), "/register").await;
    t.advance(chrono::Duration::minutes(10));
    t.org_send(&[alice()], "two", "b").await;
    let second = t.link_token(alice(), "/register").await;
    assert_ne!(first, second, "a later message sends a fresh link");
    let r = t
        .post(
            "/api/v1/registrations",
            json!({"token": second, "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = t
        .post(
            "/api/v1/registrations",
            json!({"token": first, "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "registering voids every other link"
    );
}

#[tokio::test]
async fn a_registration_link_expires_after_30_days() {
    let t = TestHub::start().await;
    t.org_send(&[alice()], "s", "b").await;
    let token = t.link_token(alice(), "/register").await;
    t.advance(Duration::days(30) - Duration::minutes(1));
    let r = t.get(&format!("/api/v1/registrations/{token}")).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "still valid a minute before 30 days"
    );
    t.advance(Duration::minutes(1));
    let r = t
        .post(
            "/api/v1/registrations",
            json!({"token": token, "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "dead at 30 days");
    assert_eq!(code(&r.json().await.unwrap()), "invalid_token");
}

#[tokio::test]
async fn weak_passwords_are_refused_naming_every_failed_rule() {
    let t = TestHub::start().await;
    t.org_send(&[alice()], "s", "b").await;
    let token = t.link_token(alice(), "/register").await;
    let cases: &[(&str, &[&str])] = &[
        ("password", &["min_length", "not_common"]),
        ("1qaz2wsx3edc4rfv", &["not_common"]),
        ("alice's own garden shed", &["not_address"]),
        ("short1", &["min_length", "not_common"]),
        ("k9#Lm2vQx!7Zp", &["min_length"]),
        // What an attacker tries early: repeats, sequences, repeated words, keyboard walks.
        ("aaaaaaaaaaaaaaaaaaaa", &["not_common"]),
        ("abcdefghijklmnopqr", &["not_common"]),
        ("passwordpassword", &["not_common"]),
        ("zxcvbnmasdfghjklqwerty", &["not_common"]),
    ];
    for (password, expected) in cases {
        let r = t
            .post(
                "/api/v1/registrations",
                json!({"token": token, "password": password}),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{password} is refused"
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(code(&body), "weak_password");
        assert_eq!(
            body["error"]["rules_failed"],
            json!(expected),
            "for {password}"
        );
        // The message says the rules in words: a client that shows it as it is (the
        // terminal) tells the person what to change.
        let message = body["error"]["message"].as_str().unwrap();
        for id in *expected {
            let words = match *id {
                "min_length" => "at least 15 characters",
                "not_common" => "not easy to guess",
                "not_address" => "does not contain your email address",
                other => panic!("unexpected rule {other}"),
            };
            assert!(message.contains(words), "{password}: {message}");
        }
        assert!(!message.contains("rules_failed"), "{message}");
    }
    let long = "plum kettle orbit sandstone violet harbour lantern cedar quietly";
    assert_eq!(long.chars().count(), 64);
    let r = t
        .post(
            "/api/v1/registrations",
            json!({"token": token, "password": long}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "a 64-character password is allowed"
    );
}

#[tokio::test]
async fn malformed_and_unknown_requests_get_clear_errors() {
    let t = TestHub::start().await;
    let r = t
        .http
        .post(format!("{}/api/v1/registrations", t.url))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(code(&body), "bad_request");
    assert!(body["error"]["message"].as_str().unwrap().contains("JSON"));

    let r = t
        .http
        .post(format!("{}/api/v1/registrations", t.url))
        .body("token=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let r = t.post("/api/v1/registrations", json!({"token": "x"})).await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "a missing field is malformed"
    );

    let r = t
        .post(
            "/api/v1/registrations",
            json!({"token": "made-up", "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(code(&r.json().await.unwrap()), "invalid_token");

    let r = t.get("/api/v1/nothing-here").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(code(&r.json().await.unwrap()), "not_found");
}

#[tokio::test]
async fn the_registration_page_works_without_javascript() {
    let t = TestHub::start().await;
    t.org_send(&[alice()], "s", "b").await;
    let token = t.link_token(alice(), "/register").await;

    let r = t.get(&format!("/register?token={token}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "strict CSP: {csp}");
    assert!(!csp.contains("script-src"), "no script allowed");
    assert_eq!(
        r.headers()["referrer-policy"],
        "no-referrer",
        "the token never leaks as a Referer"
    );
    let html = r.text().await.unwrap();
    assert!(html.contains(alice()), "shows the address");
    assert!(html.contains("At least 15 characters"), "shows the rules");
    assert!(!html.contains("<script"), "no JavaScript needed");

    let form = |password: &str, confirm: &str| {
        vec![
            ("token", token.clone()),
            ("password", password.to_owned()),
            ("confirm", confirm.to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        t.http
            .post(format!("{}/register", t.url))
            .form(&fields)
            .send()
    };
    let r = post(form(GOOD_PASSWORD, "something else entirely"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("not the same"));

    let r = post(form("password", "password")).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Not met: At least 15 characters"),
        "the failed rule is marked"
    );

    let r = post(form(GOOD_PASSWORD, GOOD_PASSWORD)).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("You are registered"));
    let (status, _) = t.sign_in(alice(), GOOD_PASSWORD, false).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the page's password works in the API"
    );

    let r = t.get(&format!("/register?token={token}")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("not valid"));
}

#[tokio::test]
async fn a_second_message_to_a_registered_user_sends_a_plain_notice() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    t.advance(chrono::Duration::minutes(10));
    t.org_send(&[alice()], "Second secret subject", "b").await;
    let emails = t.emails_to(alice()).await;
    let last = emails.last().unwrap();
    assert!(last.contains("You have a new secure message from Example Council"));
    assert!(!last.contains("token="), "no link for a registered user");
    assert!(!last.contains("Second secret subject"), "no content");
}
