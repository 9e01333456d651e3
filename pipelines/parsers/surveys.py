"""Survey export layouts: which tool wrote a file, what its columns are called, and which of them hold
personal data or free text.

A layout is recognised from the file itself, not from its name:

| layout | header rows | recognised by |
|---|---|---|
| `qualtrics` | 3: names, question texts, `{"ImportId": ...}` | a third row of ImportId JSON in every column |
| `qualtrics_legacy` | 2: `V1, V2, ..., Q1, ...`, then labels (`ResponseID`, ...) | first cell `V1`, a `ResponseID` label |
| `surveymonkey` | 2: questions, then sub-questions / `Response` | `Respondent ID` with a blank cell below it |
| `google_forms` | 1 | first column `Timestamp` |

A column can be named in the YAML by its name (row 1) or by its question text (the second Qualtrics row);
legacy Qualtrics `V` columns are named by their label (`ResponseID`, `EndDate`, `Finished`, ...), so one YAML
reads the same way for both Qualtrics layouts. SurveyMonkey sub-questions are `Question - Sub-question`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.errors import SourceError
from pipelines.parsers.tables import delimiter_hint, normalize_header

LAYOUTS = ("qualtrics", "qualtrics_legacy", "surveymonkey", "google_forms")
TOOL_OF_LAYOUT = {
    "qualtrics": "qualtrics",
    "qualtrics_legacy": "qualtrics",
    "surveymonkey": "surveymonkey",
    "google_forms": "google_forms",
}
EXPECTED_LAYOUTS = (
    'Qualtrics (3 header rows: names, question texts, {"ImportId": ...}), legacy Qualtrics (2 header rows: '
    "V1, V2, ... then ResponseID, ...), SurveyMonkey (2 header rows: questions with 'Respondent ID', then "
    "sub-questions/'Response'), or Google Forms (1 header row starting with 'Timestamp')"
)

# Columns each tool fills with personal data whatever the survey asks (lower-cased, spaces collapsed).
# They are never loaded as they are: a YAML may only map one with `pii: hash`.
PERSONAL_COLUMNS = {
    "qualtrics": {
        "ipaddress",
        "recipientlastname",
        "recipientfirstname",
        "recipientemail",
        "locationlatitude",
        "locationlongitude",
        "locationaccuracy",
        "externalreference",
        "externaldatareference",
        # legacy labels
        "name",
        "emailaddress",
    },
    "surveymonkey": {"ip address", "email address", "first name", "last name"},
    "google_forms": {"email address", "email"},
}
PERSONAL_PREFIXES = {
    "qualtrics": ("recipient",),
    # SurveyMonkey's custom variables and its built-in contact-information question (name, email, phone...).
    "surveymonkey": ("custom data", "contact information"),
    "google_forms": (),
}
SURVEYMONKEY_FREE_TEXT = {"open-ended response", "other (please specify)"}


@dataclass
class Export:
    """A survey export's layout: its header (one name per position) and how many rows it spans."""

    layout: str
    header: list[str]
    header_rows: int
    # Other names a column answers to (question texts), by position.
    alternates: list[list[str]] = field(default_factory=list)
    # Positions of columns that hold free text (Qualtrics *_TEXT, SurveyMonkey open-ended).
    free_text: set[int] = field(default_factory=set)

    @property
    def tool(self) -> str:
        return TOOL_OF_LAYOUT[self.layout]

    def is_personal(self, name: str) -> bool:
        key = normalize_header(name).lower()
        return key in PERSONAL_COLUMNS[self.tool] or key.startswith(PERSONAL_PREFIXES[self.tool])

    def position(self, name: str) -> int | None:
        """Where a column named in the YAML is: by its name first, else by a unique question text."""
        wanted = normalize_header(name)
        if wanted in self.header:
            return self.header.index(wanted)
        matches = [i for i, names in enumerate(self.alternates) if wanted in names]
        return matches[0] if len(matches) == 1 else None


# The most header rows a layout has: detect_layout reads no further.
MAX_HEADER_ROWS = 3


def detect_layout(file: Path, head: list[list[str]]) -> Export:
    """The export's layout and header from its first rows (up to MAX_HEADER_ROWS, cells as text); a file of no
    known layout fails naming the file and what was expected."""
    first = [normalize_header(cell) for cell in head[0]]
    second = [normalize_header(cell) for cell in head[1]] if len(head) > 1 else []
    third = [cell.strip() for cell in head[2]] if len(head) > 2 else []

    if first and first[0] == "V1" and "ResponseID" in second:
        # Legacy exports name meta columns V1..V10 and put the real names on the second row.
        header = [
            label if re.fullmatch(r"V\d+", name) else name for name, label in zip(first, second, strict=True)
        ]
        return Export("qualtrics_legacy", header, 2, [[n, t] for n, t in zip(first, second, strict=True)])

    # Every column of the third row is ImportId JSON (an answer that merely starts like one is not a header).
    filled = [cell for cell in third if cell]
    if filled and all(cell.startswith('{"ImportId"') for cell in filled):
        free_text = {i for i, cell in enumerate(third) if "_TEXT" in cell}
        return Export("qualtrics", first, 3, [[text] for text in second], free_text)

    if "Respondent ID" in first and second and second[first.index("Respondent ID")] == "":
        header, question = [], ""
        for top, sub in zip(first, second, strict=True):
            question = top or question  # a question with sub-questions spans several columns
            header.append(
                question if sub in ("", "Response", "Open-Ended Response") else f"{question} - {sub}"
            )
        free_text = {i for i, sub in enumerate(second) if sub.lower() in SURVEYMONKEY_FREE_TEXT}
        return Export("surveymonkey", header, 2, [[] for _ in header], free_text)

    if first and first[0] == "Timestamp":
        return Export("google_forms", first, 1, [[] for _ in first])

    raise SourceError(
        f"{file}: not a survey export of a known layout; expected {EXPECTED_LAYOUTS}. "
        f"Found first row {first[:6]}{delimiter_hint(first)}"
    )
