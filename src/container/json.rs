//! A JSON value that keeps everything a SafeTensors validator must see.
//!
//! `serde_json::Value` silently keeps the last of two duplicate keys and turns integers
//! above `u64::MAX` into floats, which is how the reference crate comes to accept a
//! header with conflicting tensor entries (specs/safetensors_validation.md §1,
//! "[tested] behaviour"). [`JsonValue`] keeps every object member in order, duplicates
//! included, and keeps the kind of every number, so the header validator can name each
//! duplicate and reject each non-integer. Parsing is I/O-free.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
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

/// [`JsonValue`] borrowing strings and keys from the parsed text wherever they have no
/// escapes, so that the header parser allocates only what it keeps (a header holds
/// thousands of `"dtype"`, `"shape"` and `"data_offsets"` keys). Same variants and the
/// same meaning as [`JsonValue`]; [`BorrowedValue::into_owned`] converts.
#[derive(Debug, Clone, PartialEq)]
pub enum BorrowedValue<'a> {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A non-negative integer that fits in u64.
    U64(u64),
    /// A negative integer.
    I64(i64),
    /// Any other number: a fraction, an exponent, or an integer beyond u64.
    F64(f64),
    /// A string.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<BorrowedValue<'a>>),
    /// An object, members in document order, duplicates kept.
    Object(Vec<(Cow<'a, str>, BorrowedValue<'a>)>),
}

impl BorrowedValue<'_> {
    /// Short name of the value's kind, as [`JsonValue::kind`].
    pub fn kind(&self) -> &'static str {
        match self {
            BorrowedValue::Null => "null",
            BorrowedValue::Bool(_) => "a boolean",
            BorrowedValue::U64(_) => "an integer",
            BorrowedValue::I64(_) => "a negative integer",
            BorrowedValue::F64(_) => "a non-integer number",
            BorrowedValue::String(_) => "a string",
            BorrowedValue::Array(_) => "an array",
            BorrowedValue::Object(_) => "an object",
        }
    }

    /// The value as a non-negative integer, if it is one.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            BorrowedValue::U64(v) => Some(*v),
            _ => None,
        }
    }

    /// The owned [`JsonValue`] with the same content.
    pub fn into_owned(self) -> JsonValue {
        match self {
            BorrowedValue::Null => JsonValue::Null,
            BorrowedValue::Bool(b) => JsonValue::Bool(b),
            BorrowedValue::U64(v) => JsonValue::U64(v),
            BorrowedValue::I64(v) => JsonValue::I64(v),
            BorrowedValue::F64(v) => JsonValue::F64(v),
            BorrowedValue::String(s) => JsonValue::String(s.into_owned()),
            BorrowedValue::Array(items) => {
                JsonValue::Array(items.into_iter().map(BorrowedValue::into_owned).collect())
            }
            BorrowedValue::Object(members) => JsonValue::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
            ),
        }
    }
}

/// Parses exactly one JSON value like [`parse`], borrowing from `text` where it can.
pub fn parse_borrowed(text: &str) -> Result<BorrowedValue<'_>, JsonError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value =
        BorrowedValue::deserialize(&mut de).map_err(|e| JsonError::Syntax(e.to_string()))?;
    de.end()
        .map_err(|e| JsonError::TrailingCharacters(e.to_string()))?;
    Ok(value)
}

impl<'de> Deserialize<'de> for JsonValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BorrowedValue::deserialize(deserializer).map(BorrowedValue::into_owned)
    }
}

impl<'de> Deserialize<'de> for BorrowedValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

/// An object key, borrowed from the input when the deserializer allows it.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = BorrowedValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BorrowedValue::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(BorrowedValue::Bool(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(BorrowedValue::U64(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(BorrowedValue::I64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(BorrowedValue::F64(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(BorrowedValue::String(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(BorrowedValue::String(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(BorrowedValue::String(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element()? {
            out.push(v);
        }
        Ok(BorrowedValue::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some((Key(k), v)) = map.next_entry::<Key<'de>, BorrowedValue<'de>>()? {
            out.push((k, v));
        }
        Ok(BorrowedValue::Object(out))
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
    fn borrowed_parse_borrows_plain_strings_and_matches_the_owned_parse() {
        let text = r#"{"a":{"dtype":"F32","esc\u0041":"x\ny"},"a":[1,-2,3.5,null,true]}"#;
        let v = parse_borrowed(text).unwrap();
        let BorrowedValue::Object(m) = &v else {
            panic!()
        };
        assert!(matches!(m[0].0, Cow::Borrowed("a")));
        let BorrowedValue::Object(inner) = &m[0].1 else {
            panic!()
        };
        assert!(matches!(
            inner[0].1,
            BorrowedValue::String(Cow::Borrowed("F32"))
        ));
        assert_eq!(inner[1].0, "escA", "escaped keys are decoded");
        assert_eq!(inner[1].1, BorrowedValue::String(Cow::Owned("x\ny".into())));
        assert_eq!(v.into_owned(), parse(text).unwrap());
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
