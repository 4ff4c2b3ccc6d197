#!/usr/bin/env bash
# Refresh the translation catalogues from the strings marked with _() and ngettext() in meetbot/
# (ngettext's first two arguments become an entry's msgid and msgid_plural).
#
#   scripts/update-catalogues.sh          extract meetbot/locale/meetbot.pot, then update
#                                          (or create) meetbot/locale/{fr,es}/LC_MESSAGES/meetbot.po
#   scripts/update-catalogues.sh --check  change nothing; exit 1 if the .pot or a .po is out of date
#
# Existing translations are never dropped: `pybabel update` keeps them, marks the ones whose
# source text changed as fuzzy (to be reviewed), and keeps removed strings as obsolete (#~)
# entries. After running it, translate the empty and fuzzy entries (remove the `#, fuzzy`
# flag once reviewed), every msgstr[N] form of a plural entry included (the forms are the
# catalogue's Plural-Forms header); tests/unit/test_catalogues.py lists what is still missing.
# Set PYBABEL to use a specific pybabel (default: .venv/bin/pybabel, else the one on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."

LOCALES=(fr es)
DOMAIN=meetbot
LOCALE_DIR=meetbot/locale
POT="$LOCALE_DIR/$DOMAIN.pot"

check=0
case "${1:-}" in
    "") ;;
    --check) check=1 ;;
    *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

if [[ -z "${PYBABEL:-}" ]]; then
    if [[ -x .venv/bin/pybabel ]]; then
        PYBABEL=.venv/bin/pybabel
    elif command -v pybabel >/dev/null; then
        PYBABEL=pybabel
    else
        echo "pybabel not found: install Babel (pip install Babel) or set PYBABEL" >&2
        exit 1
    fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Sorted, location-free template: a diff shows only strings that were added, changed or removed.
"$PYBABEL" --quiet extract -F babel.cfg --no-default-keywords -k _ -k ngettext:1,2 \
    --no-location --sort-output --no-wrap \
    --project meetbot --copyright-holder "meetbot contributors" \
    -o "$tmp/$DOMAIN.pot" .

# Only the creation date differs when no string changed: keep the old file then.
same_strings() {
    [[ -f "$1" ]] && diff -q <(grep -v '^"POT-Creation-Date:' "$1") \
                             <(grep -v '^"POT-Creation-Date:' "$2") >/dev/null
}

status=0
if same_strings "$POT" "$tmp/$DOMAIN.pot"; then
    echo "$POT: up to date"
elif [[ $check -eq 1 ]]; then
    echo "$POT: out of date (run $0)" >&2
    status=1
else
    mkdir -p "$LOCALE_DIR"
    cp "$tmp/$DOMAIN.pot" "$POT"
    echo "$POT: updated"
fi

for lang in "${LOCALES[@]}"; do
    po="$LOCALE_DIR/$lang/LC_MESSAGES/$DOMAIN.po"
    if [[ ! -f "$po" ]]; then
        if [[ $check -eq 1 ]]; then
            echo "$po: missing (run $0)" >&2
            status=1
        else
            "$PYBABEL" init --no-wrap -D "$DOMAIN" -i "$POT" -d "$LOCALE_DIR" -l "$lang"
        fi
        continue
    fi
    if [[ $check -eq 1 ]]; then
        # Update a copy and compare: the same command as below, nothing written in the tree.
        mkdir -p "$tmp/$lang/LC_MESSAGES"
        cp "$po" "$tmp/$lang/LC_MESSAGES/$DOMAIN.po"
        "$PYBABEL" --quiet update --no-wrap --previous --ignore-pot-creation-date -D "$DOMAIN" \
            -i "$tmp/$DOMAIN.pot" -d "$tmp" -l "$lang"
        if cmp -s "$po" "$tmp/$lang/LC_MESSAGES/$DOMAIN.po"; then
            echo "$po: up to date"
        else
            echo "$po: out of date (run $0)" >&2
            status=1
        fi
    else
        "$PYBABEL" update --no-wrap --previous --ignore-pot-creation-date -D "$DOMAIN" \
            -i "$POT" -d "$LOCALE_DIR" -l "$lang"
    fi
done
exit $status
