"""Tokenising for one-click query: Chinese has no spaces.

Text is NFKC-normalised and case-folded, then each run of CJK characters becomes its overlapping
bigrams plus its last character (共和新路 → 共和 和新 新路 路), and each run of letters/digits becomes
one word (1234号 → 1234 号). A query term matches when its bigrams occur *consecutively* (a phrase),
so 共和新路 finds 共和新路1234号 but not 共和路…新路; a single CJK character matches as a prefix;
words match whole. Terms are ANDed.

Scope tokens (org_ja05g03) stand for "inside this org unit's subtree", so the full-text index
itself can intersect matches with the caller's subtrees.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from app.errors import ApiError

MAX_QUERY_CHARS = 50          # longer queries are refused (400)
MAX_TERMS = 10                # distinct terms in one query
MAX_WORD_CHARS = 64           # longer Latin/number runs are cut (PostgreSQL lexeme sanity)

# Han ideographs (incl. extension A, compatibility, extension B+), kana, Hangul syllables.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002ebef"
_RUN = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>(?:(?![{_CJK}])[^\W_])+)")
WORD_CHAR = re.compile(rf"(?![{_CJK}])[^\W_]")


def normalise(value: str) -> str:
    """NFKC (full-width → half-width) and case-folded: what tokens and highlights compare."""
    return unicodedata.normalize("NFKC", value).casefold()


def _runs(value: str) -> Iterator[tuple[str, str]]:
    for m in _RUN.finditer(normalise(value or "")):
        if m.group("cjk"):
            yield "cjk", m.group("cjk")
        else:
            yield "word", m.group("word")[:MAX_WORD_CHARS]


def _bigrams(run: str) -> list[str]:
    return [run[i:i + 2] for i in range(len(run) - 1)]


def tokenise(value: str) -> list[str]:
    """The index tokens of a text, in order: CJK bigrams (+ each run's last char) and whole words."""
    tokens: list[str] = []
    for kind, run in _runs(value):
        if kind == "word" or len(run) == 1:
            tokens.append(run)
        else:
            tokens.extend(_bigrams(run))
            tokens.append(run[-1])
    return tokens


@dataclass(frozen=True)
class Term:
    """One query term: a phrase of consecutive bigrams, a one-character prefix, or a whole word."""

    kind: str                 # "phrase" | "prefix" | "word"
    tokens: tuple[str, ...]
    literal: str              # the normalised text it stands for, for highlighting


def parse_query(q: str | None) -> list[Term]:
    """Split a query into terms; 400 when it is empty, too long or has nothing searchable."""
    q = (q or "").strip()
    if not q:
        raise ApiError(400, "query_required", "请输入查询内容", "Enter something to search for")
    if len(q) > MAX_QUERY_CHARS:
        raise ApiError(400, "query_too_long", f"查询内容过长，最多 {MAX_QUERY_CHARS} 个字",
                       f"The query is too long (at most {MAX_QUERY_CHARS} characters)",
                       max_length=MAX_QUERY_CHARS)
    terms: list[Term] = []
    for kind, run in _runs(q):
        if kind == "word":
            term = Term("word", (run,), run)
        elif len(run) == 1:
            term = Term("prefix", (run,), run)
        else:
            term = Term("phrase", tuple(_bigrams(run)), run)
        if term not in terms:
            terms.append(term)
    if not terms:
        raise ApiError(400, "query_unsearchable", "查询内容需包含汉字、字母或数字",
                       "The query needs Chinese characters, letters or digits")
    if len(terms) > MAX_TERMS:
        raise ApiError(400, "query_too_many_terms", f"查询词过多，最多 {MAX_TERMS} 个",
                       f"Too many search terms (at most {MAX_TERMS})", max_terms=MAX_TERMS)
    return terms



def scope_token(path: str) -> str:
    """The index token standing for "inside this org unit's subtree": org_ja05g03.

    tokenise() never yields "_", so no query text can produce or match a scope token.
    """
    code = path.rstrip("/").rsplit("/", 1)[-1]
    return "org_" + re.sub(r"[^0-9a-z]", "", code.lower())


def scope_tokens(org_path: str) -> list[str]:
    """A record's scope tokens: one per ancestor below the district root (and its own unit).

    They let the full-text index itself intersect matches with the caller's subtrees, so a grid
    worker's query never walks the whole district's matches. Scope is still *enforced* by
    app.services.scope.scope_clause on org_path; these tokens only make it fast.
    """
    parts = [p for p in org_path.strip("/").split("/") if p]
    return [scope_token("/".join(parts[:i])) for i in range(2, len(parts) + 1)]


def scope_roots(paths: Iterable[str]) -> list[str] | None:
    """Scope tokens for the query, or None when a root is the whole district (nothing to narrow)."""
    tokens = []
    for path in paths:
        if path.strip("/").count("/") == 0:
            return None
        tokens.append(scope_token(path))
    return tokens
