#!/usr/bin/env bash
# Folio's system packages (Debian/Ubuntu): Redis, Tesseract with the English,
# Portuguese and orientation data, the headers tesserocr builds against, and
# libmagic; wrk for the API benchmark.
#
#   scripts/install-system-deps.sh          install what is missing (needs root)
#   scripts/install-system-deps.sh --check  only check; exit 1 and say what to
#                                           install when something is missing
set -euo pipefail

PACKAGES=(
  redis-server
  tesseract-ocr
  tesseract-ocr-eng
  tesseract-ocr-por
  tesseract-ocr-osd
  libtesseract-dev
  libleptonica-dev
  pkg-config
  libmagic1
  fonts-dejavu-core
  prometheus
  wrk
)
# Programs checked when dpkg is not available (non-Debian systems).
PROGRAMS=(redis-server tesseract pkg-config)

check_only=false
if [[ "${1:-}" == "--check" ]]; then
  check_only=true
elif [[ $# -gt 0 ]]; then
  echo "usage: $0 [--check]" >&2
  exit 2
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for program in "${PROGRAMS[@]}"; do
    command -v "$program" >/dev/null 2>&1 || missing+=("$program")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    echo "system-deps: not a Debian system; redis-server, tesseract and pkg-config are present"
    exit 0
  fi
  echo "system-deps: not a Debian system and missing: ${missing[*]}" >&2
  echo "Install the equivalents of: ${PACKAGES[*]}" >&2
  exit 1
fi

missing=()
for package in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "system-deps: all present (${PACKAGES[*]})"
  exit 0
fi

if $check_only || [[ "$(id -u)" -ne 0 ]]; then
  echo "system-deps: missing packages: ${missing[*]}" >&2
  echo "Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  echo "(or run \`sudo make system-deps\`)" >&2
  exit 1
fi

echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "system-deps: installed ${missing[*]}"
