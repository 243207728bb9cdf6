//! Notification emails are collapsed per mailbox and paced; security emails go first; the
//! queue drains at once, not a hundred every fifteen seconds.

use chrono::Duration;

use crate::support::*;

async fn invitations(t: &TestHub, to: &str) -> usize {
    t.emails_to(to)
        .await
        .iter()
        .filter(|e| e.contains("/register?token="))
        .count()
}

#[tokio::test]
async fn two_thousand_messages_to_an_unregistered_address_send_one_invitation() {
    let t = TestHub::start().await;
    for n in 0..2001 {
        t.org_send(&[alice()], &format!("Bulletin {n}"), "b").await;
    }
    let emails = t.emails_to(alice()).await;
    assert_eq!(emails.len(), 1, "one email, not 2,001");
    assert!(
        emails[0].contains("has sent you 2001 secure messages")
            || emails[0].contains("has sent you a secure message"),
        "it says what waits: {}",
        emails[0]
    );
    // Later messages are told together, one interval after the last email.
    for n in 0..5 {
        t.org_send(&[alice()], &format!("Late {n}"), "b").await;
    }
    assert_eq!(
        invitations(&t, alice()).await,
        1,
        "nothing within ten minutes"
    );
    t.advance(Duration::minutes(10));
    let emails = t.emails_to(alice()).await;
    assert_eq!(emails.len(), 2, "one more, ten minutes on");
    assert!(emails[1].contains("5 secure messages"), "{}", emails[1]);
    let link = token_in(&emails[1], "/register").unwrap();
    let r = t
        .post(
            "/api/v1/registrations",
            serde_json::json!({"token": link, "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::CREATED, "its link works");
}

#[tokio::test]
async fn a_registered_person_is_told_of_many_messages_in_few_emails() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let before = t.emails_to(alice()).await.len();
    for minute in 0..30 {
        for n in 0..20 {
            t.org_send(&[alice()], &format!("Update {minute}.{n}"), "b")
                .await;
        }
        t.hub.deliver_mail().await.unwrap();
        t.advance(Duration::minutes(1));
    }
    let told = t.emails_to(alice()).await.len() - before;
    assert!(
        (3..=4).contains(&told),
        "600 messages over 30 minutes: an email every ten minutes, not 600 ({told})"
    );
    let last = t.emails_to(alice()).await.pop().unwrap();
    assert!(last.contains("new secure messages"), "{last}");
}

#[tokio::test]
async fn security_emails_go_ahead_of_a_backlog_and_the_queue_drains_at_once() {
    let t = TestHub::start().await;
    t.registered(alice()).await;
    // A backlog: 250 people sent a first message (their invitations queue up).
    for n in 0..250 {
        t.org_send(&[&format!("person{n}@partner.example")], "Hello", "b")
            .await;
    }
    t.hub.queue_notifications().await.unwrap();
    // Then someone fails three sign-ins as alice: her lock notice must not wait.
    for _ in 0..3 {
        t.sign_in(alice(), "wrong wrong wrong wrong", false).await;
    }
    let sent = t.hub.deliver_mail().await.unwrap();
    assert!(sent >= 251, "one call drains the whole queue ({sent})");
    // In the order they were written (their names follow the order they were queued).
    let mut files: Vec<_> = std::fs::read_dir(t.data().join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
    let first_of_this_run = files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .find(|e| !e.contains("To: alice@partner.example") || e.contains("is locked"))
        .unwrap();
    assert!(
        first_of_this_run.contains("is locked"),
        "the lock notice went first: {first_of_this_run}"
    );
}

#[tokio::test]
async fn one_mailbox_whose_email_cannot_be_made_keeps_no_one_elses_back() {
    let t = TestHub::start().await;
    // A mailbox whose address no email can go to (a row damaged by hand, say), with a
    // message waiting to be told of.
    let now = t.hub.now();
    let interval = Duration::minutes(10);
    t.hub
        .store()
        .write_blocking(move |tx| {
            let keys = sealpost_hub::store::WrappedKeys {
                public: "age1x".into(),
                mailbox_key: b"x".to_vec(),
                data_key: b"x".to_vec(),
            };
            tx.insert_pending_account("acc_broken", "not an address", &keys, now)?;
            tx.note_arrival("acc_broken", now, interval)
        })
        .unwrap();
    t.org_send(&[alice()], "For Alice", "b").await;
    assert_eq!(
        invitations(&t, alice()).await,
        1,
        "Alice is told although the other email could not be made"
    );
}
