//! The query language of the list endpoints, evaluated over the serialized JSON of the items: plain
//! `field=value` parameters, `search=`, and MDVM's OData subset (`$filter`, `$orderby`, `$top`, `$skip`).
//!
//! There is no well-kept Rust crate for this OData subset, so `$filter` is read by a small hand-written
//! recursive-descent parser:
//!
//! ```text
//! filter     := or
//! or         := and ("or" and)*
//! and        := primary ("and" primary)*
//! primary    := "(" or ")" | comparison
//! comparison := operand ("eq" | "ne" | "gt" | "ge" | "lt" | "le") operand
//! operand    := field | 'string' | number | date-time | true | false | null
//! ```
//!
//! Strings are single-quoted with `''` for a quote; a date-time is unquoted (`2024-05-01`,
//! `2024-05-01T12:00:00Z`) as in MDVM's examples. `and`/`or` chains are kept flat and parentheses may nest
//! [`MAX_DEPTH`] deep, so a hostile filter cannot exhaust the stack.
//!
//! Semantics, chosen to be predictable over JSON: numbers compare as numbers, strings byte-wise (and as
//! instants when both sides are RFC 3339 date-times), booleans and nulls by equality; a comparison between
//! values of different types is false (so `x gt null` matches nothing); a missing field is `null`. A
//! comparison with an array field holds when it holds for any element, except `ne`, which is the negation
//! of `eq` (so `machineTags ne 'prod'` means "not tagged prod").
//!
//! This module is pure: it knows nothing of HTTP or of the item types. Callers check the field names a
//! query mentions with [`Query::check_fields`] and apply it with [`Query::apply`].

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::Value;

/// The largest `$top` accepted.
pub const MAX_TOP: usize = 10_000;

/// How deep parentheses may nest in a `$filter`.
pub const MAX_DEPTH: usize = 32;

/// The query options this module reads besides plain field parameters.
pub const OPTIONS: [&str; 5] = ["$filter", "$orderby", "$top", "$skip", "search"];

/// Why a query was refused; every message names the option or field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// `$filter` or `$orderby` is malformed at a character position (1-based).
    #[error("malformed {option} at position {position}: {message}")]
    Syntax {
        /// `$filter` or `$orderby`.
        option: &'static str,
        /// 1-based character position of the problem.
        position: usize,
        /// What was expected and found.
        message: String,
    },
    /// A field that the items do not have.
    #[error("unknown field '{field}' in {place}; valid fields: {}", valid.join(", "))]
    UnknownField {
        /// The field named.
        field: String,
        /// `$filter`, `$orderby` or `the query parameters`.
        place: &'static str,
        /// The fields the items have.
        valid: Vec<String>,
    },
    /// Any other invalid option (bad `$top`, a repeated option, an unsupported `$` option).
    #[error("{0}")]
    Invalid(String),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl CmpOp {
    fn from_keyword(word: &str) -> Option<CmpOp> {
        Some(match word {
            "eq" => CmpOp::Eq,
            "ne" => CmpOp::Ne,
            "gt" => CmpOp::Gt,
            "ge" => CmpOp::Ge,
            "lt" => CmpOp::Lt,
            "le" => CmpOp::Le,
            _ => return None,
        })
    }
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A top-level field of the item.
    Field(String),
    /// A literal (a date-time literal is a string in RFC 3339 form).
    Literal(Value),
}

/// A parsed `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Every operand holds.
    And(Vec<Expr>),
    /// At least one operand holds.
    Or(Vec<Expr>),
    /// `left op right`.
    Compare {
        /// Left operand.
        left: Operand,
        /// Operator.
        op: CmpOp,
        /// Right operand.
        right: Operand,
    },
}

impl Expr {
    /// True when the item satisfies the expression.
    pub fn matches(&self, item: &Value) -> bool {
        match self {
            Expr::And(all) => all.iter().all(|e| e.matches(item)),
            Expr::Or(any) => any.iter().any(|e| e.matches(item)),
            Expr::Compare { left, op, right } => {
                compare(resolve(left, item), *op, resolve(right, item))
            }
        }
    }

    /// Every field the expression names, in order of appearance.
    pub fn fields(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out
    }

    fn collect_fields<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::And(es) | Expr::Or(es) => es.iter().for_each(|e| e.collect_fields(out)),
            Expr::Compare { left, right, .. } => {
                for side in [left, right] {
                    if let Operand::Field(f) = side {
                        out.push(f);
                    }
                }
            }
        }
    }
}

/// One `$orderby` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderKey {
    /// The field.
    pub field: String,
    /// `desc` rather than `asc`.
    pub descending: bool,
}

/// A list query: everything the list endpoints accept, parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Plain `field=value` parameters: values of one field are alternatives, fields are all required.
    pub equals: BTreeMap<String, Vec<String>>,
    /// Case-insensitive substring searched in the item type's name-like fields.
    pub search: Option<String>,
    /// `$filter`.
    pub filter: Option<Expr>,
    /// `$orderby` keys, most significant first.
    pub order_by: Vec<OrderKey>,
    /// `$skip`.
    pub skip: usize,
    /// `$top`.
    pub top: Option<usize>,
}

impl Query {
    /// Parses decoded query-string pairs. Keys starting with `$` must be one of [`OPTIONS`]; any other key
    /// is a field to filter on (checked later by [`Query::check_fields`]).
    pub fn parse(pairs: &[(String, String)]) -> Result<Query, QueryError> {
        let mut query = Query::default();
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in pairs {
            let key = key.as_str();
            if OPTIONS.contains(&key) {
                if seen.contains(&key) {
                    return Err(QueryError::Invalid(format!(
                        "query option {key} is given more than once"
                    )));
                }
                seen.push(key);
            }
            match key {
                "$filter" => query.filter = Some(parse_filter(value)?),
                "$orderby" => query.order_by = parse_order_by(value)?,
                "$top" => {
                    let top = parse_count("$top", value)?;
                    if top > MAX_TOP {
                        return Err(QueryError::Invalid(format!(
                            "$top must be at most {MAX_TOP}, got {top}"
                        )));
                    }
                    query.top = Some(top);
                }
                "$skip" => query.skip = parse_count("$skip", value)?,
                "search" => query.search = Some(value.clone()).filter(|s| !s.is_empty()),
                _ if key.starts_with('$') => {
                    return Err(QueryError::Invalid(format!(
                        "unsupported query option {key}; supported: $filter, $orderby, $top, $skip"
                    )));
                }
                _ => query
                    .equals
                    .entry(key.to_string())
                    .or_default()
                    .push(value.clone()),
            }
        }
        Ok(query)
    }

    /// Checks that every field the query names is one of `valid`.
    pub fn check_fields(&self, valid: &[&str]) -> Result<(), QueryError> {
        let unknown = |field: &str, place: &'static str| QueryError::UnknownField {
            field: field.to_string(),
            place,
            valid: valid.iter().map(|s| s.to_string()).collect(),
        };
        if let Some(field) = self.equals.keys().find(|f| !valid.contains(&f.as_str())) {
            return Err(unknown(field, "the query parameters"));
        }
        if let Some(filter) = &self.filter
            && let Some(field) = filter.fields().into_iter().find(|f| !valid.contains(f))
        {
            return Err(unknown(field, "$filter"));
        }
        if let Some(key) = self
            .order_by
            .iter()
            .find(|k| !valid.contains(&k.field.as_str()))
        {
            return Err(unknown(&key.field, "$orderby"));
        }
        Ok(())
    }

    /// Filters, sorts and pages the items. `search_fields` are the fields `search=` looks in.
    pub fn apply(&self, items: Vec<Value>, search_fields: &[&str]) -> Vec<Value> {
        let needle = self.search.as_ref().map(|s| s.to_lowercase());
        let mut kept: Vec<Value> = items
            .into_iter()
            .filter(|item| {
                self.equals.iter().all(|(field, values)| {
                    values.iter().any(|v| equals_text(field_of(item, field), v))
                })
            })
            .filter(|item| {
                needle.as_ref().is_none_or(|n| {
                    search_fields
                        .iter()
                        .any(|f| contains_text(field_of(item, f), n))
                })
            })
            .filter(|item| self.filter.as_ref().is_none_or(|f| f.matches(item)))
            .collect();
        if !self.order_by.is_empty() {
            // A stable sort, so items equal on every key keep the engine's order.
            kept.sort_by(|a, b| {
                self.order_by
                    .iter()
                    .map(|k| {
                        let o = total_order(field_of(a, &k.field), field_of(b, &k.field));
                        if k.descending { o.reverse() } else { o }
                    })
                    .find(|o| o.is_ne())
                    .unwrap_or(Ordering::Equal)
            });
        }
        kept.into_iter()
            .skip(self.skip)
            .take(self.top.unwrap_or(usize::MAX))
            .collect()
    }
}

fn parse_count(option: &str, value: &str) -> Result<usize, QueryError> {
    value.parse::<usize>().map_err(|_| {
        QueryError::Invalid(format!(
            "{option} must be a non-negative integer, got '{value}'"
        ))
    })
}

const NULL: Value = Value::Null;

fn field_of<'a>(item: &'a Value, field: &str) -> &'a Value {
    item.get(field).unwrap_or(&NULL)
}

fn resolve<'a>(operand: &'a Operand, item: &'a Value) -> &'a Value {
    match operand {
        Operand::Field(f) => field_of(item, f),
        Operand::Literal(v) => v,
    }
}

/// A plain parameter's text against a field value: strings exactly, numbers numerically, booleans and
/// null by their JSON spelling, arrays by any element.
fn equals_text(value: &Value, text: &str) -> bool {
    match value {
        Value::String(s) => s == text,
        Value::Number(n) => text.parse::<f64>().ok() == n.as_f64(),
        Value::Bool(b) => text == if *b { "true" } else { "false" },
        Value::Null => text == "null",
        Value::Array(items) => items.iter().any(|v| equals_text(v, text)),
        Value::Object(_) => false,
    }
}

/// Case-insensitive substring test; `needle` is already lower-case.
fn contains_text(value: &Value, needle: &str) -> bool {
    match value {
        Value::String(s) => s.to_lowercase().contains(needle),
        Value::Array(items) => items.iter().any(|v| contains_text(v, needle)),
        _ => false,
    }
}

fn compare(left: &Value, op: CmpOp, right: &Value) -> bool {
    if op == CmpOp::Ne {
        return !compare(left, CmpOp::Eq, right);
    }
    if let Value::Array(items) = left {
        return items.iter().any(|v| compare(v, op, right));
    }
    if let Value::Array(items) = right {
        return items.iter().any(|v| compare(left, op, v));
    }
    let Some(ordering) = partial_order(left, right) else {
        return false;
    };
    match op {
        CmpOp::Eq => ordering.is_eq(),
        CmpOp::Gt => ordering.is_gt(),
        CmpOp::Ge => ordering.is_ge(),
        CmpOp::Lt => ordering.is_lt(),
        CmpOp::Le => ordering.is_le(),
        CmpOp::Ne => ordering.is_ne(),
    }
}

/// The order of two values of the same type; `None` across types (or for objects).
fn partial_order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(match (instant(x), instant(y)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => x.cmp(y),
        }),
        _ => None,
    }
}

/// A total order for sorting: null < booleans < numbers < strings < arrays < objects.
fn total_order(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            Value::Array(_) => 4,
            Value::Object(_) => 5,
        }
    }
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => x
            .iter()
            .zip(y)
            .map(|(x, y)| total_order(x, y))
            .find(|o| o.is_ne())
            .unwrap_or_else(|| x.len().cmp(&y.len())),
        _ => rank(a)
            .cmp(&rank(b))
            .then_with(|| partial_order(a, b).unwrap_or(Ordering::Equal)),
    }
}

/// The instant an RFC 3339 date-time string names; `None` for other strings (checked cheaply first).
fn instant(s: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    if s.len() < 20 || !s.as_bytes()[..4].iter().all(u8::is_ascii_digit) || s.as_bytes()[4] != b'-'
    {
        return None;
    }
    chrono::DateTime::parse_from_rfc3339(s).ok()
}

/// Parses a `$orderby` value: `field [asc|desc]`, comma-separated.
pub fn parse_order_by(text: &str) -> Result<Vec<OrderKey>, QueryError> {
    let err = |position: usize, message: String| QueryError::Syntax {
        option: "$orderby",
        position,
        message,
    };
    let mut keys = Vec::new();
    let mut offset = 0; // characters before the current item
    for item in text.split(',') {
        let words = words(item);
        let end = offset + item.chars().count() + 1;
        let at = |i: usize| words.get(i).map_or(end, |(p, _)| offset + p + 1);
        let field = match words.first() {
            None => return Err(err(end, "expected a field name".into())),
            Some((_, w)) if !is_identifier(w) => {
                return Err(err(at(0), format!("'{w}' is not a field name")));
            }
            Some((_, w)) => w.to_string(),
        };
        let descending = match words.get(1).map(|(_, w)| *w) {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(err(
                    at(1),
                    format!("expected 'asc' or 'desc', found '{other}'"),
                ));
            }
        };
        if let Some((_, extra)) = words.get(2) {
            return Err(err(
                at(2),
                format!("expected ',' or end of input, found '{extra}'"),
            ));
        }
        keys.push(OrderKey { field, descending });
        offset = end;
    }
    Ok(keys)
}

/// The whitespace-separated words of a string with their 0-based character positions.
fn words(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start: Option<(usize, usize)> = None; // (char position, byte offset)
    for (chars, (byte, c)) in s.char_indices().enumerate() {
        match (c.is_whitespace(), start) {
            (true, Some((p, b))) => {
                out.push((p, &s[b..byte]));
                start = None;
            }
            (false, None) => start = Some((chars, byte)),
            _ => {}
        }
    }
    if let Some((p, b)) = start {
        out.push((p, &s[b..]));
    }
    out
}

fn is_identifier(word: &str) -> bool {
    let mut chars = word.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A `$filter` token.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Literal(Value),
    Open,
    Close,
    End,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("'{w}'"),
            Tok::Literal(Value::String(s)) => format!("'{}'", s.replace('\'', "''")),
            Tok::Literal(v) => v.to_string(),
            Tok::Open => "'('".into(),
            Tok::Close => "')'".into(),
            Tok::End => "end of input".into(),
        }
    }
}

/// A token and its 1-based character position.
#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
}

fn syntax(position: usize, message: impl Into<String>) -> QueryError {
    QueryError::Syntax {
        option: "$filter",
        position,
        message: message.into(),
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, QueryError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = match c {
            '(' => {
                i += 1;
                Tok::Open
            }
            ')' => {
                i += 1;
                Tok::Close
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(syntax(pos, "unterminated string literal")),
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                Tok::Literal(Value::String(s))
            }
            c if c.is_ascii_digit() || c == '-' => {
                let start = i;
                while chars.get(i).is_some_and(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '+' | '-')
                }) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                Tok::Literal(number_or_instant(&word).ok_or_else(|| {
                    syntax(pos, format!("'{word}' is not a number or a date-time"))
                })?)
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while chars
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_')
                {
                    i += 1;
                }
                Tok::Word(chars[start..i].iter().collect())
            }
            other => return Err(syntax(pos, format!("unexpected character '{other}'"))),
        };
        tokens.push(Token { tok, pos });
    }
    tokens.push(Token {
        tok: Tok::End,
        pos: chars.len() + 1,
    });
    Ok(tokens)
}

/// A finite number, or a date (`2024-05-01`, `2024-05-01Z`: midnight UTC) or RFC 3339 date-time, which
/// becomes a string in RFC 3339 form.
fn number_or_instant(word: &str) -> Option<Value> {
    let b = word.as_bytes();
    let date_like =
        b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-';
    if !date_like {
        let n: f64 = word.parse().ok().filter(|n: &f64| n.is_finite())?;
        return serde_json::Number::from_f64(n).map(Value::Number);
    }
    let full = match word.len() {
        10 => format!("{word}T00:00:00Z"),
        11 if word.ends_with('Z') => format!("{}T00:00:00Z", &word[..10]),
        _ => word.to_string(),
    };
    chrono::DateTime::parse_from_rfc3339(&full).ok()?;
    Some(Value::String(full))
}

/// Parses a `$filter` expression.
pub fn parse_filter(text: &str) -> Result<Expr, QueryError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser { tokens, next: 0 };
    let expr = parser.or(0)?;
    let t = parser.peek();
    if t.tok != Tok::End {
        return Err(syntax(
            t.pos,
            format!(
                "expected 'and', 'or' or end of input, found {}",
                t.tok.describe()
            ),
        ));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // The token list always ends with `End`, which is never consumed.
        &self.tokens[self.next.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::End {
            self.next += 1;
        }
        t
    }

    fn at_word(&self, word: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(w) if w == word)
    }

    fn or(&mut self, depth: usize) -> Result<Expr, QueryError> {
        let mut any = vec![self.and(depth)?];
        while self.at_word("or") {
            self.bump();
            any.push(self.and(depth)?);
        }
        Ok(if any.len() == 1 {
            any.remove(0)
        } else {
            Expr::Or(any)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, QueryError> {
        let mut all = vec![self.primary(depth)?];
        while self.at_word("and") {
            self.bump();
            all.push(self.primary(depth)?);
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Expr::And(all)
        })
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, QueryError> {
        if self.peek().tok != Tok::Open {
            return self.comparison();
        }
        let open = self.bump();
        if depth >= MAX_DEPTH {
            return Err(syntax(
                open.pos,
                format!("parentheses nest deeper than {MAX_DEPTH}"),
            ));
        }
        let inner = self.or(depth + 1)?;
        let close = self.bump();
        if close.tok != Tok::Close {
            return Err(syntax(
                close.pos,
                format!(
                    "expected ')' or an operator, found {}",
                    close.tok.describe()
                ),
            ));
        }
        Ok(inner)
    }

    fn comparison(&mut self) -> Result<Expr, QueryError> {
        let left = self.operand()?;
        let t = self.bump();
        let op = match &t.tok {
            Tok::Word(w) => CmpOp::from_keyword(w),
            _ => None,
        }
        .ok_or_else(|| {
            syntax(
                t.pos,
                format!(
                    "expected a comparison operator (eq, ne, gt, ge, lt, le), found {}",
                    t.tok.describe()
                ),
            )
        })?;
        let right = self.operand()?;
        Ok(Expr::Compare { left, op, right })
    }

    fn operand(&mut self) -> Result<Operand, QueryError> {
        let t = self.bump();
        match t.tok {
            Tok::Literal(v) => Ok(Operand::Literal(v)),
            Tok::Word(w) => match w.as_str() {
                "true" => Ok(Operand::Literal(Value::Bool(true))),
                "false" => Ok(Operand::Literal(Value::Bool(false))),
                "null" => Ok(Operand::Literal(Value::Null)),
                "and" | "or" | "eq" | "ne" | "gt" | "ge" | "lt" | "le" => Err(syntax(
                    t.pos,
                    format!("expected a field or a value, found '{w}'"),
                )),
                _ => Ok(Operand::Field(w)),
            },
            other => Err(syntax(
                t.pos,
                format!("expected a field or a value, found {}", other.describe()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn items() -> Vec<Value> {
        vec![
            json!({"id": "a", "status": "Active", "score": 9.8, "count": 2, "tags": ["prod", "web"],
                   "note": null, "seen": "2024-05-01T12:00:00Z", "ok": true, "name": "Django"}),
            json!({"id": "b", "status": "Exception", "score": 5.5, "count": 1, "tags": [],
                   "note": "it's fine", "seen": "2024-04-01T00:00:00Z", "ok": false, "name": "jinja2"}),
            json!({"id": "c", "status": "Active", "score": 7.5, "count": 2, "tags": ["dev"],
                   "note": "x", "seen": "2024-05-01T12:00:00.500Z", "ok": true, "name": "openssl"}),
        ]
    }

    fn pairs(query: &[(&str, &str)]) -> Vec<(String, String)> {
        query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Parses and applies a query to [`items`]; the expectation is the ids kept, in order, or the error.
    fn check(query: &[(&str, &str)], expected: &str) {
        let got = Query::parse(&pairs(query)).and_then(|q| {
            q.check_fields(&[
                "id", "status", "score", "count", "tags", "note", "seen", "ok", "name",
            ])?;
            Ok(q.apply(items(), &["name", "status"]))
        });
        let got = match got {
            Ok(kept) => kept
                .iter()
                .map(|v| v["id"].as_str().unwrap_or("?").to_string())
                .collect::<Vec<_>>()
                .join(","),
            Err(e) => e.to_string(),
        };
        assert_eq!(got, expected, "query {query:?}");
    }

    fn filter(f: &str, expected: &str) {
        check(&[("$filter", f)], expected);
    }

    #[test]
    fn comparisons() {
        filter("status eq 'Active'", "a,c");
        filter("status ne 'Active'", "b");
        filter("score gt 7.5", "a");
        filter("score ge 7.5", "a,c");
        filter("score lt 7.5", "b");
        filter("score le 7.5", "b,c");
        filter("count eq 2", "a,c");
        filter("count eq 2.0", "a,c");
        filter("-1 lt count", "a,b,c");
        filter("ok eq true", "a,c");
        filter("ok ne true", "b");
        filter("note eq null", "a");
        filter("note ne null", "b,c");
        filter(
            "missing eq null",
            "unknown field 'missing' in $filter; valid fields: id, status, score, count, tags, note, seen, ok, name",
        );
        filter("note gt null", "");
        filter("score eq '9.8'", "");
        filter("note eq 'it''s fine'", "b");
        filter("count eq score", "");
        filter("1 eq 1", "a,b,c");
    }

    #[test]
    fn arrays_match_any_element_and_ne_negates() {
        filter("tags eq 'prod'", "a");
        filter("tags ne 'prod'", "b,c");
        filter("tags gt 'p'", "a");
    }

    #[test]
    fn date_times_compare_as_instants() {
        filter("seen gt 2024-04-15", "a,c");
        filter("seen gt 2024-05-01Z", "a,c");
        filter("seen gt 2024-05-01T12:00:00Z", "c");
        filter("seen eq 2024-05-01T14:00:00+02:00", "a");
        filter("seen lt '2024-05-01T12:00:00.5Z'", "a,b");
        filter(
            "seen gt 2024-13-01",
            "malformed $filter at position 9: '2024-13-01' is not a number or a date-time",
        );
    }

    #[test]
    fn logic_and_precedence() {
        filter("status eq 'Active' and score lt 9", "c");
        filter("status eq 'Exception' or score gt 9", "a,b");
        filter(
            "status eq 'Exception' or status eq 'Active' and score lt 9",
            "b,c",
        );
        filter(
            "(status eq 'Exception' or status eq 'Active') and score lt 9",
            "b,c",
        );
        filter(
            "(status eq 'Exception' or status eq 'Active') and (score lt 6 or id eq 'a')",
            "a,b",
        );
        filter("((((id eq 'c'))))", "c");
    }

    #[test]
    fn malformed_filters_name_the_position() {
        filter(
            "status eq",
            "malformed $filter at position 10: expected a field or a value, found end of input",
        );
        filter(
            "status 'Active'",
            "malformed $filter at position 8: expected a comparison operator (eq, ne, gt, ge, lt, le), found 'Active'",
        );
        filter(
            "status Eq 'Active'",
            "malformed $filter at position 8: expected a comparison operator (eq, ne, gt, ge, lt, le), found 'Eq'",
        );
        filter(
            "status eq 'Active",
            "malformed $filter at position 11: unterminated string literal",
        );
        filter(
            "(status eq 'Active'",
            "malformed $filter at position 20: expected ')' or an operator, found end of input",
        );
        filter(
            "status eq 'Active')",
            "malformed $filter at position 19: expected 'and', 'or' or end of input, found ')'",
        );
        filter(
            "status eq 'Active' and",
            "malformed $filter at position 23: expected a field or a value, found end of input",
        );
        filter(
            "status eq 'A' score eq 1",
            "malformed $filter at position 15: expected 'and', 'or' or end of input, found 'score'",
        );
        filter(
            "and eq 1",
            "malformed $filter at position 1: expected a field or a value, found 'and'",
        );
        filter(
            "id eq \"a\"",
            "malformed $filter at position 7: unexpected character '\"'",
        );
        filter(
            "count eq 1x",
            "malformed $filter at position 10: '1x' is not a number or a date-time",
        );
        filter(
            "",
            "malformed $filter at position 1: expected a field or a value, found end of input",
        );
        let deep = format!("{}id eq 'a'{}", "(".repeat(40), ")".repeat(40));
        filter(
            &deep,
            "malformed $filter at position 33: parentheses nest deeper than 32",
        );
    }

    #[test]
    fn long_chains_stay_flat() {
        let chain = vec!["id eq 'a'"; 5_000].join(" or ");
        let expr = parse_filter(&chain).map_err(|e| e.to_string());
        assert!(
            matches!(&expr, Ok(Expr::Or(v)) if v.len() == 5_000),
            "{expr:?}"
        );
    }

    #[test]
    fn plain_parameters_and_search() {
        check(&[("status", "Active")], "a,c");
        check(&[("status", "Active"), ("status", "Exception")], "a,b,c");
        check(
            &[("status", "Active"), ("count", "2"), ("score", "7.5")],
            "c",
        );
        check(&[("ok", "false")], "b");
        check(&[("note", "null")], "a");
        check(&[("tags", "web")], "a");
        check(&[("status", "active")], "");
        check(&[("search", "JIN")], "b");
        check(&[("search", "act")], "a,c");
        check(&[("search", "")], "a,b,c");
        check(&[("search", "prod")], "");
        check(
            &[("colour", "red")],
            "unknown field 'colour' in the query parameters; valid fields: id, status, score, count, tags, note, seen, ok, name",
        );
    }

    #[test]
    fn ordering_and_paging() {
        check(&[("$orderby", "score")], "b,c,a");
        check(&[("$orderby", "score desc")], "a,c,b");
        check(&[("$orderby", "count desc, id desc")], "c,a,b");
        check(&[("$orderby", "count desc,id")], "a,c,b");
        check(&[("$orderby", "note")], "a,b,c");
        check(&[("$orderby", "seen desc")], "c,a,b");
        check(&[("$orderby", "tags")], "b,c,a");
        check(&[("$orderby", "score"), ("$top", "2")], "b,c");
        check(&[("$orderby", "score"), ("$skip", "1")], "c,a");
        check(&[("$orderby", "score"), ("$skip", "1"), ("$top", "1")], "c");
        check(&[("$skip", "5")], "");
        check(&[("$top", "0")], "");
        check(&[("$top", "10000")], "a,b,c");
        check(
            &[("$top", "10001")],
            "$top must be at most 10000, got 10001",
        );
        check(
            &[("$top", "-1")],
            "$top must be a non-negative integer, got '-1'",
        );
        check(
            &[("$skip", "x")],
            "$skip must be a non-negative integer, got 'x'",
        );
        check(
            &[("$top", "1"), ("$top", "2")],
            "query option $top is given more than once",
        );
        check(
            &[("$count", "true")],
            "unsupported query option $count; supported: $filter, $orderby, $top, $skip",
        );
    }

    #[test]
    fn malformed_order_by() {
        check(
            &[("$orderby", "score up")],
            "malformed $orderby at position 7: expected 'asc' or 'desc', found 'up'",
        );
        check(
            &[("$orderby", "score asc desc")],
            "malformed $orderby at position 11: expected ',' or end of input, found 'desc'",
        );
        check(
            &[("$orderby", "score,,id")],
            "malformed $orderby at position 7: expected a field name",
        );
        check(
            &[("$orderby", "score, 9x")],
            "malformed $orderby at position 8: '9x' is not a field name",
        );
        check(
            &[("$orderby", "size desc")],
            "unknown field 'size' in $orderby; valid fields: id, status, score, count, tags, note, seen, ok, name",
        );
    }
}
