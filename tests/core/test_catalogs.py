"""Every text in the code has a Kazakh and a Russian translation, and no page layout or
figure builder shows a literal that bypasses the catalogs."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from saylau.core.i18n import LOCALE_DIR

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"N_": None, "gettext": None, "ngettext": (1, 2), "t": None, "t_n": (1, 2),
            "tr": None}  # as `make messages` extracts
TRANSLATED = ("kk", "ru")  # English is the code's own text


def _code_messages() -> set[str]:
    """The msgids the code marks, extracted as ``make messages`` does (Babel)."""
    found = extract_from_dir(str(ROOT / "saylau"), method_map=[("**.py", "python")],
                             keywords=KEYWORDS, comment_tags=())
    return {message[0] if isinstance(message, tuple) else message
            for _file, _line, message, _comments, _context in found}


def _catalog(language: str):  # noqa: ANN202 (babel's Catalog)
    with (LOCALE_DIR / language / "LC_MESSAGES" / "saylau.po").open("rb") as source:
        return read_po(source, locale=language)


def _fields(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_of_the_code_is_translated_and_none_is_fuzzy(language: str) -> None:
    catalog = _catalog(language)
    entries = {(m.id[0] if isinstance(m.id, tuple) else m.id): m for m in catalog if m.id}
    missing = sorted(_code_messages() - set(entries))
    assert not missing, f"not in the {language} catalog (run make messages): {missing}"
    untranslated = sorted(key for key, m in entries.items()
                          if not all(m.string if isinstance(m.string, tuple) else [m.string]))
    assert not untranslated, f"no {language} translation: {untranslated}"
    fuzzy = sorted(key for key, m in entries.items() if m.fuzzy)
    assert not fuzzy, f"fuzzy in {language}: {fuzzy}"


def _called_messages() -> set[str]:
    """Literal first arguments of every t()/tr()/gettext()… call in the code, also those
    inside f-strings, which Babel's extractor does not see."""
    found = set()
    for path in (ROOT / "saylau").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args \
                    and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in KEYWORDS:
                    found.add(node.args[0].value)
    return found


def test_every_called_message_is_in_the_catalogs() -> None:
    hidden = sorted(_called_messages() - _code_messages())
    assert not hidden, f"texts make messages cannot extract (inside an f-string?): {hidden}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_the_fields_and_the_figures_placeholders(language: str) -> None:
    for message in _catalog(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            assert _fields(text) == _fields(ids[0]), (language, ids[0])
            # Plotly's hover fields (%{customdata[1]:,}) must survive translation.
            assert sorted(re.findall(r"%\{[^}]*\}", text)) == \
                sorted(re.findall(r"%\{[^}]*\}", ids[0])), (language, ids[0])


@pytest.mark.parametrize("language", TRANSLATED)
def test_babel_finds_no_error_in_the_catalog(language: str) -> None:
    """Babel's own checks (what ``pybabel compile`` reports), e.g. a python-format text
    whose translation lost its ``%`` placeholders."""
    assert [(m.id, [str(e) for e in errors]) for m, errors in _catalog(language).check()] == []


# --- The literal check --------------------------------------------------------------------
CHECKED = [*sorted((ROOT / "saylau/dashboard/pages").glob("*.py")),
           ROOT / "saylau/dashboard/figures.py", ROOT / "saylau/dashboard/regional.py",
           ROOT / "saylau/analysis/figures.py"]
# Every page is checked (the /analysis page too, since its texts are in the catalogs).
NOT_YET: set[str] = set()
HTML_TEXT = {"H1", "H2", "H3", "P", "Span", "Div", "Th", "Td", "Label", "Button", "A", "Li",
             "Link", "Option", "Summary"}
TEXT_KEYWORDS = {"title", "name", "hovertemplate", "placeholder", "label", "text"}
# Texts that are no words: punctuation, units and marks a reader needs no translation of.
# Plotly's fields (%{customdata[0]}) and markup (<br>, <extra>) hold no words either.
MARKUP = re.compile(r"%\{[^}]*\}|</?[a-z]+>")
ALLOWED_WORDS = {"Saylau"}  # the product's name


def _literal_texts(node: ast.AST) -> list[ast.Constant]:
    """String constants used directly (not through a call such as t()) in `node`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node]
    if isinstance(node, ast.JoinedStr):
        return [part for part in node.values
                if isinstance(part, ast.Constant) and isinstance(part.value, str)]
    if isinstance(node, ast.BinOp):
        return _literal_texts(node.left) + _literal_texts(node.right)
    if isinstance(node, ast.List | ast.Tuple):
        return [found for item in node.elts for found in _literal_texts(item)]
    if isinstance(node, ast.IfExp):
        return _literal_texts(node.body) + _literal_texts(node.orelse)
    return []


def _component(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else None


def bypassing_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of each word shown to people without the catalogs: a child of an
    html component, or a title/name/label/hover/placeholder argument."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        shown = []
        if _component(node) in HTML_TEXT and node.args:
            shown.append(node.args[0])
        # dash.register_page's name only keys the registry; an Input's name is the form's.
        skipped = {"name"} if _component(node) in {"register_page", "Input"} else set()
        shown += [keyword.value for keyword in node.keywords
                  if (keyword.arg in TEXT_KEYWORDS or keyword.arg == "children")
                  and keyword.arg not in skipped]
        for value in shown:
            found += [(literal.lineno, literal.value) for literal in _literal_texts(value)
                      if _has_words(literal.value)]
    return found


def _has_words(text: str) -> bool:
    return text not in ALLOWED_WORDS and re.search(r"[^\W\d_]", MARKUP.sub("", text)) is not None


@pytest.mark.parametrize("path", [p for p in CHECKED if p.name not in NOT_YET],
                         ids=lambda p: p.name)
def test_no_page_or_figure_shows_a_literal_that_bypasses_the_catalogs(path: Path) -> None:
    assert bypassing_literals(path.read_text(encoding="utf-8")) == []


def test_the_literal_check_finds_a_bypassing_text() -> None:
    assert bypassing_literals('html.H1("Incidents")') == [(1, "Incidents")]
    assert bypassing_literals('go.Scatter(name=f"{n} stations")') == [(1, " stations")]
    assert bypassing_literals('html.H1(t("Incidents"), className="x")') == []
    assert bypassing_literals('html.Td(f"{a}/{b}")') == []
