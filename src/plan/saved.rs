//! Saved plans: what `plan --out` writes and `apply FILE` carries out exactly, or
//! refuses when the state or the stack file moved since. Pure.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Plan;
use crate::state::State;

pub const FORMAT: &str = "infra-saved-plan";
/// 2: a replacement's order is in its action (`delete_then_create`,
/// `create_then_delete`).
pub const VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    pub format: String,
    pub version: u32,
    pub infra_version: String,
    /// The stack file as given to `plan`, and the SHA-256 of its text.
    pub stack_file: String,
    pub stack_digest: String,
    /// The state the plan was computed against; `lineage` is empty when there was
    /// no state yet.
    pub state_file: String,
    pub state_serial: u64,
    pub state_lineage: String,
    pub plan: Plan,
}

pub fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl SavedPlan {
    pub fn new(
        plan: Plan,
        stack_file: &str,
        stack_text: &str,
        state_file: &str,
        state: Option<&State>,
    ) -> SavedPlan {
        SavedPlan {
            format: FORMAT.into(),
            version: VERSION,
            infra_version: env!("CARGO_PKG_VERSION").into(),
            stack_file: stack_file.into(),
            stack_digest: digest(stack_text),
            state_file: state_file.into(),
            state_serial: state.map_or(0, |s| s.serial),
            state_lineage: state.map(|s| s.lineage.clone()).unwrap_or_default(),
            plan,
        }
    }

    /// Whether a text is a saved plan rather than a stack file.
    pub fn parse(text: &str) -> Option<Result<SavedPlan, String>> {
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        if v.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
            return None;
        }
        match v.get("version").and_then(serde_json::Value::as_u64) {
            Some(version) if version != u64::from(VERSION) => {
                return Some(Err(format!(
                    "the saved plan has format version {version}; this infra reads {VERSION}"
                )));
            }
            _ => {}
        }
        Some(serde_json::from_value(v).map_err(|e| format!("the saved plan cannot be read: {e}")))
    }

    /// Why this plan can no longer be applied as it is, if it cannot.
    pub fn staleness(&self, stack_text: &str, state: Option<&State>) -> Option<String> {
        if self.version != VERSION {
            return Some(format!(
                "it has format version {}; this infra reads {VERSION}",
                self.version
            ));
        }
        if digest(stack_text) != self.stack_digest {
            return Some(format!(
                "the stack file {} changed since the plan was made",
                self.stack_file
            ));
        }
        match state {
            None if !self.state_lineage.is_empty() => {
                Some(format!("the state {} is gone", self.state_file))
            }
            None => None,
            Some(s) if self.state_lineage.is_empty() => Some(format!(
                "the state {} was created since the plan was made (serial {})",
                self.state_file, s.serial
            )),
            Some(s) if s.lineage != self.state_lineage => Some(format!(
                "the state {} is another lineage ({}, the plan was made against {})",
                self.state_file, s.lineage, self.state_lineage
            )),
            Some(s) if s.serial != self.state_serial => Some(format!(
                "state serial is {}, the plan was made at {}",
                s.serial, self.state_serial
            )),
            Some(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_saved_in_another_format_version_is_refused_by_name() {
        let old = r#"{"format": "infra-saved-plan", "version": 1, "plan": {}}"#;
        let why = SavedPlan::parse(old).unwrap().unwrap_err();
        assert_eq!(
            why,
            "the saved plan has format version 1; this infra reads 2"
        );
        assert!(SavedPlan::parse(r#"{"stack": "x"}"#).is_none());
    }
}
