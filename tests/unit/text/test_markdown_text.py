"""Markdown is indexed as the text a reader sees, not as its markup."""

from __future__ import annotations

from folio_worker_docs.text.extract import extract_document
from folio_worker_docs.text.markdown import markdown_to_text

LEASE_MD = """# Lease **Agreement**

See the [tenant handbook](https://example.org/handbook "rules") for *house* rules.

## 1. Rent

| Item | Amount |
|---|---:|
| Monthly rent | 1,450.00 |
| Deposit \\| bond | 2,900.00 |

* The deposit is held in a __protection__ scheme.
+ It is returned within `30 days`.

> Pets need ~~no~~ written consent.<br>

![floor plan](plan.png)

[handbook]: https://example.org/handbook
"""

LEASE_TEXT = """# Lease Agreement

See the tenant handbook for house rules.

## 1. Rent

Item\tAmount
Monthly rent\t1,450.00
Deposit | bond\t2,900.00

- The deposit is held in a protection scheme.
- It is returned within 30 days.

Pets need no written consent.

floor plan"""


def test_markdown_is_rendered_to_its_plain_text() -> None:
    assert markdown_to_text(LEASE_MD) == LEASE_TEXT


def test_a_markdown_upload_holds_no_markup_and_keeps_its_title() -> None:
    # Given a Markdown document with a table, a link, emphasis and headings
    result = extract_document("markdown", LEASE_MD.encode())
    # Then its page holds the text a reader sees: no table rule, address or
    # emphasis (heading marks stay: they set the heading apart)
    text = result.pages[0].text
    assert text == LEASE_TEXT
    for markup in ("|---", "https://", "**", "`"):
        assert markup not in text
    assert result.metadata["title"] == "Lease Agreement"


def test_code_keeps_its_characters_and_words_keep_their_underscores() -> None:
    md = "Call `load_pages` or *2*3*4*.\n\n```python\n# a comment, not a heading\nx = a**2\n```\n"
    assert markdown_to_text(md) == (
        "Call load_pages or 2*3*4.\n\n# a comment, not a heading\nx = a**2"
    )


def test_escapes_setext_headings_and_rules() -> None:
    md = "Notice\n======\n\nA \\*literal\\* star and snake_case_name.\n\n***\n\nEnd\n---\n"
    assert markdown_to_text(md) == "Notice\n\nA *literal* star and snake_case_name.\n\nEnd"


def test_any_input_renders() -> None:
    for md in ("", "|", "[", "**", "```", "# ", "| a |\n|-|", "<!-- x", "\\", "_ _ _", "> > >"):
        assert isinstance(markdown_to_text(md), str)


def test_signature_blanks_and_star_runs_are_not_emphasis() -> None:
    md = "Tenant: ______________________. Landlord: __________ e ****.\n\nA **bold** word."
    assert markdown_to_text(md) == (
        "Tenant: ______________________. Landlord: __________ e ****.\n\nA bold word."
    )
