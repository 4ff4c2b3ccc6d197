"""Build random-weight but valid Argos packages offline, for tests, benchmarks and demos.

No real model can be downloaded on the machines this project runs on, yet the loading,
pivoting and batching code must run for real. These packages go through the real
``argostranslate.package.install_from_path`` and CTranslate2; their output is deterministic
nonsense. Recipe: SentencePiece vocabulary, CTranslate2 ``TransformerSpec`` filled with seeded
random arrays, a blank spaCy pipeline in ``spacy/`` (sentence splitting without downloads) and
``metadata.json``, zipped as ``translate-<src>_<tgt>-<tag>/...``.
"""

from __future__ import annotations

import io
import json
import random
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_WORDS = (  # noqa: SIM905 - a sentence reads better than a list of 50 words
    "the meeting starts now we vote on the proposal please speak in your language "
    "la réunion commence maintenant nous votons sur la proposition parlez votre langue "
    "la reunión empieza ahora votamos la propuesta hable en su idioma "
    "house server down again thank you hello yes no agenda minutes next item time"
).split()

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed timestamps keep the archive byte-for-byte stable
EOS_ID = 2


@dataclass(frozen=True)
class ModelShape:
    """Size of a generated Transformer."""

    layers: int = 1
    d_model: int = 32
    heads: int = 2
    ffn: int = 64
    vocab_size: int = 120  # SentencePiece pieces; vocab_pad grows the CTranslate2 vocabulary
    vocab_pad: int = 0
    weight_std: float = 0.5
    eos_bias: float = 4.0
    quantization: str | None = None


TINY = ModelShape()
#: Argos-sized: 6+6 layers, d_model 512, 32k vocabulary, int8 (about 94 MB of model.bin).
ARGOS_SIZED = ModelShape(
    layers=6,
    d_model=512,
    heads=8,
    ffn=2048,
    vocab_size=2000,
    vocab_pad=32000 - 2000,
    weight_std=0.02,
    eos_bias=0.0,
    quantization="int8",
)


def _corpus(seed: int, lines: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 14))) for _ in range(lines)]


def _train_sentencepiece(shape: ModelShape, seed: int) -> tuple[bytes, list[str]]:
    """Train a SentencePiece model in memory (no file paths end up in the model proto)."""
    import sentencepiece as spm

    lines = 400 if shape.vocab_size <= 200 else 4000
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_corpus(seed, lines)),
        model_writer=model,
        vocab_size=shape.vocab_size,
        hard_vocab_limit=False,
        normalization_rule_name="identity",
        character_coverage=1.0,
        bos_id=1,
        eos_id=EOS_ID,
        unk_id=0,
        pad_id=-1,
        num_threads=1,  # one thread: training is then deterministic
        shuffle_input_sentence=False,
        minloglevel=2,
    )
    processor = spm.SentencePieceProcessor(model_proto=model.getvalue())
    pieces = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
    return model.getvalue(), pieces


def _weight_shape(name: str, d: int, ffn: int, vocab: int) -> tuple[int, ...] | None:
    """Shape of a CTranslate2 Transformer variable, from its scope name (None: leave unset)."""
    leaf = name.rsplit("/", 1)[-1]
    parent = name.rsplit("/", 2)[-2] if name.count("/") >= 1 else ""
    if "position_encodings" in name:
        return None  # unset means sinusoidal, like OpenNMT models
    if leaf in ("gamma", "beta"):
        return (d,)
    if "embeddings" in name or parent == "projection":
        return (vocab, d) if leaf == "weight" else (vocab,)
    in_attention = "self_attention" in name
    in_cross = "/attention/" in name
    rows = {
        ("self", "linear_0"): 3 * d,
        ("self", "linear_1"): d,
        ("cross", "linear_0"): d,
        ("cross", "linear_1"): 2 * d,
        ("cross", "linear_2"): d,
        ("ffn", "linear_0"): ffn,
        ("ffn", "linear_1"): d,
    }
    kind = "self" if in_attention else "cross" if in_cross else "ffn" if "/ffn/" in name else ""
    out = rows.get((kind, parent))
    if out is None:
        return None
    cols = ffn if (kind, parent) == ("ffn", "linear_1") else d
    return (out, cols) if leaf == "weight" else (out,)


def _build_ct2_model(out: Path, pieces: list[str], shape: ModelShape, seed: int) -> None:
    from ctranslate2.specs import model_spec, transformer_spec

    vocab = pieces + [f"<extra_{i}>" for i in range(shape.vocab_pad)]
    spec = transformer_spec.TransformerSpec.from_config(
        num_layers=shape.layers, num_heads=shape.heads
    )
    rng = np.random.default_rng(seed)

    def fill(layer: Any, name: str, value: Any) -> None:
        leaf = name.rsplit("/", 1)[-1]
        if leaf not in ("weight", "bias", "gamma", "beta"):
            return
        if not (value is None or (isinstance(value, str) and value == "__optional")):
            return
        dims = _weight_shape(name, shape.d_model, shape.ffn, len(vocab))
        if dims is None or ("embeddings" in name and leaf == "bias"):
            return
        if leaf == "gamma":
            array = np.ones(dims, dtype=np.float32)
        elif leaf in ("beta", "bias"):
            array = np.zeros(dims, dtype=np.float32)
            if name.startswith("decoder/projection"):
                array[EOS_ID] = shape.eos_bias  # so that decoding ends
        else:
            array = rng.standard_normal(dims, dtype=np.float32) * shape.weight_std
        setattr(layer, leaf, array)

    model_spec.visit_spec(spec, fill)
    spec.register_source_vocabulary(vocab)
    spec.register_target_vocabulary(vocab)
    spec.validate()
    spec.optimize(quantization=shape.quantization)
    out.mkdir(parents=True, exist_ok=True)
    spec.save(str(out))


def _zip_dir(folder: Path, archive: Path) -> None:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            arcname = str(Path(folder.name) / path.relative_to(folder))
            if path.is_dir():
                continue
            info = zipfile.ZipInfo(arcname, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())


def build_package(
    source: str,
    target: str,
    out_dir: Path,
    *,
    shape: ModelShape = TINY,
    seed: int = 0,
    tag: str = "tiny",
) -> Path:
    """Build ``translate-<source>_<target>-<tag>.argosmodel`` in ``out_dir`` and return its path.

    The same arguments always give the same weights and vocabulary (seeded per pair).
    """
    import spacy

    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"translate-{source}_{target}-{tag}"
    pair_seed = seed + sum(ord(c) for c in source + target) * 7919
    with tempfile.TemporaryDirectory(prefix="meetbot-tiny-") as tmp:
        root = Path(tmp) / name
        root.mkdir()
        sp_model, pieces = _train_sentencepiece(shape, pair_seed)
        (root / "sentencepiece.model").write_bytes(sp_model)
        _build_ct2_model(root / "model", pieces, shape, pair_seed)
        # A blank pipeline: with ARGOS_CHUNK_TYPE=SPACY Argos adds a rule-based sentencizer.
        spacy.blank(source).to_disk(root / "spacy")
        metadata = {
            "package_version": "0.0.1",
            "argos_version": "1.9.0",
            "type": "translate",
            "from_code": source,
            "to_code": target,
            "from_name": source,
            "to_name": target,
            "code": f"{source}_{target}",
            "name": f"{source}→{target} random weights ({tag}, not a real model)",
        }
        (root / "metadata.json").write_text(json.dumps(metadata, indent=2), encoding="utf-8")
        archive = out_dir / f"{name}.argosmodel"
        _zip_dir(root, archive)
    return archive


def build_tiny_package(source: str, target: str, out_dir: Path, *, seed: int = 0) -> Path:
    """A ~120 KB valid package (1 layer, d_model 32) for tests; builds in about a second."""
    return build_package(source, target, out_dir, shape=TINY, seed=seed, tag="tiny")


def build_sized_model(source: str, target: str, out_dir: Path, *, seed: int = 0) -> Path:
    """An Argos-sized package (6+6 layers, d_model 512, 32k vocabulary, int8) for benchmarks."""
    return build_package(source, target, out_dir, shape=ARGOS_SIZED, seed=seed, tag="sized")
