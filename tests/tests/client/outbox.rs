//! Sending from the client: policy before upload, attachments, offline queue, drafts.

use sealpost_client::{outbox::SendOutcome, Code};
use sealpost_proto::{Folder, Outgoing, SendMode};
use sealpost_tests::*;

fn to_org(subject: &str) -> Outgoing {
    Outgoing {
        mode: SendMode::New,
        to: vec!["worker@example.gov.uk".into()],
        subject: subject.into(),
        body_text: "Hello".into(),
        ..Default::default()
    }
}

fn blob_count(hub: &TestServer) -> usize {
    fn walk(d: &std::path::Path) -> usize {
        std::fs::read_dir(d)
            .map(|r| {
                r.map(|e| {
                    let p = e.unwrap().path();
                    if p.is_dir() {
                        walk(&p)
                    } else {
                        1
                    }
                })
                .sum()
            })
            .unwrap_or(0)
    }
    walk(&hub.data().join("blobs"))
}

#[tokio::test]
async fn a_message_with_two_attachments_reaches_the_organisation_and_sent() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    mailbox.syncer.sync().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("form.pdf");
    let b = dir.path().join("notes.txt");
    std::fs::write(&a, vec![7u8; 300_000]).unwrap();
    std::fs::write(&b, "notes").unwrap();
    let outcome = mailbox.send(to_org("Two files"), &[a, b]).await.unwrap();
    let SendOutcome::Sent { message } = outcome else {
        panic!("online: sent at once, got {outcome:?}")
    };
    let names: Vec<&str> = message
        .attachments
        .iter()
        .map(|x| x.name.as_str())
        .collect();
    assert_eq!(names, ["form.pdf", "notes.txt"]);
    let sent = mailbox.vault.list(Folder::Sent, 10, None).unwrap();
    assert_eq!(
        sent[0].subject, "Two files",
        "the Sent copy is in the vault"
    );
    let email = hub.emails_to("worker@example.gov.uk").await.pop().unwrap();
    assert!(email.contains("form.pdf") && email.contains("notes.txt"));
    assert!(
        mailbox.vault.outbox().unwrap().is_empty(),
        "nothing left waiting"
    );
}

#[tokio::test]
async fn an_outside_recipient_is_refused_before_anything_is_uploaded() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.pdf");
    std::fs::write(&file, vec![1u8; 100_000]).unwrap();
    let mut out = to_org("Leak");
    out.cc = vec!["friend@gmail.example".into()];
    let before = blob_count(&hub);
    let err = mailbox.send(out, &[file]).await.unwrap_err();
    assert_eq!(err.code(), Code::RecipientNotAllowed);
    assert!(
        err.to_string()
            .contains("Remove: friend@gmail.example. Nothing was sent."),
        "{err}"
    );
    assert_eq!(blob_count(&hub), before, "nothing reached the hub");
    assert!(mailbox.vault.outbox().unwrap().is_empty(), "nothing queued");

    let eleven: Vec<_> = (0..11)
        .map(|i| {
            let p = dir.path().join(format!("f{i}.txt"));
            std::fs::write(&p, "x").unwrap();
            p
        })
        .collect();
    let err = mailbox.send(to_org("Too many"), &eleven).await.unwrap_err();
    assert_eq!(err.code(), Code::AttachmentLimit, "{err}");
}

#[tokio::test]
async fn offline_sends_wait_in_the_outbox_and_leave_in_order_once_each() {
    let mut hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    mailbox.syncer.sync().await.unwrap();
    hub.go_offline().await;
    for subject in ["First", "Second"] {
        let outcome = mailbox.send(to_org(subject), &[]).await.unwrap();
        assert!(matches!(outcome, SendOutcome::Queued { .. }), "{outcome:?}");
    }
    let waiting = mailbox.vault.outbox().unwrap();
    assert_eq!(waiting.len(), 2, "both wait, visibly");
    assert!(waiting.iter().all(|i| i.status == "queued"));

    hub.come_back().await;
    let report = mailbox.flush_outbox().await.unwrap();
    let subjects: Vec<&str> = report.sent.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(subjects, ["First", "Second"], "in the order written");
    assert!(mailbox.vault.outbox().unwrap().is_empty());
    let again = mailbox.flush_outbox().await.unwrap();
    assert!(again.sent.is_empty(), "nothing goes twice");
    let emails = hub.emails_to("worker@example.gov.uk").await;
    assert_eq!(emails.len(), 2, "one email each");
}

#[tokio::test]
async fn drafts_save_at_the_hub_or_wait_offline() {
    let mut hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let mut draft = to_org("Half done");
    draft.to = vec!["not finished".into()];
    let SendOutcome::Sent { message } = mailbox.save_draft(draft.clone(), None, &[]).await.unwrap()
    else {
        panic!("online drafts save at once")
    };
    assert_eq!(
        mailbox.vault.list(Folder::Drafts, 10, None).unwrap()[0].id,
        message.id
    );

    hub.go_offline().await;
    draft.subject = "Edited offline".into();
    let outcome = mailbox
        .save_draft(draft, Some(&message.id), &[])
        .await
        .unwrap();
    assert!(matches!(outcome, SendOutcome::Queued { .. }));
    hub.come_back().await;
    mailbox.flush_outbox().await.unwrap();
    let drafts = mailbox.vault.list(Folder::Drafts, 10, None).unwrap();
    assert_eq!(
        (drafts.len(), drafts[0].subject.as_str()),
        (1, "Edited offline"),
        "the same draft, updated"
    );
}

#[tokio::test]
async fn uploads_and_downloads_report_progress() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let seen: std::sync::Arc<std::sync::Mutex<Vec<(String, u64, u64)>>> = Default::default();
    let record = seen.clone();
    mailbox.set_progress(Some(std::sync::Arc::new(move |name: &str, done, total| {
        record.lock().unwrap().push((name.to_owned(), done, total));
    })));
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("scan.pdf");
    std::fs::write(&big, vec![5u8; 1_000_000]).unwrap();
    let SendOutcome::Sent { message } = mailbox.send(to_org("Scan"), &[big]).await.unwrap() else {
        panic!()
    };
    let uploads: Vec<_> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|(n, _, _)| n == "scan.pdf")
        .cloned()
        .collect();
    assert!(
        uploads.len() >= 4,
        "several steps for a 1 MB upload: {}",
        uploads.len()
    );
    assert_eq!(
        uploads.last().unwrap().1,
        1_000_000,
        "ends at the whole size"
    );
    assert!(
        uploads.windows(2).all(|w| w[0].1 <= w[1].1),
        "never goes backwards"
    );

    seen.lock().unwrap().clear();
    let att = &message.attachments[0];
    mailbox.attachment(&message.id, &att.id).await.unwrap();
    let downloads = seen.lock().unwrap().clone();
    assert_eq!(
        downloads.last().map(|d| (d.1, d.2)),
        Some((1_000_000, 1_000_000)),
        "download progress reaches the end"
    );
}

#[tokio::test]
async fn read_flags_and_deletions_made_offline_reach_the_hub_later() {
    let mut hub = TestServer::start().await;
    let client = TestClient::new();
    hub.org_send(&[alice()], "One", "b").await;
    hub.advance(chrono::Duration::minutes(1));
    hub.org_send(&[alice()], "Two", "b").await;
    let mailbox = client.registered(&hub, alice(), false).await;
    mailbox.syncer.sync().await.unwrap();
    let inbox = mailbox.vault.list(Folder::Inbox, 10, None).unwrap();
    let (two, one) = (inbox[0].id.clone(), inbox[1].id.clone());

    hub.go_offline().await;
    mailbox
        .mark_read(&two, true)
        .await
        .expect("offline is not an error");
    mailbox.delete(&one).await.expect("offline is not an error");
    let now: Vec<(String, bool)> = mailbox
        .vault
        .list(Folder::Inbox, 10, None)
        .unwrap()
        .into_iter()
        .map(|m| (m.subject, m.read))
        .collect();
    assert_eq!(
        now,
        [("Two".to_owned(), true)],
        "the vault shows both changes at once"
    );
    assert_eq!(
        mailbox.vault.outbox().unwrap().len(),
        2,
        "and both wait for the hub"
    );

    hub.come_back().await;
    let report = mailbox.flush_outbox().await.unwrap();
    assert_eq!(report.changes, 2);
    // A second device sees what the first did offline.
    let other = TestClient::new();
    let second = other.signed_in(&hub, alice()).await;
    second.syncer.sync().await.unwrap();
    let there: Vec<(String, bool)> = second
        .vault
        .list(Folder::Inbox, 10, None)
        .unwrap()
        .into_iter()
        .map(|m| (m.subject, m.read))
        .collect();
    assert_eq!(there, [("Two".to_owned(), true)]);
}

#[tokio::test]
async fn delete_moves_to_deleted_offline_too_undo_brings_it_back_and_emptying_ends_it() {
    let mut hub = TestServer::start().await;
    let client = TestClient::new();
    hub.org_send(&[alice()], "Referral", "b").await;
    let mailbox = client.registered(&hub, alice(), false).await;
    mailbox.syncer.sync().await.unwrap();
    let subjects = |folder: Folder, m: &sealpost_client::Mailbox| -> Vec<String> {
        let mut s: Vec<String> = m
            .vault
            .list(folder, 10, None)
            .unwrap()
            .into_iter()
            .map(|m| m.subject)
            .collect();
        s.sort();
        s
    };
    let id = mailbox
        .vault
        .list(Folder::Inbox, 10, None)
        .unwrap()
        .into_iter()
        .find(|m| m.subject == "Referral")
        .unwrap()
        .id;

    hub.go_offline().await;
    let for_good = mailbox.delete(&id).await.expect("offline is not an error");
    assert!(!for_good, "from the inbox, Delete moves to Deleted");
    assert_eq!(subjects(Folder::Deleted, &mailbox), ["Referral"]);
    assert!(!subjects(Folder::Inbox, &mailbox).contains(&"Referral".to_owned()));
    let deleted = mailbox.vault.message(&id).unwrap().summary;
    assert_eq!(
        deleted.deleted_from,
        Some(Folder::Inbox),
        "it knows where it came from"
    );
    mailbox.restore(&id).await.expect("offline is not an error");
    assert!(
        subjects(Folder::Inbox, &mailbox).contains(&"Referral".to_owned()),
        "Undo"
    );
    mailbox.delete(&id).await.unwrap();
    hub.come_back().await;
    assert_eq!(mailbox.flush_outbox().await.unwrap().changes, 3);

    // Another device of the same mailbox sees it in Deleted.
    let other = TestClient::new();
    let second = other.signed_in(&hub, alice()).await;
    second.syncer.sync().await.unwrap();
    assert_eq!(subjects(Folder::Deleted, &second), ["Referral"]);
    assert_eq!(
        second.vault.unread_count().unwrap(),
        0,
        "the unread message in Deleted is not counted unread"
    );

    assert_eq!(mailbox.empty_deleted().await.unwrap(), 1);
    assert!(subjects(Folder::Deleted, &mailbox).is_empty());
    second.syncer.sync().await.unwrap();
    assert!(
        subjects(Folder::Deleted, &second).is_empty(),
        "emptied on every device"
    );
    assert!(
        matches!(
            mailbox.vault.message(&id),
            Err(sealpost_client::ClientError::NotFound(_))
        ),
        "gone for good"
    );
}

#[tokio::test]
async fn a_message_to_a_group_alone_is_sent_to_its_members() {
    use sealpost_proto::{ContactInput, GroupInput};
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let ann = mailbox
        .save_contact(
            None,
            &ContactInput {
                name: "Ann".into(),
                email: "ann@example.gov.uk".into(),
            },
        )
        .await
        .unwrap();
    let group = mailbox
        .save_group(
            None,
            &GroupInput {
                name: "Care team".into(),
                contact_ids: vec![ann.id],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        mailbox.vault.groups().unwrap().len(),
        1,
        "the group synced to the vault"
    );
    let mut out = to_org("To the team");
    out.to.clear();
    out.to_groups = vec![group.id];
    let outcome = mailbox.send(out, &[]).await.unwrap();
    assert!(
        matches!(outcome, SendOutcome::Sent { .. }),
        "a group counts as a recipient: {outcome:?}"
    );
    let email = hub.emails_to("ann@example.gov.uk").await.pop();
    assert!(
        email.is_some_and(|e| e.contains("To the team")),
        "the group's member is emailed"
    );
}

#[tokio::test]
async fn an_item_the_hub_refuses_as_too_large_does_not_hold_up_the_others() {
    let mut hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    hub.go_offline().await;
    // A body over the hub's 2 MB request limit: refused (413), not "try later".
    let mut huge = to_org("Too long");
    huge.body_text = "x".repeat(2_500_000);
    let outcome = mailbox.send(huge, &[]).await.unwrap();
    assert!(matches!(outcome, SendOutcome::Queued { .. }), "{outcome:?}");
    mailbox.send(to_org("Behind it"), &[]).await.unwrap();

    hub.come_back().await;
    let report = mailbox.flush_outbox().await.unwrap();
    let subjects: Vec<&str> = report.sent.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(subjects, ["Behind it"], "the next item still leaves");
    let left = mailbox.vault.outbox().unwrap();
    assert_eq!(left.len(), 1, "the refused one stays, visibly");
    assert_eq!(left[0].status, "failed", "{left:?}");
    assert!(
        left[0].last_error.contains("2 MB"),
        "saying why: {}",
        left[0].last_error
    );
}

#[tokio::test]
async fn a_reply_sent_offline_marks_the_original_at_once_and_the_hub_keeps_it() {
    let mut hub = TestServer::start().await;
    let client = TestClient::new();
    hub.org_send(&[alice()], "Case", "b").await;
    let mailbox = client.registered(&hub, alice(), false).await;
    mailbox.syncer.sync().await.unwrap();
    let original = mailbox.vault.list(Folder::Inbox, 10, None).unwrap()[0].clone();
    assert!(!original.replied);

    hub.go_offline().await;
    let reply = Outgoing {
        mode: SendMode::Reply,
        in_reply_to: Some(original.id.clone()),
        body_text: "Thanks".into(),
        ..Default::default()
    };
    let outcome = mailbox.send(reply, &[]).await.unwrap();
    assert!(
        matches!(outcome, SendOutcome::Queued { .. }),
        "offline it waits"
    );
    assert!(
        mailbox.vault.message(&original.id).unwrap().summary.replied,
        "the original says it was answered at once"
    );
    // Another device changes the original meanwhile (marks it unread): the hub's update,
    // which knows nothing of the reply yet, does not take the mark away while the reply
    // still waits here.
    hub.come_back().await;
    let other = TestClient::new();
    let second = other.signed_in(&hub, alice()).await;
    second.syncer.sync().await.unwrap();
    second.mark_read(&original.id, false).await.unwrap();
    mailbox.syncer.sync().await.unwrap();
    let here = mailbox.vault.message(&original.id).unwrap().summary;
    assert!(!here.read, "the other device's change arrived");
    assert!(here.replied, "and the waiting reply still marks it");
    mailbox.flush_outbox().await.unwrap();
    mailbox.syncer.sync().await.unwrap();
    assert!(mailbox.vault.message(&original.id).unwrap().summary.replied);

    second.syncer.sync().await.unwrap();
    let there = second.vault.message(&original.id).unwrap().summary;
    assert!(
        there.replied && !there.forwarded,
        "another device sees it answered, not forwarded"
    );
}

#[tokio::test]
async fn a_sync_before_the_outbox_leaves_does_not_undo_what_was_done_offline() {
    let mut hub = TestServer::start().await;
    let client = TestClient::new();
    hub.org_send(&[alice()], "Moved", "b").await;
    hub.advance(chrono::Duration::minutes(1));
    hub.org_send(&[alice()], "Gone", "b").await;
    let mailbox = client.registered(&hub, alice(), false).await;
    mailbox.syncer.sync().await.unwrap();
    let id_of = |subject: &str| {
        mailbox
            .vault
            .list(Folder::Inbox, 10, None)
            .unwrap()
            .into_iter()
            .find(|m| m.subject == subject)
            .unwrap()
            .id
    };
    let (moved, gone) = (id_of("Moved"), id_of("Gone"));
    hub.go_offline().await;
    mailbox.delete(&moved).await.unwrap();
    mailbox.delete(&gone).await.unwrap();
    mailbox.delete(&gone).await.unwrap(); // from Deleted: for good
    mailbox.queue_read(&moved, true).unwrap();
    hub.come_back().await;

    // Another device changes both at the hub (marks them unread), so the hub sends both
    // back as updates; this device syncs before its outbox has left.
    let other = TestClient::new();
    let second = other.signed_in(&hub, alice()).await;
    second.syncer.sync().await.unwrap();
    second.mark_read(&moved, false).await.unwrap();
    second.mark_read(&gone, false).await.unwrap();
    mailbox.syncer.sync().await.unwrap();

    let m = mailbox.vault.message(&moved).unwrap().summary;
    assert_eq!(m.folder, Folder::Deleted, "still in Deleted, as moved here");
    assert!(m.read, "and read, as marked here");
    assert!(
        matches!(
            mailbox.vault.message(&gone),
            Err(sealpost_client::ClientError::NotFound(_))
        ),
        "a message deleted for good here does not come back"
    );
    mailbox.flush_outbox().await.unwrap();
    mailbox.syncer.sync().await.unwrap();
    let m = mailbox.vault.message(&moved).unwrap().summary;
    assert_eq!(
        (m.folder, m.read),
        (Folder::Deleted, true),
        "the hub agrees"
    );
}
