//! Contacts and groups of a signed-in user.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
};
use sealpost_proto::{Contact, ContactInput, ContactList, Group, GroupInput, GroupList};

use super::extract::{Json, SignedIn};
use super::{ApiError, AppState};

pub async fn list_contacts(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
) -> Result<axum::Json<ContactList>, ApiError> {
    Ok(axum::Json(hub.contacts(&who).await?))
}

pub async fn create_contact(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Json(body): Json<ContactInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(hub.create_contact(&who, &body).await?),
    ))
}

pub async fn update_contact(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Json(body): Json<ContactInput>,
) -> Result<axum::Json<Contact>, ApiError> {
    Ok(axum::Json(hub.update_contact(&who, &id, &body).await?))
}

pub async fn delete_contact(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    hub.delete_contact(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_groups(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
) -> Result<axum::Json<GroupList>, ApiError> {
    Ok(axum::Json(hub.groups(&who).await?))
}

pub async fn create_group(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Json(body): Json<GroupInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(hub.create_group(&who, &body).await?),
    ))
}

pub async fn update_group(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Json(body): Json<GroupInput>,
) -> Result<axum::Json<Group>, ApiError> {
    Ok(axum::Json(hub.update_group(&who, &id, &body).await?))
}

pub async fn delete_group(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    hub.delete_group(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
