//! The `sealpost` command line, run as a person or a script runs it, against a real hub on
//! loopback, with the real OS keyring (`make test` provides one through
//! scripts/with-keyring.sh).

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use sealpost_hub::testing::{TestServer, STAFF};

const GOOD_PASSWORD: &str = "plum kettle orbit sandstone";

fn alice() -> &'static str {
    "alice@partner.example"
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sealpost"))
}

struct Run {
    code: i32,
    out: String,
    err: String,
}

/// Registers alice from her emailed link and signs her in with Remember me.
async fn registered_and_remembered(hub: &TestServer, d: &Path) {
    let token = hub.link_token(alice(), "/register").await;
    let link = format!("{}/register?token={token}", hub.url);
    let r = run(d, &["register", &link], &format!("{GOOD_PASSWORD}\n")).await;
    assert_eq!(r.code, 0, "{}", r.err);
    let r = run(d, &["sign-in", "--remember"], &format!("{GOOD_PASSWORD}\n")).await;
    assert_eq!(r.code, 0, "{}", r.err);
}

fn sealpost(data: &Path, args: &[&str], stdin: &str) -> Run {
    sealpost_in(data, args, stdin, "UTC")
}

fn sealpost_in(data: &Path, args: &[&str], stdin: &str, tz: &str) -> Run {
    let mut child = Command::new(binary())
        .args(args)
        .env("SEALPOST_DATA_DIR", data)
        // This machine's own system-wide settings, if it has any, play no part.
        .env(
            "SEALPOST_SYSTEM_CONFIG",
            data.join("no-system-settings.toml"),
        )
        .env("TZ", tz)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sealpost binary is built with the workspace");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn run(data: &Path, args: &[&str], stdin: &str) -> Run {
    let (data, args, stdin) = (
        data.to_owned(),
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        stdin.to_owned(),
    );
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        sealpost(&data, &args, &stdin)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_script_registers_syncs_reads_sends_and_searches() {
    if std::env::var_os("SEALPOST_REAL_KEYRING").is_none() {
        eprintln!("skipped: no Secret Service session (run through scripts/with-keyring.sh)");
        return;
    }
    let hub = TestServer::start().await;
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let plan = files.path().join("plan.txt");
    std::fs::write(&plan, "the care plan").unwrap();
    hub.org_send_files(
        alice(),
        "Referral for Mrs Jones",
        "Please confirm the visit",
        &[plan],
    )
    .await;
    let token = hub.link_token(alice(), "/register").await;
    let link = format!("{}/register?token={token}", hub.url);
    let d = data.path();

    let r = run(d, &["register", &link], &format!("{GOOD_PASSWORD}\n")).await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out.contains("registered alice@partner.example"),
        "{}",
        r.out
    );
    assert!(
        r.err.contains("At least 15 characters"),
        "the rules are shown: {}",
        r.err
    );

    let r = run(d, &["sign-in", "--remember"], &format!("{GOOD_PASSWORD}\n")).await;
    assert_eq!(r.code, 0, "{}", r.err);
    let r = run(d, &["sync", "--json"], "").await;
    assert_eq!(r.code, 0, "{}", r.err);
    let report: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(report["new_mail"], 1);

    let r = run(d, &["list", "--json"], "").await;
    let list: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    let id = list[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(list[0]["subject"], "Referral for Mrs Jones");
    let r = run(d, &["list"], "").await;
    assert!(r.out.starts_with('*'), "unread is marked: {}", r.out);

    let r = run(d, &["read", &id], "").await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out.contains("Please confirm the visit")
            && r.out.contains("Attachment: plan.txt (13 bytes, id att_"),
        "{}",
        r.out
    );

    let saved = files.path().join("saved.txt");
    let r = run(
        d,
        &[
            "save-attachment",
            &id,
            "plan.txt",
            "--to",
            saved.to_str().unwrap(),
        ],
        "",
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), "the care plan");

    let r = run(d, &["search", "jones"], "").await;
    assert!(r.out.contains(&id), "{}", r.out);

    let r = run(d, &["send", "--reply", &id, "--body", "Tuesday works"], "").await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.starts_with("sent msg_"), "{}", r.out);
    let emails = hub.emails_to(STAFF).await;
    let reply = emails
        .iter()
        .find(|e| e.contains("Tuesday works"))
        .expect("the reply reached the organisation");
    assert!(
        reply.contains("Subject: Re: Referral for Mrs Jones"),
        "it is titled after what it answers: {reply}"
    );
    assert!(
        reply.contains("> "),
        "and quotes the original below: {reply}"
    );
    // Addresses of its own: a reply goes to the sender only, and says so.
    let r = run(
        d,
        &["send", "--reply", &id, "--to", STAFF, "--body", "More"],
        "",
    )
    .await;
    assert_eq!(r.code, 5, "{}", r.err);
    assert!(r.err.contains("sender only"), "{}", r.err);

    let r = run(
        d,
        &["send", "--to", "friend@gmail.example", "--subject", "x"],
        "",
    )
    .await;
    assert_eq!(
        r.code, 5,
        "a policy refusal has its own exit code: {}",
        r.err
    );
    assert!(r.err.contains("Remove: friend@gmail.example"), "{}", r.err);

    let r = run(d, &["sign-out"], "").await;
    assert_eq!(r.code, 0, "{}", r.err);
    // As under cron: no password on standard input, three runs.
    for _ in 0..3 {
        let r = run(d, &["sync"], "").await;
        assert_eq!(
            r.code, 4,
            "after sign-out the password is needed again: {}",
            r.err
        );
        assert!(r.err.contains("sign in needed"), "{}", r.err);
    }
    assert_eq!(
        hub.audit_count("sign_in_failed").await,
        0,
        "no password it did not get was ever sent to the hub"
    );
    let r = run(d, &["sign-in"], "\n").await;
    assert_eq!(r.code, 4, "an empty line is no password either: {}", r.err);

    let r = run(d, &["account", "remove", alice()], "").await;
    assert_eq!(r.code, 0, "{}", r.err);
    let r = run(d, &["account", "list", "--json"], "").await;
    assert_eq!(r.out.trim(), "[]");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_syncs_at_once_share_remember_me() {
    if std::env::var_os("SEALPOST_REAL_KEYRING").is_none() {
        eprintln!("skipped: no Secret Service session (run through scripts/with-keyring.sh)");
        return;
    }
    let hub = TestServer::start().await;
    let data = tempfile::tempdir().unwrap();
    hub.org_send(&[alice()], "Welcome", "First").await;
    let d = data.path();
    registered_and_remembered(&hub, d).await;
    for round in 1..=3 {
        // A scheduled sync starting while another runs (or the app refreshes).
        let (a, b) = tokio::join!(run(d, &["sync"], ""), run(d, &["sync"], ""));
        assert_eq!(a.code, 0, "round {round}, first: {}", a.err);
        assert_eq!(b.code, 0, "round {round}, second: {}", b.err);
    }
    let r = run(d, &["sync"], "").await;
    assert_eq!(r.code, 0, "the device is still signed in: {}", r.err);
    let _ = run(d, &["account", "remove", alice()], "").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn attachments_are_named_by_id_times_are_local_and_nothing_reaches_the_terminal_raw() {
    if std::env::var_os("SEALPOST_REAL_KEYRING").is_none() {
        eprintln!("skipped: no Secret Service session (run through scripts/with-keyring.sh)");
        return;
    }
    let hub = TestServer::start().await;
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let (a, b) = (files.path().join("a"), files.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::write(a.join("notes.txt"), "first notes").unwrap();
    std::fs::write(b.join("notes.txt"), "second, longer notes").unwrap();
    hub.org_send_files(
        alice(),
        "Two notes \u{1b}[2J\u{1b}[31mred",
        "Body with \u{1b}]0;title\u{7} an escape",
        &[a.join("notes.txt"), b.join("notes.txt")],
    )
    .await;
    let d = data.path();
    registered_and_remembered(&hub, d).await;
    assert_eq!(run(d, &["sync"], "").await.code, 0);
    let r = run(d, &["list", "--json"], "").await;
    let list: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let ids: Vec<String> = list[0]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();

    let r = run(d, &["read", &id], "").await;
    assert_eq!(r.code, 0, "{}", r.err);
    for att in &ids {
        assert!(
            r.out.contains(att.as_str()),
            "read shows each attachment's id: {}",
            r.out
        );
    }
    assert!(
        !r.out.contains('\u{1b}') && !r.out.contains('\u{7}'),
        "no escape sequence reaches the terminal: {:?}",
        r.out
    );
    assert!(
        r.out.contains("\\u{1b}]0;title"),
        "it is shown instead: {}",
        r.out
    );

    let to = files.path().join("saved.txt");
    let to = to.to_str().unwrap();
    let r = run(d, &["save-attachment", &id, "notes.txt", "--to", to], "").await;
    assert_ne!(r.code, 0, "two attachments have that name: {}", r.out);
    for att in &ids {
        assert!(
            r.err.contains(att.as_str()),
            "the refusal lists the ids: {}",
            r.err
        );
    }
    assert!(!Path::new(to).exists(), "nothing was saved");
    let r = run(d, &["save-attachment", &id, &ids[1], "--to", to], "").await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(std::fs::read_to_string(to).unwrap(), "second, longer notes");
    // A file already there is never replaced without being asked.
    let r = run(d, &["save-attachment", &id, &ids[0], "--to", to], "").await;
    assert_ne!(r.code, 0, "an existing file is not overwritten: {}", r.out);
    assert!(
        r.err.contains("--force"),
        "the way to replace it is said: {}",
        r.err
    );
    assert_eq!(std::fs::read_to_string(to).unwrap(), "second, longer notes");
    let r = run(
        d,
        &["save-attachment", &id, &ids[0], "--to", to, "--force"],
        "",
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(std::fs::read_to_string(to).unwrap(), "first notes");

    // A full disk (/dev/full answers every write with ENOSPC): said plainly, and the
    // attachment is still there to save elsewhere.
    let r = run(
        d,
        &[
            "save-attachment",
            &id,
            &ids[1],
            "--to",
            "/dev/full",
            "--force",
        ],
        "",
    )
    .await;
    assert_ne!(r.code, 0, "{}", r.out);
    assert!(r.err.contains("the disk is full"), "{}", r.err);
    let elsewhere = files.path().join("elsewhere.txt");
    let r = run(
        d,
        &[
            "save-attachment",
            &id,
            &ids[1],
            "--to",
            elsewhere.to_str().unwrap(),
        ],
        "",
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(
        std::fs::read_to_string(&elsewhere).unwrap(),
        "second, longer notes"
    );

    // Output read only in part (`| head -1`): the reader goes away, the command ends
    // quietly with no panic.
    let (data_dir, id_for) = (d.to_owned(), id.clone());
    let out = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(binary())
            .args(["read", &id_for])
            .env("SEALPOST_DATA_DIR", &data_dir)
            .env("TZ", "UTC")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // closed before anything is written
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked"),
        "no panic on a closed pipe: {err}"
    );
    assert_eq!(out.status.code(), Some(0), "{err}");

    // Times in the reader's zone, with the zone said.
    let (data_dir, id_for) = (d.to_owned(), id.clone());
    let r = tokio::task::spawn_blocking(move || {
        sealpost_in(&data_dir, &["read", &id_for], "", "IST-5:30")
    })
    .await
    .unwrap();
    assert!(
        r.out.contains("+05:30"),
        "local time with its offset: {}",
        r.out
    );
    let _ = run(d, &["account", "remove", alice()], "").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_step_sign_in_is_turned_on_used_and_turned_off_on_the_terminal() {
    let hub = TestServer::start().await;
    hub.org_send(&[alice()], "Welcome", "First message").await;
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let token = hub.link_token(alice(), "/register").await;
    let link = format!("{}/register?token={token}", hub.url);
    assert_eq!(
        run(d, &["register", &link], &format!("{GOOD_PASSWORD}\n"))
            .await
            .code,
        0
    );
    let r = run(d, &["sign-in", "--remember"], &format!("{GOOD_PASSWORD}\n")).await;
    assert_eq!(r.code, 0, "{}", r.err);

    // `mfa on` shows the key, then takes the code the app shows: answered as a person
    // would, after reading the key.
    let mut child = Command::new(binary())
        .args(["mfa", "on"])
        .env("SEALPOST_DATA_DIR", d)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{GOOD_PASSWORD}").unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let mut shown = Vec::new();
    let secret = loop {
        let line = lines.next().expect("the key is shown").unwrap();
        shown.push(line.clone());
        if line.starts_with("Scan the code") {
            break lines.next().unwrap().unwrap().trim().to_owned();
        }
    };
    assert_eq!(secret.replace(' ', "").len(), 32, "{secret}");
    let code = hub.authenticator_code(&secret);
    writeln!(stdin, "{code}").unwrap();
    drop(stdin);
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}");
    let recovery: Vec<&str> = rest
        .iter()
        .map(|l| l.trim())
        .filter(|l| l.len() == 11 && l.as_bytes()[5] == b'-')
        .collect();
    assert_eq!(
        recovery.len(),
        10,
        "ten recovery codes shown once: {rest:?}"
    );

    let r = run(d, &["mfa", "status"], "").await;
    assert!(r.out.contains("on; 10 recovery codes left"), "{}", r.out);
    // A sign-in now asks for the code after the password.
    assert_eq!(run(d, &["sign-out"], "").await.code, 0);
    let r = run(d, &["sign-in"], &format!("{GOOD_PASSWORD}\n")).await;
    assert_ne!(r.code, 0);
    assert!(r.err.contains("no code was given"), "{}", r.err);
    hub.advance(chrono::Duration::seconds(30));
    let code = hub.authenticator_code(&secret);
    let r = run(d, &["sign-in"], &format!("{GOOD_PASSWORD}\n{code}\n")).await;
    assert_eq!(r.code, 0, "{}", r.err);
    // The same code again is refused, and says so; a recovery code works in its place.
    let r = run(
        d,
        &["sign-in", "--code", &code],
        &format!("{GOOD_PASSWORD}\n"),
    )
    .await;
    assert_ne!(r.code, 0);
    assert!(
        r.err.contains("not right, or was used already"),
        "{}",
        r.err
    );
    let r = run(
        d,
        &["sign-in", "--remember", "--code", recovery[0]],
        &format!("{GOOD_PASSWORD}\n"),
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.err);
    let r = run(
        d,
        &["mfa", "off", "--code", recovery[1]],
        &format!("{GOOD_PASSWORD}\n"),
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.contains("two-step sign-in is off"));
    let r = run(d, &["mfa", "status"], "").await;
    assert!(r.out.contains("off"), "{}", r.out);
}

#[tokio::test]
async fn a_shared_mailbox_is_worked_by_named_people_on_the_terminal() {
    const SHARED: &str = "care.referrals@partner.example";
    let hub = TestServer::start().await;
    hub.org_send(&[SHARED], "Referral 7", "Confidential").await;
    let owner_dir = tempfile::tempdir().unwrap();
    let owner = owner_dir.path();
    let token = hub.link_token(SHARED, "/register").await;
    let link = format!("{}/register?token={token}", hub.url);
    assert_eq!(
        run(owner, &["register", &link], &format!("{GOOD_PASSWORD}\n"))
            .await
            .code,
        0
    );
    let r = run(
        owner,
        &["sign-in", "--remember"],
        &format!("{GOOD_PASSWORD}\n"),
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.err);
    let r = run(
        owner,
        &["mailbox", "invite", alice(), "--name", "Alice Smith"],
        "",
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.contains("invited Alice Smith"), "{}", r.out);
    let r = run(owner, &["mailbox", "people"], "").await;
    assert!(
        r.out.contains("Alice Smith") && r.out.contains("invited"),
        "{}",
        r.out
    );

    // Alice registers from her invitation and signs in as herself: the shared mailbox
    // comes beside her own.
    let alice_dir = tempfile::tempdir().unwrap();
    let mine = alice_dir.path();
    let token = hub.link_token(alice(), "/register").await;
    let link = format!("{}/register?token={token}", hub.url);
    let r = run(mine, &["register", &link], &format!("{GOOD_PASSWORD}\n")).await;
    assert_eq!(r.code, 0, "{}", r.err);
    let r = run(
        mine,
        &["sign-in", "--remember"],
        &format!("{GOOD_PASSWORD}\n"),
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out
            .contains(&format!("added the shared mailbox {SHARED}")),
        "{}",
        r.out
    );
    let r = run(mine, &["account", "list"], "").await;
    assert!(
        r.out.contains(&format!("{SHARED}  (as {})", alice())),
        "{}",
        r.out
    );
    let r = run(mine, &["--account", SHARED, "list"], "").await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.contains("Referral 7"), "{}", r.out);
    // A member cannot invite.
    let r = run(
        mine,
        &[
            "--account",
            SHARED,
            "mailbox",
            "invite",
            "bob@care.example",
            "--name",
            "Bob",
        ],
        "",
    )
    .await;
    assert_ne!(r.code, 0);
    assert!(r.err.contains("owner or a manager"), "{}", r.err);

    // The owner removes her; her next sync deletes the copy and says why.
    let r = run(owner, &["mailbox", "remove", alice()], "").await;
    assert_eq!(r.code, 0, "{}", r.err);
    let r = run(mine, &["--account", SHARED, "sync"], "").await;
    assert_eq!(r.code, 4, "{} {}", r.out, r.err);
    assert!(r.err.contains("no longer have access"), "{}", r.err);
    let r = run(mine, &["account", "list"], "").await;
    assert!(!r.out.contains(SHARED), "the copy is gone: {}", r.out);
    assert!(r.out.contains(alice()), "{}", r.out);
}

#[tokio::test]
async fn a_mistyped_sign_in_keeps_remember_me_and_delete_moves_to_deleted() {
    let hub = TestServer::start().await;
    hub.org_send(&[alice()], "Welcome", "First message").await;
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    registered_and_remembered(&hub, d).await;
    let r = run(d, &["sign-in"], "not the password\n").await;
    assert_eq!(r.code, 4, "{}", r.err);
    let r = run(d, &["sync"], "").await;
    assert_eq!(
        r.code, 0,
        "Remember me outlives a typo, so a scheduled sync goes on: {}",
        r.err
    );
    let r = run(d, &["--json", "list"], "").await;
    let list: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let r = run(d, &["delete", &id], "").await;
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.contains("1 moved to Deleted"), "{}", r.out);
    let r = run(d, &["list", "--folder", "deleted"], "").await;
    assert!(r.out.contains("Welcome"), "{}", r.out);
    let r = run(d, &["delete", &id], "").await;
    assert!(r.out.contains("1 deleted for good"), "{}", r.out);
}

#[test]
fn account_add_takes_the_hub_it_department_set_and_asks_without_one() {
    let d = tempfile::tempdir().unwrap();
    let settings = d.path().join("desktop.toml");
    std::fs::write(&settings, "hub_url = \"https://secure.example.gov.uk/\"\n").unwrap();
    let add = |settings: &Path| {
        Command::new(binary())
            .args(["account", "add", "--email", alice()])
            .env("SEALPOST_DATA_DIR", d.path().join("data"))
            .env("SEALPOST_SYSTEM_CONFIG", settings)
            .output()
            .unwrap()
    };
    let missing = add(&d.path().join("none.toml"));
    assert_eq!(missing.status.code(), Some(1), "refused, and nothing added");
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("--hub"),
        "says what to add"
    );
    let set = add(&settings);
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&set.stdout).trim(),
        format!("added {} at https://secure.example.gov.uk", alice())
    );
}

/// `sealpost ARGS` with nothing on stdin: its exit code, and what it printed, trimmed.
fn outcome(data: &Path, args: &[&str]) -> (i32, String, String) {
    let r = sealpost(data, args, "");
    (r.code, r.out.trim().to_owned(), r.err.trim().to_owned())
}

#[test]
fn one_address_on_two_hubs_is_chosen_with_hub() {
    let d = tempfile::tempdir().unwrap();
    // Nothing listens on these ports: a hub that is told nothing.
    let (first, second) = ("http://127.0.0.1:9", "http://127.0.0.1:10");
    for hub in [first, second] {
        let (code, _, err) = outcome(
            d.path(),
            &["account", "add", "--hub", hub, "--email", alice()],
        );
        assert_eq!(code, 0, "{err}");
    }
    // The first hub again, spelt another way: the same mailbox, not a third.
    let (code, said, err) = outcome(
        d.path(),
        &[
            "account",
            "add",
            "--hub",
            "HTTP://127.0.0.1:9/",
            "--email",
            alice(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(said, format!("{} at {first} is already here", alice()));
    let (code, _, err) = outcome(d.path(), &["account", "remove", alice()]);
    assert_eq!(code, 1, "not told which: nothing removed");
    assert_eq!(
        err,
        format!(
            "error: {} is here more than once (on more than one hub); choose with \
             --hub {first} or --hub {second}",
            alice()
        )
    );
    let (_, listed, _) = outcome(d.path(), &["account", "list"]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    // Not told which at all: the same way out, not --account (which would not tell them
    // apart). An empty SEALPOST_HUB counts as unset.
    let out = Command::new(binary())
        .args(["list"])
        .env("SEALPOST_DATA_DIR", d.path())
        .env("SEALPOST_SYSTEM_CONFIG", d.path().join("none.toml"))
        .env("SEALPOST_HUB", "")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("choose with --hub {first} or --hub {second}")),
        "{said}"
    );

    // Another spelling of the second hub's address chooses it.
    let (code, said, err) = outcome(
        d.path(),
        &[
            "--hub",
            "HTTP://127.0.0.1:10/",
            "account",
            "remove",
            alice(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(said, format!("removed {} and its local copy", alice()));
    let (_, listed, _) = outcome(d.path(), &["account", "list"]);
    assert_eq!(listed, format!("{}  {first}", alice()));

    let (code, _, err) = outcome(
        d.path(),
        &["--hub", "ftp://127.0.0.1", "account", "remove", alice()],
    );
    assert_eq!(code, 1);
    assert!(err.contains("ftp://127.0.0.1"), "{err}");
    let (code, _, err) = outcome(d.path(), &["--hub", second, "account", "remove", alice()]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!(
            "error: there is no mailbox {} on {second} here; see `sealpost account list`",
            alice()
        )
    );
    // Narrowed to nothing: said as such, not "no mailbox yet".
    let (code, _, err) = outcome(d.path(), &["--hub", second, "list"]);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!("error: there is no mailbox on {second} here; see `sealpost account list`")
    );
    let (_, _, err) = outcome(d.path(), &["--as", "bob@partner.example", "list"]);
    assert!(
        err.contains("no mailbox worked as bob@partner.example"),
        "{err}"
    );

    // A mailbox whose vault key the keyring lost cannot be opened, but can be removed
    // (and added again, as the refusal says).
    let (_, listed, _) = outcome(d.path(), &["account", "list", "--json"]);
    let accounts: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let id = accounts[0]["id"].as_str().unwrap();
    use sealpost_client::keyring::{vault_key_name, OsKeyring, SecretStore};
    OsKeyring::open()
        .unwrap()
        .delete(&vault_key_name(id))
        .unwrap();
    let (code, _, err) = outcome(d.path(), &["list"]);
    assert_eq!(code, 1);
    assert!(err.contains("Remove the account and add it again"), "{err}");
    let (code, said, err) = outcome(d.path(), &["account", "remove", alice()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(said, format!("removed {} and its local copy", alice()));
    let (_, listed, _) = outcome(d.path(), &["account", "list"]);
    assert_eq!(listed, "no mailboxes yet");
}

/// A list of mailboxes written by an older version: a hub address as it was typed, and the
/// same mailbox added twice under two spellings of its hub.
#[test]
fn mailboxes_an_older_version_listed_are_found_and_removed() {
    let d = tempfile::tempdir().unwrap();
    let (code, _, err) = outcome(
        d.path(),
        &[
            "account",
            "add",
            "--hub",
            "http://127.0.0.1:9",
            "--email",
            alice(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let list = d.path().join("accounts.json");
    let mut records: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&list).unwrap()).unwrap();
    records[0]["hub_url"] = "HTTP://127.0.0.1:9/".into();
    let mut twin = records[0].clone();
    twin["id"] = "00000000000000aa".into();
    twin["hub_url"] = "http://127.0.0.1:9".into();
    records.as_array_mut().unwrap().push(twin);
    std::fs::write(&list, serde_json::to_vec(&records).unwrap()).unwrap();

    let (_, listed, _) = outcome(d.path(), &["account", "list"]);
    assert_eq!(
        listed,
        format!(
            "{a}  http://127.0.0.1:9\n{a}  http://127.0.0.1:9",
            a = alice()
        ),
        "listed in one spelling"
    );
    for _ in 0..2 {
        let (code, said, err) = outcome(
            d.path(),
            &["--hub", "http://127.0.0.1:9", "account", "remove", alice()],
        );
        assert_eq!(
            code, 0,
            "the two alike are one mailbox, removed one at a time: {err}"
        );
        assert_eq!(said, format!("removed {} and its local copy", alice()));
    }
    let (_, listed, _) = outcome(d.path(), &["account", "list"]);
    assert_eq!(listed, "no mailboxes yet");
}
