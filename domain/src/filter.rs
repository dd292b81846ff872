//! Payload filters: a [CEL](https://github.com/google/cel-spec) expression per endpoint, over
//! the message's `payload`, `eventType`, `channels` and `tags`, that decides whether the
//! endpoint gets the message. CEL because it is made for this (Kubernetes admission rules,
//! Envoy and Google's IAM conditions use it): a small C-like syntax users read at a glance,
//! no loops, no side effects, and a maintained Rust implementation (`cel`).
//!
//! Bounded: a filter is at most [`MAX_LEN`] characters, and the list macros (`all`, `exists`,
//! `exists_one`, `map`, `filter`) may not nest, so evaluating one takes time proportional to
//! the filter and the payload, never to the payload's square.
use cel::common::ast::{EntryExpr, Expr, IdedEntryExpr, IdedExpr};
use cel::{Context, Program, Value};
use std::sync::Arc;

/// The longest filter accepted, in bytes.
pub const MAX_LEN: usize = 2_000;
/// How deeply a filter's expression may nest (brackets, and its tree once parsed): the parser
/// and the evaluator recurse, so a bound here is what keeps a hostile filter from exhausting
/// a thread's stack.
pub const MAX_DEPTH: usize = 64;
/// The names a filter can read.
pub const VARIABLES: [&str; 4] = ["payload", "eventType", "channels", "tags"];

/// Why a filter was refused, with where (1-based line and column) when the parser knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl FilterError {
    /// What a person is told when they save or try a filter with this error.
    pub fn sentence(&self) -> String {
        format!("The filter is not valid CEL: {self}")
    }
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

fn refused(message: impl Into<String>) -> FilterError {
    FilterError {
        line: None,
        column: None,
        message: message.into(),
    }
}

/// A compiled filter. Cheap to clone.
#[derive(Clone)]
pub struct Filter(Arc<Program>);

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Filter")
    }
}

/// What a filter sees of a message.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub event_type: &'a str,
    /// The payload as sent: JSON (read as an object) or, for a raw payload, text.
    pub payload: &'a str,
    pub raw: bool,
    pub channels: &'a [String],
    pub tags: &'a [String],
}

impl Filter {
    /// Compiles `source`, or says what is wrong and where.
    pub fn compile(source: &str) -> Result<Filter, FilterError> {
        if source.trim().is_empty() {
            return Err(refused(
                "the filter is empty: leave it out to receive every message",
            ));
        }
        if source.len() > MAX_LEN {
            return Err(refused(format!("a filter may be at most {MAX_LEN} characters")));
        }
        if bracket_depth(source) > MAX_DEPTH {
            return Err(refused(format!(
                "a filter may nest brackets at most {MAX_DEPTH} deep"
            )));
        }
        let program = parse(source)?;
        if tree_depth(program.expression(), 0) > MAX_DEPTH {
            return Err(refused(format!(
                "the filter is nested more than {MAX_DEPTH} deep: split long chains of conditions into lists (`x in [...]`)"
            )));
        }
        let references = program.references();
        let mut unknown: Vec<&str> = references
            .variables()
            .into_iter()
            .filter(|v| !VARIABLES.contains(v))
            .collect();
        // the macros' own loop variables are references too; they are declared by the filter
        let declared = loop_variables(program.expression());
        unknown.retain(|v| !declared.iter().any(|d| d == v));
        if let Some(name) = unknown.first() {
            return Err(refused(format!(
                "'{name}' is not known: a filter can read {}",
                VARIABLES.join(", ")
            )));
        }
        if nesting(program.expression()) > 1 {
            return Err(refused(
                "list macros (all, exists, exists_one, map, filter) may not be nested: \
                 the filter would take time growing with the square of the payload",
            ));
        }
        Ok(Filter(Arc::new(program)))
    }

    /// Whether the message passes. An error while evaluating (a field the payload does not
    /// have, a comparison of a string with a number) is an answer too: the message does not
    /// pass, as CEL's `has(payload.x)` would have said.
    pub fn matches(&self, m: &Message<'_>) -> Result<bool, String> {
        self.passes(&Prepared::new(m))
    }

    /// [`Self::matches`] on a message read once for all of an application's filters.
    pub fn passes(&self, p: &Prepared) -> Result<bool, String> {
        let ctx = p.0.as_ref().map_err(Clone::clone)?;
        match self.0.execute(ctx) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(other) => Err(format!("the filter gave {other:?}, not true or false")),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// CEL's standard library, built once: making it is most of what a fresh context costs.
static STDLIB: std::sync::LazyLock<Arc<cel::Env>> = std::sync::LazyLock::new(|| Arc::new(cel::Env::stdlib()));

/// A message read for filters: its payload parsed and converted once, however many filters
/// then look at it.
pub struct Prepared(Result<Context<'static, 'static>, String>);

impl Prepared {
    pub fn new(m: &Message<'_>) -> Prepared {
        let payload = if m.raw {
            Ok(Value::from(m.payload.to_string()))
        } else {
            serde_json::from_str::<serde_json::Value>(m.payload)
                .map(cel_value)
                .map_err(|e| format!("the payload is not JSON: {e}"))
        };
        Prepared(payload.map(|payload| {
            let mut ctx = Context::with_env(STDLIB.clone());
            ctx.add_variable_from_value("payload", payload);
            ctx.add_variable_from_value("eventType", m.event_type.to_string());
            ctx.add_variable_from_value("channels", m.channels.to_vec());
            ctx.add_variable_from_value("tags", m.tags.to_vec());
            ctx
        }))
    }
}

/// Parses on a thread of its own with a large stack: the parser recurses with the input's
/// nesting, which [`bracket_depth`] bounds only roughly (unary operators, long chains).
fn parse(source: &str) -> Result<Program, FilterError> {
    let src = source.to_owned();
    let parsed = std::thread::Builder::new()
        .name("filter-parse".into())
        .stack_size(64 << 20)
        .spawn(move || {
            Program::compile(&src).map_err(|errors| {
                let first = errors.errors.first();
                FilterError {
                    line: first
                        .and_then(|e| usize::try_from(e.pos.0).ok())
                        .filter(|l| *l > 0),
                    column: first.and_then(|e| usize::try_from(e.pos.1).ok()).map(|c| c + 1),
                    message: first
                        .map(|e| e.msg.clone())
                        .unwrap_or_else(|| "the filter is not valid CEL".into()),
                }
            })
        })
        .map_err(|e| refused(format!("the filter could not be parsed now ({e}); try again")))?
        .join();
    parsed.unwrap_or_else(|_| Err(refused("the filter could not be parsed")))
}

/// The deepest nesting of brackets outside string literals.
fn bracket_depth(source: &str) -> usize {
    let (mut depth, mut max, mut quote, mut escaped) = (0usize, 0usize, None::<char>, false);
    for c in source.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '(' | '[' | '{' => {
                    depth += 1;
                    max = max.max(depth);
                }
                ')' | ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
    }
    max
}

/// The depth of the parsed expression, counted no further than past [`MAX_DEPTH`].
fn tree_depth(e: &IdedExpr, at: usize) -> usize {
    if at > MAX_DEPTH {
        return at;
    }
    children(e)
        .into_iter()
        .map(|c| tree_depth(c, at + 1))
        .max()
        .unwrap_or(at)
        .max(at)
}

/// A JSON value as CEL sees it. Whole numbers are `int` (so `payload.n % 2 == 0` and
/// `payload.amount >= 100` work as written; `uint` only past `i64`'s range), others `double`.
fn cel_value(v: serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::UInt(u),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::from(s),
        J::Array(a) => Value::List(Arc::new(a.into_iter().map(cel_value).collect())),
        J::Object(o) => Value::from(
            o.into_iter()
                .map(|(k, v)| (k, cel_value(v)))
                .collect::<std::collections::HashMap<String, Value>>(),
        ),
    }
}

fn children(e: &IdedExpr) -> Vec<&IdedExpr> {
    match &e.expr {
        Expr::Call(c) => c.target.iter().map(|t| t.as_ref()).chain(c.args.iter()).collect(),
        Expr::Comprehension(c) => vec![&c.iter_range, &c.accu_init, &c.loop_cond, &c.loop_step, &c.result],
        Expr::List(l) => l.elements.iter().collect(),
        Expr::Map(m) => entry_children(&m.entries),
        Expr::Struct(s) => entry_children(&s.entries),
        Expr::Select(s) => vec![s.operand.as_ref()],
        Expr::Ident(_) | Expr::Literal(_) | Expr::Unspecified => vec![],
    }
}

/// The expressions of a map or struct literal's entries.
fn entry_children(entries: &[IdedEntryExpr]) -> Vec<&IdedExpr> {
    entries
        .iter()
        .flat_map(|e| match &e.expr {
            EntryExpr::MapEntry(me) => vec![&me.key, &me.value],
            EntryExpr::StructField(f) => vec![&f.value],
        })
        .collect()
}

/// How deeply list macros nest in `e` (0: none).
fn nesting(e: &IdedExpr) -> usize {
    let own = usize::from(matches!(e.expr, Expr::Comprehension(_)));
    own + children(e).into_iter().map(nesting).max().unwrap_or(0)
}

/// The names the filter's macros declare (loop and accumulator variables).
fn loop_variables(e: &IdedExpr) -> Vec<String> {
    let mut out = Vec::new();
    if let Expr::Comprehension(c) = &e.expr {
        out.push(c.iter_var.clone());
        out.extend(c.iter_var2.clone());
        out.push(c.accu_var.clone());
    }
    for c in children(e) {
        out.extend(loop_variables(c));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg<'a>(payload: &'a str, channels: &'a [String]) -> Message<'a> {
        Message {
            event_type: "invoice.paid",
            payload,
            raw: false,
            channels,
            tags: &[],
        }
    }

    #[test]
    fn a_filter_reads_the_payload_event_type_and_channels() {
        let f =
            Filter::compile(r#"payload.customer.id == "cus_1" && eventType.startsWith("invoice.")"#).unwrap();
        assert_eq!(f.matches(&msg(r#"{"customer": {"id": "cus_1"}}"#, &[])), Ok(true));
        assert_eq!(
            f.matches(&msg(r#"{"customer": {"id": "cus_2"}}"#, &[])),
            Ok(false)
        );
        let f = Filter::compile(r#""eu" in channels && payload.amount >= 100"#).unwrap();
        let eu = vec!["eu".to_string()];
        assert_eq!(f.matches(&msg(r#"{"amount": 250}"#, &eu)), Ok(true));
        assert_eq!(f.matches(&msg(r#"{"amount": 99}"#, &eu)), Ok(false));
        assert_eq!(f.matches(&msg(r#"{"amount": 250}"#, &[])), Ok(false));
        let f = Filter::compile("payload.n % 2 == 0 && payload.price > 9.5 && payload.big > 0").unwrap();
        let m = r#"{"n": 4, "price": 9.75, "big": 18446744073709551615}"#;
        assert_eq!(f.matches(&msg(m, &[])), Ok(true));
        let f = Filter::compile("payload.items.exists(i, i.sku == 'A-1')").unwrap();
        assert_eq!(
            f.matches(&msg(r#"{"items": [{"sku": "B"}, {"sku": "A-1"}]}"#, &[])),
            Ok(true)
        );
    }

    #[test]
    fn a_missing_field_does_not_pass_and_has_guards_it() {
        let f = Filter::compile("payload.customer.id == 'cus_1'").unwrap();
        assert!(f.matches(&msg("{}", &[])).is_err());
        let f = Filter::compile("has(payload.customer) && payload.customer.id == 'cus_1'").unwrap();
        assert_eq!(f.matches(&msg("{}", &[])), Ok(false));
        let f = Filter::compile("payload.amount").unwrap();
        assert!(f.matches(&msg(r#"{"amount": 1}"#, &[])).is_err(), "not a boolean");
    }

    #[test]
    fn bad_filters_are_refused_with_where_and_why() {
        let e = Filter::compile("payload.amount >").unwrap_err();
        assert_eq!(e.line, Some(1), "{e}");
        assert!(e.column.is_some(), "{e}");
        let e = Filter::compile("payload.a == 1 &&\n  customer.id == 2").unwrap_err();
        assert!(e.message.contains("'customer' is not known"), "{e}");
        let e = Filter::compile("payload.a.all(x, payload.b.exists(y, x == y))").unwrap_err();
        assert!(e.message.contains("may not be nested"), "{e}");
        assert!(Filter::compile(&"a".repeat(MAX_LEN + 1)).is_err());
        let deep = format!("{}payload.a{}", "(".repeat(500), ")".repeat(500));
        assert!(Filter::compile(&deep).unwrap_err().message.contains("nest"));
        // the parser folds runs of unary operators: compiled or refused, never a crash
        let unary = format!("{}true", "!".repeat(1_500));
        if let Ok(f) = Filter::compile(&unary) {
            assert_eq!(f.matches(&msg("{}", &[])), Ok(true));
        }
        // && and || chains are balanced by the parser; arithmetic chains are not
        let chain = vec!["payload.a == 1"; 100].join(" && ");
        assert!(Filter::compile(&chain).is_ok());
        let sum = format!("{} > 0", vec!["payload.a"; 150].join(" + "));
        assert!(Filter::compile(&sum).unwrap_err().message.contains("nested"));
        // brackets in strings are text
        assert!(Filter::compile(&format!("payload.a == '{}'", "(".repeat(100))).is_ok());
        assert!(Filter::compile("  ").is_err());
    }

    #[test]
    fn a_raw_payload_is_text() {
        let f = Filter::compile("payload.contains('ping')").unwrap();
        let m = Message {
            raw: true,
            ..msg("ping pong", &[])
        };
        assert_eq!(f.matches(&m), Ok(true));
    }
}
