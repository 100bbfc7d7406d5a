"""Builds Folio's relevance sets: ``en/`` and ``pt/`` hold one Markdown
file per document and ``queries.tsv`` (``query_id``, ``split``,
``expected`` filename, ``query``).

Each document is a realistic piece of paperwork of one genre (manual,
contract, article, letter, receipt, policy, report): the genre's
boilerplate (parties, definitions, safety notes, warranty, signatures,
totals), which is the same kind of text in every document of the genre, and
the document's own subject spread over several sections. A document is a
few pages of text, several chunks long. Queries say what one document is
about in other words, never copying its distinctive terms where a
paraphrase exists. Every third query is ``held``: kept out of any tuning,
reported on its own.

    .venv/bin/python tests/relevance/generate.py

The output is deterministic (seeded per document) and committed; rerun
after changing a topic.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
#: per language: ``fillers`` (placeholder values), ``footers`` (every
#: document's last paragraphs), ``genres`` (``opening``, ``headings``,
#: ``middle``, ``closing`` of each genre)
BOILERPLATE: dict[str, Any] = json.loads((HERE / "boilerplate.json").read_text())


def _fill(template: str, rng: random.Random, language: str, title: str) -> str:
    names = BOILERPLATE["fillers"][language]
    values = {key: rng.choice(options) for key, options in names.items()}
    values["title"] = title
    values["amount"] = f"{rng.randint(120, 98_000):,}.{rng.randint(0, 99):02d}"
    if language == "pt":
        values["amount"] = values["amount"].replace(",", "X").replace(".", ",").replace("X", ".")
    values["day"] = str(rng.randint(1, 28))
    values["year"] = str(rng.randint(2019, 2025))
    values["number"] = str(rng.randint(1000, 99999))
    return template.format(**values)


def render(language: str, slug: str, genre: str, title: str, paragraphs: list[str]) -> str:
    """The document's Markdown: genre opening, the subject's paragraphs
    each followed by a piece of the genre's boilerplate, genre closing."""
    rng = random.Random(f"{language}/{slug}")
    parts = BOILERPLATE["genres"][language][genre]
    middle = list(parts["middle"])
    rng.shuffle(middle)
    out = [f"# {title}", ""]
    out += [_fill(p, rng, language, title) for p in parts["opening"]]
    for i, paragraph in enumerate(paragraphs):
        heading = parts["headings"][i % len(parts["headings"])]
        out += ["", f"## {i + 1}. {heading}", "", paragraph]
        if i < len(middle):
            out += ["", _fill(middle[i], rng, language, title)]
    out += [_fill(m, rng, language, title) for m in middle[len(paragraphs) :]]
    out += [""]
    out += [_fill(p, rng, language, title) for p in parts["closing"]]
    out += [_fill(p, rng, language, title) for p in BOILERPLATE["footers"][language]]
    return "\n\n".join(line for line in out if line != "") + "\n"


def build(language: str) -> None:
    """Write ``language``'s documents and queries from ``topics_<language>.json``
    (per document: ``slug``, ``genre``, ``title``, ``paragraphs``, ``queries``)."""
    topics = json.loads((HERE / f"topics_{language}.json").read_text())
    folder = HERE / language
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.md"):
        old.unlink()
    rows = ["query_id\tsplit\texpected\tquery"]
    n = 0
    for topic in topics:
        filename = f"{topic['slug']}.md"
        text = render(language, topic["slug"], topic["genre"], topic["title"], topic["paragraphs"])
        (folder / filename).write_text(text)
        for query in topic["queries"]:
            n += 1
            split = "held" if n % 3 == 0 else "tune"
            rows.append(f"{language}-{n:03d}\t{split}\t{filename}\t{query}")
    (folder / "queries.tsv").write_text("\n".join(rows) + "\n")
    print(f"{language}: {len(topics)} documents, {n} queries")


if __name__ == "__main__":
    build("en")
    build("pt")
