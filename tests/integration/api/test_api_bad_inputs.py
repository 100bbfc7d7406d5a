"""Bad uploads and bad requests: each gets the right 4xx as problem details,
and nothing is stored."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from apikit import TEST_MAX_BYTES, TenantKey, pdf_bytes, png_bytes, problem
from litestar.testing import AsyncTestClient

pytestmark = pytest.mark.integration

Client = AsyncTestClient[Any]

PE_EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
ELF_EXECUTABLE = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
ZIP_NOT_DOCX = (
    b"PK\x03\x04\x14\x00\x00\x00\x00\x00" + b"\x00" * 16 + b"\x05\x00\x00\x00a.txtx" + b"\x00" * 32
)

BAD_FILES = [
    # (id, file name, bytes, declared content type, status, code)
    ("wrong-magic", "report.pdf", b"this is not a pdf at all", None, 415, "file_type_mismatch"),
    ("renamed-exe", "invoice.pdf", PE_EXECUTABLE, None, 415, "unsupported_file_type"),
    ("elf-as-png", "photo.png", ELF_EXECUTABLE, None, 415, "unsupported_file_type"),
    ("exe-extension", "setup.exe", PE_EXECUTABLE, None, 415, "unsupported_file_type"),
    ("empty", "empty.pdf", b"", None, 400, "empty_file"),
    ("empty-text", "empty.txt", b"", None, 400, "empty_file"),
    ("html-as-pdf", "doc.pdf", HTML, None, 415, "file_type_mismatch"),
    ("pdf-as-png", "x.png", pdf_bytes(), None, 415, "file_type_mismatch"),
    ("png-as-jpg", "x.jpg", png_bytes(), None, 415, "file_type_mismatch"),
    ("pdf-as-txt", "x.txt", pdf_bytes(), None, 415, "file_type_mismatch"),
    ("text-as-docx", "x.docx", b"plain words", None, 415, "file_type_mismatch"),
    ("zip-as-docx", "x.docx", ZIP_NOT_DOCX, None, 415, "unsupported_file_type"),
    ("no-extension", "README", b"hello", None, 415, "unsupported_file_type"),
    ("unknown-extension", "data.csv", b"a,b\n1,2\n", None, 415, "unsupported_file_type"),
    ("path-traversal", "../../etc/passwd.txt", b"root:x:0:0", None, 400, "invalid_filename"),
    ("windows-path", "..\\..\\boot.ini.txt", b"x", None, 400, "invalid_filename"),
    ("overlong-name", "a" * 300 + ".pdf", pdf_bytes(), None, 400, "invalid_filename"),
    ("dot-dot-name", "..", b"x", None, 400, "invalid_filename"),
    ("wrong-part-type", "r.pdf", pdf_bytes(), "image/png", 415, "file_type_mismatch"),
    ("binary-as-text", "x.txt", b"abc\x00\x01\x02def", None, 415, "unsupported_file_type"),
    ("too-large", "big.txt", b"a" * (TEST_MAX_BYTES + 1), None, 413, "file_too_large"),
]


@pytest.mark.parametrize(
    ("filename", "data", "declared", "status", "code"),
    [case[1:] for case in BAD_FILES],
    ids=[case[0] for case in BAD_FILES],
)
async def test_bad_file_is_refused_and_not_stored(
    client: Client,
    alice: TenantKey,
    store_root: Path,
    filename: str,
    data: bytes,
    declared: str | None,
    status: int,
    code: str,
) -> None:
    before = sorted((store_root / "objects").rglob("*"))
    response = await client.post(
        "/v1/documents",
        headers=alice.headers,
        files={"file": (filename, data, declared or "application/octet-stream")},
    )
    problem(response, status, code)
    assert sorted((store_root / "objects").rglob("*")) == before


@pytest.mark.parametrize("name", ["a\x07b.txt", "evil\u202etxt.exe.txt", "line\nbreak.txt"])
async def test_control_characters_in_the_name_are_400(
    client: Client, alice: TenantKey, name: str
) -> None:
    disposition = f'form-data; name="file"; filename="{name}"'.encode()
    response = await client.post(
        "/v1/documents",
        headers={**alice.headers, "Content-Type": "multipart/form-data; boundary=XyZ"},
        content=b"--XyZ\r\nContent-Disposition: " + disposition + b"\r\n\r\nhello\r\n--XyZ--\r\n",
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] in ("invalid_filename", "invalid_input")


async def test_body_that_is_not_multipart_is_415(client: Client, alice: TenantKey) -> None:
    response = await client.post(
        "/v1/documents",
        headers={**alice.headers, "Content-Type": "application/pdf"},
        content=pdf_bytes(),
    )
    problem(response, 415, "unsupported_media_type")


async def test_json_body_is_415(client: Client, alice: TenantKey) -> None:
    response = await client.post("/v1/documents", headers=alice.headers, json={"file": "x"})
    problem(response, 415, "unsupported_media_type")


async def test_multipart_without_file_is_400_naming_it(client: Client, alice: TenantKey) -> None:
    response = await client.post(
        "/v1/documents",
        headers={**alice.headers, "Content-Type": "multipart/form-data; boundary=XyZ"},
        content=(
            b'--XyZ\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{}\r\n--XyZ--\r\n'
        ),
    )
    body = problem(response, 400, "invalid_input")
    assert "'file'" in body["detail"]


async def test_truncated_multipart_is_400(client: Client, alice: TenantKey) -> None:
    response = await client.post(
        "/v1/documents",
        headers={**alice.headers, "Content-Type": "multipart/form-data; boundary=XyZ"},
        content=(
            b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhel'
        ),
    )
    problem(response, 400, "invalid_input")


async def test_two_files_are_400(client: Client, alice: TenantKey) -> None:
    response = await client.post(
        "/v1/documents",
        headers=alice.headers,
        files=[
            ("file", ("a.txt", b"one", "text/plain")),
            ("file", ("b.txt", b"two", "text/plain")),
        ],
    )
    problem(response, 400, "invalid_input")


async def test_file_under_another_field_name_is_400(client: Client, alice: TenantKey) -> None:
    response = await client.post(
        "/v1/documents", headers=alice.headers, files={"document": ("a.txt", b"x", "text/plain")}
    )
    assert "'document'" in problem(response, 400, "invalid_input")["detail"]


async def test_bad_metadata_is_400(client: Client, alice: TenantKey) -> None:
    response = await client.post(
        "/v1/documents",
        headers=alice.headers,
        files={"file": ("m.txt", uuid.uuid4().bytes.hex().encode(), "text/plain")},
        data={"metadata": "[1, 2]"},
    )
    assert "'metadata'" in problem(response, 400, "invalid_input")["detail"]


async def test_declared_length_over_the_limit_is_413_before_reading(
    client: Client, alice: TenantKey
) -> None:
    response = await client.post(
        "/v1/documents",
        headers={
            **alice.headers,
            "Content-Type": "multipart/form-data; boundary=XyZ",
            "Content-Length": str(TEST_MAX_BYTES * 10),
        },
        content=b"--XyZ--\r\n",
    )
    problem(response, 413, "file_too_large")


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code", "field"),
    [
        (
            "get",
            "/v1/documents",
            {"params": {"limit": "0"}},
            400,
            "invalid_input",
            "query field 'limit'",
        ),
        ("get", "/v1/documents", {"params": {"limit": "1000"}}, 400, "invalid_input", "limit"),
        (
            "get",
            "/v1/documents",
            {"params": {"status": "nope"}},
            400,
            "invalid_input",
            "query field 'status'",
        ),
        ("get", "/v1/documents", {"params": {"kind": "exe"}}, 400, "invalid_input", "kind"),
        (
            "get",
            "/v1/documents",
            {"params": {"created_after": "yesterday"}},
            400,
            "invalid_input",
            "created_after",
        ),
        ("get", "/v1/jobs", {"params": {"status": "sleeping"}}, 400, "invalid_input", "status"),
        (
            "post",
            "/v1/documents",
            {"params": {"priority": "urgent"}},
            400,
            "invalid_input",
            "priority",
        ),
        ("post", "/v1/uploads", {"json": {"filename": ""}}, 400, "invalid_input", "filename"),
        (
            "post",
            "/v1/uploads",
            {"json": {"filename": "a.pdf", "size_bytes": 0}},
            400,
            "invalid_input",
            "size_bytes",
        ),
        ("post", "/v1/uploads", {"json": {"name": "a.pdf"}}, 400, "invalid_input", "name"),
        (
            "post",
            "/v1/uploads",
            {"json": {"filename": "a.exe"}},
            415,
            "unsupported_file_type",
            None,
        ),
        (
            "post",
            "/v1/uploads",
            {"json": {"filename": "a.pdf", "size_bytes": 10**12}},
            413,
            "file_too_large",
            "size_bytes",
        ),
    ],
)
async def test_bad_requests_name_the_field(
    client: Client,
    alice: TenantKey,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
    field: str | None,
) -> None:
    response = await getattr(client, method)(path, headers=alice.headers, **kwargs)
    body = problem(response, status, code)
    if field is not None:
        assert field in body["detail"], body


async def test_malformed_ids_and_last_event_id(client: Client, alice: TenantKey) -> None:
    for path in ("/v1/documents/not-a-uuid", "/v1/jobs/123"):
        response = await client.get(path, headers=alice.headers)
        assert response.status_code in (400, 404), response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    job_id = uuid.uuid4()
    response = await client.get(
        f"/v1/jobs/{job_id}/events", headers={**alice.headers, "Last-Event-ID": "drop table"}
    )
    problem(response, 400, "invalid_input")


UNSTORABLE_METADATA = [
    # (id, the metadata field as sent, what the detail says)
    ("nul-in-value", '{"a": "x\\u0000y"}', "NUL"),
    ("nul-in-key", '{"a\\u0000": 1}', "NUL"),
    ("lone-surrogate", '{"a": "\\ud800"}', "surrogate"),
    ("too-large-number", '{"a": 1e400}', "finite"),
    ("nan", '{"a": NaN}', "not valid JSON"),
    ("too-deep", '{"a": ' + "[" * 40 + "]" * 40 + "}", "nested deeper than 32"),
    ("deeper-than-python", '{"a": ' + "[" * 6000 + "]" * 6000 + "}", "nested deeper than 32"),
]


@pytest.mark.parametrize(
    ("raw", "says"),
    [case[1:] for case in UNSTORABLE_METADATA],
    ids=[case[0] for case in UNSTORABLE_METADATA],
)
async def test_metadata_the_database_cannot_keep_is_400_and_stores_nothing(
    client: Client, alice: TenantKey, store_root: Path, raw: str, says: str
) -> None:
    before = sorted((store_root / "objects").rglob("*"))
    response = await client.post(
        "/v1/documents",
        headers=alice.headers,
        files={"file": ("m.txt", uuid.uuid4().bytes.hex().encode(), "text/plain")},
        data={"metadata": raw},
    )
    detail = problem(response, 400, "invalid_input")["detail"]
    assert "'metadata'" in detail
    assert says in detail
    assert sorted((store_root / "objects").rglob("*")) == before


async def test_metadata_as_deep_as_allowed_is_kept(client: Client, alice: TenantKey) -> None:
    nested: Any = "leaf"
    for _ in range(31):
        nested = [nested]
    response = await client.post(
        "/v1/documents",
        headers=alice.headers,
        params={"process": "false"},
        files={"file": ("m.txt", uuid.uuid4().bytes.hex().encode(), "text/plain")},
        data={"metadata": json.dumps({"a": nested, "n": -0.125, "text": "ünï ✓"})},
    )
    assert response.status_code == 201, response.text
    assert response.json()["document"]["metadata"] == {"a": nested, "n": -0.125, "text": "ünï ✓"}


@pytest.mark.parametrize(
    ("metadata", "says"),
    [
        ('{"a": "x\\u0000y"}', "NUL"),
        ('{"a": "' + "x" * 17_000 + '"}', "over 16384 bytes"),
        ('{"a": {"b": [1, 1e400]}}', "finite"),
    ],
    ids=["nul", "too-large", "too-large-number"],
)
async def test_presigned_upload_metadata_is_checked_the_same_way(
    client: Client, alice: TenantKey, metadata: str, says: str
) -> None:
    response = await client.post(
        "/v1/uploads",
        headers={**alice.headers, "Content-Type": "application/json"},
        content=b'{"filename": "p.txt", "metadata": ' + metadata.encode() + b"}",
    )
    detail = problem(response, 400, "invalid_input")["detail"]
    assert "body field 'metadata'" in detail
    assert says in detail


@pytest.mark.parametrize(
    ("body", "status", "code", "says"),
    [
        # a number beyond a double's range is a value of a named field ...
        (b'{"filename": "p.txt", "size_bytes": 1e400}', 400, "invalid_input", "size_bytes"),
        (b'{"filename": "p.txt", "size_bytes": 2048, "metadata": {}}', 201, None, None),
        # ... but what is not JSON stays malformed
        (b'{"filename": "p.txt", "metadata": {"a": 1e400, "b": NaN}}', 400, "bad_request", None),
        (b'{"filename": "p.txt", "metadata": {"a": 1e400}', 400, "bad_request", None),
    ],
    ids=["number-in-a-typed-field", "well-formed", "nan-after-it", "truncated-after-it"],
)
async def test_json_numbers_beyond_a_double_name_their_field(
    client: Client, alice: TenantKey, body: bytes, status: int, code: str | None, says: str | None
) -> None:
    response = await client.post(
        "/v1/uploads", headers={**alice.headers, "Content-Type": "application/json"}, content=body
    )
    if code is None:
        assert response.status_code == status, response.text
        return
    detail = problem(response, status, code)["detail"]
    if says is not None:
        assert f"'{says}'" in detail, detail


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
async def test_search_query_with_a_nul_is_invalid_input(
    client: Client, alice: TenantKey, mode: str
) -> None:
    # PostgreSQL's text cannot hold NUL: this was a 500 from the database
    response = await client.get(
        "/v1/search", headers=alice.headers, params={"q": "tax\x00return", "mode": mode}
    )
    detail = problem(response, 400, "invalid_input")["detail"]
    assert "query field 'q'" in detail


@pytest.mark.parametrize("field", ["queue", "actor", "error_type"])
async def test_dead_job_filters_with_a_nul_are_invalid_input(
    client: Client, operator_key: str, field: str
) -> None:
    ops = {"Authorization": f"Bearer {operator_key}"}
    listed = await client.get("/v1/ops/dead", headers=ops, params={field: "ocr\x00"})
    assert f"query field {field!r}" in problem(listed, 400, "invalid_input")["detail"]
    for action in ("redrive", "purge"):
        chosen = await client.post(
            f"/v1/ops/dead/{action}", headers=ops, json={"filter": {field: "ocr\x00"}}
        )
        assert field in problem(chosen, 400, "invalid_input")["detail"]
