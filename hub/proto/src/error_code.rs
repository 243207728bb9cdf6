//! The `code` of every refusal: one enum on both sides of the wire, serialised as the
//! snake_case strings of the API contract.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $wire:literal,)*) => {
        /// Why the hub refused a request: the stable code a program switches on (the
        /// `message` beside it is for people).
        ///
        /// A code this build does not know, from a newer hub, reads as
        /// [`ErrorCode::Unknown`] with the code kept; it never fails to parse.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[doc = $doc])* $variant,)*
            /// A code newer than this build; its string as received.
            Unknown(String),
        }

        impl ErrorCode {
            /// Every code this build knows, in the contract's order.
            pub const KNOWN: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it travels: `"weak_password"`.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)*
                    Self::Unknown(code) => code,
                }
            }
        }

        impl From<&str> for ErrorCode {
            fn from(code: &str) -> Self {
                match code {
                    $($wire => Self::$variant,)*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }
    };
}

error_codes! {
    /// 400: the request is malformed; the message says how.
    BadRequest = "bad_request",
    /// 401: no access token, or not one for this kind of call.
    NotSignedIn = "not_signed_in",
    /// 401: the access token expired, was idle too long, or was signed out.
    SessionExpired = "session_expired",
    /// 401: the address or password is wrong.
    InvalidCredentials = "invalid_credentials",
    /// 401: the password was right; the account has two-step sign-in, so send it again
    /// with `mfa_code`.
    MfaRequired = "mfa_required",
    /// 401: the two-step code (or recovery code) is wrong or used (`tries_left`).
    MfaCodeWrong = "mfa_code_wrong",
    /// 403: the organisation requires two-step sign-in and this account has not turned it
    /// on: turn it on (`/account/mfa`) to go on.
    MfaEnrolmentRequired = "mfa_enrolment_required",
    /// 401: a named delegate's access to this shared mailbox was taken away (or never
    /// given): the client deletes its copy of the mailbox.
    AccessRemoved = "access_removed",
    /// 403: only the mailbox's owner or a manager may do this.
    NotPermitted = "not_permitted",
    /// 403: the admin disabled the account.
    AccountDisabled = "account_disabled",
    /// 404 (401 for a refresh token): a link or token that is unknown, used or expired.
    InvalidToken = "invalid_token",
    /// 404: not there, or not the caller's.
    NotFound = "not_found",
    /// 409: the address is registered already.
    AlreadyRegistered = "already_registered",
    /// 409: the request conflicts with what is stored.
    Conflict = "conflict",
    /// 410: the sync state is older than the history the hub keeps; sync from the start.
    StateTooOld = "state_too_old",
    /// 413: the request body is over the hub's limit.
    RequestTooLarge = "request_too_large",
    /// 413: too many or too large attachments (`max_files`, `max_total_bytes`).
    AttachmentLimit = "attachment_limit",
    /// 415: the body is not JSON.
    UnsupportedMediaType = "unsupported_media_type",
    /// 422: the password breaks a rule (`rules_failed`).
    WeakPassword = "weak_password",
    /// 422: a recipient outside the organisation (`refused`).
    RecipientNotAllowed = "recipient_not_allowed",
    /// 422: a staff sender outside the organisation's domains.
    SenderNotAllowed = "sender_not_allowed",
    /// 423: too many failed sign-ins (`locked_until`).
    AccountLocked = "account_locked",
    /// 429: too many requests; wait `Retry-After` seconds.
    RateLimited = "rate_limited",
    /// 500: a fault on the hub's side; the request may work later.
    Internal = "internal",
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(Self::from(code.as_ref()))
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Stable snake_case code a client switches on. Clients must accept codes not \
                 listed here (from newer hubs) and fall back on the status.",
            ))
            .enum_values(Some(Self::KNOWN.iter().map(|c| c.as_str().to_owned())))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ErrorCode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_travels_as_its_contract_string_and_back() {
        for code in ErrorCode::KNOWN {
            let wire = serde_json::to_string(code).unwrap();
            assert_eq!(wire, format!("\"{}\"", code.as_str()));
            assert_eq!(&serde_json::from_str::<ErrorCode>(&wire).unwrap(), code);
        }
        assert_eq!(
            serde_json::to_string(&ErrorCode::StateTooOld).unwrap(),
            "\"state_too_old\"",
            "the contract's spelling"
        );
    }

    #[test]
    fn a_code_from_a_newer_hub_is_kept_not_refused() {
        let code: ErrorCode = serde_json::from_str("\"payment_required\"").unwrap();
        assert_eq!(code, ErrorCode::Unknown("payment_required".into()));
        assert_eq!(code.as_str(), "payment_required");
        assert_eq!(
            serde_json::to_string(&code).unwrap(),
            "\"payment_required\""
        );
    }
}
