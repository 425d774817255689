"""Snippets: HTML-safe text around the first match, matches wrapped in <em>…</em>, mobiles masked."""

from __future__ import annotations

import re
import unicodedata

from markupsafe import escape

from app.services.crypto import mask_mobile
from app.services.search.tokens import WORD_CHAR, Term, normalise

SNIPPET_CHARS = 60
HIGHLIGHT_PRE, HIGHLIGHT_POST = "<em>", "</em>"
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _normalised_with_map(value: str) -> tuple[str, list[int]]:
    """normalise(value) char by char, with each output char's index in value."""
    if unicodedata.is_normalized("NFKC", value):
        folded = value.casefold()  # case-folding never merges characters
        if len(folded) == len(value):
            return folded, list(range(len(value)))  # the usual case: one char for one char
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(value):
        for n in normalise(ch):
            out.append(n)
            index.append(i)
    return "".join(out), index


def highlight_spans(value: str, terms: list[Term]) -> list[tuple[int, int]]:
    """Where the terms occur in value: merged (start, end) spans in value's own indices."""
    norm, index = _normalised_with_map(value)
    spans = []
    for term in terms:
        start = norm.find(term.literal)
        while start != -1:
            end = start + len(term.literal)
            whole = term.kind != "word" or (
                (start == 0 or not WORD_CHAR.match(norm[start - 1]))
                and (end == len(norm) or not WORD_CHAR.match(norm[end])))
            if whole:
                spans.append((index[start], index[end - 1] + 1))
            start = norm.find(term.literal, start + 1)
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def _mask_mobiles(value: str) -> str:
    """Mobile numbers in free text are personal data: shown masked (same length, so spans hold)."""
    return _MOBILE.sub(lambda m: mask_mobile(m.group()), value)


def snippet(doc, terms: list[Term], width: int = SNIPPET_CHARS) -> str:
    """HTML-safe text around the first match, matches wrapped in <em>…</em>.

    Taken from the field where most terms occur (address, then text, then title on a tie).
    """
    best = None
    for field in ("address", "text", "title"):
        value = getattr(doc, field) or ""
        spans = highlight_spans(value, terms)
        found = sum(1 for t in terms if any(normalise(value[s:e]).find(t.literal) != -1 for s, e in spans))
        if best is None or found > best[0]:
            best = (found, value, spans)
    _, value, spans = best
    if not value:
        value = doc.address or doc.text or doc.title or ""
    value = _mask_mobiles(value)
    start = max(0, spans[0][0] - width // 3) if spans else 0
    end = min(len(value), start + width)
    start = max(0, min(start, end - width))
    parts = ["…" if start > 0 else ""]
    cursor = start
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        parts.append(str(escape(value[cursor:s])))
        parts.append(HIGHLIGHT_PRE + str(escape(value[s:e])) + HIGHLIGHT_POST)
        cursor = e
    parts.append(str(escape(value[cursor:end])))
    parts.append("…" if end < len(value) else "")
    return "".join(parts)
