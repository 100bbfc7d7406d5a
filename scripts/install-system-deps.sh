#!/usr/bin/env bash
# Folio's system packages (Debian/Ubuntu), in sets:
#   dev    what `make dev` runs on: Redis, Tesseract with the English,
#          Portuguese and orientation data, the headers tesserocr builds
#          against, libmagic, a font, libsndfile (the audio example's
#          soundfile loads it), libGL and GLib (OpenCV, which the OCR
#          worker's second engine, RapidOCR, loads)
#   test   dev + prometheus (promtool checks the alert rules) + chromium and
#          its driver (the dashboard's browser tests, tests/browser)
#   bench  dev + wrk (the API benchmark)
#   all    every set (the default)
#
#   scripts/install-system-deps.sh [SET]          install what is missing as root;
#                                                 as another user, print the one
#                                                 command to run and exit 1
#   scripts/install-system-deps.sh --check [SET]  only check (exit 1 and print
#                                                 that command when one is missing)
#   scripts/install-system-deps.sh --list [SET]   print the set's packages
#
# DPKG_ADMINDIR (dpkg's own variable) points the check at another package
# database.
set -euo pipefail

DEV_PACKAGES=(
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
  libsndfile1
  libgl1
  libglib2.0-0
)
TEST_PACKAGES=(prometheus chromium chromium-driver)
BENCH_PACKAGES=(wrk)
# Programs checked when dpkg is not available (non-Debian systems).
PROGRAMS=(redis-server tesseract pkg-config)

usage() {
  echo "usage: $0 [--check | --list] [dev|test|bench|all]" >&2
  exit 2
}

mode=install
set_name=all
for arg in "$@"; do
  case "$arg" in
    --check) mode=check ;;
    --list) mode=list ;;
    dev | test | bench | all) set_name="$arg" ;;
    *) usage ;;
  esac
done

PACKAGES=("${DEV_PACKAGES[@]}")
case "$set_name" in
  test) PACKAGES+=("${TEST_PACKAGES[@]}") ;;
  bench) PACKAGES+=("${BENCH_PACKAGES[@]}") ;;
  all) PACKAGES+=("${TEST_PACKAGES[@]}" "${BENCH_PACKAGES[@]}") ;;
esac

if [[ "$mode" == list ]]; then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
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
  echo "system-deps: not a Debian system and missing: ${missing[*]}; install the equivalents of: ${PACKAGES[*]}" >&2
  exit 1
fi

missing=()
for package in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "system-deps ($set_name): all present (${PACKAGES[*]})"
  exit 0
fi

if [[ "$mode" == check || "$(id -u)" -ne 0 ]]; then
  echo "system-deps ($set_name): missing ${missing[*]}; run: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

echo "system-deps ($set_name): installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "system-deps ($set_name): installed ${missing[*]}"
