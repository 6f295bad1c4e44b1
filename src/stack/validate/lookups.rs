//! The validator's lookups: the `data:` block (what each lookup searches
//! for), and every reference to what a lookup finds.

use super::*;

impl Validator {
    /// The `data:` block: `KIND.NAME` to what to search by, each checked
    /// against its kind of lookup.
    pub(super) fn data_block(&mut self, block: &Node) -> BTreeMap<Address, Lookup> {
        let mut out = BTreeMap::new();
        let Some(map) = self.mapping(
            block,
            "`data` must be a mapping of `KIND.NAME` to what to look for",
            "for example `data: { target_group.ec2: { name: game-ec2 } }`",
        ) else {
            return out;
        };
        let kinds = || lookup::LOOKUPS.iter().map(|l| l.name);
        for (k, node) in map.iter() {
            let key_loc = self.key_loc(k);
            let Some(written) = Address::parse(k.as_str()).filter(|a| !a.is_lookup()) else {
                self.d.error(
                    key_loc,
                    format!("`{}` is not a lookup address", k.as_str()),
                    Some("lookups are KIND.NAME under `data:`, for example `target_group.ec2`; they are used as ${data.KIND.NAME.ATTR}".into()),
                );
                continue;
            };
            let address = Address {
                module: written.module.clone(),
                key: written.key.clone(),
                ..Address::lookup(&written.ty, &written.name)
            };
            self.declared.insert(address.clone());
            let Some(schema) = lookup::lookup(&written.ty) else {
                let hint = did_you_mean(&written.ty, kinds()).unwrap_or_else(|| {
                    format!("kinds of lookup: {}", kinds().collect::<Vec<_>>().join(", "))
                });
                self.d.error(
                    key_loc,
                    format!("unknown kind of lookup `{}`", written.ty),
                    Some(hint),
                );
                continue;
            };
            let empty;
            let query = match node {
                Node::Mapping(m) => m,
                Node::Scalar(s) if s.as_str().is_empty() => {
                    empty = MarkedMappingNode::new_empty(*s.span());
                    &empty
                }
                other => {
                    let loc = self.node_loc(other);
                    self.d.error(
                        loc,
                        format!("`{address}` must be a mapping of what to look for"),
                        Some(
                            "for example `{ name: game-ec2 }` or `{ tags: { team: web } }`".into(),
                        ),
                    );
                    continue;
                }
            };
            let Some(query) = self.object(
                query,
                schema.by,
                &[],
                false,
                Some(&address),
                "",
                key_loc,
                &address.to_string(),
            ) else {
                continue;
            };
            for f in (schema.check)(schema, &query) {
                let loc = self.locate(&address, &f.pointer).unwrap_or(key_loc);
                self.d.error(loc, format!("{address}: {}", f.message), f.hint);
            }
            out.insert(address.clone(), Lookup { address, schema, query, loc: key_loc });
        }
        out
    }

    /// A reference to a lookup: declared under `data:`, and to what it exports.
    pub(super) fn check_lookup_reference(
        &mut self,
        loc: Loc,
        from: Option<&Address>,
        r: &reference::Reference,
        lookups: &BTreeMap<Address, Lookup>,
    ) {
        let Some(target) = lookups.get(&r.address) else {
            if self.declared.contains(&r.address) {
                return; // declared but invalid: its own errors say why
            }
            let declared: Vec<String> = lookups.keys().map(ToString::to_string).collect();
            let written = r.address.to_string();
            let hint =
                did_you_mean(&written, declared.iter().map(String::as_str)).unwrap_or_else(|| {
                    format!(
                        "declare it under `data:` as `{}.{}`",
                        r.address.lookup_kind().unwrap_or(""),
                        r.address.name
                    )
                });
            self.d.error(loc, format!("reference to undeclared lookup `{written}`"), Some(hint));
            return;
        };
        if r.attr.is_empty() {
            self.d.error(
                loc,
                format!("`depends_on` cannot name the lookup `{}`", r.address),
                Some("a lookup is read before anything is made: nothing waits for it".into()),
            );
            return;
        }
        if from == Some(&r.address) {
            self.d.error(loc, format!("`{}` refers to itself", r.address), None);
            return;
        }
        if !target.schema.exports.contains(&r.attr.as_str()) {
            let hint =
                did_you_mean(&r.attr, target.schema.exports.iter().copied()).unwrap_or_else(|| {
                    format!(
                        "a {} lookup gives: {}",
                        target.schema.name,
                        target.schema.exports.join(", ")
                    )
                });
            self.d.error(loc, format!("`{}` has no attribute `{}`", r.address, r.attr), Some(hint));
        }
    }
}
