"""ONLINE: fetch Argos packages from an argospm package index, resumably, and check them.

The index is argospm's ``index.json``: a list of packages, each with ``from_code``,
``to_code``, ``package_version`` and ``links``. An entry may also carry ``size`` (bytes) and
``sha256``; when it does, the download must match them. Its address is argostranslate's own
setting, the ``ARGOS_PACKAGE_INDEX`` environment variable (the base URL, ``index.json`` is
appended), so one variable points both at a mirror or at a test server.

A download goes to ``<models_dir>/.downloads/<package>.argosmodel.part`` and is resumed with an
HTTP ``Range`` request after a cut connection, within the run or in the next one. A finished
file is checked (size, sha256, then that the package opens) before it is installed; a file
that fails its checksum is deleted and fetched once more from the start.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from meetbot.translation.argos_package import PackageError, install_archive
from meetbot.translation.base import TranslationError

INDEX_ENV = "ARGOS_PACKAGE_INDEX"
DEFAULT_INDEX = "https://raw.githubusercontent.com/argosopentech/argospm-index/main/"
DOWNLOADS = ".downloads"
USER_AGENT = "meetbot (Argos package download)"
CHUNK = 256 * 1024
#: Errors of the local disk, which retrying does not cure.
_DISK_ERRORS = {errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EROFS, errno.EDQUOT}
Pair = tuple[str, str]


class DownloadError(TranslationError):
    """A download failed; the message says which package, why, and what remains on disk."""


class Offline(DownloadError):
    """The package index cannot be reached (no network, DNS, refused, timed out)."""


class ChecksumMismatch(DownloadError):
    """A finished download does not match the size or sha256 the index gives."""


def index_url(base: str | None = None) -> str:
    """The index's URL: ``base``, else ``$ARGOS_PACKAGE_INDEX``, else argospm's index."""
    base = base or os.environ.get(INDEX_ENV) or DEFAULT_INDEX
    return base if base.endswith(".json") else base.rstrip("/") + "/index.json"


@dataclass(frozen=True)
class IndexEntry:
    """A package offered by the index."""

    source: str
    target: str
    version: str
    links: tuple[str, ...]
    size: int | None = None
    sha256: str | None = None

    @property
    def label(self) -> str:
        return f"{self.source}→{self.target}"

    @property
    def filename(self) -> str:
        version = re.sub(r"[^0-9A-Za-z]+", "_", self.version) or "0"
        return f"translate-{self.source}_{self.target}-{version}.argosmodel"

    @classmethod
    def parse(cls, raw: Any) -> IndexEntry | None:
        """An entry from the index's JSON; None for one that is not a usable translation."""
        if not isinstance(raw, dict) or raw.get("type", "translate") != "translate":
            return None
        source, target = raw.get("from_code"), raw.get("to_code")
        links = tuple(
            str(link) for link in raw.get("links") or ()
            if urllib.parse.urlparse(str(link)).scheme in ("http", "https")
        )
        if not (isinstance(source, str) and isinstance(target, str) and links):
            return None
        size = raw.get("size")
        sha256 = raw.get("sha256")
        return cls(
            source=source,
            target=target,
            version=str(raw.get("package_version", "")),
            links=links,
            size=size if isinstance(size, int) and size > 0 else None,
            sha256=sha256.lower() if isinstance(sha256, str) and sha256 else None,
        )


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def _is_offline(exc: OSError) -> bool:
    """No answer at all: refused, unreachable, unknown host, timed out."""
    if isinstance(exc, urllib.error.HTTPError):
        return False
    if isinstance(exc, urllib.error.URLError):
        return isinstance(exc.reason, OSError)
    return True


def fetch_index(url: str | None = None, *, timeout: float = 10.0) -> list[IndexEntry]:
    """ONLINE: the packages of the index.

    Raises:
        Offline: the index cannot be reached.
        DownloadError: it answers with an error or with something that is not an index.
    """
    url = index_url(url)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"the Argos package index answered {exc.code} ({url})") from exc
    except OSError as exc:  # URLError included
        if _is_offline(exc):
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            host = urllib.parse.urlparse(url).hostname
            raise Offline(f"cannot reach the Argos package index at {host}: {reason}") from exc
        raise DownloadError(f"cannot read the Argos package index ({url}): {exc}") from exc
    except ValueError as exc:
        raise DownloadError(f"the Argos package index is not valid JSON ({url})") from exc
    if not isinstance(data, list):
        raise DownloadError(f"the Argos package index is not a list of packages ({url})")
    return [entry for entry in map(IndexEntry.parse, data) if entry is not None]


def choose(entries: Iterable[IndexEntry], pairs: Iterable[Pair]) -> dict[Pair, IndexEntry]:
    """The newest package of the index for each pair it offers."""
    best: dict[Pair, IndexEntry] = {}
    wanted = set(pairs)
    for entry in entries:
        pair = (entry.source, entry.target)
        if pair in wanted and (
            pair not in best or _version_key(entry.version) > _version_key(best[pair].version)
        ):
            best[pair] = entry
    return best


# -- one file ------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _megabytes(count: int) -> str:
    if count < 1000:
        return f"{count} bytes"
    return f"{count / 1e3:.1f} kB" if count < 1e6 else f"{count / 1e6:.1f} MB"


@contextlib.contextmanager
def _bar(out: TextIO | None, label: str, total: int | None, initial: int) -> Iterator[Any]:
    """A tqdm bar with size and speed on ``out``; a no-op without ``out``."""
    if out is None:
        yield None
        return
    from tqdm import tqdm

    live = bool(getattr(out, "isatty", lambda: False)())
    sizes = "{n_fmt}B/{total_fmt}B" if total else "{n_fmt}B"
    with tqdm(
        total=total, initial=initial, desc=f"  {label}", unit="B", unit_scale=True,
        unit_divisor=1000, file=out, leave=True, mininterval=0.2 if live else 5.0,
        ascii=not live, dynamic_ncols=live,
        bar_format="{l_bar}{bar}| " + sizes + " [{elapsed}<{remaining}, {rate_fmt}]"
        if total else "{desc}: " + sizes + " [{elapsed}, {rate_fmt}]",
    ) as bar:
        yield bar


class _Attempt:
    """One HTTP request that continues ``part`` from where it stops."""

    def __init__(self, url: str, part: Path, timeout: float) -> None:
        self.url, self.part, self.timeout = url, part, timeout
        self.total: int | None = None  # the whole file's size, when the server says it

    def run(self, entry: IndexEntry, out: TextIO | None) -> None:
        have = self.part.stat().st_size if self.part.exists() else 0
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if have:
            headers["Range"] = f"bytes={have}-"
        request = urllib.request.Request(self.url, headers=headers)
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:  # nothing after `have`: complete, or longer than it is
                self.total = entry.size or have
                return
            raise
        with response:
            length = response.headers.get("Content-Length")
            if response.status == 206:
                match = re.match(
                    r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", "")
                )
                if not match or int(match.group(1)) != have:
                    raise DownloadError(f"{self.url} resumed at the wrong place")
                self.total = int(match.group(2)) if match.group(2) != "*" else None
                mode = "ab"
            else:  # the whole file again: the server ignores Range
                have = 0
                self.total = int(length) if length and length.isdigit() else None
                mode = "wb"
            if self.total is None and length and length.isdigit():
                self.total = have + int(length)
            self.total = self.total or entry.size
            if entry.size and self.total and self.total != entry.size:
                raise ChecksumMismatch(
                    f"{entry.filename}: the server has {self.total} bytes, the index says "
                    f"{entry.size}"
                )
            with self.part.open(mode) as handle, _bar(out, entry.label, self.total, have) as bar:
                while True:
                    block = response.read(CHUNK)
                    if not block:
                        break
                    handle.write(block)
                    if bar is not None:
                        bar.update(len(block))
        got = self.part.stat().st_size
        if self.total is not None and got < self.total:
            raise http.client.IncompleteRead(b"", self.total - got)


def download(
    entry: IndexEntry,
    directory: Path,
    *,
    out: TextIO | None = None,
    attempts: int = 5,
    timeout: float = 30.0,
    pause: Callable[[float], None] = time.sleep,
) -> Path:
    """ONLINE: download ``entry`` into ``directory``, resuming a partial file; return its path.

    A cut connection is resumed (``Range``) up to ``attempts`` times per link, then the next
    link is tried. The partial file stays for a later run unless it is known to be wrong.

    Raises:
        ChecksumMismatch: the finished file's size or sha256 is not the index's (deleted).
        DownloadError: every attempt failed; says how far it got.
    """
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / entry.filename
    part = directory / (entry.filename + ".part")
    if final.exists():
        final.rename(part)  # a file left by an earlier run: checked like a fresh one
    if entry.size and part.exists() and part.stat().st_size > entry.size:
        part.unlink()
    problem: BaseException | None = None
    for url in entry.links:
        for attempt in range(1, attempts + 1):
            fetch = _Attempt(url, part, timeout)
            try:
                fetch.run(entry, out)
            except KeyboardInterrupt:
                if out is not None and part.exists():
                    print(f"\n  {entry.label}: interrupted; the next run resumes this download",
                          file=out, flush=True)
                raise
            except urllib.error.HTTPError as exc:
                problem = exc
                if exc.code in (404, 410, 403):
                    break  # this link will not get better
            except ChecksumMismatch:
                part.unlink(missing_ok=True)
                raise
            except (OSError, http.client.HTTPException, DownloadError) as exc:
                if isinstance(exc, OSError) and exc.errno in _DISK_ERRORS:
                    raise DownloadError(f"cannot write {part}: {exc.strerror}") from exc
                problem = exc
            else:
                _verify(entry, part, fetch.total)
                part.rename(final)
                return final
            got = part.stat().st_size if part.exists() else 0
            if out is not None and attempt < attempts:
                print(
                    f"  {entry.label}: the connection broke at {_megabytes(got)} "
                    f"({_reason(problem)}); resuming, attempt {attempt + 1} of {attempts}",
                    file=out, flush=True,
                )
            if attempt < attempts:
                pause(min(2.0 ** (attempt - 1), 10.0))
    got = part.stat().st_size if part.exists() else 0
    kept = f"; {_megabytes(got)} kept in {part} for the next run" if got else ""
    raise DownloadError(
        f"could not download {entry.filename} ({_reason(problem)}){kept}"
    )


def _reason(exc: BaseException | None) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    if isinstance(exc, http.client.IncompleteRead):
        return "the server closed the connection early"
    return str(exc) or type(exc).__name__


def _verify(entry: IndexEntry, part: Path, total: int | None) -> None:
    got = part.stat().st_size
    expected = entry.size or total
    if expected is not None and got != expected:
        part.unlink()
        raise ChecksumMismatch(
            f"{entry.filename}: {got} bytes downloaded, {expected} expected; the file was deleted"
        )
    if entry.sha256:
        actual = _sha256(part)
        if actual != entry.sha256:
            part.unlink()
            raise ChecksumMismatch(
                f"{entry.filename} does not match its checksum (sha256 {actual[:12]}…, the "
                f"index says {entry.sha256[:12]}…); the file was deleted"
            )


# -- packages into a models directory -------------------------------------------------------


@dataclass(frozen=True)
class Fetched:
    """What :func:`fetch_packages` installed."""

    pairs: list[Pair]
    bytes: int


def fetch_packages(
    models_dir: Path,
    pairs: Iterable[Pair],
    *,
    index: str | None = None,
    out: TextIO | None = None,
    attempts: int = 5,
    timeout: float = 30.0,
    pause: Callable[[float], None] = time.sleep,
    entries: list[IndexEntry] | None = None,
) -> Fetched:
    """ONLINE: download, check and install the packages of ``pairs`` into ``models_dir``.

    Each archive is deleted once installed. ``entries`` saves a second look at the index.

    Raises:
        Offline: the index cannot be reached.
        DownloadError: the index offers no package for a pair, or a package cannot be fetched
            or does not open (the packages installed before it stay).
    """
    pairs = list(dict.fromkeys(pairs))
    if entries is None:
        entries = fetch_index(index, timeout=min(timeout, 10.0))
    offered = choose(entries, pairs)
    missing = [f"{s}→{t}" for s, t in pairs if (s, t) not in offered]
    if missing:
        raise DownloadError(f"the Argos package index offers no package for {', '.join(missing)}")
    downloads = models_dir / DOWNLOADS
    total = 0
    for pair in pairs:
        entry = offered[pair]
        for last_try in (False, True):
            try:
                archive = download(
                    entry, downloads, out=out, attempts=attempts, timeout=timeout, pause=pause
                )
                break
            except ChecksumMismatch as exc:
                if last_try:
                    raise
                if out is not None:
                    print(f"  {exc}; downloading it again", file=out, flush=True)
        total += archive.stat().st_size
        try:
            install_archive(archive, models_dir)
        except PackageError as exc:
            archive.unlink(missing_ok=True)
            raise DownloadError(f"the downloaded {exc} (the file was deleted)") from exc
        archive.unlink()
    with contextlib.suppress(OSError):
        downloads.rmdir()
    return Fetched(pairs, total)
