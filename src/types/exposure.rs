//! What the internet can reach: judged by the address space a set of CIDR
//! blocks covers together, never by the text of one block. `0.0.0.0/1` plus
//! `128.0.0.0/1` is as open as `0.0.0.0/0`. Pure.

use ipnet::Ipv4Net;
use serde_json::Value;

/// Address space no host on the internet holds (RFC 6890's special-purpose
/// registry): this network, private networks, shared address space (CGNAT),
/// loopback, link-local, multicast and the reserved block. A source inside
/// these is not "the internet".
const NOT_PUBLIC: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "224.0.0.0/4",
    "240.0.0.0/4",
];
/// A source is open to the internet when the public addresses it covers
/// reach a /8's worth (16,777,216): a whole cloud provider's or ISP's range
/// is anyone's to rent or use.
pub const OPEN: u64 = 1 << 24;

/// How many public IPv4 addresses the blocks cover together (overlaps
/// counted once). What is not an IPv4 block is left out.
pub fn public_addresses<'a>(cidrs: impl IntoIterator<Item = &'a str>) -> u64 {
    let nets: Vec<Ipv4Net> = cidrs
        .into_iter()
        .filter_map(|c| c.trim().parse::<Ipv4Net>().ok())
        .map(|n| n.trunc())
        .collect();
    // Aggregated, the blocks are disjoint; so are the special-purpose ones,
    // and two CIDR blocks either hold one another or share nothing.
    let merged = Ipv4Net::aggregate(&nets);
    let size = |n: &Ipv4Net| 1u64 << (32 - u32::from(n.prefix_len()));
    let mut total: u64 = merged.iter().map(size).sum();
    for block in NOT_PUBLIC {
        let special: Ipv4Net = block.parse().expect("a valid block");
        for n in &merged {
            if n.contains(&special) {
                total -= size(&special);
            } else if special.contains(n) {
                total -= size(n);
            }
        }
    }
    total
}

/// Whether an IPv6 block opens what it guards to the internet: it reaches
/// into the global unicast space (2000::/3, where every public IPv6 address
/// is) with a /32 or wider, a whole provider's allocation (`::/0` is).
pub fn ipv6_open(cidr: &str) -> bool {
    let Ok(net) = cidr.trim().parse::<ipnet::Ipv6Net>() else {
        return false;
    };
    let global: ipnet::Ipv6Net = "2000::/3".parse().expect("a valid block");
    net.prefix_len() <= 32 && (net.contains(&global) || global.contains(&net))
}

/// Whether the blocks together open what they guard to the internet.
pub fn open_to_internet<'a>(cidrs: impl IntoIterator<Item = &'a str>) -> bool {
    public_addresses(cidrs) >= OPEN
}

/// A stretch of one protocol's ports that the internet reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    /// `tcp`, `udp` or `icmp`.
    pub protocol: &'static str,
    pub from: u16,
    pub to: u16,
    /// The blocks that open it, as written.
    pub sources: Vec<String>,
    /// How many public addresses they cover.
    pub addresses: u64,
}

impl Opening {
    /// `22`, `1024-65535`, `all ports`.
    pub fn ports(&self) -> String {
        match (self.protocol, self.from, self.to) {
            ("icmp", ..) => "icmp".into(),
            (_, 0, 65535) => "all ports".into(),
            (_, f, t) if f == t => f.to_string(),
            (_, f, t) => format!("{f}-{t}"),
        }
    }

    /// `22` for TCP, `udp 53`, `icmp`: what a message says it is open on.
    pub fn on(&self) -> String {
        match self.protocol {
            "tcp" => self.ports(),
            "icmp" => "icmp".into(),
            p => format!("{p} {}", self.ports()),
        }
    }

    /// Whether this is only the web's ports: TCP 80 or 443.
    pub fn web_only(&self) -> bool {
        self.protocol == "tcp" && self.from == self.to && matches!(self.from, 80 | 443)
    }

    /// `0.0.0.0/1, 128.0.0.0/1 (3,623,878,656 public addresses)`; `::/0
    /// (the IPv6 internet)`.
    pub fn said(&self) -> String {
        let v6 = self.sources.iter().any(|s| ipv6_open(s));
        let v4 = (self.addresses >= OPEN)
            .then(|| format!("{} public addresses", grouped(self.addresses)));
        let what = match (v4, v6) {
            (Some(v4), true) => format!("{v4} and the IPv6 internet"),
            (Some(v4), false) => v4,
            (None, _) => "the IPv6 internet".to_string(),
        };
        format!("{} ({what})", self.sources.join(", "))
    }
}

fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The ports of each protocol that a security group's rules (`ingress`, in
/// the stack's words) open to the internet, taking every rule that admits a
/// port together: the elementary stretches between rules' port bounds, each
/// with the CIDR blocks of every rule that covers it.
pub fn openings(rules: &[Value]) -> Vec<Opening> {
    let mut out: Vec<Opening> = Vec::new();
    for protocol in ["tcp", "udp", "icmp"] {
        // (from, to, cidr) of the rules that admit this protocol.
        let admits: Vec<(u16, u16, &str)> = rules
            .iter()
            .filter_map(|r| {
                let cidr = r.get("cidr").or_else(|| r.get("ipv6_cidr"))?.as_str()?;
                let p = r.get("protocol")?.as_str()?;
                let (from, to) = match (p, r.get("ports").and_then(Value::as_str)) {
                    ("all", _) => (0, 65535),
                    (p, _) if p != protocol => return None,
                    ("icmp", _) | (_, None) => (0, 65535),
                    (_, Some(ports)) => super::schema::parse_ports(ports).ok()?,
                };
                Some((from, to, cidr))
            })
            .collect();
        let mut bounds: Vec<u32> =
            admits.iter().flat_map(|(f, t, _)| [u32::from(*f), u32::from(*t) + 1]).collect();
        bounds.sort_unstable();
        bounds.dedup();
        for pair in bounds.windows(2) {
            let (from, to) = (pair[0], pair[1] - 1);
            let mut sources: Vec<&str> = admits
                .iter()
                .filter(|(f, t, _)| u32::from(*f) <= from && to <= u32::from(*t))
                .map(|(_, _, c)| *c)
                .collect();
            sources.sort_unstable();
            sources.dedup();
            let addresses = public_addresses(sources.iter().copied());
            if addresses < OPEN && !sources.iter().any(|s| ipv6_open(s)) {
                continue;
            }
            let sources: Vec<String> = sources.into_iter().map(str::to_string).collect();
            let (from, to) = (from as u16, to as u16);
            // Stretches side by side with the same sources are one.
            match out.last_mut() {
                Some(last)
                    if last.protocol == protocol
                        && u32::from(last.to) + 1 == u32::from(from)
                        && last.sources == sources =>
                {
                    last.to = to;
                }
                _ => out.push(Opening { protocol, from, to, sources, addresses }),
            }
        }
    }
    // ICMP has no ports: one opening at most.
    out.dedup_by(|a, b| a.protocol == "icmp" && b.protocol == "icmp");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_address_space_counts_not_the_text() {
        let everything = public_addresses(["0.0.0.0/0"]);
        assert_eq!(public_addresses(["0.0.0.0/1", "128.0.0.0/1"]), everything);
        assert!(open_to_internet(["0.0.0.0/1", "128.0.0.0/1"]));
        assert!(open_to_internet(["52.0.0.0/8"]));
        assert!(!open_to_internet(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]));
        assert!(!open_to_internet(["203.0.113.0/24", "198.51.100.7/32"]));
        assert_eq!(public_addresses(["10.0.0.0/8"]), 0);
        // Overlaps count once; a private block inside a public one is not public.
        assert_eq!(public_addresses(["8.0.0.0/8", "8.8.0.0/16"]), public_addresses(["8.0.0.0/8"]));
        assert_eq!(public_addresses(["0.0.0.0/0"]), (1u64 << 32) - 592_576_512);
    }

    #[test]
    fn the_ipv6_internet_is_open_and_a_site_prefix_is_not() {
        assert!(ipv6_open("::/0"));
        assert!(ipv6_open("2000::/3"));
        assert!(ipv6_open("2600::/12"));
        assert!(!ipv6_open("2600:1f18:abcd::/56"));
        assert!(!ipv6_open("fd00::/8"));
        let rules = json!([{"protocol": "tcp", "ports": "22", "ipv6_cidr": "::/0"}]);
        let open = openings(rules.as_array().unwrap());
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].said(), "::/0 (the IPv6 internet)");
    }

    #[test]
    fn rules_are_judged_together_per_port() {
        let rules = json!([
            {"protocol": "tcp", "ports": "22", "cidr": "0.0.0.0/1"},
            {"protocol": "tcp", "ports": "20-30", "cidr": "128.0.0.0/1"},
            {"protocol": "tcp", "ports": "20-30", "cidr": "203.0.113.0/24"},
            {"protocol": "tcp", "ports": "443", "cidr": "0.0.0.0/0"},
            {"protocol": "udp", "ports": "53", "cidr": "10.0.0.0/8"},
        ]);
        let open = openings(rules.as_array().unwrap());
        let said: Vec<(String, bool)> = open.iter().map(|o| (o.ports(), o.web_only())).collect();
        // Half the internet is the internet too (20-30); 22 takes both halves.
        assert_eq!(
            said,
            [
                ("20-21".to_string(), false),
                ("22".to_string(), false),
                ("23-30".to_string(), false),
                ("443".to_string(), true)
            ],
            "{open:?}"
        );
        assert_eq!(open[1].sources, ["0.0.0.0/1", "128.0.0.0/1", "203.0.113.0/24"]);
        assert_eq!(open[1].addresses, public_addresses(["0.0.0.0/0"]));
        let narrow = json!([{"protocol": "tcp", "ports": "22", "cidr": "203.0.113.0/24"}]);
        assert!(openings(narrow.as_array().unwrap()).is_empty());
        let all = json!([{"protocol": "all", "cidr": "0.0.0.0/0"}]);
        let open = openings(all.as_array().unwrap());
        assert_eq!(open.len(), 3, "{open:?}");
        assert_eq!(open[0].ports(), "all ports");
    }
}
