//! `infra lsp`: the Language Server Protocol over stdio (`lsp-server`,
//! `lsp-types`). Diagnostics are what `infra validate` says of the file as it
//! is typed (every error, warning and lint, `accept:` honoured; a module's in
//! its file and at its use); hover, completion, definition, references,
//! symbols and "did you mean" fixes come from `analysis`. No AWS call, no
//! state read: the only I/O is the protocol and the module files read beside
//! the stack file. A request that fails, or panics, gets an error answer;
//! the server goes on.

pub mod analysis;
pub mod outline;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types as lsp;
use serde_json::Value;

use analysis::{Doc, Place};

/// Runs the server on stdin and stdout until the client says `exit`.
pub fn serve() -> anyhow::Result<()> {
    let (connection, io) = Connection::stdio();
    let caps = lsp::ServerCapabilities {
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Kind(
            lsp::TextDocumentSyncKind::FULL,
        )),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some(vec![".".into(), "{".into()]),
            ..Default::default()
        }),
        definition_provider: Some(lsp::OneOf::Left(true)),
        references_provider: Some(lsp::OneOf::Left(true)),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Simple(true)),
        ..Default::default()
    };
    connection.initialize(serde_json::to_value(caps)?)?;
    let mut server = Server { docs: BTreeMap::new(), published: BTreeMap::new() };
    for msg in &connection.receiver {
        match msg {
            Message::Request(req) => {
                if connection.handle_shutdown(&req)? {
                    break;
                }
                let id = req.id.clone();
                let answer =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.request(req)));
                let response = match answer {
                    Ok(Ok(v)) => Response::new_ok(id, v),
                    Ok(Err((code, message))) => Response::new_err(id, code as i32, message),
                    Err(_) => Response::new_err(
                        id,
                        ErrorCode::InternalError as i32,
                        "infra lsp failed on this request".into(),
                    ),
                };
                connection.sender.send(Message::Response(response))?;
            }
            Message::Notification(n) => {
                let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    server.notification(n)
                }))
                .unwrap_or_default();
                for n in out {
                    connection.sender.send(Message::Notification(n))?;
                }
            }
            Message::Response(_) => {}
        }
    }
    drop(connection);
    io.join()?;
    Ok(())
}

type Answer = Result<Value, (ErrorCode, String)>;

struct Server {
    /// The open documents' texts, by URI.
    docs: BTreeMap<String, String>,
    /// For each open stack file, the module files it published diagnostics
    /// to (cleared when they no longer have any).
    published: BTreeMap<String, BTreeSet<String>>,
}

fn params<P: serde::de::DeserializeOwned>(v: Value) -> Result<P, (ErrorCode, String)> {
    serde_json::from_value(v).map_err(|e| (ErrorCode::InvalidParams, e.to_string()))
}

impl Server {
    fn text(&self, uri: &str) -> Result<&str, (ErrorCode, String)> {
        self.docs
            .get(uri)
            .map(String::as_str)
            .ok_or((ErrorCode::InvalidParams, format!("{uri} is not open")))
    }

    /// A position's document: its URI, its text, and the line and byte
    /// column.
    fn place<'s>(
        &'s self,
        at: &'s lsp::TextDocumentPositionParams,
    ) -> Result<(&'s str, &'s str, usize, usize), (ErrorCode, String)> {
        let uri = at.text_document.uri.as_str();
        let text = self.text(uri)?;
        let (line, column) = byte_position(text, at.position);
        Ok((uri, text, line, column))
    }

    fn request(&mut self, req: Request) -> Answer {
        use lsp::request::*;
        let v = match req.method.as_str() {
            HoverRequest::METHOD => {
                let p: lsp::HoverParams = params(req.params)?;
                let at = p.text_document_position_params;
                let (uri, text, line, column) = self.place(&at)?;
                let doc = Doc::new(text);
                let modules = beside(uri, self);
                let h = analysis::hover(&doc, line, column, &modules).map(|md| lsp::Hover {
                    contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                        kind: lsp::MarkupKind::Markdown,
                        value: md,
                    }),
                    range: None,
                });
                serde_json::to_value(h)
            }
            Completion::METHOD => {
                let p: lsp::CompletionParams = params(req.params)?;
                let at = p.text_document_position;
                let (uri, text, line, column) = self.place(&at)?;
                let doc = Doc::new(text);
                let modules = beside(uri, self);
                let items: Vec<lsp::CompletionItem> =
                    analysis::complete(&doc, line, column, &modules)
                        .into_iter()
                        .map(completion_item)
                        .collect();
                serde_json::to_value(lsp::CompletionResponse::Array(items))
            }
            GotoDefinition::METHOD => {
                let p: lsp::GotoDefinitionParams = params(req.params)?;
                let at = p.text_document_position_params;
                let uri = at.text_document.uri.clone();
                let (_, text, line, column) = self.place(&at)?;
                let doc = Doc::new(text);
                let found = analysis::definition(&doc, line, column)
                    .and_then(|place| self.location(&uri, text, place));
                serde_json::to_value(found.map(lsp::GotoDefinitionResponse::Scalar))
            }
            References::METHOD => {
                let p: lsp::ReferenceParams = params(req.params)?;
                let at = p.text_document_position;
                let uri = at.text_document.uri.clone();
                let (_, text, line, column) = self.place(&at)?;
                let doc = Doc::new(text);
                let found: Vec<lsp::Location> = analysis::references(&doc, line, column)
                    .into_iter()
                    .map(|(l, c, n)| lsp::Location {
                        uri: uri.clone(),
                        range: range(text, l, c, n),
                    })
                    .collect();
                serde_json::to_value(found)
            }
            DocumentSymbolRequest::METHOD => {
                let p: lsp::DocumentSymbolParams = params(req.params)?;
                let uri = p.text_document.uri;
                let text = self.text(uri.as_str())?;
                let doc = Doc::new(text);
                #[allow(deprecated)]
                let symbols: Vec<lsp::SymbolInformation> = analysis::symbols(&doc)
                    .iter()
                    .map(|d| lsp::SymbolInformation {
                        name: d.name.clone(),
                        kind: match d.section.as_str() {
                            "resources" => lsp::SymbolKind::OBJECT,
                            "data" => lsp::SymbolKind::STRUCT,
                            "variables" => lsp::SymbolKind::VARIABLE,
                            "modules" => lsp::SymbolKind::MODULE,
                            "outputs" => lsp::SymbolKind::PROPERTY,
                            _ => lsp::SymbolKind::KEY,
                        },
                        tags: None,
                        deprecated: None,
                        location: lsp::Location {
                            uri: uri.clone(),
                            range: range(text, d.line, d.column, d.name.len()),
                        },
                        container_name: Some(d.section.clone()),
                    })
                    .collect();
                serde_json::to_value(lsp::DocumentSymbolResponse::Flat(symbols))
            }
            CodeActionRequest::METHOD => {
                let p: lsp::CodeActionParams = params(req.params)?;
                let uri = p.text_document.uri;
                let text = self.text(uri.as_str())?;
                let actions: Vec<lsp::CodeActionOrCommand> = p
                    .context
                    .diagnostics
                    .iter()
                    .filter_map(|d| fix(&uri, text, d))
                    .map(lsp::CodeActionOrCommand::CodeAction)
                    .collect();
                serde_json::to_value(actions)
            }
            other => return Err((ErrorCode::MethodNotFound, format!("{other} is not served"))),
        };
        v.map_err(|e| (ErrorCode::InternalError, e.to_string()))
    }

    fn notification(&mut self, n: Notification) -> Vec<Notification> {
        use lsp::notification::*;
        let uri = match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp::DidOpenTextDocumentParams>(n.params)
                else {
                    return Vec::new();
                };
                let uri = p.text_document.uri.as_str().to_string();
                self.docs.insert(uri.clone(), p.text_document.text);
                uri
            }
            DidChangeTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp::DidChangeTextDocumentParams>(n.params)
                else {
                    return Vec::new();
                };
                let uri = p.text_document.uri.as_str().to_string();
                // Whole-document sync: the last change is the text.
                if let Some(c) = p.content_changes.into_iter().last() {
                    self.docs.insert(uri.clone(), c.text);
                }
                uri
            }
            DidCloseTextDocument::METHOD => {
                if let Ok(p) = serde_json::from_value::<lsp::DidCloseTextDocumentParams>(n.params) {
                    self.docs.remove(p.text_document.uri.as_str());
                }
                return Vec::new();
            }
            _ => return Vec::new(),
        };
        self.diagnose(&uri)
    }

    /// What `infra validate` says of the document at `uri` (a stack file),
    /// as diagnostics for it and for the module files it uses.
    fn diagnose(&mut self, uri: &str) -> Vec<Notification> {
        let Some(text) = self.docs.get(uri).cloned() else { return Vec::new() };
        let path = file_path(uri);
        // A module's own file is checked through the stack files that use it.
        let top = outline::lines(&text);
        let at_top = |name: &str| top.iter().any(|l| matches!(&l.key, Some((0, k)) if k == name));
        let is_module = at_top("module") && !at_top("stack");
        let mut by_file: BTreeMap<String, Vec<lsp::Diagnostic>> = BTreeMap::new();
        by_file.insert(uri.to_string(), Vec::new());
        if !is_module {
            let beside = |p: &str| self.read_beside(&path, p);
            let whole = |p: &str| self.read_path(Path::new(p));
            for (file, d) in diagnostics(&path, &text, &beside, &whole) {
                let target = match file {
                    None => uri.to_string(),
                    Some(f) => file_uri(&f),
                };
                by_file.entry(target).or_default().push(d);
            }
        }
        let now: BTreeSet<String> = by_file.keys().filter(|u| *u != uri).cloned().collect();
        let before = self.published.insert(uri.to_string(), now.clone()).unwrap_or_default();
        for gone in before.difference(&now) {
            by_file.insert(gone.clone(), Vec::new());
        }
        by_file
            .into_iter()
            .filter_map(|(u, diagnostics)| {
                let uri = lsp::Uri::from_str(&u).ok()?;
                let p = lsp::PublishDiagnosticsParams { uri, diagnostics, version: None };
                Some(Notification::new(
                    <lsp::notification::PublishDiagnostics as lsp::notification::Notification>::METHOD.into(),
                    p,
                ))
            })
            .collect()
    }

    /// A file a stack file names (a module's source, a `file()`), relative
    /// to it: the open document's text if it is open, else the disk's.
    /// (From disk as `infra validate` reads it: relative, and inside the
    /// stack file's repository.)
    fn read_beside(&self, stack: &Path, rel: &str) -> Option<String> {
        let path = stack.parent().unwrap_or(Path::new(".")).join(rel);
        let uri = file_uri(&path.display().to_string());
        self.docs.get(&uri).cloned().or_else(|| crate::ops::read_beside(stack, rel).ok())
    }

    /// A file's text: the open document's if it is open, else the disk's.
    fn read_path(&self, path: &Path) -> Option<String> {
        let uri = file_uri(&path.display().to_string());
        self.docs.get(&uri).cloned().or_else(|| std::fs::read_to_string(path).ok())
    }

    /// Where a declaration is, as an LSP location.
    fn location(&self, uri: &lsp::Uri, text: &str, place: Place) -> Option<lsp::Location> {
        match place {
            Place::Here(l, c, n) => {
                Some(lsp::Location { uri: uri.clone(), range: range(text, l, c, n) })
            }
            Place::Module { source, at } => {
                let stack = file_path(uri.as_str());
                let path = stack.parent().unwrap_or(Path::new(".")).join(&source);
                let module_text = self.read_beside(&stack, &source).unwrap_or_default();
                let m = Doc::new(&module_text);
                let r = at
                    .and_then(|(section, name)| m.find(&section, &name).cloned())
                    .map(|d| range(&module_text, d.line, d.column, d.name.len()))
                    .unwrap_or_default();
                let uri = lsp::Uri::from_str(&file_uri(&path.display().to_string())).ok()?;
                Some(lsp::Location { uri, range: r })
            }
        }
    }
}

/// A module's file for the analysis, read beside the document.
fn beside<'a>(uri: &'a str, server: &'a Server) -> impl Fn(&str) -> Option<String> + 'a {
    move |source: &str| server.read_beside(&file_path(uri), source)
}

/// Every problem `infra validate` finds in the stack file at `path` with
/// `text`, as diagnostics: `None` for the stack file itself, else the module
/// file it is in (a module's problem is also said at its use). `read` reads
/// a file the stack names, relative to it; `whole` a file by its path.
pub fn diagnostics(
    path: &Path,
    text: &str,
    read: &dyn Fn(&str) -> Option<String>,
    whole: &dyn Fn(&str) -> Option<String>,
) -> Vec<(Option<String>, lsp::Diagnostic)> {
    let name = path.display().to_string();
    let mut inputs = crate::stack::Inputs::default();
    crate::stack::read_asked(&name, text, &mut inputs, |p| {
        read(p).ok_or_else(|| format!("cannot read {p}"))
    });
    let problems = match crate::stack::parse_with(&name, text, &inputs) {
        Ok((_, warnings)) => warnings,
        Err(errors) => errors.problems,
    };
    let mut out = Vec::new();
    for p in problems {
        let message = match &p.hint {
            Some(h) => format!("{}\n{h}", p.message),
            None => p.message.clone(),
        };
        let severity = Some(match p.warning {
            true => lsp::DiagnosticSeverity::WARNING,
            false => lsp::DiagnosticSeverity::ERROR,
        });
        let in_module = p.loc.source > 0;
        let own_text = match in_module {
            true => whole(&p.file),
            false => Some(text.to_string()),
        };
        let r = own_text
            .as_deref()
            .map(|t| offsets(t, p.loc.offset, p.loc.len))
            .unwrap_or_else(|| line_range(p.loc.line, p.loc.column));
        let d = lsp::Diagnostic {
            range: r,
            severity,
            source: Some("infra".into()),
            message: message.clone(),
            ..Default::default()
        };
        if in_module {
            // At the use, in the stack file: the outermost use.
            if let Some(u) = p.uses.last().filter(|u| u.file == name) {
                let r = line_range_in(text, u.line, u.column);
                out.push((
                    None,
                    lsp::Diagnostic {
                        range: r,
                        message: format!("in {}: {message}", p.file),
                        ..d.clone()
                    },
                ));
            }
            out.push((Some(p.file.clone()), d));
        } else {
            out.push((None, d));
        }
    }
    out
}

/// A "did you mean" fix, or a hint's `set KEY: VALUE`, as a code action.
fn fix(uri: &lsp::Uri, text: &str, d: &lsp::Diagnostic) -> Option<lsp::CodeAction> {
    let (start, end) = (byte_offset(text, d.range.start), byte_offset(text, d.range.end));
    let covered = text.get(start..end)?;
    let (at, s, e, with, title) =
        if let Some((s, e, w)) = analysis::did_you_mean_fix(&d.message, covered) {
            let title = format!("Change to `{w}`");
            (start, s, e, w, title)
        } else {
            // `... set http_put_response_hop_limit: 2`: the value on the line.
            let line_start =
                byte_offset(text, lsp::Position { line: d.range.start.line, character: 0 });
            let line = text[line_start..].split('\n').next().unwrap_or("");
            let (s, e, v) = analysis::set_fix(&d.message, line)?;
            let title = format!("Set it to {v}");
            (line_start, s, e, v, title)
        };
    let range = lsp::Range { start: lsp_position(text, at + s), end: lsp_position(text, at + e) };
    let edit = lsp::TextEdit { range, new_text: with };
    Some(lsp::CodeAction {
        title,
        kind: Some(lsp::CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![d.clone()]),
        edit: Some(lsp::WorkspaceEdit {
            changes: Some([(uri.clone(), vec![edit])].into_iter().collect()),
            ..Default::default()
        }),
        is_preferred: Some(true),
        ..Default::default()
    })
}

fn completion_item(i: analysis::Item) -> lsp::CompletionItem {
    use analysis::ItemKind as K;
    lsp::CompletionItem {
        label: i.label,
        detail: Some(i.detail),
        sort_text: Some(i.sort),
        kind: Some(match i.kind {
            K::Type => lsp::CompletionItemKind::CLASS,
            K::Field => lsp::CompletionItemKind::FIELD,
            K::Value => lsp::CompletionItemKind::ENUM_MEMBER,
            K::Variable => lsp::CompletionItemKind::VARIABLE,
            K::Module => lsp::CompletionItemKind::MODULE,
            K::Function => lsp::CompletionItemKind::FUNCTION,
            K::Keyword => lsp::CompletionItemKind::KEYWORD,
        }),
        ..Default::default()
    }
}

// ---- positions: LSP's UTF-16 columns, our byte offsets --------------------

/// Line and byte column of an LSP position.
fn byte_position(text: &str, p: lsp::Position) -> (usize, usize) {
    let line = text.split('\n').nth(p.line as usize).unwrap_or("");
    (p.line as usize, utf16_to_byte(line, p.character as usize))
}

fn utf16_to_byte(line: &str, units: usize) -> usize {
    let mut n = 0;
    for (i, c) in line.char_indices() {
        if n >= units {
            return i;
        }
        n += c.len_utf16();
    }
    line.len()
}

/// Byte offset in `text` of an LSP position.
fn byte_offset(text: &str, p: lsp::Position) -> usize {
    let mut offset = 0;
    for (i, l) in text.split('\n').enumerate() {
        if i == p.line as usize {
            return offset + utf16_to_byte(l, p.character as usize);
        }
        offset += l.len() + 1;
    }
    text.len()
}

/// The LSP position of a byte offset.
fn lsp_position(text: &str, offset: usize) -> lsp::Position {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let character: usize = before[start..].chars().map(char::len_utf16).sum();
    lsp::Position { line: line as u32, character: character as u32 }
}

fn offsets(text: &str, offset: usize, len: usize) -> lsp::Range {
    lsp::Range { start: lsp_position(text, offset), end: lsp_position(text, offset + len.max(1)) }
}

/// The range of `len` bytes at line and byte column (0-based).
fn range(text: &str, line: usize, column: usize, len: usize) -> lsp::Range {
    let start: usize = text.split('\n').take(line).map(|l| l.len() + 1).sum();
    offsets(text, start + column, len)
}

/// A whole line's range from 1-based line and column, when the text is
/// not at hand.
fn line_range(line: usize, column: usize) -> lsp::Range {
    let p = lsp::Position {
        line: line.saturating_sub(1) as u32,
        character: column.saturating_sub(1) as u32,
    };
    lsp::Range { start: p, end: lsp::Position { line: p.line, character: p.character + 1 } }
}

/// From 1-based line and column to the end of that line.
fn line_range_in(text: &str, line: usize, column: usize) -> lsp::Range {
    let l = text.split('\n').nth(line.saturating_sub(1)).unwrap_or("");
    let start: usize = text.split('\n').take(line.saturating_sub(1)).map(|l| l.len() + 1).sum();
    let from = l.char_indices().nth(column.saturating_sub(1)).map_or(l.len(), |(i, _)| i);
    lsp::Range {
        start: lsp_position(text, start + from),
        end: lsp_position(text, start + l.trim_end().len().max(from)),
    }
}

// ---- file URIs -------------------------------------------------------------

fn file_path(uri: &str) -> PathBuf {
    let raw = uri.strip_prefix("file://").unwrap_or(uri);
    PathBuf::from(percent_encoding::percent_decode_str(raw).decode_utf8_lossy().to_string())
}

fn file_uri(path: &str) -> String {
    use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
    const PATH: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'?')
        .add(b'<')
        .add(b'>')
        .add(b'`')
        .add(b'{')
        .add(b'}');
    let absolute = match Path::new(path).is_absolute() {
        true => PathBuf::from(path),
        false => std::env::current_dir().unwrap_or_default().join(path),
    };
    format!("file://{}", utf8_percent_encode(&absolute.display().to_string(), PATH))
}
