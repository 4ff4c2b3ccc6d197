#!/bin/sh
# Install meetbot into a virtualenv the way the container image does: the Dockerfile runs this
# script, and tests/unit/test_image_environment.py runs it too, in a fresh virtualenv.
#
#   sh deploy/install-venv.sh VENV SRC
#
# VENV is created if it does not exist; SRC is a checkout (pyproject.toml, meetbot/, prompts/).
# Environment:
#   EXTRAS       optional dependencies, comma-separated (default: reports)
#   ARGOS        1: add the Argos back-end, without stanza and torch (default: 0)
#   CONSTRAINTS  the pins (default: constraints.txt beside this script; see
#                scripts/update-constraints.sh)
#   PYTHON       the interpreter that makes VENV (default: python3)
#
# Every dependency comes as a wheel (the image has no compiler), except atomicwrites, which is
# pure Python and published as a source archive only.
set -eu
venv=$1
src=$2
here=$(dirname "$0")
constraints=${CONSTRAINTS:-$here/constraints.txt}
extras=${EXTRAS-reports}
argos=${ARGOS:-0}
if [ "$argos" = 1 ]; then
    extras="${extras:+$extras,}argos-runtime"
fi
if [ ! -x "$venv/bin/python" ]; then
    "${PYTHON:-python3}" -m venv "$venv"
fi
pip="$venv/bin/python -m pip"
$pip install --constraint "$constraints" --only-binary=:all: --no-binary=atomicwrites \
    "$src${extras:+[$extras]}"
"$venv/bin/meetbot" --version
