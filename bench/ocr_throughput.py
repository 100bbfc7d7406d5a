"""OCR throughput: Folio's isolated OCR pool vs plain ``tesseract`` on the same pages.

Generates ``--pages`` dense A4 pages at 300 dpi (PNG, in a temp folder), then
times, in the same run and with the same parallelism ``--parallel``:

(a) the ``tesseract`` CLI, one process per page (``OMP_THREAD_LIMIT=1``);
(b) :class:`folio_worker_ocr.ocr.OcrPool` with ``--parallel`` children
    (one engine per child, OpenMP limited to one thread), fed from as many
    threads, pages read from the same files.

Prints pages, seconds, pages per minute and the ratio folio / cli.

    .venv/bin/python bench/ocr_throughput.py --pages 20 --parallel 2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from folio_worker_ocr.ocr import OcrOptions, OcrPool, PageSource

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
WORDS = [
    "payment",
    "receipt",
    "invoice",
    "contract",
    "supplier",
    "quarterly",
    "report",
    "manager",
    "approved",
    "comprovante",
    "pagamento",
    "ação",
    "fatura",
    "instituição",
    "operação",
    "março",
    "avaliação",
    "the",
    "of",
    "and",
    "for",
    "with",
    "every",
    "month",
    "date",
    "number",
    "region",
    "schedule",
    "archived",
]


def make_pages(folder: Path, count: int) -> list[Path]:
    font = ImageFont.truetype(FONT, 42)
    paths = []
    for n in range(count):
        page = Image.new("L", (2480, 3508), 255)
        draw = ImageDraw.Draw(page)
        for line in range(45):
            text = " ".join(WORDS[(n * 7 + line * 5 + k) % len(WORDS)] for k in range(9))
            draw.text((180, 180 + line * 70), text, font=font, fill=0)
        path = folder / f"page-{n:03d}.png"
        page.save(path, dpi=(300, 300))
        paths.append(path)
    return paths


def run_cli(paths: list[Path], parallel: int, languages: str, out: Path) -> float:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def one(path: Path) -> None:
        subprocess.run(
            ["tesseract", str(path), str(out / path.stem), "-l", languages],
            check=True,
            env=env,
            capture_output=True,
        )

    began = time.perf_counter()
    with ThreadPoolExecutor(parallel) as executor:
        list(executor.map(one, paths))
    return time.perf_counter() - began


def run_folio(paths: list[Path], parallel: int, languages: str) -> tuple[float, float]:
    options = OcrOptions(languages=languages, dpi=300)
    with OcrPool(parallel, languages=languages) as pool:
        pool.start()  # a worker loads its engines at boot, before taking pages
        began = time.perf_counter()
        with ThreadPoolExecutor(parallel) as executor:
            results = list(
                executor.map(
                    lambda p: pool.ocr_page(
                        PageSource(content_type="image/png", page_no=1, path=str(p)), options
                    ),
                    paths,
                )
            )
        elapsed = time.perf_counter() - began
    confidence = sum(r.mean_confidence for r in results) / len(results)
    return elapsed, confidence


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--languages", default="eng+por")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="folio-ocr-bench-") as tmp:
        folder = Path(tmp)
        paths = make_pages(folder, args.pages)
        cli_s = run_cli(paths, args.parallel, args.languages, folder)
        folio_s, confidence = run_folio(paths, args.parallel, args.languages)
    cli_ppm = args.pages / cli_s * 60
    folio_ppm = args.pages / folio_s * 60
    print(f"pages={args.pages} parallel={args.parallel} languages={args.languages}")
    print(f"{'runner':<22}{'pages':>7}{'seconds':>10}{'pages/min':>12}")
    print(f"{'tesseract CLI':<22}{args.pages:>7}{cli_s:>10.2f}{cli_ppm:>12.1f}")
    print(f"{'folio OcrPool':<22}{args.pages:>7}{folio_s:>10.2f}{folio_ppm:>12.1f}")
    print(f"ratio folio/cli = {folio_ppm / cli_ppm:.3f}  (mean word confidence {confidence:.1f})")


if __name__ == "__main__":
    main()
