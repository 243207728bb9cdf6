//! The OpenAPI document is generated from the routes and stays true to them.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::*;

/// Every route the project's API document promises.
const CONTRACT: &[(&str, &str)] = &[
    ("get", "/api/v1/registrations/{token}"),
    ("post", "/api/v1/registrations"),
    ("post", "/api/v1/sessions"),
    ("post", "/api/v1/sessions/refresh"),
    ("delete", "/api/v1/sessions/current"),
    ("post", "/api/v1/password-resets"),
    ("post", "/api/v1/password-resets/confirm"),
    ("get", "/api/v1/password-resets/{token}"),
    ("get", "/api/v1/messages"),
    ("get", "/api/v1/messages/{id}"),
    ("patch", "/api/v1/messages/{id}"),
    ("delete", "/api/v1/messages/{id}"),
    ("post", "/api/v1/messages"),
    ("post", "/api/v1/drafts"),
    ("put", "/api/v1/drafts/{id}"),
    ("delete", "/api/v1/drafts/{id}"),
    ("post", "/api/v1/uploads"),
    ("get", "/api/v1/messages/{id}/attachments/{attachment_id}"),
    ("get", "/api/v1/contacts"),
    ("post", "/api/v1/contacts"),
    ("put", "/api/v1/contacts/{id}"),
    ("delete", "/api/v1/contacts/{id}"),
    ("get", "/api/v1/groups"),
    ("post", "/api/v1/groups"),
    ("put", "/api/v1/groups/{id}"),
    ("delete", "/api/v1/groups/{id}"),
    ("get", "/api/v1/changes"),
    ("get", "/api/v1/events"),
    ("post", "/api/v1/org/messages"),
    ("post", "/api/v1/org/uploads"),
    ("get", "/healthz"),
    ("get", "/metrics"),
];

#[tokio::test]
async fn the_document_lists_exactly_the_routes_the_hub_serves() {
    let t = TestHub::start().await;
    let r = t.get("/api/v1/openapi.json").await;
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    for (method, path) in CONTRACT {
        assert!(
            documented.contains(&(method.to_string(), path.to_string())),
            "{method} {path} is in the API contract but not in openapi.json"
        );
    }
    assert_eq!(
        documented.len(),
        CONTRACT.len(),
        "nothing undocumented, nothing extra: {documented:?}"
    );

    // And every documented route is really served: never the fallback, never 405.
    for (method, path) in &documented {
        let concrete = path
            .replace("{token}", "x")
            .replace("{id}", "x")
            .replace("{attachment_id}", "x");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = t
            .http
            .request(method.clone(), format!("{}{concrete}", t.url))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_ne!(
            r.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        let body = r.text().await.unwrap_or_default();
        assert!(
            !body.contains("There is no such address on this hub"),
            "{method} {path} is not routed"
        );
    }
    for schema in [
        "Outgoing",
        "MessageSummary",
        "Changes",
        "ErrorBody",
        "Session",
        "MailboxLimits",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema} is documented"
        );
    }
}
