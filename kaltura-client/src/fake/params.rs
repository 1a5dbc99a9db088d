//! Request decoding: turns an HTTP request into one JSON object of parameters, the way
//! Kaltura's `infraRequestUtils::getRequestParams` and `KalturaRequestDeserializer` do.
//!
//! Sources, lowest precedence first:
//!
//! 1. the query string (`filter:nameLike=x` style keys, `:` nesting);
//! 2. the body: parsed as JSON **only** when the lower-cased `Content-Type` is exactly
//!    `application/json` and the trimmed body starts with `{`; a `multipart/form-data` body
//!    contributes its `json` field; an `application/x-www-form-urlencoded` body is decoded like
//!    the query string; anything else (including JSON that does not parse) is ignored, as
//!    the real server does;
//! 3. `/key/value` pairs in the path after `/api_v3/`, which override everything.
//!
//! Form keys nest on `:` (`items:0:service=media` → `{"items":{"0":{"service":"media"}}}`),
//! `key:-=` is an empty array and `key__null=` is `null`. Arrays sent that way are objects with
//! numeric keys; [`list`] reads both shapes.
//!
//! The helpers [`string`], [`int`] and [`boolean`] read scalars the way PHP casts them, so
//! the Python client's all-strings requests and the Node client's numbers both work.

use serde_json::{Map, Value};

/// Deepest `:` nesting accepted from form keys; deeper parts stay in the last key verbatim.
/// Bounds recursion in everything that walks the decoded value.
const MAX_FORM_DEPTH: usize = 16;

/// Decoded request parameters.
pub(crate) type Params = Map<String, Value>;

/// Decodes all parameters of a request. Never fails: what cannot be decoded is ignored.
pub(crate) fn decode(
    path: &str,
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> Params {
    let mut params = Params::new();
    if let Some(q) = query {
        merge_form(&mut params, q.as_bytes());
    }
    merge_body(&mut params, content_type, body);
    for (k, v) in path_pairs(path) {
        insert_nested(&mut params, &k, Value::String(v));
    }
    params
}

fn merge_body(params: &mut Params, content_type: Option<&str>, body: &[u8]) {
    let ct = content_type.unwrap_or("").trim().to_ascii_lowercase();
    if ct == "application/json" {
        let text = String::from_utf8_lossy(body);
        let trimmed = text.trim();
        if trimmed.starts_with('{') {
            match serde_json::from_str::<Value>(trimmed) {
                Ok(Value::Object(map)) => merge_json(params, map),
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "fake kaltura: ignoring unparsable JSON body")
                }
            }
        }
    } else if ct.starts_with("application/x-www-form-urlencoded") {
        merge_form(params, body);
    } else if ct.starts_with("multipart/form-data")
        && let Some(json) = multipart_json_field(&ct, content_type.unwrap_or(""), body)
        && let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(json.trim_ascii())
    {
        merge_json(params, map);
    }
}

/// Top-level JSON keys replace what the query string set (like PHP's `array_merge`).
fn merge_json(params: &mut Params, map: Map<String, Value>) {
    for (k, v) in map {
        params.insert(k, v);
    }
}

/// Decodes `a=1&b:c=2` (query string or form body) into `params`.
fn merge_form(params: &mut Params, raw: &[u8]) {
    for (k, v) in url::form_urlencoded::parse(raw) {
        if k.is_empty() {
            continue;
        }
        insert_flat(params, &k, v.into_owned());
    }
}

/// Inserts one flat form pair, handling `__null` and `:-`.
fn insert_flat(params: &mut Params, key: &str, value: String) {
    if let Some(base) = key.strip_suffix("__null") {
        if !base.is_empty() {
            insert_nested(params, base, Value::Null);
        }
    } else if let Some(base) = key.strip_suffix(":-") {
        if !base.is_empty() {
            insert_nested(params, base, Value::Array(Vec::new()));
        }
    } else {
        insert_nested(params, key, Value::String(value));
    }
}

/// Inserts `value` under a `:`-separated key path, creating objects as needed.
pub(crate) fn insert_nested(params: &mut Params, key: &str, value: Value) {
    let mut parts: Vec<&str> = key.splitn(MAX_FORM_DEPTH, ':').collect();
    let last = parts.pop().unwrap_or(key);
    let mut cur = params;
    for part in parts {
        let slot = cur
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        match slot {
            Value::Object(m) => cur = m,
            _ => return,
        }
    }
    cur.insert(last.to_owned(), value);
}

/// The `/key/value` pairs of the path after `/api_v3/` (an `index.php` segment is skipped).
/// A trailing key without a value is ignored.
pub(crate) fn path_pairs(path: &str) -> Vec<(String, String)> {
    let rest = path.trim_start_matches('/');
    let rest = rest.strip_prefix("api_v3").unwrap_or(rest);
    let mut segs = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .filter(|s| s != "index.php");
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (segs.next(), segs.next()) {
        out.push((k, v));
    }
    out
}

/// Percent-decodes a path segment (invalid escapes are kept verbatim, bad UTF-8 is replaced).
fn percent_decode(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%'
            && let [h, l, after @ ..] = tail
            && let (Some(h), Some(l)) = (hex_val(*h), hex_val(*l))
        {
            out.push(h * 16 + l);
            rest = after;
            continue;
        }
        out.push(b);
        rest = tail;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Extracts the `json` field of a `multipart/form-data` body (what the official clients send
/// when they upload files).
fn multipart_json_field<'a>(ct_lower: &str, ct_orig: &str, body: &'a [u8]) -> Option<&'a [u8]> {
    let idx = ct_lower.find("boundary=")?;
    let boundary = ct_orig.get(idx + "boundary=".len()..)?;
    let boundary = boundary.split(';').next()?.trim().trim_matches('"');
    if boundary.is_empty() {
        return None;
    }
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    let mut pos = 0;
    while let Some(start) = body.get(pos..).and_then(|b| find(b, delim)) {
        let part_start = pos + start + delim.len();
        let next = body
            .get(part_start..)
            .and_then(|b| find(b, delim))
            .map(|n| part_start + n)?;
        let part = body.get(part_start..next)?;
        let header_end = find(part, b"\r\n\r\n")?;
        let (head, content) = part.split_at_checked(header_end)?;
        let headers = String::from_utf8_lossy(head).to_ascii_lowercase();
        if headers.contains("name=\"json\"") {
            let content = content.get(4..)?;
            return Some(content.strip_suffix(b"\r\n").unwrap_or(content));
        }
        pos = next;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A scalar parameter as a string: strings as-is, numbers in decimal, booleans `1`/`0`.
/// `null`, objects and arrays give `None`.
pub(crate) fn string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
        _ => None,
    }
}

/// A scalar parameter as a non-empty string.
pub(crate) fn non_empty(v: Option<&Value>) -> Option<String> {
    string(v).filter(|s| !s.is_empty())
}

/// A scalar parameter as an integer (`"42"`, `42`, `42.0`, `true`). Unparsable → `None`.
pub(crate) fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => {
            let t = s.trim();
            t.parse::<i64>().ok().or_else(|| {
                t.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            })
        }
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// A scalar parameter as a boolean, PHP style: `"false"`, `"0"`, `""`, `0`, `false` are false,
/// any other scalar is true. `null`/absent → `None`.
pub(crate) fn boolean(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_f64().is_some_and(|f| f != 0.0)),
        Value::String(s) => {
            let t = s.trim();
            Some(!(t.is_empty() || t == "0" || t.eq_ignore_ascii_case("false")))
        }
        _ => None,
    }
}

/// An array parameter: a JSON array, or an object with numeric keys (form encoding) in key
/// order. Anything else is an empty list.
pub(crate) fn list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Object(m)) => {
            let mut items: Vec<(i64, &Value)> = m
                .iter()
                .filter_map(|(k, v)| k.parse::<i64>().ok().map(|i| (i, v)))
                .collect();
            items.sort_by_key(|(i, _)| *i);
            items.into_iter().map(|(_, v)| v).collect()
        }
        _ => Vec::new(),
    }
}

/// An object parameter (`None` for anything else).
pub(crate) fn object(v: Option<&Value>) -> Option<&Map<String, Value>> {
    v.and_then(Value::as_object)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dec(path: &str, query: Option<&str>, ct: Option<&str>, body: &str) -> Value {
        Value::Object(decode(path, query, ct, body.as_bytes()))
    }

    #[test]
    fn json_body_needs_exact_content_type() {
        let body = r#"{"entryId":"0_a","pager":{"pageSize":5}}"#;
        assert_eq!(
            dec(
                "/api_v3/service/media/action/get",
                None,
                Some("Application/JSON"),
                body
            ),
            json!({"entryId":"0_a","pager":{"pageSize":5},"service":"media","action":"get"})
        );
        assert_eq!(
            dec(
                "/api_v3/service/media/action/get",
                None,
                Some("application/json; charset=utf-8"),
                body
            ),
            json!({"service":"media","action":"get"})
        );
    }

    #[test]
    fn json_body_must_start_with_brace_and_parse() {
        assert_eq!(
            dec("/api_v3/", None, Some("application/json"), " [1,2]"),
            json!({})
        );
        assert_eq!(
            dec("/api_v3/", None, Some("application/json"), "{not json"),
            json!({})
        );
        assert_eq!(
            dec("/api_v3/", None, Some("application/json"), "  {\"a\":1} \n"),
            json!({"a":1})
        );
    }

    #[test]
    fn form_nesting_null_and_empty_array() {
        let v = dec(
            "/api_v3/service/media/action/list",
            None,
            Some("application/x-www-form-urlencoded"),
            "filter:nameLike=cat+videos&filter:objectType=KalturaMediaEntryFilter&items:0:id=a&items:1:id=b&tags:-=&desc__null=",
        );
        assert_eq!(
            v,
            json!({
                "filter": {"nameLike": "cat videos", "objectType": "KalturaMediaEntryFilter"},
                "items": {"0": {"id": "a"}, "1": {"id": "b"}},
                "tags": [],
                "desc": null,
                "service": "media",
                "action": "list"
            })
        );
        let items = list(v.get("items"));
        assert_eq!(items.len(), 2);
        assert_eq!(items[1]["id"], "b");
    }

    #[test]
    fn path_overrides_body_which_overrides_query() {
        let v = dec(
            "/api_v3/service/media/action/get/entryId/0_path",
            Some("entryId=0_query&ks=q&format=1"),
            Some("application/json"),
            r#"{"entryId":"0_body","ks":"b"}"#,
        );
        assert_eq!(v["entryId"], "0_path");
        assert_eq!(v["ks"], "b");
        assert_eq!(v["format"], "1");
    }

    #[test]
    fn path_pairs_skip_index_php_and_decode() {
        assert_eq!(
            path_pairs("/api_v3/index.php/service/media/action/get/entryId/0%5Fa/dangling"),
            vec![
                ("service".to_owned(), "media".to_owned()),
                ("action".to_owned(), "get".to_owned()),
                ("entryId".to_owned(), "0_a".to_owned())
            ]
        );
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn deep_form_keys_are_bounded() {
        let key = "a:".repeat(10_000) + "b";
        let body = format!("{key}=1");
        let v = dec(
            "/api_v3/",
            None,
            Some("application/x-www-form-urlencoded"),
            &body,
        );
        let mut depth = 0;
        let mut cur = &v;
        while let Some(next) = cur.as_object().and_then(|m| m.values().next()) {
            depth += 1;
            cur = next;
        }
        assert!(depth <= MAX_FORM_DEPTH);
    }

    #[test]
    fn multipart_json_field_is_read() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"json\"\r\n\r\n{\"entryId\":\"0_m\"}\r\n--XyZ\r\nContent-Disposition: form-data; name=\"fileData\"; filename=\"a.bin\"\r\n\r\nabc\r\n--XyZ--\r\n";
        let v = dec(
            "/api_v3/",
            None,
            Some("multipart/form-data; boundary=XyZ"),
            body,
        );
        assert_eq!(v, json!({"entryId":"0_m"}));
    }

    #[test]
    fn scalars_accept_strings_and_numbers() {
        assert_eq!(int(Some(&json!("42"))), Some(42));
        assert_eq!(int(Some(&json!(42))), Some(42));
        assert_eq!(int(Some(&json!(" 7.0 "))), Some(7));
        assert_eq!(int(Some(&json!("x"))), None);
        assert_eq!(boolean(Some(&json!("false"))), Some(false));
        assert_eq!(boolean(Some(&json!("0"))), Some(false));
        assert_eq!(boolean(Some(&json!(""))), Some(false));
        assert_eq!(boolean(Some(&json!("yes"))), Some(true));
        assert_eq!(boolean(Some(&json!(1))), Some(true));
        assert_eq!(string(Some(&json!(12345))), Some("12345".to_owned()));
        assert_eq!(string(Some(&json!({}))), None);
    }
}
