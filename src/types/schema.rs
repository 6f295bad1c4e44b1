//! The shape of each resource type: which attributes it takes, of what kind, which
//! force a replacement, and what it exports. Pure data; the per-type files in
//! `src/types/` declare one `TypeSchema` each.

/// What a value must look like.
#[derive(Debug)]
pub enum Kind {
    String,
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    /// A number, fractions allowed (an alarm's threshold).
    Number,
    /// An IPv4 CIDR block such as `10.0.0.0/16`.
    Cidr,
    /// One of a fixed set of strings.
    Enum(&'static [&'static str]),
    /// A port or port range: `"443"` or `"30000-32767"`.
    Ports,
    /// An ordered list.
    List(&'static Kind),
    /// An unordered list: compared as a set, so order never shows as a diff.
    Set(&'static Kind),
    /// A map from string keys to values of one kind.
    Map(&'static Kind),
    /// A nested object with its own attributes.
    Object(&'static [Attr]),
}

impl Kind {
    /// What a value of this kind looks like, for messages: `a whole number in 5..300`.
    pub fn describe(&self) -> String {
        match self {
            Kind::String => "a string".into(),
            Kind::Bool => "true or false".into(),
            Kind::Int { min, max } => format!("a whole number in {min}..{max}"),
            Kind::Number => "a number".into(),
            Kind::Cidr => "a CIDR block such as 10.0.0.0/16".into(),
            Kind::Enum(o) => format!("one of: {}", o.join(", ")),
            Kind::Ports => "a port or port range such as \"443\" or \"30000-32767\"".into(),
            Kind::List(_) | Kind::Set(_) => "a list".into(),
            Kind::Map(_) => "a mapping".into(),
            Kind::Object(_) => "a mapping of attributes".into(),
        }
    }
}

/// What it means to stop setting an optional attribute (one with no default)
/// that the stack set before: what the plan does when the stack file no
/// longer sets it and state says the stack managed it. Every such attribute
/// of every type says which (a test checks).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Removal {
    /// The setting is removed in AWS: the plan shows it going to `null`,
    /// and the provider deletes it (DeleteBucketPolicy,
    /// DeleteRepositoryPolicy, DeleteLifecyclePolicy, DeleteRetentionPolicy,
    /// ...) or leaves it out of the next whole request (a launch template's
    /// new version, an alarm's PutMetricAlarm, a listener's actions).
    Delete,
    /// AWS's own default is put back: the plan shows the value going to
    /// this one (JSON).
    Reset(&'static str),
    /// AWS holds a value of its own when the stack sets none (it computes
    /// one, or the setting cannot be taken back): left as it is, and no
    /// longer managed.
    Keep,
}

/// A default filled in when the stack file leaves an attribute out.
#[derive(Debug, Clone, Copy)]
pub enum Default {
    /// Not set: the attribute is not managed and never diffed.
    None,
    Bool(bool),
    Int(i64),
    Str(&'static str),
    /// An empty list: the attribute is managed and must be empty.
    EmptyList,
    /// A literal JSON value.
    Json(&'static str),
}

#[derive(Debug)]
pub struct Attr {
    pub name: &'static str,
    pub kind: Kind,
    pub required: bool,
    /// A change to this attribute cannot be made in place.
    pub force_new: bool,
    pub default: Default,
    /// Applied in a second step of its own (security group rules), so that two
    /// resources may reference each other through these attributes.
    pub deferred: bool,
    /// Kept in state only: no AWS call reads or writes it (`force_destroy`).
    pub local: bool,
    /// AWS reports it on every read; an endpoint whose answer leaves it out
    /// (an emulator) is taken to hold what was last asked for, rather than
    /// showing a change on every plan (an EKS cluster's upgrade policy).
    pub kept_if_unreported: bool,
    /// Says how a change is applied, never is one (`rollout`): not diffed.
    pub no_diff: bool,
    /// Never shown, whatever it holds: plans in every format read
    /// `(sensitive)`. For a value secret by nature; no type's attribute is
    /// today (user data that holds a secret is sealed by where the secret
    /// came from, a sensitive variable).
    pub sensitive: bool,
    /// Holds a JSON document (a policy, add-on configuration), or for a map,
    /// documents by name (inline policies): plans show it as indented JSON
    /// and a change as the statements or lines it changes; the JSON plan as a
    /// JSON value.
    pub document: bool,
    /// What it is, for people: the JSON Schema's description (`infra schema`).
    pub doc: &'static str,
    /// What stopping to set it means, for an optional attribute with no
    /// default (`None`: not said, which a test refuses for such an attribute).
    pub removal: Option<Removal>,
}

impl Attr {
    pub const fn new(name: &'static str, kind: Kind) -> Attr {
        Attr {
            name,
            kind,
            required: false,
            force_new: false,
            default: Default::None,
            deferred: false,
            local: false,
            kept_if_unreported: false,
            no_diff: false,
            sensitive: false,
            document: false,
            doc: "",
            removal: None,
        }
    }
    /// The value it takes when the stack file leaves it out: its default,
    /// an object's fields at theirs (`stickiness: {}` is `{ enabled: false,
    /// type: "lb_cookie", ... }`). `None` when it has no default.
    pub fn default_value(&self) -> Option<serde_json::Value> {
        let mut d = self.default.to_json()?;
        if let (serde_json::Value::Object(m), Kind::Object(fields)) = (&mut d, &self.kind) {
            for f in fields.iter() {
                if let Some(v) = f.default_value() {
                    m.entry(f.name).or_insert(v);
                }
            }
        }
        Some(d)
    }

    /// What stopping to set it means (`Removal`).
    pub const fn on_removal(mut self, removal: Removal) -> Attr {
        self.removal = Some(removal);
        self
    }

    /// Whether the stack sets it or nothing: required, defaulted, kept in
    /// state only, or never diffed. The others say what removing them means.
    pub fn optional_without_default(&self) -> bool {
        !self.required && matches!(self.default, Default::None) && !self.local && !self.no_diff
    }
    pub const fn doc(mut self, doc: &'static str) -> Attr {
        self.doc = doc;
        self
    }
    pub const fn required(mut self) -> Attr {
        self.required = true;
        self
    }
    pub const fn force_new(mut self) -> Attr {
        self.force_new = true;
        self
    }
    pub const fn default(mut self, default: Default) -> Attr {
        self.default = default;
        self
    }
    pub const fn deferred(mut self) -> Attr {
        self.deferred = true;
        self
    }
    pub const fn local(mut self) -> Attr {
        self.local = true;
        self
    }
    pub const fn kept_if_unreported(mut self) -> Attr {
        self.kept_if_unreported = true;
        self
    }
    pub const fn sensitive(mut self) -> Attr {
        self.sensitive = true;
        self
    }
    pub const fn document(mut self) -> Attr {
        self.document = true;
        self
    }
    pub const fn no_diff(mut self) -> Attr {
        self.no_diff = true;
        self
    }
}

/// How a name that the stack author left out is made up.
#[derive(Debug, Clone, Copy)]
pub enum NameDefault {
    /// The attribute must be given.
    Required,
    /// `<stack>-<resource name>`, with characters AWS refuses replaced by `-`;
    /// in an environment `<stack>SEP<env>SEP<resource name>`, SEP being what
    /// the type's names take that no stack's or environment's name holds
    /// (`--`, or `.` where `--` is refused). See `StackId::default_name`.
    StackAndName(&'static str),
}

#[derive(Debug)]
pub struct TypeSchema {
    pub name: &'static str,
    /// What it is, in a sentence or two, for people (`infra schema`).
    pub doc: &'static str,
    pub attrs: &'static [Attr],
    /// Attributes other resources may reference, beyond the declared ones.
    pub exports: &'static [&'static str],
    /// Whether the resource carries the stack's tags.
    pub taggable: bool,
    /// The attribute holding the AWS name, and what to do when it is left out.
    pub name_attr: Option<(&'static str, NameDefault)>,
    /// Checks across attributes that the kinds alone cannot express.
    pub check: Option<Check>,
    /// A change AWS cannot make, found only against what exists (an EKS version
    /// that skips a minor): the plan fails with this message.
    pub plan_check: Option<PlanCheck>,
    /// Findings that are warnings (errors with `--strict`): the lessons of the
    /// field notes, such as IMDSv2 with hop limit 2 on node launch templates.
    pub lint: Option<Check>,
    /// Attribute combinations no two resources of the type may share (a
    /// listener's port on one load balancer).
    pub unique: &'static [&'static [&'static str]],
    /// Brings observed and desired attributes to one form before they are
    /// compared (a one-target forward has no meaningful weight).
    pub canonical: Option<fn(&mut serde_json::Map<String, serde_json::Value>)>,
    /// Exports an in-place update changes (a launch template's latest version):
    /// unknown in a plan that updates the resource.
    pub changes_on_update: &'static [&'static str],
    /// For the resources this says, a replacement creates the new resource,
    /// moves what uses it over, then deletes the old one: every target group
    /// (one in use cannot be deleted), a node group whose name is made from
    /// a `name_prefix` (the new group needs a name beside the old one's).
    pub create_before_destroy: Option<Applies>,
    /// Set attributes whose members one resource of the type holds at a time
    /// (a subnet is in one route table): when a plan moves a member from one
    /// resource to another, the one taking it is applied first.
    pub exclusive: &'static [&'static str],
    /// What a change does beyond its attributes, said in the plan (how many
    /// nodes a node group update replaces): `(before, after, changed,
    /// replaced)`.
    pub impact: Option<Impact>,
    /// What one costs an hour, for the types with a fixed hourly price
    /// (`cost` sums the plan from the bundled table).
    pub price: Option<super::price::Price>,
    /// Whether what the type is billed by use for (`prices.json`'s
    /// `billed_by_use`) applies to this one; unset, it always does.
    pub billed_by_use_if: Option<Applies>,
    /// How AWS names one, as `infra import` takes its id.
    pub id_format: &'static str,
    /// What a reviewer must look at in a change of one, beyond its action
    /// (ingress opened to the internet, IAM that grants more), one line each:
    /// `(before, after, updated)`.
    pub risks: Option<Risks>,
    /// The AWS CLI command that sets the forward of one by hand, `{arn}` and
    /// `{actions}` to fill in: what a cut-over's runbook says to run to put
    /// the weights back.
    pub forward_by_hand: Option<&'static str>,
    /// Fills in, where the stack leaves them out, values a create needs that
    /// the stack does not manage afterwards (a node group's desired size
    /// starts at its minimum and is then the autoscaler's), and says which:
    /// those paths are ignored after create, as `ignore_changes` ignores them.
    pub create_defaults: Option<CreateDefaults>,
    /// What deleting one means beyond its going, said in the plan beside the
    /// delete (a KMS key is only scheduled for deletion: when it goes).
    pub deletion: Option<Deletion>,
}

/// Whether something applies to a resource, by its attributes.
pub type Applies = fn(&serde_json::Map<String, serde_json::Value>) -> bool;

/// The attribute that asks for a unique name made at creation instead of a
/// fixed one (Terraform's `name_prefix`).
pub const NAME_PREFIX: &str = "name_prefix";

/// See `TypeSchema::deletion`.
pub type Deletion = fn(&serde_json::Map<String, serde_json::Value>) -> String;

/// See `TypeSchema::create_defaults`.
pub type CreateDefaults = fn(&mut serde_json::Map<String, serde_json::Value>) -> Vec<&'static str>;

/// See `TypeSchema::risks`.
pub type Risks = fn(
    Option<&serde_json::Map<String, serde_json::Value>>,
    Option<&serde_json::Map<String, serde_json::Value>>,
    bool,
) -> Vec<String>;

/// See `TypeSchema::impact`.
pub type Impact = fn(
    &serde_json::Map<String, serde_json::Value>,
    &serde_json::Map<String, serde_json::Value>,
    &[String],
    bool,
) -> Option<String>;

/// A check of one change against what exists: `(before, after)`, and why AWS
/// cannot make it.
pub type PlanCheck = fn(
    &serde_json::Map<String, serde_json::Value>,
    &serde_json::Map<String, serde_json::Value>,
) -> Option<String>;

/// A type's own check over its validated attributes.
pub type Check = fn(&serde_json::Map<String, serde_json::Value>) -> Vec<Finding>;

/// A problem a type's own check found, located by a JSON pointer into the
/// resource's attributes (`/ingress/0/ports`).
#[derive(Debug, PartialEq)]
pub struct Finding {
    pub pointer: String,
    pub message: String,
    pub hint: Option<String>,
    /// Which lint it is, for a type's lint (`TypeSchema::lint`); `None` for
    /// a check's error.
    pub lint: Option<super::lint::Lint>,
}

/// A VPC's or a subnet's `cidr_block` outside the sizes AWS takes: /16 (65,536
/// addresses) to /28 (16), per the Amazon VPC User Guide.
pub fn block_size(attrs: &serde_json::Map<String, serde_json::Value>) -> Vec<Finding> {
    let Some(block) = attrs
        .get("cidr_block")
        .and_then(serde_json::Value::as_str)
        .and_then(|c| c.parse::<ipnet::Ipv4Net>().ok())
    else {
        return Vec::new();
    };
    match block.prefix_len() {
        16..=28 => Vec::new(),
        n => vec![Finding {
            lint: None,
            pointer: "/cidr_block".into(),
            message: format!("a /{n} block: AWS takes /16 to /28"),
            hint: Some("pick a prefix length from 16 (65,536 addresses) to 28 (16)".into()),
        }],
    }
}

impl TypeSchema {
    /// The defaults every type starts from.
    pub const BASE: TypeSchema = TypeSchema {
        name: "",
        doc: "",
        attrs: &[],
        exports: &[],
        taggable: true,
        name_attr: None,
        check: None,
        lint: None,
        plan_check: None,
        unique: &[],
        canonical: None,
        changes_on_update: &[],
        create_before_destroy: None,
        exclusive: &[],
        impact: None,
        price: None,
        billed_by_use_if: None,
        id_format: "its name",
        risks: None,
        forward_by_hand: None,
        create_defaults: None,
        deletion: None,
    };

    pub fn attr(&self, name: &str) -> Option<&'static Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }

    /// Replaces the values of sensitive attributes with `(sensitive)`.
    pub fn redact(&self, attrs: &mut serde_json::Map<String, serde_json::Value>) {
        self.redact_with(attrs, |_| serde_json::Value::String("(sensitive)".into()));
    }

    /// Replaces the value of each sensitive attribute with what `with` makes of
    /// it (a saved plan keeps a digest).
    pub fn redact_with(
        &self,
        attrs: &mut serde_json::Map<String, serde_json::Value>,
        with: impl Fn(&serde_json::Value) -> serde_json::Value,
    ) {
        for attr in self.attrs.iter().filter(|a| a.sensitive) {
            if let Some(v) = attrs.get_mut(attr.name) {
                *v = with(v);
            }
        }
    }

    /// Copies the attributes kept only in state (`force_destroy`: no AWS call
    /// reads them), and those the read left out that are kept when unreported,
    /// from what was asked for into what was read.
    pub fn keep_local(
        &self,
        observed: &mut serde_json::Map<String, serde_json::Value>,
        asked: &serde_json::Map<String, serde_json::Value>,
    ) {
        for attr in self.attrs {
            let keep = attr.local || (attr.kept_if_unreported && !observed.contains_key(attr.name));
            if let (true, Some(v)) = (keep, asked.get(attr.name)) {
                observed.insert(attr.name.to_string(), v.clone());
            }
        }
    }

    pub fn has_deferred(&self) -> bool {
        self.attrs.iter().any(|a| a.deferred)
    }

    /// Every attribute name a reference `${TYPE.NAME.ATTR}` may use.
    pub fn referenceable(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.exports
            .iter()
            .copied()
            .chain(self.attrs.iter().map(|a| a.name))
            .chain(self.taggable.then_some("tags"))
    }
}

impl Default {
    pub fn to_json(self) -> Option<serde_json::Value> {
        use serde_json::Value;
        match self {
            Default::None => None,
            Default::Bool(b) => Some(Value::Bool(b)),
            Default::Int(i) => Some(Value::from(i)),
            Default::Str(s) => Some(Value::from(s)),
            Default::EmptyList => Some(Value::Array(vec![])),
            Default::Json(s) => serde_json::from_str(s).ok(),
        }
    }
}

/// Parses `"N"` or `"N-M"` into an inclusive range.
pub fn parse_ports(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let parse = |p: &str| {
        p.trim().parse::<u16>().map_err(|_| format!("`{}` is not a port number 0..65535", p.trim()))
    };
    let (from, to) = (parse(a)?, parse(b)?);
    if from > to {
        return Err(format!("{from} is above {to}"));
    }
    Ok((from, to))
}
