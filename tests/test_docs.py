"""The README documents every error code the application can report, and no other."""

from __future__ import annotations

import re
from pathlib import Path

from dapp.errors import StreamdexError

README = (Path(__file__).parent.parent / "README.md").read_text()


def all_codes() -> set[str]:
    pending = list(StreamdexError.__subclasses__())
    codes = set()
    while pending:
        error = pending.pop()
        codes.add(error.code)
        pending.extend(error.__subclasses__())
    return codes


def test_every_error_code_is_documented_and_every_documented_code_exists() -> None:
    section = README.split("## Error codes", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`([A-Z][A-Z_]*)`", section))
    assert documented == all_codes()
