//! Sign-in, lockout, idle timeout, Remember me, sign-out, disable, and the limits that keep
//! a sign-in flood from burning the CPU.

use chrono::Duration;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn sign_in_returns_a_short_session_and_the_account() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let (status, body) = t
        .sign_in("  ALICE@Partner.Example ", GOOD_PASSWORD, false)
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "addresses are matched without case: {body}"
    );
    assert!(body["access_token"].as_str().unwrap().starts_with("spa_"));
    assert_eq!(
        body["expires_at"], "2026-03-02T09:20:00Z",
        "20 minutes idle timeout"
    );
    assert!(
        body.get("refresh_token").is_none(),
        "no refresh token without Remember me"
    );
    assert_eq!(
        body["account"],
        json!({
            "email": alice(),
            "org_name": "Example Council",
            "org_domains": ["example.gov.uk"],
            "limits": {"max_files": 10, "max_total_bytes": 75_000_000, "idle_timeout_seconds": 1200}
        }),
        "the account and what the hub allows it, for the client to check before uploading"
    );
    let (_, remembered) = t.sign_in(alice(), GOOD_PASSWORD, true).await;
    assert!(remembered["refresh_token"]
        .as_str()
        .unwrap()
        .starts_with("spr_"));
}

#[tokio::test]
async fn the_audit_log_names_the_device_and_nothing_in_its_name_breaks_a_line() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let r = t
        .post(
            "/api/v1/sessions",
            json!({"email": alice(), "password": GOOD_PASSWORD, "remember_me": true,
                   // A NUL too: PostgreSQL refuses it in text (the suite runs there too).
                   "device_name": "Sealpost on desk-3\u{0} (linux)\n2026-03-02 sign_in_failed bob"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let sign_in = t
        .hub
        .audit_log(chrono::DateTime::<chrono::Utc>::MIN_UTC)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.event == "sign_in")
        .unwrap();
    assert_eq!(
        sign_in.detail,
        "device: Sealpost on desk-3 (linux)2026-03-02 sign_in_failed bob; remember_me",
        "the device is named, and its NUL and line break are gone: it cannot forge an entry"
    );
}

#[tokio::test]
async fn unknown_address_and_wrong_password_get_the_same_answer() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    t.org_send(&[bob()], "s", "b").await; // bob is pending: has mail, never registered
    let (s1, wrong) = t
        .sign_in(alice(), "not the right password at all", false)
        .await;
    let (s2, unknown) = t
        .sign_in("nobody@nowhere.example", GOOD_PASSWORD, false)
        .await;
    let (s3, pending) = t.sign_in(bob(), GOOD_PASSWORD, false).await;
    assert_eq!(s1, StatusCode::UNAUTHORIZED);
    assert_eq!(
        (s1, &wrong),
        (s2, &unknown),
        "no hint whether an address is registered"
    );
    assert_eq!((s1, &wrong), (s3, &pending));
    assert_eq!(code(&wrong), "invalid_credentials");
}

#[tokio::test]
async fn three_failures_lock_for_30_minutes_and_email_a_reset_link() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    for attempt in 1..=2 {
        let (status, body) = t.sign_in(alice(), "wrong wrong wrong wrong", false).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt} is only refused"
        );
        assert_eq!(
            body["error"]["tries_left"],
            3 - attempt,
            "the refusal says how many tries are left"
        );
    }
    let (status, body) = t.sign_in(alice(), "wrong wrong wrong wrong", false).await;
    assert_eq!(status, StatusCode::LOCKED, "the third failure locks");
    assert_eq!(code(&body), "account_locked");
    assert_eq!(body["error"]["locked_until"], "2026-03-02T09:30:00Z");

    let (status, body) = t.sign_in(alice(), GOOD_PASSWORD, false).await;
    assert_eq!(
        status,
        StatusCode::LOCKED,
        "while locked even the right password is refused"
    );
    assert_eq!(body["error"]["locked_until"], "2026-03-02T09:30:00Z");

    let notice = t.emails_to(alice()).await.pop().unwrap();
    assert!(
        notice.contains("locked until 2 March 2026 at 09:30 UTC"),
        "{notice}"
    );
    assert!(
        token_in(&notice, "/reset").is_some(),
        "the notice has a reset link"
    );
    let events = t.audit_events().await;
    assert_eq!(
        events
            .iter()
            .filter(|e| *e == &format!("sign_in_failed {}", alice()))
            .count(),
        3
    );
    assert!(events.contains(&format!("locked {}", alice())));

    t.advance(Duration::minutes(29));
    assert_eq!(
        t.sign_in(alice(), GOOD_PASSWORD, false).await.0,
        StatusCode::LOCKED
    );
    t.advance(Duration::minutes(1));
    assert_eq!(
        t.sign_in(alice(), GOOD_PASSWORD, false).await.0,
        StatusCode::CREATED,
        "the lock ends after 30 minutes"
    );
}

#[tokio::test]
async fn unknown_addresses_lock_the_same_way_but_get_no_email() {
    let t = TestHub::start().await;
    let ghost = "ghost@nowhere.example";
    t.registered(alice()).await;
    for attempt in 1..=2 {
        let (status, unknown) = t.sign_in(ghost, "whatever whatever", false).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (_, known) = t.sign_in(alice(), "whatever whatever", false).await;
        assert_eq!(
            unknown, known,
            "attempt {attempt}: an unknown address gets the very answer a registered one \
             gets, tries left included"
        );
    }
    let message = t.sign_in(bob(), "whatever whatever", false).await.1["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("2 more failures lock sign-in for 30 minutes"),
        "the first refusal words it: {message}"
    );
    let message = t.sign_in(bob(), "whatever whatever", false).await.1["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        message.contains("One more failure locks sign-in for 30 minutes")
            && message.contains("reset it"),
        "the last try before the lock says so, and points at the reset: {message}"
    );
    let (status, body) = t.sign_in(ghost, "whatever whatever", false).await;
    assert_eq!(
        status,
        StatusCode::LOCKED,
        "same behaviour as a real account"
    );
    assert!(body["error"]["locked_until"].is_string());
    assert!(t.emails_to(ghost).await.is_empty(), "nobody to email");
}

#[tokio::test]
async fn failures_must_be_consecutive() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    for _ in 0..2 {
        t.sign_in(alice(), "wrong wrong wrong wrong", false).await;
    }
    assert_eq!(
        t.sign_in(alice(), GOOD_PASSWORD, false).await.0,
        StatusCode::CREATED
    );
    for _ in 0..2 {
        let (status, _) = t.sign_in(alice(), "wrong wrong wrong wrong", false).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "a success resets the count"
        );
    }
}

#[tokio::test]
async fn lockout_threshold_and_duration_are_configurable() {
    let t = TestHub::start_with(|c| {
        c.security.lockout_threshold = 5;
        c.security.lockout_minutes = 10;
    })
    .await;
    t.registered(alice()).await;
    for _ in 0..4 {
        assert_eq!(
            t.sign_in(alice(), "wrong wrong wrong wrong", false).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, body) = t.sign_in(alice(), "wrong wrong wrong wrong", false).await;
    assert_eq!(status, StatusCode::LOCKED);
    assert_eq!(body["error"]["locked_until"], "2026-03-02T09:10:00Z");
}

#[tokio::test]
async fn an_idle_session_ends_after_20_minutes() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let token = t.access_token(alice()).await;
    t.advance(Duration::minutes(19));
    assert!(
        t.token_works(&token).await.is_ok(),
        "used within the idle window"
    );
    t.advance(Duration::minutes(19));
    assert!(
        t.token_works(&token).await.is_ok(),
        "each use slides the window"
    );
    t.advance(Duration::minutes(20));
    let r = t
        .http
        .delete(format!("{}/api/v1/sessions/current", t.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(code(&r.json().await.unwrap()), "session_expired");
}

#[tokio::test]
async fn a_session_in_constant_use_still_ends_after_12_hours() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let token = t.access_token(alice()).await;
    for _ in 0..37 {
        t.advance(Duration::minutes(19));
        assert!(t.token_works(&token).await.is_ok());
    }
    t.advance(Duration::minutes(19)); // 12 h 2 min after sign-in
    assert_eq!(
        t.token_works(&token).await,
        Err("the session has ended".into())
    );
}

async fn refresh(t: &TestHub, token: &str) -> (StatusCode, Value) {
    let r = t
        .post("/api/v1/sessions/refresh", json!({"refresh_token": token}))
        .await;
    let status = r.status();
    (status, r.json().await.unwrap())
}

fn refresh_token(body: &Value) -> String {
    body["refresh_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_copy_used_later_ends_the_chain() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let (_, first) = t.sign_in(alice(), GOOD_PASSWORD, true).await;
    let r1 = refresh_token(&first);

    t.advance(Duration::hours(3)); // the access token is long dead; Remember me is not
    let (status, second) = refresh(&t, &r1).await;
    assert_eq!(status, StatusCode::CREATED);
    let r2 = refresh_token(&second);
    let access2 = second["access_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2, "a new refresh token each time");
    assert!(t.token_works(&access2).await.is_ok());

    t.advance(Duration::minutes(1));
    let (status, replay) = refresh(&t, &r1).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an old refresh token used later is someone else's copy"
    );
    assert_eq!(code(&replay), "invalid_token");
    let (status, _) = refresh(&t, &r2).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "reuse revoked the whole chain"
    );
    assert!(
        t.token_works(&access2).await.is_err(),
        "and its access token"
    );
    assert!(t
        .audit_events()
        .await
        .contains(&format!("refresh_token_reused {}", alice())));
}

#[tokio::test]
async fn a_refresh_whose_answer_was_lost_is_retried_and_the_chain_goes_on() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let (_, first) = t.sign_in(alice(), GOOD_PASSWORD, true).await;
    let r1 = refresh_token(&first);
    let (_, lost) = refresh(&t, &r1).await;
    let r2 = refresh_token(&lost);
    // The client crashed before keeping r2, and tries again with what it has.
    t.advance(Duration::seconds(5));
    let (status, retried) = refresh(&t, &r1).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a quick retry is no theft: {retried}"
    );
    let r3 = refresh_token(&retried);
    assert_ne!(r3, r2);
    let (status, next) = refresh(&t, &r3).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the chain goes on from the retry"
    );
    // The answer that was lost is worth nothing: whoever shows it later is caught.
    t.advance(Duration::minutes(2));
    let (status, _) = refresh(&t, &r2).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = refresh(&t, &refresh_token(&next)).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the retired token showing up again cut the chain"
    );
}

#[tokio::test]
async fn once_its_replacement_was_used_even_a_quick_replay_ends_the_chain() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let (_, first) = t.sign_in(alice(), GOOD_PASSWORD, true).await;
    let r1 = refresh_token(&first);
    let (_, second) = refresh(&t, &r1).await;
    let (status, third) = refresh(&t, &refresh_token(&second)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = refresh(&t, &r1).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "its replacement was used: a copy of r1 is someone else's"
    );
    let (status, _) = refresh(&t, &refresh_token(&third)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the chain is cut");
}

#[tokio::test]
async fn a_refresh_leaves_the_access_tokens_of_other_processes_working() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let (_, first) = t.sign_in(alice(), GOOD_PASSWORD, true).await;
    // The app holds this access token while a scheduled sync exchanges the refresh token.
    let held = first["access_token"].as_str().unwrap().to_owned();
    let (status, _) = refresh(&t, &refresh_token(&first)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(
        t.token_works(&held).await.is_ok(),
        "the other process of this device is not signed out"
    );
}

#[tokio::test]
async fn remember_me_expires_after_30_days_unused() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let (_, s) = t.sign_in(alice(), GOOD_PASSWORD, true).await;
    t.advance(Duration::days(30));
    let r = t
        .post(
            "/api/v1/sessions/refresh",
            json!({"refresh_token": s["refresh_token"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sign_out_revokes_access_and_refresh_tokens() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let (_, s) = t.sign_in(alice(), GOOD_PASSWORD, true).await;
    let access = s["access_token"].as_str().unwrap();
    assert_eq!(t.sign_out(access).await, StatusCode::NO_CONTENT);
    assert!(t.token_works(access).await.is_err());
    let r = t
        .post(
            "/api/v1/sessions/refresh",
            json!({"refresh_token": s["refresh_token"]}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "Remember me is gone with sign-out"
    );
    assert_eq!(t.sign_out("spa_made_up").await, StatusCode::UNAUTHORIZED);
    let r = t
        .http
        .delete(format!("{}/api/v1/sessions/current", t.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(code(&r.json().await.unwrap()), "not_signed_in");
}

#[tokio::test]
async fn a_locked_account_keeps_its_remembered_devices() {
    // Someone guessing passwords must not be able to sign the real user out.
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let (_, s) = t.sign_in(alice(), GOOD_PASSWORD, true).await;
    for _ in 0..3 {
        t.sign_in(alice(), "attacker guesses here", false).await;
    }
    assert_eq!(
        t.sign_in(alice(), GOOD_PASSWORD, false).await.0,
        StatusCode::LOCKED
    );
    let r = t
        .post(
            "/api/v1/sessions/refresh",
            json!({"refresh_token": s["refresh_token"]}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "the remembered device still gets in"
    );
}

#[tokio::test]
async fn disabling_signs_out_everywhere_and_enabling_lets_back_in() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let (_, s) = t.sign_in(alice(), GOOD_PASSWORD, true).await;
    t.hub
        .disable_user(alice(), &sealpost_hub::Caller::cli())
        .await
        .unwrap();
    assert!(t
        .token_works(s["access_token"].as_str().unwrap())
        .await
        .is_err());
    let r = t
        .post(
            "/api/v1/sessions/refresh",
            json!({"refresh_token": s["refresh_token"]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = t.sign_in(alice(), GOOD_PASSWORD, false).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "told plainly, once the password is right"
    );
    assert_eq!(code(&body), "account_disabled");
    let (status, _) = t.sign_in(alice(), "a wrong password here", false).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a wrong password learns nothing"
    );

    t.hub
        .enable_user(alice(), &sealpost_hub::Caller::cli())
        .await
        .unwrap();
    assert_eq!(
        t.sign_in(alice(), GOOD_PASSWORD, false).await.0,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn per_address_and_per_ip_limits_answer_429_before_hashing() {
    let t = TestHub::start_with(|c| {
        c.security.lockout_threshold = 1000;
        c.security.sign_in_per_address_per_minute = 4;
        c.security.sign_in_per_ip_per_minute = 10;
    })
    .await;
    for _ in 0..4 {
        assert_eq!(
            t.sign_in(alice(), "x x x x x x x x", false).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = t
        .post(
            "/api/v1/sessions",
            json!({"email": alice(), "password": "x x x x x x x x"}),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "per-address limit"
    );
    assert_eq!(r.headers()["retry-after"], "60");
    assert_eq!(code(&r.json().await.unwrap()), "rate_limited");

    for i in 0..5 {
        let (status, _) = t
            .sign_in(
                &format!("user{i}@partner.example"),
                "x x x x x x x x",
                false,
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = t
        .sign_in("user9@partner.example", "x x x x x x x x", false)
        .await;
    assert_eq!(
        status,
        StatusCode::TOO_MANY_REQUESTS,
        "per-IP limit across addresses"
    );

    t.advance(Duration::minutes(1));
    let (status, _) = t.sign_in(alice(), "x x x x x x x x", false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the window passes");
}

#[tokio::test]
async fn a_flood_of_sign_ins_is_bounded_by_the_hashing_queue() {
    let t = TestHub::start_with(|c| {
        c.security.lockout_threshold = 10_000;
        c.security.sign_in_per_address_per_minute = 10_000;
        c.security.sign_in_per_ip_per_minute = 10_000;
        c.security.hash_concurrency = 1;
        c.security.hash_queue = 2;
    })
    .await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let http = t.http.clone();
        let url = format!("{}/api/v1/sessions", t.url);
        tasks.push(tokio::spawn(async move {
            http.post(url)
                .json(&json!({"email": format!("u{i}@partner.example"), "password": "wrong wrong wrong"}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut refused = 0;
    let mut answered = 0;
    for task in tasks {
        match task.await.unwrap() {
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            StatusCode::UNAUTHORIZED => answered += 1,
            other => panic!("only 401 or 429 expected, got {other}"),
        }
    }
    assert!(answered >= 1, "some are served");
    assert!(
        refused >= 20,
        "most of a 40-strong burst is turned away at once ({refused})"
    );
}

fn own_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap()
}

#[tokio::test]
async fn repeated_sign_ins_do_not_grow_memory_by_a_hash_each() {
    // Regression: each Argon2 hash allocated 19 MiB and the allocator stranded the freed
    // blocks across arenas; 40 sign-ins grew the hub by ~150 MiB, a flood by ~370 MiB.
    let t = TestHub::start_with(|c| {
        c.security.lockout_threshold = 10_000;
        c.security.sign_in_per_address_per_minute = 10_000;
        c.security.sign_in_per_ip_per_minute = 10_000;
    })
    .await;
    t.sign_in(alice(), "warm up the hashing threads", false)
        .await;
    t.sign_in(alice(), "warm up the hashing threads", false)
        .await;
    let before = own_rss_kib();
    for _ in 0..40 {
        t.sign_in(alice(), "wrong wrong wrong wrong", false).await;
    }
    let grown_mib = (own_rss_kib().saturating_sub(before)) / 1024;
    assert!(grown_mib < 40, "40 sign-ins grew memory by {grown_mib} MiB");
}

#[tokio::test]
async fn behind_a_trusted_proxy_limits_apply_per_real_client() {
    let sign_in_from = |t: &TestHub, forwarded: &str| {
        t.http
            .post(format!("{}/api/v1/sessions", t.url))
            .header("x-forwarded-for", forwarded.to_owned())
            .json(&json!({"email": format!("u-{forwarded}@partner.example"), "password": "x x x x x x x x"}))
            .send()
    };
    let limits = |c: &mut sealpost_hub::config::HubConfig| {
        c.security.sign_in_per_ip_per_minute = 2;
    };
    // Not trusted: the header is ignored and every request counts against 127.0.0.1.
    let t = TestHub::start_with(limits).await;
    let statuses: Vec<u16> = futures_statuses(
        &t,
        &sign_in_from,
        &["203.0.113.1", "203.0.113.2", "203.0.113.3"],
    )
    .await;
    assert_eq!(
        statuses,
        [401, 401, 429],
        "a client cannot pick its own address"
    );

    let t = TestHub::start_with(|c| {
        limits(c);
        c.security.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let statuses = futures_statuses(
        &t,
        &sign_in_from,
        &["203.0.113.1", "203.0.113.2", "203.0.113.3"],
    )
    .await;
    assert_eq!(
        statuses,
        [401, 401, 401],
        "each real client has its own allowance"
    );
    let statuses = futures_statuses(&t, &sign_in_from, &["203.0.113.1", "203.0.113.1"]).await;
    assert_eq!(statuses, [401, 429], "and its own limit");
    let audit = t
        .hub
        .audit_log(chrono::DateTime::<chrono::Utc>::MIN_UTC)
        .await
        .unwrap();
    assert!(
        audit.iter().any(|e| e.ip == "203.0.113.2"),
        "the audit log names the real client"
    );
    // Behind two proxies (the outer one trusted too), the client is still the nearest
    // address the trusted hops did not add.
    for forwarded in ["203.0.113.8, 127.0.0.1", "203.0.113.8, 127.0.0.1"] {
        let r = t
            .http
            .post(format!("{}/api/v1/sessions", t.url))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"email": alice(), "password": "x x x x x x x x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let statuses = futures_statuses(&t, &sign_in_from, &["203.0.113.8"]).await;
    assert_eq!(statuses, [429], "the same client, whichever way it came");
    let audit = t
        .hub
        .audit_log(chrono::DateTime::<chrono::Utc>::MIN_UTC)
        .await
        .unwrap();
    assert!(
        audit.iter().any(|e| e.ip == "203.0.113.8"),
        "the audit log names the client behind both proxies"
    );
}

async fn futures_statuses<F, Fut>(t: &TestHub, send: &F, from: &[&str]) -> Vec<u16>
where
    F: Fn(&TestHub, &str) -> Fut,
    Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    let mut out = Vec::new();
    for f in from {
        out.push(send(t, f).await.unwrap().status().as_u16());
    }
    out
}

/// A sign-in as a client at `ip` (through the trusted proxy on loopback) would make it.
async fn sign_in_from(
    t: &TestHub,
    ip: &str,
    password: &str,
    device_token: Option<&str>,
) -> (StatusCode, Value) {
    let r = t
        .http
        .post(format!("{}/api/v1/sessions", t.url))
        .header("x-forwarded-for", ip)
        .json(&json!({"email": alice(), "password": password, "device_token": device_token}))
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

/// Someone elsewhere fails ten sign-ins as the owner, each from another address.
async fn attack(t: &TestHub, round: u32) {
    for n in 0..10 {
        sign_in_from(
            t,
            &format!("203.0.113.{}", round * 10 + n),
            "guessing guessing",
            None,
        )
        .await;
    }
}

async fn behind_a_proxy() -> TestHub {
    TestHub::start_with(|c| c.security.trusted_proxies = vec!["127.0.0.1".into()]).await
}

#[tokio::test]
async fn failures_from_elsewhere_never_lock_out_a_device_that_signed_in_before() {
    let t = behind_a_proxy().await;
    t.registered(alice()).await;
    let (status, first) = sign_in_from(&t, "198.51.100.7", GOOD_PASSWORD, None).await;
    assert_eq!(status, StatusCode::CREATED);
    let device = first["device_token"]
        .as_str()
        .expect("a device that signs in is given a device token")
        .to_owned();
    for minute in 0..5 {
        attack(&t, minute).await;
        let (status, body) = sign_in_from(&t, "198.51.100.7", GOOD_PASSWORD, Some(&device)).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "minute {minute}: the owner's device gets in: {body}"
        );
        assert!(
            body.get("device_token").is_none(),
            "a trusted device keeps its token"
        );
        t.advance(Duration::minutes(1));
    }
    let (status, _) = sign_in_from(&t, "198.51.100.9", GOOD_PASSWORD, None).await;
    assert_eq!(
        status,
        StatusCode::LOCKED,
        "a device not yet trusted meets the lock the failures set"
    );
    // The device's own failures lock it alone, and not for others.
    for _ in 0..3 {
        sign_in_from(&t, "198.51.100.7", "my own typo here", Some(&device)).await;
    }
    let (status, body) = sign_in_from(&t, "198.51.100.7", GOOD_PASSWORD, Some(&device)).await;
    assert_eq!(status, StatusCode::LOCKED, "{body}");
    assert!(body["error"]["locked_until"].is_string());
}

#[tokio::test]
async fn after_a_reset_the_owner_gets_in_although_someone_keeps_failing() {
    let t = behind_a_proxy().await;
    t.registered(alice()).await;
    attack(&t, 0).await;
    let token = t.link_token(alice(), "/reset").await;
    let r = t
        .post(
            "/api/v1/password-resets/confirm",
            json!({"token": token, "new_password": "violet harbour lantern cedar"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for minute in 1..4 {
        attack(&t, minute).await;
        let (status, body) =
            sign_in_from(&t, "198.51.100.7", "violet harbour lantern cedar", None).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "minute {minute}: the owner, on a new computer, gets in: {body}"
        );
        t.advance(Duration::minutes(1));
    }
}

#[tokio::test]
async fn after_an_admin_unlock_the_owner_gets_in_although_someone_keeps_failing() {
    let t = behind_a_proxy().await;
    t.registered(alice()).await;
    attack(&t, 0).await;
    let (status, _) = sign_in_from(&t, "198.51.100.7", GOOD_PASSWORD, None).await;
    assert_eq!(status, StatusCode::LOCKED);
    t.hub
        .unlock_user(alice(), &sealpost_hub::Caller::cli())
        .await
        .unwrap();
    attack(&t, 1).await;
    let (status, body) = sign_in_from(&t, "198.51.100.7", GOOD_PASSWORD, None).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "after the unlock, failures elsewhere lock only where they come from: {body}"
    );
    for _ in 0..3 {
        sign_in_from(&t, "203.0.113.99", "guessing guessing", None).await;
    }
    let (status, _) = sign_in_from(&t, "203.0.113.99", GOOD_PASSWORD, None).await;
    assert_eq!(
        status,
        StatusCode::LOCKED,
        "three failures from one address lock that address out"
    );
    let (status, _) = sign_in_from(&t, "198.51.100.7", GOOD_PASSWORD, None).await;
    assert_eq!(status, StatusCode::CREATED, "and no one else");
}

#[tokio::test]
async fn an_empty_password_is_refused_and_counts_for_nothing() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    for _ in 0..5 {
        let (status, body) = t.sign_in(alice(), "", false).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    let (status, _) = t.sign_in(alice(), GOOD_PASSWORD, false).await;
    assert_eq!(status, StatusCode::CREATED, "no lock came of it");
    assert!(
        !t.audit_events()
            .await
            .iter()
            .any(|e| e.starts_with("sign_in_failed")),
        "nothing was counted"
    );
}

#[tokio::test]
async fn a_password_in_another_unicode_form_is_the_same_password() {
    let t = TestHub::start().await;
    t.org_send(&[alice()], "s", "b").await;
    let token = t.link_token(alice(), "/register").await;
    let composed = "Cr\u{e8}me br\u{fb}l\u{e9}e at noon, twice";
    let decomposed = "Cre\u{300}me bru\u{302}le\u{301}e at noon, twice";
    let r = t
        .post(
            "/api/v1/registrations",
            json!({"token": token, "password": composed}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let (status, body) = t.sign_in(alice(), decomposed, false).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "typed with decomposed accents, it is the same password: {body}"
    );
    let (status, _) = t.sign_in(alice(), composed, false).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_password_hashed_as_typed_before_keeps_working_in_either_form() {
    let t = TestHub::start().await;
    t.org_send(&[alice()], "s", "b").await;
    let token = t.link_token(alice(), "/register").await;
    let decomposed = "Cre\u{300}me bru\u{302}le\u{301}e at noon, twice";
    t.post(
        "/api/v1/registrations",
        json!({"token": token, "password": decomposed}),
    )
    .await;
    // As an older hub stored it: hashed as typed.
    let raw = sealpost_hub::crypto::PasswordHasher::new(&sealpost_hub::clock::OsEntropy)
        .unwrap()
        .hash(decomposed, &sealpost_hub::clock::OsEntropy)
        .unwrap();
    t.hub
        .store()
        .write_blocking(|tx| tx.set_legacy_password_hash(alice(), &raw))
        .unwrap();
    let (status, _) = t
        .sign_in(alice(), "Cr\u{e8}me br\u{fb}l\u{e9}e at noon, twice", false)
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "the composed form opens an account registered with the decomposed one"
    );
    let (status, _) = t.sign_in(alice(), decomposed, false).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "and so does the form it was typed in"
    );
}

#[tokio::test]
async fn renewing_an_old_hash_never_undoes_a_password_changed_meanwhile() {
    use sealpost_hub::clock::OsEntropy;
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let hasher = sealpost_hub::crypto::PasswordHasher::new(&OsEntropy).unwrap();
    let hash = |password: &str| hasher.hash(password, &OsEntropy).unwrap();
    let store = t.hub.store();
    let set = |stored: String| {
        store
            .write_blocking(move |tx| tx.set_legacy_password_hash(alice(), &stored))
            .unwrap()
    };
    let old = hash(GOOD_PASSWORD);
    set(old.clone());
    let id = store
        .write_blocking(|tx| tx.account_by_email(alice()))
        .unwrap()
        .unwrap()
        .id;
    // A reset in another tab lands between the sign-in's check and its renewal of the hash.
    set(hash("a new password after the reset"));
    let renewed = hash(GOOD_PASSWORD);
    store
        .write_blocking(move |tx| tx.replace_legacy_password_hash(&id, &old, &renewed))
        .unwrap();
    let (status, _) = t.sign_in(alice(), GOOD_PASSWORD, false).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the old password did not come back"
    );
    let (status, _) = t
        .sign_in(alice(), "a new password after the reset", false)
        .await;
    assert_eq!(status, StatusCode::CREATED, "the new one works");
}

/// One failed sign-in to `email` from `ip`; what the refusal says is left.
async fn tries_left_after_failing(t: &TestHub, email: &str, ip: &str) -> Value {
    let r = t
        .http
        .post(format!("{}/api/v1/sessions", t.url))
        .header("x-forwarded-for", ip)
        .json(&json!({"email": email, "password": "guessing guessing"}))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    body["error"]["tries_left"].clone()
}

#[tokio::test]
async fn tries_left_never_tells_a_registered_address_from_an_unknown_one() {
    let ghost = "ghost@nowhere.example";
    // The owner signs in (which forgets the address's failures) between two tries.
    let t = behind_a_proxy().await;
    t.registered(alice()).await;
    let mut seen = Vec::new();
    for email in [alice(), ghost] {
        let first = tries_left_after_failing(&t, email, "203.0.113.9").await;
        if email == alice() {
            let (status, _) = sign_in_from(&t, "198.51.100.7", GOOD_PASSWORD, None).await;
            assert_eq!(status, StatusCode::CREATED);
        }
        let second = tries_left_after_failing(&t, email, "203.0.113.9").await;
        seen.push((first, second));
    }
    assert_eq!(
        seen[0], seen[1],
        "the owner's own sign-in does not show in what a guesser is told"
    );
    assert_eq!(seen[0], (json!(2), json!(1)));

    // In the owner's window (after an unlock), failures lock per client IP; the number told
    // is per caller for every address anyway.
    let t = behind_a_proxy().await;
    t.registered(alice()).await;
    t.hub
        .unlock_user(alice(), &sealpost_hub::Caller::cli())
        .await
        .unwrap();
    let mut seen = Vec::new();
    for email in [alice(), ghost] {
        seen.push((
            tries_left_after_failing(&t, email, "203.0.113.9").await,
            tries_left_after_failing(&t, email, "192.0.2.44").await,
        ));
    }
    assert_eq!(
        seen[0], seen[1],
        "two callers, same numbers for both addresses"
    );
}
