"""Instructor tools: student version, nbgrader metadata, grading, and the guide's exercise table.

Small synthetic notebooks (built here) exercise every rule; every real lesson notebook is checked statically
(student version, metadata). Grading in the sandbox is tested in test_instructor_integrity.py.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest
import torch
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course_instructor import __main__ as cli
from course_instructor.catalog import sync_guide
from course_instructor.grading import FAILED, PASSED, ExerciseGrade, GradeReport, grade_notebook
from course_instructor.student import build_student_version
from course_instructor.tagging import tag_files, tag_notebook
from course_utils import meta
from course_utils.exercise_layout import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    END_HIDDEN,
    END_SOLUTION,
    LayoutError,
    find_exercises,
    lesson_notebooks,
    read_notebook,
)
from course_utils.exercises.core import CHECKERS
from course_utils.meta import SETUP_TAG, colab_url, setup_source
from course_utils.student_version import solutions_note, student_notebook

REPO = Path(__file__).resolve().parents[1]
LESSONS = lesson_notebooks(REPO / "notebooks")
try:
    import nbgrader  # noqa: F401

    HAVE_NBGRADER = True
except ImportError:
    HAVE_NBGRADER = False
needs_nbgrader = pytest.mark.skipif(
    not HAVE_NBGRADER, reason="needs the instructor extra: pip install -e '.[instructor]'"
)

SETUP = "import torch\nfrom course_utils import check"
FLATTEN_SOLUTION = '''def flatten_batch(images):
    """One row of pixels per image."""
    ### BEGIN SOLUTION
    rows_answer_line = images.reshape(len(images), -1)
    return rows_answer_line
    ### END SOLUTION'''
FLATTEN_CHECK = """check.flatten_batch(flatten_batch)
### BEGIN HIDDEN TESTS
assert flatten_batch(torch.zeros(2, 1, 28, 28)).shape == (2, 784), "hidden_test_line"
### END HIDDEN TESTS"""
RESCALE_SOLUTION = '''def to_minus_one_one(images):
    """Map [0, 1] to [-1, 1]."""
    given_scale = 2
    ### BEGIN SOLUTION
    rescaled_answer_line = images * given_scale - 1
    return rescaled_answer_line
    ### END SOLUTION'''
RESCALE_CHECK = "check.to_minus_one_one(to_minus_one_one)"
# A wrong answer demonstrated on purpose: its failing check must not count against exercise 00.2.
DEMO = """try:
    check.to_minus_one_one(lambda images: images - 0.5)
except AssertionError as feedback:
    print(feedback)"""
SOLUTION_LINES = ["rows_answer_line", "rescaled_answer_line", "hidden_test_line"]


def instructor_notebook(title: str = "# Synthetic lesson") -> nbformat.NotebookNode:
    nb = new_notebook(
        cells=[
            new_markdown_cell(f"{title}\n\nTwo exercises."),
            new_code_cell(SETUP),
            new_markdown_cell("## Exercise: flatten"),
            new_code_cell(FLATTEN_SOLUTION),
            new_code_cell(FLATTEN_CHECK),
            new_code_cell(RESCALE_SOLUTION),
            new_code_cell(RESCALE_CHECK),
            new_code_cell(DEMO),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells[4].outputs = [new_output("stream", name="stdout", text="✅ passed\n")]
    nb.cells[4].execution_count = 3
    nb.cells[4].metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00"}
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


# ---------------------------------------------------------------- layout


def test_finds_exercises_ids_points_and_functions():
    exercises, problems = find_exercises(instructor_notebook())
    assert problems == []
    assert [(e.exercise_id, e.checker, e.solution_index, e.check_index) for e in exercises] == [
        ("00.1", "flatten_batch", 3, 4),
        ("00.2", "to_minus_one_one", 5, 6),
    ]
    assert [e.functions for e in exercises] == [["flatten_batch"], ["to_minus_one_one"]]
    assert exercises[0].points == CHECKERS["00.1"].points


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda nb: nb.cells.pop(4), "does not start with its checker call"),
        (lambda nb: nb.cells.pop(6), "does not start with its checker call"),
        (
            lambda nb: setattr(nb.cells[3], "source", FLATTEN_SOLUTION.replace(END_SOLUTION, "")),
            "never closed",
        ),
        (
            lambda nb: nb.cells.append(new_markdown_cell("Write it between the BEGIN SOLUTION lines.")),
            "marker",
        ),
        (lambda nb: nb.cells.append(new_code_cell(RESCALE_CHECK)), "already checked in cell 7"),
        (lambda nb: setattr(nb.cells[6], "source", "check.no_such_checker(f)"), "not a registered checker"),
        (
            lambda nb: nb.cells.append(new_code_cell("### BEGIN HIDDEN TESTS\nx = 1\n### END HIDDEN TESTS")),
            "hidden",
        ),
    ],
)
def test_broken_layouts_are_refused_with_a_message(change, expected):
    nb = instructor_notebook()
    change(nb)
    problems = find_exercises(nb)[1]
    assert any(expected in p for p in problems), problems
    with pytest.raises(LayoutError, match="do not follow the convention"):
        student_notebook(nb) if HAVE_NBGRADER else tag_notebook(nb)


# ---------------------------------------------------------------- student version


@needs_nbgrader
def test_student_version_has_no_solution_and_keeps_the_rest():
    nb = instructor_notebook()
    student = student_notebook(nb)
    text = nbformat.writes(student)
    for line in SOLUTION_LINES:
        assert line not in text
    assert BEGIN_SOLUTION not in text and "HIDDEN TESTS" not in text
    assert "given_scale = 2" in student.cells[5].source  # scaffolding around the region is kept
    assert student.cells[4].source == RESCALE_CHECK.replace("to_minus_one_one", "flatten_batch")
    assert [c.source for i, c in enumerate(student.cells) if i not in (0, 3, 4, 5)] == [
        c.source for i, c in enumerate(nb.cells) if i not in (0, 3, 4, 5)
    ]
    note = "\n\n" + solutions_note("notebook")  # the title cell says where the worked solutions are
    assert note in student.cells[0].source and student.cells[0].source.replace(note, "") == nb.cells[0].source
    assert all(c.get("outputs", []) == [] and c.get("execution_count") is None for c in student.cells)
    assert "execution" not in student.cells[4].metadata
    assert "rows_answer_line" in nb.cells[3].source  # the instructor's notebook is untouched


@needs_nbgrader
def test_each_student_stub_raises_not_implemented_naming_the_exercise():
    student = student_notebook(instructor_notebook())
    namespace: dict = {}
    exec(student.cells[1].source, namespace)
    for index, exercise_id, name in ((3, "00.1", "flatten_batch"), (5, "00.2", "to_minus_one_one")):
        exec(student.cells[index].source, namespace)
        with pytest.raises(NotImplementedError, match=rf"Exercise {re.escape(exercise_id)}: .*{name}"):
            namespace[name](namespace["torch"].zeros(1, 1, 28, 28))


@needs_nbgrader
def test_student_version_is_byte_identical_when_built_twice(tmp_path):
    source = tmp_path / "notebooks"
    write(instructor_notebook("# 00 · Synthetic"), source / "00_synthetic.ipynb")
    write(instructor_notebook("# 01 · Other"), source / "01_other.ipynb")
    (source / "scratch.ipynb").write_text("not a lesson")  # only NN_*.ipynb are lessons
    assert cli.main(["student-version", str(tmp_path / "a"), "--source", str(source)]) == 0
    build_student_version(source, tmp_path / "b")
    first = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert first == ["00_synthetic.ipynb", "01_other.ipynb"]
    for name in first:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    build_student_version(source, tmp_path / "a")  # over an existing build: still the same bytes
    assert (tmp_path / "a" / first[0]).read_bytes() == (tmp_path / "b" / first[0]).read_bytes()


@needs_nbgrader
def test_student_version_refuses_to_overwrite_the_source_or_write_a_broken_build(tmp_path):
    source = tmp_path / "notebooks"
    write(instructor_notebook(), source / "00_good.ipynb")
    with pytest.raises(ValueError, match="instructor's folder itself"):
        build_student_version(source, source)
    broken = instructor_notebook()
    broken.cells.pop(4)
    write(broken, source / "01_broken.ipynb")
    assert cli.main(["student-version", str(tmp_path / "out"), "--source", str(source)]) == 2
    assert not (tmp_path / "out").exists()  # nothing half-built


def solution_lines(nb: nbformat.NotebookNode):
    """(lines inside solution/hidden regions, lines outside them) of a notebook's cells."""
    inside, outside = set(), set()
    for cell in nb.cells:
        region = False
        for line in cell.source.split("\n"):
            stripped = line.strip()
            if stripped.startswith("### BEGIN"):
                region = True
            elif stripped.startswith("### END"):
                region = False
            elif stripped:
                (inside if region else outside).add(stripped)
    return inside, outside


@needs_nbgrader
@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_lesson_student_version_has_no_solution_and_a_stub_per_exercise(path):
    nb = read_notebook(path)
    student = student_notebook(nb, path.name)
    inside, outside = solution_lines(nb)
    student_lines = {line.strip() for cell in student.cells for line in cell.source.split("\n")}
    leaked = sorted((inside - outside) & student_lines)
    assert not leaked, f"{path.name}: solution lines in the student version: {leaked}"
    for exercise in find_exercises(nb)[0]:
        if exercise.solution_index is not None:
            stub = student.cells[exercise.solution_index].source
            assert f'raise NotImplementedError("Exercise {exercise.exercise_id}: ' in stub
    assert len(student.cells) == len(nb.cells)
    setup = next(i for i, c in enumerate(nb.cells) if SETUP_TAG in c.metadata.get("tags", []))
    assert student.cells[setup].source == setup_source(student=True)
    title = nb.cells[0].source.replace(colab_url(path.name), student_url(path.name))
    note = "\n\n" + solutions_note(path.name)  # after the badge: where the worked solutions are
    assert note in student.cells[0].source and student.cells[0].source.replace(note, "", 1) == title
    changed = {0, setup} | {e.solution_index for e in find_exercises(nb)[0]}
    changed |= {i for i, cell in enumerate(nb.cells) if "HIDDEN TESTS" in cell.source}
    for index, (theirs, ours) in enumerate(zip(nb.cells, student.cells)):
        if index not in changed:  # prose, check cells: kept as they are
            assert ours.source == theirs.source, f"{path.name}, cell {index + 1} changed"


def student_url(name: str) -> str:
    return colab_url(name, student=True)


@needs_nbgrader
def test_no_student_notebook_links_to_an_instructor_notebook(tmp_path):
    written = build_student_version(REPO / "notebooks", tmp_path / "student")
    assert [p.name for p in written] == [p.name for p in LESSONS]
    for path in written:
        text = path.read_text(encoding="utf-8")
        for location in meta.instructor_locations():
            assert location not in text, f"{path.name} links to the instructor's notebooks ({location})"
        assert meta.INSTALL_SPEC not in text, f"{path.name} installs from the instructor's branch"
        student = read_notebook(path)
        assert f"]({student_url(path.name)})" in student.cells[0].source  # the badge opens the student copy
        assert meta.STUDENT_INSTALL_SPEC in text


@needs_nbgrader
def test_student_version_refuses_a_student_location_that_is_the_instructor_s(monkeypatch):
    monkeypatch.setattr(meta, "STUDENT_REPOSITORY", meta.REPOSITORY)
    monkeypatch.setattr(meta, "STUDENT_BRANCH", meta.BRANCH)
    with pytest.raises(ValueError, match="would open the solutions"):
        student_notebook(instructor_notebook())


def test_every_lesson_names_its_lesson_in_its_metadata():
    for path in LESSONS:
        assert read_notebook(path).metadata.get("course") == {"lesson": path.name[:2]}, path.name


# ---------------------------------------------------------------- nbgrader metadata


def test_tagging_sets_nbgrader_metadata_and_is_idempotent():
    nb = instructor_notebook()
    nb.cells[7].metadata["nbgrader"] = {"solution": True}  # stale: not an exercise cell
    changes = tag_notebook(nb)
    assert len(changes) == 5
    solution, check = nb.cells[3].metadata["nbgrader"], nb.cells[4].metadata["nbgrader"]
    assert solution["solution"] and not solution["grade"] and not solution["locked"]
    assert check["grade"] and check["locked"] and not check["solution"]
    assert check["points"] == CHECKERS["00.1"].points and check["grade_id"] == "ex00_1_check"
    assert "nbgrader" not in nb.cells[7].metadata and "nbgrader" not in nb.cells[1].metadata
    assert tag_notebook(nb) == []


@needs_nbgrader
def test_tagged_notebook_is_a_valid_nbgrader_source():
    from nbgrader.nbgraderformat import MetadataValidator

    nb = instructor_notebook()
    tag_notebook(nb)
    MetadataValidator().validate_nb(nb)  # raises on a bad id, missing points or duplicate ids


def test_tag_command_check_mode_reports_and_does_not_write(tmp_path):
    path = write(instructor_notebook(), tmp_path / "00_x.ipynb")
    before = path.read_bytes()
    assert cli.main(["tag-nbgrader", "--check", str(path)]) == 1
    assert path.read_bytes() == before
    assert cli.main(["tag-nbgrader", str(path)]) == 0
    assert cli.main(["tag-nbgrader", "--check", str(path)]) == 0
    assert tag_files([path]) == []


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_lesson_exercise_cells_carry_nbgrader_metadata(path):
    nb = read_notebook(path)
    assert find_exercises(nb)[1] == [], f"{path.name}: exercise layout problems"
    missing = tag_notebook(nb, path.name)
    assert not missing, "Run `python -m course_instructor sync`:\n" + "\n".join(missing)


def hidden_regions(nb: nbformat.NotebookNode):
    """(exercise id, source) of every hidden-test region in the check cells of a notebook."""
    for exercise in find_exercises(nb)[0]:
        source = nb.cells[exercise.check_index].source
        if BEGIN_HIDDEN in source:
            yield exercise.exercise_id, source.split(BEGIN_HIDDEN, 1)[1].split(END_HIDDEN, 1)[0]


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_every_lesson_has_a_hidden_test_whose_every_assert_says_what_is_wrong(path):
    """The message of a failed hidden test is the learner's feedback: an assert without one says nothing."""
    regions = list(hidden_regions(read_notebook(path)))
    assert regions, f"{path.name}: no check cell has a hidden test"
    for exercise_id, region in regions:
        tree = ast.parse(region)
        asserts = [node for node in ast.walk(tree) if isinstance(node, ast.Assert)]
        assert asserts, f"{path.name}, {exercise_id}: a hidden test without an assert"
        silent = [node.lineno for node in asserts if node.msg is None]
        assert not silent, (
            f"{path.name}, {exercise_id}: asserts without a message (lines {silent} of the region)"
        )


class _NoChecker:
    """Stands in for ``check`` so that a check cell runs its hidden tests alone."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


# For each hidden test written to catch an answer the visible checker lets through: that answer, and the phrase
# its failure must say.
HIDDEN_TEST_TARGETS = {
    "05.1": (
        "def transposed_output_size(size, kernel, stride, padding):\n"
        "    return (size - 1) * stride - 2 * padding + kernel",
        "with stride=1 and padding=0 as defaults",
    ),
    "05.3": (
        "def down_block(in_channels, out_channels, batch_norm=False):\n"
        "    norm = [nn.BatchNorm2d(out_channels)] if batch_norm else []\n"
        "    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 4, 2, 1), *norm, nn.LeakyReLU(0.2))",
        "keep batch_norm=True as its default",
    ),
    "06.2": (
        "def critic_loss(real_scores, fake_scores):\n    return (fake_scores - real_scores).mean()",
        "differ in size",
    ),
    "07.1": (
        "def generator_input(z, labels, num_classes=10):\n"
        "    return torch.cat([z, F.one_hot(labels, num_classes).float()], dim=1)",
        "keeps z's dtype",
    ),
    "08.2": (
        "def frechet_distance(features_a, features_b):\n"
        "    cov_a, cov_b = torch.cov(features_a.T), torch.cov(features_b.T)\n"
        "    root_a = matrix_sqrt(cov_a)\n"
        "    trace_root = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).sqrt().sum()\n"
        "    mean_term = ((features_a.mean(0) - features_b.mean(0)) ** 2).sum()\n"
        "    return mean_term + cov_a.trace() + cov_b.trace() - 2 * trace_root",
        "clamp them at 0",
    ),
    "09.2": (
        "def epsilon_loss(model, x0, alpha_bars):\n"
        "    t = torch.randint(0, len(alpha_bars), (len(x0),))\n"
        "    noise = torch.randn_like(x0)\n"
        "    a = alpha_bars[t][:, None]\n"
        "    return F.mse_loss(model(a.sqrt() * x0 + (1 - a).sqrt() * noise, t), noise)",
        "must work on images",
    ),
    "09.4": (
        "def flow_matching_loss(model, x1):\n"
        "    x0, t = torch.randn_like(x1), torch.rand(len(x1))\n"
        "    x_t = (1 - t[:, None]) * x0 + t[:, None] * x1\n"
        "    return F.mse_loss(model(x_t, t), x1 - x0)",
        "must work on images",
    ),
}


@pytest.mark.parametrize("exercise_id", sorted(HIDDEN_TEST_TARGETS))
def test_a_hidden_test_catches_the_answer_it_was_written_for(exercise_id):
    """The answer passes the visible checker; its hidden test fails it with a message that says what to fix. The
    course's own solutions of the lesson run first, as the grader supplies them."""
    from course_utils import check

    source, phrase = HIDDEN_TEST_TARGETS[exercise_id]
    nb = read_notebook(next(p for p in LESSONS if p.name.startswith(exercise_id[:2])))
    exercises = {e.exercise_id: e for e in find_exercises(nb)[0]}
    namespace = {"torch": torch, "nn": torch.nn, "F": torch.nn.functional}
    for earlier in sorted(e for e in exercises if e < exercise_id):
        exec(nb.cells[exercises[earlier].solution_index].source, namespace)
    exec(source, namespace)
    assert getattr(check, exercises[exercise_id].checker)(namespace[exercises[exercise_id].checker]).passed
    namespace["check"] = _NoChecker()
    with pytest.raises(AssertionError, match=re.escape(phrase)):
        exec(nb.cells[exercises[exercise_id].check_index].source, namespace)


def test_instructors_guide_exercise_table_is_up_to_date():
    stale = sync_guide(REPO / "INSTRUCTORS.md", REPO / "notebooks", write=False)
    assert not stale, "INSTRUCTORS.md's exercise table is out of date: run `python -m course_instructor sync`"


# ---------------------------------------------------------------- reports without a kernel


def test_markdown_and_json_reports_are_readable():
    report = GradeReport(
        "alice.ipynb",
        [
            ExerciseGrade("00.1", "flatten_batch", PASSED, 1, 1, "passed. 5 rows"),
            ExerciseGrade("00.2", "to_minus_one_one", FAILED, 0, 2, "use a | b\nnot c"),
        ],
        problems=["Cell 4 ran past its time limit"],
        seconds=3.2,
    )
    text = report.to_markdown()
    assert "**Score: 1 / 3 points** (1 of 2 graded exercises passed;" in text
    assert "| 00.2 | `to_minus_one_one` | ❌ failed | 0 / 2 | use a \\| b not c |" in text
    assert "## Problems while grading\n\n- Cell 4 ran past its time limit" in text
    data = json.loads(report.to_json())
    assert data["score"] == 1 and data["max_score"] == 3 and data["exercises"][1]["status"] == FAILED


@pytest.mark.parametrize(
    "content, expected",
    [
        ("print('hello')", "Not a readable Jupyter notebook"),
        ('{"cells": 3}', "Not a readable"),
        (None, "Not a readable"),
    ],
)
def test_a_file_that_is_not_a_notebook_gets_a_report(tmp_path, content, expected):
    path = tmp_path / "submission.ipynb"
    if content is not None:
        path.write_text(content)
    report = grade_notebook(path)
    assert report.exercises == [] and expected in report.problems[0]
    assert "Not a readable" in report.to_markdown()


def test_grade_command_writes_json(tmp_path, capsys):
    path = tmp_path / "junk.ipynb"
    path.write_text("junk")
    assert cli.main(["grade", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["problems"]
