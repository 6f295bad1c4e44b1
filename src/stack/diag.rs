//! Problems found in a stack file (or a module file it uses), each located
//! at `file:line:column`, rendered with miette; one in a module says, after
//! it, the chain of uses that led there.

use std::sync::Arc;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, NamedSource, SourceSpan};
use thiserror::Error;

/// Where something sits in the stack file, or (`source` above 0) in a
/// module file it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Loc {
    /// Which file: 0 the stack file, else a module's (`Diagnostics::add`).
    pub source: usize,
    /// Byte offset and length in the source.
    pub offset: usize,
    pub len: usize,
    /// 1-based.
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Error, Diagnostic)]
#[error("{message}")]
pub struct Problem {
    pub message: String,
    #[source_code]
    pub src: NamedSource<Arc<String>>,
    #[label("here")]
    pub span: SourceSpan,
    #[help]
    pub hint: Option<String>,
    pub loc: Loc,
    /// The file it is in, as given.
    pub file: String,
    /// In a module's file: each use that led there, innermost first
    /// (`module.network, used at stacks/platform.yaml:12:3`).
    pub uses: Vec<Use>,
    /// Warnings do not stop a run unless `--strict`.
    pub warning: bool,
}

/// Every problem found in one stack file.
#[derive(Debug, Error)]
#[error("{file}: {} problem{} in the stack file", problems.len(), if problems.len() == 1 { "" } else { "s" })]
pub struct StackErrors {
    pub file: String,
    pub problems: Vec<Problem>,
}

impl StackErrors {
    /// Renders every problem as `file:line:column: message`, then miette's snippet.
    pub fn render(&self, color: bool) -> String {
        let theme =
            if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
        let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
        let mut out = String::new();
        for p in &self.problems {
            out.push_str(&format!(
                "{}: {}:{}:{}: {}\n",
                if p.warning { "warning" } else { "error" },
                p.file,
                p.loc.line,
                p.loc.column,
                p.message
            ));
            if p.loc.len > 0 || p.loc.offset > 0 {
                let mut snippet = String::new();
                if handler.render_report(&mut snippet, p).is_ok() {
                    out.push_str(&snippet);
                }
            } else if let Some(h) = &p.hint {
                out.push_str(&format!("  help: {h}\n"));
            }
            for u in &p.uses {
                out.push_str(&format!("  in {u}\n"));
            }
            out.push('\n');
        }
        out.push_str(&format!("{self}\n"));
        out
    }
}

/// A use of a module: its name, and where it is written (the file as
/// shown, 1-based line and column).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Use {
    pub module: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Use {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "module.{}, used at {}:{}:{}", self.module, self.file, self.line, self.column)
    }
}

/// A module file a stack uses, for messages: its path as shown (beside
/// the stack file's), its text, and the uses that led to it, innermost first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Source {
    pub file: String,
    pub text: String,
    pub uses: Vec<Use>,
}

/// One file problems are located in.
struct Text {
    file: String,
    src: NamedSource<Arc<String>>,
    text: Arc<String>,
    /// The byte offset where each line starts: a location costs a lookup, not a
    /// scan of the file.
    line_starts: Vec<usize>,
    uses: Vec<Use>,
}

impl Text {
    fn new(file: &str, text: &str, uses: Vec<Use>) -> Text {
        let line_starts =
            std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        let text = Arc::new(text.to_string());
        Text {
            file: file.to_string(),
            src: NamedSource::new(file, text.clone()),
            text,
            line_starts,
            uses,
        }
    }
}

/// Collects problems against the stack file and the module files it uses.
pub struct Diagnostics {
    texts: Vec<Text>,
    pub problems: Vec<Problem>,
}

impl Diagnostics {
    pub fn new(file: &str, text: &str) -> Diagnostics {
        Diagnostics { texts: vec![Text::new(file, text, Vec::new())], problems: Vec::new() }
    }

    /// For a stack's own file and the module files it uses.
    pub fn with_sources(file: &str, text: &str, sources: &[Source]) -> Diagnostics {
        let mut d = Diagnostics::new(file, text);
        for s in sources {
            d.add(s);
        }
        d
    }

    /// A module file: locations in it are `source` the number returned.
    pub fn add(&mut self, s: &Source) -> usize {
        self.texts.push(Text::new(&s.file, &s.text, s.uses.clone()));
        self.texts.len() - 1
    }

    /// The stack file, as given.
    pub fn file(&self) -> &str {
        &self.texts[0].file
    }

    fn text(&self, source: usize) -> &Text {
        self.texts.get(source).unwrap_or(&self.texts[0])
    }

    /// Puts `(sensitive)` wherever a message or hint would show one of these.
    pub fn scrub(&mut self, secrets: &[String]) {
        for p in &mut self.problems {
            for secret in secrets {
                p.message = p.message.replace(secret.as_str(), "(sensitive)");
                if let Some(h) = &mut p.hint {
                    *h = h.replace(secret.as_str(), "(sensitive)");
                }
            }
        }
    }

    pub fn error(&mut self, loc: Loc, message: impl Into<String>, hint: Option<String>) {
        self.push(loc, message.into(), hint, false);
    }

    pub fn warning(&mut self, loc: Loc, message: impl Into<String>, hint: Option<String>) {
        self.push(loc, message.into(), hint, true);
    }

    fn push(&mut self, loc: Loc, message: String, hint: Option<String>, warning: bool) {
        let t = self.text(loc.source);
        self.problems.push(Problem {
            message,
            src: t.src.clone(),
            span: SourceSpan::new(loc.offset.into(), loc.len),
            hint,
            loc,
            file: t.file.clone(),
            uses: t.uses.clone(),
            warning,
        });
    }

    /// A location from marked-yaml's line and column (1-based, in characters).
    pub fn loc(&self, line: usize, column: usize, chars: usize) -> Loc {
        self.loc_in(0, line, column, chars)
    }

    /// A location in file `source` (0 the stack file).
    pub fn loc_in(&self, source: usize, line: usize, column: usize, chars: usize) -> Loc {
        let t = self.text(source);
        let source = if source < self.texts.len() { source } else { 0 };
        let text = t.text.as_str();
        let line_start = t.line_starts.get(line.saturating_sub(1)).copied().unwrap_or(text.len());
        let line_end = t.line_starts.get(line).copied().unwrap_or(text.len());
        let rest = &text[line_start.min(text.len())..line_end.max(line_start).min(text.len())];
        let offset = line_start
            + rest.char_indices().nth(column.saturating_sub(1)).map_or(rest.len(), |(i, _)| i);
        let len = text[offset.min(text.len())..]
            .char_indices()
            .nth(chars)
            .map_or(text.len().saturating_sub(offset), |(i, _)| i);
        Loc { source, offset, len, line, column }
    }

    /// The place `offset` characters into a scalar that starts at `line`
    /// and `column` (after its opening quote, if it has one), when that is
    /// on the same line; the scalar's start otherwise.
    pub fn loc_within(
        &self,
        source: usize,
        (line, column): (usize, usize),
        offset: usize,
        chars: usize,
    ) -> Loc {
        let start = self.loc_in(source, line, column, 1);
        let rest = self.text(source).text.get(start.offset..).unwrap_or("");
        let quoted = rest.starts_with(['"', '\'']) as usize;
        let on_line = rest.split('\n').next().unwrap_or("").chars().count();
        match offset + quoted < on_line {
            true => self.loc_in(source, line, column + offset + quoted, chars),
            false => self.loc_in(source, line, column, chars),
        }
    }

    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| !p.warning)
    }

    pub fn into_errors(self) -> StackErrors {
        StackErrors { file: self.texts[0].file.clone(), problems: self.problems }
    }
}

/// A "did you mean" hint when a close candidate exists.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// Where marked-yaml's refusal of a file is, what it is, and a hint.
/// `what` is the file (`the stack file`, `a module file`), `start` how it
/// starts (`stack: NAME`).
pub fn yaml_problem(
    e: &marked_yaml::LoadError,
    what: &str,
    start: &str,
) -> (Option<marked_yaml::Marker>, String, Option<String>) {
    use marked_yaml::LoadError as E;
    match e {
        E::DuplicateKey(d) => {
            let first = d.prev_key.span().start().map(|m| m.line()).unwrap_or(0);
            (
                d.key.span().start().copied(),
                format!("duplicate key `{}`", d.key.as_str()),
                Some(format!(
                    "it is already defined on line {first}; every address must be unique"
                )),
            )
        }
        E::ScanError(m, se) => (Some(*m), format!("YAML syntax error: {}", se.info()), None),
        E::TopLevelMustBeMapping(m) => {
            (Some(*m), format!("{what} must be a mapping"), Some(format!("start with `{start}`")))
        }
        E::UnexpectedAnchor(m) => (Some(*m), "YAML anchors are not supported".into(), None),
        E::UnexpectedTag(m) => (Some(*m), "YAML tags are not supported".into(), None),
        E::MappingKeyMustBeScalar(m) => {
            (Some(*m), "mapping keys must be plain strings".into(), None)
        }
        other => (None, other.to_string(), None),
    }
}
