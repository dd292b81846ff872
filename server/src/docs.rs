//! The API's own OpenAPI document and a docs page rendered from it on the server (no CDN, so
//! it works offline), plus the consumer-portal landing page.

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use std::fmt::Write;
use std::sync::OnceLock;

const OPENAPI: &str = include_str!("../openapi.json");

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(crate) fn page_html(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"/pkg/hookline.css\"></head><body class=\"docs\"><main class=\"container\">{body}</main></body></html>"
    )
}

/// Every operation of the OpenAPI document with its parameters and responses.
fn render_docs() -> String {
    let doc: serde_json::Value = serde_json::from_str(OPENAPI).expect("bundled openapi.json is valid JSON");
    let mut out = String::new();
    let _ = write!(
        out,
        "<h1>Hookline API</h1><p>{}</p><p>Authenticate with <code>Authorization: Bearer &lt;api key&gt;</code>. \
         Create a key with <code>hookline api-key create --org NAME</code> or in the portal. \
         Machine-readable: <a href=\"/api/v1/openapi.json\">openapi.json</a>.</p><nav><ul>",
        esc(doc["info"]["description"].as_str().unwrap_or_default())
    );
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    let mut ops = Vec::new();
    for (path, item) in &paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            if let Some(op) = item.get(method) {
                ops.push((path.clone(), method, op.clone()));
            }
        }
    }
    for (i, (path, method, op)) in ops.iter().enumerate() {
        let _ = write!(
            out,
            "<li><a href=\"#op{i}\"><code>{} {}</code></a> {}</li>",
            method.to_uppercase(),
            esc(path),
            esc(op["summary"].as_str().unwrap_or_default())
        );
    }
    out.push_str("</ul></nav>");
    for (i, (path, method, op)) in ops.iter().enumerate() {
        let _ = write!(
            out,
            "<section id=\"op{i}\"><h2><code>{} {}</code></h2><p>{}</p>",
            method.to_uppercase(),
            esc(path),
            esc(op["description"]
                .as_str()
                .or(op["summary"].as_str())
                .unwrap_or_default())
        );
        if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
            out.push_str("<table><tr><th>parameter</th><th>in</th><th>description</th></tr>");
            for p in params {
                let _ = write!(
                    out,
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                    esc(p["name"].as_str().unwrap_or_default()),
                    esc(p["in"].as_str().unwrap_or_default()),
                    esc(p["description"]
                        .as_str()
                        .or(p["schema"]["description"].as_str())
                        .unwrap_or_default())
                );
            }
            out.push_str("</table>");
        }
        if let Some(body) = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str() {
            let _ = write!(
                out,
                "<p>Body: <code>{}</code></p>",
                esc(body.rsplit('/').next().unwrap_or(body))
            );
        }
        if let Some(resps) = op["responses"].as_object() {
            let codes: Vec<&str> = resps
                .keys()
                .map(String::as_str)
                .filter(|c| c.starts_with('2'))
                .collect();
            let _ = write!(out, "<p>Success: {}</p>", codes.join(", "));
        }
        out.push_str("</section>");
    }
    page_html("Hookline API", &out)
}

pub async fn page() -> Html<&'static str> {
    static PAGE: OnceLock<String> = OnceLock::new();
    Html(PAGE.get_or_init(render_docs).as_str())
}
