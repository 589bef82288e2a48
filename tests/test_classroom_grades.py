"""The classroom's grades export (classroom/export_grades.py): the same CSV from nbgrader's gradebook and from
the course grader's reports of the same hand-ins, in the shape LMS gradebooks import. No hub, no grading run:
a small gradebook and a small set of reports are built in a temporary folder."""

import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from course_instructor.grading import ExerciseGrade, GradeReport

pytest.importorskip("nbgrader")
from nbgrader.api import Gradebook  # noqa: E402

# nbgrader's own add_submission warns about its session's autoflush; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("export_grades", ROOT / "classroom" / "export_grades.py")
export_grades = importlib.util.module_from_spec(spec)
spec.loader.exec_module(export_grades)


@pytest.fixture(scope="module", autouse=True)
def alembic_on_path():
    """nbgrader makes a new gradebook with `alembic`, which it looks for on the PATH (beside this Python)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        yield


# What each learner scored, per lesson and exercise: (exercise id, points, points possible).
LESSONS = {"lesson00": "00_welcome", "lesson02": "02_autoencoders"}
EXERCISES = {
    "lesson00": [("00.1", 1), ("00.2", 1)],
    "lesson02": [("02.1", 2), ("02.2", 2), ("02.3", 1), ("02.6", 0)],  # 02.6: an ungraded practice exercise
}
SCORES = {
    "alice": {"lesson00": {"00.1": 1, "00.2": 0}, "lesson02": {"02.1": 2, "02.2": 0, "02.3": 1, "02.6": 0}},
    "bob": {"lesson00": {"00.1": 1, "00.2": 1}},  # handed in lesson 00 only
    "carol": {"lesson02": {"02.1": 0, "02.2": 2, "02.3": 0, "02.6": 0}},
}


def make_gradebook(course: Path) -> None:
    """nbgrader's gradebook as `nbgrader autograde` leaves it: grade cells exNN_k_check, automatic scores."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for assignment, notebook in LESSONS.items():
            gradebook.add_assignment(assignment)
            gradebook.update_or_create_notebook(notebook, assignment)
            for exercise_id, points in EXERCISES[assignment]:
                cell = f"ex{exercise_id.replace('.', '_')}_check"
                gradebook.update_or_create_grade_cell(
                    cell, notebook, assignment, max_score=points, cell_type="code"
                )
        for learner, lessons in SCORES.items():
            gradebook.add_student(learner)
            for assignment, scores in lessons.items():
                gradebook.add_submission(assignment, learner)
                for exercise_id, points in scores.items():
                    cell = f"ex{exercise_id.replace('.', '_')}_check"
                    grade = gradebook.find_grade(cell, LESSONS[assignment], assignment, learner)
                    grade.auto_score = points
                    grade.needs_manual_grade = False
        gradebook.db.commit()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course folder with the gradebook and the reports, built once (nbgrader makes a gradebook with alembic,
    which takes seconds); a test that changes the gradebook works on a copy."""
    folder = tmp_path_factory.mktemp("course")
    make_gradebook(folder)
    make_reports(folder)
    return folder


def gradebook_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'gradebook.db'}"


def make_reports(course: Path) -> list:
    """The course grader's JSON reports (`grade --format json -o`) of submitted/LEARNER/ASSIGNMENT/NB.ipynb."""
    files = []
    for assignment, notebook in LESSONS.items():
        reports = []
        for learner, lessons in SCORES.items():
            if assignment not in lessons:
                continue
            exercises = [
                ExerciseGrade(
                    exercise_id=exercise_id,
                    name=f"function_{exercise_id}",
                    status="practice"
                    if possible == 0
                    else ("passed" if lessons[assignment][exercise_id] else "failed"),
                    points=lessons[assignment][exercise_id],
                    max_points=possible,
                    feedback="",
                )
                for exercise_id, possible in EXERCISES[assignment]
            ]
            submission = f"submitted/{learner}/{assignment}/{notebook}.ipynb"
            reports.append(
                GradeReport(submission=submission, exercises=exercises, lesson=assignment[-2:]).to_dict()
            )
        path = course / f"course-grader-{assignment}.json"
        path.write_text(json.dumps(reports), encoding="utf-8")
        files.append(path)
    return files


def test_both_sources_give_the_same_gradebook_csv(course, tmp_path):
    reports = sorted(course.glob("course-grader-*.json"))
    from_nbgrader, from_grader = tmp_path / "nbgrader.csv", tmp_path / "grader.csv"
    export_grades.main(["--from", "nbgrader", "--course", str(course), "--out", str(from_nbgrader)])
    export_grades.main(
        [
            "--from",
            "course-grader",
            "--reports",
            *map(str, reports),
            "--course",
            str(course),
            "--out",
            str(from_grader),
        ]
    )
    expected = [
        "username,00.1,00.2,02.1,02.2,02.3,total",  # no column for the practice exercise 02.6
        "alice,1,0,2,0,1,4",
        "bob,1,1,,,,2",  # nothing handed in for lesson 02: empty cells, not zeros
        "carol,,,0,2,0,2",
    ]
    assert from_nbgrader.read_text().splitlines() == expected
    assert from_grader.read_text() == from_nbgrader.read_text()


def test_a_manual_score_in_nbgrader_replaces_the_automatic_one(course, tmp_path):
    shutil.copyfile(course / "gradebook.db", tmp_path / "gradebook.db")
    with Gradebook(gradebook_url(tmp_path)) as gradebook:
        gradebook.find_grade("ex00_2_check", "00_welcome", "lesson00", "alice").manual_score = 0.5
        gradebook.db.commit()
    grades, _ = export_grades.from_gradebook(gradebook_url(tmp_path))
    assert grades["alice"]["00.2"] == 0.5
    assert grades["bob"]["00.2"] == 1


def test_class_list_and_points_row_for_an_lms(course):
    grades, max_points = export_grades.from_gradebook(gradebook_url(course), ["lesson00"])
    lines = export_grades.grades_csv(grades, max_points, learners=["dave"], points_row=True).splitlines()
    assert lines[0] == "username,00.1,00.2,total"
    assert lines[1] == "Points Possible,1,1,2"
    assert lines[2:] == ["alice,1,0,1", "bob,1,1,2", "dave,,,"]  # carol handed in lesson 02 only: no row,
    # and dave, on the class list, handed nothing in: a row of empty cells


def test_check_cell_names_become_exercise_ids():
    assert export_grades.exercise_column("ex03_1_check") == "03.1"
    assert export_grades.exercise_column("ex09_12_check") == "09.12"
    assert export_grades.exercise_column("my_manual_cell") == "my_manual_cell"
    assert sorted(["09.12", "09.2", "10.1", "00.1"], key=export_grades.column_key) == [
        "00.1",
        "09.2",
        "09.12",
        "10.1",
    ]
