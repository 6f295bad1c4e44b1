//! The architecture's rules (docs/ARCHITECTURE.md, "Invariants"), checked over
//! the source as Rust reads it: every file is tokenised (comments are not
//! tokens, a string is one token), so an import is seen however it is
//! written (`use crate::{aws::registry}`, `super::`, a `crate::` path in code
//! or inside a macro). Each rule is a function from the sources to the lines
//! that break it; each has a twin test that plants a violation in a copy of
//! the sources and checks that the rule finds it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use syn::visit::Visit;

/// One source file: its path from the repository's root and its text.
#[derive(Clone)]
struct Source {
    path: String,
    text: String,
}

/// Every `.rs` file under `src/`.
fn sources() -> Vec<Source> {
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
        .map(|p| Source {
            text: std::fs::read_to_string(&p).unwrap(),
            path: p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"),
        })
        .collect()
}

/// The sources with `line` put in at the top of `path` (after its `//!`
/// docs), or in a new file at `path`: a planted violation.
fn planted(path: &str, line: &str) -> Vec<Source> {
    let mut all = sources();
    match all.iter_mut().find(|s| s.path == path) {
        Some(s) => {
            let docs: String = s
                .text
                .lines()
                .take_while(|l| l.starts_with("//!"))
                .map(|l| format!("{l}\n"))
                .collect();
            let rest = &s.text[docs.len()..];
            s.text = format!("{docs}{line}\n{rest}");
        }
        None => all.push(Source { path: path.into(), text: format!("//! Planted.\n{line}\n") }),
    }
    all
}

// ---------------------------------------------------------------------------
// Reading tokens

/// What a file's tokens say, each with its line.
#[derive(Default)]
struct Read {
    /// `a::b` pairs: the first two segments of every path, `super` and `self`
    /// resolved to the module they name (`crate::x`), a group expanded
    /// (`crate::{a, b}` is `crate::a` and `crate::b`).
    pairs: Vec<(String, String, usize)>,
    /// Every identifier (keywords included).
    idents: Vec<(String, usize)>,
    /// Every macro invoked, by its last name.
    macros: Vec<(String, usize)>,
    /// Every string literal's value.
    strings: Vec<(String, usize)>,
}

fn line(t: &TokenTree) -> usize {
    t.span().start().line
}

/// The module path of a file (`src/plan/diff.rs` is `["plan", "diff"]`).
fn module_path(file: &str) -> Vec<String> {
    let rel = file.trim_start_matches("src/").trim_end_matches(".rs");
    let mut parts: Vec<String> = rel.split('/').map(String::from).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

fn read(file: &Source) -> Read {
    let tokens = TokenStream::from_str(&file.text)
        .unwrap_or_else(|e| panic!("{} does not tokenise: {e}", file.path));
    let mut out = Read::default();
    walk_tokens(tokens, &module_path(&file.path), false, &mut out);
    out
}

fn is_path_sep(tokens: &[TokenTree], i: usize) -> bool {
    matches!((tokens.get(i), tokens.get(i + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':')
}

/// The first identifier of each comma-separated part of a brace group.
fn group_heads(group: &proc_macro2::Group) -> Vec<(String, usize)> {
    let mut heads = Vec::new();
    let mut expect = true;
    for t in group.stream() {
        match &t {
            TokenTree::Ident(i) if expect => {
                heads.push((i.to_string(), line(&t)));
                expect = false;
            }
            TokenTree::Punct(p) if p.as_char() == ',' => expect = true,
            _ => {}
        }
    }
    heads
}

fn walk_tokens(stream: TokenStream, module: &[String], in_test: bool, out: &mut Read) {
    let tokens: Vec<TokenTree> = stream.into_iter().collect();
    for (i, t) in tokens.iter().enumerate() {
        match t {
            TokenTree::Ident(id) => {
                let name = id.to_string();
                out.idents.push((name.clone(), line(t)));
                if matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!' && p.spacing() == Spacing::Alone)
                    && matches!(tokens.get(i + 2), Some(TokenTree::Group(_)))
                {
                    out.macros.push((name.clone(), line(t)));
                }
                if is_path_sep(&tokens, i + 1) {
                    let start = !(i >= 2 && is_path_sep(&tokens, i - 2));
                    path_pairs(&tokens, i, &name, start, module, out);
                }
            }
            TokenTree::Literal(lit) => {
                if let (false, Ok(syn::Lit::Str(s))) =
                    (in_test, syn::parse_str::<syn::Lit>(&lit.to_string()))
                {
                    out.strings.push((s.value(), line(t)));
                }
            }
            TokenTree::Group(g) => {
                // `mod name { ... }`: its paths are relative to `name`.
                let named = match (
                    i.checked_sub(2).map(|k| &tokens[k]),
                    i.checked_sub(1).map(|k| &tokens[k]),
                ) {
                    (Some(TokenTree::Ident(m)), Some(TokenTree::Ident(name)))
                        if m == "mod" && g.delimiter() == Delimiter::Brace =>
                    {
                        Some(name.to_string())
                    }
                    _ => None,
                };
                let mut inner = module.to_vec();
                inner.extend(named.clone());
                let test = in_test || named.as_deref() == Some("tests");
                walk_tokens(g.stream(), &inner, test, out);
            }
            TokenTree::Punct(_) => {}
        }
    }
}

/// The pairs a path gives from its identifier at `i` (followed by `::`): the
/// identifier and what follows it; at a path's start, `crate`, `self` and
/// `super` resolved to the module they name.
fn path_pairs(
    tokens: &[TokenTree],
    i: usize,
    name: &str,
    start: bool,
    module: &[String],
    out: &mut Read,
) {
    let mut base: Option<Vec<String>> = match (start, name) {
        (true, "crate") => Some(Vec::new()),
        (true, "self") => Some(module.to_vec()),
        (true, "super") => Some(module[..module.len().saturating_sub(1)].to_vec()),
        _ => None,
    };
    let mut j = i + 3;
    while let (Some(b), Some(TokenTree::Ident(next)), true) =
        (base.as_mut(), tokens.get(j), is_path_sep(tokens, j + 1))
    {
        if next != "super" {
            break;
        }
        b.pop();
        j += 3;
    }
    let first = match &base {
        Some(b) if !b.is_empty() => {
            out.pairs.push(("crate".into(), b[0].clone(), line(&tokens[i])));
            return;
        }
        Some(_) => "crate".to_string(),
        None => name.to_string(),
    };
    match tokens.get(j) {
        Some(next @ TokenTree::Ident(n)) => out.pairs.push((first, n.to_string(), line(next))),
        Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
            for (h, l) in group_heads(g) {
                out.pairs.push((first.clone(), h, l));
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// Layers

/// The layers, lowest first: a module may import its own layer and those
/// below it, never one above.
const LAYERS: &[(&str, &[&str])] = &[
    ("types", &["types"]),
    ("core", &["stack", "plan", "render", "cost"]),
    ("engine", &["provider", "observe", "apply"]),
    ("providers and backends", &["aws", "state"]),
    ("commands", &["ops", "cli", "lsp"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// The top-level module of a file (`None` for the crate's root files).
fn top_module(file: &str) -> Option<String> {
    module_path(file).into_iter().next()
}

/// Every import of one top-level module by another, with where it is.
fn imports(files: &[Source]) -> Vec<(String, String, String)> {
    let modules: BTreeSet<String> = files.iter().filter_map(|f| top_module(&f.path)).collect();
    let mut out = Vec::new();
    for f in files {
        let Some(from) = top_module(&f.path) else {
            continue;
        };
        for (a, b, l) in read(f).pairs {
            if a == "crate" && b != from && modules.contains(&b) {
                out.push((from.clone(), b, format!("{}:{l}", f.path)));
            }
        }
    }
    out
}

fn layering(files: &[Source]) -> Vec<String> {
    let mut bad = Vec::new();
    let modules: BTreeSet<String> = files.iter().filter_map(|f| top_module(&f.path)).collect();
    for m in &modules {
        if layer_of(m).is_none() {
            bad.push(format!("module {m} is in no layer (tidy.rs LAYERS, ARCHITECTURE.md)"));
        }
    }
    for (from, to, at) in imports(files) {
        if let (Some(lf), Some(lt)) = (layer_of(&from), layer_of(&to))
            && lt > lf
        {
            bad.push(format!(
                "{at}: {from} ({}) imports {to} ({}), a layer above it",
                LAYERS[lf].0, LAYERS[lt].0
            ));
        }
    }
    bad
}

fn loops(files: &[Source]) -> Vec<String> {
    let mut graph = petgraph::graphmap::DiGraphMap::<&str, (), std::hash::RandomState>::default();
    let edges = imports(files);
    let mut seen: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for (from, to, at) in &edges {
        graph.add_edge(from, to, ());
        seen.entry((from, to)).or_insert(at);
    }
    petgraph::algo::tarjan_scc(&graph)
        .into_iter()
        .filter(|scc| scc.len() > 1)
        .map(|scc| {
            let members: BTreeSet<&str> = scc.iter().copied().collect();
            let arrows: Vec<String> = seen
                .iter()
                .filter(|((a, b), _)| members.contains(a) && members.contains(b))
                .map(|((a, b), at)| format!("{a} -> {b} ({at})"))
                .collect();
            format!("an import loop: {}", arrows.join(", "))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// What each layer may do

fn in_layer(file: &str, layer: &str) -> bool {
    top_module(file).and_then(|m| layer_of(&m)).is_some_and(|l| LAYERS[l].0 == layer)
}

fn core(file: &str) -> bool {
    in_layer(file, "types") || in_layer(file, "core")
}

fn is_sdk(first: &str) -> bool {
    first.starts_with("aws_sdk_") || first == "aws_config" || first.starts_with("aws_smithy_")
}

/// No SDK in the core or the engine (the engine reaches AWS through
/// `Provider` and `Monitor`), and no waiting or I/O in the core.
fn purity(files: &[Source]) -> Vec<String> {
    let mut bad = Vec::new();
    for f in files {
        let core = core(&f.path);
        let engine = in_layer(&f.path, "engine");
        if !core && !engine {
            continue;
        }
        let r = read(f);
        for (a, b, l) in &r.pairs {
            let io = matches!(
                (a.as_str(), b.as_str()),
                ("std", "fs" | "net" | "process") | ("tokio", _)
            );
            if is_sdk(a) || (a == "crate" && b == "aws") {
                bad.push(format!("{}:{l}: names the SDK edge ({a}::{b})", f.path));
            } else if core && io {
                bad.push(format!("{}:{l}: does I/O in the core ({a}::{b})", f.path));
            }
        }
        if core {
            for (i, l) in &r.idents {
                if i == "async" || i == "await" {
                    bad.push(format!("{}:{l}: waits in the core ({i})", f.path));
                }
            }
        }
    }
    bad
}

/// The one file that reaches the terminal.
const TERMINAL: &str = "src/cli/view.rs";

/// Nothing prints but the terminal: no printing macro, no handle on standard
/// output or error elsewhere.
fn printing(files: &[Source]) -> Vec<String> {
    const MACROS: &[&str] = &["println", "eprintln", "print", "eprint", "dbg", "say", "sayln"];
    let mut bad = Vec::new();
    for f in files.iter().filter(|f| f.path != TERMINAL) {
        let r = read(f);
        for (m, l) in &r.macros {
            if MACROS.contains(&m.as_str()) {
                bad.push(format!("{}:{l}: {m}! outside {TERMINAL}", f.path));
            }
        }
        for (a, b, l) in &r.pairs {
            if a == "io" && (b == "stdout" || b == "stderr") {
                bad.push(format!("{}:{l}: io::{b} outside {TERMINAL}", f.path));
            }
        }
    }
    bad
}

/// Only the journal writes state, and nothing edits it behind the journal.
fn state_writes(files: &[Source]) -> Vec<String> {
    const JOURNAL: &str = "src/apply/journal.rs";
    let mut bad = Vec::new();
    for f in files.iter().filter(|f| f.path != JOURNAL) {
        let backend = f.path.starts_with("src/state/");
        for (name, l) in &read(f).idents {
            // The stores define `write_state` (and `Backend` hands it to the
            // store it is); only the journal calls it.
            if name == "state_mut" || (name == "write_state" && !backend) {
                bad.push(format!("{}:{l}: {name} outside the journal", f.path));
            }
        }
    }
    bad
}

/// Where a type's name may be written as a string: its description, its
/// provider, and the rule files that are about named types.
const TYPE_NAME_PLACES: &[&str] = &[
    "src/types/",
    "src/aws/",
    "src/stack/network.rs",
    "src/stack/eks.rs",
    "src/stack/reach.rs",
    "src/plan/eks.rs",
];

fn type_names(files: &[Source]) -> Vec<String> {
    let names: BTreeSet<&str> = infra::types::SCHEMAS.iter().map(|s| s.name).collect();
    let mut bad = Vec::new();
    for f in files {
        if TYPE_NAME_PLACES.iter().any(|p| f.path.starts_with(p)) {
            continue;
        }
        for (s, l) in read(f).strings {
            if names.contains(s.as_str()) {
                bad.push(format!("{}:{l}: the type name {s:?} outside its schema", f.path));
            }
        }
    }
    bad
}

/// Every file says what it is (`//!`).
fn module_docs(files: &[Source]) -> Vec<String> {
    files
        .iter()
        .filter(|f| !f.text.trim_start().starts_with("//!"))
        .map(|f| format!("{}: no `//!` doc", f.path))
        .collect()
}

/// Every file is on the code map: its path in ARCHITECTURE.md, or its name in
/// the entry of its folder.
fn mapped(files: &[Source], architecture: &str) -> Vec<String> {
    let entries: Vec<&str> = architecture.split("\n- ").collect();
    files
        .iter()
        .filter(|f| {
            let path = &f.path;
            if architecture.contains(&format!("`{path}`")) {
                return false;
            }
            let (folder, name) = path.rsplit_once('/').unwrap();
            !entries
                .iter()
                .any(|e| e.starts_with(&format!("`{folder}/`")) && e.contains(&format!("`{name}`")))
        })
        .map(|f| format!("{}: not on the code map of docs/ARCHITECTURE.md", f.path))
        .collect()
}

const MAX_FILE_LINES: usize = 800;
const MAX_FN_LINES: usize = 120;

/// No file over 800 lines, no function over 120.
fn sizes(files: &[Source]) -> Vec<String> {
    struct Fns<'a> {
        file: &'a str,
        bad: Vec<String>,
    }
    impl Fns<'_> {
        fn check(&mut self, name: &syn::Ident, start: usize, end: usize) {
            let lines = end - start + 1;
            if lines > MAX_FN_LINES {
                self.bad.push(format!(
                    "{}:{start}: fn {name} is {lines} lines (at most {MAX_FN_LINES})",
                    self.file
                ));
            }
        }
    }
    impl<'ast> Visit<'ast> for Fns<'_> {
        fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
            let start = f.sig.fn_token.span.start().line;
            self.check(&f.sig.ident, start, f.block.brace_token.span.close().end().line);
            syn::visit::visit_item_fn(self, f);
        }
        fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
            let start = f.sig.fn_token.span.start().line;
            self.check(&f.sig.ident, start, f.block.brace_token.span.close().end().line);
            syn::visit::visit_impl_item_fn(self, f);
        }
        fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
            if let Some(b) = &f.default {
                let start = f.sig.fn_token.span.start().line;
                self.check(&f.sig.ident, start, b.brace_token.span.close().end().line);
            }
            syn::visit::visit_trait_item_fn(self, f);
        }
    }
    let mut bad = Vec::new();
    for f in files {
        let lines = f.text.lines().count();
        if lines > MAX_FILE_LINES {
            bad.push(format!("{}: {lines} lines (at most {MAX_FILE_LINES})", f.path));
        }
        let ast = syn::parse_file(&f.text).unwrap_or_else(|e| panic!("{}: {e}", f.path));
        let mut fns = Fns { file: &f.path, bad: Vec::new() };
        fns.visit_file(&ast);
        bad.extend(fns.bad);
    }
    bad
}

fn architecture() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ARCHITECTURE.md"))
        .unwrap()
}

/// A violation without its numbers (lines, lengths), as `KNOWN` lists it.
fn key(violation: &str) -> String {
    let mut out = String::new();
    for c in violation.chars() {
        if c.is_ascii_digit() {
            if !out.ends_with('#') {
                out.push('#');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The violations there were when these rules came in (issue 29), a line
/// each (`rule | violation`, numbers as `#`), each as often as it occurred, that the issue's later steps clear: a rule fails on
/// any other violation, and on one listed here that is gone, so that the list
/// only shrinks. It is empty when the issue is done.
const KNOWN: &str = r#"
"#;

fn assert_none(rule: &str, bad: Vec<String>) {
    let mut known: BTreeMap<String, usize> = BTreeMap::new();
    for k in KNOWN.lines().filter_map(|l| l.strip_prefix(rule)?.strip_prefix(" | ")) {
        *known.entry(k.to_string()).or_default() += 1;
    }
    let mut found: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for b in &bad {
        found.entry(key(b)).or_default().push(b);
    }
    let mut new = Vec::new();
    for (k, all) in &found {
        let allowed = known.get(k).copied().unwrap_or(0);
        if all.len() > allowed {
            new.extend(all.iter().map(|b| b.to_string()));
        }
    }
    assert!(new.is_empty(), "{rule}:\n{}", new.join("\n"));
    // What this rule's known violations were and are no more.
    let gone: Vec<&String> = known
        .iter()
        .filter(|(k, n)| found.get(*k).map_or(0, Vec::len) < **n)
        .map(|(k, _)| k)
        .collect();
    assert!(
        gone.is_empty(),
        "{rule}: fixed, take these out of KNOWN:\n{}",
        gone.iter().map(|g| g.as_str()).collect::<Vec<_>>().join("\n")
    );
}

// ---------------------------------------------------------------------------
// The rules over the source

#[test]
fn no_module_imports_a_layer_above_its_own() {
    assert_none("an import climbs a layer", layering(&sources()));
}

#[test]
fn no_modules_import_each_other_in_a_loop() {
    assert_none("import loops", loops(&sources()));
}

#[test]
fn the_core_is_pure_and_the_engine_reaches_aws_through_providers() {
    assert_none("impure", purity(&sources()));
}

#[test]
fn only_the_terminal_prints() {
    assert_none("printing outside the terminal", printing(&sources()));
}

#[test]
fn only_the_journal_writes_state() {
    assert_none("state written behind the journal", state_writes(&sources()));
}

#[test]
fn type_names_stay_with_their_types() {
    assert_none("type names outside their schemas", type_names(&sources()));
}

#[test]
fn every_file_says_what_it_is_and_is_on_the_code_map() {
    let files = sources();
    let mut bad = module_docs(&files);
    bad.extend(mapped(&files, &architecture()));
    assert_none("undocumented files", bad);
}

#[test]
fn no_file_or_function_is_too_long() {
    assert_none("too long", sizes(&sources()));
}

// ---------------------------------------------------------------------------
// Their twins: each rule catches a planted violation.

#[test]
fn a_grouped_import_of_a_higher_layer_is_caught() {
    let bad = layering(&planted("src/plan/mod.rs", "use crate::{aws::registry};"));
    assert!(bad.iter().any(|b| b.contains("plan (core) imports aws")), "{bad:?}");
    let bad =
        layering(&planted("src/stack/mod.rs", "fn f() { let _ = crate::apply::Engine::new; }"));
    assert!(bad.iter().any(|b| b.contains("stack (core) imports apply")), "{bad:?}");
    let bad = layering(&planted(
        "src/types/mod.rs",
        "fn f() -> String { format!(\"{}\", crate::cost::X) }",
    ));
    assert!(bad.iter().any(|b| b.contains("types (types) imports cost")), "{bad:?}");
    let bad = layering(&planted("src/extra.rs", "use crate::types::Address;"));
    assert!(bad.iter().any(|b| b.contains("module extra is in no layer")), "{bad:?}");
}

#[test]
fn an_import_loop_is_caught() {
    let bad = loops(&planted("src/aws/mod.rs", "use super::state::Backend;"));
    assert!(bad.iter().any(|b| b.contains("aws -> state")), "{bad:?}");
}

#[test]
fn io_in_the_core_and_the_sdk_in_the_engine_are_caught() {
    let bad = purity(&planted("src/cost/mod.rs", "use std::{fs, io};"));
    assert!(bad.iter().any(|b| b.contains("does I/O")), "{bad:?}");
    let bad = purity(&planted("src/plan/mod.rs", "async fn f() {}"));
    assert!(bad.iter().any(|b| b.contains("waits in the core")), "{bad:?}");
    let bad = purity(&planted("src/apply/run.rs", "use aws_sdk_s3::Client;"));
    assert!(bad.iter().any(|b| b.contains("names the SDK")), "{bad:?}");
}

#[test]
fn printing_outside_the_terminal_is_caught() {
    for line in [
        "fn f() { println!(\"x\"); }",
        "fn f() { sayln!(\"x\"); }",
        "fn f() { let _ = std::io::stderr(); }",
    ] {
        let bad = printing(&planted("src/apply/run.rs", line));
        assert!(bad.iter().any(|b| b.starts_with("src/apply/run.rs")), "{line}: {bad:?}");
    }
}

#[test]
fn a_state_edit_behind_the_journal_is_caught() {
    let bad = state_writes(&planted("src/ops/mod.rs", "fn f(j: J) { j.state_mut(); }"));
    assert!(bad.iter().any(|b| b.contains("state_mut")), "{bad:?}");
    let bad =
        state_writes(&planted("src/cli/state.rs", "fn f(b: B) { b.write_state(vec![], 1); }"));
    assert!(bad.iter().any(|b| b.contains("write_state")), "{bad:?}");
}

#[test]
fn a_type_name_outside_its_schema_is_caught() {
    let bad = type_names(&planted("src/render/markdown.rs", "const T: &str = \"s3_bucket\";"));
    assert!(bad.iter().any(|b| b.contains("\"s3_bucket\"")), "{bad:?}");
}

#[test]
fn an_undocumented_or_unmapped_file_is_caught() {
    let mut files = sources();
    files.push(Source { path: "src/plan/unmapped.rs".into(), text: "fn f() {}\n".into() });
    assert!(module_docs(&files).iter().any(|b| b.contains("unmapped.rs")));
    assert!(mapped(&files, &architecture()).iter().any(|b| b.contains("unmapped.rs")));
}

#[test]
fn a_long_file_or_function_is_caught() {
    let body = "    let _ = 1;\n".repeat(MAX_FN_LINES);
    let bad = sizes(&planted("src/plan/mod.rs", &format!("fn long() {{\n{body}}}")));
    assert!(bad.iter().any(|b| b.contains("fn long is")), "{bad:?}");
    let bad = sizes(&planted("src/plan/mod.rs", &"const _: () = ();\n".repeat(MAX_FILE_LINES)));
    assert!(bad.iter().any(|b| b.starts_with("src/plan/mod.rs: ")), "{bad:?}");
}
