//! Message search: what a person types to find messages by their payload.
//!
//! A search is a list of terms, all of which must match:
//! - `path = value` compares one payload field: `customer.id = "cus_1"`, `amount = 4200`,
//!   `paid = true`. The path is keys joined by dots; a key followed by `[]` is an array any of
//!   whose elements may match (`lines[].sku = "plan-pro"`). The value is JSON (a quoted
//!   string, a number, `true`, `false`, `null`) or a bare word, read as a string.
//! - Anything else is text, matched against the payload's string and number values word for
//!   word, as a web search reads it: `"two words"` for a phrase, `-word` to exclude, `or`.
//!
//! The fields become one JSON document the payload must contain (PostgreSQL's `@>`), the text
//! one full-text query; both are answered from GIN indexes (see the migration
//! `…_message_search.sql`), never by reading every payload.
use serde_json::{Map, Value};

/// The longest search accepted, in bytes.
pub const MAX_LEN: usize = 500;
/// The most `path = value` terms in one search.
pub const MAX_FIELDS: usize = 16;

/// A parsed search.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Search {
    /// The JSON the payload must contain (the `path = value` terms), if any.
    pub contains: Option<Value>,
    /// The words to match (PostgreSQL's `websearch_to_tsquery` syntax), if any.
    pub text: Option<String>,
}

/// Why a search cannot be run, in words for the person who typed it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SearchError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, SearchError> {
    Err(SearchError(msg.into()))
}

/// A key's characters: anything but blanks, dots, quotes, brackets and comparison signs.
fn key_char(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '.' | '"' | '[' | ']' | '=' | '!' | '<' | '>')
}

/// One segment of a path: a key, and whether it names an array (`key[]`).
type Segment = (String, bool);

/// Reads a path (`a.b[].c`) at the start of `s`; `None` when `s` does not start with one.
/// Returns the segments and the rest.
fn path(s: &str) -> Option<(Vec<Segment>, &str)> {
    if s.starts_with('-') {
        return None; // an excluded word, not a field
    }
    let mut segments = Vec::new();
    let mut rest = s;
    loop {
        let end = rest.find(|c: char| !key_char(c)).unwrap_or(rest.len());
        if end == 0 {
            return None;
        }
        let key = rest[..end].to_string();
        rest = &rest[end..];
        let array = rest.starts_with("[]");
        if array {
            rest = &rest[2..];
        }
        segments.push((key, array));
        match rest.strip_prefix('.') {
            Some(r) => rest = r,
            None => return Some((segments, rest)),
        }
    }
}

/// Reads a value at the start of `s` (after the comparison sign): JSON, or a bare word as a
/// string. Returns the value and the rest.
fn value<'a>(s: &'a str, shown: &str) -> Result<(Value, &'a str), SearchError> {
    if s.starts_with('"') {
        // the closing quote is the first one not escaped
        let mut escaped = false;
        for (i, c) in s.char_indices().skip(1) {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    let v = serde_json::from_str(&s[..=i]).or_else(|_| {
                        err(format!(
                            "the value compared with {shown} is not a valid quoted string"
                        ))
                    })?;
                    return Ok((v, &s[i + 1..]));
                }
                _ => escaped = false,
            }
        }
        return err(format!("the value compared with {shown} has no closing quote"));
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    let word = &s[..end];
    if word.is_empty() {
        return err(format!(
            "{shown} = needs a value, such as {shown} = \"some text\" or {shown} = 42"
        ));
    }
    if word.contains(['=', '<', '>']) {
        return err(format!(
            "the value compared with {shown} ({word}) has a comparison sign in it; put a space between \
             two comparisons, or quote a value that has one"
        ));
    }
    let v = match serde_json::from_str::<Value>(word) {
        Ok(Value::Number(n)) if n.is_f64() && word.chars().filter(char::is_ascii_digit).count() > 15 => {
            return err(format!(
                "{word} has more digits than a number can be compared with exactly; quote it if it is text"
            ))
        }
        Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => v,
        _ => Value::String(word.to_string()),
    };
    Ok((v, &s[end..]))
}

/// `{"a": {"b": [ {"c": v} ]}}` for the path `a.b[].c`.
fn nest(segments: &[Segment], v: Value) -> Value {
    segments.iter().rev().fold(v, |inner, (key, array)| {
        let inner = if *array { Value::Array(vec![inner]) } else { inner };
        Value::Object(Map::from_iter([(key.clone(), inner)]))
    })
}

/// Adds `more` to `into`: objects merge key by key, arrays gather their elements (each term on
/// an array matches an element of its own). Two values for one field answer an error.
fn merge(into: &mut Value, more: Value, shown: &str) -> Result<(), SearchError> {
    match (into, more) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) => merge(existing, v, shown)?,
                    None => {
                        a.insert(k, v);
                    }
                }
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(b)) => {
            a.extend(b);
            Ok(())
        }
        _ => err(format!(
            "{shown} is compared twice (or is used both as a field and as an object or array); a field holds one value"
        )),
    }
}

/// Whether a piece of text has a word in it (a letter or a digit).
fn has_word(s: &str) -> bool {
    s.chars().any(char::is_alphanumeric)
}

/// Parses a search. An empty search is `Ok` with nothing to match.
pub fn parse(input: &str) -> Result<Search, SearchError> {
    if input.chars().count() > MAX_LEN {
        return err(format!("a search may be at most {MAX_LEN} characters long"));
    }
    // PostgreSQL's text and jsonb hold no NUL, so no payload it indexes has one
    if input.contains('\0') || input.contains("\\u0000") {
        return err("a search cannot contain a NUL character (\\u0000)");
    }
    let mut contains: Option<Value> = None;
    let mut fields = 0;
    let mut text = String::new();
    let mut rest = input.trim_start();
    while !rest.is_empty() {
        // a quoted phrase is text, whole
        if rest.starts_with('"') || rest.starts_with("-\"") {
            let open = rest.find('"').unwrap_or(0);
            let end = rest[open + 1..]
                .find('"')
                .map(|i| open + i + 2)
                .unwrap_or(rest.len());
            text.push_str(&rest[..end]);
            text.push(' ');
            rest = rest[end..].trim_start();
            continue;
        }
        if let Some((segments, after)) = path(rest) {
            let after_path = after.trim_start();
            let shown = rest[..rest.len() - after.len()].to_string();
            let op_len = ["!=", "<=", ">=", "=", "<", ">"]
                .iter()
                .find(|op| after_path.starts_with(**op))
                .map(|op| op.len());
            match op_len {
                Some(1) if after_path.starts_with('=') => {
                    let (v, next) = value(after_path[1..].trim_start(), &shown)?;
                    fields += 1;
                    if fields > MAX_FIELDS {
                        return err(format!("a search may compare at most {MAX_FIELDS} fields"));
                    }
                    let doc = nest(&segments, v);
                    match &mut contains {
                        Some(c) => merge(c, doc, &shown)?,
                        None => contains = Some(doc),
                    }
                    rest = next.trim_start();
                    continue;
                }
                Some(n) => {
                    let op = &after_path[..n];
                    return err(format!(
                        "fields are compared with = only ({shown} {op} … cannot be searched); \
                         write {shown} = value, or leave out the sign to search for words"
                    ));
                }
                None => {}
            }
        }
        // a word of text
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..end];
        if word.contains(['=', '<', '>']) {
            return err(format!(
                "{word} is not a field comparison: write a field name, =, and a value, as in \
                 customer.id = \"cus_1\" (keys joined by dots, key[] for an array), or quote it to search for its words"
            ));
        }
        text.push_str(word);
        text.push(' ');
        rest = rest[end..].trim_start();
    }
    let text = text.trim().to_string();
    let text = if text.is_empty() {
        None
    } else if !has_word(&text) {
        return err("the search has no words to look for (letters or digits)");
    } else {
        // (words that only exclude, with no field, are refused where PostgreSQL can tell:
        // `store::messages::words_use_index`)
        Some(text)
    };
    Ok(Search { contains, text })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(s: &str) -> Search {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn fields_become_one_document_to_contain() {
        let s = ok(r#"customer.id = "cus_1" amount=4200 paid = true note = null"#);
        assert_eq!(
            s.contains,
            Some(json!({"customer": {"id": "cus_1"}, "amount": 4200, "paid": true, "note": null}))
        );
        assert_eq!(s.text, None);
        // bare words are strings; numbers stay numbers
        assert_eq!(ok("status = paid").contains, Some(json!({"status": "paid"})));
        assert_eq!(ok("a.b = -1.5").contains, Some(json!({"a": {"b": -1.5}})));
        assert_eq!(ok(r#"a = "x \"y\" z""#).contains, Some(json!({"a": "x \"y\" z"})));
        assert_eq!(ok(r#"a = "two words""#).contains, Some(json!({"a": "two words"})));
    }

    #[test]
    fn arrays_match_any_element_each_term_its_own() {
        assert_eq!(
            ok(r#"lines[].sku = "plan-pro" lines[].qty = 2"#).contains,
            Some(json!({"lines": [{"sku": "plan-pro"}, {"qty": 2}]}))
        );
        assert_eq!(ok("tags[] = vip").contains, Some(json!({"tags": ["vip"]})));
    }

    #[test]
    fn the_rest_is_text() {
        let s = ok(r#"refund customer.id = cus_1 "card declined" -test or retry"#);
        assert_eq!(s.contains, Some(json!({"customer": {"id": "cus_1"}})));
        assert_eq!(
            s.text.as_deref(),
            Some(r#"refund "card declined" -test or retry"#)
        );
        assert_eq!(ok("  "), Search::default());
        assert_eq!(
            ok("alice@example.test").text.as_deref(),
            Some("alice@example.test")
        );
    }

    #[test]
    fn mistakes_are_explained() {
        let e = |s: &str| parse(s).unwrap_err().0;
        assert!(
            e("amount > 5").contains("compared with = only"),
            "{}",
            e("amount > 5")
        );
        assert!(e("amount != 5").contains("amount != …"));
        assert!(e("a = ").contains("needs a value"));
        assert!(e(r#"a = "open"#).contains("no closing quote"));
        assert!(e("a = 1 a = 2").contains("a is compared twice"));
        assert!(e("a = 1 a.b = 2").contains("compared twice"));
        assert!(
            e("a..b = 1").contains("= is not a field comparison"),
            "{}",
            e("a..b = 1")
        );
        assert!(e(".a = 1").contains("not a field comparison"));
        assert!(e("items[0].sku = x").contains("not a field comparison"));
        assert!(e("-status = paid").contains("not a field comparison"));
        assert!(e("a == 1").contains("comparison sign"));
        assert!(e("a=1b=2").contains("comparison sign"));
        assert!(e("a = 123456789012345678901").contains("more digits"));
        assert!(e("a = 0.12345678901234567").contains("more digits"));
        assert_eq!(
            ok("a = \"12345678901234567890\"").contains,
            Some(json!({"a": "12345678901234567890"}))
        );
        assert_eq!(
            ok("a = 9007199254740993").contains,
            Some(json!({"a": 9007199254740993u64}))
        );
        assert!(e("... !!").contains("no words"));
        assert!(e("a = \"x\\u0000y\"").contains("NUL"));
        assert!(e("a\0b").contains("NUL"));
        assert!(e(&"x".repeat(MAX_LEN + 1)).contains("at most 500"));
        assert!(parse(&"語".repeat(MAX_LEN)).is_ok(), "characters, not bytes");
        let many: Vec<String> = (0..=MAX_FIELDS).map(|i| format!("f{i} = 1")).collect();
        assert!(e(&many.join(" ")).contains("at most 16 fields"));
    }
}
