"""folio_shared.encoder: the same messages as Dramatiq's default encoder, both ways."""

from __future__ import annotations

import dramatiq
import pytest
from dramatiq.encoder import JSONEncoder
from dramatiq.errors import DecodeError

from folio_shared.encoder import ENCODER, MsgspecJSONEncoder, install


def message() -> dramatiq.Message[object]:
    return dramatiq.Message(
        queue_name="documents",
        actor_name="docs.process",
        args=({"document_id": "d", "name": "relatório ✓", "n": 1.5, "ok": True, "x": None},),
        kwargs={},
        options={"job_id": "j", "trace_context": {"traceparent": "00-ab-cd-01"}},
    )


def test_messages_read_the_same_with_either_encoder() -> None:
    data = message().asdict()
    ours, theirs = MsgspecJSONEncoder(), JSONEncoder()
    assert theirs.decode(ours.encode(data)) == theirs.decode(theirs.encode(data))
    assert ours.decode(theirs.encode(data)) == theirs.decode(theirs.encode(data))
    decoded = dramatiq.Message(**ours.decode(ours.encode(data)))
    assert decoded.args == message().args  # args come back as a tuple, as Dramatiq expects
    assert decoded.message_id == data["message_id"]


@pytest.mark.parametrize("raw", [b"{not json", b'{"a": 1', "é".encode("latin-1")])
def test_what_is_not_json_raises_dramatiqs_decode_error(raw: bytes) -> None:
    with pytest.raises(DecodeError):
        ENCODER.decode(raw)


def test_results_of_any_json_kind_go_both_ways() -> None:
    # Dramatiq encodes actor results with the same encoder (a query vector)
    vector = [-0.0205, 0.0522, 1.9e-33, -1.2794639125957019e-08]
    assert JSONEncoder().decode(ENCODER.encode(vector)) == vector  # type: ignore[arg-type]
    assert ENCODER.decode(JSONEncoder().encode(vector)) == vector  # type: ignore[arg-type]


def test_install_makes_it_dramatiqs_encoder() -> None:
    before = dramatiq.get_encoder()
    try:
        install()
        assert dramatiq.get_encoder() is ENCODER
    finally:
        dramatiq.set_encoder(before)
