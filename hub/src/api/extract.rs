//! Request extractors that answer in the API's error shape.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{rejection::JsonRejection, ConnectInfo, FromRequest, FromRequestParts, Request},
    http::{header, request::Parts, StatusCode},
};
use serde::de::DeserializeOwned;

use super::{error::ApiError, AppState};
use crate::accounts::Authenticated;
use crate::error::Error;
use crate::hub::Caller;

/// A JSON body; a malformed one is a 400 (or 415) in the API's error shape.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                sealpost_proto::ErrorCode::UnsupportedMediaType,
                "Send the body as JSON with Content-Type: application/json.",
            )),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::bad_request(format!(
                "The request body does not have the expected fields: {}",
                e.body_text()
            ))),
            Err(JsonRejection::JsonSyntaxError(_)) => {
                Err(ApiError::bad_request("The request body is not valid JSON."))
            }
            // Sent without a length, it crossed the limit as it was read.
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::too_large()),
            Err(e) => Err(ApiError::bad_request(format!(
                "The request body could not be read: {}",
                e.body_text()
            ))),
        }
    }
}

/// Query parameters; malformed ones are a 400 in the API's error shape.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| {
                ApiError::bad_request(format!(
                    "The query parameters are not valid: {}",
                    e.body_text()
                ))
            })
    }
}

/// The caller's IP address, for throttles and the audit log. Behind a trusted reverse
/// proxy, the nearest untrusted address in `X-Forwarded-For`.
pub struct ClientIp(pub Caller);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        hub: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let trusted = &hub.config().security.trusted_proxies;
        let is_trusted = |ip: &IpAddr| {
            trusted
                .iter()
                .any(|t| t.parse::<IpAddr>().ok() == Some(*ip))
        };
        let mut client = peer;
        if peer.as_ref().is_some_and(is_trusted) {
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|s| s.trim().parse::<IpAddr>().ok())
                .collect::<Vec<_>>();
            // Walk back from the proxy: the first address it did not add itself is the client.
            if let Some(ip) = forwarded.iter().rev().find(|ip| !is_trusted(ip)) {
                client = Some(*ip);
            }
        }
        Ok(ClientIp(Caller {
            ip: client.map(|ip| ip.to_string()).unwrap_or_default(),
            ..Caller::default()
        }))
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    bearer_of(&parts.headers)
}

/// The bearer token of a request's `Authorization` header.
pub(crate) fn bearer_of(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// A signed-in external user.
pub struct SignedIn(pub Authenticated);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        hub: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or(Error::Unauthenticated)?;
        let mut who = hub.authenticate(token).await?;
        who.ip = ClientIp::from_request_parts(parts, hub).await?.0.ip;
        // Under `require_mfa`, an account without two-step sign-in may only turn it on (or
        // sign out).
        let path = parts.uri.path();
        let enrolling = ["/account/mfa", "/account/mfa/confirm", "/sessions/current"]
            .iter()
            .any(|p| path.ends_with(p));
        if hub.config().security.require_mfa && !enrolling && !who.mfa_on {
            return Err(Error::MfaEnrolmentRequired.into());
        }
        Ok(SignedIn(who))
    }
}

/// A caller holding a live organisation API token.
pub struct OrgClient(pub String);

impl FromRequestParts<AppState> for OrgClient {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        hub: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                sealpost_proto::ErrorCode::NotSignedIn,
                "This request needs an organisation API token (sealpost-hub admin token create).",
            )
        })?;
        hub.authenticate_org(token)
            .await
            .map(OrgClient)
            .map_err(|_| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    sealpost_proto::ErrorCode::InvalidToken,
                    "This organisation API token is not valid or was revoked.",
                )
            })
    }
}
