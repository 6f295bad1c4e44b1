//! What the editor and the shell are given, and docs that cannot drift from the
//! CLI: `infra schema` takes every valid stack file of the repository and
//! refuses the fixtures whose errors are of shape (checked with a JSON Schema
//! validator); the schema in docs/ is the one the binary prints; completion
//! scripts source in bash; man pages build; `--version` names the commit; every
//! `infra ...` command in README.md and docs/ parses with the CLI's own
//! definitions. No emulator.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap::Parser;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn infra(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_infra")).args(args).output().unwrap();
    assert!(out.status.success(), "infra {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn schema() -> Value {
    serde_json::from_slice(&infra(&["schema"]).stdout).expect("infra schema prints JSON")
}

/// A stack file as an editor's YAML server gives it to the schema.
fn as_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    match marked_yaml::parse_yaml(0, &text) {
        Ok(node) => infra::stack::vars::to_json(&node),
        // The loader takes only a mapping at the top: anything else (a list,
        // nothing at all) is read as the value of one key.
        Err(_) => {
            let wrapped: String = std::iter::once("document:".to_string())
                .chain(text.lines().map(|l| format!("  {l}")))
                .collect::<Vec<_>>()
                .join("\n");
            let node = marked_yaml::parse_yaml(0, &wrapped)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let doc = infra::stack::vars::to_json(&node)["document"].clone();
            if doc == Value::String(String::new()) { Value::Null } else { doc }
        }
    }
}

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// The invalid fixtures whose errors are of shape (an unknown key or type, a
/// missing required attribute, a value of the wrong kind or outside its enum):
/// the schema refuses them. The others break rules across the file
/// (references, cycles, ranges inside a VPC) that only `infra validate` sees.
const SHAPE_ERRORS: &[&str] = &[
    "unknown_key",
    "unknown_type",
    "missing_required",
    "wrong_types",
    "top_level",
    "not_a_mapping",
    "empty",
    "bad_cidrs_and_ports",
    "state_block",
    "environments",
    "variables",
    "lookups",
];

#[test]
fn the_schema_takes_every_valid_stack_and_refuses_errors_of_shape() {
    let schema = schema();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    let validator = jsonschema::draft202012::new(&schema).expect("the schema compiles");

    let mut valid: Vec<PathBuf> = yaml_files("stacks");
    for dir in ["tests/data/plan", "tests/data/plan-cutover", "tests/data/lookups"] {
        valid.extend(yaml_files(dir));
    }
    // Warnings are not errors: those files are valid.
    valid.extend(
        yaml_files("tests/data/invalid")
            .into_iter()
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("warn_")),
    );
    assert!(valid.len() > 15, "{valid:?}");
    for path in &valid {
        let doc = as_json(path);
        let errors: Vec<String> =
            validator.iter_errors(&doc).map(|e| format!("{} at {}", e, e.instance_path)).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    }

    for name in SHAPE_ERRORS {
        let path = root().join(format!("tests/data/invalid/{name}.yaml"));
        let doc = as_json(&path);
        assert!(!validator.is_valid(&doc), "{} passes the schema", path.display());
        // And infra itself refuses it.
        let out = Command::new(env!("CARGO_BIN_EXE_infra"))
            .args(["validate", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}");
    }
}

#[test]
fn the_schema_locates_what_it_refuses() {
    let schema = schema();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let doc = serde_json::json!({
        "stack": "web",
        "region": "ap-northeast-1",
        "resources": {
            "vpc.main": { "cidr_block": "10.0.0.0/16", "enable_dns_support": "yes" },
            "target_group.web": {
                "vpc_id": "${vpc.main.id}",
                "protocol": "HTTP",
                "port": 80,
                "health_check": { "interval_seconds": 1 }
            },
            "subnet.a": { "vpc_id": "${vpc.main.id}", "cidr_block": "${var.prefix}.1.0/24" }
        }
    });
    let mut at: Vec<String> =
        validator.iter_errors(&doc).map(|e| e.instance_path.to_string()).collect();
    at.sort();
    at.dedup();
    assert_eq!(
        at,
        [
            "/resources/target_group.web/health_check/interval_seconds",
            "/resources/vpc.main/enable_dns_support"
        ],
        "a reference or a string with one in it stands where a value goes"
    );
}

#[test]
fn the_schema_in_docs_is_the_one_infra_prints() {
    let printed = schema();
    let kept: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/stack.schema.json")).unwrap(),
    )
    .unwrap();
    assert!(
        kept == printed,
        "docs/stack.schema.json is stale: `cargo run -- schema > docs/stack.schema.json`"
    );
}

#[test]
fn completions_source_in_bash_and_man_pages_build() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("infra.bash");
    std::fs::write(&script, infra(&["completions", "bash"]).stdout).unwrap();
    let bash = Command::new("bash")
        .args(["-c", &format!("set -e; source {}; complete -p infra", script.display())])
        .output()
        .unwrap();
    assert!(bash.status.success(), "{}", String::from_utf8_lossy(&bash.stderr));
    assert!(String::from_utf8_lossy(&bash.stdout).contains("infra"));
    for shell in ["zsh", "fish", "powershell"] {
        let out = String::from_utf8(infra(&["completions", shell]).stdout).unwrap();
        assert!(out.contains("plan") && out.contains("destroy"), "{shell}");
    }

    let page = String::from_utf8(infra(&["man"]).stdout).unwrap();
    assert!(page.starts_with(".ie") || page.contains(".TH infra 1"), "{page}");
    assert!(page.contains(".SH NAME") && page.contains("plan"), "{page}");
    let pages = dir.path().join("man");
    infra(&["man", "--out-dir", pages.to_str().unwrap()]);
    for name in ["infra.1", "infra-plan.1", "infra-state-list.1", "infra-schema.1"] {
        let text = std::fs::read_to_string(pages.join(name)).unwrap();
        assert!(text.contains(".SH NAME"), "{name}");
    }
    let plan = std::fs::read_to_string(pages.join("infra-plan.1")).unwrap();
    assert!(plan.contains("detailed\\-exitcode"), "{plan}");
}

#[test]
fn the_version_names_the_commit() {
    let out = String::from_utf8(infra(&["--version"]).stdout).unwrap();
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let commit = head.unwrap_or_else(|| "unknown".into());
    assert_eq!(out.trim(), format!("infra {} (commit {commit})", env!("CARGO_PKG_VERSION")));
}

/// A documented command: where, its words, and whether it is a mention in
/// running text (which may leave out its arguments: "`infra plan` reads...").
struct Documented {
    at: String,
    words: Vec<String>,
    mention: bool,
}

/// Every `infra ...` command in README.md and docs/*.md: in fenced shell
/// blocks, one a line (after `VAR=value` prefixes, up to a pipe or a
/// redirection; where a block shows prompts, only the `$ ` lines), and in
/// inline code spans. A word with alternatives (`text|markdown|json`) stands
/// for each of them.
fn documented_commands() -> Vec<Documented> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.strip_prefix(root()).unwrap().display().to_string();
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        let mut paragraph: Vec<(usize, &str)> = Vec::new();
        while i < lines.len() {
            let line = lines[i];
            if let Some(lang) = line.trim_start().strip_prefix("```") {
                inline(&name, &paragraph, &mut out);
                paragraph.clear();
                let first = i + 1;
                i += 1;
                while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                    i += 1;
                }
                if ["", "sh", "bash", "shell", "console"].contains(&lang.trim()) {
                    let block = &lines[first..i.min(lines.len())];
                    let prompts = block.iter().any(|l| l.trim_start().starts_with("$ "));
                    for (j, l) in block.iter().enumerate() {
                        let l = l.trim_start();
                        let l = match (prompts, l.strip_prefix("$ ")) {
                            (true, Some(rest)) => rest,
                            (true, None) => continue,
                            (false, _) => l,
                        };
                        for words in command(l) {
                            out.push(Documented {
                                at: format!("{name}:{}", first + j + 1),
                                words,
                                mention: false,
                            });
                        }
                    }
                }
            } else if line.trim().is_empty() {
                inline(&name, &paragraph, &mut out);
                paragraph.clear();
            } else {
                paragraph.push((i + 1, line));
            }
            i += 1;
        }
        inline(&name, &paragraph, &mut out);
    }
    out
}

/// The commands in a paragraph's code spans (a span may cross a line).
fn inline(name: &str, paragraph: &[(usize, &str)], out: &mut Vec<Documented>) {
    let Some((first, _)) = paragraph.first() else {
        return;
    };
    let text: Vec<&str> = paragraph.iter().map(|(_, l)| *l).collect();
    let text = text.join(" ");
    for span in text.split('`').skip(1).step_by(2) {
        for words in command(span) {
            if words.len() > 1 {
                out.push(Documented { at: format!("{name}:{first}"), words, mention: true });
            }
        }
    }
}

/// The words of the `infra` command in this text, one list per variant of
/// its alternatives; none when it is no command.
fn command(text: &str) -> Vec<Vec<String>> {
    let text = text.split(" #").next().unwrap_or(text);
    let Some(words) = shell_words(text) else {
        return Vec::new();
    };
    let mut words = words.into_iter().skip_while(|w| w == "$" || is_assignment(w));
    if words.next().as_deref() != Some("infra") {
        return Vec::new();
    }
    let mut variants = vec![vec!["infra".to_string()]];
    for w in words {
        if ["|", ">", ">>", "&&", "||", ";", "2>&1", "<"].contains(&w.as_str()) {
            break;
        }
        let choices: Vec<&str> =
            if w.len() > 1 && w.contains('|') { w.split('|').collect() } else { vec![w.as_str()] };
        variants = variants
            .into_iter()
            .flat_map(|v| {
                choices.iter().map(move |c| {
                    let mut v = v.clone();
                    v.push(c.to_string());
                    v
                })
            })
            .collect();
    }
    variants
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(k, _)| {
        !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c == '_')
    })
}

/// Words as a POSIX shell splits them (quotes and backslashes), or `None`
/// for an unterminated quote.
fn shell_words(text: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => word.push(c),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => word.push(chars.next()?),
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

#[test]
fn every_documented_command_parses() {
    use clap::error::ErrorKind;
    let commands = documented_commands();
    assert!(commands.len() > 40, "{}", commands.len());
    let mut failures = Vec::new();
    for d in &commands {
        let Err(e) = infra::cli::Cli::try_parse_from(&d.words) else {
            continue;
        };
        let fine = match e.kind() {
            // `--help` and `--version` are answers, not errors.
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => true,
            // Running text names a command without its arguments.
            ErrorKind::MissingRequiredArgument
            | ErrorKind::MissingSubcommand
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => d.mention,
            _ => false,
        };
        if !fine {
            failures.push(format!("{}: `{}`: {}", d.at, d.words.join(" "), e.kind()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Flags the docs are known to use, so that removing one fails here.
    for flag in ["--detailed-exitcode", "--refresh=false", "--out", "--env"] {
        assert!(
            commands
                .iter()
                .any(|d| d.words.iter().any(|w| w == flag || w.starts_with(&format!("{flag}=")))),
            "{flag}"
        );
    }
}

#[test]
fn man_pages_never_follow_a_link_at_a_pages_path() {
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man");
    std::fs::create_dir_all(&pages).unwrap();
    let victim = dir.path().join("precious.txt");
    std::fs::write(&victim, "keep me\n").unwrap();
    std::os::unix::fs::symlink(&victim, pages.join("infra-plan.1")).unwrap();
    let out = infra(&["man", "--out-dir", pages.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "keep me\n",
        "the link's target is untouched"
    );
    let meta = std::fs::symlink_metadata(pages.join("infra-plan.1")).unwrap();
    assert!(!meta.file_type().is_symlink(), "the page replaced the link");
    let plan = std::fs::read_to_string(pages.join("infra-plan.1")).unwrap();
    assert!(plan.contains(".SH NAME"), "{plan}");
}

/// What `infra import` takes as each type's id, as its schema says it, is
/// what docs/state.md says.
#[test]
fn the_documented_import_ids_are_the_schemas() {
    let doc = std::fs::read_to_string(root().join("docs/state.md")).unwrap();
    for s in infra::types::SCHEMAS {
        let row = format!("| `{}` | {} |", s.name, s.id_format);
        assert!(doc.contains(&row), "docs/state.md lacks the row {row}");
    }
}
