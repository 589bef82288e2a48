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


def test_the_lesson_times_are_the_full_runs():
    from benchmarks import make_readme

    assert make_readme.syllabus(README) == README, (
        "README.md's lesson times differ from benchmarks/results/full_run.json: run "
        "`python benchmarks/make_readme.py` and commit README.md."
    )


def test_the_lesson_times_come_from_the_results_files(tmp_path):
    import json

    from benchmarks import make_readme

    def run(seconds, status="ok"):
        return {"status": status, "seconds": seconds, "torch_threads": 2,
                "load_average_1min": {"at_start": 1.9, "at_end": 2.1}}  # fmt: skip

    record = {"date": "2026-01-02T03:04:05", "machine": {"cpu_count": 2}, "total_seconds": 700.0,
              "lessons": {"00_welcome": run(40.0), "01_generative_vs_discriminative": run(660.0, "error")}}  # fmt: skip
    (tmp_path / "full_run.json").write_text(json.dumps(record))
    written = make_readme.syllabus(README, tmp_path)
    rows = {
        line.split("|")[1].strip(): line for line in written.splitlines() if re.match(r"\| \d\d \|", line)
    }
    assert rows["00"].endswith("| 40 s | not measured |")
    assert rows["01"].endswith("| failed | not measured |")
    assert rows["02"].endswith("| not measured | not measured |")
    assert "2 lessons in 11.7 min" in written and "between 1.90 and 2.10" in written
    record["lessons"] = {"00_welcome": run(12.0)}
    record["machine"]["cuda"] = "NVIDIA H100"  # a run on a GPU, saved under another name
    (tmp_path / "full_run-gpu.json").write_text(json.dumps(record))
    rows = {line.split("|")[1].strip(): line for line in make_readme.syllabus(README, tmp_path).splitlines()
            if re.match(r"\| \d\d \|", line)}  # fmt: skip
    assert rows["00"].endswith("| 40 s | 12 s |")
    assert make_readme.syllabus(make_readme.syllabus(README, tmp_path), tmp_path) == make_readme.syllabus(
        README, tmp_path
    ), "writing twice must change nothing"
