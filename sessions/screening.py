"""Safety screening before a session: red-flag questions and what to tell the patient.

Any "yes" to a red-flag question, or pain before of 8/10 or more, means the
session is not started and the patient's therapist gets a ``red_flag`` flag.
Every question must be answered: a missing answer is never taken as "no".
"""

from __future__ import annotations

__all__ = [
    "ADVICE_OK",
    "ADVICE_RED_FLAG",
    "ADVICE_RED_FLAG_TODAY",
    "PAIN_RISE_FLAG",
    "SCREENING_QUESTIONS",
    "SCREENING_VALID_S",
    "SEVERE_PAIN",
    "evaluate",
    "pain_rose",
]

# key -> question shown to the patient (answered yes / no)
SCREENING_QUESTIONS: dict[str, str] = {
    "arm_numbness": "Do you have new numbness, tingling or pins and needles in your arms or hands?",
    "arm_weakness": "Do you have new weakness in your arms or hands, or trouble gripping?",
    "severe_pain": "Is your pain severe, or getting worse day by day?",
    "recent_injury": "Have you had a fall, accident or other injury since your last session?",
    "fever": "Do you have a fever, or feel generally unwell?",
    "dizziness": "Do you have dizziness, double vision, or trouble speaking or swallowing?",
    "balance": "Do you have new trouble with balance or walking, or clumsy hands?",
}
SEVERE_PAIN = 8            # pain before at or above this (0-10) is a red flag on its own
PAIN_RISE_FLAG = 2         # pain after - pain before at or above this raises a pain_rise flag
SCREENING_VALID_S = 3 * 3600  # a passed screening covers sessions started within this time

ADVICE_RED_FLAG = (
    "Please don't stretch today. What you told us needs a health professional first: "
    "contact your doctor or physiotherapist. If you have sudden weakness, numbness, trouble "
    "speaking or severe pain, seek urgent care. Your therapist has been notified.")
ADVICE_RED_FLAG_TODAY = (
    "Please don't stretch today: your safety check raised a red flag earlier today, so no "
    "session can be recorded until tomorrow. Contact your doctor or physiotherapist; if you "
    "have sudden weakness, numbness, trouble speaking or severe pain, seek urgent care.")
ADVICE_OK = (
    "Thanks. Go gently: stretch only within a comfortable range and stop if pain increases, "
    "or if you feel numbness, tingling or weakness.")


def pain_rose(pain_before: int | None, pain_after: int | None) -> bool:
    """Whether pain rose enough across a session to flag it for the therapist."""
    return (pain_before is not None and pain_after is not None
            and pain_after - pain_before >= PAIN_RISE_FLAG)


def evaluate(answers: dict[str, bool], pain_before: int) -> list[str]:
    """The red flags in ``answers`` (question keys answered yes, plus ``"pain_before"``).

    Raises:
        ValueError: an unknown or missing question, a non-boolean answer, or a pain
            value outside 0..10.
    """
    if not isinstance(answers, dict):
        raise ValueError("answers must be a dict of question key -> bool")
    unknown = sorted(set(answers) - set(SCREENING_QUESTIONS))
    if unknown:
        raise ValueError(f"unknown screening question(s) {unknown}; valid: "
                         f"{', '.join(SCREENING_QUESTIONS)}")
    missing = [k for k in SCREENING_QUESTIONS if k not in answers]
    if missing:
        raise ValueError(f"every screening question must be answered; missing: "
                         f"{', '.join(missing)}")
    bad = [k for k, v in answers.items() if not isinstance(v, bool)]
    if bad:
        raise ValueError(f"answers must be true or false; not for: {', '.join(bad)}")
    check_pain(pain_before, "pain_before")
    flags = [k for k in SCREENING_QUESTIONS if answers[k]]
    if pain_before >= SEVERE_PAIN:
        flags.append("pain_before")
    return flags


def check_pain(value: object, what: str) -> int:
    """``value`` as a 0..10 pain score, or ValueError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise ValueError(f"{what} must be a whole number from 0 to 10, got {value!r}")
    return value
