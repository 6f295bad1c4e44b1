//! Lints a team can accept: `accept: [{ lint, reason }]` silences the named
//! lint on that resource (under `--strict` too), the plan lists it with its
//! reason under Needs attention, an unknown name is an error listing the
//! names, and a lint on many instances is said once. No emulator: the plans
//! are made from state alone.

use crate::support::Workdir;

const STACK: &str = r#"stack: accepting
region: ap-northeast-1
resources:
  launch_template.nodes:
    metadata_options: { http_tokens: required, http_put_response_hop_limit: 1 }
    accept:
      - { lint: imds-hop-limit, reason: pods use IRSA and never read instance metadata }
  cloudwatch_log_group.app:
    for_each: ${toset(["a", "b"])}
    name: /app/${each.key}
    accept:
      - { lint: log-retention, reason: "the logs are exported nightly, then expired by a job" }
"#;

#[test]
fn an_accepted_lint_is_silent_under_strict_and_listed_with_its_reason() {
    let w = Workdir::new("http://127.0.0.1:9", STACK);
    let v = w.run(&["validate", "--strict", "stack.yaml"]);
    assert_eq!(v.code, 0, "{}\n{}", v.stdout, v.stderr);
    assert!(!v.stderr.contains("warning"), "{}", v.stderr);
    let md = w.run(&["plan", "--refresh=false", "--format", "markdown", "stack.yaml"]);
    assert_eq!(md.code, 0, "{}\n{}", md.stdout, md.stderr);
    assert!(md.stdout.contains("**Needs attention**"), "{}", md.stdout);
    assert!(
        md.stdout.contains(
            "- `launch_template.nodes`: lint `imds-hop-limit` accepted: pods use IRSA and never read instance metadata"
        ),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains("- `cloudwatch_log_group.app[\"b\"]`: lint `log-retention` accepted: the logs are exported nightly"),
        "{}",
        md.stdout
    );
    let text = w.run(&["plan", "--refresh=false", "stack.yaml"]);
    assert!(
        text.stdout.contains("! launch_template.nodes: lint `imds-hop-limit` accepted"),
        "{}",
        text.stdout
    );

    // Without `accept`, each lint warns once, naming its instances and the
    // name that accepts it; `--strict` refuses it.
    let bare: String = STACK
        .lines()
        .filter(|l| !l.contains("accept:") && !l.contains("- { lint:"))
        .map(|l| format!("{l}\n"))
        .collect();
    w.write_stack(&bare);
    let v = w.run(&["validate", "stack.yaml"]);
    assert_eq!(v.code, 0, "{}", v.stderr);
    assert_eq!(v.stderr.matches("warning: ").count(), 2, "{}", v.stderr);
    assert!(
        v.stderr.contains(
            "cloudwatch_log_group.app[\"a\"], cloudwatch_log_group.app[\"b\"]: no `retention_days`"
        ),
        "{}",
        v.stderr
    );
    assert!(
        v.stderr.contains("or accept it here: `accept: [{ lint: log-retention,"),
        "{}",
        v.stderr
    );
    assert_eq!(w.run(&["validate", "--strict", "stack.yaml"]).code, 1);
}

#[test]
fn an_unknown_lint_or_a_missing_reason_is_an_error_listing_the_names() {
    let w = Workdir::new(
        "http://127.0.0.1:9",
        &STACK.replace("lint: imds-hop-limit", "lint: imds-hop").replace(
            "reason: \"the logs are exported nightly, then expired by a job\"",
            "reason: \"\"",
        ),
    );
    let v = w.run(&["plan", "stack.yaml"]);
    assert_eq!(v.code, 1, "{}", v.stderr);
    assert!(v.stderr.contains("stack.yaml:7:17: unknown lint `imds-hop`"), "{}", v.stderr);
    assert!(v.stderr.contains("did you mean `imds-hop-limit`?"), "{}", v.stderr);
    assert!(v.stderr.contains("imds-tokens, imds-hop-limit, open-ingress"), "{}", v.stderr);
    assert!(v.stderr.contains("an accepted lint needs `reason:`"), "{}", v.stderr);
    assert!(!w.path("state").exists());
}
