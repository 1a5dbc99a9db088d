//! `service=multirequest`: runs the numbered calls in index order with back-references.
//!
//! As `KalturaFrontController::handleMultiRequest`: calls are the numeric top-level keys
//! (`"0"`, `"1"`, … or `"1"`, `"2"`, …), run in ascending order until one lacks a service or
//! action; top-level `ks`, `partnerId`, `clientTag`, `apiVersion`, `language` and
//! `responseProfile` are copied into calls that lack them; a string `{N:result:a:b}`
//! (N = 1-based position of an earlier call) is replaced by that call's result at path
//! `a.b` (array indexes are numbers; a missing value or a failed call gives `""`), either as
//! a whole value (keeping its JSON type) or inside a longer string. Each call's error is
//! returned in its slot; the others still run.

use serde_json::{Map, Value};

use super::Shared;
use super::params::{self, Params};
use super::services;
use crate::ApiError;

const COMMON: &[&str] = &[
    "ks",
    "partnerId",
    "clientTag",
    "apiVersion",
    "language",
    "responseProfile",
];

/// Runs a multirequest.
pub(crate) fn run(shared: &Shared, params: &Params) -> Vec<Result<Value, ApiError>> {
    let mut calls: Vec<(i64, &Map<String, Value>)> = params
        .iter()
        .filter_map(|(k, v)| Some((k.parse::<i64>().ok()?, v.as_object()?)))
        .collect();
    calls.sort_by_key(|(i, _)| *i);
    let mut results: Vec<Result<Value, ApiError>> = Vec::with_capacity(calls.len());
    for (_, call) in calls {
        if params::non_empty(call.get("service")).is_none()
            || params::non_empty(call.get("action")).is_none()
        {
            break;
        }
        let mut call_params: Params = call.clone();
        for key in COMMON {
            if !call_params.contains_key(*key)
                && let Some(v) = params.get(*key)
            {
                call_params.insert((*key).to_owned(), v.clone());
            }
        }
        for v in call_params.values_mut() {
            replace_refs(v, &results);
        }
        results.push(services::execute(shared, &call_params));
    }
    results
}

/// Replaces back-references in every string inside `v`.
fn replace_refs(v: &mut Value, results: &[Result<Value, ApiError>]) {
    match v {
        Value::String(s) => {
            if let Some(new) = substitute(s, results) {
                *v = new;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| replace_refs(i, results)),
        Value::Object(m) => m.values_mut().for_each(|i| replace_refs(i, results)),
        _ => {}
    }
}

/// A parsed `{N:result:path}` token at `start..end` of the string.
struct Token<'a> {
    start: usize,
    end: usize,
    index: usize,
    path: Vec<&'a str>,
}

fn tokens(s: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(open) = s[pos..].find('{').map(|o| o + pos) {
        let Some(close) = s[open..].find('}').map(|c| c + open) else {
            break;
        };
        let inner = &s[open + 1..close];
        let mut parts = inner.split(':');
        let index = parts.next().and_then(|n| n.parse::<usize>().ok());
        if let (Some(index), Some("result")) = (index, parts.next()) {
            out.push(Token {
                start: open,
                end: close + 1,
                index,
                path: parts.collect(),
            });
            pos = close + 1;
        } else {
            pos = open + 1;
        }
    }
    out
}

fn resolve<'r>(results: &'r [Result<Value, ApiError>], token: &Token<'_>) -> Option<&'r Value> {
    let mut cur = results.get(token.index.checked_sub(1)?)?.as_ref().ok()?;
    for part in &token.path {
        cur = match cur {
            Value::Object(m) => m.get(*part)?,
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn as_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => if *b { "1" } else { "0" }.to_owned(),
        _ => String::new(),
    }
}

/// The replacement for a string containing back-references, if it has any.
fn substitute(s: &str, results: &[Result<Value, ApiError>]) -> Option<Value> {
    let toks = tokens(s);
    if toks.is_empty() {
        return None;
    }
    if toks.len() == 1 && toks[0].start == 0 && toks[0].end == s.len() {
        return Some(match resolve(results, &toks[0]) {
            Some(v) if !v.is_null() => v.clone(),
            _ => Value::String(String::new()),
        });
    }
    let mut out = String::new();
    let mut last = 0;
    for t in &toks {
        out.push_str(&s[last..t.start]);
        out.push_str(&as_text(resolve(results, t)));
        last = t.end;
    }
    out.push_str(&s[last..]);
    Some(Value::String(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn back_references_resolve_paths() {
        let results = vec![
            Ok(json!("djJ8KS")),
            Ok(json!({"objects": [{"id": "0_a", "duration": 12}], "totalCount": 1})),
            Err(ApiError::new("X", "y")),
        ];
        assert_eq!(substitute("{1:result}", &results), Some(json!("djJ8KS")));
        assert_eq!(
            substitute("{2:result:objects:0:id}", &results),
            Some(json!("0_a"))
        );
        assert_eq!(
            substitute("{2:result:objects:0:duration}", &results),
            Some(json!(12))
        );
        assert_eq!(substitute("{2:result:nope}", &results), Some(json!("")));
        assert_eq!(substitute("{3:result:id}", &results), Some(json!("")));
        assert_eq!(substitute("{9:result}", &results), Some(json!("")));
        assert_eq!(substitute("{0:result}", &results), Some(json!("")));
        assert_eq!(
            substitute(
                "id={2:result:objects:0:id}&d={2:result:objects:0:duration}",
                &results
            ),
            Some(json!("id=0_a&d=12"))
        );
        assert_eq!(substitute("{not a ref}", &results), None);
        assert_eq!(substitute("{{1:result}", &results), Some(json!("{djJ8KS")));
    }
}
