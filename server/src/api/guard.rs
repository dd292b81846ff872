//! What every `/api` request passes before its handler, so that no input reaches a handler or
//! PostgreSQL in a form they cannot take: a path or query with NUL or bytes that are not
//! UTF-8 is refused with a 4xx, and unknown paths and methods answer JSON, not the portal's
//! HTML pages.
use super::error::ApiError;
use super::extract::query_pairs;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn middleware(req: Request, next: Next) -> Response {
    if let Err(e) = check_path(req.uri().path()) {
        return e.into_response();
    }
    if let Err(e) = query_pairs(req.uri().query().unwrap_or("")) {
        return e.into_response();
    }
    let response = next.run(req).await;
    if response.status() == StatusCode::METHOD_NOT_ALLOWED && !is_json(&response) {
        let allow = response.headers().get(header::ALLOW).cloned();
        let detail = match allow.as_ref().and_then(|a| a.to_str().ok()) {
            Some(methods) => format!("this path does not take that method; it takes {methods}"),
            None => "this path does not take that method".to_string(),
        };
        let mut r =
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", detail).into_response();
        if let Some(a) = allow {
            r.headers_mut().insert(header::ALLOW, a);
        }
        return r;
    }
    response
}

fn is_json(r: &Response) -> bool {
    r.headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"))
}

/// Every path segment must decode to UTF-8 without NUL: no id, uid or name can hold either.
fn check_path(path: &str) -> Result<(), ApiError> {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8();
    match decoded {
        Ok(s) if !s.contains('\0') => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_path",
            "the path contains a NUL character or bytes that are not UTF-8; ids, uids and names never do",
        )),
    }
}

/// Any `/api/...` path no route has.
pub async fn not_found(req: Request) -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no API operation at {}; the operations are listed in /api/v1/openapi.json",
            req.uri().path()
        ),
    )
    .into_response()
}

/// A header's value as text, or a 400 naming the header when it is not visible ASCII.
pub fn header_text<'a>(name: &str, v: &'a HeaderValue) -> Result<&'a str, ApiError> {
    v.to_str().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_header",
            format!("the {name} header must be visible ASCII text"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_nul_or_broken_utf8_are_refused() {
        assert!(check_path("/api/v1/app/app_1").is_ok());
        assert!(check_path("/api/v1/app/caf%C3%A9").is_ok());
        assert!(check_path("/api/v1/app/a%00b").is_err());
        assert!(check_path("/api/v1/app/%ff").is_err());
    }

    #[test]
    fn query_values_with_nul_or_broken_utf8_name_the_parameter() {
        assert_eq!(
            query_pairs("a=1&b=x+y%21").unwrap(),
            vec![("a".into(), "1".into()), ("b".into(), "x y!".into())]
        );
        let Err(ApiError::Domain(domain::DomainError::Validation(items))) =
            query_pairs("limit=2&iterator=%00%ff")
        else {
            panic!("expected a 422")
        };
        assert_eq!(items[0].loc, vec!["query", "iterator"]);
        assert!(query_pairs("x=%e2%82").is_err());
    }
}
