"""Every number a lesson's "What you should see" quotes is one a recorded run printed, or a cited result holds.

A lesson tells the learner what a healthy run shows ("full mode: 0.37 and 0.997; fast mode: 0.33"). Those numbers
are only true if a run printed them, so they are never typed from memory: `make full-run` runs every lesson in
full mode and records, per lesson, every line it printed (`benchmarks/results/full_run.json`), and
`python benchmarks/full_run.py --fast` does the same in fast mode (`benchmarks/results/fast_run.json`). This test
reads every "What you should see" block of every lesson (from that phrase to the next heading) and checks each
decimal in it against what may back it:

- a clause about full mode (a clause ends at a full stop, semicolon or colon) against the lesson's full-mode
  record, one about fast mode, or an aside about it ("(fast mode: 0.13)"), against its fast-mode record, any
  other clause against both;
- the numbers of every benchmark result the lesson cites (`benchmarks/results/NAME.json`, or the script
  `benchmarks/NAME.py`, whose results are `benchmarks/results/NAME*.json`), fractions also as percentages;
- a few constants of the mathematics, computed here (``CONSTANTS``): log 2 is not measured.

A quoted 0.37 must be the rounding of a backing number to as many decimals. Formulas ($…$), exercise numbers
("Exercise 04.5") and numbers quoted from the literature (a clause naming a paper, "et al." or a year) are left
out. After a re-run, this test names every sentence to update.
"""

from __future__ import annotations

import json
import math
import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
RUNS = {"full": RESULTS / "full_run.json", "fast": RESULTS / "fast_run.json"}
DECIMAL = re.compile(r"(?<![\w.])\d[\d,]*\.\d+(?!\w|\.\d)")
# 5.41e-05 printed: the prose writes 5.4 × 10⁻⁵, or 0.0000541
SCIENTIFIC = re.compile(r"(?<![\w.])((\d\.\d+)e[-+]?\d+)")
WHAT_YOU_SHOULD_SEE = re.compile(r"^(?:#+\s*|\*\*)What you should see", re.IGNORECASE | re.MULTILINE)
NEXT_HEADING = re.compile(r"\n#+ ")
EXERCISE = re.compile(r"\bexercise \d\d\.\d+", re.IGNORECASE)
LITERATURE = re.compile(r"\bet al\.|\(\d{4}\)|\b(?:paper|arXiv)\b", re.IGNORECASE)
CITED_RESULT = re.compile(r"benchmarks/results/([\w.-]+?)\.json")
CITED_SCRIPT = re.compile(r"benchmarks/([\w-]+)\.py")

# Numbers the prose may quote without a run: they are mathematics, not measurements.
CONSTANTS = {
    "log 2, a discriminator that can only guess": math.log(2),
    "σ(1)": 1 / (1 + math.exp(-1)),
    "1 − 0.995, the moving average's step": 1 - 0.995,
}


def clauses(markdown: str) -> Iterator[str]:
    """The clauses of a Markdown text: paragraphs split after '.', ';' or ':', formulas removed."""
    markdown = re.sub(r"\$[^$]*\$", "", markdown)
    for paragraph in re.split(r"\n\s*\n", markdown):
        yield from re.split(r"(?<=[.;:])\s+(?=[A-Z(*])|;\s", paragraph.replace("\n", " "))


def quoted(clause: str) -> List[str]:
    """The decimals a clause quotes as measured ([] for literature); exercise numbers are not figures."""
    if LITERATURE.search(clause):
        return []
    return [match.replace(",", "") for match in DECIMAL.findall(EXERCISE.sub("", clause))]


def mode_of(clause: str) -> str:
    """Which run a clause speaks of: "full", "fast", or "any" (it names neither, or both)."""
    full = re.search(r"full[ -]mode", clause, re.IGNORECASE) is not None
    fast = re.search(r"\bfast\b", clause, re.IGNORECASE) is not None
    return "full" if full and not fast else "fast" if fast and not full else "any"


FAST_ASIDE = re.compile(r"\([^()]*\bfast\b[^()]*\)", re.IGNORECASE)


def parts(clause: str) -> Iterator[Tuple[str, str]]:
    """A clause as (text, the run it speaks of): an aside about fast mode, "(fast mode: 0.13)", is a part of its
    own, and the rest of the clause is read without it."""
    for aside in FAST_ASIDE.findall(clause):
        yield aside, mode_of(aside)
    rest = FAST_ASIDE.sub("", clause)
    yield rest, mode_of(rest)


def roundings(printed: str) -> Set[str]:
    """Every decimal in a text (a number in e-notation also as its mantissa and in full), and its roundings to
    fewer decimals, both ways of rounding a half."""
    found: Set[str] = set()
    printed = printed.replace("−", "-")
    scientific = [
        text
        for number, mantissa in SCIENTIFIC.findall(printed)
        for text in (mantissa, f"{Decimal(number):f}")
    ]
    for text in DECIMAL.findall(printed) + scientific:
        value = Decimal(text.replace(",", ""))
        places = -value.as_tuple().exponent
        for digits in range(0, places + 1):
            step = Decimal(1).scaleb(-digits)
            for rounding in (ROUND_HALF_UP, ROUND_HALF_EVEN):
                found.add(str(value.quantize(step, rounding=rounding)))
    return found


def numbers_in(value) -> Iterator[str]:
    """Every number (and every string) in a JSON value, as text; fractions in [0, 1] also as percentages."""
    if isinstance(value, dict):
        for item in value.values():
            yield from numbers_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from numbers_in(item)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield repr(float(value))
        if 0 <= value <= 1:
            yield repr(100 * float(value))


@cache
def record(mode: str) -> Dict[str, dict]:
    path = RUNS[mode]
    return json.loads(path.read_text(encoding="utf-8"))["lessons"] if path.exists() else {}


def printed_by(mode: str, lesson: str) -> str:
    """What a lesson printed in a recorded run, and its wall time in seconds and minutes (a "Time:" line)."""
    run = record(mode).get(lesson)
    if run is None:
        return ""
    return "\n".join(run["printed"] + [f"{run['seconds']:.1f} {run['seconds'] / 60:.2f}"])


def cited_results(text: str) -> List[Path]:
    """The benchmark result files a lesson cites, by name or by the script that writes them."""
    paths = {RESULTS / f"{name}.json" for name in CITED_RESULT.findall(text)}
    for script in CITED_SCRIPT.findall(text):
        paths.update(RESULTS.glob(f"{script}*.json"))
    return sorted(path for path in paths if path.exists())


def what_you_should_see(cell_text: str) -> Iterator[str]:
    """The "What you should see" blocks of a Markdown cell, each up to the next heading."""
    for match in WHAT_YOU_SHOULD_SEE.finditer(cell_text):
        yield NEXT_HEADING.split(cell_text[match.start() :])[0]


def lessons() -> List[str]:
    return sorted(path.stem for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("name", lessons())
def test_every_number_a_lesson_says_you_should_see_was_printed_by_a_recorded_run(name):
    if name not in record("full"):
        pytest.fail(f"{name} has no full-mode record in {RUNS['full'].name}: run `make full-run`.")
    notebook = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
    markdown = ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown"]
    results = [json.loads(path.read_text(encoding="utf-8")) for path in cited_results("\n".join(markdown))]
    cited = "\n".join(number for result in results for number in numbers_in(result))
    constants = "\n".join(repr(value) for value in CONSTANTS.values())
    backing = {
        "full": roundings("\n".join([printed_by("full", name), cited, constants])),
        "fast": roundings("\n".join([printed_by("fast", name), cited, constants])),
    }
    backing["any"] = backing["full"] | backing["fast"]
    missing = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        for block in what_you_should_see("".join(cell["source"])):
            for clause in clauses(block):
                for text, mode in parts(clause):
                    missing += [f"cell {index}: {number} ({mode} mode) in “{clause.strip()[:160]}”"
                                for number in quoted(text) if number not in backing[mode]]  # fmt: skip
    assert not missing, (
        f"{name}: numbers its “What you should see” gives that no recorded run printed and no cited result holds "
        "(update the prose to the run, or re-run `make full-run` / `python benchmarks/full_run.py --fast`):\n"
        + "\n".join(missing)
    )


def test_the_checker_finds_a_stale_number_and_reads_each_mode_against_its_own_run():
    printed = roundings("FD 173.5258 and floor 4.29; 0.365; gradient 5.41e-05 and 6.2e-02")
    numbers = [n for c in clauses("In full mode the FD is 173.53; the floor 4.3.") for n in quoted(c)]
    assert numbers == ["173.53", "4.3"] and {"173.53", "4.3", "5.4", "0.062"} <= printed
    stale = [n for c in clauses("Full mode: the floor is 4.46 and 0.37.") for n in quoted(c)]
    assert stale == ["4.46", "0.37"] and "4.46" not in printed and "0.37" in printed
    assert [
        mode_of(c) for c in ("In fast mode 0.91", "full mode 0.89", "0.5 here", "fast and full mode")
    ] == [
        "fast",
        "full",
        "any",
        "any",
    ]
    assert quoted("Lesson 04's exercise 04.5 catches it (1.5 s)") == ["1.5"]
    assert quoted("The IWAE paper reports −86.76 nats") == [] and quoted("Ho et al. kept 0.9999") == []
    blocks = list(
        what_you_should_see("## 3. Train\n\n0.1\n\n**What you should see:** 0.2\n\n## 4. Next\n\n0.3")
    )
    assert blocks == ["**What you should see:** 0.2\n"]
    assert "44.1" in roundings("\n".join(numbers_in({"confident": 0.4412})))
    assert list(parts("its change is 0.10 (fast mode: 0.13), small")) == [
        ("(fast mode: 0.13)", "fast"),
        ("its change is 0.10 , small", "any"),
    ]
