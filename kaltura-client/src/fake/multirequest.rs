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

use super::params::{self, Params};
use super::services;
use super::{Shared, errors};
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
    let mut budget = Budget::new(shared.limits.expansion_bytes());
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
        let substituted = call_params
            .values_mut()
            .try_for_each(|v| replace_refs(v, &results, &mut budget));
        results.push(match substituted {
            Ok(()) => services::execute(shared, &call_params),
            Err(e) => Err(e),
        });
    }
    results
}

/// What back-reference substitution may still produce in this multirequest (bytes).
#[derive(Debug)]
pub(crate) struct Budget {
    left: usize,
    max: usize,
}

impl Budget {
    pub(crate) fn new(max: usize) -> Budget {
        Budget { left: max, max }
    }

    fn take(&mut self, bytes: usize) -> Result<(), ApiError> {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => {
                self.left = 0;
                Err(self.exceeded())
            }
        }
    }

    fn exceeded(&self) -> ApiError {
        errors::multirequest_expansion_too_large(&self.max.to_string())
    }
}

/// Replaces back-references in every string inside `v`, within `budget`.
pub(crate) fn replace_refs(
    v: &mut Value,
    results: &[Result<Value, ApiError>],
    budget: &mut Budget,
) -> Result<(), ApiError> {
    match v {
        Value::String(s) => {
            if let Some(new) = substitute(s, results, budget)? {
                *v = new;
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|i| replace_refs(i, results, budget)),
        Value::Object(m) => m
            .values_mut()
            .try_for_each(|i| replace_refs(i, results, budget)),
        _ => Ok(()),
    }
}

/// A parsed `{N:result:path}` token at `start..end` of the string.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) index: usize,
    /// The `:`-separated path after `result` (`""` parts are kept, as the real server does).
    pub(crate) path: Option<&'a str>,
}

/// Finds the `{N:result[:path]}` tokens of `s` in one left-to-right pass: `N` is one or more
/// ASCII digits, `path` runs to the next `}`. Each byte is looked at a bounded number of
/// times, so the cost is linear in `s.len()` however many `{` it holds.
pub(crate) fn tokens(s: &str) -> Vec<Token<'_>> {
    const RESULT: &str = ":result";
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(open) = s.get(pos..).and_then(|r| r.find('{')).map(|o| o + pos) {
        let after = open + 1;
        let rest = s.get(after..).unwrap_or_default();
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        // Tokens start with `{`, which is no digit: resuming after the digits skips nothing.
        pos = after + digits;
        let Some(index) = rest
            .get(..digits)
            .filter(|d| !d.is_empty())
            .and_then(|d| d.parse::<usize>().ok())
        else {
            continue;
        };
        let Some(tail) = rest.get(digits..).and_then(|r| r.strip_prefix(RESULT)) else {
            continue;
        };
        let tail_at = pos + RESULT.len();
        if tail.starts_with('}') {
            out.push(Token {
                start: open,
                end: tail_at + 1,
                index,
                path: None,
            });
            pos = tail_at + 1;
        } else if let Some(path_and_more) = tail.strip_prefix(':') {
            // No `}` left means no token can follow either: stop.
            let Some(close) = path_and_more.find('}') else {
                break;
            };
            let path = path_and_more.get(..close).unwrap_or_default();
            let end = tail_at + 1 + close + 1;
            out.push(Token {
                start: open,
                end,
                index,
                path: Some(path),
            });
            pos = end;
        } else {
            pos = tail_at;
        }
    }
    out
}

fn resolve<'r>(results: &'r [Result<Value, ApiError>], token: &Token<'_>) -> Option<&'r Value> {
    let mut cur = results.get(token.index.checked_sub(1)?)?.as_ref().ok()?;
    for part in token.path.into_iter().flat_map(|p| p.split(':')) {
        cur = match cur {
            Value::Object(m) => m.get(part)?,
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn push_text(out: &mut String, v: Option<&Value>) {
    match v {
        Some(Value::String(s)) => out.push_str(s),
        Some(Value::Number(n)) => out.push_str(&n.to_string()),
        Some(Value::Bool(b)) => out.push(if *b { '1' } else { '0' }),
        _ => {}
    }
}

/// The replacement for a string containing back-references, if it has any; an error when
/// the replacement would pass the `budget`.
pub(crate) fn substitute(
    s: &str,
    results: &[Result<Value, ApiError>],
    budget: &mut Budget,
) -> Result<Option<Value>, ApiError> {
    let toks = tokens(s);
    if let [only] = toks.as_slice()
        && only.start == 0
        && only.end == s.len()
    {
        let value = match resolve(results, only) {
            Some(v) if !v.is_null() => {
                let size = crate::fake::limits::json_size_within(v, budget.left)
                    .ok_or_else(|| budget.exceeded())?;
                budget.take(size)?;
                v.clone()
            }
            _ => Value::String(String::new()),
        };
        return Ok(Some(value));
    }
    if toks.is_empty() {
        return Ok(None);
    }
    let mut out = String::new();
    let mut last = 0;
    for t in &toks {
        out.push_str(s.get(last..t.start).unwrap_or_default());
        let before = out.len();
        push_text(&mut out, resolve(results, t));
        budget.take(out.len() - before)?;
        last = t.end;
    }
    out.push_str(s.get(last..).unwrap_or_default());
    Ok(Some(Value::String(out)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sub(s: &str, results: &[Result<Value, ApiError>]) -> Option<Value> {
        substitute(s, results, &mut Budget::new(usize::MAX)).unwrap()
    }

    #[test]
    fn back_references_resolve_paths() {
        let results = vec![
            Ok(json!("djJ8KS")),
            Ok(json!({"objects": [{"id": "0_a", "duration": 12}], "totalCount": 1})),
            Err(ApiError::new("X", "y")),
        ];
        assert_eq!(sub("{1:result}", &results), Some(json!("djJ8KS")));
        assert_eq!(sub("{2:result:objects:0:id}", &results), Some(json!("0_a")));
        assert_eq!(
            sub("{2:result:objects:0:duration}", &results),
            Some(json!(12))
        );
        assert_eq!(sub("{2:result:nope}", &results), Some(json!("")));
        assert_eq!(sub("{3:result:id}", &results), Some(json!("")));
        assert_eq!(sub("{9:result}", &results), Some(json!("")));
        assert_eq!(sub("{0:result}", &results), Some(json!("")));
        assert_eq!(
            sub(
                "id={2:result:objects:0:id}&d={2:result:objects:0:duration}",
                &results
            ),
            Some(json!("id=0_a&d=12"))
        );
        assert_eq!(sub("{not a ref}", &results), None);
        assert_eq!(sub("{{1:result}", &results), Some(json!("{djJ8KS")));
        assert_eq!(
            sub("{1:result{1:result}", &results),
            Some(json!("{1:resultdjJ8KS"))
        );
        assert_eq!(
            sub("{1:resultx}{1:result}", &results),
            Some(json!("{1:resultx}djJ8KS"))
        );
        assert_eq!(sub("{1:result:a{1:result}", &results), Some(json!("")));
        assert_eq!(sub("{99999999999999999999999:result}", &results), None);
        assert_eq!(sub("{1:result:", &results), None);
    }

    #[test]
    fn expansion_is_bounded() {
        let results = vec![Ok(json!("x".repeat(1000)))];
        let mut budget = Budget::new(2500);
        assert!(substitute("{1:result}{1:result}", &results, &mut budget).is_ok());
        let err = substitute("{1:result}", &results, &mut budget).unwrap_err();
        assert_eq!(err.code.as_str(), "MULTIREQUEST_EXPANSION_TOO_LARGE");
        assert_eq!(err.args.get("MAX_BYTES").map(String::as_str), Some("2500"));
        // Whole values count their JSON size.
        let results = vec![Ok(json!({"objects": ["y".repeat(3000)]}))];
        let err = substitute("{1:result}", &results, &mut Budget::new(2500)).unwrap_err();
        assert_eq!(err.code.as_str(), "MULTIREQUEST_EXPANSION_TOO_LARGE");
    }

    #[test]
    fn scanning_braces_is_linear() {
        // 1 MB of `{` (and near-misses) is scanned in one pass: no token, no quadratic work.
        let braces = "{".repeat(1 << 20);
        assert!(tokens(&braces).is_empty());
        let near = "{1:resul".repeat(1 << 17);
        assert!(tokens(&near).is_empty());
        let digits = format!("{{{}", "1".repeat(1 << 20));
        assert!(tokens(&digits).is_empty());
    }
}
