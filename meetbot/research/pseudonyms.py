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
from pathlib import Path

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
