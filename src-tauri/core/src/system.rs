//! Settings an organisation's IT department sets once for everyone on a computer, in a file
//! only administrators can write:
//!
//! | OS | file |
//! |---|---|
//! | Linux | `/etc/sealpost/desktop.toml` |
//! | macOS | `/Library/Application Support/Sealpost/desktop.toml` |
//! | Windows | `%ProgramData%\Sealpost\desktop.toml` |
//!
//! ```toml
//! hub_url = "https://secure.example.gov.uk"   # filled in on the sign-in screens
//! updates = false                              # no in-app updates (the default is true)
//! ```
//!
//! `SEALPOST_SYSTEM_CONFIG` names another file (tests, and a deployment that keeps it
//! elsewhere).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{ClientError, Result};

/// What the system-wide file sets; every field has a default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemSettings {
    /// The organisation's hub, checked like one typed in ([`crate::hub::check_hub_url`]).
    #[serde(default)]
    pub hub_url: Option<String>,
    /// Whether the app asks its hubs for updates (an organisation that installs Sealpost
    /// through its own software distribution turns this off).
    #[serde(default = "yes")]
    pub updates: bool,
}

fn yes() -> bool {
    true
}

impl Default for SystemSettings {
    fn default() -> Self {
        Self {
            hub_url: None,
            updates: true,
        }
    }
}

/// Where this computer's system-wide settings are.
pub fn settings_path() -> PathBuf {
    if let Some(path) = std::env::var_os("SEALPOST_SYSTEM_CONFIG") {
        return PathBuf::from(path);
    }
    if cfg!(windows) {
        let data = std::env::var_os("ProgramData").unwrap_or_else(|| "C:\\ProgramData".into());
        Path::new(&data).join("Sealpost").join("desktop.toml")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/Sealpost/desktop.toml")
    } else {
        PathBuf::from("/etc/sealpost/desktop.toml")
    }
}

/// The settings in `path`; the defaults when there is no such file.
///
/// # Errors
/// [`ClientError::Refused`] naming the file and what is wrong: unreadable, not TOML, an
/// unknown setting, or a hub address that is not one.
pub fn load(path: &Path) -> Result<SystemSettings> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SystemSettings::default()),
        Err(e) => {
            return Err(problem(path, &format!("it cannot be read ({e})")));
        }
    };
    // Written by an administrator for everyone: a file anyone may change is not theirs.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| problem(path, &format!("it cannot be read ({e})")))?
            .permissions()
            .mode();
        if mode & 0o002 != 0 {
            return Err(problem(
                path,
                "anyone on this computer may change it (make it writable by administrators only: chmod 644)",
            ));
        }
    }
    let mut settings: SystemSettings = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
        match line {
            Some(line) => problem(path, &format!("line {line}: {}", e.message())),
            None => problem(path, e.message()),
        }
    })?;
    if let Some(url) = &settings.hub_url {
        let checked = crate::hub::check_hub_url(url).map_err(|e| problem(path, &e.to_string()))?;
        settings.hub_url = Some(checked);
    }
    Ok(settings)
}

fn problem(path: &Path, what: &str) -> ClientError {
    ClientError::Refused {
        code: crate::Code::Invalid,
        message: format!(
            "the settings your IT department made for this computer ({}) are not used: {what}",
            path.display()
        ),
        refused: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("desktop.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn no_file_is_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let s = load(&dir.path().join("none.toml")).unwrap();
        assert_eq!(s, SystemSettings::default());
        assert!(s.updates, "updates are on unless turned off");
    }

    #[test]
    fn the_hub_and_updates_are_read_and_the_address_checked() {
        let (_d, path) = written("hub_url = \"https://secure.example.gov.uk/\"\nupdates = false\n");
        let s = load(&path).unwrap();
        assert_eq!(s.hub_url.as_deref(), Some("https://secure.example.gov.uk"));
        assert!(!s.updates);
    }

    #[test]
    #[cfg(unix)]
    fn a_file_anyone_may_change_is_not_used() {
        use std::os::unix::fs::PermissionsExt;
        let (_d, path) = written("hub_url = \"https://secure.example.gov.uk\"\n");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("anyone on this computer may change it"), "{e}");
    }

    #[test]
    fn a_mistake_names_its_line() {
        let (_d, path) = written("updates = true\nhub_url = 7\n");
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn a_wrong_file_says_which_and_why() {
        for (text, why) in [
            ("hub_url = \"http://secure.example.gov.uk\"", "https://"),
            ("hub_url = 7", "string"),
            ("hub = \"https://secure.example.gov.uk\"", "unknown field"),
            ("hub_url = \"https://", "string"),
        ] {
            let (_d, path) = written(text);
            let e = load(&path).unwrap_err().to_string();
            assert!(
                e.contains(&path.display().to_string()) && e.contains(why),
                "{text}: {e}"
            );
        }
    }
}
