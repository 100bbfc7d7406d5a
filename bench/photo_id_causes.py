"""Why photo PIX ids are missed or wrong: each receipt's id classified by cause.

Reads the generated corpus's PIX receipts as phone photos, exactly as
``tests/unit/fields/fields_measure.py photo --pix`` does (same images, Folio's
OCR at 110 dpi with the id re-reading and the second engine), records every
id band the decoding under the id's grammar reads (``ocr/id_read.read_e2e``:
the band, PP-OCR's detected lines, the decoded id and its confidence),
extracts the fields, and puts each receipt in one class:

- ``right``: the extracted id is the printed one;
- ``no id region``: the page OCR found no id label or id-shaped word, so no
  band was read;
- ``no id line decoded``: bands were read, but PP-OCR detected no line there
  that decodes as an id (missed, or cut);
- ``decoded right, unsure``: a band decoded the printed id, under the trust
  threshold, and it was withheld;
- ``tail misread (sure|unsure)``: the best decoding is off only in the
  11-character tail, at or over the threshold (returned wrong) or under it;
- ``ISPB/date misread``: the best decoding is off in the ISPB or the
  embedded date-time too.

Each class is split by what was returned (the right id, a wrong one, none).

    python bench/photo_id_causes.py --seed 27 [--unseen] [--save DIR]

``--save DIR`` writes each band read (``<receipt>_<band>.png``, four times
enlarged) for looking at.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "fields"))
# the corpus and its photo rendering live with the tests of the extractors
import fields_render as render  # type: ignore[import-not-found]
from fields_corpus_docs import build_corpus  # type: ignore[import-not-found]
from fields_corpus_variants import build_unseen_corpus  # type: ignore[import-not-found]

from folio_worker_docs.extraction import extract
from folio_worker_ocr.ocr import reread
from folio_worker_ocr.ocr.engine import OcrEngine
from folio_worker_ocr.ocr.id_ctc import Line, Recogniser, Voted
from folio_worker_ocr.ocr.id_read import TRUST
from folio_worker_ocr.ocr.page import OcrOptions

#: Where the id's unchecked tail starts.
TAIL_AT = 21


@dataclass
class Band:
    """One id band the decoding read: the image, PP-OCR's lines, the decoding."""

    image: Image.Image
    lines: list[str]
    decoded: Voted | None


@dataclass
class Receipt:
    truth: str
    got: str | None = None
    bands: list[Band] = field(default_factory=list)


def classify(receipt: Receipt) -> str:
    """The cause of a receipt's id (see the module's classes)."""
    if receipt.got == receipt.truth:
        return "right"
    if not receipt.bands:
        return "no id region"
    decoded = [b.decoded for b in receipt.bands if b.decoded is not None]
    if not decoded:
        return "no id line decoded"
    best = max(decoded, key=lambda v: v.confidence)
    off = [i for i, (a, b) in enumerate(zip(best.text, receipt.truth, strict=True)) if a != b]
    if not off:
        return "decoded right, unsure"
    if min(off) >= TAIL_AT:
        return f"tail misread ({'sure' if best.confidence >= TRUST else 'unsure'})"
    return "ISPB/date misread"


def read(seed: int, unseen: bool) -> list[Receipt]:
    """Each PIX receipt of the corpus read as a photo, its id bands recorded."""
    corpus = (build_unseen_corpus if unseen else build_corpus)(seed)
    docs = [d for d in corpus if d.kind == "pix_receipt"]
    receipts: list[Receipt] = []
    # the OCR's own decoding, wrapped where the re-reading calls it
    original: Callable[..., Voted | None] = getattr(reread, "read_e2e")  # noqa: B009

    def recorded(
        recogniser: Recogniser, image: Image.Image, lines: Sequence[Line], days: Iterable[date] = ()
    ) -> Voted | None:
        decoded = original(recogniser, image, lines, days)
        receipts[-1].bands.append(Band(image.copy(), [line.text for line in lines], decoded))
        return decoded

    setattr(reread, "read_e2e", recorded)  # noqa: B010
    engine, rng = OcrEngine(), random.Random(7)  # as fields_measure.py draws the photos
    try:
        for doc in docs:
            receipts.append(Receipt(doc.truth["end_to_end_id"]))
            found = engine.recognize(
                render.photo(render.pdf(doc), rng),
                languages="por",
                dpi=110,
                reread_ids=True,
                upscale_below_dpi=OcrOptions().upscale_below_dpi,
                second_engine=True,
            )
            got = extract([found.text]).fields.get("end_to_end_id")
            receipts[-1].got = None if got is None else got.value
    finally:
        setattr(reread, "read_e2e", original)  # noqa: B010
    return receipts


def report(receipts: list[Receipt], save: Path | None) -> str:
    """One line per receipt not right, and the counts per cause and outcome."""
    rows, counts = [], Counter[tuple[str, str]]()
    for index, receipt in enumerate(receipts):
        cause = classify(receipt)
        outcome = "right" if cause == "right" else "none" if receipt.got is None else "wrong"
        counts[(cause, outcome)] += 1
        if save is not None:
            for k, band in enumerate(receipt.bands):
                big = band.image.resize((band.image.width * 4, band.image.height * 4))
                big.save(save / f"{index:02d}_{k}.png")
        if cause != "right":
            best = max(
                (b.decoded for b in receipt.bands if b.decoded is not None),
                key=lambda v: v.confidence,
                default=None,
            )
            shown = "-" if best is None else f"{best.text} {best.confidence:.2f}"
            rows.append(f"{index:2d} {cause}: printed {receipt.truth}, decoded {shown}")
    rows += ["", "| cause | returned | receipts |", "|---|---|---:|"]
    rows += [f"| {c} | {o} | {n} |" for (c, o), n in sorted(counts.items())]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--unseen", action="store_true")
    parser.add_argument("--save", type=Path, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else 31 if args.unseen else 27
    if args.save is not None:
        args.save.mkdir(parents=True, exist_ok=True)
    print(report(read(seed, args.unseen), args.save))


if __name__ == "__main__":
    main()
