"""The learner's copies of the lessons (`make lab` → my-notebooks/): exercises, not answers; nothing ever lost.

Issue 26: a learner opens the student version of every lesson, in a folder of their own; a second run keeps
every copy byte for byte; a lesson that changed in the course arrives beside the learner's copy, never over it.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils import meta
from course_utils.exercise_layout import find_exercises, lesson_notebooks, read_notebook
from course_utils.learner_copies import RECORD_NAME, main, make_learner_copies, updated_name
from course_utils.student_version import clear_solution_regions, remove_hidden_tests

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
LESSONS = [path.name for path in lesson_notebooks(NOTEBOOKS)]


def solution_lines(path: Path) -> set:
    """The lines inside the solution regions of an instructor notebook that appear nowhere else in it."""
    inside, outside = set(), set()
    for cell in read_notebook(path).cells:
        in_solution = False
        for line in cell.source.split("\n"):
            if "BEGIN SOLUTION" in line:
                in_solution = True
            elif "END SOLUTION" in line:
                in_solution = False
            elif line.strip():
                (inside if in_solution else outside).add(line.strip())
    return inside - outside


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """One run of the copier into an empty folder (building the ten lessons takes a few seconds)."""
    folder = tmp_path_factory.mktemp("learner") / "my-notebooks"
    report = make_learner_copies(folder, NOTEBOOKS)
    return folder, report


@pytest.fixture
def learner_folder(first_run, tmp_path):
    """A fresh copy of the first run's folder, for a test to change."""
    folder = tmp_path / "my-notebooks"
    shutil.copytree(first_run[0], folder)
    return folder


def test_first_run_writes_every_lesson_without_a_solution_line(first_run):
    folder, report = first_run
    assert report.written == LESSONS and not report.updates and not report.kept
    for name in LESSONS:
        text = (folder / name).read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text, name
        nb = nbformat.reads(text, as_version=4)
        lines = {line.strip() for cell in nb.cells for line in cell.source.split("\n")}
        leaked = sorted(solution_lines(NOTEBOOKS / name) & lines)
        assert not leaked, f"{name}: solution lines in the learner's copy: {leaked}"
        exercises, _ = find_exercises(read_notebook(NOTEBOOKS / name))
        stubs = sum(cell.source.count("raise NotImplementedError(") for cell in nb.cells)
        assert stubs >= sum(1 for e in exercises if e.solution_index is not None), name


def test_copies_point_at_the_student_version_and_say_where_the_solutions_are(first_run):
    folder, _ = first_run
    for name in LESSONS:
        text = (folder / name).read_text(encoding="utf-8")
        assert meta.colab_url(name, student=True) in text, f"{name}: the badge must open the student version"
        assert not any(location in text for location in meta.instructor_locations()), name
        title = nbformat.reads(text, as_version=4).cells[0].source
        assert f"`notebooks/{name}`" in title and "Stuck?" in title, name


def test_a_second_run_keeps_an_edited_copy_byte_for_byte(learner_folder):
    lesson = learner_folder / "00_welcome.ipynb"
    nb = nbformat.read(str(lesson), as_version=4)
    nb.cells[0].source += "\n\nMy notes: flatten keeps the batch dimension."
    nbformat.write(nb, str(lesson))
    before = {path.name: path.read_bytes() for path in learner_folder.iterdir()}

    report = make_learner_copies(learner_folder, NOTEBOOKS)

    after = {path.name: path.read_bytes() for path in learner_folder.iterdir()}
    assert {name: after[name] for name in LESSONS} == {name: before[name] for name in LESSONS}
    assert set(after) == set(before), "nothing is added when the course did not change"
    assert report.kept == LESSONS and not report.written and not report.updates


def test_a_lesson_changed_in_the_course_arrives_beside_the_learners_copy(learner_folder, tmp_path):
    source = tmp_path / "course-notebooks"
    shutil.copytree(NOTEBOOKS, source)
    changed = source / "02_autoencoders.ipynb"
    nb = nbformat.read(str(changed), as_version=4)
    nb.cells[0].source += "\n\nA paragraph the course added later."
    nbformat.write(nb, str(changed))
    mine = learner_folder / "02_autoencoders.ipynb"
    mine.write_text(mine.read_text(encoding="utf-8").replace("# 02 ·", "# 02 (mine) ·", 1), encoding="utf-8")
    before = mine.read_bytes()

    report = make_learner_copies(learner_folder, source)

    assert mine.read_bytes() == before, "the learner's copy must never be written over"
    assert len(report.updates) == 1 and report.updates[0].startswith("02_autoencoders.updated-")
    beside = learner_folder / report.updates[0]
    assert "A paragraph the course added later." in beside.read_text(encoding="utf-8")
    assert "02_autoencoders.updated-" in report.summary(learner_folder)
    assert "02_autoencoders.ipynb is unchanged" in report.summary(learner_folder)

    again = make_learner_copies(learner_folder, source)  # the same update is offered once
    assert not again.updates and not again.written
    assert sorted(p.name for p in learner_folder.glob("02_*")) == ["02_autoencoders.ipynb", beside.name]


def test_an_unedited_copy_is_not_duplicated_when_the_record_is_lost(learner_folder):
    (learner_folder / RECORD_NAME).unlink()
    report = make_learner_copies(learner_folder, NOTEBOOKS)
    assert report.kept == LESSONS and not report.updates


def test_a_deleted_copy_comes_back_fresh(learner_folder, first_run):
    (learner_folder / "01_generative_vs_discriminative.ipynb").unlink()
    report = make_learner_copies(learner_folder, NOTEBOOKS)
    assert report.written == ["01_generative_vs_discriminative.ipynb"]
    assert (learner_folder / "01_generative_vs_discriminative.ipynb").read_bytes() == (
        first_run[0] / "01_generative_vs_discriminative.ipynb"
    ).read_bytes()


def test_the_copier_refuses_the_instructors_folder_and_says_why(capsys):
    assert main(["--into", str(NOTEBOOKS), "--source", str(NOTEBOOKS)]) == 2
    assert "instructor's notebooks" in capsys.readouterr().err


def test_updated_names_say_what_they_are():
    assert updated_name("05_dcgan.ipynb", "1a2b3c4d") == "05_dcgan.updated-1a2b3c4d.ipynb"


def test_the_copies_need_no_nbgrader(tmp_path):
    """`make lab` installs no instructor tools: building a lesson must work with nbgrader and the instructor
    package (course_instructor) absent."""
    script = (
        "import sys; sys.modules['nbgrader'] = None; sys.modules['course_instructor'] = None\n"
        "from course_utils.learner_copies import make_learner_copies\n"
        f"report = make_learner_copies({str(tmp_path / 'out')!r})\n"
        "print(len(report.written))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == str(len(LESSONS))


def test_solution_and_hidden_test_regions_are_cut_as_nbgrader_cuts_them():
    """Our cutting rules agree with nbgrader's ClearSolutions and ClearHiddenTests on every lesson's cells."""
    preprocessors = pytest.importorskip("nbgrader.preprocessors")
    from course_utils.student_version import STUB

    clear_solutions = preprocessors.ClearSolutions(code_stub={"python": STUB}, enforce_metadata=False)
    clear_hidden = preprocessors.ClearHiddenTests(enforce_metadata=False)
    compared = 0
    for path in lesson_notebooks(NOTEBOOKS):
        for index, cell in enumerate(read_notebook(path).cells):
            if cell.cell_type != "code" or not ("SOLUTION" in cell.source or "HIDDEN TESTS" in cell.source):
                continue
            theirs = copy.deepcopy(cell)
            if "SOLUTION" in cell.source:
                clear_solutions.preprocess_cell(theirs, {"language": "python"}, index)
                assert clear_solution_regions(cell.source) == theirs.source, f"{path.name}, cell {index}"
            else:
                clear_hidden.preprocess_cell(theirs, {}, index)
                assert remove_hidden_tests(cell.source) == theirs.source, f"{path.name}, cell {index}"
            compared += 1
    assert compared >= len(LESSONS)


def test_the_record_lists_what_was_handed_out(first_run):
    record = json.loads((first_run[0] / RECORD_NAME).read_text(encoding="utf-8"))
    assert sorted(record["handed_out"]) == LESSONS
    assert all(len(versions) == 1 for versions in record["handed_out"].values())
