#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine, idempotently:
#   - Debian packages: Apertium with its en<->es and fr<->es pairs, Chromium (HTML checks);
#   - the project's virtualenv (.venv) with the test extra (CPU torch pinned by pyproject);
#   - a separate virtualenv for the LibreTranslate server the tests start;
#   - axe-core (npm) in .cache/npm, which the report's accessibility tests inject into Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(apertium apertium-eng-spa apertium-fr-es chromium)
missing=()
for pkg in "${debian_packages[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
command -v npm >/dev/null || missing+=(nodejs npm)  # any node will do, Debian's included
if ((${#missing[@]})); then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    echo "Installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python="${PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# The CPU build of torch first, so that argostranslate never pulls a CUDA build.
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e '.[test]'

PYTHON=.venv/bin/python bash scripts/setup-libretranslate.sh

# axe-core for tests/unit/test_report_browser.py: one pinned version, installed once.
axe_version=4.10.3
axe_dir=.cache/npm
if [[ "$(node -p "require('./$axe_dir/node_modules/axe-core/package.json').version" 2>/dev/null)" != "$axe_version" ]]; then
    mkdir -p "$axe_dir"
    npm install --silent --no-audit --no-fund --no-save --prefix "$axe_dir" "axe-core@$axe_version"
fi
