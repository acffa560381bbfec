"""Documents whose transcript is lines under speaker-label conventions: text, Markdown, DOCX, ODT, HTML, PDF, RTF.

Each reader only turns its format into numbered lines (what an editor, Word or a browser's source view shows);
``labels.parse_labelled_lines`` reads the speakers. Markdown's YAML front matter becomes interview metadata.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from zipfile import BadZipFile

import yaml

from ..errors import InputError
from .decode import read_text
from .labels import MAX_NAME_WORDS, parse_labelled_lines
from .normalise import count_words
from .turns import RawTurn, ReadLog, parse_timestamp

_FRONT_MATTER_FENCE = "---"
_PIPE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")  # "|---|:--:|"


def read_text_transcript(path: Path, log: ReadLog) -> list[RawTurn]:
    text = _decoded(path, log)
    lines = _pipe_tables(list(enumerate(text.split("\n"), start=1)), log)
    return parse_labelled_lines(lines, str(path), path.stem, log)


def read_markdown_transcript(path: Path, log: ReadLog) -> list[RawTurn]:
    """Markdown: front matter kept as metadata; headings set aside; ``**Name:**`` and escaped timestamps read."""
    lines = list(enumerate(_decoded(path, log).split("\n"), start=1))
    lines = _pipe_tables(_front_matter(lines, path, log), log)
    return parse_labelled_lines(lines, str(path), path.stem, log, markdown=True)


def _pipe_tables(lines: list[tuple[int, str]], log: ReadLog) -> list[tuple[int, str]]:
    """A transcript laid out as a Markdown or pipe-separated table (``| Maria | 00:00:05 | Why? |``, as Notion and
    Obsidian export one): each row reads as the line a text transcript would have (``table_lines``), on its own
    line number. Runs of lines that are not a transcript table stay as they are."""
    kept: list[tuple[int, str]] = []
    run: list[tuple[int, str]] = []
    for line, text in [*lines, (0, "")]:  # an empty line at the end closes the last run
        if "|" in text:
            run.append((line, text))
            continue
        rows = [(row_line, row) for row_line, row in run if not _PIPE_RULE.match(row)]
        cells = [row.strip().removeprefix("|").removesuffix("|").split("|") for _, row in rows]
        read = table_lines(cells, rows[0][0], log) if rows else None
        kept.extend(run if read is None else zip([row_line for row_line, _ in rows], read, strict=True))
        run = []
        if line:
            kept.append((line, text))
    return kept


def _decoded(path: Path, log: ReadLog) -> str:
    text, decode_warnings = read_text(path)
    log.warnings.extend(decode_warnings)
    return text


def read_rtf_transcript(path: Path, log: ReadLog) -> list[RawTurn]:
    """RTF (Word, TextEdit): the text the document shows, by striprtf, under the text conventions; lines are the
    lines of that text (what a word processor shows), not of the RTF source."""
    from striprtf.striprtf import rtf_to_text

    raw = _decoded(path, log)
    if not raw.lstrip().startswith("{\\rtf"):
        raise InputError(path, "not an RTF file (it does not open with {\\rtf)")
    try:
        text = rtf_to_text(raw, errors="replace")
    except Exception as exc:  # striprtf raises plain errors on malformed control words
        raise InputError(path, f"not a valid RTF file ({type(exc).__name__}: {exc})") from exc
    return _paragraphs(path, log, None, "RTF", numbered=list(enumerate(text.splitlines(), start=1)))


def _front_matter(lines: list[tuple[int, str]], path: Path, log: ReadLog) -> list[tuple[int, str]]:
    """Strip a leading ``---`` YAML block into ``log.metadata`` (scalars only); the lines after it are the body."""
    if not lines or lines[0][1].strip() != _FRONT_MATTER_FENCE:
        return lines
    end = next((i for i, (_, text) in enumerate(lines[1:], start=1) if text.strip() == _FRONT_MATTER_FENCE), None)
    if end is None:
        return lines
    block = "\n".join(text for _, text in lines[1:end])
    try:
        data = yaml.safe_load(block) or {}
    except yaml.YAMLError as exc:
        log.warnings.append(f"line 1: front matter is not valid YAML ({exc.__class__.__name__}); kept as text")
        return lines
    if isinstance(data, dict):
        log.metadata.update(
            {str(k): " ".join(str(v).split()) for k, v in data.items() if isinstance(v, str | int | float)}
        )
    log.words_in_file += count_words(block)  # the lines read after it count their own words
    log.set_aside_text(1, "front matter", block)
    return lines[end + 1 :]


def read_docx_transcript(path: Path, log: ReadLog) -> list[RawTurn]:
    """Paragraph numbers stand in for line numbers (what Word's navigation and python-docx both count); a table row
    counts as one paragraph, in document order. Transcription services often deliver a table (time | speaker |
    text): each row reads as the line a text transcript would have (``table_lines``); another table's cells read
    as paragraphs."""
    import docx  # python-docx; imported lazily because most corpora have no DOCX
    from docx.table import Table

    if path.stat().st_size == 0:
        raise InputError(path, "file is empty")
    try:
        document = docx.Document(str(path))
    except (BadZipFile, KeyError, ValueError) as exc:
        raise InputError(path, f"not a valid DOCX file ({exc})") from exc
    except Exception as exc:  # python-docx raises its own PackageNotFoundError for non-zip input
        raise InputError(path, f"not a valid DOCX file ({type(exc).__name__}: {exc})") from exc
    _note_tracked_changes(log, _as_shown(document))
    content = list(document.iter_inner_content())
    texts = iter(_with_bold_labels([block for block in content if not isinstance(block, Table)]))
    blocks: list[str] = []
    for block in content:
        if isinstance(block, Table):
            rows = [[cell.text for cell in row.cells] for row in block.rows]
            lines = table_lines(rows, len(blocks) + 1, log)
            if lines is None:  # a cover sheet or layout table: its cells, one paragraph each
                lines = [cell for row in rows for cell in dict.fromkeys(row)]  # a merged cell once
            blocks.extend(lines)
        else:
            blocks.append(next(texts))
    return _paragraphs(path, log, blocks, "DOCX")


def _bold_lead(paragraph) -> tuple[str, str] | None:
    """A paragraph that opens with a few bold words and goes on in plain text: (the bold words, the rest)."""
    runs = paragraph.runs
    lead = next((i for i, run in enumerate(runs) if run.text.strip() and not run.bold), len(runs))
    bold = "".join(run.text for run in runs[:lead]).strip()
    rest = "".join(run.text for run in runs[lead:]).strip()
    plain_name = bold and "\n" not in bold and not bold.endswith(":") and len(bold.split()) <= MAX_NAME_WORDS
    return (bold, rest) if plain_name and rest and not rest.startswith(":") else None


def _with_bold_labels(paragraphs: list) -> list[str]:
    """Paragraph texts, a speaker set in bold without a colon ("**Maria** Thank you", as some Word transcripts set
    them) written as a label ("Maria: Thank you") where the same bold words open two paragraphs or more (a bold
    word that opens speech once is emphasis)."""
    leads = [_bold_lead(paragraph) for paragraph in paragraphs]
    recurring = Counter(lead[0] for lead in leads if lead)
    return [
        f"{lead[0]}: {lead[1]}" if lead and recurring[lead[0]] > 1 else paragraph.text
        for paragraph, lead in zip(paragraphs, leads, strict=True)
    ]


_TRACKED_OUT = ("w:del", "w:moveFrom")  # deleted runs, and runs moved elsewhere (their text is at the w:moveTo)
_TRACKED_IN = ("w:ins", "w:moveTo")
# Elements that wrap runs or paragraphs and that python-docx does not look inside: smart tags (names, places and
# dates in older Word files), custom XML, simple fields, bidirectional runs and content controls (w:sdt).
_WRAPPERS = (*_TRACKED_IN, "w:smartTag", "w:customXml", "w:fldSimple", "w:dir", "w:bdo", "w:sdt", "w:sdtContent")


def _as_shown(document) -> int:
    """The DOCX body as Word shows it, in memory, for python-docx to read: tracked changes accepted (inserted and
    moved-in runs kept, deleted and moved-away runs gone) and the runs and paragraphs of wrapping elements lifted
    into their place. python-docx reads only a paragraph's own runs and the body's own paragraphs, so the words in
    those wrappers were neither read nor counted as lost. Returns how many tracked changes were accepted.
    Property elements (``w:rPr`` and the like, which also hold ``w:ins``/``w:del`` marks) are left alone."""

    def outside_properties(tags: tuple[str, ...]) -> list:
        found = document.element.body.xpath(" | ".join(f".//{tag}" for tag in tags))
        return [e for e in found if not e.getparent().tag.endswith("Pr")]

    removed, inserted = outside_properties(_TRACKED_OUT), outside_properties(_TRACKED_IN)
    for element in removed:
        element.getparent().remove(element)
    for element in outside_properties(_WRAPPERS):
        for child in list(element):
            if not child.tag.endswith("Pr"):  # w:sdtPr, w:smartTagPr, w:customXmlPr: settings, not text
                element.addprevious(child)
        element.getparent().remove(element)
    return len(removed) + len(inserted)


def _note_tracked_changes(log: ReadLog, accepted: int) -> None:
    """Tell the user a document's tracked changes were read as accepted (DOCX and ODT alike)."""
    if accepted:
        log.warnings.append(
            f"tracked changes accepted ({accepted}): the text reads as the document shows it with all changes accepted"
        )


def table_lines(rows: list[list[str]], first_line: int, log: ReadLog) -> list[str] | None:
    """A transcript laid out as a table, its rows as transcript lines (one per row, numbered from ``first_line``);
    None when the table is not one (a cover sheet: "Participant | P3", "Date | 12 March").

    The text column holds the most words; a time column is mostly timestamps; the speaker column is another whose
    cells are short (at most ``labels.MAX_NAME_WORDS`` words) and where someone speaks twice. A row becomes ``[time]
    Speaker: text``, and a blank speaker cell continues the speaker before. A first row that names the columns
    ("Speaker", "Text": its speaker cell never recurs and its text is a word or two) is set aside as the header."""
    width = max((len(row) for row in rows), default=0)
    rows = [[" ".join(cell.split()) for cell in row] + [""] * (width - len(row)) for row in rows]
    if width < 2 or len(rows) < 3:
        return None
    columns = list(zip(*rows, strict=True))
    text = max(range(width), key=lambda c: sum(count_words(cell) for cell in columns[c]))

    def share(column: tuple[str, ...], test) -> float:
        filled = [cell for cell in column if cell]
        return sum(map(test, filled)) / len(filled) if filled else 0.0

    times = [
        c for c in range(width) if c != text and share(columns[c], lambda v: parse_timestamp(v) is not None) >= 0.5
    ]
    speakers = [
        c for c in range(width)
        if c != text and c not in times and any(columns[c])
        and share(columns[c], lambda v: len(v.split()) <= MAX_NAME_WORDS) == 1.0
        and max(Counter(cell for cell in columns[c] if cell).values()) >= 2
    ]  # fmt: skip
    if not speakers:
        return None
    who, when = speakers[0], times[0] if times else None
    lines = []
    for number, row in enumerate(rows):
        said, speaker = row[text], row[who] if row[who] != row[text] else ""  # a merged cell repeats its text
        if number == 0 and speaker and columns[who].count(speaker) == 1 and count_words(said) <= 2:
            log.words_in_file += count_words(" ".join(row))
            log.set_aside_text(first_line, "table header", " ".join(row))
            lines.append("")
            continue
        time = row[when] if when is not None and parse_timestamp(row[when]) is not None else ""
        lines.append(f"{f'[{time}] ' if time else ''}{f'{speaker}: ' if speaker else ''}{said}")
    return lines


def read_odt_transcript(path: Path, log: ReadLog) -> list[RawTurn]:
    """OpenDocument text via odfpy; paragraph and heading numbers stand in for lines, as for DOCX."""
    from odf import teletype
    from odf.namespaces import TABLENS, TEXTNS
    from odf.opendocument import load
    from odf.table import TableCell, TableRow
    from odf.text import ChangedRegion

    if path.stat().st_size == 0:
        raise InputError(path, "file is empty")
    try:
        document = load(str(path))
    except Exception as exc:  # odfpy raises zipfile, KeyError and XML errors for damaged files
        raise InputError(path, f"not a valid OpenDocument text file ({type(exc).__name__}: {exc})") from exc
    _note_tracked_changes(log, len(document.text.getElementsByType(ChangedRegion)))
    wanted, blocks = {(TEXTNS, "p"), (TEXTNS, "h")}, []
    for node in _document_order(document.text):
        if getattr(node, "qname", None) == (TABLENS, "table"):  # a transcript laid out as a table, as in DOCX
            rows = [
                [teletype.extractText(cell) for cell in row.getElementsByType(TableCell)]
                for row in node.getElementsByType(TableRow)
            ]
            lines = table_lines(rows, len(blocks) + 1, log)
            blocks.extend(lines if lines is not None else [cell for row in rows for cell in row])
        elif getattr(node, "qname", None) in wanted:
            blocks.append(teletype.extractText(node))
    return _paragraphs(path, log, blocks, "OpenDocument")


def _document_order(node):
    """Every node under ``node`` in document order, so headings and paragraphs stay interleaved as written; a
    table is one node (its cells are read with it). The record of tracked changes is skipped: it holds the
    deleted text, which the document as shown no longer has (inserted text is inline already)."""
    from odf.namespaces import TABLENS, TEXTNS

    for child in node.childNodes:
        if getattr(child, "qname", None) == (TEXTNS, "tracked-changes"):
            continue
        yield child
        if getattr(child, "qname", None) != (TABLENS, "table"):
            yield from _document_order(child)


def read_html_transcript(path: Path, log: ReadLog) -> list[RawTurn]:
    """HTML (a web page, a Word-saved or Google Docs transcript): block text by source line, scripts and styles
    skipped. Where blocks share a source line (Google Docs writes its whole export on one line), each block is a
    line of its own and block numbers stand in for lines, as paragraph numbers do for DOCX."""
    import lxml.html
    from lxml import etree

    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(path, "file is empty")
    try:
        root = lxml.html.document_fromstring(raw)
    except (ValueError, etree.ParserError) as exc:
        raise InputError(path, f"not readable HTML ({exc})") from exc
    for junk in root.xpath("//script|//style|//head"):
        junk.drop_tree()
    etree.strip_tags(root, etree.Comment, etree.ProcessingInstruction)  # their tails are the page's
    for table in root.xpath("//table[not(ancestor::table)]"):  # a transcript laid out as a table, as in DOCX
        rows = table.xpath(".//tr")
        cells = [[" ".join(cell.text_content().split()) for cell in row.xpath("./td|./th")] for row in rows]
        read = table_lines(cells, rows[0].sourceline or 1, log) if rows else None
        if read is not None:  # its rows become paragraphs; otherwise its text is read like the rest of the page
            paragraphs = _paragraphs_of(rows, read)
            paragraphs.tail = table.tail  # text right after the table is the page's, not the table's
            table.getparent().replace(table, paragraphs)
    pieces = _html_pieces(root)
    if len({line for line, _ in pieces}) == len(pieces):
        numbered = [(line, " ".join(parts)) for (line, _), parts in sorted(pieces.items())]
    else:
        numbered = [(number, " ".join(parts)) for number, (_, parts) in enumerate(sorted(pieces.items()), start=1)]
    return _paragraphs(path, log, None, "HTML", numbered=numbered)


def _html_blocks() -> frozenset[str]:
    """lxml's block-level tags, with a line break and HTML5's sections; without cells (the cells of a row that is
    not a transcript table's read as one line) nor ``del``/``ins`` (edits inside a paragraph)."""
    from lxml.html.defs import block_tags

    sections = {"article", "aside", "body", "br", "figcaption", "footer", "header", "main", "section"}
    return frozenset((block_tags | sections) - {"td", "th", "del", "ins"})


def _html_pieces(root) -> dict[tuple[int, int], list[str]]:
    """The page's text in document order, keyed by (source line, block number): a block's pieces on one line are
    one entry, and two blocks on one line stay apart."""
    from lxml import etree

    pieces: dict[tuple[int, int], list[str]] = {}
    block, blocks = 0, _html_blocks()
    for event, element in etree.iterwalk(root, events=("start", "end")):
        if not isinstance(element.tag, str):
            continue
        block += element.tag in blocks
        piece, line = (element.text, element.sourceline) if event == "start" else (element.tail, _end_line(element))
        if piece and piece.strip():
            pieces.setdefault((line or 1, block), []).append(" ".join(piece.split()))
    return pieces


def _paragraphs_of(rows, read: list[str]):
    """A transcript table's rows as ``<p>`` elements at the rows' source lines (``table_lines``' text)."""
    import lxml.html

    holder = lxml.html.Element("div")
    for row, text in zip(rows, read, strict=True):
        paragraph = lxml.html.Element("p")
        paragraph.text, paragraph.sourceline = text, row.sourceline
        holder.append(paragraph)
    return holder


def _end_line(element) -> int | None:
    """Source line of an element's tail: after its last descendant (lxml records only start lines)."""
    descendants = list(element.iter())
    return descendants[-1].sourceline or element.sourceline


def read_pdf_transcript(path: Path, log: ReadLog) -> list[RawTurn]:
    """PDF (a transcript exported or printed to PDF: Otter, Rev, Word): each page's text layer read by pypdf, lines
    numbered through the document (a page break does not restart them). Lines that repeat on most pages, digits
    aside (running headers and footers: "Transcribed by …"), and page numbers ("3", "Page 3 of 12") are set aside,
    not read as speech."""
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    if path.stat().st_size == 0:
        raise InputError(path, "file is empty")
    try:
        pages = [page.extract_text() or "" for page in PdfReader(str(path)).pages]
    except FileNotDecryptedError as exc:  # an owner password alone is opened without asking
        raise InputError(path, "PDF is password-protected: save a copy without the password") from exc
    except Exception as exc:  # pypdf raises its own errors for damaged or truncated files
        raise InputError(path, f"not a valid PDF file ({type(exc).__name__}: {exc})") from exc
    if not any(page.strip() for page in pages):
        raise InputError(path, "PDF has no text layer (a scan? run OCR on it first)")
    running = _running_lines(pages)
    numbered, kept = list(enumerate((line for page in pages for line in page.splitlines()), start=1)), []
    for number, text in numbered:
        if _page_pattern(text) in running or _PAGE_NUMBER.match(text.strip()):
            log.words_in_file += count_words(text)
            log.set_aside_text(number, "page header or footer", text)
        else:
            kept.append((number, text))
    return _paragraphs(path, log, None, "PDF", numbered=kept)


_PAGE_NUMBER = re.compile(r"^(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$", re.IGNORECASE)  # "3", "Page 3 of 12"


def _page_pattern(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split()).lower())


def _running_lines(pages: list[str]) -> set[str]:
    """Lines (digits aside) found on at least half of the pages, and on three or more."""
    seen = Counter(pattern for page in pages for pattern in {_page_pattern(line) for line in page.splitlines()})
    return {p for p, n in seen.items() if p and n >= max(3, len(pages) / 2)}


def _paragraphs(
    path: Path, log: ReadLog, paragraphs: list[str] | None, kind: str, numbered: list[tuple[int, str]] | None = None
) -> list[RawTurn]:
    lines = numbered or [
        (number, part) for number, paragraph in enumerate(paragraphs or [], start=1) for part in paragraph.split("\n")
    ]
    if not any(text.strip() for _, text in lines):
        raise InputError(path, f"{kind} has no text paragraphs")
    return parse_labelled_lines(lines, str(path), path.stem, log)
