//! Contacts and groups of a signed-in user.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
};
use sealpost_proto::{Contact, ContactInput, ContactList, Group, GroupInput, GroupList};

use super::extract::{Json, SignedIn};
use super::{ApiError, AppState};
#[allow(unused_imports)]
use sealpost_proto::ErrorBody;

#[utoipa::path(get, path = "/contacts", tag = "address book", security(("bearer" = [])),
    responses((status = 200, body = ContactList)))]
pub async fn list_contacts(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
) -> Result<axum::Json<ContactList>, ApiError> {
    Ok(axum::Json(hub.contacts(&who).await?))
}

#[utoipa::path(post, path = "/contacts", tag = "address book", security(("bearer" = [])),
    request_body = ContactInput, responses((status = 201, body = Contact), (status = 400, body = ErrorBody),
        (status = 409, description = "The address is already another contact's (`conflict`)", body = ErrorBody)))]
pub async fn create_contact(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Json(body): Json<ContactInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(hub.save_contact(&who, None, &body).await?),
    ))
}

#[utoipa::path(put, path = "/contacts/{id}", tag = "address book", security(("bearer" = [])), params(("id" = String, Path, description = "Contact id")),
    request_body = ContactInput, responses((status = 200, body = Contact), (status = 404, body = ErrorBody),
        (status = 409, description = "The address is already another contact's (`conflict`)", body = ErrorBody)))]
pub async fn update_contact(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Json(body): Json<ContactInput>,
) -> Result<axum::Json<Contact>, ApiError> {
    Ok(axum::Json(hub.save_contact(&who, Some(&id), &body).await?))
}

#[utoipa::path(delete, path = "/contacts/{id}", tag = "address book", security(("bearer" = [])), params(("id" = String, Path, description = "Contact id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
pub async fn delete_contact(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    hub.delete_contact(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/groups", tag = "address book", security(("bearer" = [])),
    responses((status = 200, body = GroupList)))]
pub async fn list_groups(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
) -> Result<axum::Json<GroupList>, ApiError> {
    Ok(axum::Json(hub.groups(&who).await?))
}

#[utoipa::path(post, path = "/groups", tag = "address book", security(("bearer" = [])),
    request_body = GroupInput, responses((status = 201, body = Group), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_group(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Json(body): Json<GroupInput>,
) -> Result<impl IntoResponse, ApiError> {
    Ok((
        StatusCode::CREATED,
        axum::Json(hub.save_group(&who, None, &body).await?),
    ))
}

#[utoipa::path(put, path = "/groups/{id}", tag = "address book", security(("bearer" = [])), params(("id" = String, Path, description = "Group id")),
    request_body = GroupInput, responses((status = 200, body = Group), (status = 404, body = ErrorBody)))]
pub async fn update_group(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Json(body): Json<GroupInput>,
) -> Result<axum::Json<Group>, ApiError> {
    Ok(axum::Json(hub.save_group(&who, Some(&id), &body).await?))
}

#[utoipa::path(delete, path = "/groups/{id}", tag = "address book", security(("bearer" = [])), params(("id" = String, Path, description = "Group id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
pub async fn delete_group(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    hub.delete_group(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
