//! No content, password or token at rest in the clear; the ciphertext is real age.

use std::{path::Path, process::Command};

use sealpost_hub::testing::store_of;

use crate::support::*;

const MARKER: &str = "ZEBRA-CROSSING-4471";

fn find_in_files(dir: &Path, needle: &str) -> Vec<String> {
    files_under(dir)
        .into_iter()
        .filter(|p| {
            let bytes = std::fs::read(p).unwrap();
            bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        })
        .map(|p| p.display().to_string())
        .collect()
}

#[tokio::test]
async fn no_file_of_the_hub_holds_content_passwords_or_tokens_in_the_clear() {
    let t = TestHub::start().await;
    let attach_dir = tempfile::tempdir().unwrap();
    let file = attach_dir.path().join(format!("{MARKER}-care-plan.txt"));
    std::fs::write(&file, format!("attachment body {MARKER} end")).unwrap();
    t.org_send_files(
        alice(),
        &format!("Subject {MARKER}"),
        &format!("Body {MARKER}"),
        &[file],
    )
    .await;
    t.registered(alice()).await;
    let (_, session) = t.sign_in(alice(), GOOD_PASSWORD, true).await;
    let reg_email = &t.emails_to(alice()).await[0];
    let reg_token = token_in(reg_email, "/register").unwrap();
    // Checkpoint the WAL into the database file too, so both forms are searched.
    t.hub.store().read(|_| Ok(())).await.unwrap();

    let data = t.data();
    assert_eq!(
        find_in_files(&data, MARKER),
        Vec::<String>::new(),
        "no content in the clear"
    );
    // The encrypted files, wherever they are kept (the folder above, or a bucket).
    let names = t.blob_names();
    assert!(!names.is_empty(), "the attachment is stored");
    for name in names {
        let bytes = t.read_blob(&name);
        assert!(
            !bytes.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
            "no content in the clear in {name}"
        );
    }
    assert_eq!(
        find_in_files(&data, GOOD_PASSWORD),
        Vec::<String>::new(),
        "no password"
    );
    for secret in [
        session["access_token"].as_str().unwrap(),
        session["refresh_token"].as_str().unwrap(),
    ] {
        assert_eq!(
            find_in_files(&data, secret),
            Vec::<String>::new(),
            "tokens only hashed"
        );
    }
    // The registration link is in the emailed .eml (by design: that is the email) but not
    // in the database or the queue.
    let hits = find_in_files(&data, &reg_token);
    assert!(
        hits.iter().all(|h| h.contains("/outbox/")),
        "the link token is only in the outgoing email: {hits:?}"
    );
}

#[tokio::test]
async fn the_master_key_is_private_and_blobs_decrypt_with_the_go_age_cli() {
    let t = TestHub::start().await;
    let data = t.data();
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(data.join("master.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode, 0o600, "master.key is readable by its owner only");

    let attach_dir = tempfile::tempdir().unwrap();
    let file = attach_dir.path().join("minutes.txt");
    let content = format!("minutes of the meeting {MARKER}\n").repeat(5000);
    std::fs::write(&file, &content).unwrap();
    t.org_send_files(alice(), "Minutes", "See attached", &[file])
        .await;

    type Row = (
        Vec<u8>,
        Vec<u8>,
        String,
        String,
        String,
        Vec<u8>,
        Vec<u8>,
        String,
    );
    let (wrapped, data_key, blob, mailbox, id, subject, v1, recipients): Row = {
        store_of(&data)
            .write_blocking(|tx| {
                tx.sql().query_row(
            "SELECT a.mailbox_key, a.data_key, t.blob, a.id, m.id, m.sealed_subject, m.sealed, \
             m.recipients FROM accounts a \
             JOIN messages m ON m.account_id = a.id JOIN attachments t ON t.message_id = m.id",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            },
        )
            })
            .unwrap()
    };
    assert!(v1.is_empty(), "a new message has no storage v1 content");
    assert_eq!(recipients, "{}", "recipients are not kept in the clear");
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("wrapped.age"), &wrapped).unwrap();
    std::fs::write(work.path().join("data_key.age"), &data_key).unwrap();

    let age = |args: &[&str]| {
        let out = Command::new("age")
            .args(args)
            .output()
            .expect("the Go age CLI is installed (make test installs Debian's `age`)");
        assert!(
            out.status.success(),
            "age {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let master = data.join("master.key");
    let mailbox_identity = age(&[
        "-d",
        "-i",
        master.to_str().unwrap(),
        work.path().join("wrapped.age").to_str().unwrap(),
    ]);
    assert!(
        mailbox_identity.starts_with(b"AGE-SECRET-KEY-1"),
        "the master key unwraps a mailbox key"
    );
    std::fs::write(work.path().join("mailbox.key"), &mailbox_identity).unwrap();
    let mailbox_key = work.path().join("mailbox.key");
    // The file as stored (in the blob folder or the bucket), handed to Go age as is.
    let stored = work.path().join("stored.age");
    std::fs::write(&stored, t.read_blob(&blob)).unwrap();
    let plain = age(&[
        "-d",
        "-i",
        mailbox_key.to_str().unwrap(),
        stored.to_str().unwrap(),
    ]);
    assert_eq!(
        plain,
        content.as_bytes(),
        "the attachment decrypts whole with Go age"
    );
    // The data key unwraps with Go age; libsodium (PyNaCl) opens the sealed subject as
    // docs/security.md describes the format: XChaCha20-Poly1305, 0x02 || nonce || sealed,
    // associated data "sealpost storage v2" then mailbox, row and field, each after its
    // length as 4 bytes big-endian.
    let data_key = age(&[
        "-d",
        "-i",
        master.to_str().unwrap(),
        work.path().join("data_key.age").to_str().unwrap(),
    ]);
    assert_eq!(data_key.len(), 32, "the data key is 256 bits");
    let script = r#"
import sys, struct, nacl.bindings as s
key, sealed, mailbox, row, field = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2]), *sys.argv[3:6]
assert sealed[0] == 2
ad = b"sealpost storage v2" + b"".join(struct.pack(">I", len(p.encode())) + p.encode() for p in (mailbox, row, field))
sys.stdout.write(s.crypto_aead_xchacha20poly1305_ietf_decrypt(sealed[25:], ad, sealed[1:25], key).decode())
"#;
    let opened = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .args([&hex(&data_key), &hex(&subject), &mailbox, &id])
        .arg("message.subject")
        .output()
        .expect("Debian's python3 with python3-nacl is installed (make test installs it)");
    assert!(
        opened.status.success(),
        "libsodium opens the sealed subject: {}",
        String::from_utf8_lossy(&opened.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&opened.stdout), "Minutes");

    let wrong = Command::new("age")
        .args([
            "-d",
            "-i",
            master.to_str().unwrap(),
            stored.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        !wrong.status.success(),
        "the master key alone does not open a mailbox's blobs"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file and folder under `dir` that group or others may use, with its mode.
fn not_private(dir: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut walk = vec![dir.to_owned()];
    while let Some(path) = walk.pop() {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        if mode & 0o077 != 0 {
            out.push(format!("{} {:o}", path.display(), mode & 0o777));
        }
        if path.is_dir() {
            walk.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
    }
    out
}

#[tokio::test]
async fn everything_under_the_data_directory_is_owner_only() {
    let t = TestHub::start().await;
    let attach_dir = tempfile::tempdir().unwrap();
    let file = attach_dir.path().join("care-plan.txt");
    std::fs::write(&file, "the plan").unwrap();
    t.org_send_files(alice(), "Plan", "Attached.", &[file])
        .await;
    let alice = t.user(alice()).await;
    alice.upload("reply.txt", b"answer".to_vec()).await;
    alice
        .post(
            "/messages",
            serde_json::json!({"mode": "new", "to": ["w@example.gov.uk"], "subject": "Hi"}),
        )
        .await;
    t.emails_to("w@example.gov.uk").await;
    assert_eq!(
        not_private(&t.data()),
        Vec::<String>::new(),
        "the database, hub.toml, blobs and emails (with their links) are the hub's alone"
    );
}

#[tokio::test]
async fn a_data_directory_made_before_is_made_owner_only_when_the_hub_opens() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestHub::start().await;
    t.org_send(&[alice()], "s", "b").await;
    t.emails_to(alice()).await;
    let data = t.data();
    for path in [data.clone(), data.join("blobs"), data.join("outbox")] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for path in [data.join("hub.toml"), data.join("hub.db")] {
        if !path.exists() {
            // A hub on PostgreSQL has no hub.db.
            continue;
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    drop(sealpost_hub::Hub::open(&data).unwrap());
    let left: Vec<String> = not_private(&data)
        .into_iter()
        .filter(|p| !p.contains("/outbox/") && !p.contains("/blobs/"))
        .collect();
    assert_eq!(
        left,
        Vec::<String>::new(),
        "the folder, its configuration and its database are tightened on opening"
    );
}
