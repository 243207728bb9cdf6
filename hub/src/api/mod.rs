//! The hub's HTTP API (`/api/v1`), its web pages for emailed links, and operations routes.

mod accounts;
pub mod error;
mod extract;
mod org;
mod pages;

use std::sync::Arc;

use axum::{
    http::{header, HeaderValue, StatusCode},
    routing::{delete, get, post},
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
        .route("/org/messages", post(org::send))
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
        .fallback(not_found)
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
