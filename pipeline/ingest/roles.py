"""Tell the interviewer from the participant.

Order of evidence: names given in config / ``--interviewer``; well-known labels (Interviewer, Q, AI...);
otherwise, per interview, the speaker who asks the largest share of questions is the interviewer — a
guess that is reported so the user can correct it with ``--interviewer NAME``.
"""

from __future__ import annotations

import pandas as pd

INTERVIEWER, PARTICIPANT = "interviewer", "participant"

KNOWN_LABELS: dict[str, str] = {
    **dict.fromkeys(["interviewer", "moderator", "q", "ai", "assistant", "researcher", "host"], INTERVIEWER),
    **dict.fromkeys(["participant", "interviewee", "respondent", "user", "a", "customer", "guest"], PARTICIPANT),
}


def _question_share(texts: pd.Series) -> float:
    return float(texts.str.contains("?", regex=False).mean())


def assign_roles(turns: pd.DataFrame, interviewers: list[str] | tuple[str, ...] = ()) -> tuple[pd.DataFrame, list[str]]:
    """Fill ``role`` for every turn; return the table and one message per inferred interview."""
    named = {name.strip().lower() for name in interviewers}
    turns = turns.copy()
    messages: list[str] = []
    roles = pd.Series("", index=turns.index, dtype=object)
    for interview_id, group in turns.groupby("interview_id", sort=False):
        labels = group["speaker"].str.strip().str.lower()
        known = labels.map(lambda s: INTERVIEWER if s in named else KNOWN_LABELS.get(s, ""))
        speakers = list(dict.fromkeys(group["speaker"]))
        if len(speakers) == 1:
            roles[group.index] = known.where(known == INTERVIEWER, PARTICIPANT)
            continue
        if (known == INTERVIEWER).any():
            roles[group.index] = known.where(known == INTERVIEWER, PARTICIPANT)
            continue
        shares = {s: _question_share(group.loc[group["speaker"] == s, "text"]) for s in speakers}
        words = {s: group.loc[group["speaker"] == s, "text"].str.split().str.len().mean() for s in speakers}
        guess = max(speakers, key=lambda s: (shares[s], -words[s]))
        roles[group.index] = group["speaker"].map(lambda s, g=guess: INTERVIEWER if s == g else PARTICIPANT)
        messages.append(
            f"{interview_id}: interviewer inferred as '{guess}' ({shares[guess]:.0%} of turns are questions); "
            f"if wrong, pass --interviewer NAME"
        )
    turns["role"] = roles
    return turns, messages
