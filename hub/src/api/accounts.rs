//! Registration, sessions and password resets (no token needed, except sign-out).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
};
use sealpost_proto::{
    RefreshRequest, Registered, RegistrationInfo, RegistrationRequest, ResetConfirm, ResetRequest,
    SignInRequest,
};

use super::extract::{ClientIp, Json, SignedIn};
use super::{ApiError, AppState};
use crate::error::Error;

pub async fn registration_info(
    State(hub): State<AppState>,
    Path(token): Path<String>,
) -> Result<axum::Json<RegistrationInfo>, ApiError> {
    Ok(axum::Json(hub.registration_info(&token).await?))
}

pub async fn register(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    Json(body): Json<RegistrationRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let email = hub.register(&body.token, &body.password, &caller).await?;
    Ok((StatusCode::CREATED, axum::Json(Registered { email })))
}

pub async fn sign_in(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    Json(body): Json<SignInRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let session = hub
        .sign_in(
            &body.email,
            &body.password,
            body.remember_me,
            body.device_name.as_deref(),
            &caller,
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(session)))
}

pub async fn refresh(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    Json(body): Json<RefreshRequest>,
) -> Result<impl IntoResponse, ApiError> {
    match hub.refresh(&body.refresh_token, &caller).await {
        Ok(session) => Ok((StatusCode::CREATED, axum::Json(session))),
        Err(Error::InvalidToken) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "This device is no longer signed in. Sign in again with your password.",
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn sign_out(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    SignedIn(who): SignedIn,
) -> Result<StatusCode, ApiError> {
    hub.sign_out(&who, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn request_reset(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    Json(body): Json<ResetRequest>,
) -> Result<StatusCode, ApiError> {
    hub.request_reset(&body.email, &caller).await?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn confirm_reset(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    Json(body): Json<ResetConfirm>,
) -> Result<StatusCode, ApiError> {
    hub.confirm_reset(&body.token, &body.new_password, &caller)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
