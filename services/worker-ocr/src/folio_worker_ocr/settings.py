"""worker-ocr's own settings, read from ``FOLIO_OCR_REREAD_*`` environment variables.

They sit here, beside the code they steer, rather than in
:mod:`folio_shared.settings` (which holds what several services read).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RereadSettings(BaseSettings):
    """Targeted re-reading of identifiers (see :mod:`folio_worker_ocr.ocr.reread`).

    - ``FOLIO_OCR_REREAD_IDS``: read the regions of identifiers (PIX
      end-to-end ids, boleto lines, NF-e keys) and amounts again and put
      the readings their shape or check digits accept in the page text
      (default true; false leaves the page OCR's text as read).
    - ``FOLIO_OCR_REREAD_LOW_DPI``: a page below this resolution, in dpi,
      that reads like a PIX receipt but shows no valid end-to-end id is
      OCRed once more, upscaled to about 300 dpi (default 150; 0 never).
      Phone photos are the pages it catches.
    """

    model_config = SettingsConfigDict(env_prefix="FOLIO_OCR_REREAD_", extra="ignore", frozen=True)

    ids: bool = True
    low_dpi: int = Field(default=150, ge=0, le=600)
