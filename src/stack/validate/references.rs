//! The validator's checks across resources: what no two may share, the
//! network rules (`stack::network`), and every reference against what it
//! names.

use super::*;

impl Validator {
    /// Attribute combinations that must differ between resources of one type.
    pub(super) fn check_unique(&mut self, resources: &BTreeMap<Address, Resource>) {
        for schema in types::SCHEMAS {
            for fields in schema.unique {
                let mut seen: HashMap<String, &Address> = HashMap::new();
                for r in resources.values().filter(|r| r.schema.name == schema.name) {
                    let key: Option<Vec<String>> =
                        fields.iter().map(|f| r.attrs.get(*f).map(Value::to_string)).collect();
                    let Some(key) = key else { continue };
                    let key = key.join("\u{0}");
                    if let Some(first) = seen.get(&key) {
                        let last = fields.last().expect("a unique set names fields");
                        let loc = self.locate(&r.address, &format!("/{last}")).unwrap_or(r.loc);
                        self.d.error(
                            loc,
                            format!(
                                "`{}` has the same {} as `{first}`",
                                r.address,
                                fields.join(" and ")
                            ),
                            Some(format!(
                                "two {}s cannot share {}",
                                schema.name,
                                fields.join(" and ")
                            )),
                        );
                    } else {
                        seen.insert(key, &r.address);
                    }
                }
            }
        }
    }

    /// The checks across resources (src/stack/network.rs, src/stack/eks.rs,
    /// src/stack/reach.rs),
    /// and the dependencies they imply added to `depends_on`.
    pub(super) fn check_network(&mut self, resources: &mut BTreeMap<Address, Resource>) {
        let findings = crate::stack::network::check(resources)
            .into_iter()
            .chain(crate::stack::eks::check(resources))
            .chain(crate::stack::reach::check(resources));
        for f in findings {
            let loc = self.locate(&f.address, &f.pointer).unwrap_or(resources[&f.address].loc);
            let message = format!("{}: {}", f.address, f.message);
            if f.error {
                self.d.error(loc, message, Some(f.hint));
            } else {
                let accepted = resources[&f.address].accepted.clone();
                self.lint_warning(&accepted, &f.address, f.lint, (loc, message, Some(f.hint)));
            }
        }
        let implied = crate::stack::network::implied(resources)
            .into_iter()
            .chain(crate::stack::eks::implied(resources))
            .collect::<Vec<_>>();
        for (dependent, dependency) in implied {
            if let Some(r) = resources.get_mut(&dependent) {
                r.depends_on.insert(dependency);
            }
        }
    }

    pub(super) fn check_references(
        &mut self,
        resources: &BTreeMap<Address, Resource>,
        lookups: &BTreeMap<Address, Lookup>,
    ) {
        for (loc, from, r, pointer) in std::mem::take(&mut self.refs) {
            if r.address.is_lookup() {
                self.check_lookup_reference(loc, from.as_ref(), &r, lookups);
                continue;
            }
            if let Some(from) = from.as_ref().filter(|f| f.is_lookup()) {
                self.d.error(
                    loc,
                    format!("{from}: a lookup cannot use `{}`", r.address),
                    Some("lookups are read at plan time, before anything is made: look that up too, or write its value".into()),
                );
                continue;
            }
            let Some(target) = resources.get(&r.address) else {
                if self.declared.contains(&r.address) {
                    // Declared but invalid: its own errors say why.
                    continue;
                }
                if types::schema(&r.address.ty).is_none() && !r.attr.is_empty() {
                    let hint = did_you_mean(&r.address.ty, types::SCHEMAS.iter().map(|s| s.name));
                    self.d.error(
                        loc,
                        format!("reference to unknown resource type `{}`", r.address.ty),
                        hint,
                    );
                } else {
                    let hint = did_you_mean(
                        &r.address.to_string(),
                        resources
                            .keys()
                            .map(|a| a.to_string())
                            .collect::<Vec<_>>()
                            .iter()
                            .map(String::as_str),
                    );
                    self.d.error(
                        loc,
                        format!("reference to undeclared resource `{}`", r.address),
                        hint,
                    );
                }
                continue;
            };
            if r.attr.is_empty() {
                continue;
            }
            // A deferred attribute (a security group's rules) may name its own
            // resource: it is applied after the resource exists.
            let top = pointer.trim_start_matches('/').split('/').next().unwrap_or("");
            let deferred = target.schema.attr(top).is_some_and(|x| x.deferred);
            if from.as_ref() == Some(&r.address) && !deferred {
                self.d.error(loc, format!("`{}` refers to itself", r.address), None);
                continue;
            }
            if !target.schema.referenceable().any(|a| a == r.attr) {
                let hint =
                    did_you_mean(&r.attr, target.schema.referenceable()).unwrap_or_else(|| {
                        format!("`{}` exports: {}", r.address.ty, target.schema.exports.join(", "))
                    });
                self.d.error(
                    loc,
                    format!("`{}` has no attribute `{}`", r.address, r.attr),
                    Some(hint),
                );
            }
        }
    }
}
