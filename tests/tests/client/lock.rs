//! The idle lock: compose saved as a draft, session forgotten, password needed again.

use sealpost_client::{Code, Compose};
use sealpost_proto::Folder;
use sealpost_tests::*;

fn compose() -> Compose {
    Compose {
        to: vec!["worker@example.gov.uk".into()],
        subject: "Half written".into(),
        body_text: "Dear".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn locking_saves_the_compose_and_needs_the_password_again() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), true).await;
    mailbox.lock(Some(compose())).await.unwrap();
    assert!(mailbox.is_locked());
    let err = mailbox.syncer.sync().await.unwrap_err();
    assert_eq!(
        err.code(),
        Code::SignInRequired,
        "nothing reaches the hub while locked, not even with Remember me"
    );

    let err = mailbox.unlock("not my password at all").await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidCredentials);
    assert!(mailbox.is_locked(), "still locked");
    mailbox.unlock(GOOD_PASSWORD).await.unwrap();
    assert!(!mailbox.is_locked());
    mailbox.syncer.sync().await.unwrap();
    let drafts = mailbox.vault.list(Folder::Drafts, 10, None).unwrap();
    assert_eq!(
        drafts[0].subject, "Half written",
        "the compose in progress is in Drafts"
    );
}

#[tokio::test]
async fn offline_the_password_is_checked_against_the_local_verifier() {
    let mut hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    hub.go_offline().await;
    let saved = mailbox.lock(Some(compose())).await.unwrap();
    assert!(
        matches!(
            saved,
            Some((sealpost_client::outbox::SendOutcome::Queued { .. }, _))
        ),
        "offline, the compose waits in the outbox: {saved:?}"
    );
    let err = mailbox.unlock("guessing offline").await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidCredentials);
    assert!(mailbox.is_locked());
    mailbox.unlock(GOOD_PASSWORD).await.unwrap();
    assert!(
        !mailbox.is_locked(),
        "the right password unlocks without the hub"
    );
}

#[tokio::test]
async fn signing_in_again_lifts_the_idle_lock() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    mailbox.lock(None).await.unwrap();
    let err = mailbox.syncer.sync().await.unwrap_err();
    assert_eq!(
        err.code(),
        Code::SignInRequired,
        "locked: nothing reaches the hub"
    );
    let err = mailbox
        .sign_in("not the password", false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidCredentials);
    assert!(mailbox.is_locked(), "a wrong password leaves it locked");
    mailbox.sign_in(GOOD_PASSWORD, false).await.unwrap();
    assert!(
        !mailbox.is_locked(),
        "the sign-in screen's password unlocks too"
    );
    mailbox
        .syncer
        .sync()
        .await
        .expect("after signing in, the hub answers again");
}

#[tokio::test]
async fn typos_at_the_lock_screen_never_reach_the_hub_or_lock_the_account() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    mailbox.lock(None).await.unwrap();
    for typo in [
        "plum kettle orbit sandston",
        "Plum kettle orbit sandstone",
        "",
    ] {
        let err = mailbox.unlock(typo).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidCredentials, "{typo:?}: {err}");
    }
    let err = mailbox.unlock("still not it at all").await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidCredentials, "{err}");
    assert_eq!(
        hub.audit_count("sign_in_failed").await,
        0,
        "the hub heard of none of the typos"
    );
    // Three wrong passwords are answered at once; then a short wait before the next.
    let err = mailbox.unlock(GOOD_PASSWORD).await.unwrap_err();
    assert_eq!(err.code(), Code::RateLimited, "{err}");
    assert!(err.to_string().contains("wait 2 seconds"), "{err}");
    mailbox
        .wait_clock
        .advance(std::time::Duration::from_secs(2));
    mailbox.unlock(GOOD_PASSWORD).await.unwrap();
    assert!(!mailbox.is_locked());
    mailbox
        .syncer
        .sync()
        .await
        .expect("the account was never locked: the session is back");
}

#[tokio::test]
async fn a_password_changed_elsewhere_sends_the_lock_screen_to_sign_in() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    mailbox.lock(None).await.unwrap();
    // The password is reset on another computer.
    let web = sealpost_client::hub::HubClient::new(&hub.url).unwrap();
    web.request_reset(alice()).await.unwrap();
    let token = hub.link_token(alice(), "/reset").await;
    web.confirm_reset(&token, "violet harbour lantern cedar")
        .await
        .unwrap();
    let err = mailbox.unlock(GOOD_PASSWORD).await.unwrap_err();
    assert_eq!(err.code(), Code::SignInRequired, "{err}");
    assert!(err.to_string().contains("new password"), "{err}");
    assert!(mailbox.is_locked(), "the old password opens nothing");
    mailbox
        .sign_in("violet harbour lantern cedar", false)
        .await
        .unwrap();
    assert!(!mailbox.is_locked());
}

#[tokio::test]
async fn a_password_in_another_unicode_form_unlocks_offline() {
    let mut hub = TestServer::start().await;
    let client = TestClient::new();
    let composed = "Cr\u{e8}me br\u{fb}l\u{e9}e at noon, twice";
    let decomposed = "Cre\u{300}me bru\u{302}le\u{301}e at noon, twice";
    hub.org_send(&[alice()], "Welcome", "First message").await;
    let token = hub.link_token(alice(), "/register").await;
    let web = sealpost_client::hub::HubClient::new(&hub.url).unwrap();
    web.register(&token, composed).await.unwrap();
    let accounts = client.accounts();
    let record = accounts.add(&hub.url, alice()).unwrap();
    let mailbox = accounts.open(&record.id).unwrap();
    mailbox.sign_in(decomposed, false).await.unwrap();
    hub.go_offline().await;
    mailbox.lock(None).await.unwrap();
    mailbox.unlock(composed).await.unwrap();
    assert!(
        !mailbox.is_locked(),
        "the verifier here knows the two forms as one password"
    );
}

#[tokio::test]
async fn wrong_passwords_in_a_row_wait_longer_each_time_and_then_go_to_the_hub() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    mailbox.lock(None).await.unwrap();
    let second = std::time::Duration::from_secs(1);
    let mut waits = Vec::new();
    for attempt in 1..=10 {
        let err = mailbox.unlock("a guess at the password").await.unwrap_err();
        assert_eq!(
            err.code(),
            Code::InvalidCredentials,
            "attempt {attempt}: {err}"
        );
        if attempt < 3 {
            // No wait yet.
            continue;
        }
        if attempt == 10 {
            assert!(err.to_string().contains("checked by the hub"), "{err}");
            break;
        }
        // Even the right password waits its turn: guessing gains nothing by hurrying.
        let early = mailbox.unlock(GOOD_PASSWORD).await.unwrap_err();
        assert_eq!(
            early.code(),
            Code::RateLimited,
            "attempt {attempt}: {early}"
        );
        let seconds: u64 = early
            .to_string()
            .split_whitespace()
            .find_map(|w| w.parse().ok())
            .expect("the wait is said in seconds");
        waits.push(seconds);
        mailbox.wait_clock.advance(second * seconds as u32);
    }
    assert_eq!(
        waits,
        [2, 4, 8, 16, 32, 60, 60],
        "doubling, at most a minute"
    );
    assert_eq!(
        hub.audit_count("sign_in_failed").await,
        0,
        "ten wrong passwords never reached the hub"
    );

    // From now on the hub checks, as for any sign-in, and the failure counts there.
    mailbox.wait_clock.advance(second * 60);
    let err = mailbox.unlock("one more guess").await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidCredentials, "{err}");
    assert_eq!(hub.audit_count("sign_in_failed").await, 1);
    mailbox
        .unlock(GOOD_PASSWORD)
        .await
        .expect("the right password still opens it");
    assert!(!mailbox.is_locked());
}
