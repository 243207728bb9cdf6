//! Registration, sessions and password resets (no token needed, except sign-out), and
//! two-step sign-in (signed in).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
};
use sealpost_proto::{
    MfaBegin, MfaCode, MfaDisable, MfaEnabled, MfaSetup, MfaState, RefreshRequest, Registered,
    RegistrationInfo, RegistrationRequest, ResetConfirm, ResetRequest, ResetRequested, Session,
    SignInRequest,
};

use super::extract::{ClientIp, Json, SignedIn};
use super::{ApiError, AppState};
use crate::error::Error;
#[allow(unused_imports)]
use sealpost_proto::ErrorBody;

#[utoipa::path(get, path = "/registrations/{token}", tag = "accounts",
    params(("token" = String, Path, description = "The token from the registration link")),
    responses((status = 200, body = RegistrationInfo), (status = 404, description = "invalid_token", body = ErrorBody)))]
pub async fn registration_info(
    State(hub): State<AppState>,
    Path(token): Path<String>,
) -> Result<axum::Json<RegistrationInfo>, ApiError> {
    Ok(axum::Json(hub.registration_info(&token).await?))
}

#[utoipa::path(post, path = "/registrations", tag = "accounts", request_body = RegistrationRequest,
    responses((status = 201, body = Registered), (status = 404, description = "invalid_token", body = ErrorBody),
        (status = 409, description = "already_registered", body = ErrorBody), (status = 422, description = "weak_password", body = ErrorBody)))]
pub async fn register(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    Json(body): Json<RegistrationRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let email = hub.register(&body.token, &body.password, &caller).await?;
    Ok((StatusCode::CREATED, axum::Json(Registered { email })))
}

#[utoipa::path(post, path = "/sessions", tag = "accounts", request_body = SignInRequest,
    responses((status = 201, body = Session), (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 403, description = "account_disabled", body = ErrorBody), (status = 423, description = "account_locked", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody)))]
pub async fn sign_in(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    Json(body): Json<SignInRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let session = hub.sign_in(&body, &caller).await?;
    Ok((StatusCode::CREATED, axum::Json(session)))
}

#[utoipa::path(post, path = "/sessions/refresh", tag = "accounts", request_body = RefreshRequest,
    responses((status = 201, body = Session), (status = 401, description = "invalid_token", body = ErrorBody)))]
pub async fn refresh(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    Json(body): Json<RefreshRequest>,
) -> Result<impl IntoResponse, ApiError> {
    match hub.refresh(&body.refresh_token, &caller).await {
        Ok(session) => Ok((StatusCode::CREATED, axum::Json(session))),
        Err(Error::InvalidToken) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            sealpost_proto::ErrorCode::InvalidToken,
            "This device is no longer signed in. Sign in again with your password.",
        )),
        Err(e) => Err(e.into()),
    }
}

#[utoipa::path(delete, path = "/sessions/current", tag = "accounts", security(("bearer" = [])),
    responses((status = 204, description = "Signed out"), (status = 401, body = ErrorBody)))]
pub async fn sign_out(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    SignedIn(who): SignedIn,
) -> Result<StatusCode, ApiError> {
    hub.sign_out(&who, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/password-resets", tag = "accounts", request_body = ResetRequest,
    responses((status = 202, description = "Accepted, whether or not the address is known", body = ResetRequested),
        (status = 429, body = ErrorBody)))]
pub async fn request_reset(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    Json(body): Json<ResetRequest>,
) -> Result<impl IntoResponse, ApiError> {
    hub.request_reset(&body.email, &caller).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(ResetRequested {
            link_minutes: hub.reset_link_minutes(),
        }),
    ))
}

#[utoipa::path(get, path = "/password-resets/{token}", tag = "accounts",
    params(("token" = String, Path, description = "The token from the reset link")),
    responses((status = 200, body = RegistrationInfo), (status = 404, description = "invalid_token", body = ErrorBody)))]
pub async fn reset_info(
    State(hub): State<AppState>,
    Path(token): Path<String>,
) -> Result<axum::Json<RegistrationInfo>, ApiError> {
    Ok(axum::Json(hub.reset_info(&token).await?))
}

#[utoipa::path(post, path = "/password-resets/confirm", tag = "accounts", request_body = ResetConfirm,
    responses((status = 204, description = "Password changed, every session ended"),
        (status = 404, description = "invalid_token", body = ErrorBody), (status = 422, description = "weak_password", body = ErrorBody)))]
pub async fn confirm_reset(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    Json(body): Json<ResetConfirm>,
) -> Result<StatusCode, ApiError> {
    hub.confirm_reset(&body.token, &body.new_password, &caller)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/account/mfa", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = MfaState), (status = 401, body = ErrorBody)))]
pub async fn mfa_state(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
) -> Result<axum::Json<MfaState>, ApiError> {
    Ok(axum::Json(hub.mfa_state(&who).await?))
}

/// Starts two-step sign-in: a new secret for the authenticator app (on only once a first
/// code confirms it). The password is asked again.
#[utoipa::path(post, path = "/account/mfa", tag = "accounts", security(("bearer" = [])),
    request_body = MfaBegin,
    responses((status = 201, body = MfaSetup), (status = 401, description = "invalid_credentials: the password is wrong (counted toward the lock)", body = ErrorBody),
        (status = 409, description = "conflict: it is on already", body = ErrorBody),
        (status = 423, description = "account_locked", body = ErrorBody)))]
pub async fn begin_mfa(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    SignedIn(who): SignedIn,
    Json(body): Json<MfaBegin>,
) -> Result<impl IntoResponse, ApiError> {
    let setup = hub.begin_mfa(&who, &body.password, &caller).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(MfaSetup {
            secret: setup.secret,
            otpauth_uri: setup.otpauth_uri,
        }),
    ))
}

/// Turns two-step sign-in on with the app's first code; answers the recovery codes, once.
#[utoipa::path(post, path = "/account/mfa/confirm", tag = "accounts", security(("bearer" = [])),
    request_body = MfaCode,
    responses((status = 200, body = MfaEnabled),
        (status = 401, description = "mfa_code_wrong: not the code the app shows now", body = ErrorBody),
        (status = 409, description = "conflict: it is on already, or nothing is being set up", body = ErrorBody)))]
pub async fn confirm_mfa(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    SignedIn(who): SignedIn,
    Json(body): Json<MfaCode>,
) -> Result<axum::Json<MfaEnabled>, ApiError> {
    let recovery_codes = hub.confirm_mfa(&who, &body.code, &caller).await?;
    Ok(axum::Json(MfaEnabled { recovery_codes }))
}

/// Turns two-step sign-in off, proved by the password and a current code or an unused
/// recovery code; the owner is emailed.
#[utoipa::path(post, path = "/account/mfa/disable", tag = "accounts", security(("bearer" = [])),
    request_body = MfaDisable,
    responses((status = 204, description = "Off"),
        (status = 401, description = "invalid_credentials or mfa_code_wrong (counted toward the lock)", body = ErrorBody),
        (status = 404, description = "not_found: it is not on", body = ErrorBody),
        (status = 409, description = "conflict: the organisation requires it", body = ErrorBody),
        (status = 423, description = "account_locked", body = ErrorBody)))]
pub async fn disable_mfa(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    SignedIn(who): SignedIn,
    Json(body): Json<MfaDisable>,
) -> Result<StatusCode, ApiError> {
    hub.disable_mfa(&who, &body.password, &body.code, &caller)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
