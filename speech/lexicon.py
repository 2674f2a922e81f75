"""A Vosk model's own vocabulary, read from its files: where decoys are drawn from.

Kaldi models list their words in `graph/words.txt`; small Vosk models such as the Korean
one ship without it, but their grammar FST (`graph/Gr.fst`, or `graph/HCLG.fst`) carries the
same table as its input symbols, in OpenFst's binary header. Either is read once per model
folder. Only words of letters are kept (no "<UNK>", "!SIL", "#0", digits or punctuation).
"""

from __future__ import annotations

import struct
from functools import cache
from pathlib import Path
from typing import BinaryIO

FST_MAGIC = 2125659606
SYMBOLS_MAGIC = 2125658996
HAS_INPUT_SYMBOLS = 1


class LexiconError(ValueError):
    """A model folder whose vocabulary cannot be read."""


@cache
def words(model_dir: Path) -> tuple[str, ...]:
    """The model's ordinary words, in the order its files list them."""
    graph = model_dir / "graph"
    listed = graph / "words.txt"
    if listed.is_file():
        raw = [line.split()[0] for line in listed.read_text("utf-8").splitlines() if line.strip()]
    else:
        fst = next((graph / n for n in ("Gr.fst", "HCLG.fst") if (graph / n).is_file()), None)
        if fst is None:
            raise LexiconError(f"{graph}: no words.txt, Gr.fst or HCLG.fst to read words from")
        with fst.open("rb") as stream:
            raw = _fst_symbols(stream, fst)
    return tuple(w for w in raw if w.isalpha())


def _fst_symbols(stream: BinaryIO, path: Path) -> list[str]:
    """The input symbol table stored in an OpenFst file's header."""
    try:
        if _int32(stream) != FST_MAGIC:
            raise LexiconError(f"{path}: not an OpenFst file")
        _string(stream), _string(stream)  # the FST's type and arc type
        _version, flags = struct.unpack("<ii", stream.read(8))
        stream.read(32)  # properties, start state, number of states, number of arcs
        if not flags & HAS_INPUT_SYMBOLS or _int32(stream) != SYMBOLS_MAGIC:
            raise LexiconError(f"{path}: the FST carries no word list")
        _string(stream)  # the table's name
        _available, size = struct.unpack("<qq", stream.read(16))
        symbols = []
        for _ in range(size):
            symbols.append(_string(stream).decode("utf-8"))
            stream.read(8)  # the symbol's key
        return symbols
    except (struct.error, UnicodeDecodeError) as error:
        raise LexiconError(f"{path}: a damaged word list ({error})") from None


def _int32(stream: BinaryIO) -> int:
    return int(struct.unpack("<i", stream.read(4))[0])


def _string(stream: BinaryIO) -> bytes:
    return stream.read(_int32(stream))
