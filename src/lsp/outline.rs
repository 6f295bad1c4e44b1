//! A stack (or module) file read as an editor sees it, half-typed or not:
//! each line's key and where it starts, the path of keys that leads to a
//! place, the keys each section declares, and the `${...}` in a line. Read
//! by lines and indentation rather than as YAML, so that a file that does
//! not parse yet still has an outline. Positions are 0-based lines and byte
//! columns. Pure.

/// One line: where its key starts (after indentation and a `- `), the key.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub key: Option<(usize, String)>,
    /// Where the line's content starts (its indentation, and `- `).
    pub start: usize,
    pub blank: bool,
}

/// Every line of `text`.
pub fn lines(text: &str) -> Vec<Line> {
    text.split('\n').map(line).collect()
}

fn line(l: &str) -> Line {
    let l = l.trim_end_matches('\r');
    let indent = l.len() - l.trim_start_matches(' ').len();
    let mut start = indent;
    let rest = &l[indent..];
    let rest = match rest.strip_prefix("- ") {
        Some(r) => {
            start += 2 + (r.len() - r.trim_start().len());
            r.trim_start()
        }
        None => rest,
    };
    let blank = rest.is_empty() || rest.starts_with('#');
    Line { key: key_of(rest).map(|k| (start, k)), start, blank }
}

/// The key a line's content starts with: `name:` followed by a space, or
/// the end of the line (quotes taken off).
fn key_of(rest: &str) -> Option<String> {
    let (key, after) = match rest.chars().next()? {
        q @ ('"' | '\'') => {
            let close = rest[1..].find(q)? + 1;
            (rest[1..close].to_string(), &rest[close + 1..])
        }
        '{' | '[' | '#' | '$' | '&' | '*' | '!' | '|' | '>' => return None,
        _ => {
            let colon = rest.find(": ").or_else(|| rest.strip_suffix(':').map(|r| r.len()))?;
            let key = &rest[..colon];
            if key.contains(['{', '[', '"', '#']) && !key.contains('[') {
                return None;
            }
            (key.trim_end().to_string(), &rest[colon..])
        }
    };
    (after.starts_with(": ") || after == ":" || after.starts_with(":\t")).then_some(key)
}

/// The keys that lead to line `at`, column `column`, outermost first: the
/// line's own key when the column is on or after it, else the keys of the
/// lines above it that hold it (for a new key being typed, the column says
/// how deep it is).
pub fn path(lines: &[Line], at: usize, column: usize) -> Vec<String> {
    let Some(here) = lines.get(at) else { return Vec::new() };
    let mut out = Vec::new();
    let mut depth = match &here.key {
        Some((start, key)) if column >= *start => {
            out.push(key.clone());
            *start
        }
        // A new key being typed: the column is its depth.
        _ if here.blank => column,
        _ => here.start,
    };
    for l in lines[..at].iter().rev() {
        if depth == 0 {
            break;
        }
        if let Some((start, key)) = &l.key
            && *start < depth
        {
            out.push(key.clone());
            depth = *start;
        }
    }
    out.reverse();
    out
}

/// A key a section declares: `resources` → `vpc.main` at its line and column.
#[derive(Debug, Clone, PartialEq)]
pub struct Declared {
    pub section: String,
    pub name: String,
    pub line: usize,
    pub column: usize,
}

/// The keys the top-level sections declare (`resources`, `data`,
/// `variables`, `modules`, `outputs`, `stacks`), each at its line.
pub fn declared(lines: &[Line]) -> Vec<Declared> {
    let mut out = Vec::new();
    let mut section: Option<String> = None;
    let mut depth: Option<usize> = None;
    for (i, l) in lines.iter().enumerate() {
        let Some((start, key)) = &l.key else { continue };
        if *start == 0 {
            section = Some(key.clone());
            depth = None;
            continue;
        }
        let Some(s) = &section else { continue };
        let d = *depth.get_or_insert(*start);
        if *start == d {
            out.push(Declared { section: s.clone(), name: key.clone(), line: i, column: *start });
        }
    }
    out
}

/// The `${...}` of one line: the byte range of what is between `${` and
/// its `}` (to the end of the line when it is not closed yet).
pub fn interpolations(line: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'$' && bytes[i + 1] == b'{' && (i == 0 || bytes[i - 1] != b'$') {
            let start = i + 2;
            let mut depth = 1;
            let mut j = start;
            let mut quoted = false;
            while j < bytes.len() {
                match bytes[j] {
                    b'"' if j == 0 || bytes[j - 1] != b'\\' => quoted = !quoted,
                    b'{' if !quoted => depth += 1,
                    b'}' if !quoted => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            out.push((start, j.min(bytes.len())));
            i = j;
        }
        i += 1;
    }
    out
}

/// The traversal (`vpc.main.id`, `module.network.outputs.vpc_id`,
/// `data.vpc.shared.id`) that column `column` of `line` is on, inside a
/// `${...}`: its text and where it starts. Index brackets are kept
/// (`subnet.private["a"].id`).
pub fn traversal_at(line: &str, column: usize) -> Option<(usize, String)> {
    let (from, to) =
        interpolations(line).into_iter().find(|(s, e)| *s <= column && column <= *e)?;
    let inner = &line[from..to];
    let at = column - from;
    let b = inner.as_bytes();
    let part =
        |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.' || c == b'*';
    // Back to the start of the traversal (over brackets too).
    let mut s = at.min(b.len());
    while s > 0 {
        let c = b[s - 1];
        if part(c) {
            s -= 1;
        } else if c == b']' {
            match inner[..s].rfind('[') {
                Some(open) => s = open,
                None => break,
            }
        } else {
            break;
        }
    }
    let mut e = at.min(b.len());
    while e < b.len() {
        let c = b[e];
        if part(c) {
            e += 1;
        } else if c == b'[' {
            match inner[e..].find(']') {
                Some(close) => e += close + 1,
                None => break,
            }
        } else {
            break;
        }
    }
    (s < e || at == s).then(|| (from + s, inner[s..e].to_string()))
}

/// A traversal's names without index brackets: `subnet.private["a"].id` is
/// `[subnet, private, id]`.
pub fn names(traversal: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in traversal.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '.' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ if depth == 0 => cur.push(c),
            _ => {}
        }
    }
    out.push(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "stack: s\nresources:\n  vpc.main:\n    cidr_block: 10.0.0.0/16\n    tags:\n      team: a\n  subnet.a:\n    vpc_id: ${vpc.main.id}\n    \n";

    #[test]
    fn a_place_has_the_keys_that_hold_it() {
        let ls = lines(FILE);
        assert_eq!(path(&ls, 3, 6), ["resources", "vpc.main", "cidr_block"]);
        assert_eq!(path(&ls, 5, 8), ["resources", "vpc.main", "tags", "team"]);
        // A new key being typed: the column says how deep.
        assert_eq!(path(&ls, 8, 4), ["resources", "subnet.a"]);
        assert_eq!(path(&ls, 8, 2), ["resources"]);
    }

    #[test]
    fn sections_declare_their_keys() {
        let d = declared(&lines(FILE));
        let names: Vec<&str> = d.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["vpc.main", "subnet.a"]);
        assert_eq!((d[1].line, d[1].column), (6, 2));
    }

    #[test]
    fn a_reference_under_the_cursor_is_its_whole_traversal() {
        let line = r#"    vpc_id: "${subnet.private["a"].id}-${upper(var.x)}""#;
        let at = line.find("private").unwrap();
        assert_eq!(traversal_at(line, at).unwrap().1, r#"subnet.private["a"].id"#);
        let at = line.find("var.x").unwrap() + 4;
        assert_eq!(traversal_at(line, at).unwrap().1, "var.x");
        assert_eq!(names(r#"subnet.private["a"].id"#), ["subnet", "private", "id"]);
        // Half typed: `${vpc.` to the end of the line.
        assert_eq!(traversal_at("    vpc_id: ${vpc.", 18).unwrap().1, "vpc.");
    }
}
