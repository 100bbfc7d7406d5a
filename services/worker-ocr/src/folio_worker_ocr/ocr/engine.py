"""Tesseract through its C API (tesserocr): engines built once, reused per page.

An :class:`OcrEngine` lives in one process (an isolated child, see
:mod:`folio_worker_ocr.ocr.pool`) and keeps one ``TessBaseAPI`` per language
setting it has been asked for (at most ``max_language_sets``; the least
recently used is ended past that), plus one orientation-detection API once
a page needs it (a page read with low confidence, or detection asked for).
Loading ``eng+por`` takes ~0.4 s; recognising a page reuses the loaded
models, so no process and no model load happen per page.

Images are handed to Tesseract as raw 8-bit greyscale (``SetImageBytes``):
no encode/decode round trip.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

import tesserocr
from PIL import Image

from folio_worker_ocr.ocr.clean import despeckled, without_rules
from folio_worker_ocr.ocr.errors import UnknownLanguage
from folio_worker_ocr.ocr.id_regions import pix_without_id
from folio_worker_ocr.ocr.layout import page_lines, rows_text
from folio_worker_ocr.ocr.reread import reread
from folio_worker_ocr.ocr.second_engine import Native, SecondEngine

#: Tesseract's page segmentation mode used unless told otherwise (3: fully
#: automatic page segmentation, no orientation detection; Tesseract's default).
DEFAULT_PSM = 3

#: Tesseract language that re-reads identifier regions (see :meth:`OcrEngine.line_api`).
LINE_LANGUAGE = "eng"

#: Resolution (dpi) a low-resolution page is upscaled to when it is read once
#: more for its end-to-end id, and the largest factor used to get there.
UPSCALE_DPI = 300
MAX_UPSCALE = 3.0
#: Readings that must read an end-to-end id whole on a page under the
#: upscaling resolution (see :func:`~folio_worker_ocr.ocr.reread.best_e2e`).
LOW_DPI_AGREE = 2

#: Orientation confidence below which a detected rotation is not applied
#: (Tesseract's documentation calls 15 "reasonably confident"; text pages
#: score 20-30, blank or noisy pages much less).
MIN_ORIENTATION_CONFIDENCE = 2.0

#: How a page is turned before OCR (:meth:`OcrEngine.recognize`).
Rotate = Literal["auto", "detect", 0, 90, 180, 270]

_TRANSPOSE = {
    90: Image.Transpose.ROTATE_90,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_270,
}


@dataclass(frozen=True)
class Recognition:
    """What Tesseract read on one page.

    - ``text``: the page's text (UTF-8, lines separated by ``\\n``).
    - ``mean_confidence``: mean word confidence, 0-100 (0 with no words).
    - ``word_count``: words recognised.
    - ``rotation_degrees``: counter-clockwise rotation applied before
      recognition (0, 90, 180 or 270).
    - ``ids_reread``: identifier regions read again whose reading replaced
      the page's (see :mod:`folio_worker_ocr.ocr.reread`).
    - ``second_engine_failures``: id regions whose reading by the second
      engine failed, so that they kept Tesseract's reading.
    """

    text: str
    mean_confidence: float
    word_count: int
    rotation_degrees: int
    ids_reread: int = 0
    second_engine_failures: int = 0


def engines_without_id(text: str, picks: list[tuple[str | None, str | None]]) -> bool:
    """:func:`~.id_regions.pix_without_id` of ``text`` as the engines' readings
    alone made it (``picks``: their id and the one kept, per id region of a
    coarse page): the ids decoded under the grammar (:mod:`.id_ctc`) never
    change which reading of a page is kept, or whether it is read again."""
    if any(picked is not None for picked, _ in picks):
        return False
    for picked, kept in picks:
        if kept is not None and kept != picked:
            text = text.replace(kept, "")
    return pix_without_id(text)


def finer_kept(
    finer_text: str,
    finer_confidences: list[int],
    confidences: list[int],
    finer_picks: list[tuple[str | None, str | None]] | None = None,
) -> bool:
    """Whether the upscaled second reading of a coarse page replaces the first,
    whole: when it holds a valid end-to-end id, or when its word confidences
    sum higher (it read more words, or the same words surer). At ~110 dpi
    Tesseract loses whole label lines and sections that it reads finer.
    ``finer_picks``: see :func:`engines_without_id`."""
    if not engines_without_id(finer_text, finer_picks or []):
        return True
    return sum(finer_confidences) > sum(confidences)


class OcrEngine:
    """Tesseract engines for one process, reused across pages.

    Options:

    - ``tessdata_path``: folder of ``*.traineddata`` files (default none:
      Tesseract's compiled-in location, ``/usr/share/tesseract-ocr/5/tessdata``
      on Debian).
    - ``max_language_sets``: distinct language settings kept loaded at once
      (default 2; each ``eng+por`` engine holds ~50 MB).
    """

    def __init__(self, *, tessdata_path: str | None = None, max_language_sets: int = 2) -> None:
        self.tessdata_path = tessdata_path
        self.max_language_sets = max(1, max_language_sets)
        self._apis: OrderedDict[str, tesserocr.PyTessBaseAPI] = OrderedDict()
        self._osd: tesserocr.PyTessBaseAPI | None = None
        self._line: tesserocr.PyTessBaseAPI | None = None
        self._second = SecondEngine()

    def _kwargs(self) -> dict[str, str]:
        return {"path": self.tessdata_path} if self.tessdata_path else {}

    def api(self, languages: str) -> tesserocr.PyTessBaseAPI:
        """The loaded engine for ``languages`` (e.g. ``"eng+por"``), loading it once.

        Raises :class:`UnknownLanguage` when a model is missing.
        """
        api = self._apis.get(languages)
        if api is not None:
            self._apis.move_to_end(languages)
            return api
        try:
            api = tesserocr.PyTessBaseAPI(lang=languages, **self._kwargs())
        except RuntimeError as e:  # "Failed to init API": a model is missing
            raise UnknownLanguage(
                f"Tesseract cannot load languages {languages!r}", languages=languages
            ) from e
        self._apis[languages] = api
        while len(self._apis) > self.max_language_sets:
            _, old = self._apis.popitem(last=False)
            old.End()
        return api

    def line_api(self, fallback: str) -> tesserocr.PyTessBaseAPI:
        """The engine that re-reads identifier regions: English (``eng``; its
        model reads lone letters and digits better than Portuguese's), else
        ``fallback`` languages when ``eng`` is not installed. Loaded once."""
        if self._line is None:
            try:
                self._line = tesserocr.PyTessBaseAPI(
                    lang=LINE_LANGUAGE, psm=tesserocr.PSM.SINGLE_LINE, **self._kwargs()
                )
            except RuntimeError:
                return self.api(fallback)
        return self._line

    def detect_rotation(self, image: Image.Image) -> int:
        """Counter-clockwise degrees (0, 90, 180, 270) that turn ``image`` upright."""
        if self._osd is None:
            self._osd = tesserocr.PyTessBaseAPI(
                lang="osd", psm=tesserocr.PSM.OSD_ONLY, **self._kwargs()
            )
        self._osd.SetImageBytes(image.tobytes(), image.width, image.height, 1, image.width)
        found = self._osd.DetectOrientationScript()
        self._osd.Clear()
        if not found or found["orient_conf"] < MIN_ORIENTATION_CONFIDENCE:
            return 0
        # orient_deg is how far the page was turned clockwise; undo it.
        degrees = int(found["orient_deg"]) % 360
        return degrees if degrees in _TRANSPOSE else 0

    def recognize(
        self,
        image: Image.Image,
        *,
        languages: str,
        dpi: int,
        psm: int = DEFAULT_PSM,
        rotate: Rotate = "auto",
        low_confidence: float = 60.0,
        reread_ids: bool = False,
        upscale_below_dpi: int = 0,
        second_engine: bool = False,
    ) -> Recognition:
        """OCR ``image`` (any mode; converted to 8-bit greyscale) at ``dpi``,
        its table rules taken off and despeckled first when it is a speckled
        scan (:mod:`.clean`); with
        ``reread_ids``, identifier regions are read again
        (:func:`~folio_worker_ocr.ocr.reread.reread`), and a page below
        ``upscale_below_dpi`` that reads like a PIX receipt without a valid
        end-to-end id is read once more upscaled to :data:`UPSCALE_DPI`, and
        that reading is kept when :func:`finer_kept` says so. With
        ``second_engine`` (and ``reread_ids``), end-to-end ids are also read
        by a second OCR engine (:mod:`.second_engine`).

        ``rotate``: ``"auto"`` reads the page as it is and, when its mean
        confidence is below ``low_confidence``, detects its orientation
        (Tesseract OSD) and reads it again turned upright, keeping the
        reading with the higher confidence; ``"detect"`` detects the
        orientation of every page first; 0, 90, 180 or 270 turn the page
        that many degrees counter-clockwise, with no detection.

        A failure of the second engine never fails the page: the id region
        keeps Tesseract's reading, and the result counts it
        (``second_engine_failures``)."""
        grey = image if image.mode == "L" else image.convert("L")
        if rotate == "detect":
            rotation = self.detect_rotation(grey)
        else:
            rotation = 0 if rotate == "auto" else int(rotate) % 360
        read = functools.partial(
            self._recognize,
            grey,
            languages=languages,
            dpi=dpi,
            psm=psm,
            reread_ids=reread_ids,
            upscale_below_dpi=upscale_below_dpi,
            second=self._second if second_engine else None,
        )
        failures = self._second.failures
        found = read(rotation)
        if rotate == "auto" and found.mean_confidence < low_confidence:
            turn = self.detect_rotation(grey)
            if turn:
                turned = read(turn)
                if turned.mean_confidence > found.mean_confidence:
                    found = turned
        failed = self._second.failures - failures
        return dataclasses.replace(found, second_engine_failures=failed) if failed else found

    def _recognize(
        self,
        grey: Image.Image,
        rotation: int,
        *,
        languages: str,
        dpi: int,
        psm: int,
        reread_ids: bool,
        upscale_below_dpi: int,
        second: SecondEngine | None = None,
    ) -> Recognition:
        """:meth:`recognize` of ``grey`` turned ``rotation`` degrees counter-clockwise."""
        if rotation:
            grey = grey.transpose(_TRANSPOSE[rotation])
        grey = without_rules(grey, dpi) or grey
        page = despeckled(grey, dpi) or grey
        # on a coarse page a vote over misread characters is no evidence: an
        # end-to-end id counts only if two readings read it whole
        agree = LOW_DPI_AGREE if dpi < upscale_below_dpi else 1
        picks: list[tuple[str | None, str | None]] = []
        text, confidences, reread_count = self._read(
            page, grey, languages, dpi, psm, reread_ids, agree, second, Native(grey), picks
        )
        if reread_ids and dpi < upscale_below_dpi and engines_without_id(text, picks):
            # A low-resolution photo of a receipt: its small id line is often
            # not even found as a line. Once more at ~300 dpi (see finer_kept)
            scale = min(MAX_UPSCALE, UPSCALE_DPI / dpi)
            size = (round(grey.width * scale), round(grey.height * scale))
            big = grey.resize(size, Image.Resampling.LANCZOS)
            native = Native(grey, scale)  # the second engine reads the photo as taken
            finer_picks: list[tuple[str | None, str | None]] = []
            finer = self._read(
                big,
                big,
                languages,
                round(dpi * scale),
                psm,
                True,
                agree,
                second,
                native,
                finer_picks,
            )
            if finer_kept(finer[0], finer[1], confidences, finer_picks):
                text, confidences = finer[0], finer[1]
                reread_count = finer[2] + (not pix_without_id(text))
        words = len(confidences)
        mean = float(sum(confidences)) / words if words else 0.0
        return Recognition(
            text=text,
            mean_confidence=round(mean, 2),
            word_count=words,
            rotation_degrees=rotation,
            ids_reread=reread_count,
        )

    def _read(
        self,
        grey: Image.Image,
        original: Image.Image,
        languages: str,
        dpi: int,
        psm: int,
        reread_ids: bool,
        agree: int = 1,
        second: SecondEngine | None = None,
        native: Native | None = None,
        picks: list[tuple[str | None, str | None]] | None = None,
    ) -> tuple[str, list[int], int]:
        """Text, word confidences and regions replaced by re-reading, of one
        image (``grey``, perhaps despeckled from ``original``; ``native``: see
        :func:`~folio_worker_ocr.ocr.reread.reread`)."""
        api = self.api(languages)
        api.SetPageSegMode(psm)
        api.SetImageBytes(grey.tobytes(), grey.width, grey.height, 1, grey.width)
        api.SetSourceResolution(dpi)
        replaced = 0
        try:
            text = str(api.GetUTF8Text())
            text = rows_text(page_lines(api)) or text
            confidences = list(api.AllWordConfidences())
            if reread_ids:
                text, replaced = reread(
                    api,
                    self.line_api(languages),
                    grey,
                    text,
                    original,
                    agree,
                    second,
                    native,
                    picks,
                )
        finally:
            api.Clear()
        return text, confidences, replaced

    def close(self) -> None:
        """End every loaded engine."""
        for api in self._apis.values():
            api.End()
        self._apis.clear()
        if self._osd is not None:
            self._osd.End()
            self._osd = None
        if self._line is not None:
            self._line.End()
            self._line = None
