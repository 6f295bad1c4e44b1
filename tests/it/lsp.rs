//! `infra lsp`: driven end to end by a real LSP client (pytest-lsp, in the
//! tests' virtualenv, through tests/lsp/test_lsp.py), and its analysis fed
//! every prefix of a stack file, at every line, without a panic.

use std::path::Path;
use std::process::Command;

use infra::lsp::analysis::{self, Doc};

#[test]
fn a_real_lsp_client_diagnoses_hovers_completes_jumps_and_fixes() {
    let venv = std::env::var("MOTO_SERVER").expect("MOTO_SERVER: run the tests with scripts/test");
    let python = Path::new(&venv).with_file_name("python");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(&python)
        .args(["-m", "pytest", "tests/lsp", "-q", "-p", "no:cacheprovider"])
        .args(["-o", "asyncio_mode=auto", "-o", "asyncio_default_fixture_loop_scope=function"])
        .current_dir(root)
        .env("INFRA_BIN", env!("CARGO_BIN_EXE_infra"))
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(said.contains("4 passed"), "{said}");
}

#[test]
fn every_prefix_of_a_stack_file_is_analysed_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("stacks/platform.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let modules = |p: &str| std::fs::read_to_string(root.join("stacks").join(p)).ok();
    let whole = |p: &str| std::fs::read_to_string(p).ok();
    let none = |_: &str| None;
    let cuts: Vec<usize> = (0..=text.len()).filter(|i| text.is_char_boundary(*i)).collect();
    for (n, &cut) in cuts.iter().enumerate() {
        let prefix = &text[..cut];
        let doc = Doc::new(prefix);
        let lines = prefix.split('\n').count();
        let line = lines - 1;
        let end = prefix.rsplit('\n').next().unwrap_or("").len();
        for column in [0, end / 2, end] {
            let _ = analysis::hover(&doc, line, column, &modules);
            let _ = analysis::complete(&doc, line, column, &modules);
            let _ = analysis::definition(&doc, line, column);
            let _ = analysis::references(&doc, line, column);
        }
        // The whole of validate, on every 7th prefix (it is the slow part).
        if n % 7 == 0 {
            let _ = infra::lsp::diagnostics(&path, prefix, &modules, &whole);
            let _ = infra::lsp::diagnostics(&path, prefix, &none, &none);
        }
    }
}

/// A problem inside a module's file is said in that file, at its place, and
/// in the stack file at the module's use.
#[test]
fn a_modules_problem_is_said_in_its_file_and_at_its_use() {
    let dir = tempfile::tempdir().unwrap();
    let module = "module: store\nvariables:\n  name: {}\nresources:\n  s3_bucket.b:\n    name: ${var.name}\n    versioning: maybe\n";
    std::fs::create_dir(dir.path().join("modules")).unwrap();
    std::fs::write(dir.path().join("modules/store.yaml"), module).unwrap();
    let stack = "stack: s\nregion: ap-northeast-1\nmodules:\n  store:\n    source: modules/store.yaml\n    inputs: { name: s-logs }\n";
    let path = dir.path().join("s.yaml");
    let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).ok();
    let whole = |p: &str| std::fs::read_to_string(p).ok();
    let found = infra::lsp::diagnostics(&path, stack, &read, &whole);
    let in_module: Vec<_> = found.iter().filter(|(f, _)| f.is_some()).collect();
    let at_use: Vec<_> = found.iter().filter(|(f, _)| f.is_none()).collect();
    assert_eq!(in_module.len(), 1, "{found:#?}");
    let (file, d) = in_module[0];
    assert!(file.as_deref().unwrap().ends_with("modules/store.yaml"), "{file:?}");
    assert!(d.message.contains("found `maybe`"), "{}", d.message);
    assert_eq!(d.range.start.line, 6, "{d:?}");
    assert_eq!(at_use.len(), 1, "{found:#?}");
    let (_, u) = at_use[0];
    assert_eq!(u.range.start.line, 3, "at `store:` under modules: {u:?}");
    assert!(u.message.starts_with("in ") && u.message.contains("found `maybe`"), "{}", u.message);
}
