//! Problems found in a stack file, each located at `file:line:column`, rendered
//! with miette.

use std::sync::Arc;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, NamedSource, SourceSpan};
use thiserror::Error;

/// Where something sits in the stack file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Loc {
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
                self.file,
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
            out.push('\n');
        }
        out.push_str(&format!("{self}\n"));
        out
    }
}

/// Collects problems against one source text.
pub struct Diagnostics {
    file: String,
    src: NamedSource<Arc<String>>,
    text: Arc<String>,
    /// The byte offset where each line starts: a location costs a lookup, not a
    /// scan of the file.
    line_starts: Vec<usize>,
    pub problems: Vec<Problem>,
}

impl Diagnostics {
    pub fn new(file: &str, text: &str) -> Diagnostics {
        let line_starts =
            std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        let text = Arc::new(text.to_string());
        Diagnostics {
            file: file.to_string(),
            src: NamedSource::new(file, text.clone()),
            text,
            line_starts,
            problems: Vec::new(),
        }
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
        self.problems.push(Problem {
            message,
            src: self.src.clone(),
            span: SourceSpan::new(loc.offset.into(), loc.len),
            hint,
            loc,
            warning,
        });
    }

    /// A location from marked-yaml's line and column (1-based, in characters).
    pub fn loc(&self, line: usize, column: usize, chars: usize) -> Loc {
        let text = self.text.as_str();
        let line_start =
            self.line_starts.get(line.saturating_sub(1)).copied().unwrap_or(text.len());
        let line_end = self.line_starts.get(line).copied().unwrap_or(text.len());
        let rest = &text[line_start.min(text.len())..line_end.max(line_start).min(text.len())];
        let offset = line_start
            + rest.char_indices().nth(column.saturating_sub(1)).map_or(rest.len(), |(i, _)| i);
        let len = text[offset.min(text.len())..]
            .char_indices()
            .nth(chars)
            .map_or(text.len().saturating_sub(offset), |(i, _)| i);
        Loc { offset, len, line, column }
    }

    /// The place `offset` characters into a scalar that starts at `line`
    /// and `column` (after its opening quote, if it has one), when that is
    /// on the same line; the scalar's start otherwise.
    pub fn loc_within(&self, line: usize, column: usize, offset: usize, chars: usize) -> Loc {
        let start = self.loc(line, column, 1);
        let rest = self.text.get(start.offset..).unwrap_or("");
        let quoted = rest.starts_with(['"', '\'']) as usize;
        let on_line = rest.split('\n').next().unwrap_or("").chars().count();
        match offset + quoted < on_line {
            true => self.loc(line, column + offset + quoted, chars),
            false => self.loc(line, column, chars),
        }
    }

    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| !p.warning)
    }

    pub fn into_errors(self) -> StackErrors {
        StackErrors { file: self.file, problems: self.problems }
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
