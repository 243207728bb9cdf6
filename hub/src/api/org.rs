//! Organisation-side sending, with an org API token.

use axum::{
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
};
use sealpost_proto::{OrgMessageStatus, OrgOutgoing, OrgRecalled, OrgRecipientStatus, OrgSent};

use super::extract::{ClientIp, Json, OrgClient};
use super::{ApiError, AppState};
use crate::sending::{AttachmentFile, OrgMessage};
#[allow(unused_imports)]
use sealpost_proto::ErrorBody;

#[utoipa::path(post, path = "/org/messages", tag = "organisation", security(("org_token" = [])),
    request_body = OrgOutgoing,
    responses((status = 201, body = OrgSent), (status = 401, body = ErrorBody), (status = 404, description = "unknown upload", body = ErrorBody),
        (status = 413, description = "attachment_limit", body = ErrorBody), (status = 422, description = "sender_not_allowed", body = ErrorBody)))]
pub async fn send(
    State(hub): State<AppState>,
    ClientIp(mut caller): ClientIp,
    OrgClient(token_id): OrgClient,
    headers: HeaderMap,
    Json(body): Json<OrgOutgoing>,
) -> Result<impl IntoResponse, ApiError> {
    caller.ip = format!("{} ({token_id})", caller.ip);
    // The body's client_ref, or the Idempotency-Key header (IETF draft
    // draft-ietf-httpapi-idempotency-key-header); references are the token's own.
    // When both are given, the body's wins.
    let header = headers.get("idempotency-key").map(|v| {
        v.to_str().map_err(|_| {
            crate::error::Error::BadRequest(
                "the Idempotency-Key header must be plain text; nothing was sent".into(),
            )
        })
    });
    let given = match body.client_ref.as_deref().filter(|r| !r.trim().is_empty()) {
        Some(r) => Some(r),
        None => header.transpose()?,
    };
    let reference = crate::policy::client_reference(given)?.map(|r| format!("{token_id}:{r}"));
    let receipt = hub
        .send_org_message(
            OrgMessage {
                from: body.from,
                to: body.to,
                cc: body.cc,
                subject: body.subject,
                body_text: body.body_text,
                body_html: body.body_html,
                attachments: body
                    .upload_ids
                    .into_iter()
                    .map(AttachmentFile::Upload)
                    .collect(),
                keep_days: None,
                client_ref: reference,
                envelope: None,
            },
            &caller,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(OrgSent {
            id: receipt.id,
            delivered_to: receipt.delivered_to,
        }),
    ))
}

#[utoipa::path(post, path = "/org/messages/{id}/recall", tag = "organisation", security(("org_token" = [])),
    params(("id" = String, Path, description = "The message's id, as `POST /org/messages` answered it")),
    responses((status = 200, description = "Recalled (or recalled before: the same answer)", body = OrgRecalled),
        (status = 401, body = ErrorBody), (status = 404, description = "No staff message has this id (`not_found`)", body = ErrorBody)))]
pub async fn recall(
    State(hub): State<AppState>,
    ClientIp(mut caller): ClientIp,
    OrgClient(token_id): OrgClient,
    Path(id): Path<String>,
) -> Result<axum::Json<OrgRecalled>, ApiError> {
    caller.ip = format!("{} ({token_id})", caller.ip);
    let recall = hub.recall_org_message(&id, &caller).await?;
    Ok(axum::Json(OrgRecalled {
        id: recall.id,
        recalled_at: crate::clock::rfc3339(recall.recalled_at),
        copies_deleted: recall.copies,
    }))
}

#[utoipa::path(get, path = "/org/messages/{id}", tag = "organisation", security(("org_token" = [])),
    params(("id" = String, Path, description = "The message's id, as `POST /org/messages` answered it")),
    responses((status = 200, description = "What became of each recipient's copy", body = OrgMessageStatus),
        (status = 401, body = ErrorBody), (status = 404, description = "No staff message has this id (`not_found`)", body = ErrorBody)))]
pub async fn status(
    State(hub): State<AppState>,
    OrgClient(_): OrgClient,
    Path(id): Path<String>,
) -> Result<axum::Json<OrgMessageStatus>, ApiError> {
    Ok(axum::Json(status_answer(hub.send_status(&id).await?)))
}

/// The API's form of a send's status (the CLI's `status --json` too).
pub fn status_answer(status: crate::recall::SendStatus) -> OrgMessageStatus {
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(crate::clock::rfc3339);
    OrgMessageStatus {
        id: status.id,
        sent_at: crate::clock::rfc3339(status.sent_at),
        recipients: status
            .recipients
            .into_iter()
            .map(|r| OrgRecipientStatus {
                address: r.address,
                notified_at: time(r.notified_at),
                registered_at: time(r.registered_at),
                first_opened_at: time(r.first_opened_at),
                replied_at: time(r.replied_at),
                recalled_at: time(r.recalled_at),
                expired_at: time(r.expired_at),
                not_registered_after_7_days: r.not_registered,
            })
            .collect(),
    }
}
