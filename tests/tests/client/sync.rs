//! Sync: initial, incremental, crash between pages, deletions and expiry, offline, resync.

use chrono::Duration;
use sealpost_client::{sync::SyncEvent, sync::Syncer, Code};
use sealpost_proto::Folder;
use sealpost_tests::*;

#[tokio::test]
async fn first_sync_fills_the_vault_and_it_reads_offline() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    hub.org_send(&[alice()], "Welcome", "First message").await;
    hub.advance(Duration::minutes(1));
    hub.org_send(&[alice()], "Second", "Body two").await;
    let mailbox = client.registered(&hub, alice(), false).await;
    let report = mailbox.syncer.sync().await.unwrap();
    assert_eq!(report.new_mail, 2, "{report:?}");
    let inbox = mailbox.vault.list(Folder::Inbox, 50, None).unwrap();
    let subjects: Vec<&str> = inbox.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(subjects, ["Second", "Welcome"], "newest first");
    assert!(!inbox[0].read, "unread");
    assert_eq!(mailbox.vault.unread_count().unwrap(), 2);

    let url = hub.url.clone();
    drop(hub); // the hub goes away
    let err = mailbox.syncer.sync().await.unwrap_err();
    assert_eq!(err.code(), Code::Offline, "{err}");
    assert!(err.to_string().contains(&url));
    let m = mailbox.vault.message(&inbox[0].id).unwrap();
    assert_eq!(m.body_text, "Body two", "reading works offline");
}

#[tokio::test]
async fn new_mail_arrives_incrementally_with_an_event_naming_sender_and_count() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    mailbox.syncer.sync().await.unwrap();
    let mut events = mailbox.syncer.subscribe();
    hub.org_send(&[alice()], "Private subject", "Private body")
        .await;
    hub.org_send(&[alice()], "Another", "b").await;
    let report = mailbox.syncer.sync().await.unwrap();
    assert_eq!((report.pages, report.new_mail), (1, 2));
    let mut new_mail = None;
    while let Ok(e) = events.try_recv() {
        if let SyncEvent::NewMail { count, senders, .. } = e {
            new_mail = Some((count, senders));
        }
    }
    assert_eq!(
        new_mail,
        Some((2, vec![STAFF.to_owned()])),
        "count and sender, never content"
    );
    assert_eq!(
        mailbox.vault.list(Folder::Inbox, 50, None).unwrap().len(),
        3
    );
}

#[tokio::test]
async fn a_crash_between_pages_neither_loses_nor_duplicates() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    for i in 0..24 {
        hub.org_send(&[alice()], &format!("m{i}"), "b").await;
    }
    let mailbox = client.registered(&hub, alice(), false).await;
    let small_pages = Syncer::new(mailbox.vault.clone(), mailbox.hub.clone(), 10);
    let first = small_pages.sync_pages(Some(1)).await.unwrap();
    assert_eq!(first.pages, 1);
    let after_crash = mailbox.vault.list(Folder::Inbox, 100, None).unwrap().len();
    assert_eq!(after_crash, 10, "the first page is wholly in the vault");
    let id = mailbox.account.id.clone();
    drop(small_pages);
    drop(mailbox); // the app dies here

    let reopened = client.accounts().open(&id).unwrap();
    reopened.sign_in(GOOD_PASSWORD, false).await.unwrap();
    let resumed = Syncer::new(reopened.vault.clone(), reopened.hub.clone(), 10);
    let report = resumed.sync().await.unwrap();
    assert_eq!(report.pages, 2, "it resumes from the stored state");
    let all = reopened.vault.list(Folder::Inbox, 100, None).unwrap();
    let mut ids: Vec<_> = all.iter().map(|m| m.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        (all.len(), ids.len()),
        (24, 24),
        "every message exactly once"
    );
}

#[tokio::test]
async fn deletions_and_expiry_reach_the_vault_and_local_purge_works_offline() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    hub.advance(Duration::days(10));
    hub.org_send(&[alice()], "Later", "b").await;
    mailbox.sign_in(GOOD_PASSWORD, false).await.unwrap();
    mailbox.syncer.sync().await.unwrap();
    assert_eq!(
        mailbox.vault.list(Folder::Inbox, 50, None).unwrap().len(),
        2
    );

    // Expiry on the hub travels as `destroyed`.
    hub.advance(Duration::days(80));
    hub.hub
        .purge(false, &sealpost_hub::Caller::cli())
        .await
        .unwrap();
    mailbox.sign_in(GOOD_PASSWORD, false).await.unwrap();
    mailbox.syncer.sync().await.unwrap();
    let left: Vec<String> = mailbox
        .vault
        .list(Folder::Inbox, 50, None)
        .unwrap()
        .into_iter()
        .map(|m| m.subject)
        .collect();
    assert_eq!(
        left,
        ["Later"],
        "the 90-day-old welcome is gone from the vault"
    );

    // Offline, the vault deletes by expiry on its own.
    let expires = mailbox.vault.list(Folder::Inbox, 50, None).unwrap()[0]
        .expires_at
        .clone();
    let expires: chrono::DateTime<chrono::Utc> = expires.parse().unwrap();
    assert_eq!(
        mailbox
            .vault
            .purge_expired(expires - Duration::seconds(1))
            .unwrap(),
        0,
        "not a second early"
    );
    assert_eq!(mailbox.vault.purge_expired(expires).unwrap(), 1);
    assert!(mailbox
        .vault
        .list(Folder::Inbox, 50, None)
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_state_too_old_starts_over_cleanly() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    mailbox.syncer.sync().await.unwrap();
    hub.org_send(&[alice()], "keep", "b").await;
    // The welcome is deleted on another device, and that deletion is pruned from history.
    let welcome = mailbox.vault.list(Folder::Inbox, 50, None).unwrap()[0]
        .id
        .clone();
    mailbox
        .hub
        .call_empty(
            reqwest_method_delete(),
            &format!("/messages/{welcome}"),
            None::<&()>,
        )
        .await
        .unwrap();
    hub.advance(Duration::days(31));
    hub.hub
        .purge(false, &sealpost_hub::Caller::cli())
        .await
        .unwrap();
    mailbox.sign_in(GOOD_PASSWORD, false).await.unwrap();
    let report = mailbox.syncer.sync().await.unwrap();
    assert!(report.resynced, "the client started over");
    let subjects: Vec<String> = mailbox
        .vault
        .list(Folder::Inbox, 50, None)
        .unwrap()
        .into_iter()
        .map(|m| m.subject)
        .collect();
    assert_eq!(subjects, ["keep"], "nothing stale survives a resync");
}

fn reqwest_method_delete() -> sealpost_client::hub::Method {
    sealpost_client::hub::Method::DELETE
}

#[tokio::test]
async fn push_brings_new_mail_into_the_vault_without_asking() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let syncer = mailbox.syncer.clone();
    let mut events = syncer.subscribe();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        syncer
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    // Wait for the first sync.
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            if let Ok(SyncEvent::NewMail { .. }) = events.recv().await {
                break;
            }
        }
    })
    .await
    .expect("the first sync reports the welcome");
    hub.advance(Duration::minutes(1));
    let sent = std::time::Instant::now();
    hub.org_send(&[alice()], "Pushed", "b").await;
    tokio::time::timeout(std::time::Duration::from_secs(3), async {
        loop {
            if let Ok(SyncEvent::NewMail { .. }) = events.recv().await {
                break;
            }
        }
    })
    .await
    .expect("the push arrives");
    assert!(
        sent.elapsed() < std::time::Duration::from_secs(2),
        "within 2 s: {:?}",
        sent.elapsed()
    );
    assert_eq!(
        mailbox.vault.list(Folder::Inbox, 50, None).unwrap()[0].subject,
        "Pushed"
    );
    let _ = stop.send(());
    running.await.unwrap();
}

#[tokio::test]
async fn a_recalled_message_leaves_only_a_line_that_this_device_can_remove() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("wrong-person.txt");
    std::fs::write(&file, "case notes for somebody else").unwrap();
    let sent = hub
        .org_send_files(alice(), "Case notes", "Meant for another family.", &[file])
        .await;
    hub.org_send(&[alice()], "Kept", "This one stays.").await;
    let mailbox = client.registered(&hub, alice(), false).await;
    mailbox.syncer.sync().await.unwrap();
    let inbox = mailbox.vault.list(Folder::Inbox, 50, None).unwrap();
    let recalled = inbox.iter().find(|m| m.subject == "Case notes").unwrap();
    let (id, attachment) = (recalled.id.clone(), recalled.attachments[0].id.clone());
    mailbox.fetch_attachments(&id).await.unwrap();
    assert_eq!(mailbox.vault.search("family", 10).unwrap().len(), 1);

    hub.advance(Duration::minutes(5));
    let recall = hub
        .hub
        .recall_org_message(&sent, &sealpost_hub::Caller::cli())
        .await
        .unwrap();
    mailbox.syncer.sync().await.unwrap();

    // A line in its place, with when, and nothing of the message.
    let inbox = mailbox.vault.list(Folder::Inbox, 50, None).unwrap();
    assert_eq!(inbox.len(), 2, "the other message stays");
    let line = inbox
        .iter()
        .find(|m| m.id == id)
        .expect("the line is listed");
    let at: chrono::DateTime<chrono::Utc> = line.recalled_at.as_deref().unwrap().parse().unwrap();
    assert_eq!(at.timestamp(), recall.recalled_at.timestamp());
    assert_eq!(
        (line.subject.as_str(), line.attachments.len(), line.read),
        ("", 0, true),
        "no subject, no files, nothing unread"
    );
    let whole = mailbox.vault.message(&id).unwrap();
    assert!(whole.body_text.is_empty() && whole.summary.to.is_empty());
    assert_eq!(mailbox.vault.unread_count().unwrap(), 1);
    assert!(
        mailbox.vault.search("family", 10).unwrap().is_empty(),
        "search no longer finds its words"
    );
    assert!(
        mailbox.attachment(&id, &attachment).await.is_err(),
        "its file's bytes are gone from the vault"
    );
    let err = mailbox
        .answer(&id, sealpost_proto::SendMode::Reply)
        .unwrap_err();
    assert!(err.to_string().contains("withdrew"), "{err}");

    // Removing the line is this device's alone: nothing waits for the hub.
    assert!(mailbox.delete(&id).await.unwrap(), "gone for good");
    assert!(mailbox.vault.outbox().unwrap().is_empty());
    let left: Vec<String> = mailbox
        .vault
        .list(Folder::Inbox, 50, None)
        .unwrap()
        .into_iter()
        .map(|m| m.subject)
        .collect();
    assert_eq!(left, ["Kept"]);
    // A later sync does not bring it back.
    mailbox.syncer.sync().await.unwrap();
    assert_eq!(
        mailbox.vault.list(Folder::Inbox, 50, None).unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_running_sync_stops_when_two_step_sign_in_becomes_required_and_goes_on_once_it_is_on() {
    let mut hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = std::sync::Arc::new(client.registered(&hub, alice(), true).await);
    mailbox.syncer.sync().await.unwrap();

    let mailboxes = sealpost_client::Mailboxes::new(client.accounts());
    let (told, mut heard) = tokio::sync::mpsc::unbounded_channel();
    mailboxes.start_sync(
        mailbox.clone(),
        std::sync::Arc::new(move |_, event| {
            let _ = told.send(event.clone());
        }),
    );
    // The organisation starts requiring it while the app runs (hub.toml, a restart).
    hub.restart_with(|c| c.security.require_mfa = true).await;
    hub.org_send(&[alice()], "After the change", "b").await;
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Some(event) = heard.recv().await {
            if event == SyncEvent::MfaEnrolmentRequired {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(stopped, "the running sync says why it stopped, and stops");
    mailboxes.stop_sync(&mailbox.account.id);
    let err = mailbox.syncer.sync().await.unwrap_err();
    assert_eq!(err.code(), Code::MfaEnrolmentRequired, "{err}");

    // Turned on, the mail comes.
    let enrolment = mailbox.begin_mfa(GOOD_PASSWORD).await.unwrap();
    mailbox
        .confirm_mfa(&hub.authenticator_code(&enrolment.secret))
        .await
        .unwrap();
    mailbox.syncer.sync().await.unwrap();
    let inbox = mailbox.vault.list(Folder::Inbox, 50, None).unwrap();
    assert!(inbox.iter().any(|m| m.subject == "After the change"));
}
