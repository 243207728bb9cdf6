//! The hub's HTTP API (`/api/v1`), its web pages for emailed links, and operations routes.

mod accounts;
mod address_book;
mod delegates;
mod document;
pub mod error;
mod extract;
mod mailbox;
mod org;
mod pages;
mod updates;

use std::sync::Arc;

use axum::{
    extract::{DefaultBodyLimit, MatchedPath, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    Modify, OpenApi,
};
use utoipa_axum::{
    router::{OpenApiRouter, UtoipaMethodRouterExt},
    routes,
};

use crate::hub::Hub;
pub use error::ApiError;
pub use org::status_answer as org_status;

/// What every handler gets.
pub type AppState = Arc<Hub>;

/// The largest body any request but an upload may have: 2 MB (2,000,000 bytes, some 1,000
/// pages of text: a message's text and its formatted version fit). Uploads have the
/// attachment limit.
pub const REQUEST_BODY_BYTES: u64 = 2 * sealpost_proto::text::MEGABYTE;

#[derive(OpenApi)]
#[openapi(
    info(title = "Sealpost hub API", version = "1", description = "The HTTP API of a Sealpost hub. \
        Errors are `{\"error\": {\"code\", \"message\"}}`; see the project's API document for the rules."),
    modifiers(&Security),
    tags((name = "accounts"), (name = "mailbox"), (name = "delegates"), (name = "address book"), (name = "sync"), (name = "organisation"),
        (name = "updates"), (name = "operations"))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "org_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An organisation API token from `sealpost-hub admin token create`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The API's routes and their OpenAPI document, from the same registrations: a route
/// cannot exist without its documentation, nor the other way round.
fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    // Uploads stream, checked against the attachment limit as they arrive (and by
    // `body_limits` from their Content-Length).
    let uploads_unlimited = || DefaultBodyLimit::disable();
    let (api, doc) = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .routes(routes!(accounts::registration_info))
        .routes(routes!(accounts::register))
        .routes(routes!(accounts::sign_in))
        .routes(routes!(accounts::refresh))
        .routes(routes!(accounts::sign_out))
        .routes(routes!(accounts::request_reset))
        .routes(routes!(accounts::reset_info))
        .routes(routes!(accounts::confirm_reset))
        .routes(routes!(accounts::mfa_state, accounts::begin_mfa))
        .routes(routes!(accounts::confirm_mfa))
        .routes(routes!(accounts::disable_mfa))
        .routes(routes!(delegates::delegate_session))
        .routes(routes!(delegates::list, delegates::invite))
        .routes(routes!(delegates::remove))
        .routes(routes!(mailbox::list, mailbox::send))
        .routes(routes!(mailbox::open, mailbox::patch, mailbox::delete))
        .routes(routes!(mailbox::download))
        .routes(routes!(mailbox::create_draft))
        .routes(routes!(mailbox::update_draft, mailbox::delete_draft))
        .routes(routes!(mailbox::upload).layer(uploads_unlimited()))
        .routes(routes!(
            address_book::list_contacts,
            address_book::create_contact
        ))
        .routes(routes!(
            address_book::update_contact,
            address_book::delete_contact
        ))
        .routes(routes!(
            address_book::list_groups,
            address_book::create_group
        ))
        .routes(routes!(
            address_book::update_group,
            address_book::delete_group
        ))
        .routes(routes!(mailbox::changes))
        .routes(routes!(mailbox::events))
        .routes(routes!(org::send))
        .routes(routes!(org::recall))
        .routes(routes!(org::status))
        .routes(routes!(mailbox::org_upload).layer(uploads_unlimited()))
        .routes(routes!(updates::manifest))
        .routes(routes!(updates::file))
        .split_for_parts();
    let mut full = doc;
    let (_, ops) = OpenApiRouter::<AppState>::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .split_for_parts();
    // The API is served under /api/v1; operations at the root.
    let mut paths = utoipa::openapi::path::Paths::new();
    for (path, item) in full.paths.paths.clone() {
        paths.paths.insert(format!("/api/v1{path}"), item);
    }
    for (path, item) in ops.paths.paths {
        paths.paths.insert(path, item);
    }
    full.paths = paths;
    document::complete(&mut full);
    (api, full)
}

/// Every route of the hub.
pub fn router(hub: Arc<Hub>) -> Router {
    let (api, doc) = api();
    let doc = Arc::new(
        doc.to_pretty_json()
            .expect("BUG: the OpenAPI document serialises"),
    );
    let api = api
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        doc.as_str().to_owned(),
                    )
                }
            }),
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
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(REQUEST_BODY_BYTES as usize))
        .layer(middleware::from_fn_with_state(hub.clone(), body_limits))
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
        sealpost_proto::ErrorCode::NotFound,
        "There is no such address on this hub.",
    )
}

#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The store answers", content_type = "text/plain", body = String),
        (status = 503, description = "The store does not answer", content_type = "text/plain", body = String)))]
async fn healthz(axum::extract::State(hub): axum::extract::State<AppState>) -> Response {
    match hub.store().read(|_| Ok(())).await {
        Ok(()) => "ok\n".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "the health check found the store not answering");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database does not answer\n",
            )
                .into_response()
        }
    }
}

/// For a load balancer: 200 when this process can serve (its store answers and its
/// attachment store takes a new file), 503 naming the part that cannot.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready", body = sealpost_proto::Readiness),
        (status = 503, description = "Not ready: the part that is not says why", body = sealpost_proto::Readiness)))]
async fn readyz(State(hub): State<AppState>) -> Response {
    // A part that takes longer than a load balancer waits is as good as down.
    let within = std::time::Duration::from_secs(5);
    let store = match tokio::time::timeout(within, hub.store().read(|_| Ok(()))).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the store does not answer");
            "the database does not answer".to_owned()
        }
        Err(_) => {
            tracing::warn!("readiness: the store did not answer within 5 s");
            "the database does not answer within 5 s".to_owned()
        }
    };
    let blobs = match tokio::time::timeout(within, hub.blobs_writable()).await {
        Ok(Ok(())) => "ok".to_owned(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the attachment store takes no file");
            "the attachment store takes no new file".to_owned()
        }
        Err(_) => {
            tracing::warn!("readiness: the attachment store did not answer within 5 s");
            "the attachment store does not answer within 5 s".to_owned()
        }
    };
    let status = if store == "ok" && blobs == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(sealpost_proto::Readiness { store, blobs }),
    )
        .into_response()
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
async fn metrics(State(hub): State<AppState>) -> Result<Response, ApiError> {
    let stats = hub.stats().await?;
    let mut response = Response::new(hub.metrics.render(&stats).into());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}

/// Refuses a body declared (`Content-Length`) over its route's limit at once, with 413 and
/// the limit in words, before a byte of it is read: a client need not send 50 MB to hear
/// that 5 are allowed, and one that sends only the headers gets its answer.
async fn body_limits(State(hub): State<AppState>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let path = request.uri().path();
    let upload = path == "/api/v1/uploads" || path == "/api/v1/org/uploads";
    let limits = &hub.config().limits;
    match declared {
        Some(n) if upload && n > limits.max_attachment_bytes => {
            ApiError::from(crate::error::Error::AttachmentLimit {
                max_files: limits.max_attachments,
                max_total_bytes: limits.max_attachment_bytes,
            })
            .into_response()
        }
        Some(n) if !upload && n > REQUEST_BODY_BYTES => ApiError::too_large().into_response(),
        _ => next.run(request).await,
    }
}

/// Counts every answer by route pattern and status for `/metrics`, and logs it (debug
/// level). Only the route pattern is ever logged: a concrete path can hold a token.
async fn count_requests(State(hub): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    hub.metrics.request(&method, &route, status);
    tracing::debug!(
        method = method.as_str(),
        route = route.as_str(),
        status,
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}
