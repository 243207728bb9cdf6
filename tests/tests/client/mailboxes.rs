//! The desktop's and the terminal client's journeys through `Mailboxes`, without a window:
//! what a failed first sign-in leaves, registration from a link, lock and sign-out.

use sealpost_client::{Code, Compose, Mailboxes};
use sealpost_proto::SendMode;
use sealpost_tests::*;

/// Registers `email` at the hub (through its API) and returns the link's token.
async fn registered_at_hub(hub: &TestServer, email: &str) {
    hub.org_send(&[email], "Welcome", "First message").await;
    let token = hub.link_token(email, "/register").await;
    sealpost_client::hub::HubClient::new(&hub.url)
        .unwrap()
        .register(&token, GOOD_PASSWORD)
        .await
        .unwrap();
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn a_failed_first_sign_in_leaves_no_account_keyring_entry_or_vault() {
    let hub = TestServer::start().await;
    registered_at_hub(&hub, alice()).await;
    let client = TestClient::new();
    let mailboxes = Mailboxes::new(client.accounts());
    let data = client.dir.path().join("data");

    let err = mailboxes
        .sign_in(&hub.url, alice(), "not the password at all", true)
        .await
        .expect_err("a wrong password is refused");
    assert_eq!(err.code(), Code::InvalidCredentials);
    assert!(
        mailboxes.accounts.list().unwrap().is_empty(),
        "no account is left for a sign-in that failed"
    );
    assert!(
        client.keyring.names().is_empty(),
        "no keyring entry is left: {:?}",
        client.keyring.names()
    );
    assert!(
        !files_in(&data).iter().any(|f| f.contains(".vault")),
        "no vault file is left: {:?}",
        files_in(&data)
    );

    let mailbox = mailboxes
        .sign_in(&hub.url, alice(), GOOD_PASSWORD, false)
        .await
        .expect("the right password signs in");
    assert_eq!(
        mailbox
            .vault
            .list(sealpost_proto::Folder::Inbox, 10, None)
            .unwrap()
            .len(),
        1,
        "signing in syncs the inbox"
    );
    let err = mailboxes
        .sign_in(&hub.url, alice(), "not the password at all", false)
        .await
        .expect_err("wrong again");
    assert_eq!(err.code(), Code::InvalidCredentials);
    assert_eq!(
        mailboxes.accounts.list().unwrap().len(),
        1,
        "a known mailbox is kept when a later sign-in fails"
    );
}

#[tokio::test]
async fn an_unknown_hub_leaves_nothing_behind_either() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let client = TestClient::new();
    let mailboxes = Mailboxes::new(client.accounts());
    let err = mailboxes
        .sign_in(&url, alice(), GOOD_PASSWORD, false)
        .await
        .expect_err("nothing answers");
    assert_eq!(err.code(), Code::Offline);
    assert!(mailboxes.accounts.list().unwrap().is_empty());
    assert!(client.keyring.names().is_empty());
}

#[tokio::test]
async fn a_link_registers_and_signs_in_and_a_reset_link_is_not_taken_for_one() {
    let hub = TestServer::start().await;
    hub.org_send(&[alice()], "Welcome", "First message").await;
    let token = hub.link_token(alice(), "/register").await;
    let link = format!("{}/register?token={token}", hub.url);
    let client = TestClient::new();
    let mailboxes = Mailboxes::new(client.accounts());

    let reset = format!("{}/reset?token={token}", hub.url);
    let err = mailboxes
        .register(&reset, GOOD_PASSWORD)
        .await
        .expect_err("a reset link does not register");
    assert_eq!(err.code(), Code::InvalidLink);

    let mailbox = mailboxes
        .register_and_sign_in(&link, GOOD_PASSWORD, false)
        .await
        .expect("registered, signed in and synced");
    assert_eq!(mailbox.account.email, alice());
    assert!(mailbox.hub.signed_in());
    let err = mailboxes
        .confirm_reset(&link, GOOD_PASSWORD)
        .await
        .expect_err("a registration link resets nothing");
    assert_eq!(err.code(), Code::InvalidLink);
}

#[tokio::test]
async fn locking_all_keeps_the_compose_of_its_mailbox_and_sign_out_ends_the_session() {
    let hub = TestServer::start().await;
    registered_at_hub(&hub, alice()).await;
    let client = TestClient::new();
    let mailboxes = Mailboxes::new(client.accounts());
    let mailbox = mailboxes
        .sign_in(&hub.url, alice(), GOOD_PASSWORD, false)
        .await
        .unwrap();
    let id = mailbox.account.id.clone();
    let compose = Compose {
        mode: SendMode::New,
        to: vec!["worker@example.gov.uk".into()],
        subject: "Half written".into(),
        ..Default::default()
    };
    assert!(
        mailboxes.lock_all(Some((&id, compose))).await.unwrap(),
        "a draft was saved"
    );
    assert!(mailbox.is_locked());
    assert_eq!(mailbox.composes().unwrap()[0].subject, "Half written");
    mailboxes.unlock(&id, GOOD_PASSWORD).await.unwrap();
    assert!(!mailbox.is_locked());

    mailboxes.sign_out(&id, None).await.unwrap();
    assert!(!mailbox.hub.signed_in(), "signed out here");
    mailboxes.remove(&id).await.unwrap();
    assert!(mailboxes.accounts.list().unwrap().is_empty());
    assert!(
        client.keyring.names().is_empty(),
        "{:?}",
        client.keyring.names()
    );
}

#[tokio::test]
async fn an_opened_attachment_is_a_private_copy_gone_at_lock_and_sign_out() {
    use std::os::unix::fs::PermissionsExt;
    let hub = TestServer::start().await;
    registered_at_hub(&hub, alice()).await;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        dir.path().join("care-plan.txt"),
        dir.path().join("notes.txt"),
    );
    std::fs::write(&a, "the plan").unwrap();
    std::fs::write(&b, "the notes").unwrap();
    hub.org_send_files(alice(), "Two files", "Both attached.", &[a, b])
        .await;
    let client = TestClient::new();
    let mailboxes = Mailboxes::new(client.accounts());
    let mailbox = mailboxes
        .sign_in(&hub.url, alice(), GOOD_PASSWORD, false)
        .await
        .unwrap();
    let id = mailbox.account.id.clone();
    let message = mailbox
        .vault
        .list(sealpost_proto::Folder::Inbox, 10, None)
        .unwrap()
        .into_iter()
        .find(|m| m.subject == "Two files")
        .expect("synced at sign-in");

    let copy = mailbox
        .copy_for_opening(&message.id, &message.attachments[0].id, &mailboxes.opened)
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), "the plan");
    assert_eq!(
        copy.file_name().unwrap(),
        "care-plan.txt",
        "under its own name"
    );
    assert!(
        copy.starts_with(mailboxes.opened.root()),
        "in the private folder only"
    );
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&copy), 0o400, "read-only, the user's alone");
    let mut folder = copy.parent();
    while let Some(f) = folder.filter(|f| f.starts_with(mailboxes.opened.root())) {
        assert_eq!(mode(f), 0o700, "{} is the user's alone", f.display());
        folder = f.parent();
    }
    let again = mailbox
        .copy_for_opening(&message.id, &message.attachments[0].id, &mailboxes.opened)
        .await
        .unwrap();
    assert_ne!(copy, again, "a second opening has its own copy");

    mailboxes.lock_all(None).await.unwrap();
    assert!(
        !mailboxes.opened.root().exists(),
        "locking removes every opened copy"
    );
    mailboxes.unlock(&id, GOOD_PASSWORD).await.unwrap();
    let copy = mailbox
        .copy_for_opening(&message.id, &message.attachments[1].id, &mailboxes.opened)
        .await
        .unwrap();
    mailboxes.sign_out(&id, None).await.unwrap();
    assert!(!copy.exists(), "signing out removes the mailbox's copies");

    // Save all: into a folder chosen once, nothing there replaced.
    let to = tempfile::tempdir().unwrap();
    std::fs::write(to.path().join("notes.txt"), "mine").unwrap();
    let saved = mailbox
        .save_all_attachments(&message.id, to.path())
        .await
        .expect("cached attachments save while signed out");
    let names: Vec<_> = saved
        .iter()
        .map(|s| s.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["care-plan.txt", "notes (2).txt"],
        "a taken name gets a number"
    );
    assert_eq!(
        std::fs::read_to_string(to.path().join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read_to_string(to.path().join("notes (2).txt")).unwrap(),
        "the notes"
    );
    assert_eq!(saved[1].bytes, 9);
}
