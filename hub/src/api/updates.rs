//! The desktop app's updates, when the organisation serves them (`[updates] dir`). No
//! token: an app asks its hub before anyone signs in. Each package is signed by the Sealpost
//! release key, which the app checks; the hub only serves the files.

use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
    Json,
};

use super::{ApiError, AppState};
#[allow(unused_imports)]
use sealpost_proto::ErrorBody;

/// The manifest and packages change when the organisation publishes a release: never kept.
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

#[utoipa::path(get, path = "/updates/latest.json", tag = "updates",
    responses((status = 200, description = "The update manifest of the Tauri updater: `{version, notes?, pub_date?, platforms: {\"linux-x86_64-deb\": {url, signature}, ..}}`; a `url` may be a file name of `/updates/files/`", content_type = "application/json"),
        (status = 404, description = "This hub serves no app updates", body = ErrorBody)))]
pub async fn manifest(State(hub): State<AppState>) -> Result<Response, ApiError> {
    let manifest = hub.update_manifest().await.map_err(no_updates)?;
    let mut response = Json(manifest).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, NO_STORE);
    Ok(response)
}

#[utoipa::path(get, path = "/updates/files/{name}", tag = "updates",
    params(("name" = String, Path, description = "A file name from the manifest")),
    responses((status = 200, description = "The package, streamed", content_type = "application/octet-stream"),
        (status = 404, description = "No such file, or this hub serves no app updates", body = ErrorBody)))]
pub async fn file(
    State(hub): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let (file, size) = hub.update_file(&name).await.map_err(no_updates)?;
    let mut response = Response::new(Body::from_stream(tokio_util::io::ReaderStream::new(file)));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(header::CACHE_CONTROL, NO_STORE);
    Ok(response)
}

/// A missing manifest or file says what it means for the person whose app asked.
fn no_updates(e: crate::error::Error) -> ApiError {
    match e {
        crate::error::Error::NotFound("app update") => ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            sealpost_proto::ErrorCode::NotFound,
            "This hub does not offer app updates: your organisation keeps the app up to date \
             another way.",
        ),
        other => other.into(),
    }
}
