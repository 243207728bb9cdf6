//! The SMTP listener for the organisation's gateway, against the release `serve` binary on
//! loopback, for docs/benchmarks.md:
//!
//! 1. a 100 MB message (a 73 MB attachment, base64) received over STARTTLS: the time, and
//!    the hub's peak RSS growth meanwhile (target ≤ 64 MB);
//! 2. 1,000 small tagged messages over four sessions at once: messages per second;
//! 3. the 100 MB message again, DKIM-signed, from a session that proved nothing else
//!    (`dkim = "accept"`, the key looked up in a DNS server on loopback): the time and
//!    peak RSS growth, the body hash being computed as the message is spooled.

mod common;

use std::time::Instant;

use base64::Engine;
use common::ms;
use mail_auth::{
    common::{
        crypto::{RsaKey, Sha256 as Sha256Hash},
        headers::HeaderWriter,
    },
    dkim::DkimSigner,
};
use sealpost_hub::{
    smtp_in::SmtpInConfig,
    testing::{certificates, gateway::Client},
    Hub, InitOptions,
};
use sha2::{Digest, Sha256};

const SECRET: &str = "bench-gateway-secret";
const STAFF: &str = "case.worker@example.gov.uk";

/// A 2048-bit RSA DKIM key (made by openssl) and the TXT record publishing it.
fn dkim_key(dir: &std::path::Path) -> (RsaKey<Sha256Hash>, String) {
    use rustls_pki_types::pem::PemObject;
    let (pem, record) = certificates::dkim_key(dir, "dkim");
    let key = rustls_pki_types::PrivateKeyDer::from_pem_file(pem).unwrap();
    (RsaKey::<Sha256Hash>::from_key_der(key).unwrap(), record)
}

fn message(id: &str, to: &str, subject: &str, attachment: Option<&[u8]>) -> String {
    let mut m = format!(
        "From: Case Worker <{STAFF}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n\
         Message-ID: <{id}@example.gov.uk>\r\nMIME-Version: 1.0\r\n"
    );
    match attachment {
        None => m.push_str("Content-Type: text/plain\r\n\r\nThe update to your case.\r\n"),
        Some(bytes) => {
            m.push_str(
                "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
                 Content-Type: text/plain\r\n\r\nThe scans are attached.\r\n--b\r\n\
                 Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\
                 Content-Disposition: attachment; filename=\"scans.pdf\"\r\n\r\n",
            );
            let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
            for line in encoded.as_bytes().chunks(76) {
                m.push_str(std::str::from_utf8(line).unwrap());
                m.push_str("\r\n");
            }
            m.push_str("--b--\r\n");
        }
    }
    m
}

#[tokio::main]
async fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("hub");
    Hub::init(
        &data,
        InitOptions {
            org_name: "Bench Council".into(),
            org_domains: vec!["example.gov.uk".into()],
            public_url: "http://127.0.0.1:9".into(),
            store: None,
            blobs: None,
        },
    )
    .unwrap();
    let files = certificates::authority_and_server(tmp.path(), &["localhost"]);
    let (dkim_key, dkim_record) = dkim_key(tmp.path());
    let dns = sealpost_hub::testing::dns::Server::start(&[
        ("sel1._domainkey.example.gov.uk", dkim_record.as_str()),
        ("_dmarc.example.gov.uk", "v=DMARC1; p=reject"),
    ]);
    common::configure(&data, |c| {
        c.smtp_in = Some(SmtpInConfig {
            listen: "127.0.0.1:0".into(),
            hostname: None,
            tls_cert: files.cert.display().to_string(),
            tls_key: files.key.display().to_string(),
            client_ca: None,
            client_cert_sha256: Vec::new(),
            client_cert_names: Vec::new(),
            auth_secret_sha256: vec![hex::encode(Sha256::digest(SECRET))],
            allow_ips: Vec::new(),
            dkim: sealpost_hub::smtp_in::config::DkimUse::Accept,
            dns_servers: vec![dns.address.to_string()],
            subject_tag: "[secure]".into(),
            routing_domain: None,
            max_message_bytes: 105_000_000,
            max_recipients: 50,
            receipts: false,
        })
    });
    let (server, port) = common::Server::start_with_smtp(&data);
    let pid = server.child.id();

    // 1. A 100 MB message.
    let scans = common::pseudo_random(73_000_000, 7);
    let mut times = Vec::new();
    let mut growth = 0u64;
    let mut size = 0;
    for run in 0..3 {
        let big = message(
            &format!("big-{run}"),
            "referrals@partner.example",
            "[secure] Scans",
            Some(&scans),
        );
        size = big.len();
        let (mut c, said) = Client::signed_in(port, &files.ca, SECRET).await;
        assert!(said.starts_with("235"), "{said}");
        let before = common::proc_status_kib(pid, "VmRSS:");
        std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
        let start = Instant::now();
        let said = c.message(STAFF, &["referrals@partner.example"], &big).await;
        times.push(start.elapsed());
        assert!(said.starts_with("250"), "{said}");
        growth = growth.max(common::proc_status_kib(pid, "VmHWM:").saturating_sub(before));
    }
    let took = common::median(times);

    // 2. 1,000 small messages over four sessions at once.
    let start = Instant::now();
    let mut sessions = Vec::new();
    for s in 0..4 {
        let ca = files.ca.clone();
        sessions.push(tokio::spawn(async move {
            let (mut c, _) = Client::signed_in(port, &ca, SECRET).await;
            for i in 0..250 {
                let to = format!("person{}@partner.example", (s * 250 + i) % 20);
                let m = message(&format!("small-{s}-{i}"), &to, "[secure] Update", None);
                let said = c.message(STAFF, &[to.as_str()], &m).await;
                assert!(said.starts_with("250"), "{said}");
            }
        }));
    }
    for s in sessions {
        s.await.unwrap();
    }
    let small = start.elapsed();

    // 3. The 100 MB message proven by its DKIM signature alone.
    let signer = DkimSigner::from_key(dkim_key)
        .domain("example.gov.uk")
        .selector("sel1")
        .headers([
            "From",
            "To",
            "Subject",
            "Message-ID",
            "MIME-Version",
            "Content-Type",
        ]);
    let mut dkim_times = Vec::new();
    let mut dkim_growth = 0u64;
    for run in 0..3 {
        let big = message(
            &format!("signed-{run}"),
            "referrals@partner.example",
            "[secure] Scans",
            Some(&scans),
        );
        let signed = format!("{}{big}", signer.sign(big.as_bytes()).unwrap().to_header());
        let (mut c, _) = Client::connect(port).await;
        c.send("EHLO bench.example").await;
        let mut c = c.starttls(&files.ca).await;
        c.send("EHLO bench.example").await;
        let before = common::proc_status_kib(pid, "VmRSS:");
        std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
        let start = Instant::now();
        let said = c
            .message(STAFF, &["referrals@partner.example"], &signed)
            .await;
        dkim_times.push(start.elapsed());
        assert!(said.starts_with("250"), "{said}");
        dkim_growth =
            dkim_growth.max(common::proc_status_kib(pid, "VmHWM:").saturating_sub(before));
    }
    let dkim_took = common::median(dkim_times);
    drop(server);

    println!("## SMTP ingress (release serve, loopback, STARTTLS + AUTH)");
    println!();
    println!("| measure | value | target |");
    println!("|---|---|---|");
    println!(
        "| a {:.1} MB message (73 MB attachment, base64) received and stored (median of 3) | {} ({:.0} MB/s) | |",
        size as f64 / 1e6,
        ms(took),
        size as f64 / 1e6 / took.as_secs_f64()
    );
    println!(
        "| hub peak RSS growth while receiving it (max of 3) | {:.1} MiB | ≤ 64 MB |",
        growth as f64 / 1024.0
    );
    println!(
        "| 1,000 small messages over 4 sessions | {} ({:.0} messages/s) | |",
        ms(small),
        1000.0 / small.as_secs_f64()
    );
    println!(
        "| the same message DKIM-signed, proven by its signature alone (median of 3) | {} ({:.0} MB/s) | |",
        ms(dkim_took),
        size as f64 / 1e6 / dkim_took.as_secs_f64()
    );
    println!(
        "| hub peak RSS growth while checking and receiving it (max of 3) | {:.1} MiB | ≤ 64 MB |",
        dkim_growth as f64 / 1024.0
    );
    println!();
}
