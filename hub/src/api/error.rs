//! The one place domain errors become HTTP answers: `{"error": {"code", "message", ..}}`.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use sealpost_proto::{ApiError as Body, ErrorBody, ErrorCode};

use crate::clock::rfc3339;
use crate::error::Error;

/// An HTTP refusal or fault, ready to send.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: Body,
    retry_after: Option<u64>,
}

impl ApiError {
    /// A refusal with a status, a code and a sentence.
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: Body {
                code,
                message: message.into(),
                rules_failed: None,
                locked_until: None,
                tries_left: None,
                refused: None,
                max_files: None,
                max_total_bytes: None,
            },
            retry_after: None,
        }
    }

    /// 413 for a request body over [`super::REQUEST_BODY_BYTES`].
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RequestTooLarge,
            format!(
                "The request's body is over the hub's limit of {}; nothing of it was used. \
                 Attachments go separately, as uploads.",
                sealpost_proto::text::megabytes(super::REQUEST_BODY_BYTES)
            ),
        )
    }

    /// 400 with a sentence saying what is wrong with the request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        use StatusCode as S;
        match e {
            Error::NotFound("upload") => Self::new(
                S::NOT_FOUND,
                ErrorCode::NotFound,
                "An upload was not found: uploads are kept 24 hours until they are attached. Upload the file again.",
            ),
            Error::NotFound("attachment file") => Self::new(
                S::NOT_FOUND,
                ErrorCode::NotFound,
                "This attachment's file is missing on the hub. Ask the sender to send it again.",
            ),
            Error::NotFound(what) => Self::new(S::NOT_FOUND, ErrorCode::NotFound, format!("The {what} was not found.")),
            Error::UnknownUser(_) => Self::new(S::NOT_FOUND, ErrorCode::NotFound, "There is no such user."),
            Error::InvalidToken => Self::new(
                S::NOT_FOUND,
                ErrorCode::InvalidToken,
                "This link is not valid: it was already used, has expired, or was not copied whole. \
                 Ask for a new one.",
            ),
            Error::WeakPassword(rules) => {
                // Said in words, so that any client can show it as it is; the ids are in
                // `rules_failed` for clients that mark the rules themselves.
                let said: Vec<String> = rules
                    .iter()
                    .map(|r| {
                        let mut chars = r.description.chars();
                        chars
                            .next()
                            .map(|c| c.to_lowercase().chain(chars).collect())
                            .unwrap_or_default()
                    })
                    .collect();
                let mut err = Self::new(
                    S::UNPROCESSABLE_ENTITY,
                    ErrorCode::WeakPassword,
                    format!(
                        "The password breaks {}: {}. Choose another.",
                        if rules.len() == 1 { "this rule" } else { "these rules" },
                        said.join("; ")
                    ),
                );
                err.body.rules_failed = Some(rules.into_iter().map(|r| r.id).collect());
                err
            }
            Error::AlreadyRegistered => Self::new(
                S::CONFLICT,
                ErrorCode::AlreadyRegistered,
                "This address is already registered. Sign in, or reset the password if it is forgotten.",
            ),
            Error::InvalidCredentials(None) => Self::new(
                S::UNAUTHORIZED,
                ErrorCode::InvalidCredentials,
                "The email address or password is not right. Check both and try again; \
                 repeated failures lock the account for a while.",
            ),
            Error::InvalidCredentials(Some(left)) => {
                let minutes = left.lock_minutes;
                let mut err = Self::new(
                    S::UNAUTHORIZED,
                    ErrorCode::InvalidCredentials,
                    match left.tries {
                        1 => format!(
                            "The email address or password is not right. One more failure locks \
                             sign-in for {minutes} minutes: if the password is forgotten, reset \
                             it instead."
                        ),
                        n => format!(
                            "The email address or password is not right. Check both and try \
                             again: {n} more failures lock sign-in for {minutes} minutes."
                        ),
                    },
                );
                err.body.tries_left = Some(left.tries);
                err
            }
            Error::MfaEnrolmentRequired => Self::new(
                S::FORBIDDEN,
                ErrorCode::MfaEnrolmentRequired,
                "Your organisation requires two-step sign-in: turn it on with an authenticator \
                 app (in the Sealpost app: Settings, Two-step sign-in; on a terminal: \
                 `sealpost mfa on`) to go on.",
            ),
            Error::AccessRemoved => Self::new(
                S::UNAUTHORIZED,
                ErrorCode::AccessRemoved,
                "You no longer have access to this shared mailbox: its owner or the hub's \
                 administrator took it away. Its copy on this device is deleted; ask them if \
                 you still need it.",
            ),
            Error::NotPermitted(why) => Self::new(S::FORBIDDEN, ErrorCode::NotPermitted, why),
            Error::MfaRequired => Self::new(
                S::UNAUTHORIZED,
                ErrorCode::MfaRequired,
                "This account has two-step sign-in: type the code your authenticator app shows \
                 now (or one of your recovery codes).",
            ),
            Error::MfaCodeWrong(left) => {
                let mut err = Self::new(
                    S::UNAUTHORIZED,
                    ErrorCode::MfaCodeWrong,
                    match left.map(|l| (l.tries, l.lock_minutes)) {
                        Some((1, minutes)) => format!(
                            "That code is not right, or was used already. One more failure \
                             locks sign-in for {minutes} minutes."
                        ),
                        Some((n, minutes)) => format!(
                            "That code is not right, or was used already. Type the code the \
                             authenticator app shows now: {n} more failures lock sign-in for \
                             {minutes} minutes."
                        ),
                        None => "That code is not right, or was used already. Type the code \
                                 the authenticator app shows now."
                            .to_owned(),
                    },
                );
                err.body.tries_left = left.map(|l| l.tries);
                err
            }
            Error::AccountLocked(until) => {
                let mut err = Self::new(
                    S::LOCKED,
                    ErrorCode::AccountLocked,
                    // When it opens again is in `locked_until`, for the client to say in the
                    // person's own time zone.
                    "This account is locked for a while after too many failed sign-ins. Wait, or \
                     choose a new password now with the reset link emailed to the account.",
                );
                err.body.locked_until = Some(rfc3339(until));
                err
            }
            Error::AccountDisabled => Self::new(
                S::FORBIDDEN,
                ErrorCode::AccountDisabled,
                "This account has been disabled. Contact the organisation that sent you messages.",
            ),
            Error::Unauthenticated => Self::new(
                S::UNAUTHORIZED,
                ErrorCode::NotSignedIn,
                "Sign in first: this request needs a valid access token.",
            ),
            Error::SessionExpired => Self::new(
                S::UNAUTHORIZED,
                ErrorCode::SessionExpired,
                "The session has ended (it was idle too long or signed out). Sign in again.",
            ),
            Error::InvitedRecently(seconds) => {
                let mut err = Self::new(
                    S::TOO_MANY_REQUESTS,
                    ErrorCode::RateLimited,
                    format!(
                        "An invitation went to this address less than 10 minutes ago; it may \
                         take a few minutes to arrive. To send another, wait {} minutes.",
                        seconds.div_ceil(60)
                    ),
                );
                err.retry_after = Some(seconds);
                err
            }
            Error::RateLimited(seconds) => {
                let mut err = Self::new(
                    S::TOO_MANY_REQUESTS,
                    ErrorCode::RateLimited,
                    format!("Too many attempts. Wait {seconds} seconds and try again."),
                );
                err.retry_after = Some(seconds);
                err
            }
            Error::SenderNotAllowed(from) => Self::new(
                S::UNPROCESSABLE_ENTITY,
                ErrorCode::SenderNotAllowed,
                format!("{from} is not an address of the organisation; send from a staff address."),
            ),
            Error::OrgAddressNotDelegate(address) => {
                let mut err = Self::new(
                    S::UNPROCESSABLE_ENTITY,
                    ErrorCode::RecipientNotAllowed,
                    format!(
                        "{address} is an address of the organisation: staff use their own mail, \
                         not Sealpost, so they cannot work a shared mailbox. Invite people \
                         outside the organisation."
                    ),
                );
                err.body.refused = Some(vec![address]);
                err
            }
            Error::RecipientNotAllowed(refused) => {
                let mut err = Self::new(
                    S::UNPROCESSABLE_ENTITY,
                    ErrorCode::RecipientNotAllowed,
                    format!(
                        "Messages can go only to the organisation's addresses. Remove: {}. Nothing was sent.",
                        refused.join(", ")
                    ),
                );
                err.body.refused = Some(refused);
                err
            }
            Error::AttachmentLimit {
                max_files,
                max_total_bytes,
            } => {
                let mut err = Self::new(
                    S::PAYLOAD_TOO_LARGE,
                    ErrorCode::AttachmentLimit,
                    format!(
                        "A message may carry at most {max_files} attachments and {} in total. \
                         Remove some and try again.",
                        sealpost_proto::text::megabytes(max_total_bytes)
                    ),
                );
                err.body.max_files = Some(max_files);
                err.body.max_total_bytes = Some(max_total_bytes);
                err
            }
            Error::StateTooOld => Self::new(
                S::GONE,
                ErrorCode::StateTooOld,
                "The hub cannot go on from this sync state (it is older than the history the hub \
                 keeps, or from before the hub was restored). Sync again from the start \
                 (without `since`).",
            ),
            Error::BadRequest(message) => Self::bad_request(message),
            Error::Conflict(message) => Self::new(S::CONFLICT, ErrorCode::Conflict, message),
            fault @ (Error::Store(_) | Error::Crypto(_) | Error::Io(_) | Error::Other(_)) => {
                tracing::error!(error = %fault, "request failed");
                Self::new(
                    S::INTERNAL_SERVER_ERROR,
                    ErrorCode::Internal,
                    "The hub could not complete the request. Try again later; if it goes on, tell the \
                     hub's administrator.",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(ErrorBody { error: self.body })).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&seconds.to_string())
                    .expect("BUG: digits are a valid header"),
            );
        }
        response
    }
}
