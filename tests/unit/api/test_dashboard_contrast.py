"""The dashboard's colours meet WCAG 2.x AA, measured from its stylesheet.

The stylesheet is parsed (custom properties resolved) and every colour
pair a reader meets is checked with WCAG's contrast ratio:

- text (4.5:1): every rule that sets a text colour, on its own background
  when it sets one, else on each background it can sit on (the page and a
  card; the top bar for rules under ``.top``); body text, links, buttons,
  badges, muted text, errors, highlights;
- user-interface components (3:1, WCAG 1.4.11): the borders of inputs,
  buttons and the drop zone, the keyboard focus ring (on the page, a card
  and the top bar), the chart's line on its background.

There is one theme; a second (``prefers-color-scheme``) must be added here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import folio_api.ui

CSS = Path(folio_api.ui.__file__).parent / "static" / "folio.css"
TEXT_AA = 4.5
UI_AA = 3.0
HEX = re.compile(r"#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")


def parse(css: str) -> dict[str, dict[str, str]]:
    """Selector -> its declarations (later rules override earlier ones;
    ``@media`` blocks' rules included), ``var(--x)`` resolved."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    rules: dict[str, dict[str, str]] = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = {}
        for item in body.split(";"):
            if ":" in item:
                name, value = item.split(":", 1)
                declarations[name.strip()] = value.strip()
        for selector in selectors.split(","):
            key = " ".join(selector.split())
            if not key.startswith("@"):
                rules.setdefault(key, {}).update(declarations)
    variables = {k: v for k, v in rules.get(":root", {}).items() if k.startswith("--")}
    for declarations in rules.values():
        for name, value in declarations.items():
            declarations[name] = re.sub(
                r"var\((--[\w-]+)\)", lambda m: variables[m.group(1)], value
            )
    return rules


def luminance(colour: str) -> float:
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(a: str, b: str) -> float:
    """WCAG's contrast ratio of two colours (1 to 21)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def colour(declarations: dict[str, str], *names: str) -> str | None:
    """The first hex colour among ``names``' values."""
    for name in names:
        found = HEX.search(declarations.get(name, ""))
        if found:
            return found.group(0)
    return None


RULES = parse(CSS.read_text())


def background(selector: str) -> str:
    found = colour(RULES[selector], "background-color", "background")
    assert found, f"{selector} has no background colour"
    return found


#: Rules for the top bar (``<header class="top">``) and what only sits in it.
TOP_BAR = (".top", ".who")


def in_top_bar(selector: str) -> bool:
    return selector.startswith(TOP_BAR)


def grounds(selector: str) -> dict[str, str]:
    """The backgrounds a rule's text can sit on."""
    if in_top_bar(selector):
        return {".top": background(".top")}
    return {"page": background("body"), "card": background(".card")}


def text_pairs() -> list[tuple[str, str, str, str]]:
    """(selector, ground, text colour, background) of every text colour."""
    pairs = []
    body_text = colour(RULES["body"], "color")
    assert body_text
    for selector, declarations in RULES.items():
        fg = colour(declarations, "color")
        bg = colour(declarations, "background-color", "background")
        if fg and bg:
            pairs.append((selector, "own", fg, bg))
        elif fg:
            pairs += [(selector, name, fg, ground) for name, ground in grounds(selector).items()]
        elif bg and in_top_bar(selector):
            # the top bar's links and text inherit its own colours
            inherited = colour(RULES[".top a" if " a" in selector else ".top"], "color")
            pairs.append((selector, "top bar text", inherited or "", bg))
        elif bg and selector not in {"body", ":root"}:
            # a background under inherited text: body text, and muted text on it
            pairs.append((selector, "body text", body_text, bg))
            pairs.append((selector, "muted text", colour(RULES[".muted"], "color") or "", bg))
    return pairs


def test_the_parser_reads_the_colours_that_matter() -> None:
    # A guard on the parser itself: the pairs below are really found
    selectors = {selector for selector, *_ in text_pairs()}
    for expected in ("body", "a", ".muted", ".primary", ".danger", ".badge", ".s-dead", ".top a"):
        assert expected in selectors
    assert ratio("#000", "#fff") == pytest.approx(21)
    assert ratio("#777", "#fff") == pytest.approx(4.48, abs=0.01)


def test_one_theme_only_until_a_second_is_measured_here() -> None:
    assert "prefers-color-scheme" not in CSS.read_text()


@pytest.mark.parametrize(("selector", "ground", "fg", "bg"), text_pairs())
def test_text_has_aa_contrast(selector: str, ground: str, fg: str, bg: str) -> None:
    assert ratio(fg, bg) >= TEXT_AA, f"{selector} ({ground}): {fg} on {bg}"


def ui_pairs() -> list[tuple[str, str, str]]:
    """(what, colour, background) of every component edge a user must see."""
    page, card, top = background("body"), background(".card"), background(".top")
    field = colour(RULES["input"], "border")
    drop = colour(RULES[".drop"], "border")
    chart = colour(RULES[".chart"], "color")
    chart_bg = background(".chart svg")
    assert field
    assert drop
    assert chart
    pairs = [
        ("input border on the page", field, page),
        ("input border on a card", field, card),
        ("input border on its field", field, background("input")),
        ("drop zone border", drop, page),
        ("chart line", chart, chart_bg),
    ]
    for selector, declarations in RULES.items():
        ring = colour(declarations, "outline")
        if ring and "focus" in selector:
            grounds_ = {"top bar": top} if in_top_bar(selector) else {"page": page, "card": card}
            pairs += [(f"focus ring {selector} on the {g}", ring, bg) for g, bg in grounds_.items()]
    return pairs


@pytest.mark.parametrize(("what", "fg", "bg"), ui_pairs())
def test_components_have_aa_contrast(what: str, fg: str, bg: str) -> None:
    assert ratio(fg, bg) >= UI_AA, f"{what}: {fg} on {bg}"
