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
