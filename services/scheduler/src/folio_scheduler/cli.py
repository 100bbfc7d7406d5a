"""``folio-scheduler``: run periodiq on Folio's schedule."""

from __future__ import annotations

import sys

import periodiq


def run() -> None:
    parser = periodiq.make_argument_parser()
    args = parser.parse_args(["folio_scheduler.main", *sys.argv[1:]])
    sys.exit(periodiq.main(args))
