//! Validation of tool arguments against the tool's own `inputSchema`, so the schema a client
//! sees is exactly the rule the server applies. Supports the JSON Schema subset the tools use
//! (a unit test refuses any schema in `crate::tools` that uses more; keywords outside the
//! subset are not enforced): `type`, `properties`, `required`,
//! `additionalProperties: false`, `enum`, `minLength`/`maxLength`, `minimum`/`maximum`,
//! `items`, `minItems`/`maxItems`, plus the annotations `title`, `description`, `default`,
//! `examples`, `format` and `$schema`.

use serde_json::{Map, Value};

/// Keywords the validator understands or may safely ignore.
pub const KNOWN_KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "items",
    "minItems",
    "maxItems",
    "title",
    "description",
    "default",
    "examples",
    "format",
    "$schema",
];

/// Which argument failed, and what was expected of it, in words for the model to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    /// `message`, `items[2]`, or empty for the arguments object itself.
    pub path: String,
    pub problem: String,
}

impl std::fmt::Display for ArgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.problem)
        } else {
            write!(f, "argument `{}`: {}", self.path, self.problem)
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn matches_type(v: &Value, ty: &str) -> bool {
    match ty {
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        // 1.0 is an integer in JSON Schema.
        "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => false,
    }
}

fn article(ty: &str) -> String {
    match ty {
        "integer" | "object" | "array" => format!("an {ty}"),
        _ => format!("a {ty}"),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Validates `value` against `schema`; the first problem found, by document order.
pub fn validate(schema: &Value, value: &Value) -> Result<(), ArgError> {
    check(schema, value, "")
}

/// Validates a tool's arguments object where it lies, without copying it into a `Value`.
pub fn validate_arguments(schema: &Value, args: &Map<String, Value>) -> Result<(), ArgError> {
    match schema.as_object() {
        Some(s) if s.get("type").and_then(Value::as_str).is_none_or(|t| t == "object") => check_object(s, args, ""),
        _ => validate(schema, &Value::Object(args.clone())),
    }
}

fn check(schema: &Value, value: &Value, path: &str) -> Result<(), ArgError> {
    let Some(s) = schema.as_object() else {
        return Ok(());
    };
    let fail = |problem: String| Err(ArgError { path: path.to_string(), problem });

    if let Some(ty) = s.get("type").and_then(Value::as_str) {
        if !matches_type(value, ty) {
            return fail(format!("expected {}, got {}", article(ty), type_name(value)));
        }
    }
    if let Some(options) = s.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            let list: Vec<String> = options.iter().map(Value::to_string).collect();
            return fail(format!("must be one of {}", list.join(", ")));
        }
    }
    if let Some(text) = value.as_str() {
        let len = text.chars().count() as u64;
        if let Some(min) = s.get("minLength").and_then(Value::as_u64) {
            if len < min {
                return fail(format!("must be at least {min} characters long"));
            }
        }
        if let Some(max) = s.get("maxLength").and_then(Value::as_u64) {
            if len > max {
                return fail(format!("must be at most {max} characters long (got {len})"));
            }
        }
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = s.get("minimum").and_then(Value::as_f64) {
            if n < min {
                return fail(format!("must be at least {min}"));
            }
        }
        if let Some(max) = s.get("maximum").and_then(Value::as_f64) {
            if n > max {
                return fail(format!("must be at most {max}"));
            }
        }
    }
    if let Some(items) = value.as_array() {
        let n = items.len() as u64;
        if let Some(min) = s.get("minItems").and_then(Value::as_u64) {
            if n < min {
                return fail(format!("must have at least {min} items"));
            }
        }
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64) {
            if n > max {
                return fail(format!("must have at most {max} items"));
            }
        }
        if let Some(item_schema) = s.get("items") {
            for (i, item) in items.iter().enumerate() {
                check(item_schema, item, &format!("{path}[{i}]"))?;
            }
        }
    }
    if let Some(obj) = value.as_object() {
        check_object(s, obj, path)?;
    }
    Ok(())
}

fn check_object(s: &Map<String, Value>, obj: &Map<String, Value>, path: &str) -> Result<(), ArgError> {
    let props = s.get("properties").and_then(Value::as_object);
    if let Some(required) = s.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if !obj.contains_key(name) {
                let expected = props
                    .and_then(|p| p.get(name))
                    .and_then(|p| p.get("type"))
                    .and_then(Value::as_str)
                    .map(|t| format!(" ({})", article(t)))
                    .unwrap_or_default();
                return Err(ArgError { path: join(path, name), problem: format!("is required{expected}") });
            }
        }
    }
    for (key, v) in obj {
        match props.and_then(|p| p.get(key)) {
            Some(prop_schema) => check(prop_schema, v, &join(path, key))?,
            None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                let known: Vec<&str> = props.map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default();
                return Err(ArgError {
                    path: join(path, key),
                    problem: format!("is not a known argument (known: {})", known.join(", ")),
                });
            }
            None => {}
        }
    }
    Ok(())
}

/// Every keyword in `schema` (recursively) that this validator does not know.
pub fn unknown_keywords(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(s) = schema.as_object() {
        for (k, v) in s {
            if !KNOWN_KEYWORDS.contains(&k.as_str()) {
                out.push(k.clone());
            }
            match k.as_str() {
                "properties" => {
                    for sub in v.as_object().into_iter().flat_map(|m| m.values()) {
                        out.extend(unknown_keywords(sub));
                    }
                }
                "items" => out.extend(unknown_keywords(v)),
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "message": { "type": "string", "minLength": 1, "maxLength": 5 },
                "n": { "type": "integer", "minimum": 0, "maximum": 10 },
                "mode": { "type": "string", "enum": ["a", "b"] },
                "tags": { "type": "array", "items": { "type": "string" }, "maxItems": 2 }
            },
            "required": ["message"],
            "additionalProperties": false
        })
    }

    fn err(v: Value) -> String {
        validate(&schema(), &v).unwrap_err().to_string()
    }

    #[test]
    fn accepts_valid_arguments() {
        assert_eq!(validate(&schema(), &json!({"message": "hi"})), Ok(()));
        assert_eq!(validate(&schema(), &json!({"message": "hi", "n": 3.0, "mode": "b", "tags": ["x"]})), Ok(()));
    }

    #[test]
    fn names_the_argument_and_what_was_expected() {
        assert_eq!(err(json!({})), "argument `message`: is required (a string)");
        assert_eq!(err(json!({"message": 5})), "argument `message`: expected a string, got an integer");
        assert_eq!(err(json!({"message": ""})), "argument `message`: must be at least 1 characters long");
        assert_eq!(err(json!({"message": "toolong"})), "argument `message`: must be at most 5 characters long (got 7)");
        assert_eq!(err(json!({"message": "x", "n": 1.5})), "argument `n`: expected an integer, got a number");
        assert_eq!(err(json!({"message": "x", "n": 11})), "argument `n`: must be at most 10");
        assert_eq!(err(json!({"message": "x", "mode": "c"})), "argument `mode`: must be one of \"a\", \"b\"");
        assert_eq!(
            err(json!({"message": "x", "tags": ["a", 1]})),
            "argument `tags[1]`: expected a string, got an integer"
        );
        assert_eq!(err(json!({"message": "x", "tags": ["a", "b", "c"]})), "argument `tags`: must have at most 2 items");
        assert_eq!(
            err(json!({"message": "x", "extra": 1})),
            "argument `extra`: is not a known argument (known: message, mode, n, tags)"
        );
        assert_eq!(err(json!([1])), "expected an object, got an array");
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert_eq!(validate(&schema(), &json!({"message": "ééééé"})), Ok(()));
    }

    #[test]
    fn reports_unknown_keywords() {
        assert!(unknown_keywords(&schema()).is_empty());
        assert_eq!(unknown_keywords(&json!({"properties": {"a": {"pattern": "x"}}})), vec!["pattern"]);
    }
}
