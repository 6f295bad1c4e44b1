//! The architecture's rules (docs/ARCHITECTURE.md, "Invariants"), checked over
//! the source text: each rule lists every line that breaks it.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `src/`, with its lines stripped of `//` comments.
fn sources() -> Vec<(String, Vec<String>)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(&root.join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let lines = text.lines().map(strip_comment).collect();
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, lines)
        })
        .collect()
}

/// A line without its `//` comment (a `//` inside a string literal is kept).
fn strip_comment(line: &str) -> String {
    let mut in_str = false;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '"' if prev != '\\' => in_str = !in_str,
            '/' if !in_str && prev == '/' => return line[..i - 1].to_string(),
            _ => {}
        }
        prev = c;
    }
    line.to_string()
}

/// The lines of the files `under` selects that contain any of `needles`, as
/// `file:line: text`.
fn offending(under: impl Fn(&str) -> bool, needles: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for (file, lines) in sources().iter().filter(|(f, _)| under(f)) {
        for (i, line) in lines.iter().enumerate() {
            if needles.iter().any(|n| line.contains(n)) {
                out.push(format!("{file}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    out
}

/// The pure core: the type descriptions, the stack file, the graph, the plan,
/// the renderers and the step graph.
fn core(file: &str) -> bool {
    ["src/types/", "src/stack/", "src/plan/", "src/render/"]
        .iter()
        .any(|d| file.starts_with(d))
        || file == "src/graph.rs"
        || file == "src/apply/steps.rs"
}

const SDK_EDGE: &[&str] = &["crate::aws", "aws_sdk_", "aws_config", "aws_smithy_"];

#[test]
fn the_core_does_not_reach_the_sdk_edge() {
    let bad = offending(core, SDK_EDGE);
    assert!(
        bad.is_empty(),
        "the core imports the SDK edge:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_core_neither_waits_nor_does_io() {
    let bad = offending(
        core,
        &[
            ".await",
            "async ",
            "tokio::",
            "std::fs",
            "std::net",
            "std::process",
        ],
    );
    assert!(bad.is_empty(), "the core does I/O:\n{}", bad.join("\n"));
}

#[test]
fn type_descriptions_depend_on_nothing_but_themselves() {
    let layers = [
        "crate::stack",
        "crate::graph",
        "crate::plan",
        "crate::render",
        "crate::apply",
        "crate::state",
        "crate::provider",
        "crate::observe",
        "crate::ops",
        "crate::cli",
    ];
    let bad = offending(|f| f.starts_with("src/types/"), &layers);
    assert!(bad.is_empty(), "src/types reaches out:\n{}", bad.join("\n"));
}

#[test]
fn the_engine_reaches_aws_only_through_providers() {
    let bad = offending(|f| f.starts_with("src/apply/"), SDK_EDGE);
    assert!(
        bad.is_empty(),
        "src/apply uses the SDK:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_engine_and_the_providers_never_print() {
    let bad = offending(
        |f| f.starts_with("src/apply/") || f.starts_with("src/aws/"),
        &["println!", "eprintln!", "print!(", "eprint!(", "dbg!("],
    );
    assert!(
        bad.is_empty(),
        "progress goes through observe::Observer, not the terminal:\n{}",
        bad.join("\n")
    );
}

#[test]
fn only_the_journal_writes_state() {
    // `Backend::write_state` is the one way to a state file or object; the
    // journal is its one caller, and the backends define it.
    let bad = offending(
        |f| !f.starts_with("src/state/") && f != "src/apply/journal.rs",
        &["write_state("],
    );
    assert!(
        bad.is_empty(),
        "a state write outside the journal:\n{}",
        bad.join("\n")
    );
    let callers = offending(|f| f == "src/apply/journal.rs", &["write_state("]);
    assert_eq!(callers.len(), 1, "{callers:?}");
}

#[test]
fn every_provider_call_site_names_a_registry() {
    // No dispatch by type name outside the one registry.
    let bad = offending(|_| true, &["with_provider!", "macro_rules! with_provider"]);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_rules_see_what_they_look_for() {
    // A rule that cannot fail is no rule: each needle above is found where it
    // is allowed.
    assert!(!offending(|f| f.starts_with("src/aws/"), SDK_EDGE).is_empty());
    assert!(!offending(|f| f.starts_with("src/cli/"), &["eprintln!"]).is_empty());
    assert!(!offending(|f| f.starts_with("src/state/"), &["write_state("]).is_empty());
    assert_eq!(strip_comment("let a = 1; // b"), "let a = 1; ");
    assert_eq!(
        strip_comment(r#"let u = "http://x";"#),
        r#"let u = "http://x";"#
    );
}
