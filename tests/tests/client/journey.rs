//! The seed document's journey at the client level, end to end against a real hub.

use chrono::Duration;
use sealpost_client::outbox::SendOutcome;
use sealpost_proto::{Folder, Outgoing, SendMode};
use sealpost_tests::*;

#[tokio::test]
async fn the_whole_journey() {
    let hub = TestServer::start().await;
    let client = TestClient::new();
    let files = tempfile::tempdir().unwrap();

    // Staff send a secure message with an attachment; the recipient registers and signs in.
    let plan = files.path().join("care-plan.pdf");
    std::fs::write(&plan, b"%PDF care plan").unwrap();
    hub.org_send_files(
        alice(),
        "Referral for Mrs Jones",
        "Please confirm the first visit.",
        &[plan],
    )
    .await;
    let mailbox = client.registered(&hub, alice(), true).await;

    // Sync; the inbox shows it unread; open it, read it, save its attachment.
    mailbox.syncer.sync().await.unwrap();
    let inbox = mailbox.vault.list(Folder::Inbox, 50, None).unwrap();
    assert_eq!((inbox.len(), inbox[0].read), (1, false));
    let original = inbox[0].id.clone();
    let message = mailbox.vault.message(&original).unwrap();
    assert_eq!(message.body_text, "Please confirm the first visit.");
    mailbox.mark_read(&original, true).await.unwrap();
    let saved = files.path().join("saved.pdf");
    mailbox
        .save_attachment(&original, &message.summary.attachments[0].id, &saved, false)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&saved).unwrap(), b"%PDF care plan");

    // Reply (to the sender only).
    let reply = Outgoing {
        mode: SendMode::Reply,
        in_reply_to: Some(original.clone()),
        subject: "Re: Referral for Mrs Jones".into(),
        body_text: "Tuesday at ten works.".into(),
        ..Default::default()
    };
    assert!(matches!(
        mailbox.send(reply, &[]).await.unwrap(),
        SendOutcome::Sent { .. }
    ));
    assert!(hub
        .emails_to(STAFF)
        .await
        .iter()
        .any(|e| e.contains("Tuesday at ten works.")));

    // Forward outside the organisation is refused, before anything leaves.
    let outside = Outgoing {
        mode: SendMode::Forward,
        in_reply_to: Some(original.clone()),
        to: vec!["me@gmail.example".into()],
        forward_attachments: Some(true),
        ..Default::default()
    };
    let err = mailbox.send(outside, &[]).await.unwrap_err();
    assert_eq!(err.code(), sealpost_client::Code::RecipientNotAllowed);

    // Compose to the organisation with two attachments.
    hub.advance(Duration::minutes(5));
    let a = files.path().join("consent.pdf");
    let b = files.path().join("notes.txt");
    std::fs::write(&a, vec![3u8; 50_000]).unwrap();
    std::fs::write(&b, "notes").unwrap();
    let compose = Outgoing {
        to: vec!["referrals.team@example.gov.uk".into()],
        subject: "Consent form".into(),
        body_text: "Signed form attached.".into(),
        ..Default::default()
    };
    assert!(matches!(
        mailbox.send(compose, &[a, b]).await.unwrap(),
        SendOutcome::Sent { .. }
    ));

    // A draft, saved and kept.
    let draft = Outgoing {
        subject: "Unfinished".into(),
        ..Default::default()
    };
    mailbox.save_draft(draft, None, &[]).await.unwrap();
    mailbox.syncer.sync().await.unwrap();
    let sent: Vec<String> = mailbox
        .vault
        .list(Folder::Sent, 50, None)
        .unwrap()
        .into_iter()
        .map(|m| m.subject)
        .collect();
    assert_eq!(
        sent,
        ["Consent form", "Re: Referral for Mrs Jones"],
        "Sent holds both"
    );
    assert_eq!(
        mailbox.vault.list(Folder::Drafts, 50, None).unwrap()[0].subject,
        "Unfinished"
    );

    // Delete the original: gone here, and from the hub.
    mailbox.delete(&original).await.unwrap();
    assert!(mailbox
        .vault
        .list(Folder::Inbox, 50, None)
        .unwrap()
        .is_empty());

    // 90 days later everything sent has expired, on the hub and in the vault.
    hub.advance(Duration::days(90));
    hub.hub
        .purge(false, &sealpost_hub::Caller::cli())
        .await
        .unwrap();
    let err = mailbox.syncer.sync().await.unwrap_err();
    assert_eq!(
        err.code(),
        sealpost_client::Code::SignInRequired,
        "Remember me lasts 30 days unused"
    );
    mailbox.sign_in(GOOD_PASSWORD, true).await.unwrap();
    let signed_in = hub
        .hub
        .audit_log(chrono::DateTime::<chrono::Utc>::MIN_UTC)
        .await
        .unwrap()
        .into_iter()
        .rfind(|e| e.event == "sign_in")
        .unwrap();
    assert_eq!(
        signed_in.detail,
        format!(
            "device: {}; remember_me; trusted device",
            sealpost_client::accounts::device_name()
        ),
        "the audit log says which workstation signed in"
    );
    mailbox.syncer.sync().await.unwrap();
    assert!(
        mailbox
            .vault
            .list(Folder::Sent, 50, None)
            .unwrap()
            .is_empty(),
        "expired Sent items are gone"
    );
    assert!(
        mailbox
            .vault
            .list(Folder::Drafts, 50, None)
            .unwrap()
            .is_empty(),
        "and the old draft"
    );
}
