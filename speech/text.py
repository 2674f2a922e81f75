"""Text normalisation shared by the intent matcher and the spoken-number reader.

Casefold, strip the diacritics of Latin letters (ș/ş → s, ț/ţ → t, ă/â → a, î → i) and
punctuation. Cyrillic and Hangul are kept as they are written: Bulgarian "й" stays "й" and
Korean syllables stay composed.
"""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^\w]+")


def _is_latin(char: str) -> bool:
    return unicodedata.name(char, "").startswith("LATIN")


def normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept: list[str] = []
    for char in decomposed:
        if unicodedata.combining(char) and kept and _is_latin(kept[-1]):
            continue
        kept.append(char)
    bare = unicodedata.normalize("NFC", "".join(kept))
    return " ".join(_NON_WORD.sub(" ", bare).split())
