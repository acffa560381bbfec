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


def assign_roles(turns: pd.DataFrame, interviewers: list[str] | tuple[str, ...] = ()) -> tuple[pd.DataFrame, list[str]]:
    """Fill ``role`` for every turn; return the table and one message per inferred interview."""
    named = {name.strip().lower() for name in interviewers}
    labels = turns["speaker"].str.strip().str.lower()
    known = labels.map(lambda s: INTERVIEWER if s in named else KNOWN_LABELS.get(s, ""))
    roles = known.where(known == INTERVIEWER, PARTICIPANT)
    by_interview = turns.assign(_known=known == INTERVIEWER).groupby("interview_id", sort=False)
    speakers = by_interview["speaker"].nunique()
    settled = by_interview["_known"].any()
    messages: list[str] = []
    for interview_id in speakers.index[(speakers > 1) & ~settled]:
        group = turns[turns["interview_id"] == interview_id]
        asks = group["text"].str.contains("?", regex=False).groupby(group["speaker"], sort=False).mean()
        words = group["text"].str.split().str.len().groupby(group["speaker"], sort=False).mean()
        guess = max(asks.index, key=lambda s: (asks[s], -words[s]))
        roles[group.index] = group["speaker"].map(lambda s, g=guess: INTERVIEWER if s == g else PARTICIPANT)
        messages.append(
            f"{interview_id}: interviewer inferred as '{guess}' ({asks[guess]:.0%} of turns are questions); "
            "if wrong, pass --interviewer NAME"
        )
    return turns.assign(role=roles.to_numpy()), messages
