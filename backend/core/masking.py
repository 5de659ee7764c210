"""Masking phone and resident ID numbers inside free text: notes, reasons, complaints, log lines, cells.

One function, ``mask_text``, used at every boundary where text leaves for many eyes: events on the sockets,
log records, spreadsheet exports. Numbers are found however people type them: with spaces, dashes, dots,
plus signs or slashes between the groups, in brackets, with +86 or 0086, URL-encoded, or in full-width digits
(１３８…); besides a few patterns for the common shapes, libphonenumber's matcher finds every other number
valid in China. The rest of the text is left exactly as it was.
"""

from __future__ import annotations

import re

import phonenumbers

# Full-width forms folded one character for one, so positions in the folded text are positions in the original.
_FOLD = str.maketrans(
    {chr(0xFF10 + digit): str(digit) for digit in range(10)}
    | {"＋": "+", "－": "-", "（": "(", "）": ")", "．": ".", "／": "/", "　": " ", "Ｘ": "X", "ｘ": "x"}
)
_SEP = r"(?:[-. +/_]|%20|%2D|%2B|%2F)?"  # what people put between digit groups, raw or URL-encoded
_ID_NUMBER = re.compile(rf"(?<![0-9A-Za-z])(\d{{4}})\d{{2}}{_SEP}\d{{8}}{_SEP}(\d{{3}}[0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(rf"(?<!\d)(?:(?:\+|%2B|00)?86{_SEP})?\(?(1[3-9]\d)\)?{_SEP}\d{{4}}{_SEP}(\d{{4}})(?!\d)")
_LANDLINE = re.compile(rf"(?<!\d)\(?(0\d{{2,3}})\)?{_SEP}\d{{3,4}}{_SEP}(\d{{4}})(?!\d)")
# Worth asking libphonenumber about: a run of at least seven digits, with the punctuation numbers are written with.
_CANDIDATE = re.compile(r"\d(?:[\d\s().+\-/]*\d){6,}")
# A date or time and nothing else (events and logs are full of them): nothing to mask.
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?")


def mask_text(text: str) -> str:
    """The text with every phone and resident ID number in it masked (138****0001, 3205**********7516)."""
    if not any(ch.isdigit() for ch in text) or _TIMESTAMP.fullmatch(text):
        return text
    folded = text.translate(_FOLD)
    spans: list[tuple[int, int, str]] = []
    for pattern in (_ID_NUMBER, _MOBILE, _LANDLINE):
        for match in pattern.finditer(folded):
            head, tail = match.group(1), match.group(2)
            stars = "*" * 10 if pattern is _ID_NUMBER else "****"
            spans.append((match.start(), match.end(), f"{head}{stars}{tail}"))
        folded = _blank(folded, spans)
    if _CANDIDATE.search(folded):
        for found in phonenumbers.PhoneNumberMatcher(folded, "CN"):
            national = phonenumbers.national_significant_number(found.number)
            spans.append((found.start, found.end, f"{national[:3]}****{national[-4:]}"))
    if not spans:
        return text
    out, last = [], 0
    for start, end, replacement in sorted(spans):
        out.append(text[last:start])
        out.append(replacement)
        last = end
    out.append(text[last:])
    return "".join(out)


def _blank(folded: str, spans: list[tuple[int, int, str]]) -> str:
    """The folded text with the spans found so far starred out (same length), so no later pattern sees them."""
    chars = list(folded)
    for start, end, _ in spans:
        chars[start:end] = "*" * (end - start)
    return "".join(chars)


def mask_values(value: object) -> object:
    """Every string inside a JSON-like value masked (dicts, lists, tuples walked); other values as they are."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: mask_values(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_values(item) for item in value]
    return value
