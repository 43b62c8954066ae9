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


#: A table a query reads, as ``(catalog, schema, table)``; an empty string where the name does not say.
TableRef = tuple[str, str, str]

#: Words after which ``(`` opens a subquery, a list or a grouping, not a function's arguments.
_NOT_FUNCTIONS = frozenset(
    {
        "ALL", "AND", "ANY", "AS", "BETWEEN", "BY", "CASE", "DISTINCT", "ELSE", "EXCEPT", "EXISTS", "FROM", "HAVING",
        "IN", "INTERSECT", "IS", "JOIN", "LATERAL", "LIKE", "ILIKE", "MATERIALIZED", "NOT", "ON", "OR", "QUALIFY",
        "RECURSIVE", "SELECT", "SOME", "TABLE", "THEN", "UNION", "USING", "VALUES", "WHEN", "WHERE", "WITH",
    }
)  # fmt: skip
#: Words that end a ``FROM`` list: after them a comma no longer separates tables.
_FROM_ENDS = frozenset(
    {
        "EXCEPT", "GROUP", "HAVING", "INTERSECT", "LIMIT", "OFFSET", "ORDER", "QUALIFY", "SELECT", "UNION",
        "WHERE", "WINDOW", "VALUES",
    }
)  # fmt: skip
#: Words that start a statement reading one table named right after them.
_TABLE_WORDS = frozenset({"TABLE", "DESCRIBE", "SUMMARIZE", "SHOW", "PIVOT", "UNPIVOT"})


class _Frame:
    """What the scan knows of one level of parentheses."""

    __slots__ = ("cte", "cte_names", "expect", "function", "in_from", "recursive", "selected", "shadow")

    def __init__(self, shadow: frozenset[str], *, function: bool = False, expect: bool = False) -> None:
        self.shadow = shadow  # CTE names (name_key) that hide a table of the same name here
        self.function = function  # a function's arguments: FROM there is EXTRACT(… FROM …) until a SELECT
        self.selected = False
        self.in_from = expect
        self.expect = expect  # the next name is a table
        self.cte: str | None = None  # where in a WITH list: "name", "after_name", "as", "after_body"
        self.cte_names: list[str] = []
        self.recursive = False


def _lexemes(sql: str) -> list[tuple[str, str]]:
    """``(kind, text)`` per token: ``word``, ``quoted``, ``string`` (its text unescaped) or ``punct``."""
    out: list[tuple[str, str]] = []
    start = 0
    for text, quoted, stop in _scan(sql):
        if text is None:
            raw = sql[start:stop].strip()
            literal = raw[1:-1].replace("''", "'") if raw[:1] == "'" and raw[-1:] == "'" else ""
            out.append(("string", literal))
        elif quoted:
            out.append(("quoted", text))
        elif _WORD_START.match(text):
            out.append(("word", text))
        else:
            out.append(("punct", text))
        start = stop
    return out


def name_key(name: str) -> str:
    """The form under which DuckDB takes two identifiers for the same: ASCII letters folded, nothing else.

    DuckDB compares names case-insensitively for A-Z only: ``Orders`` is ``orders``, but ``Ä`` and ``ä``,
    ``straße`` and ``STRASSE``, ``I`` and ``ı``, ``K`` and the Kelvin sign are different tables, and no
    Unicode normalization applies (``é`` and ``e`` + combining accent differ too).
    """
    return name.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@functools.lru_cache(maxsize=1024)
def table_refs(sql: str) -> frozenset[TableRef]:
    """The tables a query reads, by a lexical scan that follows DuckDB's parser as far as a scan can.

    A name after ``FROM``, ``JOIN``, a comma in a ``FROM`` list, or a statement's ``TABLE``, ``DESCRIBE``,
    ``SUMMARIZE``, ``PIVOT``: a column, an alias, a table function (``range(3)``, ``read_csv('…')``) or a
    name a ``WITH`` defines in scope is none. ``FROM 'file.csv'`` gives the string, as DuckDB's parser does.
    """
    lex = _lexemes(sql)
    found: set[TableRef] = set()
    stack = [_Frame(frozenset())]
    pending_pivot = False
    previous: tuple[str, str] = ("punct", "")
    i = 0
    while i < len(lex):
        kind, text = lex[i]
        upper = text.upper() if kind == "word" else ""
        frame = stack[-1]
        if frame.cte is not None and _cte_step(frame, kind, text, upper, stack):
            previous, i = lex[i], i + 1
            continue
        if kind == "punct" and text == "(":
            function = previous[0] == "quoted" or (previous[0] == "word" and previous[1].upper() not in _NOT_FUNCTIONS)
            opened_by_pivot = pending_pivot
            expect = frame.expect and not function
            frame.expect = pending_pivot = False
            stack.append(_Frame(frame.shadow, function=function and not opened_by_pivot, expect=expect))
        elif kind == "punct" and text == ")":
            if len(stack) > 1:
                stack.pop()
                parent = stack[-1]
                if parent.cte in ("in_body", "in_columns"):
                    parent.cte = "after_body" if parent.cte == "in_body" else "after_name"
        elif kind == "punct" and text == ",":
            frame.expect = frame.in_from
        elif upper == "WITH":
            frame.cte, frame.cte_names, frame.recursive, frame.expect = "name", [], False, False
        elif upper == "SELECT":
            frame.selected, frame.in_from, frame.expect = True, False, False
        elif upper == "JOIN" or (upper == "FROM" and _from_clause(frame, lex, i)):
            frame.in_from = frame.expect = True
        elif upper in _TABLE_WORDS and (previous == ("punct", "") or previous == ("punct", "(")):
            frame.expect = True
            pending_pivot = upper in ("PIVOT", "UNPIVOT")
        elif upper in ("PIVOT", "UNPIVOT"):
            pending_pivot = True
        elif frame.expect and upper in ("LATERAL", "ONLY"):
            pass
        elif frame.expect and kind == "string":
            found.add(("", "", text))
            frame.expect = False
        elif frame.expect and (kind == "quoted" or (kind == "word" and upper not in _FROM_ENDS)):
            parts = [text]
            while i + 2 < len(lex) and lex[i + 1] == ("punct", ".") and lex[i + 2][0] in ("word", "quoted"):
                parts.append(lex[i + 2][1])
                i += 2
            after = lex[i + 1] if i + 1 < len(lex) else ("punct", "")
            if after != ("punct", "("):  # a table function's name is no table
                ref = ("", "", "", *parts)[-3:]
                if not (len(parts) == 1 and name_key(parts[0]) in frame.shadow):
                    found.add((ref[0], ref[1], ref[2]))
            frame.expect = False
            pending_pivot = False
            previous, i = lex[i], i + 1
            continue
        elif upper in _FROM_ENDS:
            frame.in_from = frame.expect = False
        else:
            frame.expect = False
        previous, i = lex[i], i + 1
    return frozenset(found)


def _from_clause(frame: _Frame, lex: list[tuple[str, str]], i: int) -> bool:
    """Whether the ``FROM`` at ``i`` opens a FROM clause: not ``EXTRACT(… FROM …)``, not ``IS DISTINCT FROM``."""
    if frame.function and not frame.selected:
        return False
    return not (i >= 2 and lex[i - 1][1].upper() == "DISTINCT" and lex[i - 2][1].upper() in ("IS", "NOT"))


def _cte_step(frame: _Frame, kind: str, text: str, upper: str, stack: list[_Frame]) -> bool:
    """Advance through a ``WITH`` list; ``False`` hands the token back to the main scan (the list ended)."""
    state = frame.cte
    opening = kind == "punct" and text == "("
    if state == "name":
        if upper == "RECURSIVE":
            frame.recursive = True
            return True
        if kind in ("word", "quoted"):
            frame.cte_names.append(text)
            frame.cte = "after_name"
            return True
    elif state == "after_name":
        if opening:  # the CTE's column names, or USING KEY's
            stack.append(_Frame(frame.shadow))
            frame.cte = "in_columns"
            return True
        if upper == "AS":
            frame.cte = "as"
            return True
        if upper in ("USING", "KEY"):
            return True
    elif state == "as":
        if upper in ("NOT", "MATERIALIZED"):
            return True
        if opening:
            # A CTE sees those before it, and itself only in WITH RECURSIVE.
            names = frame.cte_names if frame.recursive else frame.cte_names[:-1]
            stack.append(_Frame(frame.shadow | {name_key(n) for n in names}))
            frame.cte = "in_body"
            return True
    elif state == "after_body":
        if kind == "punct" and text == ",":
            frame.cte = "name"
            return True
        frame.shadow = frame.shadow | {name_key(n) for n in frame.cte_names}
    frame.cte = None
    return False
