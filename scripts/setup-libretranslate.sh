#!/usr/bin/env bash
# Create the private virtualenv that the LibreTranslate integration tests start a server from.
#
# LibreTranslate pins flask/numpy<2 and ships argos-translate-lt, which has the same import
# name as argostranslate: it cannot live in the project's venv, so it gets one of its own.
# Location: $MEETBOT_LIBRETRANSLATE_VENV, else <cache home>/meetbot/libretranslate-venv.
# Idempotent: an existing venv with a working `libretranslate` is left alone; a half-made one
# (an install cut off) is made again.
set -euo pipefail

cache_home="${XDG_CACHE_HOME:-$HOME/.cache}"
venv="${MEETBOT_LIBRETRANSLATE_VENV:-$cache_home/meetbot/libretranslate-venv}"
python="${PYTHON:-python3}"
start=$(date +%s)

# Two checkouts bootstrapping at once share this venv: the second waits for the first.
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9

if [[ -x "$venv/bin/libretranslate" ]] && "$venv/bin/python" -c "import libretranslate, spacy" 2>/dev/null; then
    echo "LibreTranslate venv already present: $venv"
    exit 0
fi

echo "Creating LibreTranslate venv in $venv"
"$python" -m venv --clear "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
# spaCy: our tiny test models ship a spaCy sentence splitter (ARGOS_CHUNK_TYPE=SPACY).
"$venv/bin/pip" install --quiet libretranslate spacy
"$venv/bin/libretranslate" --help >/dev/null
end=$(date +%s)
echo "LibreTranslate venv ready in $((end - start)) s: $venv"
