"""Grounded, cited answers from the guideline corpus with a deterministic safety layer.

    from assistant import answer
    ans = answer("max tizanidine dose?", history=[...], audience="clinician")
"""

from .records import Answer, Citation, Hit, SafetyVerdict, Turn  # noqa: F401


def answer(question, history=(), audience="clinician", settings=None):
    from .pipeline import answer as _answer

    return _answer(question, history, audience, settings)


def stream_answer(question, history=(), audience="clinician", settings=None):
    from .pipeline import stream_answer as _stream

    return _stream(question, history, audience, settings)
