//! Secure mail from the organisation's gateway over SMTP: a real TLS session on loopback
//! against the hub's listener, as a gateway speaks it (STARTTLS, AUTH, MAIL, RCPT, DATA),
//! and the recipient reading the result through the API.

use std::sync::Arc;

use base64::Engine;
use sealpost_hub::smtp_in::{self, SmtpInConfig};
use sealpost_hub::testing::gateway::Client;
use sha2::{Digest, Sha256};

use crate::support::*;

const SECRET: &str = "gateway-secret-6f1c2b9e";

/// A hub with its SMTP listener (AUTH with [`SECRET`]) on a free loopback port.
struct Gateway {
    t: TestHub,
    port: u16,
    setup: Arc<smtp_in::Listener>,
    ca: std::path::PathBuf,
    _certs: tempfile::TempDir,
    _closing: tokio::sync::watch::Sender<bool>,
}

async fn gateway() -> Gateway {
    gateway_with(|_, _| {}).await
}

/// [`gateway`], its settings changed by `configure` (given the folder of the test's
/// authority, which also signs client certificates).
async fn gateway_with(configure: impl FnOnce(&mut SmtpInConfig, &std::path::Path)) -> Gateway {
    gateway_on(TestHub::start().await, configure).await
}

/// [`gateway_with`] on the hub `t`.
async fn gateway_on(
    t: TestHub,
    configure: impl FnOnce(&mut SmtpInConfig, &std::path::Path),
) -> Gateway {
    gateway_full(t, configure, smtp_in::Waits::default()).await
}

/// [`gateway`], its sessions waiting for their peer as `waits` says.
async fn gateway_waiting(waits: smtp_in::Waits) -> Gateway {
    gateway_full(TestHub::start().await, |_, _| {}, waits).await
}

async fn gateway_full(
    t: TestHub,
    configure: impl FnOnce(&mut SmtpInConfig, &std::path::Path),
    waits: smtp_in::Waits,
) -> Gateway {
    let certs = tempfile::tempdir().unwrap();
    let files =
        sealpost_hub::testing::certificates::authority_and_server(certs.path(), &["localhost"]);
    let mut config = SmtpInConfig {
        listen: "127.0.0.1:0".into(),
        hostname: Some("secure-in.example.gov.uk".into()),
        tls_cert: files.cert.display().to_string(),
        tls_key: files.key.display().to_string(),
        client_ca: None,
        client_cert_sha256: Vec::new(),
        client_cert_names: Vec::new(),
        auth_secret_sha256: vec![hex::encode(Sha256::digest(SECRET))],
        allow_ips: Vec::new(),
        dkim: smtp_in::config::DkimUse::Off,
        dns_servers: Vec::new(),
        subject_tag: "[secure]".into(),
        routing_domain: Some("secure.example.gov.uk".into()),
        max_message_bytes: 5_000_000,
        max_recipients: 5,
        receipts: true,
    };
    configure(&mut config, certs.path());
    let setup = Arc::new(
        smtp_in::Listener::new(&config, "http://hub.example")
            .unwrap()
            .with_waits(waits),
    );
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let (closing, closed) = tokio::sync::watch::channel(false);
    tokio::spawn(smtp_in::serve(t.hub.clone(), tcp, setup.clone(), closed));
    Gateway {
        t,
        port,
        setup,
        ca: files.ca,
        _certs: certs,
        _closing: closing,
    }
}

/// A message as Outlook or Thunderbird would write it: text, HTML, and a PDF with a
/// non-ASCII name in RFC 2231 form.
fn referral(message_id: &str, subject: &str, pdf: &[u8]) -> String {
    let pdf64 = base64::engine::general_purpose::STANDARD.encode(pdf);
    let wrapped: Vec<&str> = pdf64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "From: Case Worker <{staff}>\r\n\
         To: Alice <{alice}>\r\n\
         Subject: {subject}\r\n\
         Message-ID: <{message_id}>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
         \r\n\
         This is a multi-part message in MIME format.\r\n\
         --outer\r\n\
         Content-Type: multipart/alternative; boundary=\"inner\"\r\n\
         \r\n\
         --inner\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\
         \r\n\
         Dear Alice,=0D=0Athe care plan for Mrs Jones is attached. Caf=C3=A9 at 10.\r\n\
         .A line that starts with a dot.\r\n\
         --inner\r\n\
         Content-Type: text/html; charset=utf-8\r\n\
         \r\n\
         <p>Dear Alice,</p><p>the care plan is attached.</p>\r\n\
         --inner--\r\n\
         --outer\r\n\
         Content-Type: application/pdf\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename*=UTF-8''Pl%C3%A4n%20f%C3%BCr%20Frau%20J.pdf\r\n\
         \r\n\
         {body}\r\n\
         --outer--\r\n",
        staff = staff(),
        alice = alice(),
        body = wrapped.join("\r\n"),
    )
}

#[tokio::test]
async fn a_tagged_message_from_the_gateway_arrives_whole_and_a_retry_lands_once() {
    let g = gateway().await;
    let pdf: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 256) as u8).collect();
    let (mut c, said) = Client::signed_in(g.port, &g.ca, SECRET).await;
    assert!(said.starts_with("235"), "{said}");
    let message = referral(
        "case-4471@example.gov.uk",
        "[SECURE] Referral for Mrs Jones",
        &pdf,
    );
    let said = c.message(staff(), &[alice()], &message).await;
    assert!(said.starts_with("250"), "{said}");

    // The gateway never saw that 250 and sends the message again: no second copy.
    let (mut again, _) = Client::signed_in(g.port, &g.ca, SECRET).await;
    let retried = again.message(staff(), &[alice()], &message).await;
    assert!(retried.starts_with("250"), "{retried}");
    assert_eq!(retried, said, "the same receipt");

    // The member of staff gets one receipt (not two: the retry sent nothing), naming who
    // has the message waiting, and nothing of the message.
    let receipts = g.t.emails_to(staff()).await;
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    let receipt = &receipts[0];
    assert!(
        receipt.contains("Subject: Sent securely: 1 recipient"),
        "{receipt}"
    );
    assert!(receipt.contains(alice()) && receipt.contains("case-4471@example.gov.uk"));
    assert!(
        !receipt.contains("Mrs Jones") && !receipt.contains("care plan"),
        "{receipt}"
    );

    // The hub's own notification, routed back to the listener by a misconfigured
    // gateway (tagged, from the organisation's no-reply address): a loop, refused.
    let notification =
        g.t.emails_to(alice())
            .await
            .pop()
            .expect("Alice was notified");
    assert!(notification.contains("X-Sealpost-Hub: "), "{notification}");
    let looped = notification.replacen("Subject: ", "Subject: [secure] ", 1);
    let from = looped
        .lines()
        .find_map(|l| l.strip_prefix("From: "))
        .map(|f| {
            let f = f.trim();
            match (f.rfind('<'), f.rfind('>')) {
                (Some(a), Some(b)) if a < b => f[a + 1..b].to_owned(),
                _ => f.to_owned(),
            }
        })
        .unwrap();
    let said = again.message(&from, &[alice()], &looped).await;
    assert!(said.starts_with("554 5.4.6"), "{said}");

    let user = g.t.user(alice()).await;
    let inbox = user.folder("inbox").await;
    let found: Vec<_> = inbox
        .iter()
        .filter(|m| m["subject"] == "Referral for Mrs Jones")
        .collect();
    assert_eq!(found.len(), 1, "one message, the tag taken out: {inbox:?}");
    let m = found[0];
    let (_, full) = user
        .get(&format!("/messages/{}", m["id"].as_str().unwrap()))
        .await;
    let text = full["body_text"].as_str().unwrap();
    assert!(text.contains("Café at 10."), "{text}");
    assert!(text.contains("\n.A line that starts with a dot."), "{text}");
    assert!(
        full["body_html"]
            .as_str()
            .unwrap_or_default()
            .contains("care plan"),
        "{full}"
    );
    assert_eq!(m["attachments"][0]["name"], "Plän für Frau J.pdf", "{m}");
    assert_eq!(
        user.attachment(m, 0).await,
        pdf,
        "the attachment, byte for byte"
    );
}

#[tokio::test]
async fn each_refusal_is_said_at_the_command_that_breaks_the_rule() {
    let g = gateway().await;
    // No TLS: nothing may be sent.
    let (mut plain, greeting) = Client::connect(g.port).await;
    assert!(
        greeting.starts_with("220 secure-in.example.gov.uk"),
        "{greeting}"
    );
    let ehlo = plain.send("EHLO gw").await;
    assert!(
        ehlo.contains("STARTTLS") && !ehlo.contains("AUTH"),
        "{ehlo}"
    );
    let said = plain.send(&format!("MAIL FROM:<{}>", staff())).await;
    assert!(said.starts_with("530"), "{said}");

    // A wrong secret.
    let (_, said) = Client::signed_in(g.port, &g.ca, "not the secret").await;
    assert!(said.starts_with("535"), "{said}");

    let (mut c, _) = Client::signed_in(g.port, &g.ca, SECRET).await;
    // A sender outside the organisation.
    let said = c.send("MAIL FROM:<someone@elsewhere.example>").await;
    assert!(said.starts_with("550 5.7.1"), "{said}");
    // Too large, said at MAIL by its SIZE.
    let said = c
        .send(&format!("MAIL FROM:<{}> SIZE=9000000", staff()))
        .await;
    assert!(said.starts_with("552"), "{said}");
    // Too many recipients.
    assert!(c
        .send(&format!("MAIL FROM:<{}>", staff()))
        .await
        .starts_with("250"));
    for i in 0..5 {
        assert!(c
            .send(&format!("RCPT TO:<p{i}@partner.example>"))
            .await
            .starts_with("250"));
    }
    let said = c.send("RCPT TO:<p5@partner.example>").await;
    assert!(said.starts_with("452 4.5.3"), "{said}");
    assert!(c.send("RSET").await.starts_with("250"));

    // Not marked secure.
    let plain_subject = referral("m1@example.gov.uk", "Referral", b"x");
    let said = c.message(staff(), &[alice()], &plain_subject).await;
    assert!(
        said.starts_with("550 5.7.1") && said.contains("[secure]"),
        "{said}"
    );
    // A spoofed From: (the envelope is staff, the header is not).
    let spoofed = referral("m2@example.gov.uk", "[secure] Hi", b"x")
        .replace(&format!("<{}>", staff()), "<ceo@elsewhere.example>");
    let said = c.message(staff(), &[alice()], &spoofed).await;
    assert!(
        said.starts_with("550 5.7.1") && said.contains("From:"),
        "{said}"
    );
    // A loop: a hub's own trace header.
    let looped = format!(
        "X-Sealpost-Hub: secure-in.example.gov.uk\r\n{}",
        referral("m3@example.gov.uk", "[secure] Hi", b"x")
    );
    let said = c.message(staff(), &[alice()], &looped).await;
    assert!(said.starts_with("554 5.4.6"), "{said}");
    // Outlook's winmail.dat.
    let tnef = referral("m4@example.gov.uk", "[secure] Hi", b"x").replace(
        "Content-Type: application/pdf",
        "Content-Type: application/ms-tnef; name=\"winmail.dat\"",
    );
    let said = c.message(staff(), &[alice()], &tnef).await;
    assert!(
        said.starts_with("554") && said.contains("winmail.dat"),
        "{said}"
    );

    // Eleven attachments (the hub takes ten): nothing kept of the ten read before.
    let mut many = referral("m5@example.gov.uk", "[secure] Files", b"one");
    let part = "--outer\r\nContent-Type: text/plain; name=\"n.txt\"\r\n\
                Content-Disposition: attachment; filename=\"n.txt\"\r\n\r\nnote\r\n";
    many = many.replace("--outer--", &format!("{}--outer--", part.repeat(10)));
    let said = c.message(staff(), &[alice()], &many).await;
    assert!(
        said.starts_with("552 5.3.4") && said.contains("at most 10"),
        "{said}"
    );

    // None of these made a message, or left a file behind.
    assert!(
        g.t.emails_to(alice()).await.is_empty(),
        "nobody was notified"
    );
    let report =
        g.t.hub
            .check(false, &sealpost_hub::Caller::cli())
            .await
            .unwrap();
    assert_eq!(
        report.recent_unreferenced_files + report.orphan_files,
        0,
        "no spool file is left behind: {report:?}"
    );
    assert_eq!(
        g.t.blob_names(),
        Vec::<String>::new(),
        "the uploads made for refused messages are gone"
    );
}

#[tokio::test]
async fn a_recipient_under_the_routing_domain_is_secure_mail_without_a_tag() {
    let g = gateway().await;
    let (mut c, _) = Client::signed_in(g.port, &g.ca, SECRET).await;
    let message = referral("route-1@example.gov.uk", "Referral", b"%PDF-1.4 small").replace(
        &format!("To: Alice <{}>", alice()),
        "To: Alice <alice@partner.example.secure.example.gov.uk>",
    );
    let said = c
        .message(
            staff(),
            &["alice@partner.example.secure.example.gov.uk"],
            &message,
        )
        .await;
    assert!(said.starts_with("250"), "{said}");
    let user = g.t.user(alice()).await;
    let inbox = user.folder("inbox").await;
    let m = inbox.iter().find(|m| m["subject"] == "Referral").unwrap();
    let (_, full) = user
        .get(&format!("/messages/{}", m["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        full["to"],
        serde_json::json!([alice()]),
        "the routing domain is taken off the visible recipients: {full}"
    );
}

#[tokio::test]
async fn a_gateway_is_known_by_its_client_certificate_and_a_stranger_is_told_why_not() {
    let g = gateway_with(|c, dir| {
        c.auth_secret_sha256.clear();
        c.client_ca = Some(dir.join("ca.crt").display().to_string());
        let (cert, _) = sealpost_hub::testing::certificates::client(dir, "gateway");
        use rustls_pki_types::pem::PemObject;
        let der = rustls_pki_types::CertificateDer::from_pem_file(&cert).unwrap();
        c.client_cert_sha256 = vec![hex::encode(Sha256::digest(der.as_ref()))];
        sealpost_hub::testing::certificates::client(dir, "gateway-2");
    })
    .await;
    let dir = g.ca.parent().unwrap().to_owned();
    let session = |identity: Option<(std::path::PathBuf, std::path::PathBuf)>| {
        let (ca, port) = (g.ca.clone(), g.port);
        async move {
            let (mut c, _) = Client::connect(port).await;
            c.send("EHLO gw").await;
            let mut c = c
                .starttls_as(
                    &ca,
                    identity.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
                )
                .await;
            let ehlo = c.send("EHLO gw").await;
            assert!(
                !ehlo.contains("AUTH"),
                "no AUTH offered without secrets: {ehlo}"
            );
            c
        }
    };
    // The gateway's own certificate: it sends.
    let mut c = session(Some((dir.join("gateway.crt"), dir.join("gateway.key")))).await;
    let said = c
        .message(
            staff(),
            &[alice()],
            &referral("mtls@example.gov.uk", "[secure] Plan", b"%PDF"),
        )
        .await;
    assert!(said.starts_with("250"), "{said}");

    // Another certificate of the same authority, not the pinned one.
    let mut c = session(Some((dir.join("gateway-2.crt"), dir.join("gateway-2.key")))).await;
    let said = c.send(&format!("MAIL FROM:<{}>", staff())).await;
    assert!(
        said.starts_with("530 5.7.1") && said.contains("client_cert_sha256"),
        "{said}"
    );

    // A certificate from another authority.
    let other = tempfile::tempdir().unwrap();
    sealpost_hub::testing::certificates::authority_and_server(other.path(), &["elsewhere"]);
    let stranger = sealpost_hub::testing::certificates::client(other.path(), "stranger");
    let mut c = session(Some(stranger)).await;
    let said = c.send(&format!("MAIL FROM:<{}>", staff())).await;
    assert!(
        said.starts_with("530 5.7.1") && said.contains("not trusted"),
        "{said}"
    );

    // No certificate at all.
    let mut c = session(None).await;
    let said = c.send(&format!("MAIL FROM:<{}>", staff())).await;
    assert!(
        said.starts_with("530 5.7.1") && said.contains("no client certificate"),
        "{said}"
    );
}

/// Attachment `name` of message `m` (a summary), downloaded.
async fn attachment_named(user: &User<'_>, m: &serde_json::Value, name: &str) -> Vec<u8> {
    let index = m["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .position(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no attachment {name:?} in {m}"));
    user.attachment(m, index).await
}

#[tokio::test]
async fn what_staff_mail_clients_write_arrives_with_its_text_names_and_bytes() {
    let g = gateway().await;
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/data/staff_client_messages.py"
    );
    let made = std::process::Command::new("python3")
        .arg(script)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let (mut c, _) = Client::signed_in(g.port, &g.ca, SECRET).await;
    for name in ["inline", "forward", "eightbit", "latin1"] {
        let text = std::fs::read_to_string(dir.path().join(format!("{name}.eml"))).unwrap();
        let said = c.message(staff(), &[alice()], &text).await;
        assert!(said.starts_with("250"), "{name}: {said}");
    }
    let user = g.t.user(alice()).await;
    let inbox = user.folder("inbox").await;
    let find = |subject: &str| {
        inbox
            .iter()
            .find(|m| m["subject"] == subject)
            .unwrap_or_else(|| panic!("no {subject:?} in {inbox:?}"))
            .clone()
    };
    let body = |m: &serde_json::Value| {
        let id = m["id"].as_str().unwrap().to_owned();
        let user = &user;
        async move { user.get(&format!("/messages/{id}")).await.1 }
    };

    // HTML with an inline image: both bodies, and the image as an attachment.
    let m = find("Photo of the ramp");
    let full = body(&m).await;
    assert!(full["body_text"]
        .as_str()
        .unwrap()
        .contains("See the photo of the ramp."));
    assert!(
        full["body_html"].as_str().unwrap().contains("<img"),
        "{full}"
    );
    let png: Vec<u8> = (0..40).flat_map(|_| 0..=255u8).collect();
    assert_eq!(attachment_named(&user, &m, "ramp.png").await, png);

    // A forwarded message, kept whole as an .eml attachment.
    let m = find("Fwd: Original from the GP");
    assert!(body(&m).await["body_text"]
        .as_str()
        .unwrap()
        .contains("Forwarding the GP's letter."));
    let eml = attachment_named(&user, &m, "message-1.eml").await;
    let eml = String::from_utf8(eml).unwrap();
    assert!(eml.contains("Subject: Original from the GP") && eml.contains("The GP's letter."));

    // 8-bit UTF-8, an encoded-word subject and a long RFC 2231 name in three pieces.
    let m = find("Überweisung für Frau Jönsson");
    assert!(body(&m).await["body_text"]
        .as_str()
        .unwrap()
        .contains("Grüße aus dem Rathaus — der Plan ist beigefügt."));
    let pdf = b"%PDF-1.4 plan\n".repeat(500);
    assert_eq!(
        attachment_named(
            &user,
            &m,
            "Pflegeplan für Frau Jönsson – Überprüfung März 2026 (endgültige Fassung).pdf"
        )
        .await,
        pdf
    );

    // ISO-8859-1 in quoted-printable.
    let m = find("Café meeting");
    assert!(body(&m).await["body_text"]
        .as_str()
        .unwrap()
        .contains("Rendez-vous au café à 10 h."));
}

/// Waits (up to 30 s) until `to` has been emailed by the hub; panics with `log` if not.
async fn emailed(t: &TestHub, to: &str, log: impl Fn() -> String) {
    let start = std::time::Instant::now();
    while t.emails_to(to).await.is_empty() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "nothing reached {to}; the gateway's log:\n{}",
            log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_real_postfix_gateway_relays_secure_mail_and_a_refused_attempt_lands_once_later() {
    let g = gateway_with(|c, dir| {
        c.auth_secret_sha256.clear();
        c.client_ca = Some(dir.join("ca.crt").display().to_string());
        sealpost_hub::testing::certificates::client(dir, "postfix");
    })
    .await;
    let dir = g.ca.parent().unwrap().to_owned();
    let pf = sealpost_hub::testing::postfix::Postfix::start(
        g.port,
        "secure.example.gov.uk",
        &dir.join("postfix.crt"),
        &dir.join("postfix.key"),
    );
    // A member of staff's mail client hands two messages to the gateway: one tagged, one
    // to an address under the routing domain.
    let (mut outlook, _) = Client::connect(pf.port).await;
    outlook.send("EHLO outlook.example.gov.uk").await;
    let tagged = referral(
        "pf-1@example.gov.uk",
        "[secure] Through the gateway",
        b"%PDF-1",
    );
    let said = outlook.message(staff(), &[alice()], &tagged).await;
    assert!(said.starts_with("250"), "{said}");
    let routed = referral("pf-2@example.gov.uk", "Routed", b"%PDF-2");
    let said = outlook
        .message(
            staff(),
            &["bob@care.example.secure.example.gov.uk"],
            &routed,
        )
        .await;
    assert!(said.starts_with("250"), "{said}");
    emailed(&g.t, alice(), || pf.log()).await;
    emailed(&g.t, bob(), || pf.log()).await;

    // The hub cannot keep a message for a moment (its spool folder is in the way): it
    // answers 451, Postfix keeps the message and tries again; it lands once.
    let spool = g.t.data().join("spool");
    let _ = std::fs::remove_dir_all(&spool);
    std::fs::write(&spool, b"in the way").unwrap();
    let carol = "carol@partner.example";
    let deferred = referral("pf-3@example.gov.uk", "[secure] Deferred", b"%PDF-3");
    let said = outlook.message(staff(), &[carol], &deferred).await;
    assert!(said.starts_with("250"), "the gateway took it: {said}");
    let start = std::time::Instant::now();
    while !pf.log().contains("451 4.3.0") {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the hub's 451 is not in the gateway's log:\n{}",
            pf.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(g.t.emails_to(carol).await.is_empty(), "nothing yet");
    std::fs::remove_file(&spool).unwrap();
    pf.flush();
    emailed(&g.t, carol, || pf.log()).await;
    let user = g.t.user(carol).await;
    let copies = user
        .folder("inbox")
        .await
        .iter()
        .filter(|m| m["subject"] == "Deferred")
        .count();
    assert_eq!(copies, 1, "landed once");
}

#[tokio::test]
async fn a_retry_without_message_id_lands_once_and_broken_base64_is_refused() {
    let g = gateway().await;
    let (mut c, _) = Client::signed_in(g.port, &g.ca, SECRET).await;
    // No Message-ID (a client that writes none, a gateway that adds none): the bytes tell
    // the retry.
    let bare = referral("unused@example.gov.uk", "[secure] No id", b"%PDF")
        .replace("Message-ID: <unused@example.gov.uk>\r\n", "");
    assert!(!bare.contains("Message-ID"));
    let first = c.message(staff(), &[bob()], &bare).await;
    let second = c.message(staff(), &[bob()], &bare).await;
    assert!(first.starts_with("250"), "{first}");
    assert_eq!(first, second, "the same receipt");
    let user = g.t.user(bob()).await;
    let copies = user
        .folder("inbox")
        .await
        .iter()
        .filter(|m| m["subject"] == "No id")
        .count();
    assert_eq!(copies, 1);

    // An attachment that is not base64 although it says so: the message's fault (554),
    // not a failure the gateway should retry for days (451).
    let broken =
        referral("b64@example.gov.uk", "[secure] Broken", b"ok").replace("b2s=\r\n", "b2sxQ\r\n");
    let said = c.message(staff(), &[bob()], &broken).await;
    assert!(
        said.starts_with("554 5.6.0") && said.contains("base64"),
        "{said}"
    );
}

#[tokio::test]
async fn only_the_gateways_named_certificates_of_the_authority_are_taken() {
    let g = gateway_with(|c, dir| {
        c.auth_secret_sha256.clear();
        c.client_ca = Some(dir.join("ca.crt").display().to_string());
        c.client_cert_names = vec!["gateway.example.gov.uk".into()];
        sealpost_hub::testing::certificates::client(dir, "gateway");
        // A laptop's certificate from the same authority.
        sealpost_hub::testing::certificates::client(dir, "laptop-17");
    })
    .await;
    let dir = g.ca.parent().unwrap().to_owned();
    for (who, sends) in [("gateway", true), ("laptop-17", false)] {
        let (mut c, _) = Client::connect(g.port).await;
        c.send("EHLO gw").await;
        let mut c = c
            .starttls_as(
                &g.ca,
                Some((
                    &dir.join(format!("{who}.crt")),
                    &dir.join(format!("{who}.key")),
                )),
            )
            .await;
        c.send("EHLO gw").await;
        let said = c.send(&format!("MAIL FROM:<{}>", staff())).await;
        assert_eq!(said.starts_with("250"), sends, "{who}: {said}");
        if !sends {
            assert!(said.contains("client_cert_names"), "{said}");
        }
    }
}

/// A DKIM key of a mail service: the private key (PEM) and the TXT record that publishes
/// its public half (RFC 6376 3.6.1).
struct DkimKey {
    pem: std::path::PathBuf,
    record: String,
}

fn dkim_key(dir: &std::path::Path, name: &str) -> DkimKey {
    let (pem, record) = sealpost_hub::testing::certificates::dkim_key(dir, name);
    DkimKey { pem, record }
}

/// `message` signed by `domain`'s `key` over `headers` (dkimpy, relaxed/relaxed,
/// rsa-sha256).
fn dkim_sign(message: &str, selector: &str, domain: &str, key: &DkimKey, headers: &str) -> String {
    dkim_sign_with(message, selector, domain, key, headers, "rsa-sha256")
}

/// [`dkim_sign`] with another algorithm.
fn dkim_sign_with(
    message: &str,
    selector: &str,
    domain: &str,
    key: &DkimKey,
    headers: &str,
    algorithm: &str,
) -> String {
    use std::io::Write;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/data/dkim_sign.py");
    // Debian's Python, which python3-dkim is installed for.
    let mut signer = std::process::Command::new("/usr/bin/python3")
        .args([script, selector, domain])
        .arg(&key.pem)
        .arg(headers)
        .arg(algorithm)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    signer
        .stdin
        .take()
        .unwrap()
        .write_all(message.as_bytes())
        .unwrap();
    let signed = signer.wait_with_output().unwrap();
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    String::from_utf8(signed.stdout).unwrap()
}

/// A gateway session under TLS that proves nothing else (no certificate, no AUTH).
async fn tls_only(port: u16, ca: &std::path::Path) -> Client {
    let (mut c, _) = Client::connect(port).await;
    c.send("EHLO mail.protection.example").await;
    let mut c = c.starttls(ca).await;
    c.send("EHLO mail.protection.example").await;
    c
}

/// A DNS server on loopback that answers every query SERVFAIL (RFC 1035 4.1.1), as a
/// resolver does when it cannot reach a domain's servers; its address.
async fn failing_dns() -> String {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = socket.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            if n < 12 {
                continue;
            }
            // The header and the one question, without the query's EDNS record.
            let mut end = 12;
            while end < n && buf[end] != 0 {
                end += 1 + buf[end] as usize;
            }
            let end = (end + 5).min(n);
            let mut answer = buf[..end].to_vec();
            answer[2] = 0x80 | (buf[2] & 0x79); // QR, the opcode and RD kept
            answer[3] = 0x80 | 2; // RA, SERVFAIL
            answer[6..12].fill(0);
            let _ = socket.send_to(&answer, from).await;
        }
    });
    address
}

/// A hub taking DKIM as a proof (`mode`), whose DNS holds the organisation's key under
/// `sel2026`, its DMARC policy, and another domain's key; nothing else resolves (the DNS
/// server it is given fails every query).
async fn dkim_gateway(mode: smtp_in::config::DkimUse, org: &DkimKey, other: &DkimKey) -> Gateway {
    let dns = failing_dns().await;
    let g = gateway_with(|c, _| {
        c.dkim = mode;
        c.dns_servers = vec![dns];
    })
    .await;
    // The signatures are made now: the hub's clock reads the same time.
    g.t.catch_up_to_wall_clock();
    let dns = g.setup.dns().expect("DKIM is on");
    dns.publish("sel2026._domainkey.example.gov.uk", &org.record)
        .unwrap();
    dns.publish("_dmarc.example.gov.uk", "v=DMARC1; p=reject; adkim=s")
        .unwrap();
    dns.publish("s1._domainkey.partner.example", &other.record)
        .unwrap();
    for none in [
        "_dmarc.gov.uk",
        "_dmarc.uk",
        "_dmarc.partner.example",
        "_dmarc.example",
    ] {
        dns.publish_none(none);
    }
    g
}

/// The fields a mail service signs, as Exchange Online and OpenDKIM do.
const ALL_SIGNED: &str = "From,To,Cc,Subject,Date,Message-ID,MIME-Version,Content-Type";

/// A plain tagged note from staff to `to`, with `cc` if any.
fn note(message_id: &str, to: &str, cc: Option<&str>, body: &str) -> String {
    format!(
        "From: Case Worker <{staff}>\r\n\
         To: <{to}>\r\n\
         {cc}Subject: [secure] Visit on Thursday\r\n\
         Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n\
         Message-ID: <{message_id}>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         {body}\r\n",
        staff = staff(),
        cc = cc.map(|c| format!("Cc: <{c}>\r\n")).unwrap_or_default(),
    )
}

#[tokio::test]
async fn a_message_signed_with_the_organisations_dkim_key_proves_itself() {
    let keys = tempfile::tempdir().unwrap();
    let (org, other) = (dkim_key(keys.path(), "org"), dkim_key(keys.path(), "other"));
    let g = dkim_gateway(smtp_in::config::DkimUse::Accept, &org, &other).await;
    let sign = |m: &str, headers: &str| dkim_sign(m, "sel2026", "example.gov.uk", &org, headers);
    let all = ALL_SIGNED;

    // Without TLS, nothing.
    let (mut plain, _) = Client::connect(g.port).await;
    plain.send("EHLO mail.protection.example").await;
    let said = plain.send(&format!("MAIL FROM:<{}>", staff())).await;
    assert!(said.starts_with("530"), "{said}");

    let mut c = tls_only(g.port, &g.ca).await;
    // Signed by the organisation, aligned with From: (strictly, as its DMARC asks).
    let body = "The visit is at 10:00. Bring the signed consent form.";
    let good = sign(&note("dk-1@example.gov.uk", alice(), None, body), all);
    let said = c.message(staff(), &[alice()], &good).await;
    assert!(said.starts_with("250"), "{said}");

    // The same message changed after it was signed.
    let tampered =
        sign(&note("dk-2@example.gov.uk", alice(), None, body), all).replace("10:00", "11:00");
    let said = c.message(staff(), &[alice()], &tampered).await;
    assert!(
        said.starts_with("550 5.7.1 DKIM: the signature of example.gov.uk did not verify"),
        "{said}"
    );
    // Not signed at all.
    let said = c
        .message(
            staff(),
            &[alice()],
            &note("dk-3@example.gov.uk", alice(), None, body),
        )
        .await;
    assert!(
        said.starts_with("550 5.7.1 The message carries no DKIM signature"),
        "{said}"
    );
    // Signed, validly, by someone else's domain, with the organisation's From:.
    let theirs = dkim_sign(
        &note("dk-4@example.gov.uk", alice(), None, body),
        "s1",
        "partner.example",
        &other,
        all,
    );
    let said = c.message(staff(), &[alice()], &theirs).await;
    assert!(
        said.starts_with(
            "550 5.7.1 DKIM: the message is signed by partner.example, which is not aligned"
        ),
        "{said}"
    );
    // The organisation's signed message sent on to a recipient it does not name (a Bcc,
    // or a replay of a signed message to someone else).
    let replay = sign(&note("dk-5@example.gov.uk", alice(), None, body), all);
    let said = c.message(staff(), &[alice(), bob()], &replay).await;
    assert!(
        said.starts_with(&format!(
            "550 5.7.1 <{}> is not in the message's signed To:",
            bob()
        )),
        "{said}"
    );
    // A signature that leaves To: out: the recipients are not proven.
    let loose = sign(
        &note("dk-6@example.gov.uk", alice(), None, body),
        "From,Subject",
    );
    let said = c.message(staff(), &[alice()], &loose).await;
    assert!(
        said.starts_with("550 5.7.1 DKIM: the signature does not cover"),
        "{said}"
    );
    // A key that cannot be looked up: a temporary failure, for the gateway to retry.
    let unknown = dkim_sign(
        &note("dk-7@example.gov.uk", alice(), None, body),
        "sel2025",
        "example.gov.uk",
        &org,
        all,
    );
    let said = c.message(staff(), &[alice()], &unknown).await;
    assert!(said.starts_with("451 4.7.5"), "{said}");
    // Cc'd recipients are named, so they may be in the envelope.
    let copied = sign(
        &note("dk-8@example.gov.uk", alice(), Some(bob()), body),
        all,
    );
    let said = c.message(staff(), &[alice(), bob()], &copied).await;
    assert!(said.starts_with("250"), "{said}");

    let user = g.t.user(alice()).await;
    let inbox = user.folder("inbox").await;
    assert_eq!(
        inbox
            .iter()
            .filter(|m| m["subject"] == "Visit on Thursday")
            .count(),
        2,
        "only the two proven messages: {inbox:?}"
    );
    let visit = inbox
        .iter()
        .find(|m| m["subject"] == "Visit on Thursday")
        .unwrap();
    let (_, full) = user
        .get(&format!("/messages/{}", visit["id"].as_str().unwrap()))
        .await;
    assert!(
        full["body_text"].as_str().unwrap().contains("at 10:00"),
        "{full}"
    );
}

#[tokio::test]
async fn with_dkim_required_an_authenticated_gateway_must_still_send_signed_mail() {
    let keys = tempfile::tempdir().unwrap();
    let (org, other) = (dkim_key(keys.path(), "org"), dkim_key(keys.path(), "other"));
    let g = dkim_gateway(smtp_in::config::DkimUse::Require, &org, &other).await;
    let body = "Minutes attached in the next message.";

    // DKIM alone is not enough here: the session must prove itself first.
    let mut unproven = tls_only(g.port, &g.ca).await;
    let said = unproven.send(&format!("MAIL FROM:<{}>", staff())).await;
    assert!(said.starts_with("530"), "{said}");

    let (mut c, said) = Client::signed_in(g.port, &g.ca, SECRET).await;
    assert!(said.starts_with("235"), "{said}");
    let said = c
        .message(
            staff(),
            &[alice()],
            &note("rq-1@example.gov.uk", alice(), None, body),
        )
        .await;
    assert!(
        said.starts_with("550 5.7.1 The message carries no DKIM signature"),
        "{said}"
    );
    // Signed, and the session proven: taken. A Bcc is not: the signature is what proves
    // the message, and it does not cover the envelope.
    let signed = dkim_sign(
        &note("rq-2@example.gov.uk", alice(), None, body),
        "sel2026",
        "example.gov.uk",
        &org,
        ALL_SIGNED,
    );
    let said = c.message(staff(), &[alice(), bob()], &signed).await;
    assert!(
        said.starts_with(&format!(
            "550 5.7.1 <{}> is not in the message's signed To:",
            bob()
        )),
        "{said}"
    );
    let said = c.message(staff(), &[alice()], &signed).await;
    assert!(said.starts_with("250"), "{said}");
    let inbox = g.t.user(alice()).await.folder("inbox").await;
    assert_eq!(
        inbox
            .iter()
            .filter(|m| m["subject"] == "Visit on Thursday")
            .count(),
        1,
        "{inbox:?}"
    );
}

/// `content` (a MIME entity) signed with S/MIME by a certificate of the test's own, as a
/// mail client signs: `openssl cms -sign`, lines ended CRLF for the wire. Returns the
/// message and the signer's certificate (PEM file).
fn smime_signed(dir: &std::path::Path, content: &str) -> (String, std::path::PathBuf) {
    let (cert, input) = (dir.join("signer.crt"), dir.join("content"));
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
        out.stdout
    };
    if !cert.exists() {
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            "signer.key",
            "-out",
            "signer.crt",
            "-subj",
            "/CN=Case Worker/emailAddress=case.worker@example.gov.uk",
        ]);
    }
    std::fs::write(&input, content).unwrap();
    let signed = run(&[
        "cms",
        "-sign",
        "-in",
        "content",
        "-signer",
        "signer.crt",
        "-inkey",
        "signer.key",
        "-from",
        staff(),
        "-to",
        alice(),
        "-subject",
        "[secure] Signed letter",
    ]);
    let text = String::from_utf8(signed).unwrap();
    let crlf: Vec<&str> = text.lines().collect();
    (crlf.join("\r\n") + "\r\n", cert)
}

/// A signed letter's content: text and a small PDF.
fn letter(pdf: &[u8]) -> String {
    format!(
        "Content-Type: multipart/mixed; boundary=\"letter\"\r\n\
         \r\n\
         --letter\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         Signed by the council.\r\n\
         --letter\r\n\
         Content-Type: application/pdf\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"decision.pdf\"\r\n\
         \r\n\
         {}\r\n\
         --letter--\r\n",
        base64::engine::general_purpose::STANDARD.encode(pdf)
    )
}

#[tokio::test]
async fn an_smime_signed_message_is_kept_whole_so_its_signature_still_verifies() {
    let g = gateway().await;
    let dir = tempfile::tempdir().unwrap();
    let pdf: Vec<u8> = (0..3_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let (message, signer) = smime_signed(dir.path(), &letter(&pdf));
    let (mut c, _) = Client::signed_in(g.port, &g.ca, SECRET).await;
    let said = c.message(staff(), &[alice()], &message).await;
    assert!(said.starts_with("250"), "{said}");

    let user = g.t.user(alice()).await;
    let inbox = user.folder("inbox").await;
    let m = inbox
        .iter()
        .find(|m| m["subject"] == "Signed letter")
        .unwrap_or_else(|| panic!("{inbox:?}"));
    let (_, full) = user
        .get(&format!("/messages/{}", m["id"].as_str().unwrap()))
        .await;
    assert!(
        full["body_text"]
            .as_str()
            .unwrap()
            .contains("Signed by the council."),
        "{full}"
    );
    let names: Vec<&str> = m["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["decision.pdf", "signed-message.eml"],
        "the attachment to open, and the whole signed message in place of smime.p7s"
    );
    assert_eq!(attachment_named(&user, m, "decision.pdf").await, pdf);
    // The recipient's mail program (here openssl) checks the signature of the copy.
    let kept = dir.path().join("kept.eml");
    std::fs::write(
        &kept,
        attachment_named(&user, m, "signed-message.eml").await,
    )
    .unwrap();
    let verified = std::process::Command::new("openssl")
        .args(["cms", "-verify", "-CAfile"])
        .arg(&signer)
        .arg("-in")
        .arg(&kept)
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(String::from_utf8_lossy(&verified.stdout).contains("Signed by the council."));

    // A hub whose limits the whole copy would pass keeps the signature file instead.
    let small = TestHub::start_with(|c| c.limits.max_attachment_bytes = 6_000).await;
    let g = gateway_on(small, |_, _| {}).await;
    let (mut c, _) = Client::signed_in(g.port, &g.ca, SECRET).await;
    let said = c.message(staff(), &[alice()], &message).await;
    assert!(said.starts_with("250"), "{said}");
    let user = g.t.user(alice()).await;
    let inbox = user.folder("inbox").await;
    let m = inbox
        .iter()
        .find(|m| m["subject"] == "Signed letter")
        .unwrap_or_else(|| panic!("{inbox:?}"));
    let names: Vec<&str> = m["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["decision.pdf", "smime.p7s"]);
}

/// A small tmpfs mounted over a folder (the test runs as root, as the Postfix one does),
/// unmounted when dropped.
struct FullDisk(std::path::PathBuf);

impl FullDisk {
    fn over(path: &std::path::Path, size: &str) -> Self {
        std::fs::create_dir_all(path).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .unwrap();
        assert!(out.status.success(), "mount (needs root): {out:?}");
        FullDisk(path.to_owned())
    }
}

impl Drop for FullDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[tokio::test]
async fn a_full_disk_while_spooling_is_a_retry_for_the_gateway_and_loses_nothing() {
    let g = gateway().await;
    let pdf: Vec<u8> = (0..300_000u32).map(|i| (i * 13 % 256) as u8).collect();
    let message = referral("full-1@example.gov.uk", "[secure] Large referral", &pdf);
    let spool = g.t.data().join("spool");
    let (mut c, _) = Client::signed_in(g.port, &g.ca, SECRET).await;
    {
        // 64 KiB: the message's first bytes fit, the rest do not.
        let _full = FullDisk::over(&spool, "64k");
        let said = c.message(staff(), &[alice()], &message).await;
        assert!(
            said.starts_with("451 4.3.0 The hub could not keep the message just now"),
            "{said}"
        );
        // Nothing half-written is kept (removed once its writer has stopped).
        let start = std::time::Instant::now();
        while std::fs::read_dir(&spool).unwrap().next().is_some() {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(5),
                "a half-written spool file is left"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // The session goes on: the gateway can send the next message on it.
        assert!(c.send("NOOP").await.starts_with("250"));
    }
    // Space again: the gateway's retry lands, once.
    let said = c.message(staff(), &[alice()], &message).await;
    assert!(said.starts_with("250"), "{said}");
    let user = g.t.user(alice()).await;
    let inbox = user.folder("inbox").await;
    let found: Vec<_> = inbox
        .iter()
        .filter(|m| m["subject"] == "Large referral")
        .collect();
    assert_eq!(found.len(), 1, "{inbox:?}");
    assert_eq!(
        attachment_named(&user, found[0], "Plän für Frau J.pdf").await,
        pdf
    );
}

#[tokio::test]
async fn envelope_addresses_in_other_unicode_forms_are_one_person_and_invisible_characters_are_refused(
) {
    let g = gateway().await;
    let (mut c, _) = Client::signed_in(g.port, &g.ca, SECRET).await;

    // Characters that show nothing would make an address look like another's: refused,
    // and the reply shows them escaped rather than acting on the gateway's log.
    for (rcpt, shown) in [
        (
            "alice\u{200B}@partner.example",
            "alice\\u{200b}@partner.example",
        ),
        (
            "alice\u{202E}@partner.example",
            "alice\\u{202e}@partner.example",
        ),
        (
            "\u{FEFF}alice@partner.example",
            "\\u{feff}alice@partner.example",
        ),
    ] {
        assert!(c
            .send(&format!("MAIL FROM:<{}> SMTPUTF8", staff()))
            .await
            .starts_with("250"));
        let said = c.send(&format!("RCPT TO:<{rcpt}>")).await;
        assert!(
            said.starts_with(&format!("501 5.1.3 <{shown}> is not a valid address")),
            "{rcpt:?}: {said}"
        );
        c.send("RSET").await;
    }
    let said = c
        .send("MAIL FROM:<case.worker\u{200B}@example.gov.uk> SMTPUTF8")
        .await;
    assert!(
        said.starts_with("550 5.7.1 <case.worker\\u{200b}@example.gov.uk> is not an address"),
        "{said}"
    );
    c.send("RSET").await;

    // Full-width letters and a decomposed é: the same people as their usual spelling.
    let body = |id: &str| {
        note(
            id,
            "alice@partner.example",
            Some("zoé@partner.example"),
            "Hello",
        )
    };
    let said = c
        .message(
            staff(),
            &["ａｌｉｃｅ@partner.example", "zoe\u{301}@partner.example"],
            &body("forms-1@example.gov.uk"),
        )
        .await;
    assert!(said.starts_with("250"), "{said}");
    let said = c
        .message(
            staff(),
            &["alice@partner.example", "zo\u{e9}@partner.example"],
            &body("forms-1@example.gov.uk"),
        )
        .await;
    assert!(said.starts_with("250"), "{said}");
    let inbox = g.t.user(alice()).await.folder("inbox").await;
    assert_eq!(
        inbox
            .iter()
            .filter(|m| m["subject"] == "Visit on Thursday")
            .count(),
        1,
        "one person, one message: the second send is the first one's retry: {inbox:?}"
    );
}

#[tokio::test]
async fn a_gateway_that_stalls_mid_message_is_closed_after_the_wait_and_nothing_is_kept() {
    // RFC 5321's three minutes, shortened: the rule, not its length, is under test.
    let waits = smtp_in::Waits {
        data: std::time::Duration::from_secs(2),
        ..smtp_in::Waits::default()
    };
    let g = gateway_waiting(waits).await;
    let (mut c, _) = Client::signed_in(g.port, &g.ca, SECRET).await;
    assert!(c
        .send(&format!("MAIL FROM:<{}>", staff()))
        .await
        .starts_with("250"));
    assert!(c
        .send(&format!("RCPT TO:<{}>", alice()))
        .await
        .starts_with("250"));
    assert!(c.send("DATA").await.starts_with("354"));
    let whole = note(
        "stall-1@example.gov.uk",
        alice(),
        None,
        "Half of this arrives.",
    );
    let before = std::time::Instant::now();
    c.write_raw(&whole.as_bytes()[..whole.len() / 2]).await;
    let said = c.reply().await;
    let waited = before.elapsed();
    assert!(said.starts_with("421 4.4.2"), "{said}");
    assert!(
        waited >= std::time::Duration::from_millis(1900),
        "closed before the wait: {waited:?}"
    );
    assert_eq!(
        c.reply().await,
        "",
        "the connection is closed after the 421"
    );

    // The half message is not kept, and not sent.
    let spool = g.t.data().join("spool");
    let start = std::time::Instant::now();
    while std::fs::read_dir(&spool).is_ok_and(|mut d| d.next().is_some()) {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "a half message is left in the spool"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let inbox = g.t.user(alice()).await.folder("inbox").await;
    assert!(
        inbox.iter().all(|m| m["subject"] != "Visit on Thursday"),
        "{inbox:?}"
    );
}

#[tokio::test]
async fn dkim_keys_and_dmarc_policies_are_looked_up_in_the_dns_servers_named() {
    let keys = tempfile::tempdir().unwrap();
    let org = dkim_key(keys.path(), "org");
    // A real DNS server on loopback, with nothing in the listener's cache.
    let dns = sealpost_hub::testing::dns::Server::start(&[
        ("sel2026._domainkey.example.gov.uk", &org.record),
        ("_dmarc.example.gov.uk", "v=DMARC1; p=reject"),
    ]);
    let g = gateway_with(|c, _| {
        c.dkim = smtp_in::config::DkimUse::Accept;
        c.dns_servers = vec![dns.address.to_string()];
    })
    .await;
    g.t.catch_up_to_wall_clock();
    let mut c = tls_only(g.port, &g.ca).await;
    let all = ALL_SIGNED;
    let body = "Looked up, not preloaded.";
    let signed = dkim_sign(
        &note("dns-1@example.gov.uk", alice(), None, body),
        "sel2026",
        "example.gov.uk",
        &org,
        all,
    );
    let said = c.message(staff(), &[alice()], &signed).await;
    assert!(said.starts_with("250"), "{said}");
    // A selector the domain does not publish (NXDOMAIN): no key, no proof.
    let unpublished = dkim_sign(
        &note("dns-2@example.gov.uk", alice(), None, body),
        "old",
        "example.gov.uk",
        &org,
        all,
    );
    let said = c.message(staff(), &[alice()], &unpublished).await;
    assert!(
        said.starts_with("550 5.7.1 DKIM: the signature of example.gov.uk did not verify"),
        "{said}"
    );
}

#[tokio::test]
async fn a_signed_message_cannot_be_reshaped_or_replayed_to_pass_as_the_organisations() {
    let keys = tempfile::tempdir().unwrap();
    let (org, other) = (dkim_key(keys.path(), "org"), dkim_key(keys.path(), "other"));
    let g = dkim_gateway(smtp_in::config::DkimUse::Accept, &org, &other).await;
    let sign = |m: &str| dkim_sign(m, "sel2026", "example.gov.uk", &org, ALL_SIGNED);
    let body = "The panel meets at 10:00.";
    let mut c = tls_only(g.port, &g.ca).await;
    let refused = |said: &str, why: &str| {
        assert!(
            said.starts_with(&format!("550 5.7.1 DKIM: {why}")),
            "{why}: {said}"
        )
    };

    // An outsider's own valid signature, with a second From: naming staff.
    let two_froms = dkim_sign(
        &note("rs-1@example.gov.uk", alice(), None, body).replacen(
            "From: ",
            "From: <clerk@partner.example>\r\nFrom: ",
            1,
        ),
        "s1",
        "partner.example",
        &other,
        ALL_SIGNED,
    );
    refused(
        &c.message(staff(), &[alice()], &two_froms).await,
        "the message has more than one From: field",
    );
    // A genuine signed message with lines added to its header, that one parser would take
    // as header and another as body, or not at all.
    let good = sign(&note("rs-2@example.gov.uk", alice(), None, body));
    let (head, rest) = good.split_once("\r\n\r\n").unwrap();
    for (added, why) in [
        (
            "Not a header\r\nSubject: [secure] Forged\r\n".to_owned(),
            "the message's header has a line that is not a header field",
        ),
        (
            "X-Note: a\nb\r\n".to_owned(),
            "the message's header has a line break without its CR or LF",
        ),
        (
            "Cc : bob@care.example\r\n".to_owned(),
            "the header field name",
        ),
        (
            "Subject: [secure] Forged\r\n".to_owned(),
            "the message has more than one Subject: field",
        ),
        (
            "Reply-To: <pay@partner.example>\r\n".to_owned(),
            "the signature does not cover",
        ),
        (
            format!("X-Pad: {}\r\n", "a".repeat(70_000)),
            "a line of the message's header is over 998 characters",
        ),
    ] {
        let reshaped = format!("{head}\r\n{added}\r\n{rest}");
        refused(&c.message(staff(), &[alice()], &reshaped).await, why);
    }
    // A CR added to the body: DKIM's body hash does not see it; the MIME reader would.
    let carriage = good.replacen("at 10:00", "at 10:\r00", 1);
    refused(
        &c.message(staff(), &[alice()], &carriage).await,
        "the message's body has a line break without its CR or LF",
    );
    // rsa-sha1, which RFC 8301 retired.
    let sha1 = dkim_sign_with(
        &note("rs-3@example.gov.uk", alice(), None, body),
        "sel2026",
        "example.gov.uk",
        &org,
        ALL_SIGNED,
        "rsa-sha1",
    );
    refused(
        &c.message(staff(), &[alice()], &sha1).await,
        "the organisation's signature uses rsa-sha1",
    );

    // The genuine message, relayed with another staff sender in the envelope: taken once;
    // a second relay of it, by anyone, is the same message, not a new one. The receipt
    // goes to the signed From:, not to the envelope's sender.
    let first = c.message("team@example.gov.uk", &[alice()], &good).await;
    assert!(first.starts_with("250"), "{first}");
    let again = c.message("other@example.gov.uk", &[alice()], &good).await;
    assert_eq!(again, first, "the same message");
    assert!(g.t.emails_to("team@example.gov.uk").await.is_empty());
    assert!(g.t.emails_to("other@example.gov.uk").await.is_empty());
    assert_eq!(
        g.t.emails_to(staff()).await.len(),
        1,
        "one receipt, to the signed From:"
    );

    // Days later, the same signature is too old to prove anything.
    g.t.catch_up_to_wall_clock();
    g.t.advance(chrono::Duration::days(3));
    let old = sign(&note("rs-4@example.gov.uk", alice(), None, body));
    refused(
        &c.message(staff(), &[alice()], &old).await,
        "the signature's time (its t=, or the Date: it covers) is missing or more than two days from now",
    );
}
