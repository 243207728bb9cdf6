//! Remember me shared by several processes of one computer (the app and a scheduled
//! `sealpost sync`): they take turns exchanging the refresh token, so none of them looks
//! like a thief replaying an old copy.

use sealpost_client::keyring::SecretStore;
use sealpost_tests::*;

/// Registers alice with Remember me in a process that then ends; her account's id, for
/// later processes to open.
async fn remembered(client: &TestClient, hub: &TestServer) -> String {
    client
        .registered(hub, alice(), true)
        .await
        .account
        .id
        .clone()
}

/// A new process of this computer (a scheduled `sealpost sync`) opens the account and
/// syncs, with Remember me only.
async fn new_process_syncs(client: &TestClient, id: &str) -> sealpost_client::Result<()> {
    let mailbox = client.accounts().open(id).unwrap();
    mailbox.syncer.sync().await.map(|_| ())
}

/// Whether the hub took any refresh for a stolen copy's replay.
async fn reuse_seen(hub: &TestServer) -> bool {
    hub.hub
        .audit_log(chrono::DateTime::<chrono::Utc>::MIN_UTC)
        .await
        .unwrap()
        .iter()
        .any(|e| e.event == "refresh_token_reused")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_refreshing_at_once_both_stay_signed_in() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let id = remembered(&client, &hub).await;
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
    new_process_syncs(&client, &id)
        .await
        .expect("the device is still signed in");
    assert!(
        !reuse_seen(&hub).await,
        "no refresh looked like a stolen copy"
    );
}

/// A loopback proxy in front of the hub that, when told to, passes one refresh request on
/// and closes the connection once the hub has answered, without passing the answer back:
/// the answer lost on the way that a flaky network or a proxy's timeout makes.
struct LosingProxy {
    url: String,
    lose_next_refresh: std::sync::Arc<std::sync::atomic::AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl LosingProxy {
    async fn start(hub_url: &str) -> Self {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let upstream = hub_url.trim_start_matches("http://").to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let lose = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = lose.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                let (upstream, flag) = (upstream.clone(), flag.clone());
                tokio::spawn(async move {
                    let mut client = client;
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let mut first = vec![0u8; 64 * 1024];
                    let Ok(n) = client.read(&mut first).await else {
                        return;
                    };
                    let losing = first[..n]
                        .windows(b"/sessions/refresh".len())
                        .any(|w| w == b"/sessions/refresh")
                        && flag.swap(false, Ordering::SeqCst);
                    if server.write_all(&first[..n]).await.is_err() {
                        return;
                    }
                    if !losing {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        return;
                    }
                    let (mut client_read, client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let rest = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                    });
                    // The hub has answered (so it has rotated the token); the answer goes
                    // nowhere.
                    let mut answer = [0u8; 1024];
                    let _ = server_read.read(&mut answer).await;
                    rest.abort();
                    drop(client_write);
                });
            }
        });
        Self {
            url,
            lose_next_refresh: lose,
            task,
        }
    }
}

impl Drop for LosingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_whose_answer_is_lost_is_tried_again_and_the_device_stays_signed_in() {
    let mut hub = TestServer::start().await;
    let proxy = LosingProxy::start(&hub.url).await;
    hub.url = proxy.url.clone();
    let client = TestClient::new();
    let id = remembered(&client, &hub).await;

    proxy
        .lose_next_refresh
        .store(true, std::sync::atomic::Ordering::SeqCst);
    new_process_syncs(&client, &id)
        .await
        .expect("the refresh was tried again with the same token, within the hub's grace");
    assert!(
        !proxy
            .lose_next_refresh
            .load(std::sync::atomic::Ordering::SeqCst),
        "the proxy did lose an answer"
    );
    // An hour on, as a scheduled sync would run: the token kept is the live one.
    hub.advance(chrono::Duration::hours(1));
    new_process_syncs(&client, &id)
        .await
        .expect("still signed in an hour later");
    assert!(
        !reuse_seen(&hub).await,
        "the retry was not taken for a stolen copy"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_from_a_new_process_ends_remember_me_at_the_hub() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let id = remembered(&client, &hub).await;
    let name = sealpost_client::keyring::remember_name(&id);
    let copy = client
        .keyring
        .load(&name)
        .unwrap()
        .expect("Remember me is kept")
        .expose()
        .clone();

    // `sealpost sign-out` is a new process: no session in memory, only Remember me.
    let cli = client.accounts().open(&id).unwrap();
    cli.sign_out(None).await.expect("signed out");
    assert!(
        client.keyring.load(&name).unwrap().is_none(),
        "forgotten on this computer"
    );

    let answer = reqwest::Client::new()
        .post(format!("{}/api/v1/sessions/refresh", hub.url))
        .json(&serde_json::json!({ "refresh_token": copy }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.status(),
        reqwest::StatusCode::UNAUTHORIZED,
        "a copy of the token kept before sign-out no longer works"
    );
    let audit = hub
        .hub
        .audit_log(chrono::DateTime::<chrono::Utc>::MIN_UTC)
        .await
        .unwrap();
    assert!(
        audit.iter().any(|e| e.event == "sign_out"),
        "the hub was told"
    );
}
