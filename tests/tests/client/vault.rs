//! The vault at rest: nothing in the clear, an independent SQLCipher opens it with the key
//! from the keyring and nothing else; search; keys that go missing.

use std::process::Command;

use sealpost_client::{keyring::SecretStore, Code};
use sealpost_proto::Folder;
use sealpost_tests::*;

const MARKER: &str = "PELICAN-MARKER-8832";

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn nothing_synced_is_in_the_clear_and_sqlcipher3_opens_the_vault_with_the_keyring_key() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join(format!("{MARKER}.txt"));
    std::fs::write(&file, format!("attachment {MARKER}")).unwrap();
    hub.org_send_files(
        alice(),
        &format!("Subject {MARKER}"),
        &format!("Body {MARKER}"),
        &[file],
    )
    .await;
    let mailbox = client.registered(&hub, alice(), true).await;
    mailbox.syncer.sync().await.unwrap();
    let message = mailbox
        .vault
        .list(Folder::Inbox, 50, None)
        .unwrap()
        .into_iter()
        .find(|m| m.subject.contains(MARKER))
        .unwrap();
    let att = &message.attachments[0];
    let bytes = mailbox.attachment(&message.id, &att.id).await.unwrap();
    assert_eq!(
        bytes,
        format!("attachment {MARKER}").as_bytes(),
        "downloaded and cached"
    );
    let path = mailbox.vault.path().to_owned();
    let id = mailbox.account.id.clone();
    drop(mailbox);

    for f in files_under(client.dir.path()) {
        let content = std::fs::read(&f).unwrap();
        assert!(
            !content
                .windows(MARKER.len())
                .any(|w| w == MARKER.as_bytes()),
            "{} holds the marker",
            f.display()
        );
        assert!(
            !content
                .windows(GOOD_PASSWORD.len())
                .any(|w| w == GOOD_PASSWORD.as_bytes()),
            "{} holds the password",
            f.display()
        );
    }

    let key = client
        .keyring
        .load(&sealpost_client::keyring::vault_key_name(&id))
        .unwrap()
        .unwrap();
    let script = r#"
import sys, sqlcipher3
db = sqlcipher3.connect(sys.argv[1])
db.execute("PRAGMA key = \"x'%s'\"" % sys.argv[2])
print(db.execute("SELECT subject FROM messages WHERE subject LIKE 'Subject %'").fetchone()[0])
"#;
    let out = Command::new("python3")
        .args(["-c", script, path.to_str().unwrap(), key.expose()])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "sqlcipher3 opens the vault: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("Subject {MARKER}")
    );
    let wrong = Command::new("python3")
        .args(["-c", script, path.to_str().unwrap(), &"00".repeat(32)])
        .output()
        .unwrap();
    assert!(!wrong.status.success(), "and nothing else opens it");
}

#[tokio::test]
async fn search_finds_by_subject_body_sender_and_attachment_name() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("minutes-of-the-board.pdf");
    std::fs::write(&file, "x").unwrap();
    hub.org_send(
        &[alice()],
        "Referral for Mrs Jones",
        "Please confirm the visit date",
    )
    .await;
    hub.org_send_files(alice(), "Board", "See the file", &[file])
        .await;
    let mailbox = client.registered(&hub, alice(), false).await;
    mailbox.syncer.sync().await.unwrap();
    let subjects = |q: &str| -> Vec<String> {
        mailbox
            .vault
            .search(q, 20)
            .unwrap()
            .into_iter()
            .map(|h| h.message.subject)
            .collect()
    };
    assert_eq!(
        subjects("jones"),
        ["Referral for Mrs Jones"],
        "subject, any case"
    );
    assert_eq!(
        subjects("visit conf"),
        ["Referral for Mrs Jones"],
        "body words, prefixes"
    );
    assert_eq!(subjects("minutes"), ["Board"], "attachment names");
    assert_eq!(subjects("case.worker").len(), 2, "sender");
    assert!(
        subjects("\"unbalanced OR").is_empty(),
        "odd input is harmless"
    );
    let hit = &mailbox.vault.search("visit", 5).unwrap()[0];
    assert!(hit.excerpt.contains("[visit]"), "{}", hit.excerpt);
}

#[tokio::test]
async fn a_missing_vault_key_is_a_clear_error_and_no_new_key_is_made() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let id = mailbox.account.id.clone();
    let path = mailbox.vault.path().to_owned();
    drop(mailbox);
    let before = std::fs::read(&path).unwrap();
    client
        .keyring
        .delete(&sealpost_client::keyring::vault_key_name(&id))
        .unwrap();
    let err = client
        .accounts()
        .open(&id)
        .expect_err("cannot open without the key");
    assert_eq!(err.code(), Code::Vault);
    assert!(
        err.to_string().contains("not in the system keyring"),
        "{err}"
    );
    assert!(
        client
            .keyring
            .load(&sealpost_client::keyring::vault_key_name(&id))
            .unwrap()
            .is_none(),
        "no key was invented"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the vault is untouched"
    );
}

#[tokio::test]
async fn remember_me_keeps_a_device_signed_in_and_sign_out_forgets_it() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), true).await;
    assert!(
        mailbox.remembered().unwrap(),
        "the refresh token is in the keyring"
    );
    let id = mailbox.account.id.clone();
    drop(mailbox);
    hub.advance(chrono::Duration::hours(2)); // the access token is long gone

    let reopened = client.accounts().open(&id).unwrap();
    reopened
        .syncer
        .sync()
        .await
        .expect("syncs without the password");
    reopened.sign_out(None).await.unwrap();
    assert!(
        !reopened.remembered().unwrap(),
        "sign-out deletes the keyring entry"
    );
    let again = client.accounts().open(&id).unwrap();
    let err = again.syncer.sync().await.unwrap_err();
    assert_eq!(err.code(), Code::SignInRequired);
}

#[tokio::test]
async fn accounts_side_by_side_keep_separate_vaults() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let a = client.registered(&hub, alice(), false).await;
    let b = client.registered(&hub, bob(), false).await;
    hub.org_send(&[bob()], "Only for Bob", "b").await;
    a.syncer.sync().await.unwrap();
    b.syncer.sync().await.unwrap();
    assert_eq!(a.vault.list(Folder::Inbox, 50, None).unwrap().len(), 1);
    assert_eq!(b.vault.list(Folder::Inbox, 50, None).unwrap().len(), 2);
    assert_ne!(a.vault.path(), b.vault.path());
    let listed: Vec<String> = client
        .accounts()
        .list()
        .unwrap()
        .into_iter()
        .map(|r| r.email)
        .collect();
    assert_eq!(listed, [alice(), bob()]);
    client.accounts().remove(&a.account.id).unwrap();
    assert!(
        !a.vault.path().exists(),
        "removing an account removes its vault"
    );
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap()
}

#[tokio::test]
async fn a_large_attachment_is_kept_and_saved_without_holding_it_in_memory() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let files = tempfile::tempdir().unwrap();
    let big = files.path().join("scan.tiff");
    let bytes: Vec<u8> = (0..40_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(&big, &bytes).unwrap();
    hub.org_send_files(alice(), "Scan", "b", &[big]).await;
    let mailbox = client.registered(&hub, alice(), false).await;
    mailbox.syncer.sync().await.unwrap();
    let m = mailbox
        .vault
        .list(Folder::Inbox, 5, None)
        .unwrap()
        .into_iter()
        .find(|m| m.subject == "Scan")
        .unwrap();
    let before = rss_kib();
    let saved = files.path().join("saved.tiff");
    let written = mailbox
        .save_attachment(&m.id, &m.attachments[0].id, &saved, false)
        .await
        .unwrap();
    let grown_mib = rss_kib().saturating_sub(before) / 1024;
    assert_eq!(written, 40_000_000);
    assert!(
        std::fs::read(&saved).unwrap() == bytes,
        "every byte arrives, in order"
    );
    // The vault's page cache (64 MiB at most) fills as chunks are written. Holding the
    // file in memory too (the download buffer plus its copy into the vault, as the first
    // version did) would add 80 MB on top.
    assert!(
        grown_mib < 64,
        "a 40 MB download grew memory by {grown_mib} MiB"
    );
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_the_client() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    mailbox.hub.request_reset(alice()).await.unwrap();
    let token = hub.link_token(alice(), "/reset").await;
    let err = mailbox
        .hub
        .confirm_reset(&token, "password")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::WeakPassword, "the rules apply: {err}");
    mailbox
        .hub
        .confirm_reset(&token, "violet harbour lantern cedar")
        .await
        .unwrap();
    let err = mailbox.sign_in(GOOD_PASSWORD, false).await.unwrap_err();
    assert_eq!(
        err.code(),
        Code::InvalidCredentials,
        "the old password is gone"
    );
    mailbox
        .sign_in("violet harbour lantern cedar", false)
        .await
        .unwrap();
    let err = mailbox
        .hub
        .confirm_reset(&token, "another fine passphrase")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidLink, "the link worked once");
}

#[tokio::test]
async fn the_folder_of_the_vaults_is_this_users_alone() {
    use std::os::unix::fs::PermissionsExt;
    let hub = TestServer::start().await;
    let client = TestClient::new();
    client.registered(&hub, alice(), false).await;
    let dir = client.dir.path().join("data");
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode, 0o700,
        "no one else lists which mailboxes and hubs are here"
    );
}
