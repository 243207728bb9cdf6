//! Organisation-side sending, with an org API token.

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
};
use sealpost_proto::{OrgOutgoing, OrgSent};

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
    let reference = body
        .client_ref
        .clone()
        .or_else(|| {
            headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .map(|r| r.trim().chars().take(100).collect::<String>())
        .filter(|r| !r.is_empty())
        .map(|r| format!("{token_id}:{r}"));
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
