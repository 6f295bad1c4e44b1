//! Whose a thing is: a stack's identity, the pair of its name and its
//! environment, and the owner tags every resource it makes carries. Two
//! identities never share a state file, a lock, an owner tag or a default
//! resource name. Pure.

use std::collections::BTreeMap;
use std::fmt;

/// The tag naming the stack a resource belongs to (its name, never with the
/// environment in it).
pub const STACK_TAG: &str = "infra:stack";
/// The tag naming the stack's environment, on the resources of a stack
/// planned with `--env` only.
pub const ENV_TAG: &str = "infra:env";
/// The tag naming the resource's address in its stack.
pub const ADDRESS_TAG: &str = "infra:address";
/// The tags that say whose a resource is.
pub const OWNER_TAGS: [&str; 3] = [STACK_TAG, ENV_TAG, ADDRESS_TAG];

/// A stack's identity: its name and, with `--env`, its environment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StackId {
    pub name: String,
    pub env: Option<String>,
}

impl fmt::Display for StackId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.env {
            Some(env) => write!(f, "{} (environment {env})", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Why a stack's or an environment's name cannot be one, if it cannot: it
/// holds lowercase letters, digits, `-` and `_`, starts with a letter or a
/// digit, ends with one, and never has two of `-` and `_` side by side. So
/// `.` and `--` are in no name, and separate them where they meet (a state
/// file, a default resource name); lowercase alone, since S3 names are, and a
/// file system may not tell case apart.
pub fn name_problem(name: &str) -> Option<&'static str> {
    let separator = |c: char| c == '-' || c == '_';
    if name.is_empty() {
        return Some("it is empty");
    }
    if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || separator(c)) {
        return Some("it may hold only lowercase letters, digits, `-` and `_`");
    }
    if name.starts_with(separator) || name.ends_with(separator) {
        return Some("it must start and end with a letter or a digit");
    }
    if name.chars().zip(name.chars().skip(1)).any(|(a, b)| separator(a) && separator(b)) {
        return Some("two of `-` and `_` may not stand side by side");
    }
    None
}

impl StackId {
    pub fn new(name: &str, env: Option<&str>) -> StackId {
        StackId { name: name.to_string(), env: env.map(str::to_string) }
    }

    /// The file name of its state when the stack file names none:
    /// `web.json`, or `web.prod.json` for environment `prod` (`.` is in no
    /// stack's or environment's name).
    pub fn state_file(&self) -> String {
        match &self.env {
            Some(env) => format!("{}.{env}.json", self.name),
            None => format!("{}.json", self.name),
        }
    }

    /// Where infra kept an environment's state before identities were pairs
    /// (`web-prod.json`, which a stack named `web-prod` would also use).
    pub fn legacy_state_file(&self) -> Option<String> {
        self.env.as_ref().map(|env| format!("{}-{env}.json", self.name))
    }

    /// The stack name infra recorded in state before identities were pairs:
    /// `NAME-ENV` for an environment.
    pub fn legacy_name(&self) -> String {
        match &self.env {
            Some(env) => format!("{}-{env}", self.name),
            None => self.name.clone(),
        }
    }

    /// The name of a resource the stack file does not name: `STACK-NAME`, or
    /// `STACK--ENV--NAME` in an environment (`sep`, `--` by default, is in no
    /// stack's or environment's name, and the resource's part never holds it:
    /// two identities never make the same name). Lowercase; what AWS refuses
    /// in a name becomes `-`.
    pub fn default_name(&self, resource: &str, sep: &str) -> String {
        let mut part = String::new();
        for c in resource.to_lowercase().chars() {
            let c = if c.is_ascii_alphanumeric() { c } else { '-' };
            if c == '-' && (part.is_empty() || part.ends_with('-')) {
                continue;
            }
            part.push(c);
        }
        let part = part.trim_end_matches('-');
        let clean = |s: &str| s.replace('_', "-");
        match &self.env {
            Some(env) => format!("{}{sep}{}{sep}{part}", clean(&self.name), clean(env)),
            None => format!("{}-{part}", clean(&self.name)),
        }
    }

    /// Its owner tags (stack, environment when it has one, address).
    pub fn owner_tags(&self, address: &str) -> Vec<(&'static str, String)> {
        let mut out = vec![(STACK_TAG, self.name.clone())];
        if let Some(env) = &self.env {
            out.push((ENV_TAG, env.clone()));
        }
        out.push((ADDRESS_TAG, address.to_string()));
        out
    }
}

/// Whether tags `have` say the resource is the one whose tags are `want`:
/// the same stack and address, and the same environment or none on both.
pub fn same_owner(want: &BTreeMap<String, String>, have: &BTreeMap<String, String>) -> bool {
    [STACK_TAG, ADDRESS_TAG].iter().all(|k| want.contains_key(*k) && want.get(*k) == have.get(*k))
        && want.get(ENV_TAG) == have.get(ENV_TAG)
}

/// The stack tags `tags` name, if they name one.
pub fn owner_of(tags: &BTreeMap<String, String>) -> Option<StackId> {
    Some(StackId { name: tags.get(STACK_TAG)?.clone(), env: tags.get(ENV_TAG).cloned() })
}

/// What tags say of whose a resource is, for messages.
pub fn owner_said(tags: &BTreeMap<String, String>) -> String {
    let said: Vec<String> =
        OWNER_TAGS.iter().filter_map(|k| tags.get(*k).map(|v| format!("{k}={v}"))).collect();
    if said.is_empty() {
        "it has no infra:stack or infra:address tag".into()
    } else {
        format!("its tags say {}", said.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn an_environment_and_a_longer_name_never_meet() {
        let web_prod = StackId::new("web", Some("prod"));
        let webprod = StackId::new("web-prod", None);
        assert_ne!(web_prod.state_file(), webprod.state_file());
        assert_eq!(web_prod.state_file(), "web.prod.json");
        assert_eq!(webprod.state_file(), "web-prod.json");
        assert_eq!(web_prod.legacy_state_file().as_deref(), Some("web-prod.json"));
        assert_eq!(web_prod.default_name("logs", "--"), "web--prod--logs");
        assert_eq!(webprod.default_name("logs", "--"), "web-prod-logs");
        assert_eq!(web_prod.default_name("logs", "."), "web.prod.logs");
        // Whatever the resource's name, its part never makes a separator.
        assert_eq!(webprod.default_name("-prod--logs", "--"), "web-prod-prod-logs");
        assert_eq!(StackId::new("web", None).default_name("_prod__x_", "--"), "web-prod-x");
        assert_eq!(
            StackId::new("my_app", Some("eu_1")).default_name("Logs", "--"),
            "my-app--eu-1--logs"
        );
    }

    #[test]
    fn names_hold_no_separator_of_their_own() {
        for ok in ["web", "web-prod", "my_app", "a1", "1a"] {
            assert_eq!(name_problem(ok), None, "{ok}");
        }
        for bad in ["", "Web", "web--prod", "web_-prod", "-web", "web_", "web.prod", "w b"] {
            assert!(name_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn the_environment_is_part_of_whose_a_resource_is() {
        let ours = tags(&[
            ("infra:stack", "web"),
            ("infra:env", "prod"),
            ("infra:address", "s3_bucket.logs"),
        ]);
        let bare = tags(&[("infra:stack", "web"), ("infra:address", "s3_bucket.logs")]);
        assert!(same_owner(&ours, &ours));
        assert!(same_owner(&bare, &bare));
        assert!(!same_owner(&ours, &bare));
        assert!(!same_owner(&bare, &ours));
        assert!(!same_owner(&tags(&[]), &tags(&[])), "no owner tags own nothing");
        assert_eq!(owner_of(&ours), Some(StackId::new("web", Some("prod"))));
        assert_eq!(
            owner_said(&ours),
            "its tags say infra:stack=web, infra:env=prod, infra:address=s3_bucket.logs"
        );
    }
}
