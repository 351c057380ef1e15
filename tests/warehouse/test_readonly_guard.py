"""The check `saylau sql` runs before a query reaches the engine: one read-only statement,
split where ClickHouse splits it, that calls no function reaching files or the network."""

from __future__ import annotations

import chdb
import pytest

from saylau.warehouse.readonly import (
    DENIED_FUNCTIONS,
    SAFE_TABLE_FUNCTIONS,
    ReadOnlyViolation,
    check_read_only,
    split_tokens,
    tokenize,
)

pytestmark = pytest.mark.timeout(120)

# (text, how many statements ClickHouse sees). Raw strings: a backslash is a backslash.
STATEMENTS = [
    (r"SELECT 'a;b'", 1),
    (r"SELECT 'it''s; fine'", 1),
    (r"SELECT 'a\'; SELECT 2'", 1),  # \' is an escaped quote: still inside the string
    (r"SELECT 'a\\'; SELECT 2", 2),  # \\ is an escaped backslash: the string ends there
    (r'SELECT "a;b" FROM (SELECT 1 AS "a;b")', 1),
    (r"SELECT `a;b` FROM (SELECT 1 AS `a;b`)", 1),
    (r"SELECT `a\`;b` FROM (SELECT 1 AS `a\`;b`)", 1),
    ("SELECT 1 -- ; SELECT 2", 1),
    ("SELECT 1 // ; SELECT 2", 1),
    ("SELECT 1 # ; SELECT 2", 1),
    ("SELECT 1 /* ; */", 1),
    ("SELECT 1 /* /* ; */ ; */", 1),  # comments nest
    ("SELECT 1 --x\n; SELECT 2", 2),
    ("SELECT 1 /* */ ; SELECT 2", 2),
    ("SELECT 1; SELECT 2", 2),
    ("SELECT 1;", 1),
    ("SELECT 1;;  -- done", 1),
    ("SELECT 1e-1--1; SELECT 2", 1),  # the number ends after its exponent
    ("SELECT 1, .5e-1--1; SELECT 2", 1),
    ("SELECT 0x1p-1--1; SELECT 2", 1),
    ("SELECT 1_000e-1--; SELECT 2", 1),
    ("SELECT 1_e--1; SELECT 2", 1),  # 1_e is a word: this -- is a comment
    ("SELECT (1, 2).1e--1; SELECT 2", 1),  # after a dot only digits: `1e` is a name
]

# Texts ClickHouse cannot parse (so it runs none of their statements), split as its lexer
# (src/Parsers/Lexer.cpp) splits them: the sign after an exponent belongs to the number.
UNPARSABLE = [
    ("SELECT 1e--1; SELECT 2", 2),
    ("SELECT 0x1p--1; SELECT 2", 2),
    ("SELECT 1, .5e--1; SELECT 2", 2),
    ("SELECT .5e--1; SELECT 2", 1),  # after a name '.' is a dot, then 5e a name, then --
]


@pytest.mark.parametrize(("text", "count"), STATEMENTS + UNPARSABLE)
def test_statements_are_split_where_clickhouse_splits_them(text, count):
    assert len(split_tokens(tokenize(text))) == count


@pytest.fixture(scope="module")
def clickhouse_parser():
    """chDB's own parser (formatQuery refuses a text of several statements)."""
    connection = chdb.connect(":memory:")
    yield connection
    connection.close()


@pytest.mark.parametrize(("text", "count"), STATEMENTS)
def test_the_split_agrees_with_the_engines_own_parser(clickhouse_parser, text, count):
    quoted = "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    try:
        clickhouse_parser.query(f"SELECT formatQuery({quoted})", "CSV")
        engine_count = 1
    except Exception as error:  # noqa: BLE001 - chDB has no exception type of its own
        assert "Multi-statements are not allowed" in str(error), error
        engine_count = 2
    assert engine_count == count


@pytest.mark.parametrize("text", [
    "SELECT 1; DROP TABLE x",
    "select 1 ; truncate table t",
    "SELECT 'a\\\\'; DROP TABLE x",
])
def test_several_statements_are_refused(text):
    with pytest.raises(ReadOnlyViolation, match="one statement"):
        check_read_only(text)


@pytest.mark.parametrize("text", [
    "SELECT * FROM file('/etc/hostname', 'TSV', 'h String')",
    "SELECT file('/etc/hostname')",
    "SELECT \"file\"('/etc/hostname')",
    "SELECT `file`('/etc/hostname')",
    "SELECT FiLe ('/etc/hostname')",
    "SELECT file /* x */ -- y\n ('/etc/hostname')",
    "SELECT * FROM url('http://127.0.0.1:1/', 'TSV', 's String')",
    "SELECT * FROM s3('https://bucket/x')",
    "SELECT * FROM remote('127.0.0.1', system.one)",
    "SELECT * FROM remoteSecure('127.0.0.1', system.one)",
    "SELECT * FROM mysql('h:3306', 'd', 't', 'u', 'p')",
    "SELECT * FROM postgresql('h:5432', 'd', 't', 'u', 'p')",
    "SELECT * FROM python(frame)",
    "SELECT * FROM executable('x.sh', 'TSV', 'a String')",
    "DESCRIBE TABLE file('/etc/passwd')",
    "EXPLAIN SELECT * FROM hdfs('hdfs://h/x')",
    "WITH x AS (SELECT * FROM urlCluster('c', 'http://h/')) SELECT * FROM x",
])
def test_functions_that_reach_files_or_the_network_are_refused(text):
    with pytest.raises(ReadOnlyViolation, match=r"the function \w+\(\) is refused"):
        check_read_only(text)


@pytest.mark.parametrize("text", [
    "SELECT 1 INTO OUTFILE '/tmp/x.csv'",
    "select 1 into outfile '/tmp/x.csv' format CSV",
])
def test_into_outfile_is_refused(text):
    with pytest.raises(ReadOnlyViolation, match="OUTFILE"):
        check_read_only(text)


@pytest.mark.parametrize("text", [
    "SELECT 'file(' AS x",  # in a string
    "SELECT 1 AS file",  # a name, not a call
    "SELECT file_name FROM t",
    "SELECT * FROM numbers(3)",
    "SELECT URLHierarchy('http://a/b')",  # a function on text, it fetches nothing
    "SELECT 'url(' || 'x' -- file('/etc/passwd')",
])
def test_harmless_uses_of_those_words_pass(text):
    assert check_read_only(text) == text.split(" --")[0]


@pytest.mark.parametrize(("text", "message"), [
    ("SELECT $$a;b$$", r"'\$' is refused"),
    ("SELECT ‘a’", "refused outside quotes"),
    ("SELECT 'open", "not closed"),
    ("SELECT /* open", "not closed"),
    ("SELECT 1 #x", "'#'"),
    ("SELECT 1 \\G", r"'\\'"),
    ("", "empty"),
    ("  ;  -- nothing", "empty"),
    ("DROP TABLE x", "read-only"),
    ("/* SELECT */ DROP TABLE x", "read-only"),
    ("(SELECT 1)", "read-only"),
])
def test_what_lexers_may_read_differently_is_refused(text, message):
    with pytest.raises(ReadOnlyViolation, match=message):
        check_read_only(text)


def test_the_statement_comes_back_without_trailing_semicolons_and_comments():
    assert check_read_only("-- why\nSELECT 1 ; ; -- done\n") == "SELECT 1"


def test_every_table_function_of_chdb_is_either_refused_or_known_to_be_safe(clickhouse_parser):
    names = str(clickhouse_parser.query("SELECT name FROM system.table_functions", "CSV"))
    known = {name.strip().strip('"').lower() for name in names.split()}
    unclassified = known - DENIED_FUNCTIONS - SAFE_TABLE_FUNCTIONS
    assert unclassified == set(), "classify these in saylau/warehouse/readonly.py"
    assert not DENIED_FUNCTIONS & SAFE_TABLE_FUNCTIONS
