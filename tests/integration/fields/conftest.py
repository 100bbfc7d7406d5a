"""The OCR corpus tests reuse the generated corpus of ``tests/unit/fields``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2] / "unit" / "fields"))
