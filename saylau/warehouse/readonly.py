"""What ``saylau sql`` lets through: one read-only statement that reaches no file or network.

The engine connection is read-only too (``readonly=1``, see the engines); this check comes
first because ``readonly=1`` does not cover everything: chDB reads any file with the scalar
``file()`` and writes one with ``SELECT … INTO OUTFILE`` even in read-only mode, and it runs
every statement of a multi-statement text.

Splitting statements needs ClickHouse's own tokens: a ``;`` inside a string, a quoted name
or a comment separates nothing. The lexer below follows ClickHouse's (src/Parsers/Lexer.cpp)
for everything that can hide a ``;`` or a function name: '…' strings, "…" and `…` names
(backslash escapes, doubled quotes), ``--``, ``//``, ``# `` and nested ``/* */`` comments,
and numbers (``1e-5``: a ``-`` there starts no comment). Where lexers of different ClickHouse
versions disagree (heredocs ``$tag$…$tag$``, typographic quotes, non-ASCII characters between
tokens, a stray ``\\``) it refuses the text instead of guessing. Generic SQL tokenizers such
as sqlparse read ``'a\\\\'`` differently from ClickHouse, so they could be talked into
missing a ``;``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

READ_ONLY_STARTS = frozenset({"select", "with", "show", "describe", "desc", "exists",
                              "explain"})

# Functions that read or write files, or reach another host or process. Table functions of
# chDB 4.4 (system.table_functions) and ClickHouse 18.16 that are not in SAFE_TABLE_FUNCTIONS,
# plus the scalar file(). tests/warehouse/test_readonly_guard.py fails when chDB knows a
# table function that is in neither list, so an upgrade cannot add one silently.
DENIED_FUNCTIONS = frozenset(name.lower() for name in (
    "file", "fileCluster", "filesystem", "url", "urlCluster", "s3", "s3Cluster", "gcs", "oss",
    "cosn", "hdfs", "hdfsCluster", "azureBlobStorage", "azureBlobStorageCluster",
    "remote", "remoteSecure", "cluster", "clusterAllReplicas",
    "mysql", "postgresql", "odbc", "jdbc", "sqlite", "mongodb", "redis", "ytsaurus",
    "bigquery", "arrowstream", "arrowflight", "prometheusQuery", "prometheusQueryRange",
    "input", "executable", "python", "eval", "catBoostPool", "catboostEvaluate",
    "modelEvaluate",
    "deltaLake", "deltaLakeAzure", "deltaLakeAzureCluster", "deltaLakeCluster",
    "deltaLakeLocal", "deltaLakeS3", "deltaLakeS3Cluster",
    "hudi", "hudiCluster",
    "iceberg", "icebergAzure", "icebergAzureCluster", "icebergCluster", "icebergHDFS",
    "icebergHDFSCluster", "icebergLocal", "icebergLocalCluster", "icebergS3",
    "icebergS3Cluster",
    "paimon", "paimonAzure", "paimonAzureCluster", "paimonCluster", "paimonHDFS",
    "paimonHDFSCluster", "paimonLocal", "paimonS3", "paimonS3Cluster",
))

# Table functions that only compute rows or read this warehouse's own tables.
SAFE_TABLE_FUNCTIONS = frozenset(name.lower() for name in (
    "numbers", "numbers_mt", "zeros", "zeros_mt", "primes", "generateRandom",
    "generateSeries", "generate_series", "values", "SQLStandardValues", "null", "view",
    "viewIfPermitted", "viewExplain", "merge", "dictionary", "format", "fuzzJSON", "fuzzQuery",
    "loop", "mergeTreeIndex", "mergeTreeProjection", "mergeTreeAnalyzeIndexes",
    "mergeTreeAnalyzeIndexesUUID", "mergeTreeCodecBlockCounts", "mergeTreeTextIndex",
    "timeSeriesData", "timeSeriesMetricFamilies", "timeSeriesMetrics", "timeSeriesSamples",
    "timeSeriesSelector", "timeSeriesTags",
))

# Keywords that make a read write somewhere: chDB writes INTO OUTFILE in read-only mode.
DENIED_KEYWORDS = frozenset({"outfile"})

_WHITESPACE = " \t\n\r\f\v"
_WORD = re.compile(r"[A-Za-z0-9_]+")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_DIGITS = frozenset("0123456789")


class ReadOnlyViolation(ValueError):
    """The text is not one read-only statement; the message says why, in one line."""


@dataclass(frozen=True)
class Token:
    kind: str  # "word" (names, keywords, numbers), "quoted" (a quoted name), "string", "punct"
    text: str
    start: int

    @property
    def name(self) -> str:
        """The name a word or quoted name stands for, lower case (`file` and "file" call
        the same function)."""
        if self.kind == "quoted":
            return _unquote(self.text).lower()
        return self.text.lower()


def check_read_only(sql: str) -> str:
    """The text of the one statement ``sql`` holds, or ReadOnlyViolation.

    ``sql`` is the text as the engine receives it (``$db`` already replaced). Trailing
    semicolons and comments are dropped from the statement returned.
    """
    statements = split_tokens(tokenize(sql))
    if len(statements) > 1:
        raise ReadOnlyViolation("only one statement at a time: the text holds "
                                f"{len(statements)} (a ';' outside quotes separates them)")
    if not statements:
        raise ReadOnlyViolation("the query is empty: give one read-only statement")
    tokens = statements[0]
    first = tokens[0]
    if first.kind != "word" or first.name not in READ_ONLY_STARTS:
        raise ReadOnlyViolation("only read-only queries (SELECT, WITH, SHOW, DESCRIBE, "
                                "EXISTS, EXPLAIN)")
    _refuse_outside_access(tokens)
    last = tokens[-1]
    return sql[first.start:last.start + len(last.text)]


def _refuse_outside_access(tokens: list[Token]) -> None:
    for token, following in zip(tokens, [*tokens[1:], None], strict=True):
        if token.kind == "word" and token.name in DENIED_KEYWORDS:
            raise ReadOnlyViolation(f"{token.text.upper()} is refused: saylau sql writes no "
                                    "file")
        calls = following is not None and following.text == "("
        if calls and token.kind in {"word", "quoted"} and token.name in DENIED_FUNCTIONS:
            raise ReadOnlyViolation(f"the function {token.name}() is refused: saylau sql "
                                    "reads only the warehouse, no file or network")


def split_tokens(tokens: list[Token]) -> list[list[Token]]:
    """Tokens grouped by statement; empty statements (``;;``, a trailing ``;``) dropped."""
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.kind == "punct" and token.text == ";":
            statements.append([])
        else:
            statements[-1].append(token)
    return [statement for statement in statements if statement]


def tokenize(sql: str) -> list[Token]:
    """ClickHouse's significant tokens of ``sql`` (comments and whitespace skipped)."""
    lexer = _Lexer(sql)
    return lexer.run()


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []

    def run(self) -> list[Token]:
        while self.pos < len(self.text):
            self._step()
        return self.tokens

    def _step(self) -> None:
        text, pos = self.text, self.pos
        char = text[pos]
        pair = text[pos:pos + 2]
        if char in _WHITESPACE:
            self.pos += 1
        elif pair in {"--", "//"} or (char == "#" and text[pos + 1:pos + 2] in {" ", "!"}):
            end = text.find("\n", pos)
            self.pos = len(text) if end < 0 else end
        elif pair == "/*":
            self.pos = self._comment_end(pos)
        elif char in "'\"`":
            self._emit("string" if char == "'" else "quoted", self._quoted_end(pos, char))
        elif char in _DIGITS or (char == "." and self._starts_number(pos)):
            self._emit("word", self._number_end(pos))
        elif char.isascii() and (char.isalnum() or char == "_"):
            match = _WORD.match(text, pos)
            assert match is not None  # noqa: S101 - char is a word character
            self._emit("word", match.end())
        else:
            self._punctuation(char)

    def _punctuation(self, char: str) -> None:
        if char == "$":
            raise ReadOnlyViolation("'$' is refused outside quotes (heredoc strings are not "
                                    "supported); write $db only for the database name")
        if char == "\\":
            raise ReadOnlyViolation("'\\' is refused outside quotes")
        if char == "#":
            raise ReadOnlyViolation("'#' starts a comment only before a space")
        if not char.isascii() or not char.isprintable():
            raise ReadOnlyViolation(f"the character {char!r} is refused outside quotes: "
                                    "use ASCII quotes and spaces")
        self._emit("punct", self.pos + 1)

    def _emit(self, kind: str, end: int) -> None:
        self.tokens.append(Token(kind, self.text[self.pos:end], self.pos))
        self.pos = end

    def _quoted_end(self, pos: int, quote: str) -> int:
        text, i = self.text, pos + 1
        while i < len(text):
            if text[i] == "\\":
                i += 2  # the escaped character, whatever it is
            elif text[i] == quote:
                if text[i + 1:i + 2] != quote:
                    return i + 1
                i += 2  # a doubled quote stands for itself
            else:
                i += 1
        raise ReadOnlyViolation(f"a {quote} quote is not closed")

    def _comment_end(self, pos: int) -> int:
        text, i, depth = self.text, pos + 2, 1
        while i + 2 <= len(text):
            pair = text[i:i + 2]
            if pair == "/*":
                depth, i = depth + 1, i + 2
            elif pair == "*/":
                depth, i = depth - 1, i + 2
                if depth == 0:
                    return i
            else:
                i += 1
        raise ReadOnlyViolation("a /* comment is not closed")

    def _starts_number(self, pos: int) -> bool:
        """A '.' starts a number (.5) unless it follows a name, a number or a bracket."""
        if self.text[pos + 1:pos + 2] not in _DIGITS:
            return False
        previous = self.tokens[-1] if self.tokens else None
        return previous is None or not (previous.kind in {"word", "quoted"}
                                        or previous.text in {")", "]"})

    def _number_end(self, pos: int) -> int:
        """Where ClickHouse's number token starting at ``pos`` ends, words glued on included."""
        text = self.text
        previous = self.tokens[-1] if self.tokens else None
        if previous is not None and previous.text == ".":  # x.1.1: tuple access, digits only
            i = self._digits_end(pos + 1, hexadecimal=False, block_start=False)
        else:
            i = self._decimal_or_hex_end(pos)
        if i < len(text) and _is_word_char(text[i]):
            match = _WORD.match(text, i)
            assert match is not None  # noqa: S101 - text[i] is a word character
            i = match.end()
        return i

    def _decimal_or_hex_end(self, pos: int) -> int:
        text = self.text
        hexadecimal, i, block_start = False, pos, False
        if text[pos] == ".":
            return self._exponent_end(self._digits_end(pos + 1, False, True), False)
        if text[pos] == "0" and pos + 2 < len(text) and text[pos + 1] in "xXbB":
            if text[pos + 1] in "xX" and text[pos + 2] in _HEX_DIGITS:
                hexadecimal, i, block_start = True, pos + 2, True
            elif text[pos + 1] in "bB" and text[pos + 2] in "01":
                i, block_start = pos + 2, True
            else:
                i = pos + 1
        else:
            i = pos + 1
        i = self._digits_end(i, hexadecimal, block_start)
        if i < len(text) and text[i] == ".":
            i = self._digits_end(i + 1, hexadecimal, True)
        return self._exponent_end(i, hexadecimal)

    def _exponent_end(self, i: int, hexadecimal: bool) -> int:
        text = self.text
        if i + 1 < len(text) and text[i] in ("pP" if hexadecimal else "eE"):
            i += 1
            if i + 1 < len(text) and text[i] in "+-":
                i += 1  # 1e-5: this '-' is the exponent's sign, not the start of a comment
            i = self._digits_end(i, False, True)
        return i

    def _digits_end(self, i: int, hexadecimal: bool, block_start: bool) -> int:
        text, digits = self.text, _HEX_DIGITS if hexadecimal else _DIGITS
        while i < len(text):
            if text[i] in digits:
                block_start = False
            elif not (text[i] == "_" and not block_start and text[i + 1:i + 2] != ""
                      and text[i + 1] in digits):
                break
            i += 1
        return i


def _is_word_char(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char == "_")


def _unquote(text: str) -> str:
    quote, body = text[0], text[1:-1]
    return re.sub(r"\\(.)", r"\1", body.replace(quote * 2, quote), flags=re.DOTALL)
