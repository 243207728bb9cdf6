//! Secrets in the OS keyring, and nowhere else: each account's vault key, its trusted-device
//! token and, with Remember me, its refresh token.
//!
//! One trait, two stores: the OS keyring (Secret Service on Linux, Keychain on macOS,
//! Credential Manager on Windows) and an in-memory one for unit tests. Access is
//! serialised: the Secret Service and its client are not built for concurrent calls.

use std::{collections::HashMap, sync::Mutex};

use sealpost_common::Sensitive;

/// The keyring service name under which Sealpost keeps its entries.
pub const SERVICE: &str = "sealpost";

/// The keyring cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// No usable keyring (no Secret Service running, locked, refused access).
    #[error("the system keyring cannot be used ({0}); unlock it or start it, then try again")]
    Unavailable(String),
}

/// Where secrets live.
pub trait SecretStore: Send + Sync {
    /// Stores (or replaces) a secret.
    fn store(&self, name: &str, secret: &str) -> Result<(), KeyringError>;
    /// Reads a secret; `Ok(None)` when there is none.
    fn load(&self, name: &str) -> Result<Option<Sensitive<String>>, KeyringError>;
    /// Deletes a secret; deleting nothing is not an error.
    fn delete(&self, name: &str) -> Result<(), KeyringError>;
}

/// The operating system's keyring.
pub struct OsKeyring {
    lock: Mutex<()>,
}

impl OsKeyring {
    /// Connects to the OS keyring and proves that it keeps what it is given: a value
    /// written through one handle must be read back through another (keyring's in-memory
    /// fallback would pass a single-handle test and lose everything on exit).
    pub fn open() -> Result<Self, KeyringError> {
        let store = Self {
            lock: Mutex::new(()),
        };
        // Unique per process: two apps (or tests) starting at once must not delete each
        // other's probe between the write and the read.
        let probe = format!(
            "keyring-probe-{}-{:x}",
            std::process::id(),
            rand::random::<u64>()
        );
        store.store(&probe, "ok")?;
        let read = store.load(&probe)?;
        store.delete(&probe)?;
        match read {
            Some(v) if v.expose() == "ok" => Ok(store),
            _ => Err(KeyringError::Unavailable(
                "a value written to it could not be read back".into(),
            )),
        }
    }

    fn entry(name: &str) -> Result<keyring::Entry, KeyringError> {
        keyring::Entry::new(SERVICE, name).map_err(|e| KeyringError::Unavailable(e.to_string()))
    }
}

impl SecretStore for OsKeyring {
    fn store(&self, name: &str, secret: &str) -> Result<(), KeyringError> {
        let _guard = self.lock.lock().expect("BUG: keyring lock poisoned");
        Self::entry(name)?
            .set_password(secret)
            .map_err(|e| KeyringError::Unavailable(e.to_string()))
    }

    fn load(&self, name: &str) -> Result<Option<Sensitive<String>>, KeyringError> {
        let _guard = self.lock.lock().expect("BUG: keyring lock poisoned");
        match Self::entry(name)?.get_password() {
            Ok(secret) => Ok(Some(Sensitive::new(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(KeyringError::Unavailable(e.to_string())),
        }
    }

    fn delete(&self, name: &str) -> Result<(), KeyringError> {
        let _guard = self.lock.lock().expect("BUG: keyring lock poisoned");
        match Self::entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(KeyringError::Unavailable(e.to_string())),
        }
    }
}

/// What stands in for the OS keyring when it could not be opened: every call fails with
/// the reason, so the app can start, say what is wrong, and touch no vault.
pub struct Unavailable(pub String);

impl SecretStore for Unavailable {
    fn store(&self, _: &str, _: &str) -> Result<(), KeyringError> {
        Err(KeyringError::Unavailable(self.0.clone()))
    }

    fn load(&self, _: &str) -> Result<Option<Sensitive<String>>, KeyringError> {
        Err(KeyringError::Unavailable(self.0.clone()))
    }

    fn delete(&self, _: &str) -> Result<(), KeyringError> {
        Err(KeyringError::Unavailable(self.0.clone()))
    }
}

/// Secrets in memory, for tests only.
#[derive(Default)]
pub struct MemoryKeyring {
    entries: Mutex<HashMap<String, String>>,
}

impl MemoryKeyring {
    /// The names of the entries held, sorted (to check what is left behind).
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .entries
            .lock()
            .expect("BUG: keyring lock poisoned")
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }
}

impl SecretStore for MemoryKeyring {
    fn store(&self, name: &str, secret: &str) -> Result<(), KeyringError> {
        self.entries
            .lock()
            .expect("BUG: keyring lock poisoned")
            .insert(name.to_owned(), secret.to_owned());
        Ok(())
    }

    fn load(&self, name: &str) -> Result<Option<Sensitive<String>>, KeyringError> {
        Ok(self
            .entries
            .lock()
            .expect("BUG: keyring lock poisoned")
            .get(name)
            .cloned()
            .map(Sensitive::new))
    }

    fn delete(&self, name: &str) -> Result<(), KeyringError> {
        self.entries
            .lock()
            .expect("BUG: keyring lock poisoned")
            .remove(name);
        Ok(())
    }
}

/// The keyring entry of an account's vault key.
pub fn vault_key_name(account_id: &str) -> String {
    format!("vault-key:{account_id}")
}

/// The keyring entry of an account's Remember-me token.
pub fn remember_name(account_id: &str) -> String {
    format!("remember:{account_id}")
}

/// The keyring entry of the token that makes this computer a trusted device of an account
/// (its failed sign-ins are counted apart from anyone else's).
pub fn device_token_name(account_id: &str) -> String {
    format!("device:{account_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(store: &dyn SecretStore) {
        let name = format!("test-entry-{}", std::process::id());
        assert_eq!(
            store.load(&name).unwrap().map(|s| s.expose().clone()),
            None,
            "nothing yet"
        );
        store.store(&name, "first").unwrap();
        store.store(&name, "second").unwrap();
        assert_eq!(
            store.load(&name).unwrap().unwrap().expose(),
            "second",
            "replaced"
        );
        store.delete(&name).unwrap();
        assert!(store.load(&name).unwrap().is_none(), "deleted");
        store.delete(&name).expect("deleting nothing is fine");
    }

    #[test]
    fn memory_keyring_keeps_and_forgets() {
        round_trip(&MemoryKeyring::default());
    }

    #[test]
    fn a_missing_secret_service_is_a_clear_typed_error() {
        // Each test runs in its own process (nextest), so changing the environment here
        // touches nothing else.
        let saved = std::env::var_os("DBUS_SESSION_BUS_ADDRESS");
        std::env::set_var(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/sealpost-test-bus",
        );
        let result = OsKeyring::open();
        match saved {
            Some(v) => std::env::set_var("DBUS_SESSION_BUS_ADDRESS", v),
            None => std::env::remove_var("DBUS_SESSION_BUS_ADDRESS"),
        }
        let err = result.err().expect("no Secret Service, no keyring");
        assert!(matches!(err, KeyringError::Unavailable(_)));
        assert!(
            err.to_string()
                .starts_with("the system keyring cannot be used"),
            "says what is wrong and what to do: {err}"
        );
    }

    /// Against the real Secret Service: `make test` runs the suite inside
    /// `scripts/with-keyring.sh` (gnome-keyring in a private D-Bus session).
    #[test]
    fn os_keyring_keeps_and_forgets_across_handles() {
        if std::env::var_os("SEALPOST_REAL_KEYRING").is_none() {
            eprintln!("skipped: no Secret Service session (run through scripts/with-keyring.sh)");
            return;
        }
        let store = OsKeyring::open().expect("the Secret Service from with-keyring.sh answers");
        round_trip(&store);
        // A second, independent handle sees what the first stored: it persists.
        store.store("test-persist", "kept").unwrap();
        let other = OsKeyring::open().unwrap();
        assert_eq!(
            other.load("test-persist").unwrap().unwrap().expose(),
            "kept"
        );
        other.delete("test-persist").unwrap();
    }
}
