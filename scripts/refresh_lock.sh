#!/usr/bin/env bash
# Re-pin requirements/lock.txt: the newest releases inside pyproject.toml's ranges, every extra.
# Run the suite afterwards (README's test command) and commit pyproject.toml with the lock.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools" && "$tools/bin/pip" install -q pip-tools
"$tools/bin/pip-compile" -q --upgrade --all-extras --strip-extras --no-emit-index-url \
  --no-emit-find-links --no-emit-trusted-host --output-file=requirements/lock.txt pyproject.toml
echo "requirements/lock.txt refreshed; now run the tests."
