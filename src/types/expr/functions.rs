//! Terraform's functions, by Terraform's names and semantics: each with its
//! arity, checked before it runs (`check_arity`, for validation) and its
//! arguments' types checked as it runs. Pure: `file` and `templatefile`,
//! which read the repository, are not here.

use ipnet::Ipv4Net;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::ExprError;
use super::parse::number;

type Result<T> = std::result::Result<T, ExprError>;
type Function = fn(&[Value]) -> Result<Value>;

/// Every function: name, fewest and most arguments (`None`: any number).
static FUNCTIONS: &[(&str, usize, Option<usize>, Function)] = &[
    ("cidrsubnet", 3, Some(3), cidrsubnet),
    ("cidrsubnets", 1, None, cidrsubnets),
    ("cidrhost", 2, Some(2), cidrhost),
    ("cidrnetmask", 1, Some(1), cidrnetmask),
    ("format", 1, None, format),
    ("formatlist", 1, None, formatlist),
    ("join", 2, Some(2), join),
    ("split", 2, Some(2), split),
    ("lower", 1, Some(1), |a| Ok(Value::String(text(&a[0])?.to_lowercase()))),
    ("upper", 1, Some(1), |a| Ok(Value::String(text(&a[0])?.to_uppercase()))),
    ("title", 1, Some(1), title),
    ("replace", 3, Some(3), |a| {
        Ok(Value::String(text(&a[0])?.replace(&text(&a[1])?, &text(&a[2])?)))
    }),
    ("trim", 2, Some(2), |a| {
        let cut = text(&a[1])?;
        Ok(Value::String(text(&a[0])?.trim_matches(|c| cut.contains(c)).to_string()))
    }),
    ("trimspace", 1, Some(1), |a| Ok(Value::String(text(&a[0])?.trim().to_string()))),
    ("trimprefix", 2, Some(2), |a| {
        let (s, p) = (text(&a[0])?, text(&a[1])?);
        Ok(Value::String(s.strip_prefix(p.as_str()).unwrap_or(&s).to_string()))
    }),
    ("trimsuffix", 2, Some(2), |a| {
        let (s, p) = (text(&a[0])?, text(&a[1])?);
        Ok(Value::String(s.strip_suffix(p.as_str()).unwrap_or(&s).to_string()))
    }),
    ("substr", 3, Some(3), substr),
    ("length", 1, Some(1), length),
    ("concat", 0, None, |a| {
        let mut out = Vec::new();
        for l in a {
            out.extend(list(l)?.iter().cloned());
        }
        Ok(Value::Array(out))
    }),
    ("merge", 0, None, |a| {
        let mut out = Map::new();
        for m in a.iter().filter(|m| !m.is_null()) {
            out.extend(map(m)?.clone());
        }
        Ok(Value::Object(out))
    }),
    // In lexicographic order of the keys, as Terraform's maps are.
    ("keys", 1, Some(1), |a| {
        Ok(Value::Array(sorted(map(&a[0])?).into_iter().map(|(k, _)| Value::String(k)).collect()))
    }),
    ("values", 1, Some(1), |a| {
        Ok(Value::Array(sorted(map(&a[0])?).into_iter().map(|(_, v)| v).collect()))
    }),
    ("lookup", 2, Some(3), lookup),
    ("contains", 2, Some(2), |a| Ok(Value::Bool(list(&a[0])?.contains(&a[1])))),
    ("element", 2, Some(2), element),
    ("index", 2, Some(2), |a| {
        let at = list(&a[0])?.iter().position(|v| v == &a[1]);
        at.map(|i| Value::from(i as u64)).ok_or_else(|| err("the value is not in the list"))
    }),
    ("range", 1, Some(3), range),
    ("zipmap", 2, Some(2), zipmap),
    ("flatten", 1, Some(1), |a| {
        let mut out = Vec::new();
        flatten_into(&a[0], &mut out);
        Ok(Value::Array(out))
    }),
    ("distinct", 1, Some(1), |a| {
        let mut out: Vec<Value> = Vec::new();
        for v in list(&a[0])? {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        Ok(Value::Array(out))
    }),
    ("sort", 1, Some(1), |a| {
        let mut items = list(&a[0])?.iter().map(text).collect::<Result<Vec<_>>>()?;
        items.sort();
        Ok(Value::Array(items.into_iter().map(Value::String).collect()))
    }),
    ("reverse", 1, Some(1), |a| Ok(Value::Array(list(&a[0])?.iter().rev().cloned().collect()))),
    ("slice", 3, Some(3), slice),
    ("coalesce", 1, None, |a| {
        a.iter()
            .find(|v| !v.is_null() && v.as_str() != Some(""))
            .cloned()
            .ok_or_else(|| err("no non-null, non-empty argument"))
    }),
    ("min", 1, None, |a| extreme(a, f64::min)),
    ("max", 1, None, |a| extreme(a, f64::max)),
    ("abs", 1, Some(1), |a| Ok(number(as_number(&a[0])?.abs()))),
    ("ceil", 1, Some(1), |a| Ok(number(as_number(&a[0])?.ceil()))),
    ("floor", 1, Some(1), |a| Ok(number(as_number(&a[0])?.floor()))),
    ("tostring", 1, Some(1), |a| match &a[0] {
        Value::Null => Ok(Value::Null),
        v => Ok(Value::String(text(v)?)),
    }),
    ("tonumber", 1, Some(1), |a| match &a[0] {
        Value::Null => Ok(Value::Null),
        v => Ok(number(as_number(v)?)),
    }),
    ("tobool", 1, Some(1), |a| match &a[0] {
        Value::Bool(_) | Value::Null => Ok(a[0].clone()),
        Value::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
        v => Err(err(format!("a bool is needed, not a {}", type_name(v)))),
    }),
    ("tolist", 1, Some(1), |a| Ok(Value::Array(list(&a[0])?.clone()))),
    ("toset", 1, Some(1), |a| {
        let mut out: Vec<Value> = Vec::new();
        for v in list(&a[0])? {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        out.sort_by_key(|v| v.to_string());
        Ok(Value::Array(out))
    }),
    ("tomap", 1, Some(1), |a| Ok(Value::Object(map(&a[0])?.clone()))),
    ("jsonencode", 1, Some(1), |a| Ok(Value::String(a[0].to_string()))),
    ("yamlencode", 1, Some(1), |a| Ok(Value::String(yaml(&a[0])))),
    // Read where the stack file is read (`vars::substitute`), never here.
    ("file", 1, Some(1), |_| Err(err("file() reads a file only in a stack file"))),
    ("templatefile", 2, Some(2), |_| Err(err("templatefile() reads a file only in a stack file"))),
    ("jsondecode", 1, Some(1), |a| {
        serde_json::from_str(&text(&a[0])?).map_err(|e| err(format!("not JSON: {e}")))
    }),
    ("base64encode", 1, Some(1), |a| {
        use base64::Engine;
        Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(text(&a[0])?)))
    }),
    ("base64decode", 1, Some(1), |a| {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text(&a[0])?)
            .map_err(|_| err("not base64"))?;
        String::from_utf8(bytes)
            .map(Value::String)
            .map_err(|_| err("the decoded bytes are not UTF-8"))
    }),
    ("md5", 1, Some(1), |a| {
        use md5::Digest;
        let digest = md5::Md5::digest(text(&a[0])?.as_bytes());
        Ok(Value::String(digest.iter().map(|b| format!("{b:02x}")).collect()))
    }),
    ("sha256", 1, Some(1), |a| {
        let digest = Sha256::digest(text(&a[0])?.as_bytes());
        Ok(Value::String(digest.iter().map(|b| format!("{b:02x}")).collect()))
    }),
];

/// A type's name for messages, as Terraform's.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "map",
    }
}

/// A number, or a string that holds one (Terraform converts).
pub fn as_number(v: &Value) -> Result<f64> {
    match v {
        Value::Number(n) => Ok(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => s.trim().parse().map_err(|_| err(format!("\"{s}\" is not a number"))),
        other => Err(err(format!("a number is needed, not a {}", type_name(other)))),
    }
}

fn err(message: impl Into<String>) -> ExprError {
    ExprError::new(0, message)
}

/// The names of every function, for "did you mean".
pub fn names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|f| f.0)
}

/// How many arguments a function takes: fewest, and most (`None`: any
/// number). `None` for no such function.
pub fn arity(name: &str) -> Option<(usize, Option<usize>)> {
    FUNCTIONS.iter().find(|f| f.0 == name).map(|f| (f.1, f.2))
}

/// Whether `name` is a function taking `n` arguments; why not, when not.
pub fn check_arity(name: &str, n: usize) -> std::result::Result<(), String> {
    let Some((_, min, max, _)) = FUNCTIONS.iter().find(|f| f.0 == name) else {
        return Err(format!("there is no function `{name}`"));
    };
    let many = |k: usize| format!("{k} argument{}", if k == 1 { "" } else { "s" });
    match max {
        Some(max) if n < *min || n > *max => Err(if min == max {
            format!("`{name}` takes {}, not {n}", many(*min))
        } else {
            format!("`{name}` takes {} to {}, not {n}", min, many(*max))
        }),
        None if n < *min => Err(format!("`{name}` takes at least {}, not {n}", many(*min))),
        _ => Ok(()),
    }
}

/// Calls a function on known arguments.
pub fn call(name: &str, args: &[Value]) -> Result<Value> {
    // "Did you mean" is the validator's to add, with the names (`names`).
    check_arity(name, args.len()).map_err(err)?;
    let f = FUNCTIONS.iter().find(|f| f.0 == name).map(|f| f.3).expect("checked above");
    f(args).map_err(|e| ExprError { message: format!("{name}: {}", e.message), ..e })
}

/// A value as text, where Terraform converts it: strings, numbers, bools.
fn text(v: &Value) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(err(format!("a string is needed, not a {}", type_name(other)))),
    }
}

/// A map's entries in lexicographic order of their keys.
pub(super) fn sorted(m: &Map<String, Value>) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn list(v: &Value) -> Result<&Vec<Value>> {
    v.as_array().ok_or_else(|| err(format!("a list is needed, not a {}", type_name(v))))
}

fn map(v: &Value) -> Result<&Map<String, Value>> {
    v.as_object().ok_or_else(|| err(format!("a map is needed, not a {}", type_name(v))))
}

fn whole(v: &Value) -> Result<i64> {
    let n = as_number(v)?;
    if n.fract() != 0.0 {
        return Err(err(format!("a whole number is needed, not {n}")));
    }
    Ok(n as i64)
}

fn prefix(v: &Value) -> Result<Ipv4Net> {
    let s = text(v)?;
    s.parse::<Ipv4Net>().map_err(|_| err(format!("\"{s}\" is not an IPv4 CIDR block")))
}

/// An address as it is written: `10.20.0.0`.
fn dotted(n: u32) -> String {
    let [a, b, c, d] = n.to_be_bytes();
    format!("{a}.{b}.{c}.{d}")
}

/// The block of `len` bits at `start`.
fn block(start: u32, len: u8) -> Result<Ipv4Net> {
    format!("{}/{len}", dotted(start)).parse().map_err(|_| err("not a CIDR block"))
}

/// `cidrsubnet(prefix, newbits, netnum)`, of an IPv4 or an IPv6 prefix
/// (a VPC's /56 into its subnets' /64s: `cidrsubnet(v6, 8, 1)`).
fn cidrsubnet(a: &[Value]) -> Result<Value> {
    if let Ok(v6) = text(&a[0])?.parse::<ipnet::Ipv6Net>() {
        return Ok(Value::String(subnet6(v6, whole(&a[1])?, whole(&a[2])?)?.to_string()));
    }
    let net = prefix(&a[0])?;
    Ok(Value::String(subnet(net, whole(&a[1])?, whole(&a[2])?)?.to_string()))
}

fn subnet6(net: ipnet::Ipv6Net, newbits: i64, netnum: i64) -> Result<ipnet::Ipv6Net> {
    let len = i64::from(net.prefix_len()) + newbits;
    if !(0..=32).contains(&newbits) || len > 128 {
        return Err(err(format!(
            "{newbits} more bits on a /{} would make a prefix longer than 128",
            net.prefix_len()
        )));
    }
    if netnum < 0 || netnum >= 1i64 << newbits {
        return Err(err(format!("{netnum} does not fit in {newbits} bits")));
    }
    let base = u128::from(net.trunc().network());
    let start = base + ((netnum as u128) << (128 - len));
    ipnet::Ipv6Net::new(start.into(), len as u8).map_err(|_| err("not a CIDR block"))
}

fn subnet(net: Ipv4Net, newbits: i64, netnum: i64) -> Result<Ipv4Net> {
    let len = i64::from(net.prefix_len()) + newbits;
    if newbits < 0 || len > 32 {
        return Err(err(format!(
            "{newbits} more bits on a /{} would make a prefix longer than 32",
            net.prefix_len()
        )));
    }
    if netnum < 0 || netnum >= 1i64 << newbits {
        return Err(err(format!("{netnum} does not fit in {newbits} bits")));
    }
    let base = u32::from(net.trunc().network()) as u64;
    let size = 1u64 << (32 - len);
    let start = base + netnum as u64 * size;
    block(start as u32, len as u8)
}

/// `cidrsubnets(prefix, newbits...)`: consecutive blocks, each aligned to its size.
fn cidrsubnets(a: &[Value]) -> Result<Value> {
    let net = prefix(&a[0])?;
    let base = u32::from(net.trunc().network()) as u64;
    let end = base + (1u64 << (32 - u32::from(net.prefix_len())));
    let mut next = base;
    let mut out = Vec::new();
    for bits in &a[1..] {
        let len = i64::from(net.prefix_len()) + whole(bits)?;
        if len > 32 {
            return Err(err("a prefix would be longer than 32"));
        }
        let size = 1u64 << (32 - len);
        let start = next.div_ceil(size) * size;
        if start + size > end {
            return Err(err(format!("not enough room in {net} for all the blocks")));
        }
        out.push(Value::String(block(start as u32, len as u8)?.to_string()));
        next = start + size;
    }
    Ok(Value::Array(out))
}

/// `cidrhost(prefix, hostnum)`; a negative number counts from the end.
fn cidrhost(a: &[Value]) -> Result<Value> {
    let net = prefix(&a[0])?;
    let size = 1i64 << (32 - u32::from(net.prefix_len()));
    let n = whole(&a[1])?;
    let at = if n < 0 { size + n } else { n };
    if at < 0 || at >= size {
        return Err(err(format!("host {n} is not in {net}")));
    }
    let base = i64::from(u32::from(net.trunc().network()));
    Ok(Value::String(dotted((base + at) as u32)))
}

fn cidrnetmask(a: &[Value]) -> Result<Value> {
    Ok(Value::String(prefix(&a[0])?.netmask().to_string()))
}

/// `format(spec, values...)`: `%s`, `%d`, `%v`, `%q`, `%%`, with `%02d`-style
/// zero padding.
fn format(a: &[Value]) -> Result<Value> {
    let spec = text(&a[0])?;
    let mut args = a[1..].iter();
    let mut out = String::new();
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(d) = chars.peek().copied().filter(|d| d.is_ascii_digit()) {
            flags.push(d);
            chars.next();
        }
        let verb = chars.next().ok_or_else(|| err("the spec ends in `%`"))?;
        if verb == '%' {
            out.push('%');
            continue;
        }
        let v = args.next().ok_or_else(|| err("too few values for the spec"))?;
        let width: usize = flags.parse().unwrap_or(0);
        let s = match verb {
            's' | 'v' => match v {
                Value::String(_) | Value::Number(_) | Value::Bool(_) => text(v)?,
                other => other.to_string(),
            },
            'd' => whole(v)?.to_string(),
            'q' => Value::String(text(v)?).to_string(),
            other => return Err(err(format!("`%{other}` is not a verb format takes"))),
        };
        if flags.starts_with('0') && verb == 'd' {
            out.push_str(&format!("{s:0>width$}"));
        } else {
            out.push_str(&format!("{s:>width$}"));
        }
    }
    Ok(Value::String(out))
}

/// `formatlist(spec, values...)`: `format` for each element of the lists
/// among the values (all of one length); other values are repeated.
fn formatlist(a: &[Value]) -> Result<Value> {
    let lengths: Vec<usize> = a[1..].iter().filter_map(|v| v.as_array().map(Vec::len)).collect();
    let n = lengths.first().copied().unwrap_or(1);
    if lengths.iter().any(|l| *l != n) {
        return Err(err("the lists given are not all of one length"));
    }
    let mut out = Vec::new();
    for i in 0..n {
        let mut args = vec![a[0].clone()];
        args.extend(a[1..].iter().map(|v| match v {
            Value::Array(items) => items[i].clone(),
            other => other.clone(),
        }));
        out.push(format(&args)?);
    }
    Ok(Value::Array(out))
}

fn join(a: &[Value]) -> Result<Value> {
    let sep = text(&a[0])?;
    let parts = list(&a[1])?.iter().map(text).collect::<Result<Vec<_>>>()?;
    Ok(Value::String(parts.join(&sep)))
}

fn split(a: &[Value]) -> Result<Value> {
    let (sep, s) = (text(&a[0])?, text(&a[1])?);
    Ok(Value::Array(s.split(sep.as_str()).map(|p| Value::String(p.to_string())).collect()))
}

fn title(a: &[Value]) -> Result<Value> {
    let mut out = String::new();
    let mut start = true;
    for c in text(&a[0])?.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    Ok(Value::String(out))
}

/// `substr(s, offset, length)`; a length of -1 runs to the end.
fn substr(a: &[Value]) -> Result<Value> {
    let chars: Vec<char> = text(&a[0])?.chars().collect();
    let (offset, length) = (whole(&a[1])?, whole(&a[2])?);
    let start = if offset < 0 { chars.len() as i64 + offset } else { offset }.max(0) as usize;
    let start = start.min(chars.len());
    let end = if length < 0 { chars.len() } else { (start + length as usize).min(chars.len()) };
    Ok(Value::String(chars[start..end].iter().collect()))
}

fn length(a: &[Value]) -> Result<Value> {
    let n = match &a[0] {
        Value::String(s) => s.chars().count(),
        Value::Array(l) => l.len(),
        Value::Object(m) => m.len(),
        other => return Err(err(format!("a {} has no length", type_name(other)))),
    };
    Ok(Value::from(n as u64))
}

fn lookup(a: &[Value]) -> Result<Value> {
    let key = text(&a[1])?;
    match (map(&a[0])?.get(&key), a.get(2)) {
        (Some(v), _) => Ok(v.clone()),
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(err(format!("no key \"{key}\" and no default"))),
    }
}

/// `element(list, index)`: the index wraps around.
fn element(a: &[Value]) -> Result<Value> {
    let items = list(&a[0])?;
    if items.is_empty() {
        return Err(err("the list is empty"));
    }
    let i = whole(&a[1])?;
    if i < 0 {
        return Err(err("the index must not be negative"));
    }
    Ok(items[i as usize % items.len()].clone())
}

/// `range(end)`, `range(start, end)`, `range(start, end, step)`.
fn range(a: &[Value]) -> Result<Value> {
    let n: Vec<f64> = a.iter().map(as_number).collect::<Result<_>>()?;
    let (start, end, step) = match n.as_slice() {
        [e] => (0.0, *e, 1.0),
        [s, e] => (*s, *e, if e >= s { 1.0 } else { -1.0 }),
        [s, e, st] => (*s, *e, *st),
        _ => unreachable!("arity is checked"),
    };
    if step == 0.0 || (end - start) / step < 0.0 && start != end {
        return Err(err("the step must move from start towards end"));
    }
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0.0 && x < end) || (step < 0.0 && x > end) {
        out.push(number(x));
        x += step;
        if out.len() > 1024 {
            return Err(err("a range may hold at most 1024 numbers"));
        }
    }
    Ok(Value::Array(out))
}

fn zipmap(a: &[Value]) -> Result<Value> {
    let (keys, values) = (list(&a[0])?, list(&a[1])?);
    if keys.len() != values.len() {
        return Err(err(format!("{} keys for {} values", keys.len(), values.len())));
    }
    let mut out = Map::new();
    for (k, v) in keys.iter().zip(values) {
        out.insert(text(k)?, v.clone());
    }
    Ok(Value::Object(out))
}

fn flatten_into(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| flatten_into(i, out)),
        other => out.push(other.clone()),
    }
}

/// `slice(list, start, end)`: end excluded.
fn slice(a: &[Value]) -> Result<Value> {
    let items = list(&a[0])?;
    let (s, e) = (whole(&a[1])?, whole(&a[2])?);
    if s < 0 || e < s || e as usize > items.len() {
        return Err(err(format!("{s}..{e} is not within a list of {}", items.len())));
    }
    Ok(Value::Array(items[s as usize..e as usize].to_vec()))
}

fn extreme(a: &[Value], pick: fn(f64, f64) -> f64) -> Result<Value> {
    let mut n = as_number(&a[0])?;
    for v in &a[1..] {
        n = pick(n, as_number(v)?);
    }
    Ok(number(n))
}

/// Terraform's `yamlencode`: block style, map keys in lexical order and
/// double-quoted, as are strings; a document ending with a newline.
fn yaml(v: &Value) -> String {
    let mut out = String::new();
    yaml_block(v, 0, &mut out);
    out
}

fn yaml_scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(Value::String(s.clone()).to_string()),
        Value::Array(a) if a.is_empty() => Some("[]".into()),
        Value::Object(m) if m.is_empty() => Some("{}".into()),
        Value::Array(_) | Value::Object(_) => None,
        other => Some(other.to_string()),
    }
}

/// `v` at `indent` spaces, each line ending with a newline.
fn yaml_block(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, item) in sorted(m) {
                let key = Value::String(k).to_string();
                match yaml_scalar(&item) {
                    Some(s) => out.push_str(&format!("{pad}{key}: {s}\n")),
                    None => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        // A list under a key sits at the key's indent, as go-yaml writes it.
                        let inner = if item.is_array() { indent } else { indent + 2 };
                        yaml_block(&item, inner, out);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                match yaml_scalar(item) {
                    Some(s) => out.push_str(&format!("{pad}- {s}\n")),
                    None => {
                        // The first line after `- `, the rest indented under it.
                        let mut inner = String::new();
                        yaml_block(item, indent + 2, &mut inner);
                        out.push_str(&format!("{pad}- {}", &inner[indent + 2..]));
                    }
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", yaml_scalar(other).unwrap_or_default())),
    }
}
