//! The validator's variables and environments: the environment's overlay
//! merged over the file, `variables:` declared and given their values, and
//! the other stacks whose outputs this one reads (`stacks:`).

use super::*;

impl Validator {
    /// The file's top level as this run reads it: the environment's overlay
    /// merged over it (`--env`), then every `${var.NAME}` put in its place.
    /// `None` when that failed (the errors are recorded).
    pub(super) fn environment_and_variables(
        &mut self,
        written: &MarkedMappingNode,
    ) -> Option<MarkedMappingNode> {
        self.environments(written)?;
        let mut top = vars::for_environment(written, self.inputs.env.as_deref());
        let mut found = Vec::new();
        let variables = vars::declare(top.get_node("variables"), &self.inputs, &mut found);
        self.secrets = vars::secrets(&variables);
        self.sensitive_variables =
            variables.iter().filter(|v| v.sensitive).map(|v| v.name.clone()).collect();
        top.remove("variables");
        let declared = self.stacks_block(top.get_node("stacks"));
        top.remove("stacks");
        let file = self.d.file().to_string();
        let outside = vars::Outside {
            file: &file,
            vars: &variables,
            declared: &declared,
            stacks: &self.inputs.stacks,
            lookups: self.inputs.lookups.as_ref(),
            files: &self.inputs.files,
        };
        let mut folding = vars::Folding::default();
        self.uses_modules = top.get_node("modules").is_some();
        let top = vars::fold(&top, &outside, &mut folding);
        // Each module file read is a source of its own: its spans name it.
        for s in &folding.sources {
            self.d.add(s);
        }
        self.sources = std::mem::take(&mut folding.sources);
        // A string whose expression has a problem is said once, here: the
        // checks that follow pass over it.
        self.broken = folding
            .found
            .iter()
            .filter_map(|f| f.span.start())
            .map(|m| (m.source(), m.line(), m.column()))
            .collect();
        let declared_well = found.is_empty();
        found.append(&mut folding.found);
        self.files_asked = std::mem::take(&mut folding.asked);
        self.sensitive_spans = folding
            .sensitive
            .iter()
            .filter_map(|s| s.start().map(|m| (m.source(), m.line(), m.column())))
            .collect();
        let mut secrets = std::mem::take(&mut self.secrets);
        secrets.append(&mut folding.secrets);
        secrets.sort();
        secrets.dedup();
        self.secrets = secrets;
        // An instance's body is read once per instance: each problem is said once.
        let mut said = HashSet::new();
        for f in found {
            let at = f.span.start().map(|m| (m.source(), m.line(), m.column()));
            if !said.insert((at, f.offset, f.message.clone())) {
                continue;
            }
            let loc = match f.span.start() {
                Some(_) => self.loc_within(&f.span, f.offset, f.chars),
                None => self.d.loc(1, 1, 0),
            };
            self.d.error(loc, f.message, f.hint);
        }
        declared_well.then_some(top)
    }

    /// The `environments:` block (each an overlay of the top-level keys an
    /// environment may set) and the `--env` asked for; `None` when the run
    /// cannot go on (the errors are recorded).
    fn environments(&mut self, written: &MarkedMappingNode) -> Option<()> {
        let envs = written.get_node("environments");
        if let Some(e) = envs
            && !matches!(e, Node::Mapping(_))
        {
            let loc = self.node_loc(e);
            self.d.error(
                loc,
                "`environments` must be a mapping of environment names to overlays",
                Some("for example `environments: { production: { variables: { cidr: { default: 10.60.0.0/16 } } } }`".into()),
            );
            return None;
        }
        let envs = envs.and_then(Node::as_mapping);
        if let Some(envs) = envs {
            for (k, v) in envs.iter() {
                if let Some(why) = crate::types::stack_id::name_problem(k.as_str()) {
                    let loc = self.key_loc(k);
                    self.d.error(
                        loc,
                        format!("`{}` is not an environment name: {why}", k.as_str()),
                        Some(NAME_RULE.into()),
                    );
                }
                match v.as_mapping() {
                    Some(o) => {
                        for (key, _) in o.iter() {
                            if !TOP_KEYS.contains(&key.as_str())
                                || matches!(key.as_str(), "stack" | "environments")
                            {
                                let loc = self.key_loc(key);
                                self.d.error(
                                    loc,
                                    format!(
                                        "`{}` cannot be set per environment",
                                        key.as_str()
                                    ),
                                    Some("an environment may set region, state, tags, variables, data, resources and outputs".into()),
                                );
                            }
                        }
                    }
                    None if v.as_scalar().is_some_and(|s| s.as_str().is_empty()) => {}
                    None => {
                        let loc = self.node_loc(v);
                        self.d.error(
                            loc,
                            format!(
                                "environment `{}` must be a mapping of top-level keys",
                                k.as_str()
                            ),
                            None,
                        );
                    }
                }
            }
        }
        if let Some(env) = self.inputs.env.clone() {
            let known: Vec<&str> =
                envs.map(|e| e.keys().map(|k| k.as_str()).collect()).unwrap_or_default();
            if envs.and_then(|e| e.get_node(&env)).is_none() {
                let loc = match written.keys().find(|k| k.as_str() == "environments") {
                    Some(k) => self.key_loc(k),
                    None => self.d.loc(1, 1, 0),
                };
                self.d.error(
                    loc,
                    format!("--env {env}: the stack file has no environment `{env}`"),
                    Some(match known.is_empty() {
                        true => "declare it under `environments:`".into(),
                        false => format!("its environments: {}", known.join(", ")),
                    }),
                );
                return None;
            }
        }
        Some(())
    }

    /// The names of the stacks whose outputs this one reads, from `stacks:`
    /// (`NAME: { state: PATH | s3://BUCKET/KEY }`, or `NAME: {}` for
    /// `state/NAME.json`).
    pub(super) fn stacks_block(&mut self, block: Option<&Node>) -> Vec<String> {
        let Some(block) = block else {
            return Vec::new();
        };
        let Some(map) = self.mapping(
            block,
            "`stacks` must be a mapping of stack names to `{ state: ... }`",
            "for example `stacks: { eks: { state: state/eks.json } }`",
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in map.iter() {
            out.push(k.as_str().to_string());
            let empty = v.as_scalar().is_some_and(|s| s.as_str().is_empty());
            let Some(m) = v.as_mapping() else {
                if !empty {
                    let loc = self.node_loc(v);
                    self.d.error(
                        loc,
                        format!(
                            "stack `{}` must be given as `{{ state: ... }}` or `{{}}`",
                            k.as_str()
                        ),
                        None,
                    );
                }
                continue;
            };
            for (key, val) in m.iter() {
                match key.as_str() {
                    "state" if val.as_scalar().is_some_and(|s| !s.as_str().contains("${")) => {}
                    "state" => {
                        let loc = self.node_loc(val);
                        self.d.error(
                            loc,
                            "`state` of a consumed stack is a path or s3://BUCKET/KEY written out",
                            Some("it is read before variables are put in".into()),
                        );
                    }
                    other => {
                        let loc = self.key_loc(key);
                        self.d.error(
                            loc,
                            format!("unknown key `{other}` in stack `{}`", k.as_str()),
                            Some("a consumed stack takes only `state`".into()),
                        );
                    }
                }
            }
        }
        out
    }
}
