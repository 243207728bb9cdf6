//! The hub's HTTP API (`/api/v1`), its web pages for emailed links, and operations routes.

mod accounts;
mod address_book;
pub mod error;
mod extract;
mod mailbox;
mod org;
mod pages;

use std::sync::Arc;

use axum::{
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::Response,
    routing::{delete, get, post, put},
    Router,
};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::hub::Hub;
pub use error::ApiError;

/// What every handler gets.
pub type AppState = Arc<Hub>;

/// Every route of the hub.
pub fn router(hub: Arc<Hub>) -> Router {
    let api = Router::new()
        .route("/registrations/{token}", get(accounts::registration_info))
        .route("/registrations", post(accounts::register))
        .route("/sessions", post(accounts::sign_in))
        .route("/sessions/refresh", post(accounts::refresh))
        .route("/sessions/current", delete(accounts::sign_out))
        .route("/password-resets", post(accounts::request_reset))
        .route("/password-resets/confirm", post(accounts::confirm_reset))
        .route("/messages", get(mailbox::list).post(mailbox::send))
        .route(
            "/messages/{id}",
            get(mailbox::open)
                .patch(mailbox::patch)
                .delete(mailbox::delete),
        )
        .route(
            "/messages/{id}/attachments/{attachment_id}",
            get(mailbox::download),
        )
        .route("/drafts", post(mailbox::create_draft))
        .route(
            "/drafts/{id}",
            put(mailbox::update_draft).delete(mailbox::delete_draft),
        )
        .route(
            "/uploads",
            post(mailbox::upload).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/contacts",
            get(address_book::list_contacts).post(address_book::create_contact),
        )
        .route(
            "/contacts/{id}",
            put(address_book::update_contact).delete(address_book::delete_contact),
        )
        .route(
            "/groups",
            get(address_book::list_groups).post(address_book::create_group),
        )
        .route(
            "/groups/{id}",
            put(address_book::update_group).delete(address_book::delete_group),
        )
        .route("/changes", get(mailbox::changes))
        .route("/events", get(mailbox::events))
        .route("/org/messages", post(org::send))
        .route(
            "/org/uploads",
            post(mailbox::org_upload).layer(DefaultBodyLimit::disable()),
        )
        .fallback(not_found)
        // Answers carry tokens or mailbox data: never cache them.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    Router::new()
        .nest("/api/v1", api)
        .merge(pages::routes())
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(hub.clone(), count_requests))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .with_state(hub)
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "There is no such address on this hub.",
    )
}

async fn healthz(
    axum::extract::State(hub): axum::extract::State<AppState>,
) -> Result<&'static str, ApiError> {
    hub.store().read(|_| Ok(())).await?;
    Ok("ok\n")
}

async fn metrics(State(hub): State<AppState>) -> Result<Response, ApiError> {
    let stats = hub.stats().await?;
    let mut response = Response::new(hub.metrics.render(&stats).into());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

/// Counts every answer by route pattern and status for `/metrics`.
async fn count_requests(State(hub): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    hub.metrics
        .request(&method, &route, response.status().as_u16());
    response
}
