"""Tell interviewers from participants, per interview, from evidence; any number of each.

Evidence, strongest first (a stronger kind is never overridden by a weaker one):

1. ``roles.csv`` beside the transcripts (``interview_id,speaker,role``; ``*`` as id means every interview);
2. names given in config / ``--interviewer``;
3. the label itself: ``Interviewer 2``, ``Moderator``, ``Q``, ``AI`` vs ``Interviewee1``, ``R1``, ``P6``, ``User``
   (families in ``models/roles.toml``);
4. the participant named in the file name (``P6 Transcript.txt`` → ``P6``);
5. what speakers say of their own role in their first turns: hosts welcome and introduce ("welcome to the show",
   "my guest today"), guests thank them ("thanks for having me"); cues of both kinds cancel (``[cues]``);
6. behaviour, for speakers nothing above names (weights in ``[inference]`` of ``models/roles.toml``): a speaker who
   opens the conversation before the first known participant speaks is a host; interviewers end their turns with
   questions, talk with every other speaker, take many turns and say less. The best-scoring speaker leads;
   co-interviewers score close to the lead, and above and ask more than any known participant; the rest are
   participants, except third voices heard only before the host's welcome or inside a sponsor read. Guesses carry
   a confidence, and low ones are flagged.

The speaker table (``SPEAKER_COLUMNS``) records each speaker's role, evidence and confidence; ``insightmap roles``
writes it as a ``roles.csv`` for the researcher to correct.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .normalise import count_words, loose_id, speaker_key
from .sidecar import read_sidecar
from .vocabulary import (
    INTERVIEWER,
    OPENING,
    PARTICIPANT,
    ROLE_CUES,
    ROLE_INFERENCE,
    SPONSOR,
    filename_participant,
    label_role,
)

ROLES_FILE = "roles.csv"
# question_share: share of the speaker's turns that end in a question
SPEAKER_COLUMNS = [
    "interview_id", "speaker", "role", "evidence", "confidence", "turns", "words", "question_share",
]  # fmt: skip
LOW_CONFIDENCE = ROLE_INFERENCE.low_confidence


def read_role_overrides(folder: Path) -> tuple[dict[tuple[str, str], str], list[str]]:
    """``roles.csv``: (interview id as ``normalise.loose_id`` writes it, or ``*``; speaker key) → role, and one
    message per row skipped."""
    path = folder / ROLES_FILE
    if not path.is_file():
        return {}, []
    table, problems = read_sidecar(path, ("interview_id", "speaker", "role"))
    overrides = {}
    for row in table.itertuples():
        role = row.role.strip().lower()
        if role not in (INTERVIEWER, PARTICIPANT):
            problems.append(f"{path}:{row.Index}: role {row.role!r} is not 'interviewer' or 'participant'; skipped")
            continue
        overrides[(loose_id(row.interview_id) or "*", speaker_key(row.speaker))] = role
    return overrides, problems


def _turn_marks(turns: pd.DataFrame) -> pd.DataFrame:
    """Per turn: its position in the interview and the role cues it holds, searched in each speaker's first turns
    only (welcomes and thanks open a conversation). A host's cue counts only before any guest has thanked the hosts:
    a welcome after that is a courtesy returned."""
    keys = [turns["interview_id"], turns["speaker"]]
    position = turns.groupby("interview_id", sort=False).cumcount()
    early = turns.groupby(keys, sort=False).cumcount() < ROLE_INFERENCE.cue_turns
    opening = turns.loc[early, "text"].str.lower()

    def says(role: str) -> pd.Series:
        """The first cue of the role in each turn ("" where none)."""
        found = opening.str.extract(f"({ROLE_CUES[role].pattern})", expand=False)
        return found.reindex(turns.index).fillna("")

    thanks = says(PARTICIPANT)
    first_thanks = position.where(thanks != "").groupby(turns["interview_id"], sort=False).transform("min")
    hosting = says(INTERVIEWER).where(~(position > first_thanks), "")
    return pd.DataFrame({"position": position, "hosting": hosting, "thanks": thanks})


def speaker_stats(turns: pd.DataFrame) -> pd.DataFrame:
    """Per interview and speaker (index ``interview_id, speaker``, in order of first turn): how much they talk, how
    often their turn hands over a question, whom they talk with, when they first speak and their role cues.
    Computed for every interview at once: per interview, pandas' overhead on a few rows was most of ingest's time
    on a study of 1,000 interviews."""
    weights = ROLE_INFERENCE
    marks = _turn_marks(turns)
    words = turns["text"].map(count_words)
    asks = turns["text"].str[-weights.question_tail :].str.contains("?", regex=False)
    keys = [turns["interview_id"], turns["speaker"]]
    stats = pd.DataFrame(
        {
            "turns": words.groupby(keys, sort=False).size(),
            "words": words.groupby(keys, sort=False).sum(),
            "asks": asks.groupby(keys, sort=False).sum(),
            "first_turn": marks["position"].groupby(keys, sort=False).min(),
            **{
                f"{role}_cue": marks[column].replace("", None).groupby(keys, sort=False).first().fillna("")
                for role, column in ((INTERVIEWER, "hosting"), (PARTICIPANT, "thanks"))
            },
        }
    )
    interview = stats.groupby(level="interview_id", sort=False)
    all_turns, all_words = interview["turns"].transform("sum"), interview["words"].transform("sum")
    stats["question_share"] = stats["asks"] / stats["turns"]
    base = interview["asks"].transform("sum") / all_turns
    # Smoothed towards the interview's rate, so one turn that ends in a quoted question proves little.
    stats["asking"] = (stats["asks"] + weights.prior_turns * base) / (stats["turns"] + weights.prior_turns)
    others = (interview["turns"].transform("size") - 1).clip(lower=1)
    stats["partners"] = pd.Series(_partners(turns)).reindex(stats.index, fill_value=0) / others
    stats["turn_share"] = stats["turns"] / all_turns
    stats["word_share"] = stats["words"] / all_words.clip(lower=1)
    # Interviewers hand questions over, talk with everyone, take many turns and say less.
    stats["score"] = (
        stats["asking"]
        + weights.weight_partners * stats["partners"]
        + weights.weight_turns * stats["turn_share"]
        - weights.weight_words * stats["word_share"]
    )
    return stats


def _partners(turns: pd.DataFrame) -> dict[tuple[str, str], int]:
    """(interview, speaker) → how many other speakers of the interview they hand the word to or take it from."""
    partners: dict[tuple[str, str], set[str]] = {}
    previous: tuple[str, str] | None = None
    for key in zip(turns["interview_id"], turns["speaker"], strict=True):
        partners.setdefault(key, set())
        if previous is not None and previous[0] == key[0] and previous[1] != key[1]:
            partners[previous].add(key[1])
            partners[key].add(previous[1])
        previous = key
    return {key: len(found) for key, found in partners.items()}


def _stated_roles(
    interview_id: str,
    speakers: list[str],
    stem: str,
    named: set[str],
    overrides: dict[tuple[str, str], str],
) -> dict[str, tuple[str, str, float]]:
    """Roles the evidence states outright: speaker → (role, evidence, confidence)."""
    in_file = filename_participant(stem)
    in_file_key = _compact(speaker_key(in_file)) if in_file else None
    letters = [key for key in map(speaker_key, speakers) if len(key) == 1]
    coded = any(not label_role(key) for key in letters)  # "A", "B": a diarizer's letters, not Q/A or I/R
    stated = {}
    for speaker in speakers:
        key = speaker_key(speaker)
        override = overrides.get((loose_id(interview_id), key)) or overrides.get(("*", key))
        if override:
            stated[speaker] = (override, ROLES_FILE, 1.0)
        elif key in named:
            stated[speaker] = (INTERVIEWER, "named as interviewer in config", 1.0)
        elif (role := label_role(key)) and not (coded and len(key) == 1):
            stated[speaker] = (role, f"label '{speaker}'", 1.0)
        elif in_file_key and _compact(key) == in_file_key:
            stated[speaker] = (PARTICIPANT, "named in the file name", 0.95)
    return stated


def _cued_roles(
    cues: dict[str, tuple[str, str]], speakers: int, stated: dict[str, tuple[str, str, float]]
) -> dict[str, tuple[str, str, float]]:
    """Roles from cues (speaker → role and the cue, for the interview's speakers whose first turns hold cues of one
    kind only) where no stronger evidence names the speaker. Cues never put all of the ``speakers`` in one role:
    then they are not hosts welcoming guests, and behaviour decides."""
    cued = {s: (role, f"says \u201c{cue}\u201d", ROLE_INFERENCE.cue_confidence)
            for s, (role, cue) in cues.items() if s not in stated}  # fmt: skip
    roles = {role for role, _, _ in {**stated, **cued}.values()}
    if len(stated) + len(cued) == speakers and len(roles) == 1:
        return {}
    return cued


def _off_interview(
    speakers: list[str],
    texts: list[str],
    decided: dict[str, tuple[str, str, float]],
    stated: dict[str, tuple[str, str, float]],
    words: pd.Series,
) -> dict[str, tuple[str, str, float]]:
    """Speakers behaviour alone filed as participants who are heard only outside the interview proper: before the
    host's welcome opens the programme (pre-show checks), or in a sponsor read (from its cue to the next turn of a
    participant that evidence names). They are on the host's side; their speech is not the participants'. The
    participant who says most is never one of them (a welcome at the very end opens nothing).

    ``speakers`` and ``texts`` are the interview's turns in order."""
    hosts = {s for s, (role, _, _) in decided.items() if role == INTERVIEWER}
    participants = [s for s, (role, _, _) in decided.items() if role == PARTICIPANT]
    known = {s for s, (role, _, _) in stated.items() if role == PARTICIPANT}
    by_host = [i for i, speaker in enumerate(speakers) if speaker in hosts]
    welcome = next((i for i in by_host if OPENING.search(texts[i].lower())), 0)
    participant_turns = [i for i, speaker in enumerate(speakers) if speaker in known]
    sponsor_read: set[int] = set()
    for start in (i for i in by_host if SPONSOR.search(texts[i].lower())) if known else ():
        end = next((i for i in participant_turns if i > start), start + 1)
        sponsor_read.update(range(start, end))
    found = {}
    main = max(participants, key=lambda s: words[s], default=None)
    for speaker in participants:
        if speaker in stated or speaker == main:
            continue
        heard = {i for i, s in enumerate(speakers) if s == speaker}
        if sponsor_read and heard <= sponsor_read:
            found[speaker] = (INTERVIEWER, "heard only in a sponsor read", ROLE_INFERENCE.opening_confidence)
        elif max(heard) < welcome:
            found[speaker] = (INTERVIEWER, "heard only before the host's welcome opens the programme",
                              ROLE_INFERENCE.opening_confidence)  # fmt: skip
    return found


def _compact(key: str) -> str:
    """``respondent-3`` = ``respondent_3`` = ``respondent3``: how a file name and a label spell one person."""
    return re.sub(r"[-_]", "", key)


def _inferred_roles(stats: pd.DataFrame, stated: dict[str, tuple[str, str, float]]):
    """Speakers no evidence names. Returns speaker → (role, why, confidence).

    The lead interviewer is the best-scoring speaker with enough turns to judge (unless evidence already names
    one); others who score at least half as high, talk with most speakers, have a few turns and are not the main
    talker among them are co-interviewers (co-hosts, note-takers); everyone else is a participant.
    """
    unknown = [s for s in stats.index if s not in stated]
    if not unknown:
        return {}
    if len(stats) == 1:
        return {unknown[0]: (PARTICIPANT, "the only speaker", 0.5)}
    score = stats["score"]
    result: dict[str, tuple[str, str, float]] = {}
    known = [s for s, (role, _, _) in stated.items() if role == PARTICIPANT]
    if known:
        # Hosts open the show: whoever takes the floor before the first known participant speaks.
        first = min(known, key=lambda s: stats.loc[s, "first_turn"])
        for speaker in list(unknown):
            row = stats.loc[speaker]
            early = row["first_turn"] < stats.loc[first, "first_turn"]
            if early and row["turns"] >= ROLE_INFERENCE.co_interviewer_min_turns:
                why = f"opens the conversation before {first!r} first speaks"
                result[speaker] = (INTERVIEWER, why, ROLE_INFERENCE.opening_confidence)
                unknown.remove(speaker)
    interviewers = [s for s, (role, _, _) in stated.items() if role == INTERVIEWER] + list(result)
    if not unknown:
        return result
    leading = ROLE_INFERENCE.lead_min_turn_share
    if not any(stats.loc[s, "turn_share"] >= leading for s in interviewers):  # a greeting alone leads no interview
        judged = [s for s in unknown if stats.loc[s, "turn_share"] >= leading] or unknown
        lead = max(judged, key=lambda s: (score[s], -stats.loc[s, "words"]))
        margin = float(score[lead]) - max((float(score[s]) for s in judged if s != lead), default=0.0)
        why = f"leads: {stats.loc[lead, 'asking']:.0%} of turns end in a question, talks with most speakers"
        result[lead] = (INTERVIEWER, why, _confidence(margin))
        unknown.remove(lead)
        interviewers.append(lead)
    if not unknown:
        return result
    threshold = ROLE_INFERENCE.co_interviewer_score * float(score[interviewers].max())
    # A co-interviewer asks more, and behaves more like an interviewer, than any known participant does.
    threshold = max([threshold, *(float(score[s]) for s in known)])
    participants_ask = max((float(stats.loc[s, "asking"]) for s in known), default=-1.0)
    # Whoever says most of what is left is a participant: someone must answer (the lead may be the main talker).
    main_talker = stats.loc[unknown, "words"].idxmax()
    for speaker in unknown:
        row = stats.loc[speaker]
        co = (
            row["turns"] >= ROLE_INFERENCE.co_interviewer_min_turns
            and row["partners"] >= ROLE_INFERENCE.co_interviewer_min_partners
            and speaker != main_talker
            and score[speaker] >= threshold
            and row["asking"] > participants_ask
        )
        margin = abs(float(score[speaker]) - threshold)
        if co:
            why = f"co-interviewer: {row['asking']:.0%} of turns end in a question, {row['word_share']:.0%} of words"
            result[speaker] = (INTERVIEWER, why, _confidence(margin))
        else:
            why = f"answers: {row['asking']:.0%} of turns end in a question, {row['word_share']:.0%} of words"
            result[speaker] = (PARTICIPANT, why, _confidence(margin))
    return result


def _confidence(margin: float) -> float:
    """A margin between competing readings (0 = a coin flip) → 0.5…0.95."""
    return round(min(0.95, 0.5 + max(margin, 0.0) * 2), 2)


def assign_roles(
    turns: pd.DataFrame,
    interviewers: list[str] | tuple[str, ...] = (),
    overrides: dict[tuple[str, str], str] | None = None,
    stems: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Fill ``role`` for every turn; return the turns, the speaker table and one note per doubtful interview."""
    named = {speaker_key(name) for name in interviewers}
    overrides, stems = overrides or {}, stems or {}
    speaker_rows, messages = [], []
    roles: dict[tuple[str, str], str] = {}
    rows = turns.groupby("interview_id", sort=False).indices
    all_speakers, all_texts = turns["speaker"].to_numpy(), turns["text"].to_numpy()
    all_stats = speaker_stats(turns)
    hosting, thanking = all_stats[f"{INTERVIEWER}_cue"], all_stats[f"{PARTICIPANT}_cue"]
    cues: dict[str, dict[str, tuple[str, str]]] = {}
    for (interview_id, speaker), hosts in hosting[(hosting != "") != (thanking != "")].items():
        cue = (INTERVIEWER, hosts) if hosts else (PARTICIPANT, thanking[(interview_id, speaker)])
        cues.setdefault(interview_id, {})[speaker] = cue
    for interview_id, stats in all_stats.groupby(level="interview_id", sort=False):
        stats = stats.droplevel("interview_id")
        stated = _stated_roles(interview_id, list(stats.index), stems.get(interview_id, interview_id), named, overrides)
        if interview_id in cues and len(stats) > 2:
            stated |= _cued_roles(cues[interview_id], len(stats), stated)
        decided = {**stated, **_inferred_roles(stats, stated)}
        if len(stats) > 2:  # a third voice may be a crew member or a sponsor's
            at = rows[interview_id]
            decided |= _off_interview(list(all_speakers[at]), list(all_texts[at]), decided, stated, stats["words"])
        for speaker, (role, evidence, confidence) in decided.items():
            roles[(interview_id, speaker)] = role
            row = stats.loc[speaker]
            speaker_rows.append(
                [interview_id, speaker, role, evidence, confidence, int(row["turns"]), int(row["words"]),
                 round(float(row["question_share"]), 3)]
            )  # fmt: skip
        doubtful = [s for s, (_, _, c) in decided.items() if c < LOW_CONFIDENCE]
        if doubtful:
            messages.append(
                f"{interview_id}: roles guessed with low confidence for {', '.join(map(repr, doubtful))}; "
                f"check them with 'insightmap roles' and correct {ROLES_FILE}"
            )
    speakers = pd.DataFrame(speaker_rows, columns=SPEAKER_COLUMNS)
    keys = list(zip(turns["interview_id"], turns["speaker"], strict=True))
    return turns.assign(role=[roles[k] for k in keys]), speakers, messages
