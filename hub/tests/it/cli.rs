//! The `sealpost-hub` binary, run as an admin runs it.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

use crate::support::token_in;

fn hub_cmd() -> Command {
    Command::cargo_bin("sealpost-hub").unwrap()
}

fn run(args: &[&str]) -> (bool, String, String) {
    let out = hub_cmd()
        .args(args)
        .env("SEALPOST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn init(dir: &Path) {
    let (ok, out, err) = run(&[
        "init",
        "--data",
        dir.to_str().unwrap(),
        "--org-name",
        "Example Council",
        "--org-domain",
        "example.gov.uk",
        "--public-url",
        "http://127.0.0.1:9",
    ]);
    assert!(ok, "init works: {err}");
    assert!(out.contains("initialised a hub for Example Council"));
}

fn data_arg(dir: &Path) -> String {
    dir.to_str().unwrap().to_owned()
}

/// `admin token create --name "case system"`, as run.
fn token_create(dir: &Path) -> (bool, String, String) {
    run(&[
        "admin",
        "--data",
        &data_arg(dir),
        "token",
        "create",
        "--name",
        "case system",
    ])
}

/// A new org token's secret.
fn create_token(dir: &Path) -> String {
    let (ok, out, err) = token_create(dir);
    assert!(ok, "{err}");
    out.trim().to_owned()
}

#[test]
fn init_creates_the_hub_and_never_overwrites_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    init(&dir);
    for f in ["hub.toml", "master.key", "hub.db"] {
        assert!(dir.join(f).exists(), "{f} created");
    }
    let key = std::fs::read(dir.join("master.key")).unwrap();
    let (ok, _, err) = run(&[
        "init",
        "--data",
        &data_arg(&dir),
        "--org-name",
        "Other",
        "--org-domain",
        "other.example",
        "--public-url",
        "http://x.example",
    ]);
    assert!(!ok, "a second init fails");
    assert!(err.contains("already holds a hub"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
    assert_eq!(
        std::fs::read(dir.join("master.key")).unwrap(),
        key,
        "the key is untouched"
    );
}

#[test]
fn commands_on_an_uninitialised_directory_fail_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, _, err) = run(&["admin", "--data", &data_arg(tmp.path()), "user", "list"]);
    assert!(!ok);
    assert!(
        err.contains("not an initialised hub") && err.contains("sealpost-hub init"),
        "{err}"
    );
}

#[test]
fn send_then_admin_user_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    init(&dir);
    let attachment = tmp.path().join("plan.txt");
    std::fs::write(&attachment, "care plan").unwrap();
    let (ok, out, err) = run(&[
        "send",
        "--data",
        &data_arg(&dir),
        "--from",
        "case.worker@example.gov.uk",
        "--to",
        "referrals@partner.example",
        "--subject",
        "Referral",
        "--body",
        "Hello",
        "--attach",
        attachment.to_str().unwrap(),
    ]);
    assert!(ok, "send works: {err}");
    assert!(
        out.trim().starts_with("snd_"),
        "prints the message id: {out}"
    );
    let outbox: Vec<_> = std::fs::read_dir(dir.join("outbox")).unwrap().collect();
    assert_eq!(
        outbox.len(),
        1,
        "the notification is written at once, no server needed"
    );

    let (ok, out, _) = run(&["admin", "--data", &data_arg(&dir), "user", "list"]);
    assert!(ok);
    assert!(
        out.lines().next().unwrap().starts_with("EMAIL"),
        "a table with headers: {out}"
    );
    assert!(out.contains("referrals@partner.example") && out.contains("pending"));

    let (ok, out, _) = run(&["admin", "--data", &data_arg(&dir), "user", "list", "--json"]);
    assert!(ok);
    let users: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(users[0]["email"], "referrals@partner.example");
    assert_eq!(users[0]["inbox"], 1);

    let (ok, out, _) = run(&[
        "admin",
        "--data",
        &data_arg(&dir),
        "user",
        "show",
        "referrals@partner.example",
        "--json",
    ]);
    assert!(ok);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["status"],
        "pending"
    );

    for verb in ["unlock", "disable", "enable"] {
        let (ok, out, err) = run(&[
            "admin",
            "--data",
            &data_arg(&dir),
            "user",
            verb,
            "referrals@partner.example",
        ]);
        assert!(ok, "{verb}: {err}");
        assert!(out.contains("referrals@partner.example"));
    }
    let (ok, _, err) = run(&[
        "admin",
        "--data",
        &data_arg(&dir),
        "user",
        "show",
        "nobody@x.example",
    ]);
    assert!(!ok, "unknown user fails");
    assert!(
        err.contains("there is no user with the address nobody@x.example"),
        "{err}"
    );

    // Two-step sign-in is reset only where it is on; the refusal says so.
    let (ok, _, err) = run(&[
        "admin",
        "--data",
        &data_arg(&dir),
        "user",
        "reset-mfa",
        "referrals@partner.example",
    ]);
    assert!(!ok);
    assert!(
        err.contains("referrals@partner.example has no two-step sign-in to reset"),
        "{err}"
    );

    let (ok, out, _) = run(&["admin", "--data", &data_arg(&dir), "audit", "--since", "1h"]);
    assert!(ok);
    for event in ["org_message_sent", "disabled", "enabled", "unlocked"] {
        assert!(out.contains(event), "audit shows {event}: {out}");
    }
    let (ok, out, _) = run(&["admin", "--data", &data_arg(&dir), "audit", "--json"]);
    assert!(ok);
    for line in out.lines() {
        let entry: Value = serde_json::from_str(line).expect("one JSON object per line");
        assert!(entry["event"].is_string());
    }
    let (ok, out, _) = run(&["admin", "--data", &data_arg(&dir), "stats", "--json"]);
    assert!(ok);
    let stats: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(stats["messages"], 1);
    assert_eq!(stats["attachments"], 1);
    assert_eq!(stats["attachment_bytes"], 9);

    let (ok, out, _) = run(&[
        "admin",
        "--data",
        &data_arg(&dir),
        "user",
        "delete",
        "referrals@partner.example",
    ]);
    assert!(ok, "{out}");
    let blobs: usize = walk_count(&dir.join("blobs"));
    assert_eq!(blobs, 0, "deleting a user removes their attachment files");
}

fn walk_count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk_count(&p)
            } else {
                1
            }
        })
        .sum()
}

#[test]
fn send_refusals_are_one_clear_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    init(&dir);
    let (ok, _, err) = run(&[
        "send",
        "--data",
        &data_arg(&dir),
        "--from",
        "someone@gmail.example",
        "--to",
        "a@partner.example",
        "--subject",
        "s",
        "--body",
        "b",
    ]);
    assert!(!ok);
    assert!(
        err.contains("someone@gmail.example is not an address of the organisation"),
        "{err}"
    );
    let (ok, _, err) = run(&[
        "send",
        "--data",
        &data_arg(&dir),
        "--from",
        "case.worker@example.gov.uk",
        "--to",
        "a@partner.example",
        "--subject",
        "s",
        "--body",
        "b",
        "--attach",
        "/no/such/file",
    ]);
    assert!(!ok);
    assert!(err.contains("/no/such/file"), "{err}");
    let (ok, _, err) = run(&[
        "send",
        "--data",
        &data_arg(&dir),
        "--from",
        "case.worker@example.gov.uk",
        "--to",
        "a@partner.example",
        "--subject",
        "s",
        "--body",
        "b",
        "--body-html-file",
        "/no/such/page.html",
    ]);
    assert!(!ok);
    assert!(
        err.contains("Reading the HTML body from /no/such/page.html"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.join("outbox"))
            .map(|d| d.count())
            .unwrap_or(0),
        0,
        "nothing was sent"
    );
}

#[test]
fn token_create_list_revoke() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    init(&dir);
    let (ok, out, err) = token_create(&dir);
    assert!(ok);
    let token = out.trim();
    assert!(
        token.starts_with("spo_"),
        "the secret is printed once on stdout"
    );
    assert!(err.contains("shown only this once"));
    let (_, out, _) = run(&[
        "admin",
        "--data",
        &data_arg(&dir),
        "token",
        "list",
        "--json",
    ]);
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["name"], "case system");
    assert!(!out.contains(token), "listing never shows the secret");
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let (ok, _, _) = run(&["admin", "--data", &data_arg(&dir), "token", "revoke", &id]);
    assert!(ok);
    let (ok, _, err) = run(&["admin", "--data", &data_arg(&dir), "token", "revoke", &id]);
    assert!(!ok, "revoking twice fails");
    assert!(err.contains("no live org token"), "{err}");
}

/// `sealpost-hub serve` on a free port; returns it (stopped when dropped) and its address,
/// read from the line it prints once it accepts connections.
fn serve(dir: &Path) -> (Server, String) {
    serve_logging(dir, "warn", Stdio::null())
}

/// As [`serve`], logging at `level` to `log`.
fn serve_logging(dir: &Path, level: &str, log: Stdio) -> (Server, String) {
    let mut child = hub_cmd()
        .args(["serve", "--data", &data_arg(dir), "--listen", "127.0.0.1:0"])
        .env("SEALPOST_LOG", level)
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line names the address: {line:?}"))
        .to_owned();
    (server, url)
}

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serve_prints_its_address_and_answers_while_send_runs_beside_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    init(&dir);
    let (server, url) = serve(&dir);
    assert!(url.starts_with("http://127.0.0.1:"));

    let (ok, _, err) = run(&[
        "send",
        "--data",
        &data_arg(&dir),
        "--from",
        "case.worker@example.gov.uk",
        "--to",
        "referrals@partner.example",
        "--subject",
        "s",
        "--body",
        "b",
    ]);
    assert!(ok, "send works while serve runs: {err}");
    let eml = std::fs::read_dir(dir.join("outbox"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let token = token_in(&std::fs::read_to_string(eml).unwrap(), "/register").unwrap();

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let health = reqwest::get(format!("{url}/healthz")).await.unwrap();
        assert_eq!(health.status(), 200);
        let info = reqwest::get(format!("{url}/api/v1/registrations/{token}"))
            .await
            .unwrap();
        assert_eq!(
            info.status(),
            200,
            "the server sees what the other process stored"
        );
    });
    drop(server);
}

#[test]
fn a_second_serve_on_the_same_directory_is_refused_and_the_first_keeps_hearing_sends() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    init(&dir);
    let (first, _) = serve(&dir);
    let out = hub_cmd()
        .args([
            "serve",
            "--data",
            &data_arg(&dir),
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("another `sealpost-hub serve` is running on"),
        "says why: {err}"
    );
    assert!(out.stdout.is_empty(), "it never listened");
    drop(first);
    // A socket file the stopped server left does not count as a server.
    let (_second, url) = serve(&dir);
    assert!(url.starts_with("http://127.0.0.1:"));
}

#[test]
fn a_send_from_another_process_reaches_a_listening_client_and_sigterm_still_stops_serve() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    init(&dir);
    let data = data_arg(&dir);
    let send = move |subject: &str| {
        let (ok, _, err) = run(&[
            "send",
            "--data",
            &data,
            "--from",
            "case.worker@example.gov.uk",
            "--to",
            "referrals@partner.example",
            "--subject",
            subject,
            "--body",
            "b",
        ]);
        assert!(ok, "{err}");
    };
    send("first");
    let (mut server, url) = serve(&dir);
    let eml = std::fs::read_dir(dir.join("outbox"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let token = token_in(&std::fs::read_to_string(eml).unwrap(), "/register").unwrap();

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use futures_util::StreamExt;
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{url}/api/v1/registrations"))
            .json(&serde_json::json!({"token": token, "password": crate::support::GOOD_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let session: Value = http
            .post(format!("{url}/api/v1/sessions"))
            .json(&serde_json::json!({"email": "referrals@partner.example", "password": crate::support::GOOD_PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let access = session["access_token"].as_str().unwrap();
        let events = http.get(format!("{url}/api/v1/events")).bearer_auth(access).send().await.unwrap();
        let mut stream = events.bytes_stream();
        let first = stream.next().await.unwrap().unwrap();
        assert!(String::from_utf8_lossy(&first).contains("event: state"), "the current state comes first");

        let started = std::time::Instant::now();
        let send_again = send.clone();
        tokio::task::spawn_blocking(move || send_again("second")).await.unwrap();
        let next = tokio::time::timeout(std::time::Duration::from_secs(5), async {
            loop {
                let chunk = stream.next().await.unwrap().unwrap();
                if String::from_utf8_lossy(&chunk).contains("event: state") {
                    return std::time::Instant::now();
                }
            }
        })
        .await
        .expect("a state event arrived");
        let waited = next - started;
        // The send itself (a separate process) is part of the 2 s budget.
        assert!(waited < std::time::Duration::from_secs(2), "heard after {waited:?}");

        // An admin stops the server while this client still listens.
        let pid = server.0.id().to_string();
        let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let ended = tokio::time::timeout(std::time::Duration::from_secs(10), async {
            while let Some(Ok(_)) = stream.next().await {}
        })
        .await;
        assert!(ended.is_ok(), "stopping the server ends the open event stream");
        let mut status = None;
        for _ in 0..100 {
            status = server.0.try_wait().unwrap();
            if status.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let status = status.expect("serve exits on SIGTERM although a client was listening");
        assert!(status.success(), "a requested stop is a clean exit: {status}");
    });
}

#[test]
fn purge_reports_what_it_did_and_dry_run_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    init(&dir);
    let (ok, out, _) = run(&["admin", "--data", &data_arg(&dir), "purge", "--dry-run"]);
    assert!(ok);
    assert_eq!(
        out.trim(),
        "would delete 0 expired messages with 0 attachment files, 0 files left by crashes \
         (0 MB) and 0 empty pending mailboxes (nothing was changed)"
    );
    let (ok, out, _) = run(&["admin", "--data", &data_arg(&dir), "purge", "--json"]);
    assert!(ok);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["messages"], 0);
    assert_eq!(report["dry_run"], false);
}

#[test]
fn the_server_log_never_holds_passwords_tokens_or_content() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    init(&dir);
    let (ok, _, err) = run(&[
        "send",
        "--data",
        &data_arg(&dir),
        "--from",
        "case.worker@example.gov.uk",
        "--to",
        "referrals@partner.example",
        "--subject",
        "LOGMARKER subject",
        "--body",
        "LOGMARKER body",
    ]);
    assert!(ok, "{err}");
    let log_path = tmp.path().join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let (server, url) = serve_logging(&dir, "trace", Stdio::from(log));
    let eml = std::fs::read_dir(dir.join("outbox"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let token = token_in(&std::fs::read_to_string(eml).unwrap(), "/register").unwrap();
    let password = crate::support::GOOD_PASSWORD;

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (access, refresh) = rt.block_on(async {
        let http = reqwest::Client::new();
        http.post(format!("{url}/api/v1/registrations"))
            .json(&serde_json::json!({"token": token, "password": password}))
            .send()
            .await
            .unwrap();
        for wrong in ["wrong password one", "wrong password two"] {
            http.post(format!("{url}/api/v1/sessions"))
                .json(&serde_json::json!({"email": "referrals@partner.example", "password": wrong}))
                .send()
                .await
                .unwrap();
        }
        let s: Value = http
            .post(format!("{url}/api/v1/sessions"))
            .json(&serde_json::json!({"email": "referrals@partner.example", "password": password, "remember_me": true}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let access = s["access_token"].as_str().unwrap().to_owned();
        http.get(format!("{url}/api/v1/changes")).bearer_auth(&access).send().await.unwrap();
        (access, s["refresh_token"].as_str().unwrap().to_owned())
    });
    drop(server);
    let log = std::fs::read_to_string(&log_path).unwrap();
    let logged = log.lines().filter(|l| l.contains("request")).count();
    assert!(logged >= 5, "every request was logged ({logged}):\n{log}");
    assert!(
        !log.contains('\u{1b}'),
        "a log written to a file has no terminal colour codes"
    );
    assert!(
        log.contains("/api/v1/registrations"),
        "by route pattern:\n{log}"
    );
    for secret in [
        password,
        "wrong password one",
        token.as_str(),
        access.as_str(),
        refresh.as_str(),
        "LOGMARKER",
    ] {
        assert!(!log.contains(secret), "the log holds {secret:?}");
    }
}

#[test]
fn send_again_with_the_same_client_ref_sends_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    init(&dir);
    let send_as = |subject: &str, reference: &str| {
        run(&[
            "send",
            "--data",
            &data_arg(&dir),
            "--from",
            "case.worker@example.gov.uk",
            "--to",
            "referrals@partner.example",
            "--subject",
            subject,
            "--body",
            "Hello",
            "--client-ref",
            reference,
        ])
    };
    let send = |subject: &str| send_as(subject, "nightly-export-2026-12-01");
    let (ok, first, err) = send("Referral");
    assert!(ok, "{err}");
    let (ok, again, err) = send("Referral");
    assert!(ok, "a rerun of the same job succeeds: {err}");
    assert_eq!(again, first, "and prints the first id");
    let (ok, out, _) = run(&["admin", "--data", &data_arg(&dir), "user", "list", "--json"]);
    assert!(ok);
    let users: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(users[0]["inbox"], 1, "one copy was delivered");
    let (ok, _, err) = send("Another message");
    assert!(!ok, "the reference reused for another message is refused");
    assert!(err.contains("client_ref"), "{err}");
    let (ok, _, err) = send_as("Too long a reference", &"x".repeat(101));
    assert!(!ok, "a reference too long to keep whole is refused");
    assert!(err.contains("at most 100 characters"), "{err}");
}

#[test]
fn a_server_killed_mid_upload_leaves_a_file_that_purge_and_check_find_and_remove() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    init(&dir);
    let token = create_token(&dir);
    let (mut server, url) = serve(&dir);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // A 50 MB upload, arriving slowly; the server dies in the middle of it.
        let chunks = futures_util::stream::unfold(0u32, |n| async move {
            if n == 50 {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(40)).await;
            Some((
                Ok::<_, std::io::Error>(bytes::Bytes::from(vec![7u8; 1_000_000])),
                n + 1,
            ))
        });
        let upload = tokio::spawn(
            reqwest::Client::new()
                .post(format!("{url}/api/v1/org/uploads?name=scan.pdf"))
                .bearer_auth(&token)
                .body(reqwest::Body::wrap_stream(chunks))
                .send(),
        );
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        server.0.kill().unwrap(); // SIGKILL
        server.0.wait().unwrap();
        assert!(upload.await.unwrap().is_err(), "the upload was cut off");
    });
    let left = crate::support::files_under(&dir.join("blobs"));
    assert_eq!(
        left.len(),
        1,
        "the crash left a half-written file: {left:?}"
    );
    // An hour later (files younger than that may be uploads under way).
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&left[0])
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();

    let (ok, out, _) = run(&[
        "admin",
        "--data",
        &data_arg(&dir),
        "purge",
        "--dry-run",
        "--json",
    ]);
    assert!(ok);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report["leftovers"]["files"], 1,
        "purge --dry-run sees it: {out}"
    );
    assert!(left[0].exists(), "and changes nothing");

    let (ok, out, err) = run(&["admin", "--data", &data_arg(&dir), "check"]);
    assert!(
        !ok,
        "check exits non-zero while something does not add up: {out}"
    );
    assert!(out.contains("1 file nothing refers to"), "{out}");
    assert!(err.contains("remain"), "{err}");
    let (ok, out, err) = run(&["admin", "--data", &data_arg(&dir), "check", "--repair"]);
    assert!(ok, "repaired: {out} {err}");
    assert!(!left[0].exists(), "the file is gone");
    let (ok, out, _) = run(&["admin", "--data", &data_arg(&dir), "check"]);
    assert!(ok, "and the directory adds up: {out}");
}

#[test]
fn output_read_only_in_part_ends_the_command_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    init(&dir);
    // `sealpost-hub admin audit | head -1`: the reader has gone before the output is written.
    let mut child = hub_cmd()
        .args(["admin", "--data", &data_arg(&dir), "audit"])
        .env("SEALPOST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked"),
        "no panic on a closed pipe: {err}"
    );
    assert_eq!(out.status.code(), Some(0), "{err}");
}

/// The shipped unit, with `ExecStart` pointing at the binary under test.
fn unit_under_test(dir: &Path) -> std::path::PathBuf {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/sealpost-hub.service"),
    )
    .unwrap();
    let binary = assert_cmd::cargo::cargo_bin("sealpost-hub");
    let path = dir.join("sealpost-hub.service");
    std::fs::write(
        &path,
        unit.replace("/usr/bin/sealpost-hub", binary.to_str().unwrap()),
    )
    .unwrap();
    path
}

#[test]
fn the_systemd_unit_verifies_and_its_exposure_stays_low() {
    let tmp = tempfile::tempdir().unwrap();
    let unit = unit_under_test(tmp.path());
    let verify = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&unit)
        .output()
        .expect("systemd-analyze runs (Debian's systemd package)");
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let security = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&unit)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&security.stdout);
    let score: f64 = report
        .lines()
        .find_map(|l| l.split("sealpost-hub.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("an overall exposure level: {report}"));
    eprintln!("systemd-analyze security: exposure {score}");
    assert!(
        score <= 2.0,
        "the unit's exposure stays at 2.0 or under (systemd rates it OK): {score}\n{report}"
    );
}

#[test]
fn serve_tells_systemd_when_it_is_ready_and_reads_the_master_key_from_a_credential() {
    use std::os::unix::net::UnixDatagram;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    init(&dir);
    // As LoadCredential= hands it over: the key lives only in the credentials folder.
    let credentials = tmp.path().join("credentials");
    std::fs::create_dir(&credentials).unwrap();
    std::fs::rename(dir.join("master.key"), credentials.join("master.key")).unwrap();
    let socket_path = tmp.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut child = hub_cmd()
        .args([
            "serve",
            "--data",
            &data_arg(&dir),
            "--listen",
            "127.0.0.1:0",
        ])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("CREDENTIALS_DIRECTORY", &credentials)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server = Server(child);
    assert!(
        line.starts_with("listening on http://127.0.0.1:"),
        "serve opened with the credential's key: {line:?}"
    );
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).expect("a readiness notice");
    assert_eq!(
        String::from_utf8_lossy(&buf[..n]),
        "READY=1\n",
        "systemd hears that the hub is ready once it accepts connections"
    );
    let pid = server.0.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let n = socket.recv(&mut buf).expect("a stopping notice");
    assert_eq!(String::from_utf8_lossy(&buf[..n]), "STOPPING=1\n");
    let mut server = server;
    let exit = server.0.wait().unwrap();
    assert!(exit.success(), "a clean stop on SIGTERM: {exit:?}");
}

/// The newest `/register` token emailed to `to` in the outbox of `dir`, waiting up to 20 s
/// for the serving process to write it.
fn wait_for_register_token(dirs: &[&Path], to: &str) -> String {
    for _ in 0..200 {
        for dir in dirs {
            for file in crate::support::files_under(&dir.join("outbox")) {
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                if text.lines().any(|l| l == format!("To: {to}")) {
                    if let Some(token) = token_in(&text, "/register") {
                        return token;
                    }
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no registration email to {to} within 20 s");
}

#[test]
fn two_serve_processes_on_one_database_and_bucket_carry_on_when_one_is_killed() {
    use sealpost_hub::testing::{garage, postgres};
    let (Some(store), Some(bucket)) = (postgres::test_store(), garage::test_blobs()) else {
        return; // Needs the run's PostgreSQL and Garage (`make test` starts them).
    };
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    sealpost_hub::Hub::init(
        &a,
        sealpost_hub::InitOptions {
            org_name: "Example Council".into(),
            org_domains: vec!["example.gov.uk".into()],
            public_url: "http://hub.invalid".into(),
            store: Some(store),
            blobs: Some(bucket),
        },
    )
    .unwrap();
    // The second replica: a data directory with copies of hub.toml and master.key.
    sealpost_hub::config::private_dir(&b).unwrap();
    for file in ["hub.toml", "master.key"] {
        std::fs::copy(a.join(file), b.join(file)).unwrap();
    }
    let token = create_token(&a);
    let (mut server_a, url_a) = serve(&a);
    let (_server_b, url_b) = serve(&b);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let upload = |url: &str, bytes: Vec<u8>| {
            http.post(format!("{url}/api/v1/org/uploads?name=scan.pdf"))
                .bearer_auth(&token)
                .body(bytes)
                .send()
        };
        // Acknowledged by A.
        let kept: Vec<u8> = (0..2_000_000u32).map(|i| (i % 239) as u8).collect();
        let r = upload(&url_a, kept.clone()).await.unwrap();
        assert_eq!(r.status(), 201);
        let kept_id = r.json::<Value>().await.unwrap()["upload_id"].clone();
        // A is killed (SIGKILL) half-way through another upload.
        let chunks = futures_util::stream::unfold(0u32, |n| async move {
            if n == 30 {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(40)).await;
            Some((
                Ok::<_, std::io::Error>(bytes::Bytes::from(vec![7u8; 1_000_000])),
                n + 1,
            ))
        });
        let cut = tokio::spawn(
            http.post(format!("{url_a}/api/v1/org/uploads?name=cut.pdf"))
                .bearer_auth(&token)
                .body(reqwest::Body::wrap_stream(chunks))
                .send(),
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        server_a.0.kill().unwrap();
        server_a.0.wait().unwrap();
        assert!(
            cut.await.unwrap().is_err(),
            "the upload through A was cut off"
        );

        // The client goes on through B: the upload A acknowledged is attached there,
        // beside one made again through B.
        let again: Vec<u8> = (0..12_000_000u32).map(|i| (i % 233) as u8).collect();
        let r = upload(&url_b, again.clone()).await.unwrap();
        assert_eq!(r.status(), 201);
        let again_id = r.json::<Value>().await.unwrap()["upload_id"].clone();
        let r = http
            .post(format!("{url_b}/api/v1/org/messages"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"from": "case.worker@example.gov.uk",
                "to": ["alice@partner.example"], "subject": "Scans", "body_text": "two",
                "upload_ids": [kept_id, again_id]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());

        // B delivers the invitation; Alice registers and reads both files through B.
        let register = wait_for_register_token(&[&a, &b], "alice@partner.example");
        let r = http
            .post(format!("{url_b}/api/v1/registrations"))
            .json(
                &serde_json::json!({"token": register, "password": "plum kettle orbit sandstone"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let session: Value = http
            .post(format!("{url_b}/api/v1/sessions"))
            .json(&serde_json::json!({"email": "alice@partner.example",
                "password": "plum kettle orbit sandstone", "remember_me": false}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let access = session["access_token"].as_str().unwrap().to_owned();
        let inbox: Value = http
            .get(format!("{url_b}/api/v1/messages?folder=inbox"))
            .bearer_auth(&access)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let m = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["subject"] == "Scans")
            .expect("the message is in the inbox")
            .clone();
        let mut got = Vec::new();
        for a in m["attachments"].as_array().unwrap() {
            let bytes = http
                .get(format!(
                    "{url_b}/api/v1/messages/{}/attachments/{}",
                    m["id"].as_str().unwrap(),
                    a["id"].as_str().unwrap()
                ))
                .bearer_auth(&access)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            got.push(bytes.to_vec());
        }
        got.sort_by_key(|b| b.len());
        assert!(
            got.len() == 2 && got[0] == kept && got[1] == again,
            "both files read back whole through B, the one A acknowledged before it died too"
        );
    });
}

#[test]
fn recall_takes_back_a_sent_message_and_says_so_again() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    init(&dir);
    let data = data_arg(&dir);
    let (ok, out, err) = run(&[
        "send",
        "--data",
        &data,
        "--from",
        "case.worker@example.gov.uk",
        "--to",
        "referrals@partner.example",
        "--to",
        "team@care.example",
        "--subject",
        "Wrong person",
        "--body",
        "Not for you",
    ]);
    assert!(ok, "{err}");
    let id = out.trim().to_owned();
    let (ok, out, err) = run(&["recall", "--data", &data, &id]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("recalled {id}: 2 copies deleted"));
    let (ok, out, err) = run(&["recall", "--data", &data, &id]);
    assert!(ok, "{err}");
    assert!(
        out.starts_with(&format!("{id} was recalled on ")) && out.trim().ends_with("already"),
        "{out}"
    );
    let (ok, _, err) = run(&["recall", "--data", &data, "snd_unknown"]);
    assert!(!ok);
    assert!(
        err.contains("no message sent by staff has the id \"snd_unknown\""),
        "{err}"
    );
}

#[test]
fn status_tells_who_was_notified_and_who_has_not_registered() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    init(&dir);
    let data = data_arg(&dir);
    let (ok, out, err) = run(&[
        "send",
        "--data",
        &data,
        "--from",
        "case.worker@example.gov.uk",
        "--to",
        "referrals@partner.example",
        "--subject",
        "Referral",
        "--body",
        "Hello",
    ]);
    assert!(ok, "{err}");
    let id = out.trim().to_owned();
    let (ok, out, err) = run(&["status", "--data", &data, &id]);
    assert!(ok, "{err}");
    let mut lines = out.lines();
    assert!(
        lines.next().unwrap().starts_with(&format!("{id} sent ")),
        "{out}"
    );
    assert!(lines.next().unwrap().starts_with("RECIPIENT"), "{out}");
    let row = lines.next().unwrap();
    assert!(row.starts_with("referrals@partner.example"), "{out}");
    let (ok, out, err) = run(&["status", "--data", &data, &id, "--json"]);
    assert!(ok, "{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        json["recipients"][0]["address"],
        "referrals@partner.example"
    );
    assert!(
        json["recipients"][0]["notified_at"].is_string(),
        "send emails the notice at once: {json}"
    );
    assert!(json["recipients"][0]["registered_at"].is_null());
}

#[test]
fn admin_mailbox_commands_manage_delegates_and_shared_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    init(&dir);
    let data = data_arg(&dir);
    let shared = "care.referrals@partner.example";
    let (ok, _, err) = run(&[
        "send",
        "--data",
        &data,
        "--from",
        "case.worker@example.gov.uk",
        "--to",
        shared,
        "--subject",
        "Referral",
        "--body",
        "Hello",
    ]);
    assert!(ok, "{err}");
    let admin = |args: &[&str]| {
        let mut all = vec!["admin", "--data", data.as_str(), "mailbox"];
        all.extend_from_slice(args);
        run(&all)
    };
    let (ok, _, err) = admin(&["shared-only", shared]);
    assert!(!ok);
    assert!(err.contains("has no delegates yet"), "{err}");
    let (ok, out, err) = admin(&[
        "add-delegate",
        shared,
        "alice@partner.example",
        "--name",
        "Alice Smith",
        "--manager",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("added Alice Smith (alice@partner.example)") && out.contains("manager"),
        "{out}"
    );
    let (ok, _, err) = admin(&[
        "add-delegate",
        shared,
        "bob@care.example",
        "--name",
        "Bob\nBcc: x@example.org",
    ]);
    assert!(!ok, "a name on two lines is refused");
    assert!(err.contains("one line"), "{err}");
    let (ok, out, _) = admin(&["delegates", shared]);
    assert!(ok);
    assert!(out.starts_with("EMAIL"), "{out}");
    assert!(out.contains("Alice Smith") && out.contains("invited") && out.contains("admin"));
    let (ok, out, _) = admin(&["delegates", shared, "--json"]);
    assert!(ok);
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list[0]["email"], "alice@partner.example");
    let (ok, out, err) = admin(&["shared-only", shared]);
    assert!(ok, "{err}");
    assert!(out.contains("shared-only"), "{out}");
    let (ok, out, _) = run(&["admin", "--data", &data, "user", "show", shared]);
    assert!(ok);
    assert!(
        out.contains("shared-only:") && out.contains("alice@partner.example"),
        "{out}"
    );
    let (ok, _, err) = admin(&["remove-delegate", shared, "alice@partner.example"]);
    assert!(!ok, "a shared-only mailbox keeps its last delegate");
    assert!(err.contains("last delegate"), "{err}");
    let (ok, _, err) = admin(&[
        "add-delegate",
        shared,
        "bob@care.example",
        "--name",
        "Bob Jones",
    ]);
    assert!(ok, "{err}");
    let (ok, out, err) = admin(&["remove-delegate", shared, "alice@partner.example"]);
    assert!(ok, "{err}");
    assert!(out.contains("removed alice@partner.example"), "{out}");
    let (ok, _, err) = admin(&["remove-delegate", shared, "alice@partner.example"]);
    assert!(!ok, "twice: nothing to remove");
    assert!(err.contains("not found"), "{err}");
    let (ok, out, _) = run(&["admin", "--data", &data, "audit"]);
    assert!(ok);
    assert!(out.contains("PERSON") && out.contains("DEVICE"), "{out}");
    for event in ["delegate_added", "mailbox_shared_only", "delegate_removed"] {
        assert!(out.contains(event), "audit shows {event}: {out}");
    }
}

#[test]
fn admin_updates_checks_a_publication_before_the_apps_see_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("hub");
    init(&dir);
    let updates = |args: &[&str]| {
        let mut all = vec!["admin", "--data", dir.to_str().unwrap(), "updates"];
        all.extend_from_slice(args);
        run(&all)
    };
    let (ok, out, _) = updates(&[]);
    assert!(ok, "{out}");
    assert!(out.contains("offers no app updates"), "{out}");

    let config = dir.join("hub.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("\n[updates]\ndir = \"updates\"\n");
    std::fs::write(&config, text).unwrap();
    let folder = dir.join("updates");
    std::fs::create_dir(&folder).unwrap();
    let (public, secret) = crate::support::minisign_keys(tmp.path(), "release");
    let package = folder.join("Sealpost_0.2.0_amd64.deb");
    std::fs::write(&package, vec![1u8; 4096]).unwrap();
    let signature = crate::support::minisign_sign(&secret, &package, Some("0.2.0"));
    let manifest = serde_json::json!({
        "version": "0.2.0",
        "platforms": {"linux-x86_64-deb": {"url": "Sealpost_0.2.0_amd64.deb", "signature": signature}}
    });
    std::fs::write(folder.join("latest.json"), manifest.to_string()).unwrap();

    let key = public.to_str().unwrap();
    let (ok, out, err) = updates(&["--release-key", key]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("version: 0.2.0"), "{out}");
    assert!(
        out.contains("linux-x86_64-deb  Sealpost_0.2.0_amd64.deb"),
        "{out}"
    );
    assert!(out.contains("signature good, signed as 0.2.0"), "{out}");
    assert!(
        out.contains("ok: apps older than 0.2.0 are offered it, and its signatures are good"),
        "{out}"
    );
    let (ok, out, _) = updates(&[]);
    assert!(
        ok && out.contains("signatures not checked: give --release-key"),
        "{out}"
    );

    std::fs::write(&package, vec![2u8; 4096]).unwrap();
    let (ok, out, err) = updates(&["--release-key", key, "--json"]);
    assert!(!ok, "a package the apps would refuse fails the check");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["packages"][0]["signature_good"], false);
    assert!(err.contains("1 problem remains"), "{err}");

    let (ok, _, err) = updates(&["--release-key", "not a key"]);
    assert!(!ok);
    assert!(
        err.contains("the release key is not a minisign public key"),
        "{err}"
    );
}
