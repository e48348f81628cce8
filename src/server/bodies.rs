//! Request bodies and redirects for the handlers that take them (the API, the accounts
//! and rooms endpoints, the pages' forms): read within the body limits, parsed once here.

use crate::server::api::{http_error, read_body};
use crate::server::state::BodyLimits;
use axum::body::Body as HttpBody;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::HashMap;

/// A JSON object body, or the answer to send instead (413 / 408 / 400 `bad_frame`).
pub async fn json_object(
    body: HttpBody,
    headers: &HeaderMap,
    limits: BodyLimits,
) -> Result<Value, Response> {
    let bytes = read_body(body, headers, limits)
        .await
        .map_err(|r| r.response())?;
    serde_json::from_slice::<Value>(&bytes)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            http_error(
                StatusCode::BAD_REQUEST,
                "bad_frame",
                "the body must be a JSON object",
            )
        })
}

/// An HTML form's fields (`application/x-www-form-urlencoded`); unreadable text reads as
/// no fields.
pub async fn form(
    body: HttpBody,
    headers: &HeaderMap,
    limits: BodyLimits,
) -> Result<HashMap<String, String>, Response> {
    let bytes = read_body(body, headers, limits)
        .await
        .map_err(|r| r.response())?;
    Ok(serde_urlencoded::from_bytes(&bytes).unwrap_or_default())
}

/// 303 to `to` (a path on this site): where a form's answer goes.
pub fn see_other(to: &str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// `pairs` as a query string.
pub fn query(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}
