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
    fn updates_dir(&self) -> Option<PathBuf> {
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
        let bytes = match tokio::fs::metadata(&path).await {
            Ok(m) if m.len() > MANIFEST_BYTES => {
                return Err(Error::Other(format!(
                    "{} is over {MANIFEST_BYTES} bytes",
                    path.display()
                )))
            }
            Ok(_) => tokio::fs::read(&path).await?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound("app update"))
            }
            Err(e) => return Err(e.into()),
        };
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v) if v.is_object() => Ok(v),
            _ => Err(Error::Other(format!(
                "{} is not an update manifest (a JSON object)",
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
        let file = match tokio::fs::File::open(dir.join(name)).await {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound("update file"))
            }
            Err(e) => return Err(e.into()),
        };
        let meta = file.metadata().await?;
        if !meta.is_file() {
            return Err(Error::NotFound("update file"));
        }
        Ok((file, meta.len()))
    }
}
