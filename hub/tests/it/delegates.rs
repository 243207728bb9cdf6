//! Named delegates of a shared mailbox: invited by its owner, each works it with their own
//! address, password and lock; what they do is audited and shown to staff under their
//! name; removing them ends their sessions at once.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::*;

const SHARED: &str = "care.referrals@partner.example";
const CAROL: &str = "carol@partner.example";

/// Registers `email` through the newest registration link emailed to it.
async fn register_from_email(t: &TestHub, email: &str) {
    let token = t.link_token(email, "/register").await;
    let r = t
        .post(
            "/api/v1/registrations",
            json!({"token": token, "password": GOOD_PASSWORD}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED, "{email} registers");
}

/// Signs `person` in to the shared mailbox with their own password.
async fn sign_in_to_shared(
    t: &TestHub,
    person: &str,
    password: &str,
    remember: bool,
) -> (StatusCode, Value) {
    let r = t
        .post(
            "/api/v1/sessions",
            json!({"email": person, "password": password, "remember_me": remember,
                   "device_name": "front desk PC", "mailbox": SHARED}),
        )
        .await;
    let status = r.status();
    (status, r.json().await.unwrap())
}

fn as_user<'a>(t: &'a TestHub, session: &Value) -> User<'a> {
    User {
        t,
        email: SHARED.to_owned(),
        token: session["access_token"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn an_owner_invites_a_named_delegate_who_works_the_mailbox_as_themselves() {
    let t = TestHub::start().await;
    let owner = t.user(SHARED).await;
    let (status, invited) = owner
        .post(
            "/mailbox/delegates",
            json!({"email": alice(), "name": "  Alice Smith "}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    assert_eq!(invited["name"], "Alice Smith");
    assert_eq!(invited["joined"], false);
    assert_eq!(invited["role"], "member");
    assert_eq!(invited["added_by"], SHARED);

    // The invitation names the mailbox and carries a link, never content.
    let emails = t.emails_to(alice()).await;
    let invitation = emails.last().expect("an invitation is emailed");
    assert!(invitation.contains(SHARED), "{invitation}");
    assert!(!invitation.contains("First message"));
    register_from_email(&t, alice()).await;

    // Alice signs in to the shared mailbox with her own password and sees its mail.
    let (status, session) = sign_in_to_shared(&t, alice(), GOOD_PASSWORD, true).await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    assert_eq!(session["account"]["email"], SHARED);
    assert_eq!(
        session["account"]["signed_in_as"],
        json!({"email": alice(), "name": "Alice Smith"})
    );
    let refresh = session["refresh_token"].as_str().unwrap().to_owned();
    let delegate = as_user(&t, &session);
    let inbox = delegate.folder("inbox").await;
    assert_eq!(inbox.len(), 1, "the shared mailbox's mail");
    let message = inbox[0]["id"].as_str().unwrap().to_owned();

    // Read flags are the mailbox's: what Alice opens is read for the owner too.
    let (status, _) = delegate
        .call(
            Method::PATCH,
            &format!("/messages/{message}"),
            Some(json!({"read": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(owner.folder("inbox").await[0]["read"], true);

    // Her reply reaches staff under her name, for the mailbox.
    let (status, sent) = delegate
        .post(
            "/messages",
            json!({"mode": "reply", "in_reply_to": message, "body_text": "On it."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let to_staff = t.emails_to(staff()).await;
    let reply = to_staff.last().expect("the reply is emailed to staff");
    let parsed = mail_parser::MessageParser::default()
        .parse(reply.as_bytes())
        .expect("the staff email parses");
    let from = parsed
        .from()
        .and_then(|f| f.first())
        .and_then(|a| a.name())
        .unwrap_or_default()
        .to_owned();
    assert!(
        from.starts_with(&format!("Alice Smith for {SHARED}")),
        "the staff email names her: {from}"
    );
    let text = parsed.body_text(0).unwrap_or_default().into_owned();
    assert!(
        text.contains(&format!("Alice Smith ({})", alice())),
        "{text}"
    );

    // The audit log names the person and the device beside the mailbox.
    let log = t
        .hub
        .audit_log(chrono::DateTime::<chrono::Utc>::MIN_UTC)
        .await
        .unwrap();
    for event in ["sign_in", "message_read", "message_sent"] {
        let line = log
            .iter()
            .find(|e| e.event == event && e.person == alice())
            .unwrap_or_else(|| panic!("{event} by Alice is audited: {log:?}"));
        assert_eq!(line.email, SHARED, "{event}");
        assert_eq!(line.device, "front desk PC", "{event}");
        assert_eq!(line.ip, "127.0.0.1", "{event}");
    }

    // Her own sign-in lists the shared mailbox, and opens it without the password again.
    let (status, own) = t.sign_in(alice(), GOOD_PASSWORD, false).await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    assert_eq!(own["account"]["email"], alice());
    assert_eq!(
        own["account"]["shared_mailboxes"],
        json!([{"email": SHARED, "role": "member"}])
    );
    let own = User {
        t: &t,
        email: alice().to_owned(),
        token: own["access_token"].as_str().unwrap().to_owned(),
    };
    let (status, opened) = own
        .post(
            "/sessions/delegate",
            json!({"mailbox": SHARED, "device_name": "laptop"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    assert_eq!(opened["account"]["email"], SHARED);
    assert_eq!(opened["account"]["signed_in_as"]["name"], "Alice Smith");
    let (status, body) = own
        .post("/sessions/delegate", json!({"mailbox": alice()}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "her own mailbox: {body}");

    // A member sees who shares the mailbox, but cannot invite or remove.
    let (status, list) = delegate.get("/mailbox/delegates").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["can_manage"], false);
    assert_eq!(list["items"][0]["email"], alice());
    assert_eq!(list["items"][0]["joined"], true);
    let (status, body) = delegate
        .post(
            "/mailbox/delegates",
            json!({"email": CAROL, "name": "Carol"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "not_permitted")
    );
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = delegate
        .call(Method::DELETE, &format!("/mailbox/delegates/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The owner removes her: every session she opened on it ends at once, and says why.
    let (status, _) = owner
        .call(Method::DELETE, &format!("/mailbox/delegates/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = delegate.get("/messages?folder=inbox").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "access_removed"),
        "{body}"
    );
    let opened = as_user(&t, &opened);
    let (status, body) = opened.get("/changes").await;
    assert_eq!(code(&body), "access_removed", "{status} {body}");
    let r = t
        .post(
            "/api/v1/sessions/refresh",
            json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.unwrap();
    assert_eq!(code(&body), "access_removed", "Remember me ends too");
    let (status, body) = sign_in_to_shared(&t, alice(), GOOD_PASSWORD, false).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "access_removed")
    );
    let removal = t.emails_to(alice()).await;
    assert!(
        removal.last().unwrap().contains("has ended"),
        "she is told: {removal:?}"
    );
    // Her own mailbox is hers still; the owner's is untouched.
    assert_eq!(own.get("/messages?folder=inbox").await.0, StatusCode::OK);
    assert_eq!(owner.get("/messages?folder=inbox").await.0, StatusCode::OK);
    assert_eq!(t.audit_count("delegate_removed").await, 1);
}

#[tokio::test]
async fn each_delegate_is_locked_out_on_their_own() {
    let t = TestHub::start().await;
    let owner = t.user(SHARED).await;
    for (email, name) in [(alice(), "Alice Smith"), (bob(), "Bob Jones")] {
        let (status, body) = owner
            .post("/mailbox/delegates", json!({"email": email, "name": name}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        register_from_email(&t, email).await;
    }
    for _ in 0..3 {
        let (status, _) = sign_in_to_shared(&t, alice(), "not her password", false).await;
        assert_ne!(status, StatusCode::CREATED);
    }
    let (status, body) = sign_in_to_shared(&t, alice(), GOOD_PASSWORD, false).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::LOCKED, "account_locked"),
        "Alice is locked after three failures"
    );
    // Each failure is audited with the person, the device they named and the mailbox.
    let log = t
        .hub
        .audit_log(chrono::DateTime::<chrono::Utc>::MIN_UTC)
        .await
        .unwrap();
    let failed = log
        .iter()
        .find(|e| e.event == "sign_in_failed")
        .expect("audited");
    assert_eq!(
        (
            failed.person.as_str(),
            failed.device.as_str(),
            failed.email.as_str()
        ),
        (alice(), "front desk PC", SHARED)
    );
    let (status, body) = sign_in_to_shared(&t, bob(), GOOD_PASSWORD, false).await;
    assert_eq!(status, StatusCode::CREATED, "Bob is not: {body}");
    let (status, body) = t.sign_in(SHARED, GOOD_PASSWORD, false).await;
    assert_eq!(status, StatusCode::CREATED, "nor the owner: {body}");
}

#[tokio::test]
async fn invitations_that_cannot_be_are_refused_and_change_nothing() {
    let t = TestHub::start().await;
    let owner = t.user(SHARED).await;
    t.registered(bob()).await;
    let refused = [
        (
            json!({"email": "not an address", "name": "X"}),
            400,
            "bad_request",
        ),
        (json!({"email": SHARED, "name": "Itself"}), 409, "conflict"),
        (json!({"email": CAROL, "name": "   "}), 400, "bad_request"),
        (
            json!({"email": CAROL, "name": "Carol\r\nBcc: all@example.gov.uk"}),
            400,
            "bad_request",
        ),
        (
            json!({"email": CAROL, "name": "C".repeat(101)}),
            400,
            "bad_request",
        ),
        (
            json!({"email": CAROL, "name": "Carol", "role": "owner"}),
            400,
            "bad_request",
        ),
        (
            json!({"email": staff(), "name": "Staff"}),
            422,
            "recipient_not_allowed",
        ),
        (
            json!({"email": CAROL, "name": "\u{202e}\u{200b}"}),
            201,
            "<none>",
        ),
    ];
    for (body, status, wanted) in refused {
        let (got, answer) = owner.post("/mailbox/delegates", body.clone()).await;
        assert_eq!(
            (got.as_u16(), code(&answer)),
            (status, wanted),
            "{body}: {answer}"
        );
    }
    let (_, list) = owner.get("/mailbox/delegates").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(
        list["items"][0]["name"], CAROL,
        "a name of nothing visible is the address"
    );
    let (status, body) = owner
        .post(
            "/mailbox/delegates",
            json!({"email": CAROL, "name": "Carol"}),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("An invitation went to this address less than 10 minutes ago"),
        "{body}"
    );
    let (_, staff_refused) = owner
        .post("/mailbox/delegates", json!({"email": staff(), "name": "S"}))
        .await;
    assert!(
        staff_refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("staff use their own mail"),
        "{staff_refused}"
    );
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    owner
        .call(Method::DELETE, &format!("/mailbox/delegates/{id}"), None)
        .await;

    // A registered person is told by email, with no link (the answer does not say whether
    // they have an account here); twice is a conflict.
    let (status, added) = owner
        .post(
            "/mailbox/delegates",
            json!({"email": bob(), "name": "Bob Jones", "role": "manager"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["joined"], false);
    let told = t.emails_to(bob()).await;
    assert!(!told.last().unwrap().contains("/register?token="));
    let (status, body) = owner
        .post(
            "/mailbox/delegates",
            json!({"email": bob(), "name": "Bob Jones"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "{body}"
    );
    // Someone not invited cannot sign in to it, nor open it from their own session.
    let (status, body) = sign_in_to_shared(&t, CAROL, GOOD_PASSWORD, false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(code(&body), "invalid_credentials", "Carol has no account");
    t.registered(CAROL).await;
    let (status, body) = sign_in_to_shared(&t, CAROL, "wrong password", false).await;
    assert_eq!(
        code(&body),
        "invalid_credentials",
        "the password is checked before access is told: {status} {body}"
    );
    let (status, body) = sign_in_to_shared(&t, CAROL, GOOD_PASSWORD, false).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "access_removed")
    );
    let carol = t.signed_in(CAROL).await;
    let (status, body) = carol
        .post("/sessions/delegate", json!({"mailbox": SHARED}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "access_removed")
    );
    // A manager may invite (Carol was last invited more than 10 minutes before).
    t.advance(chrono::Duration::minutes(11));
    let (status, manager) = sign_in_to_shared(&t, bob(), GOOD_PASSWORD, false).await;
    assert_eq!(status, StatusCode::CREATED);
    let manager = as_user(&t, &manager);
    let (status, body) = manager
        .post(
            "/mailbox/delegates",
            json!({"email": CAROL, "name": "Carol King"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["added_by"], bob());
    let (status, body) = manager
        .call(
            Method::DELETE,
            "/mailbox/delegates/acc_not_a_delegate",
            None,
        )
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test]
async fn a_shared_only_mailbox_has_no_password_of_its_own() {
    let t = TestHub::start().await;
    let owner = t.user(SHARED).await;
    let caller = sealpost_hub::Caller::cli();
    let err = t.hub.make_shared_only(SHARED, &caller).await.unwrap_err();
    assert!(
        err.to_string().contains("no delegates"),
        "nobody could work it: {err}"
    );
    assert_eq!(owner.get("/messages").await.0, StatusCode::OK, "unchanged");

    let mailbox = t.hub.mailbox_by_email(SHARED).await.unwrap();
    let added = t
        .hub
        .add_delegate(
            &mailbox,
            &sealpost_proto::NewDelegate {
                email: alice().into(),
                name: "Alice Smith".into(),
                role: None,
            },
            sealpost_hub::delegates::ActingFor::Admin,
            &caller,
        )
        .await
        .unwrap();
    assert_eq!(added.added_by, "admin");
    t.hub.make_shared_only(SHARED, &caller).await.unwrap();
    assert_eq!(
        owner.get("/messages").await.0,
        StatusCode::UNAUTHORIZED,
        "its own sessions end"
    );
    let (status, body) = t.sign_in(SHARED, GOOD_PASSWORD, false).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_credentials")
    );
    // No reset can give it a password again.
    let before = t.emails_to(SHARED).await.len();
    let r = t
        .post("/api/v1/password-resets", json!({"email": SHARED}))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(t.emails_to(SHARED).await.len(), before, "no link is sent");
    // Its delegate works it.
    register_from_email(&t, alice()).await;
    let (status, body) = sign_in_to_shared(&t, alice(), GOOD_PASSWORD, false).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let user = t.hub.user(SHARED).await.unwrap();
    assert!(user.shared_only);
    assert_eq!(user.delegates, vec![alice().to_owned()]);
}

#[tokio::test]
async fn a_disabled_shared_mailbox_refuses_its_delegates_too() {
    let t = TestHub::start().await;
    let owner = t.user(SHARED).await;
    let (status, _) = owner
        .post(
            "/mailbox/delegates",
            json!({"email": alice(), "name": "Alice Smith"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    register_from_email(&t, alice()).await;
    let (_, session) = sign_in_to_shared(&t, alice(), GOOD_PASSWORD, false).await;
    let delegate = as_user(&t, &session);
    let own = t.signed_in(alice()).await;
    let (status, body) = own
        .post("/sessions/delegate", json!({"mailbox": "not an address"}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "bad_request")
    );

    t.hub
        .disable_user(SHARED, &sealpost_hub::Caller::cli())
        .await
        .unwrap();
    let (status, _) = delegate.get("/messages").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "her session on it ends");
    let (status, body) = sign_in_to_shared(&t, alice(), GOOD_PASSWORD, false).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "account_disabled")
    );
    let (status, body) = own
        .post("/sessions/delegate", json!({"mailbox": SHARED}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "account_disabled")
    );
    // Her own mailbox is hers still.
    assert_eq!(own.get("/messages").await.0, StatusCode::OK);
}

/// Invites `person` as `name` through the owner's session and registers them.
async fn delegate_of(owner: &User<'_>, person: &str, name: &str) {
    let (status, body) = owner
        .post("/mailbox/delegates", json!({"email": person, "name": name}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    register_from_email(owner.t, person).await;
}

#[tokio::test]
async fn an_open_event_stream_ends_when_access_does() {
    let t = TestHub::start().await;
    let owner = t.user(SHARED).await;
    delegate_of(&owner, alice(), "Alice Smith").await;
    let (_, session) = sign_in_to_shared(&t, alice(), GOOD_PASSWORD, false).await;
    let token = session["access_token"].as_str().unwrap().to_owned();
    let mut stream = t
        .http
        .get(format!("{}/api/v1/events", t.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let first = stream.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("state"));
    let (_, list) = owner.get("/mailbox/delegates").await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    owner
        .call(Method::DELETE, &format!("/mailbox/delegates/{id}"), None)
        .await;
    let ended = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Ok(Some(chunk)) = stream.chunk().await {
            assert!(
                !String::from_utf8_lossy(&chunk).contains("event: state"),
                "nothing more is told to a removed person: {chunk:?}"
            );
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream ends at once");
}

#[tokio::test]
async fn access_ends_however_the_delegation_goes_and_a_new_one_starts_afresh() {
    let t = TestHub::start().await;
    let owner = t.user(SHARED).await;
    delegate_of(&owner, alice(), "Alice Smith").await;
    delegate_of(&owner, bob(), "Bob Jones").await;
    let (_, session) = sign_in_to_shared(&t, bob(), GOOD_PASSWORD, true).await;
    let bobs = as_user(&t, &session);
    // Bob's own account is deleted by the admin: his delegation goes with it.
    t.hub
        .delete_user(bob(), &sealpost_hub::Caller::cli())
        .await
        .unwrap();
    let (status, body) = bobs.get("/messages").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "access_removed")
    );

    // Alice is removed, then added again: her old session stays ended (without telling
    // her device to delete a copy she may keep), and a new sign-in works.
    let (_, session) = sign_in_to_shared(&t, alice(), GOOD_PASSWORD, false).await;
    let old = as_user(&t, &session);
    let (_, list) = owner.get("/mailbox/delegates").await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    owner
        .call(Method::DELETE, &format!("/mailbox/delegates/{id}"), None)
        .await;
    // (One invitation email per address every 10 minutes.)
    t.advance(chrono::Duration::minutes(11));
    let (status, body) = owner
        .post(
            "/mailbox/delegates",
            json!({"email": alice(), "name": "Alice Smith"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = old.get("/messages").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "session_expired"),
        "{body}"
    );
    let (status, body) = sign_in_to_shared(&t, alice(), GOOD_PASSWORD, false).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_shared_only_mailbox_cannot_get_a_password_back() {
    let t = TestHub::start().await;
    let owner = t.user(SHARED).await;
    // A reset link asked for while it still had a password.
    let r = t
        .post("/api/v1/password-resets", json!({"email": SHARED}))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let old_link = t.link_token(SHARED, "/reset").await;
    delegate_of(&owner, alice(), "Alice Smith").await;
    let caller = sealpost_hub::Caller::cli();
    t.hub.make_shared_only(SHARED, &caller).await.unwrap();
    let r = t
        .post(
            "/api/v1/password-resets/confirm",
            json!({"token": old_link, "new_password": "a brand new pass phrase"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "the old link is void");
    // Failing at its sign-in locks it, but emails no reset link.
    let before = t.emails_to(SHARED).await.len();
    for _ in 0..3 {
        t.sign_in(SHARED, "guessing at it", false).await;
    }
    let after = t.emails_to(SHARED).await;
    assert!(
        after[before..].iter().all(|e| !e.contains("/reset?token=")),
        "no reset link: {:?}",
        &after[before..]
    );
    // Switched off and on again, it is still shared-only, and its delegate works it.
    t.hub.disable_user(SHARED, &caller).await.unwrap();
    t.hub.enable_user(SHARED, &caller).await.unwrap();
    let user = t.hub.user(SHARED).await.unwrap();
    assert_eq!(user.status, "active");
    let (status, body) = sign_in_to_shared(&t, alice(), GOOD_PASSWORD, false).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn invitations_are_limited_so_they_cannot_be_used_to_send_mail() {
    let t = TestHub::start().await;
    let owner = t.user(SHARED).await;
    let (status, _) = owner
        .post(
            "/mailbox/delegates",
            json!({"email": CAROL, "name": "Carol"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = owner
        .post(
            "/mailbox/delegates",
            json!({"email": CAROL, "name": "Carol"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        "one invitation email per address every 10 minutes: {body}"
    );
    for n in 1..sealpost_hub::delegates::INVITES_PER_MAILBOX_PER_HOUR {
        let (status, body) = owner
            .post(
                "/mailbox/delegates",
                json!({"email": format!("person{n}@partner.example"), "name": "P"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{n}: {body}");
    }
    let (status, body) = owner
        .post(
            "/mailbox/delegates",
            json!({"email": "one.more@partner.example", "name": "P"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        "{body}"
    );
    t.advance(chrono::Duration::hours(1));
    let owner = t.signed_in(SHARED).await;
    let (status, _) = owner
        .post(
            "/mailbox/delegates",
            json!({"email": "one.more@partner.example", "name": "P"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "an hour later");
}

#[tokio::test]
async fn a_shared_only_mailbox_keeps_its_last_delegate() {
    let t = TestHub::start().await;
    let owner = t.user(SHARED).await;
    delegate_of(&owner, alice(), "Alice Smith").await;
    let caller = sealpost_hub::Caller::cli();
    t.hub.make_shared_only(SHARED, &caller).await.unwrap();
    let mailbox = t.hub.mailbox_by_email(SHARED).await.unwrap();
    let person = t.hub.mailbox_by_email(alice()).await.unwrap();
    let err = t
        .hub
        .remove_delegate(
            &mailbox.id,
            &person.id,
            sealpost_hub::delegates::ActingFor::Admin,
            &caller,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("last delegate"), "{err}");
    let err = t.hub.delete_user(alice(), &caller).await.unwrap_err();
    assert!(
        err.to_string().contains("last delegate"),
        "deleting her account would leave it unworked: {err}"
    );
    let (status, body) = sign_in_to_shared(&t, alice(), GOOD_PASSWORD, false).await;
    assert_eq!(status, StatusCode::CREATED, "she still works it: {body}");

    // A shared-only mailbox is nobody's delegate: it never signs in.
    t.registered(bob()).await;
    let bobs = t.signed_in(bob()).await;
    let (status, body) = bobs
        .post(
            "/mailbox/delegates",
            json!({"email": SHARED, "name": "Team"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "{body}"
    );

    // Its last manager cannot leave it without one (the admin still can manage).
    let new = |email: &str, role: &str| sealpost_proto::NewDelegate {
        email: email.into(),
        name: "Carol King".into(),
        role: Some(role.into()),
    };
    t.hub
        .add_delegate(
            &mailbox,
            &new(CAROL, "manager"),
            sealpost_hub::delegates::ActingFor::Admin,
            &caller,
        )
        .await
        .unwrap();
    register_from_email(&t, CAROL).await;
    let (_, session) = sign_in_to_shared(&t, CAROL, GOOD_PASSWORD, false).await;
    let carol = as_user(&t, &session);
    let (_, list) = carol.get("/mailbox/delegates").await;
    let me = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["email"] == CAROL)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = carol
        .call(Method::DELETE, &format!("/mailbox/delegates/{me}"), None)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conflict"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("last manager"),
        "{body}"
    );
}
