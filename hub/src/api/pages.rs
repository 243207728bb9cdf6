//! Server-rendered pages for the links in emails: registration and password reset. They
//! work without JavaScript and post to the same logic as the JSON API.

use axum::{
    extract::{Query, State},
    http::{header, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::get,
    Form, Router,
};
use serde::Deserialize;

use super::extract::ClientIp;
use super::AppState;
use crate::error::Error;
use sealpost_proto::PasswordRules;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/register", get(register_form).post(register_submit))
        .route("/reset", get(reset_form).post(reset_submit))
        .route("/assets/hub.css", get(stylesheet))
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// Escapes text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, org: &str, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · {org}</title><link rel=\"stylesheet\" href=\"/assets/hub.css\"></head>\
         <body><main><p class=\"org\">{org} · Secure messages</p><h1>{title}</h1>{body}</main></body></html>\n",
        title = esc(title),
        org = esc(org),
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    // The token is in the address: never send it on as a Referer, never cache the page.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn rules_list(rules: &PasswordRules, failed: &[String]) -> String {
    let items: String = rules
        .rules
        .iter()
        .map(|r| {
            let broken = failed.contains(&r.id);
            format!(
                "<li class=\"{}\" id=\"rule-{}\">{}{}</li>",
                if broken { "failed" } else { "rule" },
                esc(&r.id),
                if broken { "Not met: " } else { "" },
                esc(&r.description)
            )
        })
        .collect();
    format!("<ul class=\"rules\" aria-label=\"Password rules\">{items}</ul>")
}

fn password_form(
    action: &str,
    token: &str,
    email: &str,
    rules: &PasswordRules,
    failed: &[String],
    problem: &str,
) -> String {
    let problem = if problem.is_empty() {
        String::new()
    } else {
        format!("<p class=\"problem\" role=\"alert\">{}</p>", esc(problem))
    };
    format!(
        "<p>Address: <strong id=\"email\">{email}</strong></p>{problem}\
         <p>Choose a password. It must meet these rules:</p>{rules}\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" \
         required minlength=\"{min}\" maxlength=\"{max}\">\
         <label for=\"confirm\">Password again</label>\
         <input id=\"confirm\" name=\"confirm\" type=\"password\" autocomplete=\"new-password\" required>\
         <button type=\"submit\">Save password</button></form>",
        email = esc(email),
        rules = rules_list(rules, failed),
        token = esc(token),
        min = rules.min_length,
        max = rules.max_length,
    )
}

fn invalid_link(org: &str, title: &str, ask: &str) -> Response {
    page(
        StatusCode::NOT_FOUND,
        org,
        title,
        &format!(
            "<p class=\"problem\" role=\"alert\">This link is not valid: it was already used, has expired, \
             or was not copied whole.</p><p>{}</p>",
            esc(ask)
        ),
    )
}

const REGISTER_ASK: &str = "If you registered already, sign in with the Sealpost app. \
    Otherwise ask for a new link: use \"Forgot password\" in the app with your address.";
const RESET_ASK: &str = "Ask for a new link with \"Forgot password\" in the Sealpost app.";

async fn register_form(State(hub): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    let org = &hub.config().org_name;
    match hub.registration_info(&q.token).await {
        Ok(info) => page(
            StatusCode::OK,
            org,
            "Register",
            &password_form(
                "/register",
                &q.token,
                &info.email,
                &info.password_rules,
                &[],
                "",
            ),
        ),
        Err(Error::InvalidToken) => invalid_link(org, "Register", REGISTER_ASK),
        Err(_) => fault(org),
    }
}

async fn register_submit(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    Form(form): Form<PasswordForm>,
) -> Response {
    let org = hub.config().org_name.clone();
    let info = match hub.registration_info(&form.token).await {
        Ok(info) => info,
        Err(Error::InvalidToken) => return invalid_link(&org, "Register", REGISTER_ASK),
        Err(_) => return fault(&org),
    };
    let redo = |failed: &[String], problem: &str| {
        page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &org,
            "Register",
            &password_form(
                "/register",
                &form.token,
                &info.email,
                &info.password_rules,
                failed,
                problem,
            ),
        )
    };
    if form.password != form.confirm {
        return redo(&[], "The two passwords are not the same. Type them again.");
    }
    match hub.register(&form.token, &form.password, &caller).await {
        Ok(email) => page(
            StatusCode::OK,
            &org,
            "You are registered",
            &format!(
                "<p class=\"done\" role=\"status\">Your password is saved. Open the Sealpost app and sign in \
                 as <strong>{}</strong> to read your secure messages.</p>",
                esc(&email)
            ),
        ),
        Err(Error::WeakPassword(failed)) => redo(&rule_ids(&failed), "The password does not meet the rules marked below."),
        Err(Error::InvalidToken | Error::AlreadyRegistered) => invalid_link(&org, "Register", REGISTER_ASK),
        Err(Error::RateLimited(s)) => redo(&[], &format!("Too many attempts. Wait {s} seconds and try again.")),
        Err(_) => fault(&org),
    }
}

async fn reset_form(State(hub): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    let org = &hub.config().org_name;
    match hub.reset_info(&q.token).await {
        Ok(info) => page(
            StatusCode::OK,
            org,
            "Choose a new password",
            &password_form(
                "/reset",
                &q.token,
                &info.email,
                &info.password_rules,
                &[],
                "",
            ),
        ),
        Err(Error::InvalidToken) => invalid_link(org, "Choose a new password", RESET_ASK),
        Err(_) => fault(org),
    }
}

async fn reset_submit(
    State(hub): State<AppState>,
    ClientIp(caller): ClientIp,
    Form(form): Form<PasswordForm>,
) -> Response {
    let org = hub.config().org_name.clone();
    let title = "Choose a new password";
    let info = match hub.reset_info(&form.token).await {
        Ok(info) => info,
        Err(Error::InvalidToken) => return invalid_link(&org, title, RESET_ASK),
        Err(_) => return fault(&org),
    };
    let redo = |failed: &[String], problem: &str| {
        page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &org,
            title,
            &password_form(
                "/reset",
                &form.token,
                &info.email,
                &info.password_rules,
                failed,
                problem,
            ),
        )
    };
    if form.password != form.confirm {
        return redo(&[], "The two passwords are not the same. Type them again.");
    }
    match hub.confirm_reset(&form.token, &form.password, &caller).await {
        Ok(email) => page(
            StatusCode::OK,
            &org,
            "Password changed",
            &format!(
                "<p class=\"done\" role=\"status\">The new password for <strong>{}</strong> is saved. Every \
                 device was signed out; sign in again with the new password.</p>",
                esc(&email)
            ),
        ),
        Err(Error::WeakPassword(failed)) => redo(&rule_ids(&failed), "The password does not meet the rules marked below."),
        Err(Error::InvalidToken) => invalid_link(&org, title, RESET_ASK),
        Err(Error::RateLimited(s)) => redo(&[], &format!("Too many attempts. Wait {s} seconds and try again.")),
        Err(_) => fault(&org),
    }
}

fn fault(org: &str) -> Response {
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        org,
        "Something went wrong",
        "<p class=\"problem\" role=\"alert\">The hub could not complete this. Try again in a few minutes; \
         if it goes on, tell the organisation that sent you the link.</p>",
    )
}

async fn stylesheet() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("hub.css"),
    )
}

/// The ids of broken password rules, as the form marks them.
fn rule_ids(failed: &[sealpost_proto::PasswordRule]) -> Vec<String> {
    failed.iter().map(|r| r.id.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escaping_defuses_markup() {
        assert_eq!(
            esc("<script>\"x\"&'y'"),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;"
        );
    }
}
