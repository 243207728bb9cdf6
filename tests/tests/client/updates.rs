//! Which update the app is offered: only its own hubs are asked, a hub without `[updates]`
//! offers none, and a package address is made whole on that hub.

use sealpost_client::updates::{offers, offers_within};
use sealpost_hub::{config::UpdatesConfig, testing::TestServer};
use serde_json::json;

/// A hub with `[updates] dir = "updates"` offering 0.2.0 for Debian, and that folder.
async fn hub_offering_0_2_0() -> (TestServer, std::path::PathBuf) {
    let hub = TestServer::start_with(|c| {
        c.updates = Some(UpdatesConfig {
            dir: "updates".into(),
        })
    })
    .await;
    let dir = hub.dir.path().join("hub/updates");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("latest.json"),
        json!({"version": "0.2.0", "notes": "Faster search.",
               "platforms": {"linux-x86_64-deb": {"url": "Sealpost_0.2.0_amd64.deb", "signature": "s"}}})
        .to_string(),
    )
    .unwrap();
    (hub, dir)
}

#[tokio::test]
async fn only_the_mailboxes_hubs_are_asked_and_a_file_name_is_on_that_hub() {
    let without = TestServer::start().await;
    let (with, dir) = hub_offering_0_2_0().await;

    let none = offers(std::slice::from_ref(&without.url)).await;
    assert!(
        none.offers.is_empty() && none.failed.is_empty(),
        "a hub without [updates] offers nothing, and that is no failure"
    );

    // The same hub twice (two mailboxes on it) is asked once.
    // A hub that cannot be reached does not hide the other's update.
    let offline = "http://127.0.0.1:9".to_owned();
    let checked = offers(&[
        offline.clone(),
        without.url.clone(),
        with.url.clone(),
        format!("{}/", with.url),
    ])
    .await;
    let found = checked.offers;
    assert_eq!(found.len(), 1, "one hub serves updates: {found:?}");
    assert_eq!(checked.failed.len(), 1, "{:?}", checked.failed);
    assert!(
        checked.failed[0].starts_with(&offline),
        "{:?}",
        checked.failed
    );
    assert_eq!(found[0].hub, with.url);
    assert_eq!(
        found[0].manifest["platforms"]["linux-x86_64-deb"]["url"],
        format!("{}/api/v1/updates/files/Sealpost_0.2.0_amd64.deb", with.url),
        "the package is taken from the hub that offered it"
    );
    assert_eq!(found[0].manifest["notes"], "Faster search.");

    // A manifest pointing elsewhere is refused with the reason.
    std::fs::write(
        dir.join("latest.json"),
        json!({"version": "0.2.0",
               "platforms": {"linux-x86_64-deb": {"url": "https://downloads.example.com/Sealpost.deb", "signature": "s"}}})
        .to_string(),
    )
    .unwrap();
    let checked = offers(std::slice::from_ref(&with.url)).await;
    assert!(
        checked.offers.is_empty(),
        "nothing is offered from elsewhere"
    );
    let e = &checked.failed[0];
    assert!(
        e.to_string().contains("downloads.example.com")
            && e.to_string().contains("only from your organisation's hub"),
        "{e}"
    );
}

/// A hub that takes the connection and never answers is given up on after the limit, and
/// does not hold up another hub's update: the hubs are asked side by side.
#[tokio::test]
async fn a_hub_that_never_answers_does_not_hold_up_another() {
    let (with, _) = hub_offering_0_2_0().await;
    // Two hubs that accept connections (the kernel's backlog) and read nothing, ever.
    let silent = [
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
    ];
    let silent_urls: Vec<String> = silent
        .iter()
        .map(|l| format!("http://{}", l.local_addr().unwrap()))
        .collect();

    let limit = std::time::Duration::from_secs(2);
    let started = std::time::Instant::now();
    let checked = offers_within(
        &[
            silent_urls[0].clone(),
            with.url.clone(),
            silent_urls[1].clone(),
        ],
        limit,
    )
    .await;
    let took = started.elapsed();
    assert_eq!(checked.offers.len(), 1, "the other hub's update is offered");
    assert_eq!(checked.offers[0].hub, with.url);
    assert_eq!(
        checked.failed,
        silent_urls
            .iter()
            .map(|u| format!("{u} did not answer within 2 seconds when asked for updates"))
            .collect::<Vec<_>>()
    );
    // Asked one after the other, the two silent hubs would take twice the limit.
    assert!(
        took >= limit && took < limit * 3 / 2,
        "given up after the limit, once for all hubs: {took:?}"
    );
    drop(silent);
}
