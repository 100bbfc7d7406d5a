"""``folio login``, ``folio upload``, ``folio documents list|show`` and
``folio search``: the HTTP API through :mod:`folio_client`.

Errors of the API end the command with one ``error:`` line: a refusal
(4xx) exits 1, an API that cannot be reached or fails (5xx, after the
client's retries) exits 2 (:mod:`folio_cli.errors`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from folio_cli.errors import EXIT_REFUSED, EXIT_UNAVAILABLE, fail
from folio_cli.output import AS_JSON, print_json, print_table
from folio_cli.remote.config import Login, load, save
from folio_client import Document, Folio, FolioApiError, Upload

documents_app = typer.Typer(help="The tenant's documents (HTTP API).", no_args_is_help=True)


@contextlib.contextmanager
def client() -> Iterator[Folio]:
    """A client for the saved login; API errors become exit codes."""
    login = load()
    try:
        with Folio(login.url, login.api_key) as folio:
            yield folio
    except FolioApiError as e:
        fail(f"{e.status} {e.code}: {e.detail}", EXIT_REFUSED if e.status < 500 else 2)
    except httpx.HTTPError as e:
        fail(f"could not reach the API at {login.url}: {e}", EXIT_UNAVAILABLE)


def login(
    url: str = typer.Argument(..., help="The API, e.g. http://127.0.0.1:8000."),
    api_key: str = typer.Option(
        ..., "--api-key", prompt=True, hide_input=True, help="A tenant API key."
    ),
) -> None:
    """Check the key against the API and save URL and key (mode 0600)."""
    with Folio(url, api_key) as folio:
        try:
            folio.keys()
        except FolioApiError as e:
            fail(f"the API refused the key: {e.status} {e.code}", EXIT_REFUSED)
        except httpx.HTTPError as e:
            fail(f"could not reach the API at {url}: {e}", EXIT_UNAVAILABLE)
    typer.echo(f"logged in; saved to {save(Login(url.rstrip('/'), api_key))}")


def _files(paths: list[Path], recursive: bool) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            found.extend(sorted(p for p in path.glob(pattern) if p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            fail(f"no such file: {path}")
    return found


def _document_rows(documents: list[Document]) -> list[list[object]]:
    return [[d.id, d.filename, d.status, d.kind or "-", d.page_count or "-"] for d in documents]


DOCUMENT_HEADERS = ["ID", "FILENAME", "STATUS", "KIND", "PAGES"]


def upload(
    paths: list[Path] = typer.Argument(..., help="Files, or folders of files."),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Descend into folders."),
    wait: bool = typer.Option(False, "--wait", help="Wait until every document is processed."),
    priority: str = typer.Option("normal", help="low, normal, high or critical."),
    as_json: bool = AS_JSON,
) -> None:
    """Upload files with a progress bar, then print their documents."""
    files = _files(paths, recursive)
    if not files:
        fail("nothing to upload")
    console = Console(stderr=True)
    uploads: list[Upload] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with client() as folio, Progress(*columns, console=console) as progress:
        sending = progress.add_task("uploading", total=len(files))
        for path in files:
            uploads.append(folio.upload(path, priority=priority))
            progress.advance(sending)
        if wait:
            jobs = [u.job for u in uploads if u.job is not None]
            processing = progress.add_task("processing", total=len(jobs))
            for job in jobs:
                folio.wait_for_job(job.id)
                progress.advance(processing)
        documents = [folio.document(u.document.id) for u in uploads]
    if as_json:
        print_json(documents)
    else:
        print_table(DOCUMENT_HEADERS, _document_rows(documents))


@documents_app.command("list")
def documents_list(
    status: str | None = typer.Option(None, help="Only documents in this status."),
    limit: int = typer.Option(50, help="At most this many."),
    as_json: bool = AS_JSON,
) -> None:
    """The tenant's documents, newest first."""
    with client() as folio:
        found: list[Document] = []
        for document in folio.documents(status=status, limit=min(limit, 100)):
            found.append(document)
            if len(found) >= limit:
                break
    if as_json:
        print_json(found)
    else:
        print_table(DOCUMENT_HEADERS, _document_rows(found))


@documents_app.command("show")
def documents_show(document_id: str, as_json: bool = AS_JSON) -> None:
    """One document."""
    with client() as folio:
        document = folio.document(document_id)
    if as_json:
        print_json(document)
    else:
        print_table(DOCUMENT_HEADERS, _document_rows([document]))


def search(
    query: str = typer.Argument(..., help="What to look for."),
    mode: str = typer.Option("hybrid", help="hybrid, semantic or keyword."),
    k: int = typer.Option(10, help="How many hits."),
    as_json: bool = AS_JSON,
) -> None:
    """Search the tenant's documents."""
    with client() as folio:
        hits = folio.search(query, k=k, mode=mode)
    if as_json:
        print_json(hits)
        return
    rows = [[h.filename, h.page_start or "-", f"{h.score:.3f}", h.text[:60]] for h in hits]
    print_table(["FILENAME", "PAGE", "SCORE", "TEXT"], rows)


@documents_app.command("text")
def documents_text(
    document_id: str,
    page: int | None = typer.Option(None, help="Only this page (from 1)."),
    as_json: bool = AS_JSON,
) -> None:
    """The document's extracted text (pages separated by form feeds)."""
    with client() as folio:
        text = folio.text(document_id, page=page)
    if as_json:
        print_json({"document_id": text.document_id, "page": text.page, "text": text.text})
    else:
        typer.echo(text.text)


@documents_app.command("fields")
def documents_fields(document_id: str, as_json: bool = AS_JSON) -> None:
    """The document's extracted fields and their verdicts."""
    with client() as folio:
        found = folio.fields(document_id)
    if as_json:
        print_json(found.raw)
        return
    fields = found.fields
    print_table(["FIELD", "VALUE"], [[name, fields[name].value] for name in sorted(fields)])


@documents_app.command("download")
def documents_download(
    document_id: str,
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the file."),
    as_json: bool = AS_JSON,
) -> None:
    """Download the document's file."""
    with client() as folio:
        size = folio.download(document_id, out)
    if as_json:
        print_json({"document_id": document_id, "path": str(out), "bytes": size})
    else:
        typer.echo(f"wrote {size} bytes to {out}")


@documents_app.command("delete")
def documents_delete(document_id: str, as_json: bool = AS_JSON) -> None:
    """Delete a document (its rows, chunks and file)."""
    with client() as folio:
        folio.delete(document_id)
    if as_json:
        print_json({"document_id": document_id, "deleted": True})
    else:
        typer.echo(f"deleted {document_id}")
