//! The validator's resources and values: each resource's address,
//! attributes (every value against its kind, references kept where they
//! are written), `timeouts`, `depends_on` and `ignore_changes`.

use super::*;
use crate::types::attrs::AttrPath;
use crate::types::schema::NAME_PREFIX;
use crate::types::schema::TypeSchema;

impl Validator {
    pub(super) fn resource(
        &mut self,
        key: &marked_yaml::types::MarkedScalarNode,
        node: &Node,
        stack: &StackId,
        stack_tags: &BTreeMap<String, String>,
    ) -> Option<Resource> {
        let (address, schema) = self.address_and_schema(key)?;
        let key_loc = self.key_loc(key);
        let empty;
        let map = match node {
            Node::Mapping(m) => m,
            Node::Scalar(s) if s.as_str().is_empty() => {
                empty = marked_yaml::types::MarkedMappingNode::new_empty(*s.span());
                &empty
            }
            other => {
                let loc = self.node_loc(other);
                self.d.error(loc, format!("`{address}` must be a mapping of attributes"), None);
                return None;
            }
        };
        let mut depends_on = BTreeSet::new();
        if let Some(d) = map.get_node("depends_on") {
            depends_on = self.depends_on(d, &address);
        }
        let accepted = match map.get_node("accept") {
            Some(node) => self.accept(node),
            None => Vec::new(),
        };
        let prevent_destroy = match map.get_node("prevent_destroy") {
            None => false,
            Some(Node::Scalar(s)) if s.as_bool().is_some() => s.as_bool().unwrap_or(false),
            Some(other) => {
                let loc = self.node_loc(other);
                self.d.error(loc, "`prevent_destroy` must be true or false", None);
                false
            }
        };
        let mut ignore_changes = match map.get_node("ignore_changes") {
            Some(node) => self.ignore_changes(node, schema),
            None => Vec::new(),
        };
        let timeouts = match map.get_node("timeouts") {
            Some(t) => self.timeouts(t),
            None => Timeouts::default(),
        };
        let mut attrs = self.object(
            map,
            schema.attrs,
            META_KEYS,
            schema.taggable,
            Some(&address),
            "",
            key_loc,
            &address.to_string(),
        )?;
        let mut named = true;
        let prefixed = attrs.contains_key(NAME_PREFIX);
        if let Some((name_attr, _)) = schema.name_attr
            && prefixed
            && attrs.contains_key(name_attr)
        {
            let loc = self.locate(&address, "/name_prefix").unwrap_or(key_loc);
            self.d.error(
                loc,
                format!("`{address}` sets both `{name_attr}` and `name_prefix`"),
                Some(format!("keep `{name_attr}` for a fixed name, or `name_prefix` for a unique one made at creation")),
            );
        }
        if let Some((name_attr, NameDefault::StackAndName(sep))) = schema.name_attr
            && !attrs.contains_key(name_attr)
            && !prefixed
        {
            let generated = stack.default_name(&address.handle(), sep);
            attrs.insert(name_attr.to_string(), Value::String(generated));
            named = false;
        }
        if schema.taggable {
            let mut tags: Map<String, Value> =
                stack_tags.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            if let Some(Value::Object(own)) = attrs.get("tags") {
                tags.extend(own.clone());
            }
            // Whose it is, last: a tag of the file never says otherwise.
            for (k, v) in stack.owner_tags(&address.tag_value()) {
                tags.insert(k.into(), Value::String(v));
            }
            attrs.insert("tags".into(), Value::Object(tags));
        }
        if let Some(fill) = schema.create_defaults {
            for path in fill(&mut attrs) {
                if let Ok(p) = AttrPath::parse(schema, path)
                    && !ignore_changes.contains(&p)
                {
                    ignore_changes.push(p);
                }
            }
        }
        self.type_findings(schema, &address, &attrs, key_loc, &accepted);
        Some(Resource {
            address,
            schema,
            attrs,
            named,
            sensitive: BTreeSet::new(),
            depends_on,
            timeouts,
            prevent_destroy,
            ignore_changes,
            accepted,
            loc: key_loc,
        })
    }

    /// `accept: [{ lint: NAME, reason: WHY }]`: each a known lint, with a
    /// reason.
    fn accept(&mut self, node: &Node) -> Vec<crate::stack::Accepted> {
        let example = "for example `accept: [{ lint: imds-hop-limit, reason: pods use IRSA }]`";
        let Some(items) = node.as_sequence() else {
            let loc = self.node_loc(node);
            self.d.error(
                loc,
                "`accept` must be a list of `{ lint, reason }`",
                Some(example.into()),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            let loc = self.node_loc(item);
            let Some(m) = item.as_mapping() else {
                self.d.error(
                    loc,
                    "an accepted lint is `{ lint: NAME, reason: WHY }`",
                    Some(example.into()),
                );
                continue;
            };
            for (k, _) in m.iter().filter(|(k, _)| !["lint", "reason"].contains(&k.as_str())) {
                let at = self.key_loc(k);
                self.d.error(
                    at,
                    format!("unknown key `{}` in an accepted lint", k.as_str()),
                    Some("it takes `lint` and `reason`".into()),
                );
            }
            let names = || crate::types::lint::Lint::names().collect::<Vec<_>>().join(", ");
            let lint = match m.get_node("lint").and_then(Node::as_scalar) {
                Some(s) => match crate::types::lint::Lint::parse(s.as_str()) {
                    Some(l) => Some(l),
                    None => {
                        let at = self.node_loc(&Node::Scalar(s.clone()));
                        let hint = did_you_mean(s.as_str(), crate::types::lint::Lint::names())
                            .map(|d| format!("{d} The lints: {}", names()))
                            .unwrap_or_else(|| format!("the lints: {}", names()));
                        self.d.error(at, format!("unknown lint `{}`", s.as_str()), Some(hint));
                        None
                    }
                },
                None => {
                    self.d.error(
                        loc,
                        "an accepted lint needs `lint:`",
                        Some(format!("the lints: {}", names())),
                    );
                    None
                }
            };
            let reason = match m.get_node("reason").and_then(Node::as_scalar) {
                Some(s) if !s.as_str().trim().is_empty() => Some(s.as_str().trim().to_string()),
                _ => {
                    self.d.error(
                        loc,
                        "an accepted lint needs `reason:`: why the stack accepts it",
                        Some(example.into()),
                    );
                    None
                }
            };
            if let (Some(lint), Some(reason)) = (lint, reason) {
                out.push(crate::stack::Accepted { lint, reason });
            }
        }
        out
    }

    /// A warning for `lint` on `address`, unless the resource accepts it:
    /// then it is recorded (`Stack::accepted`) and not said.
    pub(super) fn lint_warning(
        &mut self,
        accepted: &[crate::stack::Accepted],
        address: &Address,
        lint: Option<crate::types::lint::Lint>,
        (loc, message, hint): (Loc, String, Option<String>),
    ) {
        match lint.and_then(|l| accepted.iter().find(|a| a.lint == l)) {
            Some(a) => self.accepted.push(crate::stack::AcceptedLint {
                address: address.clone(),
                lint: a.lint,
                reason: a.reason.clone(),
                message: message
                    .strip_prefix(&format!("{address}: "))
                    .unwrap_or(&message)
                    .to_string(),
            }),
            None => {
                // Said with its name, so that a team may accept it.
                let accept = lint.map(|l| {
                    format!("or accept it here: `accept: [{{ lint: {l}, reason: WHY }}]`")
                });
                let hint = match (hint, accept) {
                    (Some(h), Some(a)) => Some(format!("{h}; {a}")),
                    (h, a) => h.or(a),
                };
                // Every instance of one written resource (of a resource in
                // a module used many times) says it once, naming them all.
                let text = message.strip_prefix(&format!("{address}: ")).unwrap_or(&message);
                let key = (loc.source, loc.line, loc.column, text.to_string());
                match self.warned.get(&key) {
                    Some(&i) => {
                        let p = &mut self.d.problems[i];
                        let said = p.message.strip_suffix(&format!(": {text}")).unwrap_or("");
                        p.message = format!("{said}, {address}: {text}");
                    }
                    None => {
                        self.warned.insert(key, self.d.problems.len());
                        self.d.warning(loc, message, hint)
                    }
                }
            }
        }
    }

    /// A resource's address and its type's schema, or why the key is neither.
    fn address_and_schema(
        &mut self,
        key: &marked_yaml::types::MarkedScalarNode,
    ) -> Option<(Address, &'static crate::types::TypeSchema)> {
        let key_loc = self.key_loc(key);
        let Some(address) = Address::parse(key.as_str()) else {
            self.d.error(
                key_loc,
                format!("`{}` is not a resource address", key.as_str()),
                Some("addresses are TYPE.NAME, for example `vpc.main`".into()),
            );
            return None;
        };
        let Some(schema) = types::schema(&address.ty) else {
            let hint = did_you_mean(&address.ty, types::SCHEMAS.iter().map(|s| s.name))
                .unwrap_or_else(|| {
                    format!(
                        "known types: {}",
                        types::SCHEMAS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
                    )
                });
            self.d.error(key_loc, format!("unknown resource type `{}`", address.ty), Some(hint));
            return None;
        };
        Some((address, schema))
    }

    /// What the type's own check (errors) and lint (warnings) find, each
    /// where it points.
    fn type_findings(
        &mut self,
        schema: &crate::types::TypeSchema,
        address: &Address,
        attrs: &Map<String, Value>,
        key_loc: Loc,
        accepted: &[crate::stack::Accepted],
    ) {
        for (f, error) in
            schema.check.map(|c| c(attrs)).unwrap_or_default().into_iter().map(|f| (f, true)).chain(
                schema.lint.map(|l| l(attrs)).unwrap_or_default().into_iter().map(|f| (f, false)),
            )
        {
            let loc = self.locate(address, &f.pointer).unwrap_or(key_loc);
            let message = format!("{address}: {}", f.message);
            match error {
                true => self.d.error(loc, message, f.hint),
                false => self.lint_warning(accepted, address, f.lint, (loc, message, f.hint)),
            }
        }
    }

    /// The location of a JSON pointer, or of its nearest recorded parent.
    pub(super) fn locate(&self, address: &Address, pointer: &str) -> Option<Loc> {
        let mut p = pointer.to_string();
        loop {
            if let Some(loc) = self.locs.get(&(address.clone(), p.clone())) {
                return Some(*loc);
            }
            let cut = p.rfind('/')?;
            p.truncate(cut);
        }
    }

    /// `timeouts: { create: 30m, update: 1h, delete: 900s }`, in seconds.
    pub(super) fn timeouts(&mut self, node: &Node) -> Timeouts {
        let mut out = Timeouts::default();
        let Some(m) = self.mapping(
            node,
            "`timeouts` must be a mapping",
            "for example timeouts: { create: 30m, update: 60m, delete: 15m }",
        ) else {
            return out;
        };
        for (k, v) in m.iter() {
            let secs = v.as_scalar().and_then(|s| parse_duration(s.as_str()));
            match secs {
                _ if !["create", "update", "delete"].contains(&k.as_str()) => {
                    let loc = self.key_loc(k);
                    self.d.error(
                        loc,
                        format!("unknown timeout `{}`", k.as_str()),
                        did_you_mean(k.as_str(), ["create", "update", "delete"]),
                    );
                }
                Some(secs) => {
                    out.set(k.as_str(), secs);
                }
                None => {
                    let loc = self.node_loc(v);
                    self.d.error(
                        loc,
                        "a timeout is a number with a unit: s, m or h",
                        Some("for example 30m, 1h or 90s".into()),
                    );
                }
            }
        }
        out
    }

    pub(super) fn depends_on(&mut self, node: &Node, own: &Address) -> BTreeSet<Address> {
        let mut out = BTreeSet::new();
        let Some(seq) = node.as_sequence() else {
            let loc = self.node_loc(node);
            self.d.error(
                loc,
                "`depends_on` must be a list of addresses",
                Some("for example `depends_on: [vpc.main]`".into()),
            );
            return out;
        };
        for item in seq.iter() {
            let loc = self.node_loc(item);
            match item.as_scalar().and_then(|s| Address::parse(s.as_str())) {
                Some(a) if a == *own => {
                    self.d.error(loc, format!("`{own}` cannot depend on itself"), None)
                }
                Some(a) => {
                    self.refs.push((
                        loc,
                        Some(own.clone()),
                        reference::Reference { address: a.clone(), attr: String::new() },
                        "/depends_on".to_string(),
                    ));
                    out.insert(a);
                }
                None => {
                    self.d.error(loc, "`depends_on` entries must be addresses (TYPE.NAME)", None)
                }
            }
        }
        out
    }

    /// `ignore_changes: [ATTR_PATH, ...]`: each a path into the type's
    /// attributes (`scaling.desired`, `tags`, `tags.team`).
    fn ignore_changes(&mut self, node: &Node, schema: &TypeSchema) -> Vec<AttrPath> {
        let Some(seq) = node.as_sequence() else {
            let loc = self.node_loc(node);
            self.d.error(
                loc,
                "`ignore_changes` must be a list of attribute paths",
                Some("for example `ignore_changes: [scaling.desired, tags]`".into()),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in seq.iter() {
            let loc = self.node_loc(item);
            let Some(text) = item.as_scalar().map(|s| s.as_str().to_string()) else {
                self.d.error(loc, "`ignore_changes` entries must be attribute paths", None);
                continue;
            };
            match AttrPath::parse(schema, &text) {
                Ok(p) if !out.contains(&p) => out.push(p),
                Ok(_) => {}
                Err(message) => {
                    let first = text.split('.').next().unwrap_or_default();
                    let names = schema
                        .attrs
                        .iter()
                        .map(|a| a.name)
                        .chain(schema.taggable.then_some("tags"));
                    let hint = did_you_mean(first, names).or_else(|| {
                        Some("write an attribute, or ATTR.FIELD for a field of one, for example scaling.desired".into())
                    });
                    self.d.error(loc, format!("ignore_changes: {message}"), hint);
                }
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn object(
        &mut self,
        map: &marked_yaml::types::MarkedMappingNode,
        attrs: &'static [Attr],
        meta: &[&str],
        taggable: bool,
        address: Option<&Address>,
        pointer: &str,
        parent_loc: Loc,
        what: &str,
    ) -> Option<Map<String, Value>> {
        let mut out = Map::new();
        let mut ok = true;
        for (k, node) in map.iter() {
            let name = k.as_str();
            // `~` (or `null`, or nothing) is "not set", never the text `~`.
            if meta.contains(&name) || is_null(node) {
                continue;
            }
            let child = format!("{pointer}/{name}");
            if let Some(a) = address {
                let l = self.key_loc(k);
                self.locs.insert((a.clone(), child.clone()), l);
            }
            if name == "tags" && taggable {
                if let Node::Mapping(m) = node {
                    for (k, v) in m.iter() {
                        let at =
                            format!("{child}/{}", crate::types::attrs::pointer_token(k.as_str()));
                        self.mark(v, address, &at);
                    }
                }
                let tags = self.string_map(node);
                out.insert(
                    "tags".into(),
                    Value::Object(tags.into_iter().map(|(k, v)| (k, Value::String(v))).collect()),
                );
                continue;
            }
            let Some(attr) = attrs.iter().find(|a| a.name == name) else {
                let loc = self.key_loc(k);
                let names = attrs
                    .iter()
                    .map(|a| a.name)
                    .chain(meta.iter().copied())
                    .chain(taggable.then_some("tags"));
                let hint = did_you_mean(name, names.clone()).unwrap_or_else(|| {
                    format!("`{what}` takes: {}", names.collect::<Vec<_>>().join(", "))
                });
                self.d.error(loc, format!("unknown attribute `{name}` in `{what}`"), Some(hint));
                ok = false;
                continue;
            };
            match self.value(node, &attr.kind, address, &child) {
                Some(v) => {
                    out.insert(name.to_string(), v);
                }
                None => ok = false,
            }
        }
        for attr in attrs {
            // A key that was written but invalid has its own error already.
            if out.contains_key(attr.name) || map.get_node(attr.name).is_some_and(|n| !is_null(n)) {
                continue;
            }
            if attr.required {
                self.d.error(
                    parent_loc,
                    format!("`{what}` is missing required attribute `{}`", attr.name),
                    None,
                );
                ok = false;
            } else if let Some(v) = attr.default.to_json() {
                out.insert(attr.name.to_string(), with_defaults(&attr.kind, v));
            }
        }
        ok.then_some(out)
    }

    pub(super) fn value(
        &mut self,
        node: &Node,
        kind: &'static Kind,
        address: Option<&Address>,
        pointer: &str,
    ) -> Option<Value> {
        let loc = self.node_loc(node);
        if let Some(a) = address {
            self.locs.entry((a.clone(), pointer.to_string())).or_insert(loc);
        }
        self.mark(node, address, pointer);
        // A whole-string reference stands for a value of any kind.
        if let Node::Scalar(s) = node
            && let Some(v) = self.reference_value(s, kind, loc, address, pointer)
        {
            return v;
        }
        if let Node::Scalar(s) = node
            && let Some(v) = self.scalar(kind, s, loc)
        {
            return v;
        }
        match (kind, node) {
            (Kind::List(inner) | Kind::Set(inner), Node::Sequence(seq)) => {
                let mut out = Vec::new();
                let mut ok = true;
                for (i, item) in seq.iter().enumerate() {
                    match self.value(item, inner, address, &format!("{pointer}/{i}")) {
                        Some(v) => out.push(v),
                        None => ok = false,
                    }
                }
                ok.then_some(Value::Array(out))
            }
            (Kind::Map(inner), Node::Mapping(m)) => {
                let mut out = Map::new();
                let mut ok = true;
                for (k, item) in m.iter() {
                    let child =
                        format!("{pointer}/{}", crate::types::attrs::pointer_token(k.as_str()));
                    match self.value(item, inner, address, &child) {
                        Some(v) => {
                            out.insert(k.as_str().to_string(), v);
                        }
                        None => ok = false,
                    }
                }
                ok.then_some(Value::Object(out))
            }
            (Kind::Object(attrs), Node::Mapping(m)) => {
                let what = pointer.trim_start_matches('/').replace('/', ".");
                self.object(m, attrs, &[], false, address, pointer, loc, &what).map(Value::Object)
            }
            (kind, _) => {
                self.d.error(loc, format!("expected {}", kind.describe()), None);
                None
            }
        }
    }

    /// A scalar that holds an expression over resources (what is known
    /// from outside was evaluated already, `vars::fold`): kept as written,
    /// each reference recorded, for a value of any kind when it is one whole
    /// `${...}`. `None` when it holds none.
    fn reference_value(
        &mut self,
        s: &marked_yaml::types::MarkedScalarNode,
        kind: &'static Kind,
        loc: Loc,
        address: Option<&Address>,
        pointer: &str,
    ) -> Option<Option<Value>> {
        if s.span()
            .start()
            .is_some_and(|m| self.broken.contains(&(m.source(), m.line(), m.column())))
        {
            return Some(None);
        }
        let e = reference::expression(s.as_str())?;
        let refs = reference::references_in(&e);
        if refs.is_empty() {
            return None;
        }
        for r in refs {
            self.refs.push((loc, address.cloned(), r, pointer.to_string()));
        }
        if matches!(*e, crate::types::expr::Expr::Template(_)) && !matches!(kind, Kind::String) {
            self.d.error(
                loc,
                "a `${...}` inside a longer string is text: it is only allowed where a string is expected",
                Some(format!("make the whole value one expression: {} is expected here", kind.describe())),
            );
            return Some(None);
        }
        Some(Some(Value::String(s.as_str().to_string())))
    }

    /// A scalar of a scalar kind (a string, a number, a CIDR block, ...),
    /// checked; `None` for the kinds that are not scalars.
    fn scalar(
        &mut self,
        kind: &'static Kind,
        s: &marked_yaml::types::MarkedScalarNode,
        loc: Loc,
    ) -> Option<Option<Value>> {
        Some(match kind {
            Kind::String => Some(Value::String(s.as_str().to_string())),
            Kind::Bool => match s.as_bool() {
                Some(b) => Some(Value::Bool(b)),
                None => {
                    self.d.error(
                        loc,
                        format!("expected true or false, found `{}`", s.as_str()),
                        None,
                    );
                    None
                }
            },
            Kind::Int { min, max } => match s.as_str().parse::<i64>() {
                Ok(i) if i >= *min && i <= *max => Some(Value::from(i)),
                Ok(i) => {
                    self.d.error(
                        loc,
                        format!("{i} is out of range"),
                        Some(format!("allowed: {min}..{max}")),
                    );
                    None
                }
                Err(_) => {
                    self.d.error(
                        loc,
                        format!("expected a whole number, found `{}`", s.as_str()),
                        None,
                    );
                    None
                }
            },
            Kind::Number => match s.as_str().parse::<f64>() {
                Ok(n) if n.is_finite() => serde_json::Number::from_f64(n).map(Value::Number),
                _ => {
                    self.d.error(loc, format!("expected a number, found `{}`", s.as_str()), None);
                    None
                }
            },
            Kind::Cidr => {
                let text = s.as_str();
                match text.parse::<ipnet::Ipv4Net>() {
                    Ok(net) if net.trunc() == net => Some(Value::String(net.to_string())),
                    Ok(net) => {
                        self.d.error(
                            loc,
                            format!("`{text}` has host bits set"),
                            Some(format!("did you mean `{}`?", net.trunc())),
                        );
                        None
                    }
                    Err(_) => {
                        self.d.error(
                            loc,
                            format!("`{text}` is not a valid IPv4 CIDR block"),
                            Some("write it as ADDRESS/PREFIX, for example 10.0.0.0/16".into()),
                        );
                        None
                    }
                }
            }
            Kind::Enum(options) => {
                if options.contains(&s.as_str()) {
                    Some(Value::String(s.as_str().to_string()))
                } else {
                    let hint = did_you_mean(s.as_str(), options.iter().copied())
                        .unwrap_or_else(|| format!("one of: {}", options.join(", ")));
                    self.d.error(loc, format!("`{}` is not allowed here", s.as_str()), Some(hint));
                    None
                }
            }
            Kind::Ports => {
                match parse_ports(s.as_str()) {
                    Ok((a, b)) if a == b => Some(Value::String(a.to_string())),
                    Ok((a, b)) => Some(Value::String(format!("{a}-{b}"))),
                    Err(why) => {
                        self.d.error(loc, format!("invalid port range `{}`: {why}", s.as_str()), Some("write a port (\"443\") or a range (\"30000-32767\"), each 0..65535".into()));
                        None
                    }
                }
            }
            _ => return None,
        })
    }
}

/// A default object gets the defaults of its own fields.
fn with_defaults(kind: &Kind, value: Value) -> Value {
    match (kind, value) {
        (Kind::Object(fields), Value::Object(mut m)) => {
            for f in fields.iter() {
                if !m.contains_key(f.name)
                    && let Some(d) = f.default.to_json()
                {
                    m.insert(f.name.to_string(), with_defaults(&f.kind, d));
                }
            }
            Value::Object(m)
        }
        (_, v) => v,
    }
}

/// `90s`, `30m`, `2h` in seconds; zero is refused.
fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = n.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        _ => return None,
    };
    (secs > 0).then_some(secs)
}
