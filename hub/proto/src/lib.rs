//! Wire types of the Sealpost hub's HTTP API, version 1.
//!
//! Shared by the hub, the desktop client and the tests. No HTTP, database or crypto types
//! leak into the contract: this crate depends on serde, and [`address`] on the two small
//! libraries of the address rule (`email_address`, `idna`). Timestamps are RFC 3339 strings
//! in UTC; ids are opaque strings.

use serde::{Deserialize, Serialize};

pub use error_code::ErrorCode;

pub mod address;
mod error_code;
pub mod text;

/// Every refusal has this shape: `{"error": {"code", "message", ..}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ErrorBody {
    /// The refusal itself.
    pub error: ApiError,
}

/// A refusal: a stable `code` for programs, a `message` for people, and fields some codes add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ApiError {
    /// Stable snake_case code a client switches on.
    #[cfg_attr(feature = "specta", specta(type = String))]
    pub code: ErrorCode,
    /// A sentence a person can act on.
    pub message: String,
    /// With `weak_password`: the id of each password rule that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_failed: Option<Vec<String>>,
    /// With `account_locked`: when sign-in opens again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<String>,
    /// With `invalid_credentials`: how many more failed sign-ins lock sign-in (the same
    /// for every address, registered or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tries_left: Option<u32>,
    /// With `recipient_not_allowed`: every address that was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<Vec<String>>,
    /// With `attachment_limit`: the most files a message may carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_files: Option<u32>,
    /// With `attachment_limit`: the most bytes a message's attachments may total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_total_bytes: Option<u64>,
}

/// One password rule, as shown to a person choosing a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PasswordRule {
    /// Stable id, as named in `rules_failed`: `min_length`, `max_length`, `not_common`,
    /// `not_address`.
    pub id: String,
    /// The rule in words, e.g. "At least 15 characters".
    pub description: String,
}

/// The password rules of a hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct PasswordRules {
    /// Fewest characters accepted (Unicode scalar values).
    pub min_length: u32,
    /// Most characters accepted.
    pub max_length: u32,
    /// Every rule, in the order to show them.
    pub rules: Vec<PasswordRule>,
}

/// `GET /api/v1/registrations/{token}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RegistrationInfo {
    /// The address this registration is for.
    pub email: String,
    /// The organisation that runs the hub.
    pub org_name: String,
    /// What a new password must satisfy.
    pub password_rules: PasswordRules,
}

/// `POST /api/v1/registrations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RegistrationRequest {
    /// The token from the registration link.
    pub token: String,
    /// The chosen password.
    pub password: String,
}

/// Answer to a successful registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Registered {
    /// The address now registered.
    pub email: String,
}

/// `POST /api/v1/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SignInRequest {
    /// The account's address.
    pub email: String,
    /// The account's password (an empty one is refused before anything is checked).
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub password: String,
    /// Also issue a refresh token, so the device stays signed in.
    #[serde(default)]
    pub remember_me: bool,
    /// A name for the device, shown to admins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
    /// The `device_token` this device was given at an earlier sign-in to this account: its
    /// failed sign-ins are then counted apart, and failures elsewhere never lock it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    /// For an account with two-step sign-in: the 6-digit code the authenticator app shows
    /// now (RFC 6238), or an unused recovery code. Without it such an account answers
    /// 401 `mfa_required`; a wrong one answers 401 `mfa_code_wrong` and counts toward the
    /// lock like a wrong password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_code: Option<String>,
    /// Sign in to this shared mailbox as one of its named delegates: `email` and
    /// `password` are then the person's own. A person without access to it (never given,
    /// or taken away) answers 401 `access_removed` once the password is right.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub mailbox: Option<String>,
}

/// `POST /api/v1/sessions/delegate`: a session on a shared mailbox the signed-in person is
/// a delegate of, from their session on another (their own, say), without the password or
/// code again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DelegateSessionRequest {
    /// The shared mailbox's address.
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub mailbox: String,
    /// Also issue a refresh token, so the device stays signed in to it.
    #[serde(default)]
    pub remember_me: bool,
    /// A name for the device, shown to admins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
}

/// A person who works a mailbox under their own name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Person {
    /// Their own address.
    pub email: String,
    /// Their name as the mailbox's owner gave it, e.g. `Alice Smith`.
    pub name: String,
}

/// A shared mailbox a person may also work (`AccountInfo::shared_mailboxes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SharedMailbox {
    /// The mailbox's address.
    pub email: String,
    /// `member`, or `manager` (may add and remove delegates).
    pub role: String,
}

/// One named delegate of a shared mailbox (`GET /api/v1/mailbox/delegates`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Delegate {
    /// Opaque id, for removing them.
    pub id: String,
    /// Their own address: they sign in with it and their own password.
    pub email: String,
    /// Their name, e.g. `Alice Smith`; staff see it on what they send.
    pub name: String,
    /// `member`, or `manager` (may add and remove delegates).
    pub role: String,
    /// Whether they have signed in to this mailbox yet (until then the invitation is
    /// open). Whether they have an account with the hub otherwise is not told.
    pub joined: bool,
    /// When they were added, RFC 3339.
    pub added_at: String,
    /// Who added them: an address, or `admin`.
    pub added_by: String,
}

/// `GET /api/v1/mailbox/delegates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DelegateList {
    /// The mailbox's address.
    pub mailbox: String,
    /// Whether the caller may add and remove delegates (the owner or a manager).
    pub can_manage: bool,
    /// In the order they were added.
    pub items: Vec<Delegate>,
}

/// `POST /api/v1/mailbox/delegates`: invite a person to work this mailbox under their own
/// name. They are emailed an invitation (no content); a person who has no password with
/// this hub yet chooses one through its link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NewDelegate {
    /// Their own address (not the organisation's, nor this mailbox's).
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub email: String,
    /// Their name: 1 to 100 characters on one line (no control characters), not all
    /// spaces.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
        )
    )]
    pub name: String,
    /// `member` (the default) or `manager`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// `POST /api/v1/account/mfa`: a new authenticator secret, for the app to show as a QR code
/// and as text. Two-step sign-in is on only once [`MfaCode`] confirms it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MfaSetup {
    /// The secret in base32 (RFC 4648, no padding), for typing into an authenticator app.
    pub secret: String,
    /// The same as an `otpauth://totp/…` URI (SHA-1, 6 digits, 30 s), for a QR code.
    pub otpauth_uri: String,
}

/// `POST /api/v1/account/mfa`: the account's password again, before its sign-in changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MfaBegin {
    /// The account's password (a wrong one counts toward the lock, as at sign-in).
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub password: String,
}

/// `POST /api/v1/account/mfa/disable`: the password and a current or recovery code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MfaDisable {
    /// The account's password.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub password: String,
    /// The 6 digits the app shows now, or an unused recovery code.
    pub code: String,
}

/// `POST /api/v1/account/mfa/confirm`: the first code, proving the authenticator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MfaCode {
    /// The 6 digits the app shows now.
    pub code: String,
}

/// Two-step sign-in turned on: the recovery codes, shown this once (the hub keeps only
/// their digests). Each signs in once in place of a code, for a lost phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MfaEnabled {
    /// Ten codes like `abcde-fghjk`.
    pub recovery_codes: Vec<String>,
}

/// `GET /api/v1/account/mfa`: whether two-step sign-in is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MfaState {
    /// On (confirmed by a first code).
    pub enabled: bool,
    /// Recovery codes not used yet (0 when off).
    pub recovery_codes_left: u32,
}

/// `POST /api/v1/sessions/refresh`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RefreshRequest {
    /// The refresh token from the last sign-in or refresh; it stops working once used.
    pub refresh_token: String,
}

/// The signed-in account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AccountInfo {
    /// The account's address.
    pub email: String,
    /// The organisation that runs the hub.
    pub org_name: String,
    /// Addresses in these domains are the organisation's; external users may write only to them.
    pub org_domains: Vec<String>,
    /// What this hub allows a mailbox, for clients to check before uploading. Absent from
    /// hubs older than this field; clients then assume [`MailboxLimits::default`].
    #[serde(default)]
    pub limits: MailboxLimits,
    /// On a delegate's session: the person signed in (the mailbox is `email`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_in_as: Option<Person>,
    /// The shared mailboxes the person signed in may also work, for the client to offer
    /// (`POST /api/v1/sessions/delegate` opens each).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_mailboxes: Vec<SharedMailbox>,
}

/// What a hub allows each message and session, as configured by its admin (`[limits]` and
/// `[security]` of `hub.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MailboxLimits {
    /// Most attachments on one message.
    pub max_files: u32,
    /// Most bytes of attachments on one message, in all (SI: 75 MB = 75,000,000).
    pub max_total_bytes: u64,
    /// Seconds of inactivity after which a session ends; clients lock their window sooner
    /// or at the same time.
    pub idle_timeout_seconds: u64,
}

impl Default for MailboxLimits {
    /// The limits of a hub with the default configuration: 10 files, 75 MB, 20 minutes.
    fn default() -> Self {
        Self {
            max_files: 10,
            max_total_bytes: 75 * text::MEGABYTE,
            idle_timeout_seconds: 20 * 60,
        }
    }
}

/// Answer to a sign-in or a refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Session {
    /// Bearer token for the mailbox API.
    pub access_token: String,
    /// When the access token stops working unless used before (it slides with use).
    pub expires_at: String,
    /// Present with Remember me: exchange it for a new session; it works once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// After a sign-in from a device not yet trusted: keep it (in the OS keyring) and send
    /// it with later sign-ins to this account (see `SignInRequest::device_token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    /// Who is signed in.
    pub account: AccountInfo,
    /// The organisation requires two-step sign-in (`require_mfa`) and this account has not
    /// turned it on: until it does, every call but `/account/mfa…` and sign-out answers
    /// 403 `mfa_enrolment_required`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mfa_enrolment_required: bool,
}

/// `POST /api/v1/password-resets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ResetRequest {
    /// The account's address.
    pub email: String,
}

/// Answer to `POST /api/v1/password-resets` (the same for every address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ResetRequested {
    /// How long the emailed link works, in minutes.
    pub link_minutes: i64,
}

/// `POST /api/v1/password-resets/confirm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ResetConfirm {
    /// The token from the reset link.
    pub token: String,
    /// The new password.
    pub new_password: String,
}

/// `POST /api/v1/org/messages`: a secure message from organisation staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OrgOutgoing {
    /// The staff member's address, in an organisation domain.
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub from: String,
    /// Recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// Copy recipients.
    #[serde(default)]
    pub cc: Vec<String>,
    /// Subject line.
    #[serde(default)]
    pub subject: String,
    /// Plain-text body.
    #[serde(default)]
    pub body_text: String,
    /// An HTML version of the body, for mail written as HTML. Recipients' apps show it
    /// sanitised, with no scripts and no remote content; `body_text` stays the fallback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_html: Option<String>,
    /// Files uploaded with `POST /api/v1/org/uploads`.
    #[serde(default)]
    pub upload_ids: Vec<String>,
    /// A value the sending system makes up once per message (at most 100 characters; the
    /// `Idempotency-Key` header does the same). Sent again with the same value after a lost
    /// answer, the message is not sent twice: the first receipt comes back. The same value
    /// with a different message is refused with 409.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x1f\x7f-\x9f]{0,100}[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
        )
    )]
    pub client_ref: Option<String>,
}

/// Answer to `POST /api/v1/org/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OrgSent {
    /// Id of the sent message (one id, whatever the number of recipients).
    pub id: String,
    /// The external recipients that got a copy in their mailbox.
    pub delivered_to: Vec<String>,
}

/// Answer to `POST /api/v1/org/messages/{id}/recall`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OrgRecalled {
    /// The recalled message's id.
    pub id: String,
    /// When it was recalled (RFC 3339, UTC); asked again, the first recall's time.
    pub recalled_at: String,
    /// How many recipients' copies were deleted (by the first recall).
    pub copies_deleted: u64,
}

/// `GET /api/v1/org/messages/{id}`: what became of each recipient's copy. Times are RFC
/// 3339 (UTC); `null` means not (yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OrgMessageStatus {
    /// The message's id.
    pub id: String,
    /// When it was sent.
    pub sent_at: String,
    /// Each external recipient, by address.
    pub recipients: Vec<OrgRecipientStatus>,
}

/// One recipient in [`OrgMessageStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct OrgRecipientStatus {
    /// Their address.
    pub address: String,
    /// When the hub queued the notice email of it.
    pub notified_at: Option<String>,
    /// When they registered (before or after the message).
    pub registered_at: Option<String>,
    /// When they first opened it.
    pub first_opened_at: Option<String>,
    /// When they first replied to it.
    pub replied_at: Option<String>,
    /// When it was recalled.
    pub recalled_at: Option<String>,
    /// When it expired, once it has.
    pub expired_at: Option<String>,
    /// Not registered 7 days after the notice: the address may be wrong (no failure
    /// message comes back for a mistyped address).
    pub not_registered_after_7_days: bool,
}

/// Answer to an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Upload {
    /// Pass this in `upload_ids` when sending.
    pub upload_id: String,
    /// The file name, cleaned for display.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
}

/// The folders of a mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Folder {
    /// Received messages.
    Inbox,
    /// Messages the user sent.
    Sent,
    /// Unfinished messages.
    Drafts,
    /// Messages deleted from the inbox or Sent, kept (under the same retention) until the
    /// folder is emptied; `deleted_from` says where each came from.
    Deleted,
}

impl Folder {
    /// The folder's name on the wire (and in stores).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbox => "inbox",
            Self::Sent => "sent",
            Self::Drafts => "drafts",
            Self::Deleted => "deleted",
        }
    }

    /// The folder with this name; unknown names read as the inbox.
    pub fn from_name(name: &str) -> Self {
        match name {
            "sent" => Self::Sent,
            "drafts" => Self::Drafts,
            "deleted" => Self::Deleted,
            _ => Self::Inbox,
        }
    }
}

/// How an outgoing message relates to an earlier one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum SendMode {
    /// A new message.
    #[default]
    New,
    /// To the sender of `in_reply_to` only.
    Reply,
    /// To the sender and the other organisation participants of `in_reply_to`.
    ReplyAll,
    /// `in_reply_to` passed on, optionally with its attachments.
    Forward,
}

impl SendMode {
    /// The mode's name on the wire (and in stores).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Reply => "reply",
            Self::ReplyAll => "reply_all",
            Self::Forward => "forward",
        }
    }

    /// The mode with this name; unknown names read as a new message.
    pub fn from_name(name: &str) -> Self {
        match name {
            "reply" => Self::Reply,
            "reply_all" => Self::ReplyAll,
            "forward" => Self::Forward,
            _ => Self::New,
        }
    }
}

/// One attachment of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AttachmentInfo {
    /// Id for download.
    pub id: String,
    /// File name for display.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type.
    pub content_type: String,
}

/// Delivery of a Sent item to the organisation's staff by email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Delivery {
    /// `queued`, `delivered` or `failed`.
    pub status: String,
    /// What went wrong or is being retried, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A message as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MessageSummary {
    /// Message id.
    pub id: String,
    /// Where it is.
    pub folder: Folder,
    /// Sender address.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Copy recipients.
    pub cc: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// When it was sent (for drafts: last saved).
    pub sent_at: String,
    /// When retention deletes it.
    pub expires_at: String,
    /// Whether the user has opened it.
    pub read: bool,
    /// Its attachments, in order.
    pub attachments: Vec<AttachmentInfo>,
    /// For Sent items: delivery to the organisation's staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
    /// For drafts and Sent items: the `client_ref` they were saved or sent with, so that a
    /// client finds the draft of a compose it holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ref: Option<String>,
    /// For messages in Deleted: the folder it was deleted from (where a restore puts it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_from: Option<Folder>,
    /// A reply (or reply to all) to it was sent from this mailbox (IMAP's `\Answered`).
    #[serde(default)]
    pub replied: bool,
    /// It was forwarded from this mailbox (IMAP's `$Forwarded`).
    #[serde(default)]
    pub forwarded: bool,
    /// Set by the app, never by the hub: its sender recalled it at this time (RFC 3339),
    /// and the vault keeps only a line in its place, with none of its content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recalled_at: Option<String>,
}

/// A whole message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Message {
    /// Everything a listing shows.
    #[serde(flatten)]
    pub summary: MessageSummary,
    /// Plain-text body.
    pub body_text: String,
    /// HTML body, when the sender wrote one (never for messages written in Sealpost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_html: Option<String>,
    /// The message this one answers or forwards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// For drafts: how it will be sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<SendMode>,
}

/// A page of a folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MessageList {
    /// Newest first.
    pub items: Vec<MessageSummary>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<String>,
}

/// `PATCH /api/v1/messages/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MessagePatch {
    /// Mark read or unread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<bool>,
    /// `true` moves an inbox or Sent message to Deleted; `false` moves it back to the folder
    /// it came from. (`DELETE /messages/{id}` removes it for good.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
}

/// A message to send or a draft to save (`POST /messages`, `POST/PUT /drafts`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Outgoing {
    /// How it relates to `in_reply_to`.
    #[serde(default)]
    pub mode: SendMode,
    /// Recipients.
    #[serde(default)]
    pub to: Vec<String>,
    /// Copy recipients.
    #[serde(default)]
    pub cc: Vec<String>,
    /// Address-book groups whose members go in To.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to_groups: Vec<String>,
    /// Address-book groups whose members go in Cc.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc_groups: Vec<String>,
    /// Subject line.
    #[serde(default)]
    pub subject: String,
    /// Plain-text body.
    #[serde(default)]
    pub body_text: String,
    /// The message answered or forwarded (required for reply, reply_all, forward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// Files uploaded with `POST /api/v1/uploads`.
    #[serde(default)]
    pub upload_ids: Vec<String>,
    /// With `forward`: carry the original's attachments too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_attachments: Option<bool>,
    /// The draft this comes from; sending removes it, and its attachments come along.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft_id: Option<String>,
    /// Of the draft's attachments (or, forwarding, the original's), the ids to keep
    /// (absent: keep all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_attachment_ids: Option<Vec<String>>,
    /// A value the client makes up once per message; sending again with the same value
    /// (after a lost answer) returns the message already sent instead of sending twice, and
    /// saving a draft again with it replaces that draft instead of adding another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x1f\x7f-\x9f]{0,100}[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
        )
    )]
    pub client_ref: Option<String>,
}

/// An address-book contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Contact {
    /// Contact id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Address.
    pub email: String,
}

/// `POST/PUT /api/v1/contacts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ContactInput {
    /// Display name, at most 200 characters (control characters are dropped).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub name: String,
    /// Address (see the address rule in the API guide).
    #[cfg_attr(feature = "openapi", schema(format = Email))]
    pub email: String,
}

/// An address-book group of contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Group {
    /// Group id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Its members.
    pub contact_ids: Vec<String>,
}

/// `POST/PUT /api/v1/groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GroupInput {
    /// Display name: 1 to 200 characters once control characters and surrounding spaces
    /// are dropped.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 200, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")
    )]
    pub name: String,
    /// Its members.
    #[serde(default)]
    pub contact_ids: Vec<String>,
}

/// A listing of contacts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ContactList {
    /// By name.
    pub items: Vec<Contact>,
}

/// A listing of groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GroupList {
    /// By name.
    pub items: Vec<Group>,
}

/// Something that changed in a mailbox, tagged with its `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangedItem {
    /// A message (any folder), whole. Boxed: it is much larger than the others.
    Message(Box<Message>),
    /// A contact.
    Contact(Contact),
    /// A group.
    Group(Group),
}

/// Something that is gone (deleted or expired).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Destroyed {
    /// `message`, `contact` or `group`.
    pub kind: String,
    /// Its id.
    pub id: String,
    /// For a message its sender recalled: when (RFC 3339). The app shows a line in its
    /// place ("Withdrawn by the sender on …"), with none of its content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recalled_at: Option<String>,
}

/// `GET /api/v1/changes`: one page of what changed since a state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Changes {
    /// The state this page brings the client to; ask again with it.
    pub state: String,
    /// More pages wait: ask again at once with `state`.
    pub has_more: bool,
    /// New since `since`.
    pub created: Vec<ChangedItem>,
    /// Changed since `since` (existed before).
    pub updated: Vec<ChangedItem>,
    /// Gone since `since`.
    pub destroyed: Vec<Destroyed>,
}

/// `GET /readyz`: whether this hub process can serve, part by part. Each part is `ok`, or a
/// sentence saying what is wrong (no path, no content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    /// The database answers a read.
    pub store: String,
    /// The attachment store takes a new file.
    pub blobs: String,
}

/// The data of an `/events` `state` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct StateEvent {
    /// The mailbox's new state.
    pub state: String,
}
