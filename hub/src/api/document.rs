//! The finishing of the API's OpenAPI document. Each route documents its own answers with
//! `#[utoipa::path]`; the refusals that come from what every route of a kind shares are
//! written here once, from the same rules the extractors apply:
//!
//! - a route that needs a token (`security`) answers 401 without a valid one (`extract.rs`);
//! - a JSON body that is not JSON, or not the route's shape, is 400; a body that is not
//!   `application/json` is 415 (`extract.rs`); a body over 2 MB is 413 (`body_limits`);
//! - an id in the path that is unknown, or someone else's, is 404 (the design's rule);
//! - any answer may be 500 when the hub itself fails (`error.rs`).

use utoipa::openapi::{
    path::Operation,
    response::{Response, ResponseBuilder},
    schema::{ObjectBuilder, Schema, Type},
    ContentBuilder, OpenApi, Ref, RefOr, Required,
};

/// Completes `doc`: its title and version, the shared refusals, and a description for
/// every answer.
pub(super) fn complete(doc: &mut OpenApi) {
    doc.info.title = "Sealpost hub API".into();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc.info.description = Some(
        "The HTTP API of a Sealpost hub, version 1 (every path under /api/v1). Errors are \
         `{\"error\": {\"code\", \"message\"}}`: switch on `code`, show `message` to people. \
         Timestamps are RFC 3339 in UTC; ids are opaque strings."
            .into(),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            complete_operation(path, op);
        }
    }
}

fn complete_operation(path: &str, op: &mut Operation) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    // Raw bytes may be none at all: an empty file.
    if let Some(RefOr::T(body)) = op.request_body.as_mut() {
        if body.content.contains_key("application/octet-stream") {
            body.required = Some(Required::False);
        }
    }
    let json_body = op.request_body.as_ref().is_some_and(|b| match b {
        RefOr::T(body) => body.content.contains_key("application/json"),
        RefOr::Ref(_) => true,
    });
    let api = path.starts_with("/api/v1");
    if secured {
        refusal(
            op,
            "401",
            "Not signed in: no token, or one that ended (`not_signed_in`, `session_expired`; \
             `invalid_token` for a revoked organisation token).",
        );
    }
    if json_body {
        refusal(
            op,
            "400",
            "The body is not JSON of this route's shape, or a field breaks a rule the message \
             names (`bad_request`).",
        );
        refusal(
            op,
            "413",
            "The body is over 2 MB (`request_too_large`); nothing of it was used.",
        );
        refusal(
            op,
            "415",
            "The body is not sent as `application/json` (`unsupported_media_type`).",
        );
    }
    if api && path.contains('{') {
        refusal(
            op,
            "404",
            "Not found, or not the caller's (`not_found`; `invalid_token` for a link).",
        );
    }
    refusal(
        op,
        "500",
        "The hub could not complete the request (`internal`); try again later.",
    );
    for (status, answer) in op.responses.responses.iter_mut() {
        if let RefOr::T(response) = answer {
            if response.description.is_empty() {
                response.description = said(status).into();
            }
            if let Some(RefOr::T(stream)) = response.content.get_mut("text/event-stream") {
                stream.schema = Some(server_sent_event());
            }
        }
    }
}

/// One server-sent event of `/events`, as a reader of the stream sees it (OpenAPI 3.2's
/// reading of `text/event-stream`): the event's name and its data, JSON of `StateEvent`.
fn server_sent_event() -> RefOr<Schema> {
    let text = |description: &str| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
    };
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "event",
            text("Always `state`.").enum_values(Some(["state"])),
        )
        .property(
            "data",
            text("JSON of `StateEvent`: `{\"state\": \"<the mailbox's new state>\"}`.")
                .content_media_type("application/json"),
        )
        .required("event")
        .required("data")
        .into()
}

/// Adds a refusal with the error body, unless the route documents that status itself.
fn refusal(op: &mut Operation, status: &str, description: &str) {
    op.responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| RefOr::T(error_response(description)));
}

fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

/// What a status means when a route says no more.
fn said(status: &str) -> &'static str {
    match status {
        "200" => "Done; the answer is below.",
        "201" => "Created; the new item is below.",
        "202" => "Accepted; the work goes on after the answer.",
        "204" => "Done; no body.",
        "400" => "The request is malformed; the message says how (`bad_request`).",
        "401" => "Not signed in, or the credentials or token are not right.",
        "403" => "The account is disabled (`account_disabled`).",
        "404" => "Not found, or not the caller's (`not_found`).",
        "409" => "It conflicts with what is stored; the code says how.",
        "410" => "Gone: the sync state is older than the hub's history (`state_too_old`).",
        "413" => {
            "Too large; the code says which limit (`attachment_limit` or `request_too_large`)."
        }
        "415" => "The body's type is not accepted (`unsupported_media_type`).",
        "422" => "Refused by a rule; the code says which.",
        "423" => "The account is locked (`account_locked`, with `locked_until`).",
        "429" => "Too many requests; wait the seconds in `Retry-After` (`rate_limited`).",
        "500" => "The hub could not complete the request (`internal`).",
        _ => "See the code and message of the answer.",
    }
}
