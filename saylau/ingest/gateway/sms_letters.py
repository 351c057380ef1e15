"""The SMS codes' Russian and Kazakh letters, Cyrillic look-alikes, and the reply language.

A phone may send a report in Latin letters (``T 0457 1234``), in the Russian or Kazakh
equivalents (``Я 0457 1234``, ``Қ 0457 1234``), or in a mix, when its keyboard switched
half-way: Cyrillic letters that look like Latin ones (А В С Е Н К М О Р Т Х І …) stand for
those Latin letters wherever a Latin code is expected. docs/gateway.md lists every code.

The tables are disjoint per position, so no message means two things: a word is looked
up in the Russian and Kazakh tables first, then with its look-alikes read as Latin.
"""

from __future__ import annotations

# Cyrillic letters that look like Latin ones (upper case; words are upper-cased first).
LOOK_ALIKES = str.maketrans({
    "А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "І": "I", "Ј": "J", "К": "K", "М": "M",
    "О": "O", "Р": "P", "Ѕ": "S", "Т": "T", "У": "Y", "Х": "X", "Ү": "Y",
})
# Report types: turnout, incident, check-in, check-out.
REPORT_TYPES = {
    "ru": {"Я": "T",   # явка
           "Н": "I",   # нарушение
           "П": "C",   # прибыл
           "У": "X"},  # ушёл
    "kk": {"Қ": "T",   # қатысу
           "Б": "I",   # бұзушылық
           "К": "C",   # келдім
           "Ш": "X"},  # шықтым
}
# Check-out reasons: shift end, removed, reassigned, other.
CHECKOUT_REASONS = {
    "ru": {"К": "S",   # конец смены
           "У": "R",   # удалили
           "П": "A",   # перевели
           "Д": "O"},  # другое
    "kk": {"С": "S",   # ауысым соңы
           "Ш": "R",   # шығарылды
           "А": "A",   # ауыстырылды
           "Б": "O"},  # басқа
}
INCIDENT_LETTERS = {
    "ru": {"РБ": "EP",  # давление работодателя
           "АР": "AR",  # административный ресурс
           "ВБ": "BS",  # вброс бюллетеней
           "КР": "CV",  # карусель
           "ПГ": "VB",  # подкуп голосов
           "ПН": "OB",  # препятствие наблюдателю
           "УН": "OR",  # удаление наблюдателя
           "ТГ": "SV",  # тайна голосования
           "СГ": "FV",  # семейное голосование
           "АГ": "CA",  # агитация на участке
           "СИ": "LI",  # списки избирателей
           "ФП": "PF",  # фальсификация протокола
           "ПР": "PR",  # процедура
           "ДР": "OT"},  # другое
    "kk": {"ЖҚ": "EP",  # жұмыс берушінің қысымы
           "ӘР": "AR",  # әкімшілік ресурс
           "БТ": "BS",  # бюллетень тастау
           "КР": "CV",  # карусель
           "ДС": "VB",  # дауыс сатып алу
           "БК": "OB",  # бақылаушыға кедергі
           "БШ": "OR",  # бақылаушыны шығару
           "ДҚ": "SV",  # дауыс беру құпиясы
           "ОД": "FV",  # отбасылық дауыс беру
           "ҮГ": "CA",  # учаскедегі үгіт
           "ТЗ": "LI",  # сайлаушылар тізімі
           "ХБ": "PF",  # хаттаманы бұрмалау
           "РС": "PR",  # рәсім
           "БС": "OT"},  # басқа
}
KAZAKH_LETTERS = frozenset("ӘҒҚҢӨҰҮҺІәғқңөұүһі")
SHIPPED_SCRIPTS = ("kk", "ru")


def latin_code(word: str, tables: dict[str, dict[str, str]], known: set[str] | dict[str, str]
               ) -> str:
    """The Latin code `word` stands for (upper case), or `word` upper-cased when it is
    none: Russian or Kazakh letters first, then Cyrillic look-alikes read as Latin."""
    upper = word.upper()
    if upper in known:
        return upper
    for language in SHIPPED_SCRIPTS:
        if upper in tables.get(language, {}):
            return tables[language][upper]
    folded = upper.translate(LOOK_ALIKES)
    return folded if folded in known else upper


def folded(word: str) -> str:
    """`word` with its Cyrillic look-alikes as Latin letters (a station id typed half in
    Cyrillic: ``КАZ011-0457``)."""
    return word.upper().translate(LOOK_ALIKES)


def reply_language(text: str, preferred: str | None = None) -> str:
    """The language to answer an SMS in, in the sender's script: Kazakh letters or a
    Kazakh report type, Kazakh; other Cyrillic, Russian (Kazakh if the observer's
    `preferred` language is); Latin letters only, English."""
    if any(letter in KAZAKH_LETTERS for letter in text):
        return "kk"
    words = text.split()
    first = words[0].upper() if words else ""
    if first in REPORT_TYPES["kk"] and first not in REPORT_TYPES["ru"]:
        return "kk"
    if any("\u0400" <= letter <= "\u04ff" for letter in text):
        return "kk" if preferred == "kk" else "ru"
    return "en"
