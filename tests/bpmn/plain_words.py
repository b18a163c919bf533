"""What a reason or warning shown to people must not hold: the words of Python or raw XML.

Shared by the analysis test (tests/bpmn/test_plain_reasons.py) and the engine's (tests/sharlite/
test_no_silent_wait.py). Pure text rules, so the checks are the same wherever a reason is shown.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.bpmn.test_corpus import FILES

# Shapes an outside tester found in other MIWG exports, written by hand (no licence needed).
HAZARD_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn-hazards"
HAZARDS = sorted(HAZARD_DIR.glob("*.bpmn"))
ALL_FILES = FILES + HAZARDS

# A tag copied from a file: attributes with real values, or a closing tag. A suggestion such as
# <zeebe:taskDefinition type="..."/> (its value is "...") and a bare <sequenceFlow> are ours.
_RAW_TAG = re.compile(r"<[\w:]+(\s+[\w:]+=\"(?![^\"]*\.\.\.)[^\"]*\")+\s*/?>|</[\w:]+>|b'<|b\"<")
RULES = {
    "Python repr of XML": re.compile(r"%r|<Element |0x[0-9a-fA-F]{6,}"),
    "raw XML tag": _RAW_TAG,
    "None": re.compile(r"\bNone\b"),
    "empty quotes": re.compile(r"''|\"\""),
    "Python exception or method name": re.compile(
        r"\b[A-Z][A-Za-z]+(Error|Exception)\b|\b\w+\.\w+\(\)|unexpected keyword argument|Traceback"
    ),
    "Python's syntax words": re.compile(r"Perhaps you forgot|invalid syntax|detected at line|was never closed"),
}


def python_speak(text: str) -> list[str]:
    """The rules `text` breaks (empty when it reads as plain words)."""
    return [rule for rule, pattern in RULES.items() if pattern.search(text)]
