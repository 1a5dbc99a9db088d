//! Property ("fuzz") tests of the fake's input handling: parameter decoding and
//! back-reference substitution take any bytes without panicking, with output bounded by the
//! input, and the single-pass scanner agrees with a naive reference scanner.
//!
//! Cases default to a small budget so `cargo test` stays quick; a longer bounded run sets
//! `PROPTEST_CASES` (e.g. `PROPTEST_CASES=20000 cargo test -p kaltura-client --lib fake::fuzz`).
//! Any finding becomes a named regression test below.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::limits::json_size_within;
use super::multirequest::{Budget, Token, substitute, tokens};
use super::params::{self, decode};
use crate::ApiError;

/// `PROPTEST_CASES` when set, else `default_cases`; no failure files are written.
fn config(default_cases: u32) -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = default_cases;
    }
    c.failure_persistence = None;
    c
}

/// Strings over an alphabet that makes back-references and near misses likely.
fn ref_like() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just(":".to_owned()),
            Just(":result".to_owned()),
            Just("{1:result".to_owned()),
            Just("{2:result:".to_owned()),
            Just("objects".to_owned()),
            Just("0".to_owned()),
            Just("1".to_owned()),
            Just("99999999999999999999999".to_owned()),
            proptest::char::range('a', 'z').prop_map(String::from),
            any::<char>().prop_map(String::from),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

/// The grammar written the obvious (quadratic) way, as the oracle for [`tokens`].
fn naive_tokens(s: &str) -> Vec<(usize, usize, usize, Option<String>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let Some(rest) = s.get(i..) else {
            i += 1;
            continue;
        };
        if let Some(after) = rest.strip_prefix('{') {
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            if let (Ok(index), Some(tail)) = (
                digits.parse::<usize>(),
                after
                    .get(digits.len()..)
                    .and_then(|t| t.strip_prefix(":result")),
            ) {
                let consumed = 1 + digits.len() + ":result".len();
                if tail.starts_with('}') {
                    out.push((i, i + consumed + 1, index, None));
                    i += consumed + 1;
                    continue;
                }
                if let Some(path) = tail.strip_prefix(':')
                    && let Some(close) = path.find('}')
                {
                    let end = i + consumed + 1 + close + 1;
                    out.push((i, end, index, path.get(..close).map(str::to_owned)));
                    i = end;
                    continue;
                }
            }
        }
        i += rest.chars().next().map_or(1, char::len_utf8);
    }
    out
}

fn results() -> Vec<Result<Value, ApiError>> {
    vec![
        Ok(json!("abc")),
        Ok(json!({"objects": [{"id": "0_a", "name": "x".repeat(50)}], "totalCount": 1})),
        Err(ApiError::new("X", "y")),
    ]
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn scanner_matches_the_naive_reference(s in ref_like()) {
        let fast: Vec<_> = tokens(&s)
            .into_iter()
            .map(|Token { start, end, index, path }| (start, end, index, path.map(str::to_owned)))
            .collect();
        prop_assert_eq!(fast, naive_tokens(&s));
    }

    #[test]
    fn substitution_stays_within_its_budget(
        parts in proptest::collection::vec(ref_like(), 1..8),
        max in 0usize..400,
    ) {
        let results = results();
        let mut budget = Budget::new(max);
        let mut produced = 0usize;
        for s in &parts {
            match substitute(s, &results, &mut budget) {
                Ok(Some(v)) => {
                    let toks = tokens(s);
                    prop_assert!(!toks.is_empty());
                    // Literal text is the caller's; what references add is bounded.
                    let size = json_size_within(&v, usize::MAX).unwrap_or(usize::MAX);
                    produced = produced.saturating_add(size.saturating_sub(s.len() + 2));
                }
                Ok(None) => prop_assert!(tokens(s).is_empty()),
                Err(e) => prop_assert_eq!(e.code.as_str(), "MULTIREQUEST_EXPANSION_TOO_LARGE"),
            }
        }
        prop_assert!(produced <= max, "{} > {}", produced, max);
    }

    #[test]
    fn decoding_any_request_is_bounded(
        path in "(/[a-zA-Z0-9%_.:-]{0,12}){0,8}",
        query in proptest::option::of("[a-z0-9:=&%_+-]{0,80}"),
        content_type in prop_oneof![
            Just(None),
            Just(Some("application/json".to_owned())),
            Just(Some("application/x-www-form-urlencoded".to_owned())),
            Just(Some("multipart/form-data; boundary=B".to_owned())),
            "[ -~]{0,40}".prop_map(Some),
        ],
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            "[{}\\[\\]\":,a-z0-9 ]{0,300}".prop_map(String::into_bytes),
            "[a-z0-9:=&%_+-]{0,300}".prop_map(String::into_bytes),
            "(--B\r\n(Content-Disposition: form-data; name=\"json\"\r\n\r\n)?[{}\":a-z0-9]{0,40}\r\n){0,4}--B--"
                .prop_map(String::into_bytes),
        ],
    ) {
        let input = path.len() + query.as_ref().map_or(0, String::len) + body.len();
        let params = decode(&path, query.as_deref(), content_type.as_deref(), &body);
        // Every decoded byte comes from the input; nesting adds a bounded overhead per key.
        let bound = 16 * input + 64;
        prop_assert!(
            json_size_within(&Value::Object(params.clone()), bound).is_some(),
            "{} input bytes decoded to more than {} bytes: {:?}", input, bound, params
        );
        // The scalar readers accept whatever was decoded.
        for v in params.values() {
            let _ = (params::string(Some(v)), params::int(Some(v)), params::boolean(Some(v)));
            let _ = params::list(Some(v));
        }
    }

    #[test]
    fn flat_form_pairs_round_trip(
        pairs in proptest::collection::btree_map("[a-zA-Z][a-zA-Z0-9]{0,8}", proptest::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter), 0..8),
    ) {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter())
            .finish();
        let params = decode("/api_v3/", None, Some("application/x-www-form-urlencoded"), body.as_bytes());
        for (k, v) in &pairs {
            let expected = if k.ends_with("__null") { None } else { Some(v.as_str()) };
            prop_assert_eq!(params.get(k).and_then(Value::as_str), expected);
        }
    }
}

// --- regression tests for findings --------------------------------------------------------

#[test]
fn regression_an_unterminated_reference_path_stops_the_scan() {
    assert_eq!(tokens("{1:result:objects{2:result"), Vec::new());
    assert_eq!(naive_tokens("{1:result:objects{2:result"), Vec::new());
    // A `{` inside a path belongs to the path, as in the quadratic scanner it replaced.
    assert_eq!(
        tokens("{1:result:objects{1:result}")
            .first()
            .map(|t| t.path),
        Some(Some("objects{1:result"))
    );
}
