"""A lexical scan of DuckDB SQL: names and statement boundaries, without importing DuckDB.

Strings (``'…'``, ``E'…'``, ``$tag$…$tag$``) and comments (``--``, nested ``/* */``) are skipped, so a
``;`` or a table name inside them counts for nothing. This is not a parser: DuckDB's own parser has the
last word when a pipeline runs; the scan answers the cheap questions ``validate`` asks before that.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

# Plain character classes only: explicit wide Unicode ranges make the pattern slow to compile at start-up.
_TOKEN = re.compile(r"""\s+|--[^\n]*|/\*|'|"|\$(?:[^\W\d]\w*)?\$|[^\W\d][\w$]*|.""", re.DOTALL)
_WORD_START = re.compile(r"[^\W\d]")

#: First words of a statement that reads and returns rows.
QUERY_WORDS = frozenset(
    {"SELECT", "WITH", "FROM", "VALUES", "TABLE", "PIVOT", "UNPIVOT", "DESCRIBE", "SHOW", "SUMMARIZE"}
)


#: A word or punctuation character, and whether it was a ``"quoted"`` identifier (``""`` unescaped).
Token = tuple[str, bool]


def tokens(sql: str) -> Iterator[Token]:
    """The words, quoted identifiers and punctuation of ``sql``; strings, comments and spaces dropped."""
    for text, quoted, _ in _scan(sql):
        if text is not None:
            yield text, quoted


def without_trailing_semicolons(sql: str) -> str:
    """``sql`` cut after its last token that is not ``;``: trailing semicolons, comments and spaces removed.

    So that a query can be wrapped as a subquery: ``SELECT 1; -- done`` becomes ``SELECT 1``.
    """
    end = 0
    for text, quoted, stop in _scan(sql):
        if text != ";" or quoted:
            end = stop
    return sql[:end]


def _scan(sql: str) -> Iterator[tuple[str | None, bool, int]]:
    """Each token of ``sql`` as ``(text, quoted, end)``; a string literal is ``(None, False, end)``.

    Spaces and comments are skipped.
    """
    i, end = 0, len(sql)
    while i < end:
        match = _TOKEN.match(sql, i)
        assert match is not None  # the last alternative matches any character
        text = match.group()
        i = match.end()
        if text == "/*":
            i = _block_comment_end(sql, i)
        elif text == "'":
            escaped = _ends_with_e_prefix(sql, match.start())
            i = _string_end(sql, i, escaped)
            yield None, False, i
        elif text == '"':
            close = i
            while True:
                close = sql.find('"', close)
                if close == -1 or not sql.startswith('"', close + 1):
                    break
                close += 2
            stop = end if close == -1 else close
            literal = sql[i:stop].replace('""', '"')
            i = end if close == -1 else close + 1
            yield literal, True, i
        elif text.startswith("$") and text.endswith("$") and len(text) > 1:
            close = sql.find(text, i)
            i = end if close == -1 else close + len(text)
            yield None, False, i
        elif text.isspace() or text.startswith("--"):
            continue
        elif text in ("e", "E") and sql.startswith("'", i):
            continue  # the E of E'…': the string comes next
        else:
            yield text, False, i


def _ends_with_e_prefix(sql: str, quote: int) -> bool:
    if quote == 0 or sql[quote - 1] not in "eE":
        return False
    return quote == 1 or not (sql[quote - 2].isalnum() or sql[quote - 2] in "_$")


def _string_end(sql: str, i: int, escaped: bool) -> int:
    end = len(sql)
    while i < end:
        char = sql[i]
        if escaped and char == "\\":
            i += 2
        elif char == "'":
            if sql.startswith("'", i + 1):
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return end


def _block_comment_end(sql: str, i: int) -> int:
    depth, end = 1, len(sql)
    while i < end and depth:
        if sql.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif sql.startswith("*/", i):
            depth, i = depth - 1, i + 2
        else:
            i += 1
    return i


@functools.lru_cache(maxsize=1024)
def names(sql: str) -> frozenset[str]:
    """Identifiers (quoted as written, bare both as written and lower-cased) that appear in ``sql``."""
    found: set[str] = set()
    for text, quoted in tokens(sql):
        if quoted:
            found.add(text)
        elif _WORD_START.match(text):
            found.add(text)
            found.add(text.lower())
    return frozenset(found)


def statement_words(sql: str) -> list[str]:
    """The first word of each non-empty statement in ``sql``, upper-cased (``"("`` when it opens with one)."""
    firsts: list[str] = []
    expecting = True
    for text, quoted in tokens(sql):
        if text == ";" and not quoted:
            expecting = True
        elif expecting:
            firsts.append(text if quoted else text.upper())
            expecting = False
    return firsts


def query_problem(sql: str) -> str | None:
    """Why ``sql`` is lexically not one query (statement count or first word), else ``None``."""
    firsts = statement_words(sql)
    if len(firsts) == 1:
        if firsts[0] == "(" or firsts[0] in QUERY_WORDS:
            return None
        return f"a transform is one SELECT query; this one starts with {firsts[0]}"
    found = ", ".join(firsts) or "nothing"
    return f"a transform is one SELECT query; found {len(firsts)} statement(s): {found}"
