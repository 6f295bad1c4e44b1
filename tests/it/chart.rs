//! The plan's chart drawn as GitHub draws it: the `mermaid` npm package in
//! headless Chromium (scripts/chart-env installs both, from the npm registry
//! and Debian's packages). The platform's first markdown plan's chart and
//! `infra graph --format mermaid` of the platform must render; a chart
//! Mermaid refuses must fail to. Each drawing is left as a screenshot in
//! `target/chart/` to look at.

use std::path::{Path, PathBuf};
use std::process::Command;

use infra::plan::{self, Observed};
use infra::stack::{self, graph::Graph};
use infra::types::state::State;

/// Chromium and mermaid's browser bundle, as scripts/chart-env gives them.
fn tools() -> (PathBuf, PathBuf) {
    let get = |name: &str| {
        std::env::var_os(name).map(PathBuf::from).filter(|p| p.exists()).unwrap_or_else(|| {
            panic!("{name} is not set to a file: run the tests with scripts/test, which installs Chromium and mermaid (scripts/chart-env)")
        })
    };
    (get("INFRA_CHROMIUM"), get("INFRA_MERMAID_JS"))
}

/// Draws `chart` with mermaid in headless Chromium: `Ok` when it rendered
/// (a screenshot left at target/chart/NAME.png), else mermaid's error.
fn draw(name: &str, chart: &str) -> Result<PathBuf, String> {
    let (chromium, mermaid) = tools();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("chart.html");
    let source = serde_json::to_string(chart).unwrap();
    let html = format!(
        r#"<!doctype html><html><head><meta charset="utf-8"><script src="file://{}"></script></head>
<body style="margin:8px;background:#fff"><div id="chart"></div><pre id="result">pending</pre><script>
mermaid.initialize({{ startOnLoad: false, securityLevel: "strict" }});
mermaid.render("drawn", {source})
  .then(({{ svg }}) => {{ document.getElementById("chart").innerHTML = svg; document.getElementById("result").textContent = "rendered"; }})
  .catch((e) => {{ document.getElementById("result").textContent = "error: " + ((e && e.message) || e); }});
</script></body></html>"#,
        mermaid.display()
    );
    std::fs::write(&page, html).unwrap();
    let url = format!("file://{}", page.display());
    let run = |extra: &[&str]| {
        let out = Command::new(&chromium)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files"])
            .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
            .args(["--virtual-time-budget=30000", "--window-size=1600,1200"])
            .args(extra)
            .arg(&url)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", chromium.display()));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let dom = run(&["--dump-dom"]);
    let result = dom
        .split("<pre id=\"result\">")
        .nth(1)
        .and_then(|r| r.split("</pre>").next())
        .unwrap_or("no result: the page did not run")
        .to_string();
    if result != "rendered" {
        return Err(result);
    }
    if !dom.contains("<svg") {
        return Err("rendered, but no drawing in the page".into());
    }
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/chart");
    std::fs::create_dir_all(&shots).unwrap();
    let png = shots.join(format!("{name}.png"));
    run(&[&format!("--screenshot={}", png.display())]);
    Ok(png)
}

/// The platform's stack, with the library's modules beside it.
fn platform() -> stack::Stack {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut inputs = stack::Inputs::default();
    for entry in std::fs::read_dir(root.join("stacks/modules")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        inputs.files.insert(format!("modules/{name}"), Ok(std::fs::read_to_string(&path).unwrap()));
    }
    let text = std::fs::read_to_string(root.join("stacks/platform.yaml")).unwrap();
    stack::parse_with("platform.yaml", &text, &inputs).unwrap().0
}

/// The `mermaid` block of a markdown plan.
fn mermaid_block(md: &str) -> &str {
    md.split("```mermaid\n").nth(1).and_then(|b| b.split("```").next()).expect("a mermaid block")
}

#[test]
fn the_platforms_plan_chart_and_its_whole_graph_render_and_a_broken_chart_does_not() {
    let s = platform();
    let graph = Graph::build(&s);
    let p = plan::plan(&s, &graph, &State::new("platform"), &Observed::new());
    let md = infra::render::render(&p, infra::render::Format::Markdown, false);
    let chart = mermaid_block(&md);
    assert!(chart.contains("module.network: 14 to add"), "{chart}");
    let drawn = draw("platform-plan", chart).unwrap_or_else(|e| panic!("{e}\n{chart}"));
    assert!(std::fs::metadata(&drawn).map(|m| m.len() > 1000).unwrap_or(false), "{drawn:?}");

    let whole = infra::render::mermaid::of_graph(&graph);
    assert_eq!(whole.lines().filter(|l| l.contains("[\"")).count(), p.counts().add, "{whole}");
    draw("platform-graph", &whole).unwrap_or_else(|e| panic!("{e}\n{whole}"));

    // A chart mermaid refuses is caught: the test can fail.
    let broken = "flowchart LR\n  n0[\"vpc.main\" --> n1\n";
    let refused = draw("broken", broken).expect_err("a broken chart does not render");
    assert!(refused.starts_with("error"), "{refused}");
}
