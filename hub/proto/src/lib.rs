//! Wire types of the Sealpost hub's HTTP API, version 1.
//!
//! Shared by the hub, the desktop client and the tests. This crate depends on serde only:
//! no HTTP, database or crypto types leak into the contract. Timestamps are RFC 3339 strings
//! in UTC; ids are opaque strings.

use serde::{Deserialize, Serialize};

/// Every refusal has this shape: `{"error": {"code", "message", ..}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The refusal itself.
    pub error: ApiError,
}

/// A refusal: a stable `code` for programs, a `message` for people, and fields some codes add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// Stable snake_case code a client switches on.
    pub code: String,
    /// A sentence a person can act on.
    pub message: String,
    /// With `weak_password`: the id of each password rule that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_failed: Option<Vec<String>>,
    /// With `account_locked`: when sign-in opens again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<String>,
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
pub struct PasswordRule {
    /// Stable id, as named in `rules_failed`: `min_length`, `max_length`, `not_common`,
    /// `not_address`.
    pub id: String,
    /// The rule in words, e.g. "At least 15 characters".
    pub description: String,
}

/// The password rules of a hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
pub struct RegistrationRequest {
    /// The token from the registration link.
    pub token: String,
    /// The chosen password.
    pub password: String,
}

/// Answer to a successful registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    /// The address now registered.
    pub email: String,
}

/// `POST /api/v1/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInRequest {
    /// The account's address.
    pub email: String,
    /// The account's password.
    pub password: String,
    /// Also issue a refresh token, so the device stays signed in.
    #[serde(default)]
    pub remember_me: bool,
    /// A name for the device, shown to admins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_name: Option<String>,
}

/// `POST /api/v1/sessions/refresh`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshRequest {
    /// The refresh token from the last sign-in or refresh; it stops working once used.
    pub refresh_token: String,
}

/// The signed-in account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// The account's address.
    pub email: String,
    /// The organisation that runs the hub.
    pub org_name: String,
    /// Addresses in these domains are the organisation's; external users may write only to them.
    pub org_domains: Vec<String>,
}

/// Answer to a sign-in or a refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Bearer token for the mailbox API.
    pub access_token: String,
    /// When the access token stops working unless used before (it slides with use).
    pub expires_at: String,
    /// Present with Remember me: exchange it for a new session; it works once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Who is signed in.
    pub account: AccountInfo,
}

/// `POST /api/v1/password-resets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetRequest {
    /// The account's address.
    pub email: String,
}

/// `POST /api/v1/password-resets/confirm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetConfirm {
    /// The token from the reset link.
    pub token: String,
    /// The new password.
    pub new_password: String,
}

/// `POST /api/v1/org/messages`: a secure message from organisation staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgOutgoing {
    /// The staff member's address, in an organisation domain.
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
    /// Files uploaded with `POST /api/v1/org/uploads`.
    #[serde(default)]
    pub upload_ids: Vec<String>,
}

/// Answer to `POST /api/v1/org/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSent {
    /// Id of the sent message (one id, whatever the number of recipients).
    pub id: String,
    /// The external recipients that got a copy in their mailbox.
    pub delivered_to: Vec<String>,
}

/// Answer to an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    /// Pass this in `upload_ids` when sending.
    pub upload_id: String,
    /// The file name, cleaned for display.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
}
