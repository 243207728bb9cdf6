//! The connection to a hub: the API contract through `sealpost-proto` types, TLS verified
//! (plain `http` only to this machine), one refresh on `session_expired` when the account
//! is remembered, and every refusal turned into a typed error.

use std::sync::{Arc, Mutex};

use futures_util::{Stream, StreamExt};
pub use reqwest::Method;
use reqwest::StatusCode;
use sealpost_proto::{
    Changes, ErrorBody, ErrorCode, MfaBegin, MfaCode, MfaDisable, MfaEnabled, MfaSetup, MfaState,
    RefreshRequest, Registered, RegistrationInfo, RegistrationRequest, ResetConfirm, ResetRequest,
    ResetRequested, Session, SignInRequest, Upload,
};
use serde::{de::DeserializeOwned, Serialize};

use crate::error::{ClientError, Code, Result};
use crate::keyring::SecretStore;
use sealpost_common::Sensitive;

/// Where an account's tokens are kept, so that rotations are saved at once: the remembered
/// refresh token and the trusted-device token, in the keyring; and a lock file that lets
/// one process of this computer at a time exchange the refresh token (the app and a
/// scheduled `sealpost sync` share it: both using it at once would look like a stolen copy).
#[derive(Clone)]
pub struct RememberSlot {
    /// The keyring.
    pub store: Arc<dyn SecretStore>,
    /// The Remember-me entry's name.
    pub name: String,
    /// The trusted-device entry's name.
    pub device: String,
    /// The lock file held while the refresh token is exchanged.
    pub lock: std::path::PathBuf,
}

/// A connection to one hub for one account.
pub struct HubClient {
    base: String,
    http: reqwest::Client,
    access: Mutex<Option<Sensitive<String>>>,
    remember: Mutex<Option<RememberSlot>>,
    /// Who the last sign-in or refresh said is signed in, with the hub's domains and limits.
    account: Mutex<Option<sealpost_proto::AccountInfo>>,
    /// While locked (idle timeout), nothing is sent with the person's credentials.
    locked: std::sync::atomic::AtomicBool,
    /// The organisation requires two-step sign-in and it is not on yet (said by the last
    /// session, or by a refusal since).
    mfa_enrolment: std::sync::atomic::AtomicBool,
}

/// Whether two hub addresses name the same hub (as [`check_hub_url`] spells them; an
/// address it refuses is only the same as itself).
pub fn same_hub(a: &str, b: &str) -> bool {
    match (check_hub_url(a), check_hub_url(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Whether `host` is this computer: `localhost`, or a loopback address (127.0.0.0/8, ::1).
fn is_loopback(host: &reqwest::Url) -> bool {
    match host.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Checks a hub address: `https://…`, or `http://` to this computer only. The address is
/// read as the HTTP client reads it (WHATWG URL parsing), so what is checked is what is
/// reached: no user name or password in it (`http://localhost:1@elsewhere`), and a name
/// that merely starts like a loopback address (`127.0.0.1.example`) is not one.
///
/// Returns the address in one spelling, as the HTTP client writes it: scheme and host in
/// lower case, an international name in its ASCII form, no default port, no trailing `/`
/// (`HTTPS://Secure.Example.org:443/` is `https://secure.example.org`).
///
/// # Errors
/// `Refused` (`Invalid`) saying what a hub address looks like.
pub fn check_hub_url(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    let invalid = || ClientError::Refused {
        code: Code::Invalid,
        message: format!(
            "{url:?} is not a hub address; a hub address looks like https://secure.example.org"
        ),
        refused: Vec::new(),
    };
    let mut parsed = reqwest::Url::parse(url).map_err(|_| invalid())?;
    if parsed.host().is_none() || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid());
    }
    // A name's final dot (the DNS root) names the same host.
    if let Some(url::Host::Domain(name)) = parsed.host() {
        if let Some(bare) = name.strip_suffix('.').map(str::to_owned) {
            parsed.set_host(Some(&bare)).map_err(|_| invalid())?;
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ClientError::Refused {
            code: Code::Invalid,
            message: "a hub address holds no user name or password; one looks like https://secure.example.org"
                .into(),
            refused: Vec::new(),
        });
    }
    let canonical = parsed.as_str().trim_end_matches('/').to_owned();
    match parsed.scheme() {
        "https" => Ok(canonical),
        "http" if is_loopback(&parsed) => Ok(canonical),
        "http" => Err(ClientError::Refused {
            code: Code::Invalid,
            message: "the hub's address must start with https:// (plain http is allowed only to this computer)"
                .into(),
            refused: Vec::new(),
        }),
        _ => Err(invalid()),
    }
}

fn code_of(code: &ErrorCode) -> Code {
    match code {
        ErrorCode::InvalidCredentials => Code::InvalidCredentials,
        ErrorCode::AccountLocked => Code::AccountLocked,
        ErrorCode::MfaRequired => Code::MfaRequired,
        ErrorCode::MfaCodeWrong => Code::MfaCodeWrong,
        ErrorCode::MfaEnrolmentRequired => Code::MfaEnrolmentRequired,
        ErrorCode::AccountDisabled => Code::AccountDisabled,
        ErrorCode::AccessRemoved => Code::AccessRemoved,
        ErrorCode::SessionExpired | ErrorCode::NotSignedIn => Code::SignInRequired,
        ErrorCode::WeakPassword => Code::WeakPassword,
        ErrorCode::InvalidToken => Code::InvalidLink,
        ErrorCode::AlreadyRegistered => Code::AlreadyRegistered,
        ErrorCode::RecipientNotAllowed => Code::RecipientNotAllowed,
        ErrorCode::AttachmentLimit => Code::AttachmentLimit,
        ErrorCode::RateLimited => Code::RateLimited,
        ErrorCode::NotFound => Code::NotFound,
        ErrorCode::Internal => Code::Internal,
        // `bad_request`, `conflict`, `request_too_large`, `sender_not_allowed` and the like,
        // and codes newer than this client: a refusal of this request, which the message
        // explains.
        _ => Code::Invalid,
    }
}

/// An answer that is not what the API promises (the body of a 2xx that does not decode).
fn not_understood(e: reqwest::Error) -> ClientError {
    ClientError::Answer {
        message: format!("the hub's answer was not understood: {e}"),
        status: e.status().map(|s| s.as_u16()),
        source: Some(e),
    }
}

/// The TLS library's reason, when `e` (or what caused it) is a TLS failure.
fn tls_failure(e: &reqwest::Error) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(tls) = c.downcast_ref::<native_tls::Error>() {
            return Some(tls.to_string());
        }
        cause = c.source();
    }
    None
}

/// How long one try of a Remember-me refresh may take before it counts as lost.
const REFRESH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(8);
/// Tries of a refresh whose answer was lost, 1 and 2 seconds apart: the last starts within
/// 19 seconds of the first, inside the hub's 30-second grace for such retries.
const REFRESH_TRIES: u64 = 3;
/// How long a process waits for another one of this computer to finish its refresh.
const REFRESH_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(45);

impl HubClient {
    /// A client for the hub at `base` (checked with [`check_hub_url`]).
    pub fn new(base: &str) -> Result<Self> {
        let base = check_hub_url(base)?;
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            // The API never redirects; one would take the session's token, or the app's
            // questions, to a server nobody named.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sealpost/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Other(format!("the HTTP client could not start: {e}")))?;
        Ok(Self {
            base,
            http,
            access: Mutex::new(None),
            account: Mutex::new(None),
            remember: Mutex::new(None),
            locked: std::sync::atomic::AtomicBool::new(false),
            mfa_enrolment: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Whether the organisation requires two-step sign-in of this account before anything
    /// else, and it is not on yet.
    pub fn mfa_enrolment_required(&self) -> bool {
        self.mfa_enrolment.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// What the hub said about the account at the last sign-in or Remember-me refresh
    /// (its domains and limits), if either happened in this process.
    pub fn account(&self) -> Option<sealpost_proto::AccountInfo> {
        self.account.lock().expect("BUG: poisoned").clone()
    }

    /// The hub's address.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Where to keep the Remember-me token (and rotations of it).
    pub fn set_remember_slot(&self, slot: Option<RememberSlot>) {
        *self.remember.lock().expect("BUG: poisoned") = slot;
    }

    /// Whether a session is held in memory.
    pub fn signed_in(&self) -> bool {
        self.access.lock().expect("BUG: poisoned").is_some()
    }

    /// Forgets the access token (the app locking, for instance).
    pub fn forget_session(&self) {
        *self.access.lock().expect("BUG: poisoned") = None;
    }

    /// Locks or unlocks: while locked, authenticated calls (and Remember-me refreshes) are
    /// refused with `SignInRequired`.
    pub fn set_locked(&self, locked: bool) {
        self.locked
            .store(locked, std::sync::atomic::Ordering::SeqCst);
        if locked {
            self.forget_session();
        }
    }

    fn is_locked(&self) -> bool {
        self.locked.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// What a failed request means: a TLS failure (a refused certificate, a hub that does
    /// not speak TLS) is said as such, not as "offline", since waiting will not mend it.
    fn offline(&self, e: reqwest::Error) -> ClientError {
        if let Some(tls) = tls_failure(&e) {
            return ClientError::Tls {
                hub: self.base.clone(),
                reason: tls,
                source: e,
            };
        }
        if e.is_connect() || e.is_timeout() || e.is_request() {
            ClientError::Offline {
                hub: self.base.clone(),
                cause: Some(e),
            }
        } else {
            ClientError::Answer {
                message: format!("the hub's answer could not be read: {e}"),
                status: e.status().map(|s| s.as_u16()),
                source: Some(e),
            }
        }
    }

    async fn refusal(response: reqwest::Response) -> ClientError {
        let status = response.status();
        let origin = response.url().origin().ascii_serialization();
        match response.json::<ErrorBody>().await {
            Ok(body) => ClientError::Hub {
                status: status.as_u16(),
                // A fault on the hub's side, whatever it calls it: the request may work later.
                code: if status.is_server_error() {
                    Code::Internal
                } else {
                    code_of(&body.error.code)
                },
                message: body.error.message.clone(),
                detail: Box::new(body.error),
            },
            // A proxy's 502, 503 or 504: the hub behind it cannot be reached.
            Err(_) if status.is_server_error() => {
                ClientError::offline(format!("{origin} (it answered {status})"))
            }
            Err(_) => ClientError::Answer {
                message: format!("the hub answered {status} without an explanation"),
                status: Some(status.as_u16()),
                source: None,
            },
        }
    }

    async fn send_raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
        auth: bool,
    ) -> Result<reqwest::Response> {
        let mut req = self.http.request(method, self.url(path));
        if auth {
            let token = self.access.lock().expect("BUG: poisoned").clone();
            match token {
                Some(t) => req = req.bearer_auth(t.expose()),
                None => return Err(ClientError::SignInRequired),
            }
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        req.send().await.map_err(|e| self.offline(e))
    }

    /// An authenticated call; on `session_expired` with Remember me, refreshes once and
    /// retries.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T> {
        let response = self.call_raw(method, path, body).await?;
        response.json().await.map_err(not_understood)
    }

    /// As [`HubClient::call`], for answers without a body (204).
    pub async fn call_empty(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<()> {
        self.call_raw(method, path, body).await.map(|_| ())
    }

    async fn call_raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<reqwest::Response> {
        if self.is_locked() {
            return Err(ClientError::SignInRequired);
        }
        if !self.signed_in() && self.has_remember() {
            self.refresh().await?;
        }
        let response = self.send_raw(method.clone(), path, body, true).await?;
        if response.status() == StatusCode::UNAUTHORIZED && self.has_remember() {
            // Only an ended session is worth a refresh and a second try: a wrong password
            // or code (asked again before a change of sign-in) would be counted twice.
            let err = Self::refusal(response).await;
            if err.code() != Code::SignInRequired {
                return Err(err);
            }
            self.refresh().await?;
            let retry = self.send_raw(method, path, body, true).await?;
            return self.checked(retry).await;
        }
        self.checked(response).await
    }

    async fn checked(&self, response: reqwest::Response) -> Result<reqwest::Response> {
        if response.status().is_success() {
            return Ok(response);
        }
        let err = Self::refusal(response).await;
        match err.code() {
            Code::SignInRequired => self.forget_session(),
            Code::MfaEnrolmentRequired => self
                .mfa_enrolment
                .store(true, std::sync::atomic::Ordering::SeqCst),
            _ => {}
        }
        Err(err)
    }

    fn has_remember(&self) -> bool {
        let slot = self.remember.lock().expect("BUG: poisoned").clone();
        slot.is_some_and(|s| matches!(s.store.load(&s.name), Ok(Some(_))))
    }

    fn keep_session(&self, session: &Session) -> Result<()> {
        *self.access.lock().expect("BUG: poisoned") =
            Some(Sensitive::new(session.access_token.clone()));
        *self.account.lock().expect("BUG: poisoned") = Some(session.account.clone());
        self.mfa_enrolment.store(
            session.mfa_enrolment_required,
            std::sync::atomic::Ordering::SeqCst,
        );
        let slot = self.remember.lock().expect("BUG: poisoned").clone();
        if let (Some(slot), Some(refresh)) = (slot, &session.refresh_token) {
            slot.store.store(&slot.name, refresh)?;
        }
        Ok(())
    }

    /// Signs in; with `remember_me` the refresh token goes to the keyring slot, and the
    /// trusted-device token is sent and kept there too. An empty password is never sent.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        remember_me: bool,
        device: &str,
    ) -> Result<Session> {
        self.sign_in_with_code(email, password, None, remember_me, device, None)
            .await
    }

    /// As [`HubClient::sign_in`], with the second step of an account that has two-step
    /// sign-in: the authenticator's 6-digit code or a recovery code. With `mailbox`, a
    /// named delegate (`email` and `password` their own) signs in to that shared mailbox.
    pub async fn sign_in_with_code(
        &self,
        email: &str,
        password: &str,
        mfa_code: Option<&str>,
        remember_me: bool,
        device: &str,
        mailbox: Option<&str>,
    ) -> Result<Session> {
        if password.is_empty() {
            return Err(ClientError::Refused {
                code: Code::InvalidCredentials,
                message: "Type the password: nothing was sent to the hub.".into(),
                refused: Vec::new(),
            });
        }
        let slot = self.remember.lock().expect("BUG: poisoned").clone();
        let device_token = match &slot {
            Some(slot) => slot.store.load(&slot.device)?,
            None => None,
        };
        let body = SignInRequest {
            email: email.to_owned(),
            password: password.to_owned(),
            remember_me,
            device_name: Some(device.to_owned()),
            device_token: device_token.map(|t| t.expose().clone()),
            mfa_code: mfa_code.map(str::to_owned),
            mailbox: mailbox.map(str::to_owned),
        };
        let response = self
            .send_raw(Method::POST, "/sessions", Some(&body), false)
            .await?;
        if !response.status().is_success() {
            return Err(Self::refusal(response).await);
        }
        let session: Session = response.json().await.map_err(not_understood)?;
        self.keep_session(&session)?;
        if let (Some(slot), Some(token)) = (slot, &session.device_token) {
            slot.store.store(&slot.device, token)?;
        }
        Ok(session)
    }

    /// Opens a session on the shared mailbox `mailbox` for the person signed in on `from`
    /// (their own mailbox's client), without the password again, and keeps it here; with
    /// `remember_me` its refresh token goes to this client's keyring slot.
    ///
    /// # Errors
    /// `AccessRemoved` when the person is not (any more) its delegate; `SignInRequired`
    /// when `from` is not signed in.
    pub async fn open_delegate_session(
        &self,
        from: &HubClient,
        mailbox: &str,
        remember_me: bool,
        device: &str,
    ) -> Result<Session> {
        let body = sealpost_proto::DelegateSessionRequest {
            mailbox: mailbox.to_owned(),
            remember_me,
            device_name: Some(device.to_owned()),
        };
        let response = from
            .call_raw(Method::POST, "/sessions/delegate", Some(&body))
            .await?;
        let session: Session = response.json().await.map_err(not_understood)?;
        self.keep_session(&session)?;
        Ok(session)
    }

    /// Exchanges the remembered refresh token for a new session (and a new token), one
    /// process of this computer at a time: the token is read once the lock is held, so a
    /// process that waited uses the token the other one just received.
    pub async fn refresh(&self) -> Result<Session> {
        if self.is_locked() {
            return Err(ClientError::SignInRequired);
        }
        self.exchange_remembered().await
    }

    /// The exchange itself, locked or not (sign-out uses it to end the chain).
    async fn exchange_remembered(&self) -> Result<Session> {
        let slot = self.remember.lock().expect("BUG: poisoned").clone();
        let Some(slot) = slot else {
            return Err(ClientError::SignInRequired);
        };
        let _held = self.refresh_lock(&slot.lock).await?;
        let Some(token) = slot.store.load(&slot.name)? else {
            return Err(ClientError::SignInRequired);
        };
        let body = RefreshRequest {
            refresh_token: token.expose().clone(),
        };
        // An answer lost on the way (a dropped connection, a proxy that gave up) is tried
        // again within seconds with the same token: the hub tells such a retry from a
        // stolen copy only within its 30-second grace, so every try ends well inside it.
        // Each try, answer read whole, is bounded, since other processes of this computer
        // wait for the lock meanwhile. A request that never left (no connection) is not
        // tried again: the token was not used.
        let mut tries = 0;
        let session = loop {
            tries += 1;
            let attempt = async {
                let response = self
                    .http
                    .post(self.url("/sessions/refresh"))
                    .json(&body)
                    .send()
                    .await
                    .map_err(|e| (e.is_connect(), self.offline(e)))?;
                if !response.status().is_success() {
                    return Ok(Err(Self::refusal(response).await));
                }
                // An answer cut short is an answer lost: the token may have been used.
                let session = response
                    .json::<Session>()
                    .await
                    .map_err(|_| (false, ClientError::offline(self.base.clone())))?;
                Ok(Ok(session))
            };
            let outcome: std::result::Result<Result<Session>, (bool, ClientError)> =
                tokio::time::timeout(REFRESH_TIMEOUT, attempt)
                    .await
                    .unwrap_or_else(|_| Err((false, ClientError::offline(self.base.clone()))));
            match outcome {
                Ok(Ok(session)) => break session,
                Ok(Err(err)) if matches!(err.code(), Code::InvalidLink | Code::SignInRequired) => {
                    // Revoked or replayed: this device must sign in with the password again.
                    slot.store.delete(&slot.name)?;
                    self.forget_session();
                    return Err(ClientError::SignInRequired);
                }
                Ok(Err(err)) => return Err(err),
                Err((false, ClientError::Offline { .. })) if tries < REFRESH_TRIES => {
                    tokio::time::sleep(std::time::Duration::from_secs(tries)).await;
                }
                Err((_, err)) => return Err(err),
            }
        };
        self.keep_session(&session)?;
        Ok(session)
    }

    /// Ends this device's session, and with it its Remember-me chain, at the hub: with the
    /// session in hand, or else with one got by exchanging the remembered token. A session
    /// that ended by itself (401) is exchanged for a live one once.
    async fn end_session_at_hub(&self) -> Result<()> {
        for _ in 0..2 {
            if !self.signed_in() {
                if !self.has_remember() {
                    return Ok(());
                }
                self.exchange_remembered().await?;
            }
            let response = self
                .send_raw(Method::DELETE, "/sessions/current", None::<&()>, true)
                .await?;
            if response.status() == StatusCode::UNAUTHORIZED {
                self.forget_session();
                continue;
            }
            if !response.status().is_success() {
                return Err(Self::refusal(response).await);
            }
            return Ok(());
        }
        Ok(())
    }

    /// Takes the lock that makes one process of this computer refresh at a time. A holder
    /// gives it up within [`REFRESH_TIMEOUT`] (or by exiting); waiting longer than
    /// [`REFRESH_LOCK_WAIT`] means something is stuck, and is answered like an unreachable
    /// hub, leaving the token untouched for the next try.
    async fn refresh_lock(&self, path: &std::path::Path) -> Result<std::fs::File> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        let deadline = tokio::time::Instant::now() + REFRESH_LOCK_WAIT;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(ClientError::offline(self.base.clone()));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
            }
        }
    }

    /// Signs out at the hub and forgets Remember me on this device, locked or not. With
    /// no live session but a Remember-me token (a new `sealpost` run, an expired session,
    /// a locked window), the token is exchanged first so that the hub ends the device's
    /// chain rather than leaving the token working. Unreachable, the hub is not told:
    /// everything is forgotten here, and the chain ends unused after 30 days.
    pub async fn sign_out(&self) -> Result<()> {
        let result = self.end_session_at_hub().await;
        self.forget_session();
        let slot = self.remember.lock().expect("BUG: poisoned").clone();
        if let Some(slot) = slot {
            slot.store.delete(&slot.name)?;
        }
        match result {
            // Offline, or the chain had already ended: nothing is left to end.
            Err(ClientError::Offline { .. } | ClientError::SignInRequired) | Ok(()) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn public<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<Option<T>> {
        let response = self.send_raw(method, path, body, false).await?;
        if !response.status().is_success() {
            return Err(Self::refusal(response).await);
        }
        if response.status() == StatusCode::NO_CONTENT || response.status() == StatusCode::ACCEPTED
        {
            return Ok(None);
        }
        response.json().await.map(Some).map_err(not_understood)
    }

    /// The app update manifest this hub serves (`GET /updates/latest.json`), as published, or
    /// `None` when the hub serves no updates (404).
    pub async fn update_manifest(&self) -> Result<Option<serde_json::Value>> {
        match self
            .public(Method::GET, "/updates/latest.json", None::<&()>)
            .await
        {
            Ok(manifest) => Ok(manifest),
            Err(ClientError::Hub {
                code: Code::NotFound,
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// What a registration link is for: the address and the password rules.
    pub async fn registration_info(&self, token: &str) -> Result<RegistrationInfo> {
        self.public(Method::GET, &format!("/registrations/{token}"), None::<&()>)
            .await?
            .ok_or_else(|| ClientError::Answer {
                message: "the hub sent no registration details".into(),
                status: None,
                source: None,
            })
    }

    /// Completes registration.
    pub async fn register(&self, token: &str, password: &str) -> Result<Registered> {
        let body = RegistrationRequest {
            token: token.to_owned(),
            password: password.to_owned(),
        };
        self.public(Method::POST, "/registrations", Some(&body))
            .await?
            .ok_or_else(|| ClientError::Answer {
                message: "the hub sent no answer".into(),
                status: None,
                source: None,
            })
    }

    /// Asks for a password-reset email; returns how many minutes its link will work.
    pub async fn request_reset(&self, email: &str) -> Result<i64> {
        let body = ResetRequest {
            email: email.to_owned(),
        };
        let response = self
            .send_raw(Method::POST, "/password-resets", Some(&body), false)
            .await?;
        if !response.status().is_success() {
            return Err(Self::refusal(response).await);
        }
        // Hubs before the answer had a body: their links worked for 30 minutes.
        Ok(response
            .json::<ResetRequested>()
            .await
            .map_or(30, |r| r.link_minutes))
    }

    /// What a reset link is for: the address and the password rules (a used or expired
    /// link is refused with `InvalidLink` before any password is chosen).
    pub async fn reset_info(&self, token: &str) -> Result<RegistrationInfo> {
        self.public(
            Method::GET,
            &format!("/password-resets/{token}"),
            None::<&()>,
        )
        .await?
        .ok_or_else(|| ClientError::Answer {
            message: "the hub sent no details of the link".into(),
            status: None,
            source: None,
        })
    }

    /// Sets a new password with the emailed link's token.
    pub async fn confirm_reset(&self, token: &str, new_password: &str) -> Result<()> {
        let body = ResetConfirm {
            token: token.to_owned(),
            new_password: new_password.to_owned(),
        };
        self.public::<serde_json::Value>(Method::POST, "/password-resets/confirm", Some(&body))
            .await
            .map(|_| ())
    }

    /// An attachment's bytes as they arrive, with the total size when the hub says it.
    pub async fn download(
        &self,
        message_id: &str,
        attachment_id: &str,
    ) -> Result<(
        u64,
        impl Stream<Item = Result<bytes::Bytes>> + Send + Unpin + 'static,
    )> {
        let response = self
            .call_raw(
                Method::GET,
                &format!("/messages/{message_id}/attachments/{attachment_id}"),
                None::<&()>,
            )
            .await?;
        let total = response.content_length().unwrap_or(0);
        let base = self.base.clone();
        Ok((
            total,
            response
                .bytes_stream()
                .map(move |c| c.map_err(|_| ClientError::offline(base.clone()))),
        ))
    }

    /// Uploads a file for a message. `body` makes the request body each time it is called
    /// (a second time after a session refresh): the bytes stream, they are never all in
    /// memory.
    pub async fn upload(
        &self,
        name: &str,
        content_type: &str,
        total: u64,
        body: impl Fn() -> reqwest::Body,
    ) -> Result<Upload> {
        if self.is_locked() {
            return Err(ClientError::SignInRequired);
        }
        let path = format!("/uploads?name={}", encode_query(name));
        let attempt = || {
            let token = self.access.lock().expect("BUG: poisoned").clone();
            let mut req = self
                .http
                .post(self.url(&path))
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .header(reqwest::header::CONTENT_LENGTH, total)
                .body(body());
            if let Some(t) = token {
                req = req.bearer_auth(t.expose());
            }
            req.send()
        };
        if !self.signed_in() && self.has_remember() {
            self.refresh().await?;
        }
        let mut response = attempt().await.map_err(|e| self.offline(e))?;
        if response.status() == StatusCode::UNAUTHORIZED && self.has_remember() {
            self.refresh().await?;
            response = attempt().await.map_err(|e| self.offline(e))?;
        }
        self.checked(response)
            .await?
            .json()
            .await
            .map_err(not_understood)
    }

    /// Whether two-step sign-in is on for this account.
    pub async fn mfa_state(&self) -> Result<MfaState> {
        self.call(Method::GET, "/account/mfa", None::<&()>).await
    }

    /// Starts turning two-step sign-in on (the password asked again): the secret for the
    /// authenticator app.
    pub async fn begin_mfa(&self, password: &str) -> Result<MfaSetup> {
        self.call(
            Method::POST,
            "/account/mfa",
            Some(&MfaBegin {
                password: password.into(),
            }),
        )
        .await
    }

    /// Turns two-step sign-in on with the app's first code; the recovery codes, once.
    pub async fn confirm_mfa(&self, code: &str) -> Result<Vec<String>> {
        let on: MfaEnabled = self
            .call(
                Method::POST,
                "/account/mfa/confirm",
                Some(&MfaCode { code: code.into() }),
            )
            .await?;
        self.mfa_enrolment
            .store(false, std::sync::atomic::Ordering::SeqCst);
        Ok(on.recovery_codes)
    }

    /// Turns two-step sign-in off with the password and a current code or an unused
    /// recovery code.
    pub async fn disable_mfa(&self, password: &str, code: &str) -> Result<()> {
        self.call_empty(
            Method::POST,
            "/account/mfa/disable",
            Some(&MfaDisable {
                password: password.into(),
                code: code.into(),
            }),
        )
        .await
    }

    /// One page of changes since `since`.
    pub async fn changes(&self, since: Option<&str>, limit: u32) -> Result<Changes> {
        let path = match since {
            Some(s) => format!("/changes?since={s}&limit={limit}"),
            None => format!("/changes?limit={limit}"),
        };
        self.call(Method::GET, &path, None::<&()>).await
    }

    /// The push channel: each item is a new mailbox state.
    pub async fn events(&self) -> Result<impl Stream<Item = Result<String>>> {
        let response = self.call_raw(Method::GET, "/events", None::<&()>).await?;
        let mut buffer = String::new();
        let base = self.base.clone();
        Ok(response
            .bytes_stream()
            .map(move |chunk| {
                let chunk = chunk.map_err(|_| ClientError::offline(base.clone()))?;
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                let mut states = Vec::new();
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    if block.lines().any(|l| l == "event: state") {
                        if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                            if let Ok(ev) = serde_json::from_str::<sealpost_proto::StateEvent>(data)
                            {
                                states.push(ev.state);
                            }
                        }
                    }
                }
                Ok(states)
            })
            .flat_map(|r: Result<Vec<String>>| {
                futures_util::stream::iter(match r {
                    Ok(states) => states.into_iter().map(Ok).collect::<Vec<_>>(),
                    Err(e) => vec![Err(e)],
                })
            }))
    }
}

/// Percent-encodes a query value.
fn encode_query(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_allowed_only_to_this_computer() {
        assert_eq!(
            check_hub_url("https://secure.example.org/").unwrap(),
            "https://secure.example.org"
        );
        assert!(check_hub_url("http://127.0.0.1:8080").is_ok());
        assert!(check_hub_url("http://localhost:8080").is_ok());
        assert!(check_hub_url("http://[::1]:8080").is_ok());
        let err = check_hub_url("http://secure.example.org").unwrap_err();
        assert_eq!(err.code(), Code::Invalid);
        assert!(
            err.to_string().contains("must start with https://"),
            "{err}"
        );
        assert!(check_hub_url("secure.example.org").is_err());
        assert!(check_hub_url("ftp://secure.example.org").is_err());
        assert!(
            check_hub_url("http://127.1.2.3:8080").is_ok(),
            "all of 127/8"
        );
    }

    #[test]
    fn a_hub_address_has_one_spelling() {
        for (typed, spelt) in [
            (
                "HTTPS://Secure.Example.ORG:443/",
                "https://secure.example.org",
            ),
            (
                " https://secure.example.org/hub/ ",
                "https://secure.example.org/hub",
            ),
            ("http://LOCALHOST:8080", "http://localhost:8080"),
            ("https://bücher.example", "https://xn--bcher-kva.example"),
            ("https://secure.example.org./", "https://secure.example.org"),
            ("http://localhost.:8080", "http://localhost:8080"),
        ] {
            assert_eq!(check_hub_url(typed).unwrap(), spelt, "{typed}");
        }
        assert!(same_hub(
            "https://secure.example.org",
            "HTTPS://SECURE.example.org:443/"
        ));
        assert!(!same_hub(
            "https://secure.example.org",
            "https://secure.example.org:8443"
        ));
        assert!(!same_hub("https://secure.example.org", "not a hub"));
    }

    #[test]
    fn an_address_that_only_looks_local_is_not() {
        for url in [
            // The host is evil.example; "localhost:1" is a user name and password.
            "http://localhost:1@evil.example",
            "https://secure.example.org@evil.example",
            // A name that starts like a loopback address.
            "http://127.0.0.1.evil.example",
            "http://localhost.evil.example:8080",
            "http://[::1].evil.example",
            // Backslashes are slashes to the HTTP client: the host is evil.example.
            "http://evil.example\\@127.0.0.1",
            "https://secure.example.org/?next=x",
            "https://",
        ] {
            let e = check_hub_url(url).unwrap_err();
            assert_eq!(e.code(), Code::Invalid, "{url} is refused");
        }
    }
}
