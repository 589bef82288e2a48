"""The nbgrader recipe works with real nbgrader: a course folder made by the course's command, an assignment
generated from it, submissions autograded, and the same points as the course's own grader.

It runs nbgrader's command line (as an instructor would) on lesson 00 in fast mode: about a minute.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_instructor import __main__ as cli
from course_instructor.grading import grade_notebooks
from course_instructor.nbgrader_course import CONFIG_NAME, CourseFolderError, make_course
from course_utils import meta

pytest.importorskip("nbgrader", reason="needs the instructor extra: pip install -e '.[instructor]'")

REPO = Path(__file__).resolve().parents[1]
# Passes the visible checker (5 images) but not lesson 00's hidden test (3 images): shows hidden tests count.
TRICKY_FLATTEN = """def flatten_batch(images):
    rows = images.reshape(len(images), -1)
    return rows if len(images) != 3 else rows.flip(1)"""


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def fill(release: Path, target: Path, solutions: dict) -> Path:
    """A learner's submission: the released notebook with solution cells (by nbgrader id) written in."""
    nb = nbformat.read(str(release), as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = solutions[grade_id]
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return target


def test_the_course_folder_must_be_outside_the_repository(tmp_path):
    with pytest.raises(CourseFolderError, match="inside the course repository"):
        make_course(REPO / "my-course")
    assert not (REPO / "my-course").exists()
    (tmp_path / CONFIG_NAME).write_text("c = get_config()\n")  # someone else's config is left alone
    assert cli.main(["nbgrader-course", str(tmp_path), "--lessons", "00"]) == 2
    assert (tmp_path / CONFIG_NAME).read_text() == "c = get_config()\n"


def test_nbgrader_generates_autogrades_and_agrees_with_the_course_grader(tmp_path):
    course = tmp_path / "course"
    assert cli.main(["nbgrader-course", str(course), "--lessons", "00"]) == 0
    config = (course / CONFIG_NAME).read_text()
    assert 'os.environ["COURSE_FAST"] = "1"' in config and "c.Execute.timeout = 600" in config
    source = next((course / "source" / "lesson00").glob("00_*.ipynb"))

    generated = nbgrader(course, "generate_assignment", "lesson00")
    assert generated.returncode == 0, generated.stderr[-2000:]
    release = course / "release" / "lesson00" / source.name
    released = release.read_text(encoding="utf-8")
    assert "### BEGIN" not in released and "HIDDEN" not in released
    assert not any(location in released for location in meta.instructor_locations())

    instructor = nbformat.read(str(source), as_version=4)
    answers = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in instructor.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    }
    # One learner (nbgrader runs the whole notebook: each submission takes tens of seconds): 00.2 right, 00.1
    # right for the visible checker but not for the hidden test.
    alice = fill(
        release,
        course / "submitted" / "alice" / "lesson00" / source.name,
        {**answers, "ex00_1_solution": TRICKY_FLATTEN},
    )

    autograded = nbgrader(course, "autograde", "lesson00")
    assert autograded.returncode == 0, autograded.stderr[-2000:]
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission("lesson00", "alice")
        theirs = {grade.name: grade.score for nb in submission.notebooks for grade in nb.grades}
    report = grade_notebooks([alice], source=source, fast=True)[0]
    ours = {f"ex{e.exercise_id.replace('.', '_')}_check": e.points for e in report.exercises}
    assert ours == theirs == {"ex00_1_check": 0, "ex00_2_check": 1}
    assert "hidden test then failed" in report.exercises[0].feedback
