"""Each interview's language, detected offline from its participants' speech (py3langid, a langid.py fork).

Interviews outside the embedding model's languages are reported; the runner leaves them out of themes unless the
user keeps them (``keep_other_languages``), so a French interview is never silently mixed into English themes.
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from .vocabulary import PARTICIPANT

# Enough speech for a sure call: every real interview in ../shared/data got the same language and probability
# from 3,000 to 20,000 characters. Taken in windows across the interview, so a long one is judged whole, and fast.
_SAMPLE_CHARS = 5_000
_WINDOWS = 5
_MIN_CHARS = 40  # below this, no language is claimed


@cache
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> tuple[str, float]:
    """(ISO 639-1 code, probability), or ('', 0.0) when there is too little text to tell."""
    sample = _sample(" ".join(text.split()))
    if len(sample) < _MIN_CHARS:
        return "", 0.0
    code, probability = _identifier().classify(sample)
    return code, round(float(probability), 3)


def _sample(text: str) -> str:
    """At most ``_SAMPLE_CHARS`` of ``text``: ``_WINDOWS`` evenly spaced windows when it is longer."""
    if len(text) <= _SAMPLE_CHARS:
        return text
    width = _SAMPLE_CHARS // _WINDOWS
    step = (len(text) - width) // (_WINDOWS - 1)
    return " ".join(text[i * step : i * step + width] for i in range(_WINDOWS))


def detect_languages(
    interviews: pd.DataFrame, turns: pd.DataFrame, languages: tuple[str, ...]
) -> tuple[pd.DataFrame, list[str]]:
    """Add ``language`` and ``language_confidence`` to the interview table; note interviews in other languages."""
    speech = turns[turns["role"] == PARTICIPANT].groupby("interview_id", sort=False)["text"].agg(" ".join)
    found = {iid: detect_language(speech.get(iid, "")) for iid in interviews["interview_id"]}
    table = interviews.assign(
        language=[found[i][0] for i in interviews["interview_id"]],
        language_confidence=[found[i][1] for i in interviews["interview_id"]],
    )
    others = table[table["interview_id"].isin(other_language_ids(table, languages))]
    messages = [
        f"{row.interview_id}: participants speak '{row.language}' (p={row.language_confidence:.2f}), not "
        f"{'/'.join(languages)}: left out of themes (keep_other_languages = true keeps it)"
        for row in others.itertuples(index=False)
    ]
    return table, messages


def other_language_ids(interviews: pd.DataFrame, languages: tuple[str, ...] | list[str]) -> set[str]:
    """Interviews whose detected language is known and not one of ``languages``."""
    return set(interviews.loc[_other(interviews, languages), "interview_id"])


def other_languages(interviews: pd.DataFrame, languages: tuple[str, ...] | list[str]) -> list[str]:
    """The known languages of the interviews that are not one of ``languages``, sorted (what a user is told)."""
    return sorted(set(interviews.loc[_other(interviews, languages), "language"])) if len(interviews) else []


def _other(interviews: pd.DataFrame, languages: tuple[str, ...] | list[str]) -> pd.Series:
    detected = interviews["language"]
    return (detected != "") & ~detected.isin(languages)
