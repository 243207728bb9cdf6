//! What a person writes is never lost and is sent at most once: composes kept in the vault,
//! saved as one draft however often they are saved, sent with their attachments.

use sealpost_client::{outbox::SendOutcome, Code, Compose, ComposeFile, Mailbox};
use sealpost_proto::{Folder, SendMode};
use sealpost_tests::*;

const WORKER: &str = "worker@example.gov.uk";

/// A compose to the organisation with one file from this computer.
fn compose_with_file(dir: &std::path::Path, subject: &str) -> Compose {
    let path = dir.join("care-plan.pdf");
    std::fs::write(&path, vec![42u8; 200_000]).unwrap();
    Compose {
        to: vec![WORKER.into()],
        subject: subject.into(),
        body_text: "Please see the plan.".into(),
        files: vec![ComposeFile {
            path,
            name: "care-plan.pdf".into(),
            size: 200_000,
        }],
        ..Default::default()
    }
}

async fn drafts(mailbox: &Mailbox) -> Vec<sealpost_proto::MessageSummary> {
    mailbox.syncer.sync().await.unwrap();
    mailbox.vault.list(Folder::Drafts, 50, None).unwrap()
}

async fn audit_details(hub: &TestServer, event: &str) -> Vec<String> {
    hub.hub
        .audit_log(chrono::DateTime::<chrono::Utc>::MIN_UTC)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event == event)
        .map(|e| e.detail)
        .collect()
}

#[tokio::test]
async fn sending_a_saved_draft_carries_its_attachment_and_removes_the_draft() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let dir = tempfile::tempdir().unwrap();
    mailbox
        .save_compose(compose_with_file(dir.path(), "Plan for Monday"), false)
        .await
        .unwrap();
    assert!(
        mailbox.composes().unwrap().is_empty(),
        "Save Draft closes the compose"
    );
    let saved = drafts(&mailbox).await;
    assert_eq!(saved.len(), 1, "one draft");
    assert_eq!(saved[0].attachments.len(), 1, "with its file");

    // Opened again from Drafts and sent, as the window does.
    let reopened = mailbox.compose_for_draft(&saved[0].id).unwrap();
    assert_eq!(reopened.carried.len(), 1, "the draft's file comes along");
    assert!(reopened.files.is_empty(), "nothing to upload again");
    let outcome = mailbox.send_compose(reopened).await.unwrap();
    let SendOutcome::Sent { message } = outcome else {
        panic!("online: sent at once, got {outcome:?}")
    };
    assert_eq!(
        message.attachments.len(),
        1,
        "the Sent copy has the draft's attachment"
    );
    let email = hub
        .emails_to(WORKER)
        .await
        .pop()
        .expect("staff were emailed");
    assert!(
        email.contains("care-plan.pdf"),
        "the email to staff carries the attachment"
    );
    assert_eq!(
        audit_details(&hub, "message_sent").await,
        ["1 recipient, 1 attachment"],
        "the hub's audit counts the attachment"
    );
    assert!(
        drafts(&mailbox).await.is_empty(),
        "the draft left Drafts: it cannot be sent twice"
    );
}

#[tokio::test]
async fn three_locks_keep_one_draft_and_the_work_comes_back_after_each_unlock() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let dir = tempfile::tempdir().unwrap();
    let first = compose_with_file(dir.path(), "Half written");
    let mut writing = first.clone();
    for round in 1..=3 {
        writing.body_text = format!("Draft, round {round}.");
        let saved = mailbox.lock(Some(writing.clone())).await.unwrap();
        assert!(saved.is_some(), "round {round}: the lock saved a draft");
        mailbox.unlock(GOOD_PASSWORD).await.unwrap();
        let back = mailbox.composes().unwrap();
        assert_eq!(back.len(), 1, "round {round}: one compose to come back to");
        assert_eq!(back[0].body_text, format!("Draft, round {round}."));
        assert_eq!(
            back[0].files.len() + back[0].carried.len(),
            1,
            "round {round}: the attachment is still there"
        );
        writing = if round < 2 {
            back[0].clone()
        } else {
            // A window that did not hear what the lock did still holds the file as its
            // own and knows no draft: saving it again must not add a draft or a copy.
            Compose {
                id: back[0].id.clone(),
                ..first.clone()
            }
        };
    }
    let saved = drafts(&mailbox).await;
    assert_eq!(saved.len(), 1, "three locks, one draft");
    assert_eq!(
        saved[0].attachments.len(),
        1,
        "the draft holds the file once"
    );
    let draft = mailbox.vault.message(&saved[0].id).unwrap();
    assert_eq!(draft.body_text, "Draft, round 3.", "the latest words");
}

#[tokio::test]
async fn offline_locks_queue_one_draft_that_reaches_the_hub_later() {
    let mut hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let dir = tempfile::tempdir().unwrap();
    hub.go_offline().await;
    let mut writing = compose_with_file(dir.path(), "Written on the train");
    for round in 1..=3 {
        writing.body_text = format!("Offline, round {round}.");
        mailbox.lock(Some(writing.clone())).await.unwrap();
        mailbox.unlock(GOOD_PASSWORD).await.unwrap();
        writing = mailbox.composes().unwrap().remove(0);
    }
    let waiting = mailbox.pending().unwrap();
    assert_eq!(waiting.len(), 1, "one draft waits, not three: {waiting:?}");
    hub.come_back().await;
    mailbox.sign_in(GOOD_PASSWORD, false).await.unwrap();
    mailbox.flush_outbox().await.unwrap();
    let saved = drafts(&mailbox).await;
    assert_eq!(saved.len(), 1, "one draft at the hub");
    assert_eq!(saved[0].attachments.len(), 1, "with its file");
    assert_eq!(
        mailbox.composes().unwrap()[0].body_text,
        "Offline, round 3.",
        "and the compose is still open here"
    );
}

#[tokio::test]
async fn a_compose_survives_a_crash_and_a_restart() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let dir = tempfile::tempdir().unwrap();
    let kept = mailbox
        .keep_compose(compose_with_file(dir.path(), "Typed before the crash"))
        .unwrap();
    assert!(!kept.id.is_empty(), "a kept compose has an id");
    // The app dies: nothing is saved or closed; the next start opens the vault afresh.
    drop(mailbox);
    let accounts = client.accounts();
    let id = accounts.list().unwrap()[0].id.clone();
    let restarted = accounts.open(&id).unwrap();
    let back = restarted.composes().unwrap();
    assert_eq!(back, [kept], "the compose is back, file and all");
}

#[tokio::test]
async fn a_compose_is_sent_at_most_once() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let dir = tempfile::tempdir().unwrap();
    let kept = mailbox
        .keep_compose(compose_with_file(dir.path(), "Only once"))
        .unwrap();
    let first = mailbox.send_compose(kept.clone()).await.unwrap();
    assert!(
        mailbox.composes().unwrap().is_empty(),
        "a sent compose is gone"
    );
    // A second click, or a second window holding the same compose.
    let second = mailbox.send_compose(kept).await.unwrap();
    let id = |o: &SendOutcome| match o {
        SendOutcome::Sent { message } => message.id.clone(),
        other => panic!("online: sent, got {other:?}"),
    };
    assert_eq!(id(&first), id(&second), "the second send is the first one");
    assert_eq!(hub.emails_to(WORKER).await.len(), 1, "staff got one email");
    mailbox.syncer.sync().await.unwrap();
    assert_eq!(
        mailbox.vault.list(Folder::Sent, 10, None).unwrap().len(),
        1,
        "one Sent copy"
    );
}

#[tokio::test]
async fn signing_out_saves_the_compose_and_keeps_it_for_the_next_sign_in() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let dir = tempfile::tempdir().unwrap();
    mailbox
        .sign_out(Some(compose_with_file(dir.path(), "Before going home")))
        .await
        .unwrap();
    mailbox.sign_in(GOOD_PASSWORD, false).await.unwrap();
    let saved = drafts(&mailbox).await;
    assert_eq!(saved.len(), 1, "the sign-out saved a draft");
    assert_eq!(saved[0].attachments.len(), 1, "with its file");
    let back = mailbox.composes().unwrap();
    assert_eq!(back.len(), 1, "and the compose waits here");
    assert_eq!(back[0].subject, "Before going home");
}

#[tokio::test]
async fn discarding_removes_the_compose_and_its_draft() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let dir = tempfile::tempdir().unwrap();
    let (_, saved) = mailbox
        .save_compose(compose_with_file(dir.path(), "Not needed"), true)
        .await
        .unwrap();
    assert_eq!(drafts(&mailbox).await.len(), 1);
    mailbox.discard_compose(&saved).await.unwrap();
    assert!(
        mailbox.composes().unwrap().is_empty(),
        "the compose is gone"
    );
    assert!(drafts(&mailbox).await.is_empty(), "and its draft");
}

#[tokio::test]
async fn a_draft_is_deleted_from_the_drafts_folder() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let dir = tempfile::tempdir().unwrap();
    mailbox
        .save_compose(compose_with_file(dir.path(), "Old draft"), false)
        .await
        .unwrap();
    let saved = drafts(&mailbox).await;
    mailbox.delete_draft(&saved[0].id).await.unwrap();
    assert!(
        mailbox
            .vault
            .list(Folder::Drafts, 10, None)
            .unwrap()
            .is_empty(),
        "gone here at once"
    );
    assert!(drafts(&mailbox).await.is_empty(), "and at the hub");
}

#[tokio::test]
async fn a_send_the_hub_refuses_goes_back_to_the_composes() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    // A reply to a message the hub does not know: only the hub can refuse it.
    let reply = Compose {
        mode: SendMode::Reply,
        in_reply_to: Some("msg_gone".into()),
        subject: "Re: gone".into(),
        body_text: "Answer".into(),
        ..Default::default()
    };
    let kept = mailbox.keep_compose(reply).unwrap();
    let err = mailbox.send_compose(kept.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err}");
    let back = mailbox.composes().unwrap();
    assert_eq!(
        back,
        [Compose {
            refusal: Some(err.to_string()),
            ..kept.clone()
        }],
        "nothing was sent, nothing written is lost, and it says why"
    );
    assert!(
        mailbox.pending().unwrap().is_empty(),
        "no refused copy is left in the outbox"
    );
    // It can be changed and sent again: a refused send does not count as sent.
    let fixed = Compose {
        mode: SendMode::New,
        in_reply_to: None,
        to: vec![WORKER.into()],
        ..back[0].clone()
    };
    mailbox
        .keep_compose(fixed.clone())
        .expect("kept after the refusal");
    let outcome = mailbox
        .send_compose(fixed)
        .await
        .expect("sent once changed");
    assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
    assert!(mailbox.composes().unwrap().is_empty());
}

#[tokio::test]
async fn a_compose_once_sent_cannot_come_back_from_an_old_copy() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let dir = tempfile::tempdir().unwrap();
    let kept = mailbox
        .keep_compose(compose_with_file(dir.path(), "Sent once"))
        .unwrap();
    mailbox.send_compose(kept.clone()).await.unwrap();
    // A late autosave, or a lock that began during the send, holds the old copy.
    let late = mailbox.keep_compose(kept.clone());
    assert!(late.is_err(), "a late autosave does not bring it back");
    let saved = mailbox.save_compose(kept.clone(), true).await;
    assert!(saved.is_err(), "nor does a lock's save as a draft");
    assert!(mailbox.composes().unwrap().is_empty(), "nothing came back");
    mailbox.syncer.sync().await.unwrap();
    assert!(
        drafts(&mailbox).await.is_empty(),
        "and no draft of it appeared"
    );
    assert_eq!(hub.emails_to(WORKER).await.len(), 1, "staff got one email");
    // A sign-out holding that old copy (it began during the send) still signs out.
    mailbox
        .sign_out(Some(kept))
        .await
        .expect("the sign-out goes ahead");
    assert!(mailbox.syncer.sync().await.is_err(), "signed out");
    assert!(
        mailbox.composes().unwrap().is_empty(),
        "and nothing came back"
    );
}

#[tokio::test]
async fn a_forward_leaves_behind_the_attachments_the_person_removed() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("keep.txt"), dir.path().join("drop.txt"));
    std::fs::write(&a, "keep").unwrap();
    std::fs::write(&b, "drop").unwrap();
    hub.org_send_files(alice(), "Two files", "Both attached.", &[a, b])
        .await;
    mailbox.syncer.sync().await.unwrap();
    let original = mailbox
        .vault
        .list(Folder::Inbox, 10, None)
        .unwrap()
        .into_iter()
        .find(|m| m.subject == "Two files")
        .unwrap();
    let forward = Compose {
        mode: SendMode::Forward,
        to: vec![WORKER.into()],
        subject: "Fwd: Two files".into(),
        in_reply_to: Some(original.id.clone()),
        carried: vec![original.attachments[0].clone()],
        ..Default::default()
    };
    let SendOutcome::Sent { message } = mailbox.send_compose(forward).await.unwrap() else {
        panic!("online: sent at once")
    };
    let names: Vec<&str> = message
        .attachments
        .iter()
        .map(|x| x.name.as_str())
        .collect();
    assert_eq!(names, ["keep.txt"], "only what was kept is forwarded");
}

#[tokio::test]
async fn opening_a_draft_twice_gives_the_same_compose() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let dir = tempfile::tempdir().unwrap();
    let (_, open) = mailbox
        .save_compose(compose_with_file(dir.path(), "Open twice"), true)
        .await
        .unwrap();
    let listed = drafts(&mailbox).await;
    let again = mailbox.compose_for_draft(&listed[0].id).unwrap();
    assert_eq!(
        again.id, open.id,
        "the draft opens the compose already open"
    );
}

#[tokio::test]
async fn a_send_refused_later_when_the_hub_is_back_returns_to_the_composes() {
    let mut hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let dir = tempfile::tempdir().unwrap();
    let reply = Compose {
        mode: SendMode::Reply,
        in_reply_to: Some("msg_gone".into()),
        subject: "Re: gone".into(),
        body_text: "Written offline".into(),
        to: Vec::new(),
        ..compose_with_file(dir.path(), "")
    };
    let kept = mailbox.keep_compose(reply).unwrap();
    hub.go_offline().await;
    let outcome = mailbox.send_compose(kept.clone()).await.unwrap();
    assert!(matches!(outcome, SendOutcome::Queued { .. }), "{outcome:?}");
    assert!(mailbox.composes().unwrap().is_empty(), "it is on its way");
    // The file is moved away meanwhile; the outbox holds its own copy until the answer.
    std::fs::remove_file(dir.path().join("care-plan.pdf")).unwrap();

    hub.come_back().await;
    let report = mailbox.flush_outbox().await.unwrap();
    assert!(report.sent.is_empty());
    let back = mailbox.composes().unwrap();
    assert_eq!(back.len(), 1, "the refused message is back to be changed");
    assert_eq!(back[0].body_text, "Written offline");
    assert!(
        back[0]
            .refusal
            .as_deref()
            .is_some_and(|r| r.contains("not found")),
        "saying why: {:?}",
        back[0].refusal
    );
    assert!(
        back[0]
            .refusal
            .as_deref()
            .is_some_and(|r| r.contains("attach them again: care-plan.pdf")),
        "and which file must be attached again: {:?}",
        back[0].refusal
    );
    assert!(
        mailbox.pending().unwrap().is_empty(),
        "and not left in the outbox"
    );
}

#[tokio::test]
async fn a_proxy_answering_for_a_hub_that_is_down_keeps_the_send_waiting() {
    let mut hub = TestServer::start().await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    let dir = tempfile::tempdir().unwrap();
    let kept = mailbox
        .keep_compose(compose_with_file(dir.path(), "Through the proxy"))
        .unwrap();
    // The hub is down; the reverse proxy in front of it answers 502 with a page of its own.
    hub.go_offline().await;
    let address = hub.url.trim_start_matches("http://").to_owned();
    let proxy = tokio::net::TcpListener::bind(&address).await.unwrap();
    let answering = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut socket, _)) = proxy.accept().await else {
                return;
            };
            let mut request = vec![0u8; 64 * 1024];
            let _ = socket.read(&mut request).await;
            let page = "<html><body>502 Bad Gateway</body></html>";
            let answer = format!(
                "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    let outcome = mailbox.send_compose(kept).await.unwrap();
    assert!(
        matches!(outcome, SendOutcome::Queued { .. }),
        "a proxy's error page is the hub being away, not a refusal: {outcome:?}"
    );
    let waiting = mailbox.vault.outbox().unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].status, "queued", "still waiting, not failed");
    assert!(
        mailbox.composes().unwrap().is_empty(),
        "not handed back as refused"
    );

    answering.abort();
    let _ = answering.await;
    hub.come_back().await;
    let report = mailbox.flush_outbox().await.unwrap();
    assert_eq!(report.sent.len(), 1, "sent once the hub is back");
    assert_eq!(hub.emails_to(WORKER).await.len(), 1);
}

#[tokio::test]
async fn the_attachment_limits_are_the_hubs_and_hold_offline() {
    let mut hub = TestServer::start_with(|c| {
        c.limits.max_attachments = 2;
        c.limits.max_attachment_bytes = 300_000;
    })
    .await;
    let client = TestClient::new();
    let mailbox = client.registered(&hub, alice(), false).await;
    assert_eq!(
        mailbox.limits().unwrap().max_files,
        2,
        "kept from the sign-in answer"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut compose = compose_with_file(dir.path(), "Two plans");
    let second = dir.path().join("second.pdf");
    std::fs::write(&second, vec![1u8; 200_000]).unwrap();
    compose.files.push(ComposeFile {
        path: second,
        name: "second.pdf".into(),
        size: 200_000,
    });
    hub.go_offline().await;
    let err = mailbox
        .send_compose(compose.clone())
        .await
        .expect_err("400 kB is over this hub's 300 kB, even with the hub away");
    assert_eq!(err.code(), Code::AttachmentLimit);
    assert!(
        err.to_string().contains("at most 2 attachments and 0.3 MB"),
        "the hub's figures, not the defaults: {err}"
    );
    assert!(
        mailbox.vault.outbox().unwrap().is_empty(),
        "nothing was queued for the hub"
    );
}
