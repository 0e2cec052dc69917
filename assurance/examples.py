"""The example import profiles caregov ships (assurance/profiles/*.json), each with a small
export under docs/ecm-examples/: three suppliers' shapes to start a mapping from."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from assurance.mapping import normalise

FOLDER = Path(__file__).resolve().parent / "profiles"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "ecm-examples"


@cache
def example_profiles() -> tuple[dict, ...]:
    """Each example as written: name, file, about, columns (the file's names), fields (by the
    file's column names), date_format, yes, no."""
    return tuple(
        json.loads(path.read_text(encoding="utf-8")) for path in sorted(FOLDER.glob("*.json"))
    )


def as_fields(example: dict) -> dict[str, dict]:
    """An example's fields by normalised column name, as a profile keeps them."""
    return {
        field: {"column": normalise(how["column"])} if "column" in how else dict(how)
        for field, how in example["fields"].items()
    }


def example_for_header(header: list[str]) -> dict | None:
    """The example whose columns are this header (normalised), to start the mapping from."""
    for example in example_profiles():
        if [normalise(c) for c in example["columns"]] == header:
            return example
    return None
