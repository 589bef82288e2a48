"""A number a lesson quotes from its own full-mode run is one that run printed (benchmarks/results/full_run.json).

The prose of each lesson says what a full-mode run shows ("full mode: 0.37 and 0.997"). Those numbers are only
true if a run printed them: `make full-run` records every line each lesson printed, and this test reads that
record. It checks every decimal in a clause of a Markdown cell that says "full mode" (a clause ends at a full stop,
semicolon or colon): a quoted 0.37 must be the rounding of a printed number to as many decimals. Clauses about fast
mode or citing a committed benchmark file (`benchmarks/results/…`, checked by that benchmark's own record) are
left out, and so are formulas ($…$). The lesson's wall time counts as printed (in seconds and in minutes). After a re-run, `make full-run`, this test names every sentence to update.
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Iterator, List, Set

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "benchmarks" / "results" / "full_run.json"
DECIMAL = re.compile(r"(?<![\w.])\d[\d,]*\.\d+(?!\w|\.\d)")
FULL_MODE = re.compile(r"full[ -]mode", re.IGNORECASE)


def clauses(markdown: str) -> Iterator[str]:
    """The clauses of a Markdown cell: paragraphs split after '.', ';' or ':', formulas removed."""
    markdown = re.sub(r"\$[^$]*\$", "", markdown)
    for paragraph in re.split(r"\n\s*\n", markdown):
        yield from re.split(r"(?<=[.;:])\s+(?=[A-Z(*])|;\s", paragraph.replace("\n", " "))


def quoted(clause: str) -> List[str]:
    """The decimals a clause quotes from a full-mode run ([] when it is not about one)."""
    if not FULL_MODE.search(clause) or re.search(r"\bfast\b", clause, re.IGNORECASE):
        return []
    if "benchmarks/results" in clause:
        return []
    return [match.replace(",", "") for match in DECIMAL.findall(clause)]


def roundings(printed: str) -> Set[str]:
    """Every printed decimal, and its roundings to fewer decimals (both ways of rounding a half)."""
    found: Set[str] = set()
    for text in DECIMAL.findall(printed.replace("−", "-")):
        value = Decimal(text.replace(",", ""))
        places = -value.as_tuple().exponent
        for digits in range(0, places + 1):
            step = Decimal(1).scaleb(-digits)
            for mode in (ROUND_HALF_UP, ROUND_HALF_EVEN):
                found.add(str(value.quantize(step, rounding=mode)))
    return found


def lessons():
    if not RUN.exists():
        return []
    return sorted(json.loads(RUN.read_text(encoding="utf-8"))["lessons"].items())


@pytest.mark.parametrize("name,record", lessons(), ids=[name for name, _ in lessons()])
def test_every_full_mode_number_in_the_prose_was_printed_by_the_full_run(name, record):
    # what it printed, and its own wall time in seconds and minutes (a lesson's "Time:" line quotes it)
    printed = roundings(
        "\n".join(record["printed"] + [f"{record['seconds']:.1f} {record['seconds'] / 60:.2f}"])
    )
    notebook = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
    missing = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        for clause in clauses("".join(cell["source"])):
            missing += [f"cell {index}: {number} in “{clause.strip()[:160]}”" for number in quoted(clause)
                        if number not in printed]  # fmt: skip
    assert not missing, (
        f"{name}: numbers the prose gives for a full-mode run that the run in benchmarks/results/full_run.json did "
        "not print (update the prose to the run, or re-run `make full-run`):\n" + "\n".join(missing)
    )


def test_the_checker_finds_a_stale_number():
    printed = roundings("FD 173.5258 and floor 4.29; 0.365")
    numbers = [n for c in clauses("In full mode the FD is 173.53; the floor 4.3.") for n in quoted(c)]
    assert numbers == ["173.53"] and "173.53" in printed
    stale = [n for c in clauses("Full mode: the floor is 4.46 and 0.37.") for n in quoted(c)]
    assert stale == ["4.46", "0.37"] and "4.46" not in printed and "0.37" in printed
    assert quoted("In fast mode 0.91, full mode 0.89") == []
    assert quoted("Full mode, `benchmarks/results/x.json`: 12.5") == []
