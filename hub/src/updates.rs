//! App updates served by the hub (`[updates] dir`): the organisation copies a release's
//! update manifest (`latest.json`, the format of the Tauri updater) and its signed packages
//! into a folder, and its people's apps take them from their own hub. The hub only serves
//! the files; each package is signed by the Sealpost release key, which the apps check
//! (the hub cannot make an update the apps accept).

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::Hub;

/// Where the manifest is, under `/api/v1/updates/`.
pub const MANIFEST: &str = "latest.json";

/// The biggest manifest served: one release's notes and a few platforms' URLs and
/// signatures fit many times over.
const MANIFEST_BYTES: u64 = 256 * 1024;

impl Hub {
    /// The folder of `[updates] dir`, or `None` when the hub serves no updates.
    pub(crate) fn updates_dir(&self) -> Option<PathBuf> {
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
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound("app update"))
            }
            Err(e) => return Err(e.into()),
        };
        if size > MANIFEST_BYTES {
            return Err(Error::Other(format!(
                "{} is over {MANIFEST_BYTES} bytes",
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
                "{} is not an update manifest: {e}",
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
        let plain = !name.is_empty()
            && name.len() <= 255
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._+-".contains(&b));
        if !plain || name == MANIFEST {
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
                platforms
                    .values()
                    .any(|p| p.get("url").and_then(serde_json::Value::as_str) == Some(name))
            });
        if !named {
            return Err(Error::NotFound("update file"));
        }
        match open_plain(&dir.join(name)).await {
            Ok(opened) => Ok(opened),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(Error::NotFound("update file"))
            }
            Err(e) => Err(e.into()),
        }
    }
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
