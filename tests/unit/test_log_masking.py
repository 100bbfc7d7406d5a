"""Tax ids never reach a log line whole."""

from __future__ import annotations

import io
import json
import logging

from folio_shared.logging import configure_logging, get_logger, mask_tax_ids
from folio_shared.settings import get_settings


def test_cpf_and_cnpj_are_masked_in_every_value() -> None:
    event = {
        "event": "failed ProcessDocumentV1(expected={'payee_tax_id': '11222333000181'})",
        "fields": {"payer_tax_id": "529.982.247-25", "amount": "150.00"},
        "ids": ["11.222.333/0001-81", "E00416968202612051732aB3dE4fG5hI"],
        "document_id": "c3a9e2b4-5f6d-4e7a-8b9c-0d1e2f3a4b5c",
    }
    masked = mask_tax_ids(None, "info", event)
    text = json.dumps(masked)
    for whole in ("11222333000181", "529.982.247-25", "11.222.333/0001-81"):
        assert whole not in text
    assert "************81" in masked["event"]
    assert masked["fields"] == {"payer_tax_id": "***.***.***-25", "amount": "150.00"}
    assert masked["ids"][1] == "E00416968202612051732aB3dE4fG5hI"
    assert masked["document_id"] == event["document_id"]


def test_records_from_the_standard_library_are_masked_too() -> None:
    configure_logging(get_settings(), service="test")
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    handler.setStream(stream)  # type: ignore[attr-defined]
    logging.getLogger("dramatiq").error("message args: %s", {"cpf": "52998224725"})
    get_logger("folio.test").info("fields", payee_tax_id="11222333000181")
    out = stream.getvalue()
    assert "52998224725" not in out
    assert "*********25" in out
    assert "11222333000181" not in out
    assert "************81" in out
