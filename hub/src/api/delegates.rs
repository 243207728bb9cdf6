//! Named delegates of a shared mailbox (signed in: its owner, a manager, or any delegate to
//! list), and a delegate's session on a shared mailbox from their own.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
};
use sealpost_proto::{Delegate, DelegateList, DelegateSessionRequest, NewDelegate, Session};

use super::extract::{ClientIp, Json, SignedIn};
use super::{ApiError, AppState};
#[allow(unused_imports)]
use sealpost_proto::ErrorBody;

/// Opens a session on a shared mailbox the signed-in person is a named delegate of.
#[utoipa::path(post, path = "/sessions/delegate", tag = "accounts", security(("bearer" = [])),
    request_body = DelegateSessionRequest,
    responses((status = 201, body = Session),
        (status = 400, description = "bad_request: not an address", body = ErrorBody),
        (status = 401, description = "access_removed: not (any more) a delegate of it", body = ErrorBody),
        (status = 403, description = "account_disabled: the mailbox is switched off", body = ErrorBody),
        (status = 409, description = "conflict: the person's own mailbox", body = ErrorBody)))]
pub async fn delegate_session(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    SignedIn(who): SignedIn,
    Json(body): Json<DelegateSessionRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let session = hub.delegate_session(&who, &body, &caller).await?;
    Ok((StatusCode::CREATED, axum::Json(session)))
}

/// The people who work this mailbox under their own names.
#[utoipa::path(get, path = "/mailbox/delegates", tag = "delegates", security(("bearer" = [])),
    responses((status = 200, body = DelegateList), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
) -> Result<axum::Json<DelegateList>, ApiError> {
    Ok(axum::Json(hub.list_delegates(&who).await?))
}

/// Invites a person to work this mailbox under their own name (the owner or a manager).
#[utoipa::path(post, path = "/mailbox/delegates", tag = "delegates", security(("bearer" = [])),
    request_body = NewDelegate,
    responses((status = 201, body = Delegate),
        (status = 400, description = "bad_request: not an address, a bad name or role", body = ErrorBody),
        (status = 403, description = "not_permitted: a delegate who is not a manager", body = ErrorBody),
        (status = 409, description = "conflict: they have access already, or it is the mailbox's own address", body = ErrorBody),
        (status = 422, description = "recipient_not_allowed: an address of the organisation", body = ErrorBody),
        (status = 429, description = "rate_limited: 20 invitations an hour per mailbox, one every 10 minutes per mailbox and address", body = ErrorBody)))]
pub async fn invite(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    SignedIn(who): SignedIn,
    Json(body): Json<NewDelegate>,
) -> Result<impl IntoResponse, ApiError> {
    let delegate = hub.invite_delegate(&who, &body, &caller).await?;
    Ok((StatusCode::CREATED, axum::Json(delegate)))
}

/// Takes a delegate's access away: their sessions on this mailbox end at once, and their
/// devices delete their copies (the owner or a manager).
#[utoipa::path(delete, path = "/mailbox/delegates/{id}", tag = "delegates", security(("bearer" = [])),
    params(("id" = String, Path, description = "The delegate's id")),
    responses((status = 204, description = "Removed"),
        (status = 403, description = "not_permitted: a delegate who is not a manager", body = ErrorBody),
        (status = 404, description = "not_found: not a delegate of this mailbox", body = ErrorBody),
        (status = 409, description = "conflict: a shared-only mailbox's last delegate, or its last manager", body = ErrorBody)))]
pub async fn remove(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    hub.remove_delegate_by(&who, &id, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
