"""``python -m folio_devstack dev`` (the embedded stack) or ``test [-- pytest args]``."""

from __future__ import annotations

import sys

USAGE = """usage: python -m folio_devstack {dev,test} [-- pytest args]

  dev    start the embedded stack for `make dev` (Redis, PostgreSQL, migrations,
         demo tenant, api + workers + scheduler); Ctrl-C stops everything
  test   start Redis, PostgreSQL and an S3 server on private ports, run pytest
         with the remaining arguments, stop the servers; exit with pytest's status
"""


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if rest[:1] == ["--"]:
        rest = rest[1:]
    if command == "test":
        from folio_devstack import testrun

        return testrun.main(rest)
    if command == "dev":
        from folio_devstack import dev

        return dev.main(rest)
    print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
