"""Idea families across regions and languages: per prompt, the ideas, decisions and
most-endorsed messages of every region, grouped by what they say.

Each contribution is read in the coordinator's language (its translation in the minutes
data; the original where there is none), turned into TF-IDF vectors of words and of
character n-grams (accents folded, lower case), and grouped by agglomerative clustering
(average linkage on cosine distance, cut at :data:`DISTANCE_THRESHOLD`). Nothing is random:
the same record gives the same families. A family lists its regions, its size and the two or
three contributions closest to its centroid; contributions alone in their group are
"unclustered".

Works on the documents the report is built from: withdrawn and opted-out words are already
gone from them, and a pseudonymous report passes pseudonymous documents.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from meetbot.minutes.by_prompt import TOP_ENDORSED, prompt_of_lines
from meetbot.research.dataset import HeldMeeting
from meetbot.waiting import freeze_long_lived

KINDS = ("idea", "decision")
# Cosine distance (1 − cosine similarity) at which clustering stops merging groups: two
# groups join while their average distance is below it.
DISTANCE_THRESHOLD = 0.75
WORD_WEIGHT = 0.5  # share of the word vector in the combined one (the rest: char n-grams)
QUOTES = 3
BLOCK = 512  # rows of the distance matrix computed at a time (sparse path)
DENSE_COLUMNS = 2048  # the most shared features, multiplied densely (the rest sparsely)
TERMS = 3  # the words weighing most in a family's centre, as its name
METHOD = {
    "vectors": "tf-idf, words (1-2) + characters (3-5, within words), accents folded",
    "clustering": "agglomerative, average linkage, cosine distance",
    "distance_threshold": DISTANCE_THRESHOLD,
}


@dataclass
class Contribution:
    """One idea, decision or most-endorsed message, where it was said and in which words."""

    region: str
    meeting_id: str
    number: int
    line: int
    kind: str  # "idea", "decision" or "endorsed"
    text: str
    language: str | None
    translations: dict[str, str] = field(default_factory=dict)
    author_name: str = ""
    count: int | None = None  # endorsements

    def read_as(self, language: str) -> str:
        """The text in ``language``: its translation, else the original."""
        return self.translations.get(language) or self.text

    def as_dict(self) -> dict[str, Any]:
        out = {"region": self.region, "meeting_id": self.meeting_id, "number": self.number,
               "line": self.line, "kind": self.kind, "text": self.text,
               "language": self.language, "translations": dict(self.translations),
               "author_name": self.author_name}
        if self.count is not None:
            out["count"] = self.count
        return out


def contributions(meetings: Sequence[HeldMeeting]) -> dict[str, list[Contribution]]:
    """Per prompt id, its ideas, decisions and most-endorsed messages, region by region
    (a message both tagged and endorsed counts once, as its item)."""
    return gathered(meeting_contributions(held) for held in meetings)


MeetingContributions = tuple[tuple[str, int, str], list[tuple[str, Contribution]]]


def meeting_contributions(held: HeldMeeting) -> MeetingContributions:
    """What :func:`contributions` takes of one meeting (small beside its minutes document),
    with the key that puts the meetings in order; a record read one meeting at a time keeps
    only these and groups them with :func:`gathered`."""
    kept: list[tuple[str, Contribution]] = []
    seen: set[int] = set()
    for prompt_id, contribution in _of_meeting(held):
        if prompt_id and contribution.text.strip() and contribution.line not in seen:
            seen.add(contribution.line)
            kept.append((prompt_id, contribution))
    return (held.row.region_id, held.number, held.doc["meeting_id"]), kept


def gathered(parts: Iterable[MeetingContributions]) -> dict[str, list[Contribution]]:
    """Per prompt id, the contributions of every meeting, region by region."""
    found: dict[str, list[Contribution]] = {}
    for _key, kept in sorted(parts, key=lambda part: part[0]):
        for prompt_id, contribution in kept:
            found.setdefault(prompt_id, []).append(contribution)
    return found


def _of_meeting(held: HeldMeeting) -> list[tuple[str | None, Contribution]]:
    doc = held.doc
    names = doc.get("names", {})
    where = {"region": held.row.region_id, "meeting_id": doc["meeting_id"],
             "number": held.number}
    out: list[tuple[str | None, Contribution]] = []
    for item in doc.get("items", []):
        if item["kind"] in KINDS:
            out.append((item.get("prompt_id"), Contribution(
                **where, line=int(item.get("log_line") or -item["n"]), kind=item["kind"],
                text=str(item.get("text") or ""), language=item.get("language"),
                translations=dict(item.get("translations") or {}),
                author_name=str(item.get("author_name") or ""))))
    lines = prompt_of_lines(doc)
    log = {line["line"]: line for line in doc.get("log", [])}
    shown: dict[str, int] = {}
    for endorsement in doc.get("endorsements", []):
        line = log.get(endorsement["line"])
        prompt_id = lines.get(endorsement["line"])
        if line is None or prompt_id is None or shown.get(prompt_id, 0) >= TOP_ENDORSED:
            continue
        shown[prompt_id] = shown.get(prompt_id, 0) + 1
        out.append((prompt_id, Contribution(
            **where, line=int(line["line"]), kind="endorsed", text=str(line.get("body") or ""),
            language=line.get("language"), translations=dict(line.get("translations") or {}),
            author_name=str(names.get(line["sender"], line.get("display_name") or "")),
            count=int(endorsement["count"]))))
    return out


@cache
def _load_libraries() -> None:
    """scikit-learn and SciPy, loaded on the first clustering: ~55,000 objects there for
    good, taken out of the collector's full passes."""
    import scipy.sparse  # noqa: F401
    import sklearn.cluster
    import sklearn.feature_extraction.text
    import sklearn.preprocessing  # noqa: F401

    freeze_long_lived()


def vectors(texts: Sequence[str]) -> Any:
    """Rows of unit length: TF-IDF of words and of character n-grams, side by side."""
    _load_libraries()
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    words = TfidfVectorizer(strip_accents="unicode", lowercase=True, ngram_range=(1, 2),
                            sublinear_tf=True, token_pattern=r"(?u)\b\w\w+\b")
    chars = TfidfVectorizer(strip_accents="unicode", lowercase=True, analyzer="char_wb",
                            ngram_range=(3, 5), sublinear_tf=True)
    try:
        by_word = words.fit_transform(texts)
    except ValueError:  # no word of two letters or more anywhere
        by_word = None
    by_char = chars.fit_transform(texts)
    parts = [by_char * (1 - WORD_WEIGHT) ** 0.5]
    if by_word is not None:
        parts.insert(0, by_word * WORD_WEIGHT ** 0.5)
    return normalize(hstack(parts).tocsr()), (words.get_feature_names_out()
                                              if by_word is not None else [])


def cluster(matrix: Any, threshold: float = DISTANCE_THRESHOLD) -> list[int]:
    """A group number per row (deterministic): average linkage on cosine distance."""
    import numpy as np
    from sklearn.cluster import AgglomerativeClustering

    count = matrix.shape[0]
    if count < 2:
        return [0] * count
    # Cosine similarities into one float32 array (n² × 4 bytes), then distances. The rows
    # are already of unit length, so a column held by one row only adds to no product
    # between two rows: it is left out. The most widely shared columns (short character
    # n-grams, common words), which make a sparse product slow, go through one dense BLAS
    # product; the rest, each in few rows, through a sparse one, row block by row block.
    by_column = matrix.tocsc()
    shared = np.diff(by_column.indptr)
    columns = np.flatnonzero(shared >= 2)
    order = np.argsort(-shared[columns], kind="stable")
    wide, narrow = np.sort(columns[order[:DENSE_COLUMNS]]), np.sort(columns[order[DENSE_COLUMNS:]])
    dense = by_column[:, wide].astype(np.float32).toarray()
    distance = dense @ dense.T
    del dense
    if len(narrow):
        rest = by_column[:, narrow].astype(np.float32).tocsr()
        rest_t = rest.T.tocsc()
        for start in range(0, count, BLOCK):
            distance[start:start + BLOCK] += (rest[start:start + BLOCK] @ rest_t).toarray()
    np.subtract(1.0, distance, out=distance)
    np.clip(distance, 0.0, 2.0, out=distance)
    np.fill_diagonal(distance, 0.0)
    model = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                    distance_threshold=threshold)
    return [int(label) for label in model.fit_predict(distance)]


def group(items: Sequence[Contribution], language: str,
          threshold: float = DISTANCE_THRESHOLD) -> dict[str, Any]:
    """One prompt's families (largest first) and its unclustered contributions."""
    import numpy as np

    if not items:
        return {"families": [], "unclustered": []}
    texts = [c.read_as(language) for c in items]
    matrix, terms = vectors(texts)
    labels = cluster(matrix, threshold)
    members: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        members.setdefault(label, []).append(index)
    groups = sorted(members.values(), key=lambda rows: (-len(rows), rows[0]))
    families, unclustered = [], []
    for rows in groups:
        if len(rows) == 1:
            unclustered.append(items[rows[0]].as_dict())
            continue
        block = matrix[rows]
        centroid = np.asarray(block.mean(axis=0)).ravel()
        closeness = block @ centroid
        ranked = sorted(range(len(rows)), key=lambda i: (-round(float(closeness[i]), 9), i))
        regions = sorted({items[r].region for r in rows})
        top = _top_terms(centroid[:len(terms)], terms)
        families.append({
            "size": len(rows),
            "terms": [str(terms[i]) for i in top],
            "regions": regions,
            "quotes": [items[rows[i]].as_dict() for i in ranked[:QUOTES]],
            "members": [{"region": items[r].region, "meeting_id": items[r].meeting_id,
                         "line": items[r].line, "kind": items[r].kind} for r in rows],
        })
    return {"families": families, "unclustered": unclustered}


def _top_terms(weights: Any, terms: Sequence[str]) -> list[int]:
    """The TERMS terms weighing most in a family's centre, without small words ("for")."""
    import numpy as np
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    present = np.flatnonzero(weights > 0)
    ranked = sorted(present[np.argsort(-weights[present], kind="stable")[:TERMS * 10]],
                    key=lambda i: (-round(float(weights[i]), 9), str(terms[i])))
    return [int(i) for i in ranked if all(len(w) > 2 and w not in ENGLISH_STOP_WORDS
                                          for w in str(terms[i]).split())][:TERMS]


def idea_families(
    meetings: Sequence[HeldMeeting], prompt_ids: Sequence[str], language: str,
    threshold: float = DISTANCE_THRESHOLD,
) -> list[dict[str, Any]]:
    """Per prompt (in the report's order), its families, each with a unique id."""
    return families_of(contributions(meetings), prompt_ids, language, threshold)


def families_of(
    found: dict[str, list[Contribution]], prompt_ids: Sequence[str], language: str,
    threshold: float = DISTANCE_THRESHOLD,
) -> list[dict[str, Any]]:
    """:func:`idea_families` of contributions already gathered (:func:`gathered`)."""
    order = list(prompt_ids) + sorted(set(found) - set(prompt_ids))
    out = []
    for number, prompt_id in enumerate(order, 1):
        grouped = group(found.get(prompt_id, []), language, threshold)
        for n, family in enumerate(grouped["families"], 1):
            family["id"] = f"family-{number}-{n}"
        out.append({"prompt_id": prompt_id, **grouped})
    return out



__all__ = ["DISTANCE_THRESHOLD", "METHOD", "Contribution", "cluster", "contributions",
           "families_of", "gathered", "group", "idea_families", "meeting_contributions",
           "vectors"]
