//! `elasticsearch_esearch.searchEntry`: a small, deterministic imitation of eSearch over the
//! entry catalog.
//!
//! * operators (`KalturaESearchEntryOperator`): AND=1, OR=2, NOT=3, nestable;
//! * items: `KalturaESearchUnifiedItem` (name, description, tags) and
//!   `KalturaESearchEntryItem` (`fieldName` `name`, `description`, `tags`, `reference_id`,
//!   `user_id`/`kuser_id`, `id`/`entry_id`, `created_at`, `updated_at`, `views`, `plays`,
//!   `duration`);
//! * item types: EXACT_MATCH=1 (whole value / one tag, case-insensitive), PARTIAL=2 (every
//!   word of the term appears), STARTS_WITH=3, EXISTS=4, RANGE=5 (`KalturaESearchRange`);
//! * highlights per field, matches wrapped in `<em>…</em>`; results ranked by number of
//!   matches then newest first, unless `orderBy` says otherwise; `objectIds`,
//!   `objectStatuses` and the pager are honoured.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Ctx, csv, list_response, page, pager, prop, prop_int, required_object};
use crate::ApiError;
use crate::fake::params::{self, Params};
use crate::fake::store::Object;

/// Matches found while evaluating one entry: field name → highlighted snippets.
type Hits = BTreeMap<&'static str, Vec<String>>;

/// `searchEntry(searchParams, pager)` → `KalturaESearchEntryResponse`.
pub(crate) fn search_entry(ctx: &mut Ctx<'_>, p: &Params) -> Result<Value, ApiError> {
    let sp = required_object(p, "searchParams")?;
    let operator = sp.get("searchOperator").filter(|v| v.is_object());
    let object_ids = params::non_empty(sp.get("objectIds"));
    let statuses = params::non_empty(sp.get("objectStatuses"));

    let mut results: Vec<(usize, &Object, Hits)> = Vec::new();
    for entry in ctx.store.entries.values() {
        if object_ids
            .as_deref()
            .is_some_and(|ids| !csv(ids).contains(&prop(entry, "id")))
        {
            continue;
        }
        if statuses.as_deref().is_some_and(|s| {
            !csv(s).contains(
                &prop_int(entry, "status")
                    .unwrap_or_default()
                    .to_string()
                    .as_str(),
            )
        }) {
            continue;
        }
        let mut hits = Hits::new();
        let matched = match operator {
            Some(op) => eval(op, entry, &mut hits, true),
            None => true,
        };
        if matched {
            let score = hits.values().map(Vec::len).sum();
            results.push((score, entry, hits));
        }
    }

    // Default: relevance, then newest first.
    results.sort_by(|a, b| {
        b.0.cmp(&a.0).then_with(|| {
            prop_int(b.1, "createdAt")
                .unwrap_or(0)
                .cmp(&prop_int(a.1, "createdAt").unwrap_or(0))
        })
    });
    let order_items = sp
        .get("orderBy")
        .and_then(Value::as_object)
        .map(|o| params::list(o.get("orderItems")))
        .unwrap_or_default();
    for item in order_items.iter().rev() {
        let field = item
            .get("sortField")
            .and_then(|v| params::string(Some(v)))
            .unwrap_or_default();
        let Some(prop_name) = sort_property(&field) else {
            continue;
        };
        let desc = item
            .get("sortOrder")
            .and_then(|v| params::string(Some(v)))
            .is_some_and(|o| o.eq_ignore_ascii_case("desc"));
        results.sort_by(|a, b| {
            let ord = compare(a.1.get(prop_name), b.1.get(prop_name));
            if desc { ord.reverse() } else { ord }
        });
    }

    let total = results.len();
    let objects = page(results, pager(p, "pager"))
        .into_iter()
        .map(|(_, entry, hits)| {
            let highlight: Vec<Value> = hits
                .into_iter()
                .map(|(field, snippets)| {
                    let hits: Vec<Value> = snippets
                        .into_iter()
                        .map(|s| json!({"value": s, "objectType": "KalturaString"}))
                        .collect();
                    json!({"fieldName": field, "hits": hits, "objectType": "KalturaESearchHighlight"})
                })
                .collect();
            json!({
                "object": Value::Object(entry.clone()),
                "highlight": highlight,
                "itemsData": [],
                "objectType": "KalturaESearchEntryResult"
            })
        })
        .collect();
    let mut response = list_response("KalturaESearchEntryResponse", objects, total);
    if let Some(o) = response.as_object_mut() {
        o.insert("aggregations".into(), json!([]));
    }
    Ok(response)
}

fn sort_property(field: &str) -> Option<&'static str> {
    Some(match field.to_ascii_lowercase().as_str() {
        "created_at" => "createdAt",
        "updated_at" => "updatedAt",
        "name" => "name",
        "views" => "views",
        "plays" => "plays",
        "duration" => "duration",
        "rank" => "rank",
        "votes" => "votes",
        "start_date" => "startDate",
        "end_date" => "endDate",
        _ => return None,
    })
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        _ => Ordering::Equal,
    }
}

/// Evaluates an operator or item against an entry. `collect` is false under NOT.
fn eval(node: &Value, entry: &Object, hits: &mut Hits, collect: bool) -> bool {
    let Some(obj) = node.as_object() else {
        return false;
    };
    let object_type = obj.get("objectType").and_then(Value::as_str).unwrap_or("");
    if object_type.contains("Operator") || obj.contains_key("searchItems") {
        let items = params::list(obj.get("searchItems"));
        let operator = params::int(obj.get("operator")).unwrap_or(1);
        return match operator {
            2 => {
                let mut any = false;
                for item in &items {
                    any |= eval(item, entry, hits, collect);
                }
                any
            }
            3 => items
                .iter()
                .all(|item| !eval(item, entry, &mut Hits::new(), false)),
            _ => {
                let mut local = Hits::new();
                let all = !items.is_empty()
                    && items
                        .iter()
                        .all(|item| eval(item, entry, &mut local, collect));
                if all && collect {
                    for (k, v) in local {
                        hits.entry(k).or_default().extend(v);
                    }
                }
                all
            }
        };
    }
    eval_item(obj, object_type, entry, hits, collect)
}

/// The entry fields an item searches, with the property each reads and whether it is a tag list.
fn item_fields(
    obj: &Map<String, Value>,
    object_type: &str,
) -> Vec<(&'static str, &'static str, Field)> {
    let field_name = params::string(obj.get("fieldName")).unwrap_or_default();
    if object_type == "KalturaESearchUnifiedItem"
        || (field_name.is_empty() && !object_type.contains("EntryItem"))
    {
        return vec![
            ("name", "name", Field::Text),
            ("description", "description", Field::Text),
            ("tags", "tags", Field::Tags),
        ];
    }
    let f = match field_name.to_ascii_lowercase().as_str() {
        "name" => ("name", "name", Field::Text),
        "description" => ("description", "description", Field::Text),
        "tags" => ("tags", "tags", Field::Tags),
        "reference_id" => ("reference_id", "referenceId", Field::Keyword),
        "user_id" | "kuser_id" => ("user_id", "userId", Field::Keyword),
        "creator_kuser_id" | "creator_id" => ("creator_id", "creatorId", Field::Keyword),
        "id" | "entry_id" => ("id", "id", Field::Keyword),
        "created_at" => ("created_at", "createdAt", Field::Number),
        "updated_at" => ("updated_at", "updatedAt", Field::Number),
        "views" => ("views", "views", Field::Number),
        "plays" => ("plays", "plays", Field::Number),
        "duration" => ("duration", "duration", Field::Number),
        _ => return Vec::new(),
    };
    vec![f]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Text,
    Tags,
    Keyword,
    Number,
}

fn eval_item(
    obj: &Map<String, Value>,
    object_type: &str,
    entry: &Object,
    hits: &mut Hits,
    collect: bool,
) -> bool {
    let item_type = params::int(obj.get("itemType")).unwrap_or(2);
    let term = params::string(obj.get("searchTerm")).unwrap_or_default();
    let term = term.trim();
    let mut matched = false;
    for (label, property, kind) in item_fields(obj, object_type) {
        let snippets: Option<Vec<String>> = match (item_type, kind) {
            (4, _) => match entry.get(property) {
                Some(Value::String(s)) if !s.is_empty() => Some(Vec::new()),
                Some(Value::Number(_)) => Some(Vec::new()),
                _ => None,
            },
            (5, _) => {
                range_match(obj.get("range"), params::int(entry.get(property))).then(Vec::new)
            }
            (_, Field::Number) => (params::int(entry.get(property))
                .map(|v| v.to_string())
                .as_deref()
                == Some(term))
            .then(Vec::new),
            (_, Field::Tags) => {
                let found: Vec<String> = csv(prop(entry, property))
                    .into_iter()
                    .filter_map(|tag| text_match(tag, term, item_type))
                    .collect();
                (!found.is_empty()).then_some(found)
            }
            (_, Field::Keyword) => {
                let value = prop(entry, property);
                (!term.is_empty() && fold(value) == fold(term))
                    .then(|| vec![format!("<em>{value}</em>")])
            }
            (_, Field::Text) => text_match(prop(entry, property), term, item_type).map(|s| vec![s]),
        };
        if let Some(s) = snippets {
            matched = true;
            if collect && !s.is_empty() {
                hits.entry(label).or_default().extend(s);
            }
        }
    }
    matched
}

fn range_match(range: Option<&Value>, value: Option<i64>) -> bool {
    let (Some(range), Some(v)) = (range.and_then(Value::as_object), value) else {
        return false;
    };
    let bound = |name: &str| params::int(range.get(name));
    bound("greaterThanOrEqual").is_none_or(|b| v >= b)
        && bound("lessThanOrEqual").is_none_or(|b| v <= b)
        && bound("greaterThan").is_none_or(|b| v > b)
        && bound("lessThan").is_none_or(|b| v < b)
}

/// Case folding that keeps one char per char, so positions map back to the original text.
fn fold_chars(s: &str) -> Vec<char> {
    s.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

fn fold(s: &str) -> String {
    fold_chars(s).into_iter().collect()
}

/// Matches `term` against `text` for an item type, returning the highlighted text.
fn text_match(text: &str, term: &str, item_type: i64) -> Option<String> {
    if term.is_empty() || text.is_empty() {
        return None;
    }
    let t = fold_chars(text);
    let n = fold_chars(term);
    let chars: Vec<char> = text.chars().collect();
    match item_type {
        1 => (t == n).then(|| format!("<em>{text}</em>")),
        3 => {
            if !t.starts_with(&n) {
                return None;
            }
            let (head, tail) = chars.split_at_checked(n.len())?;
            let head: String = head.iter().collect();
            let tail: String = tail.iter().collect();
            Some(format!("<em>{head}</em>{tail}"))
        }
        _ => {
            let words: Vec<Vec<char>> = term.split_whitespace().map(fold_chars).collect();
            let mut marks = vec![false; chars.len()];
            for w in &words {
                let positions = find_all(&t, w);
                if positions.is_empty() {
                    return None;
                }
                for p in positions {
                    if let Some(span) = marks.get_mut(p..p + w.len()) {
                        span.iter_mut().for_each(|m| *m = true);
                    }
                }
            }
            Some(highlight(&chars, &marks))
        }
    }
}

fn find_all(hay: &[char], needle: &[char]) -> Vec<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return Vec::new();
    }
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

fn highlight(chars: &[char], marks: &[bool]) -> String {
    let mut out = String::new();
    let mut open = false;
    for (c, m) in chars.iter().zip(marks) {
        if *m && !open {
            out.push_str("<em>");
            open = true;
        } else if !*m && open {
            out.push_str("</em>");
            open = false;
        }
        out.push(*c);
    }
    if open {
        out.push_str("</em>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_marks_every_word() {
        assert_eq!(
            text_match("Funny Cats and more cats", "cats", 2).as_deref(),
            Some("Funny <em>Cats</em> and more <em>cats</em>")
        );
        assert_eq!(text_match("Funny Cats", "cats dogs", 2), None);
        assert_eq!(
            text_match("Funny Cats", "funny", 3).as_deref(),
            Some("<em>Funny</em> Cats")
        );
        assert_eq!(
            text_match("Funny Cats", "funny cats", 1).as_deref(),
            Some("<em>Funny Cats</em>")
        );
        assert_eq!(
            text_match("Ünïcode ÄÖ", "äö", 2).as_deref(),
            Some("Ünïcode <em>ÄÖ</em>")
        );
    }
}
