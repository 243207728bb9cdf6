//! The mailbox API of a signed-in external user.

use std::convert::Infallible;

use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{
        sse::{Event, KeepAlive, Sse},
        IntoResponse, Response,
    },
};
use futures_util::Stream;
use sealpost_proto::{
    Changes, Folder, Message, MessageList, MessagePatch, MessageSummary, Outgoing, StateEvent,
    Upload,
};
use serde::Deserialize;

use super::extract::{ClientIp, Json, OrgClient, Query, SignedIn};
use super::{ApiError, AppState};
use crate::uploads::UploadOwner;
#[allow(unused_imports)]
use sealpost_proto::ErrorBody;

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    folder: Option<Folder>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    before: Option<String>,
}

#[utoipa::path(get, path = "/messages", tag = "mailbox", security(("bearer" = [])),
    params(("folder" = Option<Folder>, Query, description = "inbox (default), sent or drafts"),
        ("limit" = Option<u32>, Query, description = "How many, default 50; below 1 counts as 1, above 500 as 500", minimum = 0, maximum = 4294967295_u64),
        ("before" = Option<String>, Query, description = "next_before of the previous page", pattern = r"^[0-9]{1,18}\.[A-Za-z0-9_-]{1,64}$")),
    responses((status = 200, body = MessageList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<MessageList>, ApiError> {
    let folder = q.folder.unwrap_or(Folder::Inbox);
    Ok(axum::Json(
        hub.list_messages(&who, folder, q.limit, q.before.as_deref())
            .await?,
    ))
}

#[utoipa::path(get, path = "/messages/{id}", tag = "mailbox", security(("bearer" = [])), params(("id" = String, Path, description = "Message id")),
    responses((status = 200, body = Message), (status = 404, body = ErrorBody)))]
pub async fn open(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Result<axum::Json<Message>, ApiError> {
    Ok(axum::Json(hub.open_message(&who, &id).await?))
}

#[utoipa::path(patch, path = "/messages/{id}", tag = "mailbox", security(("bearer" = [])), params(("id" = String, Path, description = "Message id")),
    request_body = MessagePatch, responses((status = 200, body = MessageSummary), (status = 404, body = ErrorBody),
        (status = 409, description = "a draft cannot be moved to Deleted", body = ErrorBody)))]
pub async fn patch(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Json(body): Json<MessagePatch>,
) -> Result<axum::Json<MessageSummary>, ApiError> {
    Ok(axum::Json(hub.patch_message(&who, &id, body).await?))
}

#[utoipa::path(delete, path = "/messages/{id}", tag = "mailbox", security(("bearer" = [])), params(("id" = String, Path, description = "Message id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    hub.delete_message(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/messages", tag = "mailbox", security(("bearer" = [])), request_body = Outgoing,
    responses((status = 201, body = MessageSummary), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, description = "attachment_limit", body = ErrorBody), (status = 422, description = "recipient_not_allowed", body = ErrorBody)))]
pub async fn send(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    SignedIn(who): SignedIn,
    Json(body): Json<Outgoing>,
) -> Result<impl IntoResponse, ApiError> {
    let summary = hub.send_message(&who, body, &caller).await?;
    Ok((StatusCode::CREATED, axum::Json(summary)))
}

#[utoipa::path(post, path = "/drafts", tag = "mailbox", security(("bearer" = [])), request_body = Outgoing,
    responses((status = 201, body = MessageSummary), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn create_draft(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Json(body): Json<Outgoing>,
) -> Result<impl IntoResponse, ApiError> {
    let summary = hub.save_draft(&who, None, body).await?;
    Ok((StatusCode::CREATED, axum::Json(summary)))
}

#[utoipa::path(put, path = "/drafts/{id}", tag = "mailbox", security(("bearer" = [])), params(("id" = String, Path, description = "Message id")),
    request_body = Outgoing, responses((status = 200, body = MessageSummary), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn update_draft(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
    Json(body): Json<Outgoing>,
) -> Result<axum::Json<MessageSummary>, ApiError> {
    Ok(axum::Json(hub.save_draft(&who, Some(&id), body).await?))
}

#[utoipa::path(delete, path = "/drafts/{id}", tag = "mailbox", security(("bearer" = [])), params(("id" = String, Path, description = "Message id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
pub async fn delete_draft(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    hub.delete_draft(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An upload's body in the API document: the file's bytes as they are.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct FileBytes(Vec<u8>);

#[derive(Deserialize)]
pub struct UploadQuery {
    #[serde(default)]
    name: String,
}

async fn upload_as(
    hub: AppState,
    owner: UploadOwner,
    q: UploadQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, axum::Json<Upload>), ApiError> {
    if q.name.trim().is_empty() {
        return Err(ApiError::bad_request(
            "Name the file with ?name=<file name>.",
        ));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let upload = hub
        .store_upload(
            owner,
            &q.name,
            content_type,
            declared,
            body.into_data_stream(),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(upload)))
}

#[utoipa::path(post, path = "/uploads", tag = "mailbox", security(("bearer" = [])),
    params(("name" = String, Query, description = "The file's name (a path is cut to its last part)", min_length = 1, pattern = r"\S")),
    request_body(content = FileBytes, content_type = "application/octet-stream", description = "The file's bytes"),
    responses((status = 201, body = Upload), (status = 400, description = "No file name (`bad_request`)", body = ErrorBody), (status = 413, description = "Over the attachment limit (`attachment_limit`); nothing was kept", body = ErrorBody)))]
pub async fn upload(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    upload_as(hub, UploadOwner::User(who.account_id), q, headers, body).await
}

#[utoipa::path(post, path = "/org/uploads", tag = "organisation", security(("org_token" = [])),
    params(("name" = String, Query, description = "The file's name (a path is cut to its last part)", min_length = 1, pattern = r"\S")),
    request_body(content = FileBytes, content_type = "application/octet-stream", description = "The file's bytes"),
    responses((status = 201, body = Upload), (status = 400, description = "No file name (`bad_request`)", body = ErrorBody), (status = 413, description = "Over the attachment limit (`attachment_limit`); nothing was kept", body = ErrorBody)))]
pub async fn org_upload(
    State(hub): State<AppState>,
    OrgClient(_): OrgClient,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    upload_as(hub, UploadOwner::Org, q, headers, body).await
}

/// `filename*` per RFC 6266 / 5987, with a plain ASCII fallback.
fn disposition(name: &str) -> HeaderValue {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[utoipa::path(get, path = "/messages/{id}/attachments/{attachment_id}", tag = "mailbox",
    security(("bearer" = [])), params(("id" = String, Path, description = "Message id"), ("attachment_id" = String, Path, description = "Attachment id")),
    responses((status = 200, description = "The file, streamed", content_type = "application/octet-stream"), (status = 404, body = ErrorBody)))]
pub async fn download(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Path((message_id, attachment_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let d = hub.download(&who, &message_id, &attachment_id).await?;
    let mut response = Response::new(Body::from_stream(d.body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&d.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(d.size));
    headers.insert(header::CONTENT_DISPOSITION, disposition(&d.name));
    Ok(response)
}

#[derive(Deserialize)]
pub struct ChangesQuery {
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/changes", tag = "sync", security(("bearer" = [])),
    params(("since" = Option<String>, Query, description = "A state from an earlier answer; absent: everything", pattern = r"^[0-9]{1,18}$"),
        ("limit" = Option<u32>, Query, description = "Items per page, default and most 500; below 1 counts as 1", minimum = 0, maximum = 4294967295_u64)),
    responses((status = 200, body = Changes), (status = 400, body = ErrorBody), (status = 410, description = "state_too_old", body = ErrorBody)))]
pub async fn changes(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    Query(q): Query<ChangesQuery>,
) -> Result<axum::Json<Changes>, ApiError> {
    Ok(axum::Json(
        hub.changes(&who, q.since.as_deref(), q.limit).await?,
    ))
}

/// Counts the connection in `/metrics` while the stream lives.
struct Listening(AppState);

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.metrics.sse_closed();
    }
}

#[utoipa::path(get, path = "/events", tag = "sync", security(("bearer" = [])),
    responses((status = 200, description = "Server-sent events: `state` with data StateEvent", content_type = "text/event-stream", body = StateEvent), (status = 401, body = ErrorBody)))]
pub async fn events(
    State(hub): State<AppState>,
    SignedIn(who): SignedIn,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let listener = hub.watch(&who.account_id).await?;
    // The session is checked again before each event and every minute: a stream outlives
    // no sign-out, removal or lock (the client's next call then hears why).
    let token = super::extract::bearer_of(&headers)
        .unwrap_or_default()
        .to_owned();
    let checker = hub.clone();
    let still_signed_in = move || {
        let (hub, token) = (checker.clone(), token.clone());
        async move { hub.authenticate(&token).await.is_ok() }
    };
    hub.metrics.sse_opened();
    let listening = Listening(hub.clone());
    let event = |state: i64| {
        Event::default()
            .event("state")
            .json_data(StateEvent {
                state: state.to_string(),
            })
            .expect("BUG: a state event serialises")
    };
    let mut recheck = tokio::time::interval(std::time::Duration::from_secs(60));
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stream = futures_util::stream::unfold(
        (
            Some(listener.current),
            listener.current,
            listener,
            listening,
            recheck,
        ),
        move |(first, last, mut listener, listening, mut recheck)| {
            let still_signed_in = still_signed_in.clone();
            async move {
                if let Some(state) = first {
                    // The interval's first tick is at once: it is spent here.
                    recheck.tick().await;
                    return Some((
                        Ok(event(state)),
                        (None, state, listener, listening, recheck),
                    ));
                }
                loop {
                    let next = tokio::select! {
                        next = listener.states.recv() => Some(next),
                        // The server is stopping: end the stream so that it can.
                        _ = listener.closing.wait_for(|closing| *closing) => return None,
                        _ = recheck.tick() => None,
                    };
                    let Some(next) = next else {
                        if still_signed_in().await {
                            continue;
                        }
                        return None;
                    };
                    match next {
                        // Heard twice (from this process's commit and from the shared
                        // database's channel), or older than what was said: nothing new.
                        Ok(state) if state <= last => continue,
                        // Signed out, removed or switched off meanwhile: the stream ends,
                        // and the client's next call hears why.
                        Ok(_) if !still_signed_in().await => return None,
                        Ok(state) => {
                            return Some((
                                Ok(event(state)),
                                (None, state, listener, listening, recheck),
                            ))
                        }
                        // Missed some: the latest state is what matters, and the next one
                        // will come.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15))))
}
