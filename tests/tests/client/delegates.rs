//! A named delegate on their own computer: signing in as themselves brings the shared
//! mailbox beside their own, labelled with who they are there; once the owner removes
//! them, its copy (vault file and keyring entries) is gone at the next sync.

use sealpost_client::{Code, Mailboxes};
use sealpost_proto::Folder;
use sealpost_tests::*;

const SHARED: &str = "care.referrals@partner.example";

#[tokio::test]
async fn a_delegate_works_the_shared_mailbox_until_removed_and_then_its_copy_is_gone() {
    let hub = TestServer::start().await;
    hub.org_send(&[SHARED], "Referral 1", "Confidential referral")
        .await;
    let owner_computer = TestClient::new();
    let owner = owner_computer.registered(&hub, SHARED, false).await;
    let invited = owner
        .invite_delegate(alice(), "Alice Smith", false)
        .await
        .unwrap();
    assert!(!invited.joined);
    let token = hub.link_token(alice(), "/register").await;
    sealpost_client::hub::HubClient::new(&hub.url)
        .unwrap()
        .register(&token, GOOD_PASSWORD)
        .await
        .unwrap();

    // Alice signs in as herself on her computer: her own mailbox, and the shared one.
    let alices_computer = TestClient::new();
    let mailboxes = Mailboxes::new(alices_computer.accounts());
    let own = mailboxes
        .sign_in(&hub.url, alice(), GOOD_PASSWORD, true)
        .await
        .unwrap();
    assert_eq!(own.label(), alice());
    let list = mailboxes.accounts.list().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    let record = list.iter().find(|a| a.email == SHARED).unwrap().clone();
    assert_eq!(record.person.as_deref(), Some(alice()));
    let shared = mailboxes.get(&record.id).unwrap();
    assert_eq!(
        shared.label(),
        format!("{SHARED} — you are Alice Smith"),
        "labelled with who she is there"
    );
    let inbox = shared.vault.list(Folder::Inbox, 50, None).unwrap();
    assert_eq!(inbox.len(), 1, "the shared mailbox's mail was synced");
    assert_eq!(inbox[0].subject, "Referral 1");

    // Signing in again does not add it twice.
    mailboxes
        .sign_in(&hub.url, alice(), GOOD_PASSWORD, true)
        .await
        .unwrap();
    assert_eq!(mailboxes.accounts.list().unwrap().len(), 2);

    // Her session on it is her own: it can be locked and unlocked with her password.
    let vault_file = mailboxes.accounts.vault_path(&record.id);
    assert!(vault_file.exists());
    let before = alices_computer.keyring.names();
    assert!(
        before.iter().any(|n| n.contains(&record.id)),
        "its keyring entries: {before:?}"
    );

    // The owner removes her: at her next sync the copy goes, and her own mailbox stays.
    let people = owner.delegates().await.unwrap();
    assert!(people.can_manage);
    owner.remove_delegate(&people.items[0].id).await.unwrap();
    let err = mailboxes.resume(&record.id).await.unwrap_err();
    assert_eq!(err.code(), Code::AccessRemoved, "{err}");
    assert!(
        err.to_string().contains("no longer have access"),
        "told plainly: {err}"
    );
    assert!(!vault_file.exists(), "the vault file is deleted");
    let after = alices_computer.keyring.names();
    assert!(
        !after.iter().any(|n| n.contains(&record.id)),
        "its keyring entries are deleted: {after:?}"
    );
    let left = mailboxes.accounts.list().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].email, alice());
    assert!(
        mailboxes.resume(&left[0].id).await.is_ok(),
        "hers still works"
    );
}

#[tokio::test]
async fn a_running_sync_deletes_the_copy_when_access_ends() {
    let hub = TestServer::start().await;
    hub.org_send(&[SHARED], "Referral", "b").await;
    let owner = TestClient::new().registered(&hub, SHARED, false).await;
    owner
        .invite_delegate(alice(), "Alice Smith", true)
        .await
        .unwrap();
    let token = hub.link_token(alice(), "/register").await;
    sealpost_client::hub::HubClient::new(&hub.url)
        .unwrap()
        .register(&token, GOOD_PASSWORD)
        .await
        .unwrap();
    let computer = TestClient::new();
    let mailboxes = Mailboxes::new(computer.accounts());
    mailboxes
        .sign_in(&hub.url, alice(), GOOD_PASSWORD, false)
        .await
        .unwrap();
    let record = mailboxes
        .accounts
        .list()
        .unwrap()
        .into_iter()
        .find(|a| a.email == SHARED)
        .unwrap();
    let shared = mailboxes.get(&record.id).unwrap();
    let (told, mut heard) = tokio::sync::mpsc::unbounded_channel();
    mailboxes.start_sync(
        shared.clone(),
        std::sync::Arc::new(move |_, event| {
            let _ = told.send(event.clone());
        }),
    );
    let people = owner.delegates().await.unwrap();
    owner.remove_delegate(&people.items[0].id).await.unwrap();
    let removed = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Some(event) = heard.recv().await {
            if event == sealpost_client::sync::SyncEvent::AccessRemoved {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(removed, "the open sync hears of it");
    assert!(!mailboxes.accounts.vault_path(&record.id).exists());
    assert_eq!(mailboxes.accounts.list().unwrap().len(), 1);
}

/// The hub, the shared mailbox's owner, and Alice invited and registered.
async fn alice_invited(hub: &TestServer) -> sealpost_client::Mailbox {
    hub.org_send(&[SHARED], "Referral", "b").await;
    let owner = TestClient::new().registered(hub, SHARED, false).await;
    owner
        .invite_delegate(alice(), "Alice Smith", false)
        .await
        .unwrap();
    let token = hub.link_token(alice(), "/register").await;
    sealpost_client::hub::HubClient::new(&hub.url)
        .unwrap()
        .register(&token, GOOD_PASSWORD)
        .await
        .unwrap();
    owner
}

fn shared_record(mailboxes: &Mailboxes) -> sealpost_client::AccountRecord {
    mailboxes
        .accounts
        .list()
        .unwrap()
        .into_iter()
        .find(|a| a.email == SHARED)
        .unwrap()
}

#[tokio::test]
async fn a_delegate_signs_in_again_as_herself_and_her_mistakes_lock_only_her() {
    let hub = TestServer::start().await;
    let _owner = alice_invited(&hub).await;
    let computer = TestClient::new();
    let mailboxes = Mailboxes::new(computer.accounts());
    mailboxes
        .sign_in(&hub.url, alice(), GOOD_PASSWORD, false)
        .await
        .unwrap();
    let shared = shared_record(&mailboxes);
    mailboxes.sign_out(&shared.id, None).await.unwrap();
    assert!(!mailboxes.get(&shared.id).unwrap().hub.signed_in());

    // Signing in to her own mailbox opens the signed-out shared one again.
    mailboxes
        .sign_in(&hub.url, alice(), GOOD_PASSWORD, false)
        .await
        .unwrap();
    assert!(mailboxes.get(&shared.id).unwrap().hub.signed_in());
    mailboxes.sign_out(&shared.id, None).await.unwrap();

    // The sign-in screen of the shared mailbox takes her own address and password.
    for _ in 0..3 {
        let err = mailboxes
            .sign_in_to(Some(&shared.id), &hub.url, alice(), "not hers", None, false)
            .await
            .unwrap_err();
        assert_ne!(err.code(), Code::AccessRemoved);
    }
    let err = mailboxes
        .sign_in_to(
            Some(&shared.id),
            &hub.url,
            alice(),
            GOOD_PASSWORD,
            None,
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AccountLocked, "she is locked: {err}");
    // The mailbox's own sign-in is not.
    let owner_again = TestClient::new().signed_in(&hub, SHARED).await;
    assert!(owner_again.hub.signed_in());
    assert_eq!(
        mailboxes.accounts.list().unwrap().len(),
        2,
        "no record of the shared address was made for her own password"
    );
}

#[tokio::test]
async fn unlocking_a_removed_delegates_mailbox_deletes_its_copy() {
    let hub = TestServer::start().await;
    let owner = alice_invited(&hub).await;
    let computer = TestClient::new();
    let mailboxes = Mailboxes::new(computer.accounts());
    mailboxes
        .sign_in(&hub.url, alice(), GOOD_PASSWORD, true)
        .await
        .unwrap();
    let shared = shared_record(&mailboxes);
    mailboxes.lock_all(None).await.unwrap();
    let people = owner.delegates().await.unwrap();
    owner.remove_delegate(&people.items[0].id).await.unwrap();
    let err = mailboxes
        .unlock(&shared.id, GOOD_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::AccessRemoved, "{err}");
    assert!(!mailboxes.accounts.vault_path(&shared.id).exists());
    assert!(computer
        .keyring
        .names()
        .iter()
        .all(|n| !n.contains(&shared.id)));
}

#[tokio::test]
async fn a_vault_file_left_by_an_interrupted_removal_is_swept_at_the_next_start() {
    let computer = TestClient::new();
    let accounts = computer.accounts();
    let kept = accounts
        .add("http://127.0.0.1:9", "kept@partner.example")
        .unwrap();
    // A removal stopped after the keyring and the list (a crash, a file held open): its
    // vault files are left with no key and no record.
    let dir = accounts.dir().to_owned();
    for name in ["0123456789abcdef.vault", "0123456789abcdef.vault-wal"] {
        std::fs::write(dir.join(name), b"sealed bytes").unwrap();
    }
    assert_eq!(accounts.sweep().unwrap(), 1);
    assert!(!dir.join("0123456789abcdef.vault").exists());
    assert!(!dir.join("0123456789abcdef.vault-wal").exists());
    assert!(
        accounts.vault_path(&kept.id).exists(),
        "a listed vault stays"
    );
    assert_eq!(accounts.sweep().unwrap(), 0);
}
