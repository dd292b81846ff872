//! The served OpenAPI document and the router describe the same operations, every path
//! parameter is declared, and the statuses the server answers for bad input are documented.
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeSet;

/// The path with its parameters' names left out: `/app/{}/endpoint/{}`.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// `(METHOD, path)` of every route in `server/src/api/*.rs`, read from the `.route(...)` calls.
fn router_operations() -> BTreeSet<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut ops = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let src = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let mut rest = src.as_str();
        while let Some(i) = rest.find(".route(") {
            rest = &rest[i + ".route(".len()..];
            // the path literal, then the method chain up to the call's closing parenthesis
            let Some(q) = rest.find('"') else { break };
            let after = &rest[q + 1..];
            let end = after.find('"').unwrap();
            let path = after[..end].to_string();
            let mut depth = 1;
            let mut chain_end = 0;
            for (j, c) in after[end + 1..].char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            chain_end = end + 1 + j;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let chain = &after[end + 1..chain_end];
            if !path.starts_with("/api/v1/") || path.contains('*') {
                continue;
            }
            for m in ["get", "post", "put", "patch", "delete", "head"] {
                let called = chain.contains(&format!("{m}(")) && !chain.contains(&format!("_{m}("));
                if called || (m == "head" && chain.contains("get(") && path.starts_with("/api/v1/health")) {
                    ops.insert((m.to_uppercase(), shape(&path)));
                }
            }
        }
    }
    ops
}

#[tokio::test]
async fn the_document_and_the_router_list_the_same_operations() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(format!("{}/api/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let doc: Value = resp.json().await.unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            documented.insert((method.to_uppercase(), shape(path)));
            // every {param} of the path is declared by the operation
            let declared: BTreeSet<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .map(|p| p["name"].as_str().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            for seg in path.split('/').filter(|s| s.starts_with('{')) {
                let name = seg.trim_matches(|c| c == '{' || c == '}');
                assert!(declared.contains(name), "{method} {path} does not declare {name}");
            }
            let responses = op["responses"].as_object().unwrap();
            // any operation may find the database away
            if path != "/api/v1/health/ping" {
                assert!(
                    responses.contains_key("503"),
                    "{method} {path} does not document 503"
                );
            }
            if !path.starts_with("/api/v1/health") {
                for status in ["400", "401", "404", "422"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} does not document {status}"
                    );
                }
                if op.get("requestBody").is_some() {
                    assert!(
                        responses.contains_key("413"),
                        "{method} {path} does not document 413"
                    );
                }
            }
        }
    }
    let routed = router_operations();
    assert!(routed.len() > 40, "the route scan found only {routed:?}");
    let missing_in_doc: Vec<_> = routed.difference(&documented).collect();
    let missing_in_router: Vec<_> = documented.difference(&routed).collect();
    assert!(
        missing_in_doc.is_empty(),
        "routed but not documented: {missing_in_doc:?}"
    );
    assert!(
        missing_in_router.is_empty(),
        "documented but not routed: {missing_in_router:?}"
    );
    // the specific statuses the issue found undocumented
    let responses = |m: &str, p: &str| doc["paths"][p][m]["responses"].as_object().unwrap().clone();
    assert!(responses("delete", "/api/v1/app/{app_id}/msg/{msg_id}/content").contains_key("204"));
    assert!(responses(
        "delete",
        "/api/v1/app/{app_id}/msg/{msg_id}/attempt/{attempt_id}/content"
    )
    .contains_key("204"));
    assert!(responses("post", "/api/v1/auth/logout").contains_key("409"));
    let bad_request = responses("post", "/api/v1/app")["400"]["description"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        bad_request.contains("invalid_json") && bad_request.contains("invalid_idempotency_key"),
        "{bad_request}"
    );
}
