//! App updates served from `[updates] dir`: the manifest as the organisation wrote it, its
//! packages streamed, nothing else of the hub's files reachable, and a clear 404 from a hub
//! that serves no updates.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

/// The data directory's `updates/` folder, as `[updates] dir = "updates"` names it.
fn updates_dir(t: &TestHub) -> std::path::PathBuf {
    t.dir.path().join("hub/updates")
}

/// A hub with `[updates] dir = "updates"`.
async fn hub_with_updates() -> TestHub {
    TestHub::start_with(|c| {
        c.updates = Some(sealpost_hub::config::UpdatesConfig {
            dir: "updates".into(),
        })
    })
    .await
}

async fn status_and_json(t: &TestHub, path: &str) -> (StatusCode, Value) {
    let r = t.get(path).await;
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_hub_without_updates_says_so() {
    let t = TestHub::start().await;
    for path in [
        "/api/v1/updates/latest.json",
        "/api/v1/updates/files/Sealpost_0.2.0_amd64.deb",
    ] {
        let (status, body) = status_and_json(&t, path).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{path}: no [updates], nothing served"
        );
        assert_eq!(body["error"]["code"], "not_found");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("does not offer app updates"),
            "{path}: the app can tell its person why: {message}"
        );
    }
}

#[tokio::test]
async fn the_manifest_and_its_packages_are_served_as_published() {
    let t = hub_with_updates().await;
    let dir = updates_dir(&t);
    std::fs::create_dir_all(&dir).unwrap();

    // Configured, but nothing published yet.
    let (status, _) = status_and_json(&t, "/api/v1/updates/latest.json").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no manifest yet: no update");

    let manifest = json!({
        "version": "0.2.0",
        "notes": "Faster search.",
        "pub_date": "2026-12-07T12:00:00Z",
        "platforms": {"linux-x86_64-deb": {"url": "Sealpost_0.2.0_amd64.deb", "signature": "c2ln"}}
    });
    std::fs::write(dir.join("latest.json"), manifest.to_string()).unwrap();
    let package: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("Sealpost_0.2.0_amd64.deb"), &package).unwrap();

    let r = t.get("/api/v1/updates/latest.json").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["cache-control"],
        "no-store",
        "a new release is seen at the next check"
    );
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        manifest,
        "served as written"
    );

    let r = t
        .get("/api/v1/updates/files/Sealpost_0.2.0_amd64.deb")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["content-length"],
        package.len().to_string().as_str()
    );
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        package.as_slice(),
        "every byte"
    );

    // Only plain files of the folder: not the hub's own files, not hidden ones, not the
    // manifest under another name, not a folder.
    std::fs::write(dir.join(".secret"), "hidden").unwrap();
    std::fs::create_dir_all(dir.join("old")).unwrap();
    // An older release left in the folder is not served: only what the manifest names.
    std::fs::write(dir.join("Sealpost_0.1.0_amd64.deb"), b"old").unwrap();
    for name in [
        "Sealpost_0.1.0_amd64.deb",
        "..%2Fhub.toml",
        "..%2Fmaster.key",
        "%2Fetc%2Fpasswd",
        ".secret",
        "latest.json",
        "old",
        "missing.deb",
        "a%00b",
    ] {
        let (status, body) = status_and_json(&t, &format!("/api/v1/updates/files/{name}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{name} is not served");
        assert_eq!(body["error"]["code"], "not_found", "{name}");
    }
}

#[tokio::test]
async fn a_manifest_that_is_not_json_is_a_fault_that_shows_no_path() {
    let t = hub_with_updates().await;
    let dir = updates_dir(&t);
    std::fs::create_dir_all(&dir).unwrap();
    for bad in ["{\"version\": ", "[1, 2]", "\"0.2.0\""] {
        std::fs::write(dir.join("latest.json"), bad).unwrap();
        let (status, body) = status_and_json(&t, "/api/v1/updates/latest.json").await;
        assert_eq!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{bad}: the hub's fault"
        );
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            !message.contains("latest.json") && !message.contains('/'),
            "the answer keeps the hub's paths to itself: {message}"
        );
    }
}

#[tokio::test]
async fn an_updates_folder_that_would_serve_the_data_directory_is_refused() {
    let t = TestHub::start().await;
    let data = t.dir.path().join("hub");
    let config = std::fs::read_to_string(data.join("hub.toml")).unwrap();
    let root = data.display().to_string();
    // The data directory, what holds it, and a file of it.
    for dir in [
        ".",
        "",
        "..",
        "/",
        root.as_str(),
        "./",
        "hub.toml",
        "master.key",
        // Not there yet, but the data directory once it is.
        "missing/..",
    ] {
        std::fs::write(
            data.join("hub.toml"),
            format!("{config}\n[updates]\ndir = {dir:?}\n"),
        )
        .unwrap();
        let e = sealpost_hub::config::HubConfig::read(&sealpost_hub::config::DataDir::new(&data))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("[updates] dir") && e.contains("folder of their own"),
            "dir = {dir:?} is refused, saying why: {e}"
        );
    }
    // A folder of its own inside the data directory is fine.
    std::fs::write(
        data.join("hub.toml"),
        format!("{config}\n[updates]\ndir = \"updates\"\n"),
    )
    .unwrap();
    assert!(
        sealpost_hub::config::HubConfig::read(&sealpost_hub::config::DataDir::new(&data)).is_ok()
    );
}

#[tokio::test]
async fn a_symbolic_link_in_the_updates_folder_is_not_followed() {
    let t = hub_with_updates().await;
    let dir = updates_dir(&t);
    std::fs::create_dir_all(&dir).unwrap();
    // Someone who may write to the folder links a package name to the hub's master key.
    std::os::unix::fs::symlink("../master.key", dir.join("Sealpost_0.2.0_amd64.deb")).unwrap();
    let manifest = json!({"version": "0.2.0",
        "platforms": {"linux-x86_64-deb": {"url": "Sealpost_0.2.0_amd64.deb", "signature": "c2ln"}}});
    std::fs::write(dir.join("real.json"), manifest.to_string()).unwrap();
    std::fs::write(dir.join("latest.json"), manifest.to_string()).unwrap();
    let r = t
        .get("/api/v1/updates/files/Sealpost_0.2.0_amd64.deb")
        .await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "the link is not followed"
    );
    let key = std::fs::read(t.dir.path().join("hub/master.key")).unwrap();
    let body = r.bytes().await.unwrap();
    assert!(
        !body.windows(key.len().min(16)).any(|w| key.starts_with(w)),
        "nothing of the key is in the answer"
    );

    // Nor is a manifest that is a link.
    std::fs::remove_file(dir.join("latest.json")).unwrap();
    std::os::unix::fs::symlink("real.json", dir.join("latest.json")).unwrap();
    let (status, _) = status_and_json(&t, "/api/v1/updates/latest.json").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a linked manifest is not served"
    );
}

/// `admin updates`: the publication checked as the apps will read it, each kind of mistake
/// named, and a good one passed.
#[tokio::test]
async fn admin_updates_finds_what_the_apps_would_refuse() {
    let plain = TestHub::start().await;
    let r = plain.hub.check_updates(None).await.unwrap();
    assert!(
        r.dir.is_none() && r.problems.is_empty(),
        "no [updates]: nothing to check"
    );

    let t = hub_with_updates().await;
    let dir = updates_dir(&t);
    let problems = |r: &sealpost_hub::updates::Publication| r.problems.join("\n");
    let r = t.hub.check_updates(None).await.unwrap();
    assert!(problems(&r).contains("does not exist"), "{}", problems(&r));
    std::fs::create_dir_all(&dir).unwrap();
    let r = t.hub.check_updates(None).await.unwrap();
    assert!(
        problems(&r).contains("latest.json is not in the updates folder"),
        "{}",
        problems(&r)
    );

    // A good publication: a package signed by the release key for the version announced.
    let keys = tempfile::tempdir().unwrap();
    let (public, secret) = minisign_keys(keys.path(), "release");
    let release =
        sealpost_hub::updates::release_key(&std::fs::read_to_string(&public).unwrap()).unwrap();
    let package = dir.join("Sealpost_0.2.0_amd64.deb");
    std::fs::write(&package, vec![7u8; 100_000]).unwrap();
    std::fs::write(dir.join("notes.txt"), "for the admins").unwrap();
    let publish = |version: &str, url: &str, signature: &str| {
        let manifest = json!({
            "version": version,
            "pub_date": "2026-12-08T09:00:00Z",
            "platforms": {"linux-x86_64-deb": {"url": url, "signature": signature}}
        });
        std::fs::write(dir.join("latest.json"), manifest.to_string()).unwrap();
    };
    let good = minisign_sign(&secret, &package, Some("0.2.0"));
    publish("0.2.0", "Sealpost_0.2.0_amd64.deb", &good);
    let r = t.hub.check_updates(Some(&release)).await.unwrap();
    assert_eq!(problems(&r), "", "a good publication");
    assert_eq!(r.version.as_deref(), Some("0.2.0"));
    let p = &r.packages[0];
    assert_eq!(
        (
            p.platform.as_str(),
            p.bytes,
            p.signed_version.as_deref(),
            p.signature_good
        ),
        ("linux-x86_64-deb", Some(100_000), Some("0.2.0"), Some(true))
    );
    assert_eq!(
        r.unnamed,
        ["notes.txt"],
        "a file the manifest does not name is not served"
    );
    // The tauri signer's form of the key (base64 of the .pub file) is the same key.
    let encoded = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        std::fs::read(&public).unwrap(),
    );
    let same = sealpost_hub::updates::release_key(&encoded).unwrap();
    // A legacy signature (of the whole file, not its hash) is checked too.
    publish(
        "0.2.0",
        "Sealpost_0.2.0_amd64.deb",
        &minisign_sign_with(&secret, &package, Some("0.2.0"), &["-l"]),
    );
    let r = t.hub.check_updates(Some(&release)).await.unwrap();
    assert_eq!(
        (problems(&r), r.packages[0].signature_good),
        (String::new(), Some(true))
    );
    publish("0.2.0", "Sealpost_0.2.0_amd64.deb", &good);
    assert_eq!(
        t.hub.check_updates(Some(&same)).await.unwrap().packages[0].signature_good,
        Some(true)
    );
    assert!(sealpost_hub::updates::release_key("RWRT not a key").is_err());
    // minisign's own key line is the same key too; the private half is named as such.
    let line = std::fs::read_to_string(&public).unwrap();
    let line = line.lines().nth(1).unwrap();
    let from_line = sealpost_hub::updates::release_key(line).unwrap();
    assert_eq!(
        t.hub
            .check_updates(Some(&from_line))
            .await
            .unwrap()
            .packages[0]
            .signature_good,
        Some(true)
    );
    let private = sealpost_hub::updates::release_key(&std::fs::read_to_string(&secret).unwrap());
    assert!(private.unwrap_err().contains("private half"));

    // The hub's own address for the package is the same package, checked and served.
    let own = format!(
        "{}/api/v1/updates/files/Sealpost_0.2.0_amd64.deb",
        t.hub.config().public_url.trim_end_matches('/')
    );
    publish("0.2.0", &own, &good);
    let r = t.hub.check_updates(Some(&release)).await.unwrap();
    assert_eq!(problems(&r), "", "the hub's own address");
    assert_eq!(r.packages[0].bytes, Some(100_000));
    assert_eq!(
        r.unnamed,
        ["notes.txt"],
        "the package is served, and said to be"
    );
    let served = t
        .get("/api/v1/updates/files/Sealpost_0.2.0_amd64.deb")
        .await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.bytes().await.unwrap().len(), 100_000);

    // Each kind of mistake, one at a time, named.
    let (_, other_secret) = minisign_keys(keys.path(), "other");
    let unversioned = minisign_sign(&secret, &package, None);
    let strangers = minisign_sign(&other_secret, &package, Some("0.2.0"));
    let with_a_line_break = format!("{good}\n");
    for (version, url, signature, said) in [
        (
            "0.3.0",
            "Sealpost_0.2.0_amd64.deb",
            good.as_str(),
            "signed as version 0.2.0, not the 0.3.0",
        ),
        (
            "two",
            "Sealpost_0.2.0_amd64.deb",
            good.as_str(),
            "is not a semantic version",
        ),
        (
            "0.2.0",
            "https://downloads.example/Sealpost_0.2.0_amd64.deb",
            good.as_str(),
            "is not a file of the updates folder",
        ),
        (
            "0.2.0",
            "Sealpost_0.2.1_amd64.deb",
            good.as_str(),
            "is not in the updates folder",
        ),
        (
            "0.2.0",
            "Sealpost_0.2.0_amd64.deb",
            "c2ln",
            "not a minisign signature",
        ),
        (
            "0.2.0",
            "Sealpost_0.2.0_amd64.deb",
            with_a_line_break.as_str(),
            "spaces or line breaks around it",
        ),
        (
            "0.2.0",
            "Sealpost_0.2.0_amd64.deb",
            unversioned.as_str(),
            "names no version",
        ),
        (
            "0.2.0",
            "Sealpost_0.2.0_amd64.deb",
            strangers.as_str(),
            "was signed by another key than the release key given",
        ),
    ] {
        publish(version, url, signature);
        let r = t.hub.check_updates(Some(&release)).await.unwrap();
        assert!(
            problems(&r).contains(said),
            "{version} {url}: wanted {said:?}, got {}",
            problems(&r)
        );
        assert_eq!(r.problems.len(), 1, "only that: {}", problems(&r));
    }
    // Without the key, a stranger's signature cannot be told; the rest still is.
    let r = t.hub.check_updates(None).await.unwrap();
    assert!(
        r.problems.is_empty() && r.packages[0].signature_good.is_none(),
        "{}",
        problems(&r)
    );

    // A platform key no app looks up (a typo), notes that are not text: named. No date
    // (null) and a package named as ./NAME are as the apps take them: fine.
    let manifest = |platform: &str, url: &str, notes: Value, date: Value| {
        json!({"version": "0.2.0", "notes": notes, "pub_date": date,
               "platforms": {platform: {"url": url, "signature": good}}})
        .to_string()
    };
    for (written, said) in [
        (
            manifest(
                "linux-x86-64-deb",
                "Sealpost_0.2.0_amd64.deb",
                json!("n"),
                Value::Null,
            ),
            "no app looks for this platform",
        ),
        (
            manifest(
                "linux-x86_64-deb",
                "Sealpost_0.2.0_amd64.deb",
                json!(5),
                Value::Null,
            ),
            "\"notes\" is not text",
        ),
        (
            manifest(
                "linux-x86_64-deb",
                "./Sealpost_0.2.0_amd64.deb",
                json!("n"),
                Value::Null,
            ),
            "",
        ),
    ] {
        std::fs::write(dir.join("latest.json"), written).unwrap();
        let r = t.hub.check_updates(Some(&release)).await.unwrap();
        if said.is_empty() {
            assert_eq!(problems(&r), "", "as the apps take it");
        } else {
            assert!(
                problems(&r).contains(said),
                "wanted {said:?}, got {}",
                problems(&r)
            );
            assert_eq!(r.problems.len(), 1, "only that: {}", problems(&r));
        }
    }
    let served = t
        .get("/api/v1/updates/files/Sealpost_0.2.0_amd64.deb")
        .await;
    assert_eq!(served.status(), StatusCode::OK, "named as ./NAME, served");

    // A package changed after signing.
    publish("0.2.0", "Sealpost_0.2.0_amd64.deb", &good);
    let mut bytes = std::fs::read(&package).unwrap();
    bytes[50_000] ^= 1;
    std::fs::write(&package, bytes).unwrap();
    let r = t.hub.check_updates(Some(&release)).await.unwrap();
    assert_eq!(r.packages[0].signature_good, Some(false));
    assert!(
        problems(&r).contains("does not match its signature"),
        "{}",
        problems(&r)
    );

    // A manifest that is not one, and one without platforms or with a wrong date.
    std::fs::write(dir.join("latest.json"), "{\"version\": ").unwrap();
    let r = t.hub.check_updates(None).await.unwrap();
    assert!(
        problems(&r).contains("is not an update manifest"),
        "{}",
        problems(&r)
    );
    std::fs::write(
        dir.join("latest.json"),
        r#"{"version": "0.2.0", "pub_date": "yesterday", "platforms": {}}"#,
    )
    .unwrap();
    let r = t.hub.check_updates(None).await.unwrap();
    assert!(problems(&r).contains("RFC 3339"), "{}", problems(&r));
    assert!(
        problems(&r).contains("names no \"platforms\""),
        "{}",
        problems(&r)
    );

    // A manifest over 256 KiB (release notes pasted in whole, say) is not read, nor served.
    let notes = "n".repeat(300 * 1024);
    std::fs::write(
        dir.join("latest.json"),
        json!({"version": "0.2.0", "notes": notes, "platforms": {}}).to_string(),
    )
    .unwrap();
    let r = t.hub.check_updates(None).await.unwrap();
    assert!(
        problems(&r).contains("is over 262144 bytes"),
        "{}",
        problems(&r)
    );
    let (status, _) = status_and_json(&t, "/api/v1/updates/latest.json").await;
    assert!(status.is_server_error(), "not served: {status}");
}
