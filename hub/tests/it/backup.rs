//! `admin backup` while the hub serves, and `admin restore` into a new data directory.

use std::{path::Path, process::Command};

use assert_cmd::cargo::CommandCargoExt;
use chrono::{DateTime, Utc};

use crate::storage::everything;
use crate::support::*;

fn hub_admin(data: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("sealpost-hub")
        .unwrap()
        .args(["admin", "--data"])
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_every_message_and_file() {
    let t = TestHub::start().await;
    let work = tempfile::tempdir().unwrap();
    let backup = work.path().join("backup");
    if t.hub.store().is_shared() {
        let out = hub_admin(&t.data(), &["backup", "--to", backup.to_str().unwrap()]);
        assert!(!out.status.success());
        assert!(
            text(&out).contains("pg_dump"),
            "a PostgreSQL hub is pointed to its database's tools: {}",
            text(&out)
        );
        return;
    }
    t.registered(alice()).await;
    let plan = work.path().join("care plan.pdf");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&plan, &bytes).unwrap();
    t.org_send_files(
        alice(),
        "Referral for Mrs Jones",
        "The plan is attached.",
        &[plan],
    )
    .await;
    t.org_send(&[alice()], "A second message", "Body two").await;
    let (items, files) = everything(&t, alice(), GOOD_PASSWORD).await;
    assert_eq!(files, [bytes], "the attachment reads before the backup");

    // Taken while the hub serves (its process holds the database open).
    let out = hub_admin(&t.data(), &["backup", "--to", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(said.contains("3 messages"), "{said}");
    assert!(said.contains("master.key is not in the backup"), "{said}");
    assert!(
        !backup.join("master.key").exists(),
        "the key is never in a backup"
    );
    let again = hub_admin(&t.data(), &["backup", "--to", backup.to_str().unwrap()]);
    assert!(
        !again.status.success(),
        "an existing backup is not written over"
    );
    assert!(text(&again).contains("not empty"), "{}", text(&again));

    // Restored into a new data directory, with the key from its own backup.
    let restored = tempfile::tempdir().unwrap();
    let data = restored.path().join("hub");
    let key = t.data().join("master.key");
    let out = hub_admin(
        &data,
        &[
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--master-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("the master key opens it"),
        "{}",
        text(&out)
    );
    let start: DateTime<Utc> = "2026-03-02T09:30:00Z".parse().unwrap();
    let back = TestHub {
        server: TestServer::start_in(restored, start).await,
        http: reqwest::Client::new(),
    };
    let (items_back, files_back) = everything(&back, alice(), GOOD_PASSWORD).await;
    assert_eq!(
        items_back, items,
        "every message reads back the same, through the API"
    );
    assert_eq!(files_back, files, "every attachment, byte for byte");
}

#[tokio::test]
async fn a_restore_refuses_a_directory_with_a_hub_and_a_key_that_is_not_the_backups() {
    let t = TestHub::start().await;
    if t.hub.store().is_shared() {
        return; // `admin backup` is for SQLite hubs (see the test above).
    }
    t.registered(alice()).await;
    let work = tempfile::tempdir().unwrap();
    let backup = work.path().join("backup");
    let out = hub_admin(&t.data(), &["backup", "--to", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));

    let into_live = hub_admin(&t.data(), &["restore", "--from", backup.to_str().unwrap()]);
    assert!(!into_live.status.success());
    assert!(
        text(&into_live).contains("already holds a hub"),
        "{}",
        text(&into_live)
    );

    let no_key = work.path().join("no-key");
    let out = hub_admin(&no_key, &["restore", "--from", backup.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--master-key"), "{}", text(&out));

    let other = TestHub::start().await;
    other.registered(bob()).await;
    let wrong_key = other.data().join("master.key");
    let target = work.path().join("wrong-key");
    let out = hub_admin(
        &target,
        &[
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--master-key",
            wrong_key.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success(), "another hub's key is refused");
    assert!(
        text(&out).contains("is not the key this hub's database is wrapped with"),
        "{}",
        text(&out)
    );
    assert!(!target.exists(), "nothing of the refused restore is left");

    // What a restore killed half-way leaves (hub.toml is written last): named as such.
    let stopped = work.path().join("stopped");
    std::fs::create_dir(&stopped).unwrap();
    std::fs::write(stopped.join("hub.db"), b"part of a database").unwrap();
    let out = hub_admin(&stopped, &["restore", "--from", backup.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("stopped half-way"), "{}", text(&out));

    // A database named in the environment would be the one checked: refused.
    let out = Command::cargo_bin("sealpost-hub")
        .unwrap()
        .args(["admin", "--data"])
        .arg(work.path().join("env"))
        .args([
            "restore",
            "--from",
            backup.to_str().unwrap(),
            "--master-key",
        ])
        .arg(t.data().join("master.key"))
        .env(
            "SEALPOST_STORE_URL",
            "postgres://sealpost@127.0.0.1:1/sealpost",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out).contains("SEALPOST_STORE_URL is set"),
        "{}",
        text(&out)
    );
    assert!(!work.path().join("env").exists(), "nothing was written");
}

/// The procedure docs/admin-guide.md gives for a hub on PostgreSQL: `pg_dump` while it
/// serves; after the database is lost, `pg_restore` into a new one, and a hub with the
/// same key and bucket reads every message of the dump back. (Only on PostgreSQL: the
/// SQLite hub's backup is the test above.)
#[tokio::test]
async fn a_postgres_hub_restored_with_pg_restore_reads_every_message_back() {
    use sealpost_hub::{config::HubConfig, testing::postgres};
    let Some(server) = std::env::var(postgres::SERVER_ENV)
        .ok()
        .filter(|s| !s.is_empty())
    else {
        return;
    };
    let t = TestHub::start().await;
    t.registered(alice()).await;
    let work = tempfile::tempdir().unwrap();
    let plan = work.path().join("care plan.pdf");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&plan, &bytes).unwrap();
    t.org_send_files(alice(), "Referral for Mrs Jones", "Attached.", &[plan])
        .await;
    t.org_send(&[alice()], "A second message", "Body two").await;
    let (items, files) = everything(&t, alice(), GOOD_PASSWORD).await;

    let mut config: HubConfig =
        toml::from_str(&std::fs::read_to_string(t.data().join("hub.toml")).unwrap()).unwrap();
    let store = config.store.clone().expect("a PostgreSQL hub");
    let schema = store
        .url
        .rsplit("search_path%3D")
        .next()
        .unwrap()
        .to_owned();
    let dump = work.path().join("sealpost.dump");
    let out = Command::new(postgres::tool("pg_dump"))
        .args(["--format=custom", "--schema", &schema, "--file"])
        .arg(&dump)
        .arg(&server)
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_dump: {}", text(&out));
    // One moment: what is sent afterwards is not in the dump.
    t.org_send(&[alice()], "After the backup", "Not in it")
        .await;
    let old = t.server.stop().await;

    // The database is lost; a new one gets the dump.
    postgres::execute(&server, &format!("DROP SCHEMA {schema} CASCADE"));
    let database = format!("restored_{}", schema.trim_start_matches("t_"));
    postgres::execute(&server, &format!("CREATE DATABASE {database}"));
    let (base, _) = server.rsplit_once('/').unwrap();
    let restored_url = format!("{base}/{database}");
    let out = Command::new(postgres::tool("pg_restore"))
        .args(["--no-owner", "--dbname", &restored_url])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(out.status.success(), "pg_restore: {}", text(&out));

    // A data directory with the key, and hub.toml naming the new database.
    let restored = tempfile::tempdir().unwrap();
    let data = restored.path().join("hub");
    std::fs::create_dir(&data).unwrap();
    std::fs::copy(old.path().join("hub/master.key"), data.join("master.key")).unwrap();
    config.store = Some(sealpost_hub::config::StoreConfig {
        url: postgres::with_schema(&restored_url, &schema),
        ..store
    });
    std::fs::write(data.join("hub.toml"), toml::to_string(&config).unwrap()).unwrap();
    let check = hub_admin(&data, &["check"]);
    assert!(check.status.success(), "admin check: {}", text(&check));

    let start: DateTime<Utc> = "2026-03-02T09:30:00Z".parse().unwrap();
    let back = TestHub {
        server: TestServer::start_in(restored, start).await,
        http: reqwest::Client::new(),
    };
    let (items_back, files_back) = everything(&back, alice(), GOOD_PASSWORD).await;
    assert_eq!(
        items_back, items,
        "every message of the dump reads back the same, through the API"
    );
    assert_eq!(files_back, files, "every attachment, byte for byte");
}
