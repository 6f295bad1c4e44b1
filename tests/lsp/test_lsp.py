"""`infra lsp` driven by a real LSP client (pytest-lsp): the platform stack
opened and broken, the diagnostic seen at the reference's range and its
"did you mean" applied; an attribute hovered; `${vpc.` completed in a
module's file; a reference followed to its declaration and into a module;
a half-typed file and a bad request answered without the server exiting.

Run by tests/it/lsp.rs with INFRA_BIN set to the binary under test."""

import os
import pathlib

import pytest
import pytest_lsp
from lsprotocol import types as t
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLATFORM = ROOT / "stacks" / "platform.yaml"
NETWORK = ROOT / "stacks" / "modules" / "network.yaml"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[os.environ["INFRA_BIN"], "lsp"]))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(
        t.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=ROOT.as_uri(),
        )
    )
    yield
    await lsp_client.shutdown_session()


def open_doc(client: LanguageClient, path: pathlib.Path, text: str | None = None) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        t.DidOpenTextDocumentParams(
            text_document=t.TextDocumentItem(
                uri=uri, language_id="yaml", version=1, text=text or path.read_text()
            )
        )
    )
    return uri


async def change(client: LanguageClient, uri: str, text: str, version: int):
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[t.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    await client.wait_for_notification("textDocument/publishDiagnostics")


def position(text: str, needle: str, offset: int = 0) -> t.Position:
    at = text.index(needle) + offset
    line = text.count("\n", 0, at)
    return t.Position(line=line, character=at - (text.rfind("\n", 0, at) + 1))


@pytest.mark.asyncio
async def test_a_broken_reference_is_diagnosed_at_its_range_and_fixed(client: LanguageClient):
    text = PLATFORM.read_text()
    uri = open_doc(client, PLATFORM, text)
    await client.wait_for_notification("textDocument/publishDiagnostics")
    errors = [d for d in client.diagnostics[uri] if d.severity == t.DiagnosticSeverity.Error]
    assert errors == [], errors

    broken = text.replace("target_key_id: ${kms_key.secrets.arn}", "target_key_id: ${kms_key.secret.arn}")
    await change(client, uri, broken, 2)
    errors = [d for d in client.diagnostics[uri] if d.severity == t.DiagnosticSeverity.Error]
    assert len(errors) == 1, errors
    d = errors[0]
    assert "undeclared resource `kms_key.secret`" in d.message
    start = position(broken, "${kms_key.secret.arn}")
    assert d.range.start == start, d.range
    assert d.range.end == t.Position(line=start.line, character=start.character + len("${kms_key.secret.arn}"))

    actions = await client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=t.TextDocumentIdentifier(uri=uri),
            range=d.range,
            context=t.CodeActionContext(diagnostics=[d]),
        )
    )
    assert actions and actions[0].title == "Change to `kms_key.secrets`", actions
    (edit,) = actions[0].edit.changes[uri]
    lines = broken.split("\n")
    line = lines[edit.range.start.line]
    lines[edit.range.start.line] = line[: edit.range.start.character] + edit.new_text + line[edit.range.end.character :]
    fixed = "\n".join(lines)
    assert fixed == text
    await change(client, uri, fixed, 3)
    assert [d for d in client.diagnostics[uri] if d.severity == t.DiagnosticSeverity.Error] == []


@pytest.mark.asyncio
async def test_hover_completion_and_definitions(client: LanguageClient):
    text = PLATFORM.read_text()
    uri = open_doc(client, PLATFORM, text)
    await client.wait_for_notification("textDocument/publishDiagnostics")

    # An attribute: its kind, default and what a change does.
    hover = await client.text_document_hover_async(
        t.HoverParams(text_document=t.TextDocumentIdentifier(uri=uri), position=position(text, "deletion_window_in_days", 3))
    )
    assert "`deletion_window_in_days`" in hover.contents.value, hover
    assert "a whole number" in hover.contents.value, hover

    # From a reference to its declaration.
    found = await client.text_document_definition_async(
        t.DefinitionParams(text_document=t.TextDocumentIdentifier(uri=uri), position=position(text, "${kms_key.secrets.arn}", 4))
    )
    assert found.uri == uri
    assert found.range.start == position(text, "kms_key.secrets:"), found

    # Into a module: its output in the module's file.
    found = await client.text_document_definition_async(
        t.DefinitionParams(
            text_document=t.TextDocumentIdentifier(uri=uri),
            position=position(text, "${module.network.outputs.vpc_id}", 28),
        )
    )
    module = NETWORK.read_text()
    assert found.uri == NETWORK.as_uri(), found
    assert found.range.start == position(module, "\noutputs:\n  vpc_id:", len("\noutputs:\n  ")), found

    # `${vpc.` in the network module: the VPCs it declares.
    muri = open_doc(client, NETWORK, module)
    typed = module.replace("    vpc_id: ${vpc.main.id}\n", "    vpc_id: ${vpc.\n", 1)
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=muri, version=2),
            content_changes=[t.TextDocumentContentChangeWholeDocument(text=typed)],
        )
    )
    at = position(typed, "    vpc_id: ${vpc.\n", len("    vpc_id: ${vpc."))
    items = await client.text_document_completion_async(
        t.CompletionParams(text_document=t.TextDocumentIdentifier(uri=muri), position=at)
    )
    labels = [i.label for i in (items.items if hasattr(items, "items") else items)]
    assert labels == ["main"], labels

    # Symbols: the platform's resources, modules, outputs.
    symbols = await client.text_document_document_symbol_async(
        t.DocumentSymbolParams(text_document=t.TextDocumentIdentifier(uri=uri))
    )
    names = {s.name for s in symbols}
    assert {"kms_key.secrets", "network", "eks", "cutover", "logs"} <= names, names


@pytest.mark.asyncio
async def test_a_half_typed_file_and_a_bad_request_leave_the_server_running(client: LanguageClient):
    text = PLATFORM.read_text()
    uri = open_doc(client, PLATFORM, text[: len(text) // 3])
    await client.wait_for_notification("textDocument/publishDiagnostics")
    for cut in range(0, len(text), 97):
        await change(client, uri, text[:cut], cut + 2)
        await client.text_document_hover_async(
            t.HoverParams(text_document=t.TextDocumentIdentifier(uri=uri), position=t.Position(line=cut // 40, character=4))
        )
    # A request for a document never opened: an error answer, not an exit.
    with pytest.raises(Exception):
        await client.text_document_hover_async(
            t.HoverParams(
                text_document=t.TextDocumentIdentifier(uri="file:///nowhere.yaml"),
                position=t.Position(line=0, character=0),
            )
        )
    hover = await client.text_document_hover_async(
        t.HoverParams(text_document=t.TextDocumentIdentifier(uri=uri), position=t.Position(line=0, character=0))
    )
    assert hover is None or hover.contents is not None


@pytest.mark.asyncio
async def test_a_lint_with_one_fix_offers_it(client: LanguageClient, tmp_path: pathlib.Path):
    path = tmp_path / "lt.yaml"
    text = (
        "stack: lt\nregion: ap-northeast-1\nresources:\n  launch_template.nodes:\n"
        "    metadata_options:\n      http_tokens: required\n      http_put_response_hop_limit: 1\n"
    )
    path.write_text(text)
    uri = open_doc(client, path, text)
    await client.wait_for_notification("textDocument/publishDiagnostics")
    (d,) = client.diagnostics[uri]
    assert d.severity == t.DiagnosticSeverity.Warning and "hop limit below 2" in d.message, d
    actions = await client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=t.TextDocumentIdentifier(uri=uri),
            range=d.range,
            context=t.CodeActionContext(diagnostics=[d]),
        )
    )
    assert [a.title for a in actions] == ["Set it to 2"], actions
    (edit,) = actions[0].edit.changes[uri]
    assert edit.new_text == "2"
    assert edit.range.start == position(text, "hop_limit: 1", len("hop_limit: ")), edit
