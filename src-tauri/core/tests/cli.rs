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

fn sealpost(data: &Path, args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(binary())
        .args(args)
        .env("SEALPOST_DATA_DIR", data)
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
            && r.out.contains("Attachment: plan.txt (13 bytes)"),
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
    assert!(
        hub.emails_to(STAFF)
            .await
            .iter()
            .any(|e| e.contains("Tuesday works")),
        "the reply reached the organisation"
    );

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
    let r = run(d, &["sync"], "").await;
    assert_eq!(
        r.code, 4,
        "after sign-out the password is needed again: {}",
        r.err
    );

    let r = run(d, &["account", "remove", alice()], "").await;
    assert_eq!(r.code, 0, "{}", r.err);
    let r = run(d, &["account", "list", "--json"], "").await;
    assert_eq!(r.out.trim(), "[]");
}
