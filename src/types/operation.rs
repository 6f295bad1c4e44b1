//! What is done to one resource in AWS: the one vocabulary of steps, intents,
//! pending marks and waits, and how long each may take.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One mutating operation on one resource. State records these by their
/// kebab-case names (`create`, `update-rules`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    Create,
    Update,
    /// Brings the deferred part (security group rules) in line.
    UpdateRules,
    Delete,
    /// Removes the deferred part before the resource is deleted.
    DeleteRules,
    /// Deletes the old object of a create-before-destroy replacement.
    DeleteDeposed,
}

impl Operation {
    /// As state records it.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::UpdateRules => "update-rules",
            Operation::Delete => "delete",
            Operation::DeleteRules => "delete-rules",
            Operation::DeleteDeposed => "delete-deposed",
        }
    }

    /// For the progress line of a step: `creating`, `revoking rules`, ...
    pub fn doing(self) -> &'static str {
        match self {
            Operation::DeleteRules => "revoking rules",
            Operation::Delete => "destroying",
            Operation::Create => "creating",
            Operation::Update => "updating",
            Operation::UpdateRules => "applying rules",
            Operation::DeleteDeposed => "destroying the replaced object",
        }
    }

    /// For the line that ends a step: `created`, `rules revoked`, ...
    pub fn done(self) -> &'static str {
        match self {
            Operation::DeleteRules => "rules revoked",
            Operation::Delete => "destroyed",
            Operation::Create => "created",
            Operation::Update => "updated",
            Operation::UpdateRules => "rules applied",
            Operation::DeleteDeposed => "replaced object destroyed",
        }
    }

    /// What AWS is doing while a wait for this operation lasts, as a plan says
    /// it: `created`, `updated`, `deleted`.
    pub fn in_aws(self) -> &'static str {
        match self.phase() {
            Operation::Create => "created",
            Operation::Delete => "deleted",
            _ => "updated",
        }
    }

    /// For a wait's progress line: `creating`, `updating`, `deleting`.
    pub fn waiting(self) -> &'static str {
        match self.phase() {
            Operation::Create => "creating",
            Operation::Delete => "deleting",
            _ => "updating",
        }
    }

    /// The lifecycle phase it belongs to (whose timeout applies): `Create`,
    /// `Update` or `Delete`.
    pub fn phase(self) -> Operation {
        match self {
            Operation::Create => Operation::Create,
            Operation::Update | Operation::UpdateRules => Operation::Update,
            Operation::Delete | Operation::DeleteRules | Operation::DeleteDeposed => {
                Operation::Delete
            }
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `timeouts: { create, update, delete }` of a resource, in seconds; unset
/// means the type's own default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timeouts {
    pub create: Option<u64>,
    pub update: Option<u64>,
    pub delete: Option<u64>,
}

impl Timeouts {
    /// The timeout of an operation's phase, or `default`.
    pub fn get(&self, operation: Operation, default: Duration) -> Duration {
        let secs = match operation.phase() {
            Operation::Create => self.create,
            Operation::Delete => self.delete,
            _ => self.update,
        };
        secs.map_or(default, Duration::from_secs)
    }

    /// Sets one phase by its name in the stack file; false for an unknown name.
    pub fn set(&mut self, phase: &str, secs: u64) -> bool {
        match phase {
            "create" => self.create = Some(secs),
            "update" => self.update = Some(secs),
            "delete" => self.delete = Some(secs),
            _ => return false,
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip() {
        for op in [
            Operation::Create,
            Operation::Update,
            Operation::UpdateRules,
            Operation::Delete,
            Operation::DeleteRules,
            Operation::DeleteDeposed,
        ] {
            let json = serde_json::to_string(&op).unwrap();
            assert_eq!(json, format!("\"{}\"", op.name()));
            assert_eq!(serde_json::from_str::<Operation>(&json).unwrap(), op);
        }
        assert!(serde_json::from_str::<Operation>("\"upsert\"").is_err());
    }

    #[test]
    fn a_phase_picks_its_timeout() {
        let t = Timeouts { create: Some(60), ..Timeouts::default() };
        let d = Duration::from_secs(5);
        assert_eq!(t.get(Operation::Create, d), Duration::from_secs(60));
        assert_eq!(t.get(Operation::DeleteDeposed, d), d);
    }
}
