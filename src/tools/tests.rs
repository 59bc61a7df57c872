//! Every tool in [`super::TOOLS`], checked: schemas the validator fully understands, unique
//! names. Out of line, so a tool pasted at the end of `tools.rs` (README) follows no test module.

use super::*;
use crate::rules::mcp::schema::unknown_keywords;
use crate::rules::mcp::version::Version;
use serde_json::Value;

#[test]
fn every_schema_is_json_the_validator_fully_understands() {
    for t in TOOLS {
        let input: Value = serde_json::from_str(t.input_schema).expect(t.name);
        assert_eq!(input["type"], "object", "{}", t.name);
        assert_eq!(input["additionalProperties"], false, "{} refuses unknown arguments", t.name);
        assert!(unknown_keywords(&input).is_empty(), "{}", t.name);
        if let Some(schema) = t.output_schema {
            let output: Value = serde_json::from_str(schema).expect(t.name);
            assert_eq!(output["type"], "object", "{}", t.name);
        }
        assert!(t.describe(Version::V2026_07_28).is_some());
    }
}

#[test]
fn names_are_unique_and_well_formed() {
    let mut names: Vec<&str> = TOOLS.iter().map(|t| t.name).collect();
    assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))));
    names.sort();
    names.dedup();
    assert_eq!(names.len(), TOOLS.len());
}

#[test]
fn iso8601_known_instants() {
    assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
    assert_eq!(iso8601(1_785_240_000_123), "2026-07-28T12:00:00.123Z");
    assert_eq!(iso8601(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
}
