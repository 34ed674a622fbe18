#!/usr/bin/env bash
# Lint, then every test: unit, templates, the RouterOS double and the lab (real containers, real SIP).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/yamllint -s -c .yamllint .
.venv/bin/ansible-lint -q roles playbooks
# the fleet lab test runs apart (`-m fleet`): three more PBXs applied from bare, kept out of this run's time
# the slowest tests are listed at the end: where the run's time goes
exec .venv/bin/pytest -q -p no:cacheprovider --durations=25 -m "not fleet" "$@"
