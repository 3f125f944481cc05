//! A JSON value that keeps everything a SafeTensors validator must see.
//!
//! `serde_json::Value` silently keeps the last of two duplicate keys and turns integers
//! above `u64::MAX` into floats, which is how the reference crate comes to accept a
//! header with conflicting tensor entries (specs/safetensors_validation.md §1,
//! "[tested] behaviour"). [`JsonValue`] keeps every object member in order, duplicates
//! included, and keeps the kind of every number, so the header validator can name each
//! duplicate and reject each non-integer. Parsing is I/O-free.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// A parsed JSON value with duplicate object keys preserved.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonValue {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A non-negative integer that fits in u64.
    U64(u64),
    /// A negative integer (any literal starting with `-` without fraction or exponent).
    I64(i64),
    /// Any other number: a fraction, an exponent, or an integer beyond u64.
    F64(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<JsonValue>),
    /// An object, members in document order, duplicates kept.
    Object(Vec<(String, JsonValue)>),
}

impl JsonValue {
    /// Short name of the value's kind, for messages ("a string", "an array", ...).
    pub fn kind(&self) -> &'static str {
        match self {
            JsonValue::Null => "null",
            JsonValue::Bool(_) => "a boolean",
            JsonValue::U64(_) => "an integer",
            JsonValue::I64(_) => "a negative integer",
            JsonValue::F64(_) => "a non-integer number",
            JsonValue::String(_) => "a string",
            JsonValue::Array(_) => "an array",
            JsonValue::Object(_) => "an object",
        }
    }

    /// The value as a non-negative integer, if it is one.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            JsonValue::U64(v) => Some(*v),
            _ => None,
        }
    }
}

/// How parsing the header text failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// The text is not JSON; the message has serde_json's line and column.
    Syntax(String),
    /// A complete value is followed by something other than whitespace.
    TrailingCharacters(String),
}

/// Parses exactly one JSON value, allowing whitespace (spaces, tabs, newlines) around it.
pub fn parse(text: &str) -> Result<JsonValue, JsonError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = JsonValue::deserialize(&mut de).map_err(|e| JsonError::Syntax(e.to_string()))?;
    de.end()
        .map_err(|e| JsonError::TrailingCharacters(e.to_string()))?;
    Ok(value)
}

impl<'de> Deserialize<'de> for JsonValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = JsonValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<JsonValue, E> {
        Ok(JsonValue::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<JsonValue, E> {
        Ok(JsonValue::Bool(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<JsonValue, E> {
        Ok(JsonValue::U64(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<JsonValue, E> {
        Ok(JsonValue::I64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<JsonValue, E> {
        Ok(JsonValue::F64(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<JsonValue, E> {
        Ok(JsonValue::String(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<JsonValue, E> {
        Ok(JsonValue::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonValue, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(JsonValue::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonValue, A::Error> {
        let mut out = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, JsonValue>()? {
            out.push((k, v));
        }
        Ok(JsonValue::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_duplicate_keys_in_order() {
        let v = parse(r#"{"a":1,"a":[2]}"#).unwrap();
        let JsonValue::Object(m) = v else { panic!() };
        assert_eq!(m.len(), 2);
        assert_eq!(m[0], ("a".into(), JsonValue::U64(1)));
        assert_eq!(
            m[1],
            ("a".into(), JsonValue::Array(vec![JsonValue::U64(2)]))
        );
    }

    #[test]
    fn keeps_number_kinds_apart() {
        assert_eq!(
            parse("18446744073709551615").unwrap(),
            JsonValue::U64(u64::MAX)
        );
        assert!(matches!(
            parse("18446744073709551616").unwrap(),
            JsonValue::F64(_)
        ));
        assert!(matches!(parse("1.0").unwrap(), JsonValue::F64(_)));
        assert!(matches!(parse("1e3").unwrap(), JsonValue::F64(_)));
        assert_eq!(parse("-1").unwrap(), JsonValue::I64(-1));
    }

    #[test]
    fn whitespace_allowed_around_but_nothing_else() {
        assert!(parse("  {}  \n\t").is_ok());
        assert!(matches!(
            parse("{} x"),
            Err(JsonError::TrailingCharacters(_))
        ));
        assert!(matches!(
            parse("{}{}"),
            Err(JsonError::TrailingCharacters(_))
        ));
        assert!(matches!(parse("{"), Err(JsonError::Syntax(_))));
        assert!(matches!(parse("\u{feff}{}"), Err(JsonError::Syntax(_))));
    }
}
