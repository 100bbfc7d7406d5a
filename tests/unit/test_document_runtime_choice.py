"""``FOLIO_PIPELINE_DOCUMENT_RUNTIME=auto`` (the default) picks the copy of
the model that embeds chunks by the CPU's flags: bfloat16 where the CPU has
bfloat16 instructions, int8 where it has VNNI or AVX2 without them,
float32 ONNX Runtime anywhere else (no AVX2: older x86, ARM). Pure logic over
``/proc/cpuinfo`` texts written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from folio_shared.settings import PipelineSettings
from folio_worker_docs.embeddings.cpu import cpu_flags, runtime_for

# Flags as Linux prints them, trimmed (the real lines hold ~100 flags).
XEON_VNNI = "fpu sse avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_vbmi2"
EPYC_BF16 = "fpu sse avx2 fma avx512f avx512bw avx512_bf16 avx512_vnni"
SAPPHIRE_RAPIDS = "fpu sse avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8"
ALDER_LAKE = "fpu sse avx2 fma avx_vnni"
AVX2_ONLY = "fpu sse sse4_2 avx avx2 fma"
#: An AMD EPYC (Zen 3) as a 2-core VM reports it: AVX2, no AVX-512 or VNNI.
EPYC_AVX2 = "fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 bmi2 sha_ni vaes vpclmulqdq"
AVX512_NO_VNNI = "fpu sse avx2 avx512f avx512bw avx512vl"
AVX_NO_AVX2 = "fpu sse sse4_2 avx fma"


@pytest.mark.parametrize(
    ("flags", "runtime"),
    [
        (XEON_VNNI, "int8"),
        (EPYC_BF16, "bf16"),
        (SAPPHIRE_RAPIDS, "bf16"),
        (ALDER_LAKE, "int8"),
        (AVX2_ONLY, "int8"),
        (EPYC_AVX2, "int8"),
        (AVX512_NO_VNNI, "int8"),
        (AVX_NO_AVX2, "onnx"),
        ("", "onnx"),
    ],
)
def test_the_runtime_follows_the_cpus_instructions(flags: str, runtime: str) -> None:
    assert runtime_for(frozenset(flags.split())) == runtime


def test_flags_are_read_from_the_first_cpu_listed(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: GenuineIntel\n"
        f"flags\t\t: {XEON_VNNI}\nbugs\t\t: spectre_v1\n\n"
        f"processor\t: 1\nflags\t\t: {AVX2_ONLY}\n"
    )
    flags = cpu_flags(cpuinfo)
    assert "avx512_vnni" in flags
    assert "bugs" not in flags
    assert runtime_for(flags) == "int8"


def test_avx2_without_vnni_or_bf16_gets_int8(tmp_path: Path) -> None:
    # Given an AVX2-only CPU listed as Linux lists it, and one without AVX2
    avx2 = tmp_path / "avx2"
    avx2.write_text(f"processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: {EPYC_AVX2}\n")
    older = tmp_path / "older"
    older.write_text(f"processor\t: 0\nflags\t\t: {AVX_NO_AVX2}\n")

    # Then AVX2 alone gets the int8 copy (its 8-bit multiply-adds run it;
    # with queries on float32 the relevance sets ranked as float32 there,
    # ADR 0008), and the CPU without AVX2 stays on float32
    assert not cpu_flags(avx2) & {"avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16"}
    assert runtime_for(cpu_flags(avx2)) == "int8"
    assert runtime_for(cpu_flags(older)) == "onnx"


def test_an_unreadable_or_flagless_cpuinfo_gives_no_flags(tmp_path: Path) -> None:
    assert cpu_flags(tmp_path / "missing") == frozenset()
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nFeatures\t: fp asimd evtstrm aes\n")
    assert cpu_flags(arm) == frozenset()
    assert runtime_for(cpu_flags(arm)) == "onnx"


def test_auto_is_the_default_and_the_explicit_values_stay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FOLIO_PIPELINE_DOCUMENT_RUNTIME", raising=False)
    assert PipelineSettings().document_runtime == "auto"
    for value in ("auto", "bf16", "onnx", "int8", "torch"):
        monkeypatch.setenv("FOLIO_PIPELINE_DOCUMENT_RUNTIME", value)
        assert PipelineSettings().document_runtime == value
    monkeypatch.setenv("FOLIO_PIPELINE_DOCUMENT_RUNTIME", "fp16")
    with pytest.raises(ValueError, match="auto"):
        PipelineSettings()
