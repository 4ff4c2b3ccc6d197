"""Pseudonymous speaker ids, stable across meetings (``P-7F3A2C``).

Each id is an HMAC of the Matrix user id with a secret kept in the data folder, never in an
export: without the secret nobody can go from a pseudonym back to a person, and the same
person gets the same pseudonym in every meeting and every export.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from meetbot.core.registry import USER_ID

SECRET_FILE = "research-pseudonym.key"


class PseudonymKeyError(Exception):
    """The pseudonym key cannot be read or made; the message names the file and the fix."""


class Pseudonyms:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self.seen: dict[str, str] = {}  # user id -> pseudonym, for the mapping file only

    @classmethod
    def load(cls, data_dir: Path) -> Pseudonyms:
        """The data folder's secret, created (readable by the owner only) on first use."""
        path = data_dir / SECRET_FILE
        try:
            if not path.exists():
                data_dir.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(secrets.token_hex(32))
            text = path.read_text(encoding="ascii").strip()
        except PermissionError as exc:
            raise PseudonymKeyError(
                f"{path}: cannot read or create the pseudonym key (permission denied); run "
                "meetbot as the user the bot runs as (the owner of data_dir)"
            ) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise PseudonymKeyError(f"{path}: cannot read the pseudonym key ({exc})") from exc
        try:
            secret = bytes.fromhex(text)
        except ValueError:
            secret = b""
        if len(secret) < 16:
            raise PseudonymKeyError(
                f"{path}: the pseudonym key is damaged (not 32 hexadecimal bytes); restore it "
                "from a backup (a new key would give everyone new pseudonyms)"
            )
        return cls(secret)

    def of(self, user_id: str) -> str:
        digest = hmac.new(self._secret, user_id.encode("utf-8"), hashlib.sha256).hexdigest()
        pseudonym = f"P-{digest[:6].upper()}"
        self.seen[user_id] = pseudonym
        return pseudonym

    def in_text(self, text: str) -> str:
        """Matrix ids typed or pilled in a message become pseudonyms too."""
        return USER_ID.sub(lambda m: self._replace(m), text)

    def _replace(self, match: re.Match[str]) -> str:
        found = match.group(0)
        user = found.rstrip(".,;:!?")
        return self.of(user) + found[len(user):]


def pseudonymous_document(doc: Mapping[str, Any], pseudonyms: Pseudonyms) -> dict[str, Any]:
    """A copy of a minutes document that names people by pseudonym, as the exports do:
    display names become the person's pseudonym, and Matrix ids in what was said (texts,
    translations, titles, vote reasons) become pseudonyms too. Names typed as plain words
    stay, as in the exports."""
    text = pseudonyms.in_text

    def said(entry: Mapping[str, Any], key: str) -> dict[str, Any]:
        out = dict(entry)
        if entry.get(key) is not None:
            out[key] = text(str(entry[key]))
        out["translations"] = {lang: text(str(t))
                               for lang, t in (entry.get("translations") or {}).items()}
        return out

    def person(entry: Mapping[str, Any], id_key: str, name_key: str) -> dict[str, Any]:
        out = dict(entry)
        if entry.get(id_key):
            out[name_key] = pseudonyms.of(str(entry[id_key]))
        return out

    def proposal(entry: Any) -> Any:
        if not isinstance(entry, Mapping):
            return entry
        out = person(entry, "proposed_by", "proposed_by_name")
        for key in ("text", "statement"):
            if isinstance(entry.get(key), str):
                out[key] = text(entry[key])
        if isinstance(entry.get("votes"), list):
            out["votes"] = [
                {**person(vote, "user_id", "display_name"),
                 "reason": text(vote["reason"]) if vote.get("reason") else vote.get("reason")}
                if isinstance(vote, Mapping) else vote
                for vote in entry["votes"]
            ]
        return out

    out = dict(doc)
    out["title"] = text(str(doc.get("title") or ""))
    out["names"] = {user: pseudonyms.of(user) for user in doc.get("names", {})}
    out["items"] = [person(said(item, "text"), "author", "author_name")
                    for item in doc.get("items", [])]
    out["log"] = [
        {**person(said(line, "body"), "sender", "display_name"),
         "reply_to": person(line["reply_to"], "sender", "display_name")
         if line.get("reply_to") else line.get("reply_to")}
        for line in doc.get("log", [])
    ]
    for key in ("participants", "chairs"):
        if isinstance(doc.get(key), list):
            out[key] = [person(p, "user_id", "display_name") for p in doc[key]]
    for key in ("proposals", "consent_rounds"):
        if isinstance(doc.get(key), list):
            out[key] = [proposal(p) for p in doc[key]]
    if isinstance(doc.get("written"), list):
        out["written"] = [
            {**group, "answers": [person(said(a, "body"), "sender", "display_name")
                                  for a in group["answers"]]}
            for group in doc["written"]
        ]
    return out
