#!/usr/bin/env bash
# Regenerate deploy/constraints.txt, the exact versions the container image installs.
#
# A fresh virtualenv gets meetbot the way the image does (deploy/install-venv.sh, Argos
# included) but without the old pins; its `pip freeze` becomes the new file. Use the Python
# of the image (the Dockerfile's PYTHON_VERSION, major.minor). Then check the result:
#   pytest -m slow tests/unit/test_image_environment.py
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CONSTRAINTS=/dev/null EXTRAS=reports ARGOS=1 PYTHON="$python" \
    sh deploy/install-venv.sh "$tmp/venv" .
version=$("$tmp/venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
{
    echo "# The exact versions the container image installs (deploy/install-venv.sh, Python $version)."
    echo "# Made by scripts/update-constraints.sh from a fresh virtualenv: do not edit by hand."
    "$tmp/venv/bin/pip" freeze | grep -v -i -E '^matrix-meetbot( |=|@)'
} > deploy/constraints.txt
echo "deploy/constraints.txt: $(grep -c '==' deploy/constraints.txt) pins"
