//! What a plan says the stack costs a month, checked against the bundled price
//! table (read here on its own, the sums made here): the platform's first plan
//! in text, markdown and JSON, each priced resource and the total; `--no-cost`
//! leaves it out. The delta of a node group scaled from 3 to 6 is checked on
//! the applied platform in `pipeline.rs`.

use infra::cost::money as dollars;
use serde_json::Value;

use crate::support::{Moto, Proxy, Workdir, flat_stack, last_line};

/// The bundled table, read as a file.
pub fn prices() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/cost/prices.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_platforms_first_plan_prices_what_has_an_hourly_price() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let w = Workdir::new(&proxy.url, &flat_stack("platform"));

    let table = prices();
    let tokyo = &table["regions"]["ap-northeast-1"];
    let p = |k: &str| tokyo[k].as_f64().unwrap();
    let hours = table["hours_per_month"].as_f64().unwrap();
    // The platform: a cluster on 1.30 kept on standard support, three
    // m6i.large nodes, an internet-facing ALB in two subnets, two NAT gateways
    // with an Elastic IP each, and a Gateway endpoint (free).
    let expected = [
        ("eks_cluster.main", p("eks_cluster_standard") * hours),
        ("eks_nodegroup.app", 3.0 * tokyo["instances"]["m6i.large"].as_f64().unwrap() * hours),
        (
            "load_balancer.web",
            (p("application_load_balancer") + 2.0 * p("public_ipv4_address")) * hours,
        ),
        ("nat_gateway.zone[\"a\"]", p("nat_gateway") * hours),
        ("nat_gateway.zone[\"c\"]", p("nat_gateway") * hours),
        ("elastic_ip.nat[\"a\"]", p("public_ipv4_address") * hours),
        ("elastic_ip.nat[\"c\"]", p("public_ipv4_address") * hours),
    ];
    let total: f64 = expected.iter().map(|(_, c)| c).sum();

    let text = w.run(&["plan", "stack.yaml"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(last_line(&text.stdout).starts_with("Plan: "), "the last line stays the counts");
    assert!(
        text.stdout.contains(&format!(
            "Monthly cost, on-demand (USD, ap-northeast-1 prices of {}):",
            table["date"].as_str().unwrap()
        )),
        "{}",
        text.stdout
    );
    for (address, cost) in &expected {
        let line = text
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{address} ")))
            .unwrap_or_else(|| panic!("no line for {address}:\n{}", text.stdout));
        assert!(
            line.contains(&format!("$0.00 -> {} (+{})", dollars(*cost), dollars(*cost))),
            "{line}"
        );
    }
    assert!(text.stdout.contains("3 × m6i.large at $0.124/h"), "{}", text.stdout);
    assert!(
        text.stdout.contains(&format!("total: $0.00 -> {} (+{})", dollars(total), dollars(total))),
        "{}",
        text.stdout
    );
    // Billed by use: named, not priced.
    for named in [
        "CloudWatch Logs ingestion and storage (per GB): cloudwatch_log_group.eks",
        "Firehose ingestion (per GB): firehose_stream.app_logs",
        "load balancer capacity units (LCU-hours): load_balancer.web",
        "NAT gateway data processing (per GB): nat_gateway.zone[\"a\"], nat_gateway.zone[\"c\"]",
    ] {
        assert!(
            text.stdout.contains(&format!("not priced, billed by use: {named}")),
            "{named}\n{}",
            text.stdout
        );
    }
    let block: String = text
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Monthly cost"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!block.contains("vpc_endpoint.s3"), "a Gateway endpoint is free: {block}");

    let json = w.run(&["plan", "--format", "json", "stack.yaml"]);
    let plan: Value = serde_json::from_str(&json.stdout).unwrap();
    let cost = &plan["cost"];
    assert_eq!(cost["region"], "ap-northeast-1");
    assert_eq!(cost["before"], 0.0);
    assert_eq!(dollars(cost["after"].as_f64().unwrap()), dollars(total));
    assert_eq!(dollars(cost["delta"].as_f64().unwrap()), dollars(total));
    let resources = cost["resources"].as_array().unwrap();
    assert_eq!(resources.len(), expected.len(), "{resources:#?}");
    for (address, c) in &expected {
        let line = resources.iter().find(|r| r["address"] == *address).unwrap();
        assert_eq!(dollars(line["after"].as_f64().unwrap()), dollars(*c), "{address}");
    }

    let md = w.run(&["plan", "--format", "markdown", "stack.yaml"]);
    assert!(
        md.stdout.contains(&format!(
            "| `eks_nodegroup.app` | $0.00 | {} | +{} | 3 × m6i.large at $0.124/h |",
            dollars(expected[1].1),
            dollars(expected[1].1)
        )),
        "{}",
        md.stdout
    );
    assert!(md.stdout.contains(&format!("(**+{}**)", dollars(total))));

    for format in ["text", "markdown", "json"] {
        let quiet = w.run(&["plan", "--no-cost", "--format", format, "stack.yaml"]);
        assert_eq!(quiet.code, 0);
        assert!(
            !quiet.stdout.contains("Monthly cost") && !quiet.stdout.contains("\"cost\""),
            "{format}: {}",
            quiet.stdout
        );
    }
}

/// The platform planned in eu-west-1 prices its NAT gateways and load
/// balancer at that region's rates; in a region the table lacks, the total
/// reads `unknown`, never `$0.00`.
#[test]
fn a_plan_in_eu_west_1_is_priced_and_an_unpriced_region_says_unknown() {
    let moto = Moto::start();
    let proxy = Proxy::start(&moto.url);
    let table = prices();
    let ireland = &table["regions"]["eu-west-1"];
    let p = |k: &str| ireland[k].as_f64().unwrap();
    let hours = table["hours_per_month"].as_f64().unwrap();
    let in_region = |region: &str| {
        flat_stack("platform")
            .replace("region: ap-northeast-1", &format!("region: {region}"))
            .replace("ap-northeast-1a", &format!("{region}a"))
            .replace("ap-northeast-1c", &format!("{region}c"))
    };
    let w = Workdir::new(&proxy.url, &in_region("eu-west-1"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("(USD, eu-west-1 prices of"), "{}", plan.stdout);
    for (address, cost, says) in [
        ("nat_gateway.zone[\"a\"]", p("nat_gateway") * hours, "NAT gateway at $0.048/h"),
        (
            "load_balancer.web",
            (p("application_load_balancer") + 2.0 * p("public_ipv4_address")) * hours,
            "application load balancer at $0.0252/h",
        ),
    ] {
        let line = plan
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{address} ")))
            .unwrap_or_else(|| panic!("no line for {address}:\n{}", plan.stdout));
        assert!(line.contains(&format!("-> {}", dollars(cost))) && line.contains(says), "{line}");
    }
    assert!(!plan.stdout.contains("unknown"), "{}", plan.stdout);

    let w = Workdir::new(&proxy.url, &in_region("af-south-1"));
    let plan = w.run(&["plan", "stack.yaml"]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("total: unknown (the price table has no prices for af-south-1)"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("total: $0.00"), "{}", plan.stdout);
}
