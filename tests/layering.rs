//! The layers depend one way: runtime → service → web → {rules, store}; store → rules;
//! tools → {rules, store}. This reads the production code of every file (up to its first
//! `#[cfg(test)]`, comments removed) and fails on any path that points up, and on the reply
//! type or the runtime crate anywhere under the pure `rules/`.

use std::fs;
use std::path::{Path, PathBuf};

/// Per layer folder: what its production code must never name.
const RULES: &[(&str, &[&str])] = &[
    ("rules", &["crate::web", "crate::service", "crate::runtime", "crate::store", "crate::tools", "Reply", "worker::"]),
    ("store", &["crate::web", "crate::service", "crate::runtime", "crate::tools", "Reply", "worker::"]),
    ("tools", &["crate::web", "crate::service", "crate::runtime", "Reply", "worker::"]),
    ("web", &["crate::service", "crate::runtime", "crate::tools", "worker::"]),
    ("service", &["crate::runtime", "worker::"]),
];

fn production(text: &str) -> String {
    let body = text.split("#[cfg(test)]").next().unwrap_or("");
    body.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The forbidden names `text` uses, as whole paths or identifiers.
fn violations(text: &str, forbidden: &[&str]) -> Vec<String> {
    let code = production(text);
    forbidden
        .iter()
        .filter(|name| {
            code.match_indices(*name).any(|(i, _)| {
                let before = code[..i].chars().next_back();
                let after = code[i + name.len()..].chars().next();
                let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                !word(before) && (!word(after) || name.ends_with("::"))
            })
        })
        .map(|n| n.to_string())
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_layer_points_up() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    let mut checked = 0;
    for (layer, forbidden) in RULES {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        let module_file = src.join(format!("{layer}.rs"));
        if module_file.exists() {
            files.push(module_file);
        }
        assert!(!files.is_empty(), "src/{layer} exists");
        for file in files {
            checked += 1;
            let text = fs::read_to_string(&file).unwrap();
            for name in violations(&text, forbidden) {
                problems.push(format!("{} names {name}", file.display()));
            }
        }
    }
    assert!(checked > 30, "only {checked} files found");
    assert!(problems.is_empty(), "layering broken:\n{}", problems.join("\n"));
}

#[test]
fn the_check_sees_a_violation_and_ignores_comments_and_tests() {
    let bad = "use crate::web::http::Reply;\nfn f() -> Reply { todo!() }";
    assert_eq!(violations(bad, &["crate::web", "Reply"]), ["crate::web", "Reply"]);
    let fine =
        "// crate::web is mentioned in a comment\nfn reply_count() {}\n#[cfg(test)]\nuse crate::web::http::Reply;";
    assert!(violations(fine, &["crate::web", "Reply"]).is_empty());
    assert!(violations("let replyish = ReplyBuilder;", &["Reply"]).is_empty(), "whole words only");
}
