"""Relevance of search on Folio's sets uploaded as Markdown and as PDF.

Every document of ``tests/relevance/{en,pt}`` is printed to a PDF as a word
processor prints it (``tests/relevance/pdf_render.py``: A5 pages, 2-3 per
document, headings, a running header and footer; the documents take the
``spaced``, ``ragged`` and ``indented`` styles in turn), read back by
worker-docs' own PDF extraction, and indexed in a tenant of its own per
form; the queries are asked in every mode (with the tenant's vocabulary,
as the API asks them) and a table per language and form is printed: top-1,
MRR@5 and nDCG@10.

    .venv/bin/python bench/search_relevance_pdf.py [--language en] \
        [--form markdown --form pdf --form pdf-joined] [--timing 3] [--pg-url URL]

Forms: ``markdown``, the set as it is in the repository; ``pdf``, the
PDFs' extracted text as worker-docs stores it; ``pdf-joined``, the same
with the lines of each paragraph joined by a space (indexed as plain text,
one page per page): what joining lines in the extraction would give.

``--timing N`` also times the PDF extraction (``extract_pdf``) of every
generated PDF, ``N`` rounds, and prints milliseconds per page (best round;
compare code against code in one run of this script per tree, alternated).

Which worker-docs code reads the PDFs is the one on ``PYTHONPATH``, so the
same script measures two trees (``PYTHONPATH`` of a detached worktree of
the old main against the new).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium
from sqlalchemy.ext.asyncio import create_async_engine

from folio_api.domain.search.fusion import language_weights
from folio_api.domain.search.repository import SearchOptions
from folio_shared.db.engine import create_session_factory
from folio_shared.db.enums import DocumentKind
from folio_shared.embedding_models import BY_LANGUAGE, SETTINGS
from folio_worker_docs.embeddings.select import Models, deployment_models
from folio_worker_docs.text.pdf import extract_pdf
from folio_worker_docs.text.plain import clean_text

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "relevance"))
import _vocabulary
from _servers import BenchServers, scratch_database
from pdf_render import STYLES, render_pdf
from runner import LANGUAGES, evaluate, index_documents, load_set, make_tenant, query_vectors
from runner import table as figures_table

FORMS = ("markdown", "pdf", "pdf-joined")
_LINE_IN_PARAGRAPH = re.compile(r"(?<=\S)\n(?=\S)")


def render_set(language: str) -> dict[str, bytes]:
    """The set's documents as PDFs (filename kept), styles in turn."""
    documents = load_set(language).documents
    return {
        name: render_pdf(text, STYLES[i % len(STYLES)])
        for i, (name, text) in enumerate(documents.items())
    }


def joined(pdf: bytes) -> bytes:
    """The PDF's extracted text with each paragraph's lines joined by a
    space, as a plain-text file (pages separated by form feeds)."""
    pages = [page.text for page in extract_pdf(pdf).pages]
    return "\f".join(_LINE_IN_PARAGRAPH.sub(" ", text) for text in pages).encode()


def timing(pdfs: dict[str, bytes], rounds: int) -> str:
    """Milliseconds per page of ``extract_pdf`` over ``pdfs``, best of
    ``rounds``; with paragraph recovery in the tree, also its page text
    against PDFium's text alone on the same text pages, alternated."""
    pages = sum(len(extract_pdf(data).pages) for data in pdfs.values())
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for data in pdfs.values():
            extract_pdf(data)
        best = min(best, time.perf_counter() - started)
    out = f"extract_pdf: {pages} pages, {best * 1000 / pages:.3f} ms per page (best of {rounds})"
    try:
        from folio_worker_docs.text.pdf_layout import page_text
    except ImportError:
        return out
    documents = [pdfium.PdfDocument(data) for data in pdfs.values()]
    textpages = [page.get_textpage() for document in documents for page in document]
    ways: dict[str, Callable[[pdfium.PdfTextPage], str]] = {
        "PDFium's text": lambda textpage: clean_text(textpage.get_text_bounded()),
        "with paragraphs": page_text,
    }
    spent = dict.fromkeys(ways, float("inf"))
    for _ in range(rounds):
        for name, way in ways.items():
            started = time.perf_counter()
            for textpage in textpages:
                way(textpage)
            spent[name] = min(spent[name], time.perf_counter() - started)
    for document in documents:
        document.close()
    return out + "".join(
        f"\n{name}: {seconds * 1000 / len(textpages):.3f} ms per page"
        for name, seconds in spent.items()
    )


def _documents(
    language: str, form: str, pdfs: dict[str, bytes]
) -> tuple[dict[str, str | bytes], DocumentKind]:
    if form == "markdown":
        return dict(load_set(language).documents), DocumentKind.MARKDOWN
    if form == "pdf":
        return dict(pdfs), DocumentKind.PDF
    return {name: joined(data) for name, data in pdfs.items()}, DocumentKind.TEXT


async def run(
    pg_url: str, languages: list[str], forms: list[str], models: Models, setting: str
) -> None:
    # the fusion's weights by query language, as the API sets them for the model
    options = SearchOptions(language_weights=language_weights(setting))
    async with scratch_database(pg_url, "folio_bench_relevance_pdf") as url:
        engine = create_async_engine(url)
        factory = create_session_factory(engine)
        for language in languages:
            relevance_set = load_set(language)
            queries = relevance_set.queries
            vectors = query_vectors(models, [q.text for q in queries])
            pdfs = render_set(language)
            for form in forms:
                documents, kind = _documents(language, form, pdfs)
                async with factory() as session:
                    tenant_id = await make_tenant(session)
                    started = time.perf_counter()
                    chunks = await index_documents(session, models, tenant_id, documents, kind)
                    await session.commit()
                    print(
                        f"\n{language} {form}: {len(documents)} documents, {chunks} chunks "
                        f"(indexed in {time.perf_counter() - started:.0f} s)"
                    )
                    print(await _vocabulary.build(factory, models, tenant_id))
                    texts = [q.text for q in queries]
                    added, _ = await _vocabulary.expansions(
                        session, tenant_id, texts, vectors, setting
                    )
                    figures = await evaluate(
                        session, models, tenant_id, queries, options, vectors, added
                    )
                print(f"\n{language}, documents as {form}\n")
                print(figures_table(language, figures))
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--pg-url",
        help="superuser URL of a PostgreSQL server with pgvector "
        "(default: a private server started for the run)",
    )
    parser.add_argument("--language", choices=LANGUAGES, action="append")
    parser.add_argument(
        "--form",
        choices=FORMS,
        action="append",
        help="documents as (repeat; default markdown and pdf)",
    )
    parser.add_argument("--model", choices=SETTINGS, default=BY_LANGUAGE)
    parser.add_argument(
        "--timing",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="time the PDFs' extraction, ROUNDS rounds (0: not)",
    )
    parser.add_argument("--timing-only", action="store_true", help="time and stop")
    args = parser.parse_args()
    languages = args.language or list(LANGUAGES)
    if args.timing:
        pdfs = {
            f"{lang}/{name}": data for lang in languages for name, data in render_set(lang).items()
        }
        print(timing(pdfs, args.timing))
    if args.timing_only:
        return
    models = deployment_models(args.model)
    for embedder in (models.default, *models.by_language.values()):
        embedder.use_onnx_for_queries()
        embedder.use_bf16_for_documents()
    rest = (languages, args.form or ["markdown", "pdf"], models, args.model)
    if args.pg_url:
        asyncio.run(run(args.pg_url, *rest))
        return
    with BenchServers() as servers:
        asyncio.run(run(servers.postgres.url("postgres"), *rest))


if __name__ == "__main__":
    main()
