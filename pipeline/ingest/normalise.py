"""Text and speaker-label clean-up shared by every reader.

Text is repaired with ftfy (HTML entities such as ``&#8212;``, mojibake such as ``donâ€™t``, control characters),
freed of the HTML markup a web page leaves in a cell (lxml), and stripped of terminal escape sequences and invisible
format characters (zero-width spaces, bidi marks); curly quotes are kept, since quotes are verbatim.
Speaker labels are compared by a key (NFKC, no invisible characters, no trailing colon or Markdown emphasis,
case-folded, single spaces), so ``DB``, ``DB:`` and ``db`` are one person.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import ftfy

from ..escape import strip_terminal_sequences

_NOTHING_TO_FIX = re.compile(r"[\t\n\r\x20-\x25\x27-\x7e]*")  # plain ASCII with no control character or "&"
_INVISIBLE = re.compile(r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def clean_text(text: str) -> str:
    """What a participant said, with encoding damage, HTML markup and invisible characters removed."""
    if not text:
        return text
    text = without_markup(text)
    if _NOTHING_TO_FIX.fullmatch(text):  # most English speech: ftfy would return it unchanged, slowly
        return text
    text = strip_terminal_sequences(text)
    fixed = ftfy.fix_text(text, unescape_html=True, uncurl_quotes=False, fix_line_breaks=False)
    return remove_invisible(fixed)


# Tags of HTML's text markup: a cell holding one was written by a web page, not by a transcriber ("<laughs>" is no tag)
_HTML_TAG = re.compile(r"</?(?:a|b|br|div|em|font|i|p|span|strong|u)(?:\s[^<>]*)?/?>", re.I)


def without_markup(text: str) -> str:
    """The words of text a web archive kept as HTML, without its tags (lxml's parser): an oral-history export's
    last row read "See the full interview at: <a target='_blank' href='https://…'>https://…</a>", and its
    attributes were quoted as a theme's evidence."""
    if "<" not in text or not _HTML_TAG.search(text):
        return text
    from lxml import html

    return html.fragment_fromstring(text, create_parent="div").text_content()


def remove_invisible(text: str) -> str:
    """Text without zero-width and bidi format characters: they change no word, but hide a speaker label's
    ``Name:`` from every pattern that looks for it."""
    return _INVISIBLE.sub("", text)


@lru_cache(maxsize=65_536)  # a file repeats a few labels thousands of times
def clean_label(label: str) -> str:
    """A speaker label as shown: NFKC, no invisible marks, Markdown emphasis or trailing colon, single spaces."""
    label = remove_invisible(unicodedata.normalize("NFKC", clean_text(label)))
    label = label.strip().strip("*_").strip().rstrip(":").strip()
    return " ".join(label.split())


def speaker_key(label: str) -> str:
    """Identity of a speaker label: labels that differ only by case, colon or spacing are one speaker
    (``M SM`` = ``MSM``, ``Speaker2`` = ``Speaker 2``)."""
    return clean_label(label).casefold().replace(" ", "")


def count_words(text: str) -> int:
    """Words as letter runs (numbers, timestamps and punctuation are not words), the unit of every loss figure.

    Counted on repaired text, so ``we&#39;re`` in a file and ``we're`` in a turn are the same one word."""
    return len(_WORD.findall(clean_text(text)))


_EXTENSION = re.compile(r"\.(?:txt|md|markdown|docx|odt|rtf|pdf|html?|vtt|srt|json|jsonl|csv|tsv|xlsx)$", re.I)


def loose_id(interview_id: str) -> str:
    """An interview id as people write it in a sheet beside the transcripts (``metadata.csv``, ``roles.csv``):
    file extension, case and separators aside ("P01.docx", "p 01" and "P01" are one)."""
    return re.sub(r"[\s_-]+", "", _EXTENSION.sub("", interview_id.strip())).casefold()
