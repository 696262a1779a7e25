"""Customer text as the NLU sees it: NFKC-normalised, with offsets back into what was typed.

    normalize_with_offsets("Ａ１２３４５ ok")  -> ("A12345 ok", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])

The normalisation is nordvik.text.normalize (NFKC without control characters), applied to each
character together with the combining marks that follow it, so every output character can be
traced to the input character it came from. Tokens and entities computed on the normalised text
keep start/end offsets into the original text.
"""

from __future__ import annotations

import unicodedata

from nordvik.text import normalize


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters plus one past the end, the offset
    in `text` where it starts (the last entry is len(text))."""
    pieces: list[str] = []
    offsets: list[int] = []
    start = 0
    length = len(text)
    while start < length:
        end = start + 1
        while end < length and unicodedata.combining(text[end]):
            end += 1
        piece = normalize(text[start:end])
        pieces.append(piece)
        offsets.extend([start] * len(piece))
        start = end
    offsets.append(length)
    return "".join(pieces), offsets


def original_span(offsets: list[int], start: int, end: int) -> tuple[int, int]:
    """The span in the original text of the normalised characters [start, end)."""
    if end <= start:
        return offsets[start], offsets[start]
    last = offsets[end - 1]
    # The original end is where the next normalised character starts (or the text ends),
    # never before the last character's own start.
    following = next((o for o in offsets[end:] if o > last), offsets[-1])
    return offsets[start], following
