//! Remember me shared by several processes of one computer (the app and a scheduled
//! `sealpost sync`): they take turns exchanging the refresh token, so none of them looks
//! like a thief replaying an old copy.

use sealpost_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_refreshing_at_once_both_stay_signed_in() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let first = client.registered(&hub, alice(), true).await;
    let id = first.account.id.clone();
    drop(first);
    for round in 1..=5 {
        // Two processes start with Remember me and no session: each refreshes.
        let (a, b) = (
            client.accounts().open(&id).unwrap(),
            client.accounts().open(&id).unwrap(),
        );
        let (ra, rb) = tokio::join!(a.syncer.sync(), b.syncer.sync());
        assert!(
            ra.is_ok(),
            "round {round}: the first process synced: {ra:?}"
        );
        assert!(
            rb.is_ok(),
            "round {round}: the second process synced: {rb:?}"
        );
    }
    let later = client.accounts().open(&id).unwrap();
    later
        .syncer
        .sync()
        .await
        .expect("the device is still signed in");
    assert!(
        !hub.hub
            .audit_log(chrono::DateTime::<chrono::Utc>::MIN_UTC)
            .await
            .unwrap()
            .iter()
            .any(|e| e.event == "refresh_token_reused"),
        "no refresh looked like a stolen copy"
    );
}
