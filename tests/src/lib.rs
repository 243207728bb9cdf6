//! Helpers for cross-component tests: a hub on loopback (`TestServer`), people to send to,
//! and a client whose accounts live in a temporary folder with an in-memory keyring.

use std::sync::Arc;

pub use sealpost_client::{keyring::MemoryKeyring, Accounts, Mailbox};
pub use sealpost_hub::testing::{token_in, TestServer, STAFF};

/// A password that meets the hub's rules.
pub const GOOD_PASSWORD: &str = "plum kettle orbit sandstone";

/// An external person.
pub fn alice() -> &'static str {
    "alice@partner.example"
}

/// Another external person.
pub fn bob() -> &'static str {
    "bob@care.example"
}

/// A desktop client's state for one test: its data folder and keyring.
pub struct TestClient {
    pub dir: tempfile::TempDir,
    pub keyring: Arc<MemoryKeyring>,
}

impl TestClient {
    /// A client with no accounts.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
            keyring: Arc::new(MemoryKeyring::default()),
        }
    }

    /// The accounts of this client.
    pub fn accounts(&self) -> Accounts {
        Accounts::new(self.dir.path().join("data"), self.keyring.clone())
    }

    /// Registers `email` at the hub through the client (the link comes from the hub's
    /// outbox), adds the account, opens it and signs in.
    pub async fn registered(&self, hub: &TestServer, email: &str, remember_me: bool) -> Mailbox {
        if hub
            .emails_to(email)
            .await
            .iter()
            .all(|e| token_in(e, "/register").is_none())
        {
            hub.org_send(&[email], "Welcome", "First message").await;
        }
        let token = hub.link_token(email, "/register").await;
        let client = sealpost_client::hub::HubClient::new(&hub.url).expect("loopback hub URL");
        let info = client.registration_info(&token).await.expect("link info");
        assert_eq!(info.email, email);
        client
            .register(&token, GOOD_PASSWORD)
            .await
            .expect("register");
        let accounts = self.accounts();
        let record = accounts.add(&hub.url, email).expect("add account");
        let mailbox = accounts.open(&record.id).expect("open account");
        mailbox
            .sign_in(GOOD_PASSWORD, remember_me)
            .await
            .expect("sign in");
        mailbox
    }

    /// Signs in on this computer to `email`, registered already (another device of the
    /// same mailbox, say).
    pub async fn signed_in(&self, hub: &TestServer, email: &str) -> Mailbox {
        let accounts = self.accounts();
        let record = accounts.add(&hub.url, email).expect("add account");
        let mailbox = accounts.open(&record.id).expect("open account");
        mailbox
            .sign_in(GOOD_PASSWORD, false)
            .await
            .expect("sign in");
        mailbox
    }
}

impl Default for TestClient {
    fn default() -> Self {
        Self::new()
    }
}
