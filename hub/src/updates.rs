//! App updates served by the hub (`[updates] dir`): the organisation copies a release's
//! update manifest (`latest.json`, the format of the Tauri updater) and its signed packages
//! into a folder, and its people's apps take them from their own hub. The hub only serves
//! the files; each package is signed by the Sealpost release key, which the apps check
//! (the hub cannot make an update the apps accept).

use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::Hub;

/// Where the manifest is, under `/api/v1/updates/`.
pub const MANIFEST: &str = "latest.json";

/// The biggest manifest served: one release's notes and a few platforms' URLs and
/// signatures fit many times over.
const MANIFEST_BYTES: u64 = 256 * 1024;

impl Hub {
    /// The folder of `[updates] dir`, or `None` when the hub serves no updates.
    pub fn updates_dir(&self) -> Option<PathBuf> {
        let dir = &self.config().updates.as_ref()?.dir;
        Some(self.data_dir().root().join(dir))
    }

    /// The update manifest, as the organisation wrote it.
    ///
    /// # Errors
    /// [`Error::NotFound`]`("app update")` when the hub serves no updates or the folder has no
    /// manifest; [`Error::Other`] when the file is not a JSON object (the admin sees why in
    /// the log, the app a fault).
    pub async fn update_manifest(&self) -> Result<serde_json::Value> {
        let path = self
            .updates_dir()
            .ok_or(Error::NotFound("app update"))?
            .join(MANIFEST);
        let (mut file, size) = match open_plain(&path).await {
            Ok(opened) => opened,
            Err(e) if is_absent(&e) => return Err(Error::NotFound("app update")),
            Err(e) => return Err(e.into()),
        };
        if size > MANIFEST_BYTES {
            return Err(Error::Other(format!(
                "{} is over {MANIFEST_BYTES} bytes (shorten its notes); the apps are answered \
                 with an error until it is mended",
                path.display()
            )));
        }
        let mut bytes = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut file, &mut bytes).await?;
        // A byte order mark (as some Windows editors write) is not JSON's.
        let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        match serde_json::from_slice::<serde_json::Value>(text) {
            Ok(v) if v.is_object() => Ok(v),
            Ok(_) => Err(Error::Other(format!(
                "{} is not an update manifest: it must be a JSON object ({{\"version\": …, \"platforms\": …}})",
                path.display()
            ))),
            Err(e) => Err(Error::Other(format!(
                "{} is not an update manifest: {e}; the apps are answered with an error until \
                 it is mended",
                path.display()
            ))),
        }
    }

    /// A package from the updates folder, opened for streaming, with its length in bytes.
    ///
    /// # Errors
    /// [`Error::NotFound`]`("app update")` when the hub serves no updates;
    /// [`Error::NotFound`]`("update file")` for a name that is not a plain file name of the
    /// folder (no `/`, no leading `.`), is not a package the manifest names (by its bare
    /// file name), or no such file.
    pub async fn update_file(&self, name: &str) -> Result<(tokio::fs::File, u64)> {
        let dir = self.updates_dir().ok_or(Error::NotFound("app update"))?;
        if !is_plain_name(name) || name == MANIFEST {
            return Err(Error::NotFound("update file"));
        }
        // Only a package the manifest names is served: nothing else that happens to be in
        // the folder.
        let manifest = self.update_manifest().await.map_err(|e| match e {
            Error::NotFound(_) => Error::NotFound("update file"),
            other => other,
        })?;
        let named = manifest
            .get("platforms")
            .and_then(serde_json::Value::as_object)
            .is_some_and(|platforms| {
                platforms.values().any(|p| {
                    p.get("url")
                        .and_then(serde_json::Value::as_str)
                        .and_then(|url| self.package_name(url))
                        .as_deref()
                        == Some(name)
                })
            });
        if !named {
            return Err(Error::NotFound("update file"));
        }
        match open_plain(&dir.join(name)).await {
            Ok(opened) => Ok(opened),
            Err(e) if is_absent(&e) => Err(Error::NotFound("update file")),
            Err(e) => Err(e.into()),
        }
    }

    /// The file of the updates folder a manifest's `url` names, read as the apps read it:
    /// resolved against `{public_url}/api/v1/updates/files/` (a bare file name, `./NAME`,
    /// `/api/v1/updates/files/NAME` or the whole address), it must be a plain file name
    /// there. `None` for anything else.
    fn package_name(&self, url: &str) -> Option<String> {
        let files = reqwest::Url::parse(&format!(
            "{}/api/v1/updates/files/",
            self.config().public_url.trim_end_matches('/')
        ))
        .ok()?;
        let resolved = files.join(url).ok()?;
        let name = resolved.path().strip_prefix(files.path())?;
        let same_place = resolved.origin() == files.origin()
            && resolved.query().is_none()
            && resolved.fragment().is_none();
        (same_place && is_plain_name(name) && name != MANIFEST).then(|| name.to_owned())
    }
}

/// Whether `key` is one the Tauri updater looks up: `{os}-{arch}`, or with the installer
/// kind after it (`linux-x86_64-deb`).
fn is_platform_key(key: &str) -> bool {
    let mut parts = key.splitn(3, '-');
    let (Some(os), Some(arch)) = (parts.next(), parts.next()) else {
        return false;
    };
    ["linux", "windows", "darwin"].contains(&os)
        && ["x86_64", "aarch64", "i686", "armv7"].contains(&arch)
        && parts
            .next()
            .is_none_or(|kind| ["deb", "rpm", "appimage", "msi", "nsis", "app"].contains(&kind))
}

/// Checks `file` against `signature` with `key` as tauri-plugin-updater does (minisign),
/// reading it in pieces when the signature is of its hash (as the Tauri CLI makes them),
/// whole otherwise.
async fn verify(
    key: &minisign_verify::PublicKey,
    signature: &minisign_verify::Signature,
    mut file: tokio::fs::File,
) -> std::io::Result<std::result::Result<(), minisign_verify::Error>> {
    use tokio::io::AsyncReadExt;
    match key.verify_stream(signature) {
        Ok(mut stream) => {
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = file.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                stream.update(&buf[..n]);
            }
            Ok(stream.finalize())
        }
        Err(minisign_verify::Error::UnsupportedLegacyMode) => {
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).await?;
            Ok(key.verify(&bytes, signature, true))
        }
        Err(e) => Ok(Err(e)),
    }
}

/// Whether an error opening a file of the updates folder means it is not there (a folder
/// that is missing, or is a file).
fn is_absent(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

/// Whether `name` is a file name the updates folder serves: ASCII letters, digits and
/// `._+-`, not starting with `.`, at most 255 bytes.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b))
}

/// Opens `path` if it is a regular file of its folder itself: not a symbolic link (which
/// could lead anywhere, `master.key` included), not a folder. The file opened is checked to
/// be the one looked at, so a link put in its place meanwhile is not followed either.
/// Anything else answers `NotFound`.
async fn open_plain(path: &std::path::Path) -> std::io::Result<(tokio::fs::File, u64)> {
    let not_found = || std::io::Error::from(std::io::ErrorKind::NotFound);
    let looked = tokio::fs::symlink_metadata(path).await?;
    if !looked.file_type().is_file() {
        return Err(not_found());
    }
    let file = tokio::fs::File::open(path).await?;
    let opened = file.metadata().await?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if (opened.dev(), opened.ino()) != (looked.dev(), looked.ino()) {
            return Err(not_found());
        }
    }
    if !opened.is_file() {
        return Err(not_found());
    }
    Ok((file, opened.len()))
}

/// What `admin updates` found: the publication as the apps will see it.
#[derive(Debug, Serialize)]
pub struct Publication {
    /// The updates folder; `None` when the hub serves no updates (no `[updates]`).
    pub dir: Option<PathBuf>,
    /// The version the manifest announces.
    pub version: Option<String>,
    /// A package per platform the manifest names, in the order of the platform keys.
    pub packages: Vec<PublishedPackage>,
    /// Files in the folder the manifest does not name: they are not served.
    pub unnamed: Vec<String>,
    /// What stops the apps taking the update, or some of them: a sentence each.
    pub problems: Vec<String>,
    /// Whether the signatures were checked against a release key.
    pub signatures_checked: bool,
}

/// One platform's package in the manifest.
#[derive(Debug, Serialize)]
pub struct PublishedPackage {
    /// The platform key, e.g. `linux-x86_64-deb`, `windows-x86_64`, `darwin-aarch64`.
    pub platform: String,
    /// The package, as the manifest's `url` names it.
    pub file: String,
    /// Its size in bytes, when it is in the folder.
    pub bytes: Option<u64>,
    /// The version its signature was made for (the signature's trusted comment).
    pub signed_version: Option<String>,
    /// Whether its signature is good for the release key given (`None`: not checked).
    pub signature_good: Option<bool>,
}

/// The public half of the release key, as `tauri signer generate` writes it (the
/// `.key.pub` file, base64) or as minisign writes it (two lines).
///
/// # Errors
/// A sentence saying it is not a minisign public key.
pub fn release_key(text: &str) -> std::result::Result<minisign_verify::PublicKey, String> {
    let text = text.trim();
    let decoded;
    let minisign = if text.starts_with("untrusted comment:") {
        text
    } else if let Ok(key) = minisign_verify::PublicKey::from_base64(text) {
        // The key's own line, as minisign prints it (RW…).
        return Ok(key);
    } else {
        decoded = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        &decoded
    };
    if minisign.contains("secret key") {
        return Err(
            "that is the release key's private half: give its public half (the \
                    .key.pub file), and keep the private half where only releases are made"
                .to_owned(),
        );
    }
    minisign_verify::PublicKey::decode(minisign).map_err(|_| {
        "the release key is not a minisign public key (nor a file that exists): give the \
         release's public key (its .key.pub file, the text of SEALPOST_UPDATER_PUBKEY, or \
         minisign's RW… line)"
            .to_owned()
    })
}

impl Hub {
    /// Checks the updates folder as the apps will read it: the manifest (a JSON object with
    /// a semantic `version`, an RFC 3339 `pub_date` if any, and `platforms` each with a
    /// `url` and a `signature`), each package in the folder under the bare file name its
    /// `url` gives, each signature made for the announced version and, with `key`, good for
    /// it (as tauri-plugin-updater checks: minisign, then the trusted comment's
    /// `version:`). Reads every package whole when `key` is given.
    ///
    /// # Errors
    /// Only failures to read the folder other than those reported as problems.
    pub async fn check_updates(
        &self,
        key: Option<&minisign_verify::PublicKey>,
    ) -> Result<Publication> {
        let mut report = Publication {
            dir: self.updates_dir(),
            version: None,
            packages: Vec::new(),
            unnamed: Vec::new(),
            problems: Vec::new(),
            signatures_checked: key.is_some(),
        };
        let Some(dir) = report.dir.clone() else {
            return Ok(report);
        };
        let mut files = Vec::new();
        match tokio::fs::read_dir(&dir).await {
            Ok(mut entries) => {
                while let Some(entry) = entries.next_entry().await? {
                    files.push(entry.file_name().to_string_lossy().into_owned());
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                report.problems.push(format!(
                    "the updates folder {} does not exist: the apps are told there is no update",
                    dir.display()
                ));
                return Ok(report);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
                report.problems.push(format!(
                    "[updates] dir ({}) is a file, not a folder: the hub does not start with it",
                    dir.display()
                ));
                return Ok(report);
            }
            Err(e) => return Err(e.into()),
        }
        let manifest = match self.update_manifest().await {
            Ok(m) => m,
            Err(Error::NotFound(_)) => {
                report.problems.push(format!(
                    "{} is not in the updates folder (or is a symbolic link, which is not \
                     followed): the apps are told there is no update",
                    MANIFEST
                ));
                return Ok(report);
            }
            Err(Error::Other(why)) => {
                report.problems.push(why);
                return Ok(report);
            }
            Err(e) => return Err(e),
        };
        let announced = check_version(&manifest, &mut report.problems);
        report.version = manifest
            .get("version")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        if manifest
            .get("notes")
            .is_some_and(|n| !n.is_string() && !n.is_null())
        {
            report.problems.push(format!(
                "{MANIFEST}: \"notes\" is not text: the apps refuse the manifest"
            ));
        }
        if let Some(date) = manifest.get("pub_date").filter(|d| !d.is_null()) {
            let good = date
                .as_str()
                .is_some_and(|d| chrono::DateTime::parse_from_rfc3339(d).is_ok());
            if !good {
                report.problems.push(format!(
                    "{MANIFEST}: \"pub_date\" {date} is not an RFC 3339 time \
                     (2026-12-08T09:00:00Z): the apps refuse the manifest"
                ));
            }
        }
        let platforms = match manifest.get("platforms").and_then(|p| p.as_object()) {
            Some(p) if !p.is_empty() => p,
            _ => {
                report.problems.push(format!(
                    "{MANIFEST} names no \"platforms\": the apps take no update from it"
                ));
                return Ok(report);
            }
        };
        // The files the manifest names, as the hub serves them.
        let mut served: Vec<String> = Vec::new();
        for (platform, entry) in platforms {
            let field = |name: &str| entry.get(name).and_then(serde_json::Value::as_str);
            if !is_platform_key(platform) {
                report.problems.push(format!(
                    "{platform}: no app looks for this platform (the updater's keys are like \
                     linux-x86_64-deb, windows-x86_64-msi, darwin-aarch64-app)"
                ));
            }
            let Some(url) = field("url") else {
                report.problems.push(format!(
                    "{platform}: has no \"url\" (text): the apps leave this platform out"
                ));
                continue;
            };
            let Some(signature) = field("signature") else {
                report.problems.push(format!(
                    "{platform}: has no \"signature\" (text): the apps refuse the manifest"
                ));
                continue;
            };
            let mut package = PublishedPackage {
                platform: platform.clone(),
                file: url.to_owned(),
                bytes: None,
                signed_version: None,
                signature_good: None,
            };
            let Some(name) = self.package_name(url) else {
                report.problems.push(format!(
                    "{platform}: {url} is not a file of the updates folder: the apps leave \
                     this platform out (write the package's file name: ASCII letters, digits \
                     and . _ + -, not starting with a dot)"
                ));
                report.packages.push(package);
                continue;
            };
            served.push(name.clone());
            let opened = match open_plain(&dir.join(&name)).await {
                Ok((file, bytes)) => {
                    package.bytes = Some(bytes);
                    Some(file)
                }
                Err(e) if is_absent(&e) => {
                    report.problems.push(format!(
                        "{platform}: {name} is not in the updates folder (or is a symbolic \
                         link, which is not served): the apps cannot download it"
                    ));
                    None
                }
                Err(e) => return Err(e.into()),
            };
            // As the apps read it: the base64 text alone, nothing around it.
            let decode = |text: &str| {
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, text)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .and_then(|text| minisign_verify::Signature::decode(&text).ok())
            };
            let Some(signature) = decode(signature) else {
                report.problems.push(if decode(signature.trim()).is_some() {
                    format!(
                        "{platform}: the signature has spaces or line breaks around it: the \
                         apps refuse it (write the .sig file's text alone)"
                    )
                } else {
                    format!(
                        "{platform}: the signature is not a minisign signature in base64 (the \
                         text of the package's .sig file): the apps refuse it"
                    )
                });
                report.packages.push(package);
                continue;
            };
            package.signed_version = signature
                .trusted_comment()
                .split('\t')
                .find_map(|f| f.strip_prefix("version:"))
                .map(str::to_owned);
            match (&package.signed_version, &announced) {
                (None, _) => report.problems.push(format!(
                    "{platform}: {url}'s signature names no version: the apps refuse it (the \
                     release workflow's signatures carry it; by hand, sign with `tauri signer \
                     sign --app-version VERSION`)"
                )),
                (Some(signed), Some(announced))
                    if semver::Version::parse(signed.trim_start_matches('v'))
                        .ok()
                        .as_ref()
                        != Some(announced) =>
                {
                    report.problems.push(format!(
                        "{platform}: {url} was signed as version {signed}, not the {announced} \
                         the manifest announces: the apps refuse it"
                    ))
                }
                _ => {}
            }
            if let (Some(key), Some(file)) = (key, opened) {
                let checked = verify(key, &signature, file).await?;
                package.signature_good = Some(checked.is_ok());
                match checked {
                    Ok(()) => {}
                    Err(minisign_verify::Error::UnexpectedKeyId) => report.problems.push(format!(
                        "{platform}: {url} was signed by another key than the release key \
                             given: the apps refuse it"
                    )),
                    Err(_) => report.problems.push(format!(
                        "{platform}: {url} does not match its signature: it (or its signature) \
                         was changed after signing, or the release key given is mistyped; the \
                         apps refuse it"
                    )),
                }
            }
            report.packages.push(package);
        }
        report.unnamed = files
            .into_iter()
            .filter(|f| f != MANIFEST && !served.contains(f))
            .collect();
        report.unnamed.sort();
        Ok(report)
    }
}

/// The manifest's `version` as the apps read it (semantic, an optional leading `v`), or a
/// problem saying why not.
fn check_version(
    manifest: &serde_json::Value,
    problems: &mut Vec<String>,
) -> Option<semver::Version> {
    let Some(version) = manifest.get("version").and_then(serde_json::Value::as_str) else {
        problems.push(format!(
            "{MANIFEST} has no \"version\" (text, e.g. \"0.2.0\"): the apps refuse it"
        ));
        return None;
    };
    match semver::Version::parse(version.trim_start_matches('v')) {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(format!(
                "{MANIFEST}: \"version\" {version:?} is not a semantic version ({e}): the apps \
                 refuse it"
            ));
            None
        }
    }
}
