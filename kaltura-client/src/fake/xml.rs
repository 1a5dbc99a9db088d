//! The `format=2` (XML) serializer, shaped the way the official Python client reads it.
//!
//! ```xml
//! <?xml version="1.0" encoding="utf-8"?><xml><result>…</result><executionTime>0.001</executionTime></xml>
//! ```
//!
//! * an object is one child element per property (nulls omitted), `<objectType>` last;
//! * an array is one `<item>` per element;
//! * a string or number is the escaped text; booleans are `1`/`0`;
//! * an error is `<error><code/><message/><objectType>KalturaAPIException</objectType><args><item>
//!   <objectType>KalturaApiExceptionArg</objectType><name/><value/></item></args></error>`;
//! * a multirequest result is one `<item>` per call, each holding a result or an `<error>`.
//!
//! Property names that are not valid XML names are skipped; characters XML 1.0 cannot carry
//! (control characters other than tab, CR and LF) are dropped from text.

use serde_json::Value;

use crate::ApiError;

/// Renders a whole XML response document around `result_inner` (already serialized).
pub(crate) fn document(result_inner: &str, execution_time: f64) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><xml><result>{result_inner}</result><executionTime>{execution_time:.6}</executionTime></xml>"
    )
}

/// Serializes the content of a `<result>` (or multirequest `<item>`) for one call outcome.
pub(crate) fn outcome(out: &mut String, outcome: &Result<Value, ApiError>) {
    match outcome {
        Ok(v) => value(out, v),
        Err(e) => error(out, e),
    }
}

/// Serializes an error as `<error>…</error>`.
pub(crate) fn error(out: &mut String, e: &ApiError) {
    out.push_str("<error><code>");
    escape_into(out, e.code.as_str());
    out.push_str("</code><message>");
    escape_into(out, &e.message);
    out.push_str("</message><objectType>KalturaAPIException</objectType><args>");
    for (name, val) in &e.args {
        out.push_str("<item><objectType>KalturaApiExceptionArg</objectType><name>");
        escape_into(out, name);
        out.push_str("</name><value>");
        escape_into(out, val);
        out.push_str("</value></item>");
    }
    out.push_str("</args></error>");
}

/// Serializes the content of an element holding `v`.
pub(crate) fn value(out: &mut String, v: &Value) {
    match v {
        Value::Null => {}
        Value::Bool(b) => out.push(if *b { '1' } else { '0' }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => escape_into(out, s),
        Value::Array(items) => {
            for item in items {
                if item.is_null() {
                    continue;
                }
                out.push_str("<item>");
                value(out, item);
                out.push_str("</item>");
            }
        }
        Value::Object(map) => {
            // Kaltura writes `objectType` after the other properties.
            let props = map.iter().filter(|(k, _)| *k != "objectType");
            for (k, v) in props.chain(map.get_key_value("objectType")) {
                if v.is_null() || !is_xml_name(k) {
                    continue;
                }
                out.push('<');
                out.push_str(k);
                out.push('>');
                value(out, v);
                out.push_str("</");
                out.push_str(k);
                out.push('>');
            }
        }
    }
}

/// Whether `name` can be used as an element name (ASCII subset of XML names, no `xml` prefix
/// games: Kaltura property names are plain identifiers).
fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Appends `text` XML-escaped, dropping characters XML 1.0 cannot represent.
pub(crate) fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(v: &Value) -> String {
        let mut s = String::new();
        value(&mut s, v);
        s
    }

    #[test]
    fn objects_arrays_scalars() {
        let v = json!({
            "objects": [{"id": "0_a", "name": "A & <B>", "status": 2, "isAdmin": true, "gone": null, "objectType": "KalturaMediaEntry"}],
            "totalCount": 1,
            "objectType": "KalturaMediaListResponse"
        });
        assert_eq!(
            render(&v),
            "<objects><item><id>0_a</id><isAdmin>1</isAdmin><name>A &amp; &lt;B&gt;</name><status>2</status><objectType>KalturaMediaEntry</objectType></item></objects><totalCount>1</totalCount><objectType>KalturaMediaListResponse</objectType>"
        );
        assert_eq!(render(&json!("djJ8")), "djJ8");
        assert_eq!(render(&Value::Null), "");
        assert_eq!(render(&json!(false)), "0");
    }

    #[test]
    fn invalid_names_and_control_chars_are_dropped() {
        assert_eq!(
            render(&json!({"a b": 1, "1x": 2, "ok": "x\u{1}y"})),
            "<ok>xy</ok>"
        );
    }

    #[test]
    fn errors_and_document() {
        let e = ApiError::new("ENTRY_ID_NOT_FOUND", "Entry id \"0_nope\" not found")
            .with_arg("ENTRY_ID", "0_nope");
        let mut s = String::new();
        outcome(&mut s, &Err(e));
        assert_eq!(
            s,
            "<error><code>ENTRY_ID_NOT_FOUND</code><message>Entry id &quot;0_nope&quot; not found</message><objectType>KalturaAPIException</objectType><args><item><objectType>KalturaApiExceptionArg</objectType><name>ENTRY_ID</name><value>0_nope</value></item></args></error>"
        );
        let doc = document("x", 0.001);
        assert_eq!(
            doc,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><xml><result>x</result><executionTime>0.001000</executionTime></xml>"
        );
    }
}
