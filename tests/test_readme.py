"""The README is the course's front page: short, the two commands, and every lesson opening the student version."""

from __future__ import annotations

import re
from pathlib import Path

from course_utils import meta

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
LESSONS = sorted(path.name for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_every_lesson_links_and_badges_open_the_student_version():
    for name in LESSONS:
        github = f"https://github.com/{meta.STUDENT_REPOSITORY}/blob/{meta.STUDENT_BRANCH}/notebooks/{name}"
        assert f"]({github})" in README, f"README: lesson {name} must link to its student version ({github})"
        assert f"]({meta.colab_url(name, student=True)})" in README, f"README: {name} needs its Colab badge"


def test_no_link_leads_a_learner_to_the_solutions():
    leaks = [location for location in meta.instructor_locations() if location in README]
    assert not leaks, f"README links to the instructor's notebooks (with solutions): {leaks}"
    relative = re.findall(r"\]\((notebooks/[^)]*\.ipynb)\)", README)
    assert not relative, f"README links to instructor notebooks in the clone: {relative}"


def test_the_front_page_stays_short():
    words = len(re.sub(r"\(https?://[^)]*\)", "", README).split())  # addresses are not reading
    assert words <= 1250, (
        f"README.md has {words} words: keep the front page at about 1,200 (details elsewhere)"
    )


def test_it_says_how_to_start_and_where_the_rest_is():
    for needed in (
        "make lab",
        "make test",
        "INSTRUCTORS.md",
        "CONTRIBUTING.md",
        "benchmarks/README.md",
        "LICENSE",
    ):
        assert needed in README, f"README.md should mention {needed}"
