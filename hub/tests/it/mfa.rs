//! Two-step sign-in (RFC 6238 TOTP): enrolment confirmed by a code, codes used once, wrong
//! codes counted toward the lock, recovery codes, Remember me, turning it off, and the
//! admin's reset. Codes are computed from the secret the hub gave, at the hub's clock,
//! which the tests move.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};
use totp_rs::Secret;

use crate::support::*;

/// The code an authenticator app holding `secret` shows at the hub's time.
fn code_now(t: &TestHub, secret: &str) -> String {
    t.authenticator_code(secret)
}

async fn sign_in_with(t: &TestHub, code: Option<&str>, remember: bool) -> (StatusCode, Value) {
    let mut body = json!({"email": alice(), "password": GOOD_PASSWORD, "remember_me": remember});
    if let Some(code) = code {
        body["mfa_code"] = json!(code);
    }
    let r = t.post("/api/v1/sessions", body).await;
    let status = r.status();
    (status, r.json().await.unwrap())
}

/// Turns two-step sign-in on for the signed-in user: its secret and recovery codes.
async fn enrol(user: &User<'_>) -> (String, Vec<String>) {
    let (status, setup) = user
        .post("/account/mfa", json!({"password": GOOD_PASSWORD}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{setup}");
    let secret = setup["secret"].as_str().unwrap().to_owned();
    let code = code_now(user.t, &secret);
    let (status, on) = user
        .post("/account/mfa/confirm", json!({"code": code}))
        .await;
    assert_eq!(status, StatusCode::OK, "{on}");
    let codes = on["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes)
}

#[tokio::test]
async fn an_authenticator_is_enrolled_by_a_code_and_then_asked_for_at_every_sign_in() {
    let t = TestHub::start().await;
    let user = t.user(alice()).await;
    let (_, state) = user.get("/account/mfa").await;
    assert_eq!(state, json!({"enabled": false, "recovery_codes_left": 0}));
    let (status, body) = user
        .post("/account/mfa/confirm", json!({"code": "123456"}))
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "nothing is being set up: {body}"
    );
    let (status, body) = user.post("/account/mfa", json!({"password": ""})).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an empty password checks nothing: {body}"
    );
    // The password is asked again: a stolen session alone cannot enrol another phone.
    let (status, body) = user
        .post(
            "/account/mfa",
            json!({"password": "not the password at all"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials"),
        "{body}"
    );
    assert_eq!(body["error"]["tries_left"], 2, "counted as at sign-in");
    // A session from before: signed out once it is on.
    let earlier = t.access_token(alice()).await;

    let (status, setup) = user
        .post("/account/mfa", json!({"password": GOOD_PASSWORD}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{setup}");
    let secret = setup["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 32, "160 bits in base32: {secret}");
    let uri = setup["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains(&format!("secret={secret}")),
        "{uri}"
    );
    assert!(uri.contains("issuer=Example%20Council"), "{uri}");
    // Not on until a code proves the app has it.
    let (status, _) = sign_in_with(&t, None, false).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "no code asked before it is confirmed"
    );
    let (status, body) = user
        .post("/account/mfa/confirm", json!({"code": "000000"}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "mfa_code_wrong"),
        "{body}"
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("authenticator app shows now"));
    let confirm = code_now(&t, &secret);
    let (status, on) = user
        .post("/account/mfa/confirm", json!({"code": confirm}))
        .await;
    assert_eq!(status, StatusCode::OK, "{on}");
    let codes: Vec<&str> = on["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 10);
    assert!(codes
        .iter()
        .all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'));
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 10, "every recovery code differs");
    let (_, state) = user.get("/account/mfa").await;
    assert_eq!(state, json!({"enabled": true, "recovery_codes_left": 10}));
    assert!(
        t.token_works(&earlier).await.is_err(),
        "a session that signed in with the password alone ends"
    );
    let (status, body) = user
        .post("/account/mfa", json!({"password": GOOD_PASSWORD}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // The password alone is not enough, and asking is no failure.
    let (status, body) = sign_in_with(&t, None, false).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "mfa_required"),
        "{body}"
    );
    // The code that confirmed it was used: not again.
    let (status, body) = sign_in_with(&t, Some(&confirm), false).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "mfa_code_wrong"),
        "{body}"
    );
    assert_eq!(
        body["error"]["tries_left"], 2,
        "a wrong code counts toward the lock"
    );
    // The next step's code signs in, once.
    t.advance(Duration::seconds(30));
    let fresh = code_now(&t, &secret);
    let (status, body) = sign_in_with(&t, Some(&fresh), false).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = sign_in_with(&t, Some(&fresh), false).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "mfa_code_wrong"),
        "no replay within the same 30 seconds: {body}"
    );
    // A code two steps old is refused; so is a wrong password with a right code.
    let old = fresh.clone();
    t.advance(Duration::seconds(61));
    let (status, _) = sign_in_with(&t, Some(&old), false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let r = t
        .post(
            "/api/v1/sessions",
            json!({"email": alice(), "password": "not the password at all",
                   "mfa_code": code_now(&t, &secret)}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::LOCKED,
        "the third failure locks sign-in"
    );
    assert!(t
        .audit_events()
        .await
        .iter()
        .any(|e| e == &format!("mfa_enabled {}", alice())));

    // Nothing of the secret is at rest in the clear.
    t.hub.store().read(|_| Ok(())).await.unwrap();
    let raw = Secret::Encoded(secret.clone()).to_bytes().unwrap();
    for file in files_under(&t.data()) {
        let bytes = std::fs::read(&file).unwrap();
        for needle in [secret.as_bytes(), raw.as_slice()] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} holds the secret",
                file.display()
            );
        }
    }
}

#[tokio::test]
async fn recovery_codes_sign_in_once_each_and_remember_me_keeps_the_second_step() {
    let t = TestHub::start().await;
    let user = t.user(alice()).await;
    let (secret, codes) = enrol(&user).await;

    // A lost phone: a recovery code, typed loosely, signs in once.
    let typed = codes[3].to_uppercase().replace('-', " ");
    let (status, body) = sign_in_with(&t, Some(&typed), false).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = sign_in_with(&t, Some(&codes[3]), false).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "mfa_code_wrong"),
        "a recovery code works once: {body}"
    );
    let again = t.signed_in_with_code(&secret).await;
    let (_, state) = again.get("/account/mfa").await;
    assert_eq!(state["recovery_codes_left"], 9);
    assert!(t
        .audit_events()
        .await
        .iter()
        .any(|e| e == &format!("mfa_recovery_code_used {}", alice())));

    // Remember me: the device keeps its session without a code until sign-out.
    t.advance(Duration::seconds(30));
    let (status, remembered) = sign_in_with(&t, Some(&code_now(&t, &secret)), true).await;
    assert_eq!(status, StatusCode::CREATED, "{remembered}");
    let refresh = remembered["refresh_token"].as_str().unwrap();
    let r = t
        .post(
            "/api/v1/sessions/refresh",
            json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "no second step to stay signed in"
    );

    // Wrong codes lock sign-in like wrong passwords, and the notice says the password is
    // known to whoever tried.
    for _ in 0..2 {
        let (status, body) = sign_in_with(&t, Some("000000"), false).await;
        assert_eq!(code(&body), "mfa_code_wrong", "{status}: {body}");
    }
    let (status, _) = sign_in_with(&t, Some("000000"), false).await;
    assert_eq!(status, StatusCode::LOCKED);
    let notice = t.emails_to(alice()).await.pop().unwrap();
    assert!(
        notice.contains("with the right password") && notice.contains("wrong two-step codes"),
        "{notice}"
    );
}

#[tokio::test]
async fn turning_it_off_takes_a_code_and_the_admins_reset_signs_out_everywhere() {
    let t = TestHub::start().await;
    let user = t.user(alice()).await;
    let (secret, codes) = enrol(&user).await;
    let (status, body) = user
        .post(
            "/account/mfa/disable",
            json!({"password": GOOD_PASSWORD, "code": "123456"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "mfa_code_wrong"),
        "a wrong code counts toward the lock: {body}"
    );
    assert_eq!(body["error"]["tries_left"], 2);
    // Without the password, nothing: a stolen session cannot turn it off.
    let (status, body) = user
        .post(
            "/account/mfa/disable",
            json!({"password": "not the password at all", "code": codes[0]}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials"),
        "{body}"
    );
    t.hub
        .unlock_user(alice(), &sealpost_hub::Caller::cli())
        .await
        .unwrap();
    let (status, body) = user
        .post(
            "/account/mfa/disable",
            json!({"password": GOOD_PASSWORD, "code": codes[0]}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, state) = user.get("/account/mfa").await;
    assert_eq!(state["enabled"], false);
    let told = t.emails_to(alice()).await.pop().unwrap();
    assert!(told.contains("Two-step sign-in was turned off"), "{told}");
    let (status, _) = user
        .post(
            "/account/mfa/disable",
            json!({"password": GOOD_PASSWORD, "code": codes[1]}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = sign_in_with(&t, None, false).await;
    assert_eq!(status, StatusCode::CREATED, "the password alone again");
    drop(secret);

    // On again, and a phone lost with no recovery code: the admin resets it.
    t.advance(Duration::seconds(30));
    let user = t.signed_in(alice()).await;
    let (secret, _) = enrol(&user).await;
    t.advance(Duration::seconds(30));
    let (status, remembered) = sign_in_with(&t, Some(&code_now(&t, &secret)), true).await;
    assert_eq!(status, StatusCode::CREATED);
    let refresh = remembered["refresh_token"].as_str().unwrap().to_owned();
    let access = remembered["access_token"].as_str().unwrap().to_owned();
    let shown = |users: Vec<sealpost_hub::admin::UserView>| {
        users.into_iter().find(|u| u.email == alice()).unwrap().mfa
    };
    assert!(
        shown(t.hub.users().await.unwrap()),
        "`user show` says it is on"
    );
    t.hub
        .reset_mfa(alice(), &sealpost_hub::Caller::cli())
        .await
        .unwrap();
    assert!(!shown(t.hub.users().await.unwrap()));
    assert!(t.token_works(&access).await.is_err(), "signed out at once");
    let r = t
        .post(
            "/api/v1/sessions/refresh",
            json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "Remember me ends too");
    let email = t.emails_to(alice()).await.pop().unwrap();
    assert!(
        email.contains("Two-step sign-in was turned off"),
        "the user is told: {email}"
    );
    assert!(t
        .audit_events()
        .await
        .iter()
        .any(|e| e == &format!("mfa_reset {}", alice())));
    let (status, _) = sign_in_with(&t, None, false).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the password alone after the reset"
    );
    let err = t
        .hub
        .reset_mfa(alice(), &sealpost_hub::Caller::cli())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("has no two-step sign-in to reset"),
        "{err}"
    );
}

impl TestHub {
    /// Signs Alice in with the code her authenticator shows one step later.
    async fn signed_in_with_code(&self, secret: &str) -> User<'_> {
        self.advance(Duration::seconds(30));
        let (status, body) = sign_in_with(self, Some(&code_now(self, secret)), false).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        User {
            t: self,
            email: alice().to_owned(),
            token: body["access_token"].as_str().unwrap().to_owned(),
        }
    }
}

#[tokio::test]
async fn under_require_mfa_a_user_must_turn_it_on_before_anything_else() {
    let t = TestHub::start_with(|c| c.security.require_mfa = true).await;
    t.registered(alice()).await;
    let (status, session) = sign_in_with(&t, None, false).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    assert_eq!(session["mfa_enrolment_required"], true, "{session}");
    let user = User {
        t: &t,
        email: alice().to_owned(),
        token: session["access_token"].as_str().unwrap().to_owned(),
    };
    let (status, body) = user.get("/messages?folder=inbox").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "mfa_enrolment_required"),
        "{body}"
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("requires two-step sign-in"));
    let (status, _) = user.get("/changes").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "sync waits too");
    let (secret, _) = enrol(&user).await;
    // The same session goes on once it is on; the next sign-in asks for a code.
    let (status, body) = user.get("/messages?folder=inbox").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = user
        .post(
            "/account/mfa/disable",
            json!({"password": GOOD_PASSWORD, "code": code_now(&t, &secret)}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "required, so not turned off: {body}"
    );
    t.advance(Duration::seconds(30));
    let (status, session) = sign_in_with(&t, Some(&code_now(&t, &secret)), false).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(session.get("mfa_enrolment_required").is_none(), "{session}");
}

#[tokio::test]
async fn a_code_in_full_width_digits_works_and_a_huge_one_is_only_wrong() {
    let t = TestHub::start().await;
    let user = t.user(alice()).await;
    let (secret, _) = enrol(&user).await;
    t.advance(Duration::seconds(30));
    // An East Asian keyboard types full-width digits: they read as the same code.
    let wide: String = code_now(&t, &secret)
        .chars()
        .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap())
        .collect();
    let (status, body) = sign_in_with(&t, Some(&wide), false).await;
    assert_eq!(status, StatusCode::CREATED, "{wide}: {body}");
    // What cannot be a code (five digits, a huge string) is wrong, and not counted: a
    // slip of the keyboard, never a guess.
    for slip in ["12345".to_owned(), "9".repeat(10_000)] {
        let (status, body) = sign_in_with(&t, Some(&slip), false).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "mfa_code_wrong"),
            "{body}"
        );
        assert!(body["error"]["tries_left"].is_null(), "{body}");
    }
    let (_, body) = sign_in_with(&t, Some("000000"), false).await;
    assert_eq!(
        body["error"]["tries_left"], 2,
        "a code's shape counts: {body}"
    );
}

#[tokio::test]
async fn one_code_signs_in_once_even_when_two_sign_ins_race_with_it() {
    let t = TestHub::start().await;
    let user = t.user(alice()).await;
    let (secret, _) = enrol(&user).await;
    t.advance(Duration::seconds(30));
    let shown = code_now(&t, &secret);
    let (a, b) = tokio::join!(
        sign_in_with(&t, Some(&shown), false),
        sign_in_with(&t, Some(&shown), false)
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::CREATED, StatusCode::UNAUTHORIZED],
        "one wins, the other is told the code was used: {a:?} {b:?}"
    );
    let loser = if a.0 == StatusCode::UNAUTHORIZED {
        &a.1
    } else {
        &b.1
    };
    assert_eq!(code(loser), "mfa_code_wrong");
}

#[tokio::test]
async fn a_second_enrolment_replaces_the_first_before_it_is_confirmed() {
    let t = TestHub::start().await;
    let user = t.user(alice()).await;
    let first = user
        .post("/account/mfa", json!({"password": GOOD_PASSWORD}))
        .await
        .1["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = user
        .post("/account/mfa", json!({"password": GOOD_PASSWORD}))
        .await
        .1["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(first, second);
    let (status, body) = user
        .post(
            "/account/mfa/confirm",
            json!({"code": code_now(&t, &first)}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "mfa_code_wrong"),
        "the replaced secret's codes do not confirm: {body}"
    );
    let (status, body) = user
        .post(
            "/account/mfa/confirm",
            json!({"code": code_now(&t, &second)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
