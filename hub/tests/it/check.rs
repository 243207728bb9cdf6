//! What crashes leave is swept; `check` finds what does not add up and mends what it can.

use std::time::{Duration as StdDuration, SystemTime};

use chrono::Duration;
use sealpost_hub::Caller;

use crate::support::*;

/// A file in the blob folder as a crash mid-upload leaves it, `age` old. (A leftover is
/// old by its file's time, which a test can set on a file but not on an object in a
/// bucket: these tests run with the folder; listing and removing in a bucket are the
/// same calls, tested in `bucket`.)
fn stray_file(t: &TestHub, name: &str, age: StdDuration) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    // Named as the hub names its files (`<shard>/<id>.age`): nothing else is its own.
    let path = t
        .data()
        .join("blobs")
        .join(sealpost_hub::blobs::Blobs::name_for(
            name.trim_end_matches(".age"),
        ));
    let folder = path.parent().unwrap();
    std::fs::create_dir_all(folder).unwrap();
    std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(&path, vec![0u8; 4096]).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(SystemTime::now() - age)
        .unwrap();
    path
}

/// A pending mailbox as a crash between its creation and its first message leaves it.
fn empty_mailbox(t: &TestHub, email: &str) {
    let now = t.hub.now();
    t.hub
        .store()
        .write_blocking(|tx| {
            let keys = sealpost_hub::store::WrappedKeys {
                public: "age1nothing".into(),
                mailbox_key: b"nothing".to_vec(),
                data_key: b"nothing".to_vec(),
            };
            tx.insert_pending_account("acc_crashed", email, &keys, now)
        })
        .unwrap();
}

#[tokio::test]
async fn the_sweep_removes_what_crashes_left_and_only_that() {
    let t = TestHub::start().await;
    if t.hub.blobs().is_shared() {
        return; // See `stray_file`: a leftover's age cannot be set on an object.
    }
    t.org_send(&[alice()], "Kept", "A real message").await;
    let old = stray_file(&t, "upl_crashed.age", StdDuration::from_secs(7200));
    let young = stray_file(&t, "upl_under_way.age", StdDuration::from_secs(60));
    empty_mailbox(&t, "half@partner.example");
    t.advance(Duration::hours(2));
    let files_before = files_under(&t.data().join("blobs")).len();

    let dry = t.hub.purge(true, &Caller::cli()).await.unwrap();
    assert_eq!(
        (dry.leftovers.files, dry.leftovers.mailboxes),
        (1, 1),
        "{dry:?}"
    );
    assert!(old.exists(), "a dry run changes nothing");

    let done = t.hub.purge(false, &Caller::cli()).await.unwrap();
    assert_eq!((done.leftovers.files, done.leftovers.mailboxes), (1, 1));
    assert!(!old.exists(), "the file left by the crash is gone");
    assert!(
        young.exists(),
        "a file younger than an hour may be an upload under way"
    );
    assert_eq!(
        files_under(&t.data().join("blobs")).len(),
        files_before - 1,
        "nothing a message refers to was touched"
    );
    let users: Vec<String> = t
        .hub
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.email)
        .collect();
    assert_eq!(
        users,
        [alice()],
        "the empty pending mailbox is gone; alice's stays"
    );
    assert!(t
        .audit_events()
        .await
        .contains(&"mailbox_removed half@partner.example".to_owned()));
}

#[tokio::test]
async fn check_reports_what_does_not_add_up_and_repairs_what_it_can() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestHub::start().await;
    if t.hub.blobs().is_shared() {
        return; // See `stray_file`: a leftover's age cannot be set on an object.
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.txt");
    std::fs::write(&file, "the plan").unwrap();
    t.org_send_files(alice(), "With a file", "See the plan.", &[file])
        .await;
    stray_file(&t, "upl_crashed.age", StdDuration::from_secs(7200));
    empty_mailbox(&t, "half@partner.example");
    t.advance(Duration::hours(2));
    // A restore that lost one attachment file, and a file others can read.
    let attachment = files_under(&t.data().join("blobs"))
        .into_iter()
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("att_"))
        .unwrap();
    std::fs::remove_file(&attachment).unwrap();
    // Meanwhile, downloading it says the file is missing (not a fault).
    {
        let alice = t.user(alice()).await;
        let inbox = alice.folder("inbox").await;
        let message = inbox
            .iter()
            .find(|m| m["subject"] == "With a file")
            .unwrap();
        let (status, answer) = alice
            .get(&format!(
                "/messages/{}/attachments/{}",
                message["id"].as_str().unwrap(),
                message["attachments"][0]["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(status, 404, "{answer}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("missing on the hub"),
            "{answer}"
        );
    }
    std::fs::set_permissions(
        t.data().join("hub.toml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();

    let found = t.hub.check(false, &Caller::cli()).await.unwrap();
    assert_eq!(found.database, "ok");
    assert_eq!(found.orphan_files, 1);
    assert_eq!(found.lost_attachments.len(), 1, "{found:?}");
    assert_eq!(found.empty_mailboxes, ["half@partner.example"]);
    assert_eq!(found.not_private, ["hub.toml"]);
    assert_eq!(found.problems(), 4);

    let mended = t.hub.check(true, &Caller::cli()).await.unwrap();
    assert_eq!(mended.problems(), 0, "{mended:?}");
    let again = t.hub.check(false, &Caller::cli()).await.unwrap();
    assert_eq!(again.orphan_files, 0);
    assert!(again.empty_mailboxes.is_empty());
    assert!(again.not_private.is_empty());
    assert!(
        again.lost_attachments.is_empty(),
        "the lost file is forgotten"
    );
    assert_eq!(again.problems(), 0);
    // The message stays, without the attachment whose file was lost.
    let alice = t.signed_in(alice()).await;
    let inbox = alice.folder("inbox").await;
    let message = inbox
        .iter()
        .find(|m| m["subject"] == "With a file")
        .unwrap_or_else(|| panic!("{inbox:?}"));
    assert_eq!(message["attachments"], serde_json::json!([]), "{message}");
}
