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
    // Two-step sign-in (issue 16).
    ("get", "/api/v1/account/mfa"),
    ("post", "/api/v1/account/mfa"),
    ("post", "/api/v1/account/mfa/confirm"),
    ("post", "/api/v1/account/mfa/disable"),
    ("post", "/api/v1/sessions/delegate"),
    ("get", "/api/v1/mailbox/delegates"),
    ("post", "/api/v1/mailbox/delegates"),
    ("delete", "/api/v1/mailbox/delegates/{id}"),
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
    // Recall (issue 16).
    ("post", "/api/v1/org/messages/{id}/recall"),
    ("get", "/api/v1/org/messages/{id}"),
    ("post", "/api/v1/org/uploads"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/api/v1/updates/latest.json"),
    ("get", "/api/v1/updates/files/{name}"),
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
            .replace("{attachment_id}", "x")
            .replace("{name}", "x");
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

#[tokio::test]
async fn the_document_says_every_answer_and_the_shared_refusals() {
    let t = TestHub::start().await;
    let doc: Value = t.get("/api/v1/openapi.json").await.json().await.unwrap();
    assert_eq!(doc["info"]["title"], "Sealpost hub API");
    assert!(!doc["info"]["version"].as_str().unwrap().is_empty());
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for (status, answer) in responses {
                assert!(
                    !answer["description"]
                        .as_str()
                        .unwrap_or_default()
                        .is_empty(),
                    "{method} {path} {status} has a description"
                );
            }
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            if secured {
                assert!(responses.contains_key("401"), "{method} {path} says 401");
            }
            if op["requestBody"]["content"]["application/json"].is_object() {
                for status in ["400", "413", "415"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} says {status}"
                    );
                }
            }
        }
    }
    let upload = &doc["paths"]["/api/v1/uploads"]["post"]["requestBody"]["content"]
        ["application/octet-stream"]["schema"];
    let upload = match upload.get("$ref").and_then(Value::as_str) {
        Some(r) => &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
        None => upload,
    };
    assert_eq!(
        upload["format"], "binary",
        "file bytes, not an array of numbers"
    );
    let group_name = &doc["components"]["schemas"]["GroupInput"]["properties"]["name"];
    assert_eq!(group_name["minLength"], 1, "a group needs a name");
    let since = doc["paths"]["/api/v1/changes"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "since")
        .unwrap();
    assert_eq!(since["schema"]["pattern"], "^[0-9]{1,18}$");
}
