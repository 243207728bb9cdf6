//! The app's own preferences on this computer, for this OS user (`preferences.json` beside
//! the account list; nothing secret): whether it shows an icon in the system tray and keeps
//! running there when its window is closed. Start at login is the OS's own setting (a
//! login item), read and written where it lives.

use std::fs;

use serde::{Deserialize, Serialize};

use crate::accounts::Accounts;
use crate::error::{ClientError, Result};

/// Preferences, each off until turned on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Preferences {
    /// An icon in the system tray with the unread count; closing the window leaves the app
    /// running there (it keeps syncing and notifying).
    pub tray: bool,
}

impl Accounts {
    /// The preferences; the defaults when none were saved.
    ///
    /// # Errors
    /// [`ClientError::Damaged`] when the file is not what this app wrote;
    /// [`ClientError::Io`] when it cannot be read.
    pub fn preferences(&self) -> Result<Preferences> {
        let path = self.dir().join("preferences.json");
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ClientError::Damaged {
                message: format!("the app's preferences ({}) cannot be read", path.display()),
                source: e,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Preferences::default()),
            Err(e) => Err(e.into()),
        }
    }

    /// Keeps `preferences` (written whole, then renamed into place).
    ///
    /// # Errors
    /// [`ClientError::Io`] when the file cannot be written (a full disk, say); the old
    /// preferences stay.
    pub fn save_preferences(&self, preferences: &Preferences) -> Result<()> {
        self.make_dir()?;
        let tmp = self.dir().join("preferences.json.tmp");
        fs::write(
            &tmp,
            serde_json::to_vec_pretty(preferences).expect("BUG: preferences serialise"),
        )?;
        fs::rename(tmp, self.dir().join("preferences.json"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::keyring::MemoryKeyring;

    #[test]
    fn preferences_are_off_until_saved_and_kept_after() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = Accounts::new(dir.path().join("data"), Arc::new(MemoryKeyring::default()));
        assert_eq!(accounts.preferences().unwrap(), Preferences::default());
        assert!(
            !accounts.preferences().unwrap().tray,
            "no tray icon unless asked for"
        );
        accounts
            .save_preferences(&Preferences { tray: true })
            .unwrap();
        assert!(accounts.preferences().unwrap().tray);
        std::fs::write(dir.path().join("data/preferences.json"), "{not json").unwrap();
        let e = accounts.preferences().unwrap_err();
        assert!(e.to_string().contains("preferences"), "{e}");
    }
}
