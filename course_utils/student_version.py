"""The student version of a lesson notebook: the exercises to write, never the answers.

Each solution region becomes a stub that raises ``NotImplementedError`` naming the exercise and the function to
complete; hidden-test regions are removed; outputs and execution data are cleared; everything else (prose, setup
cell's code, checker calls, nbgrader metadata) is kept, except that the Colab badge and the setup cell point at the
student location set in ``course_utils.meta`` (never at the instructor's notebooks), and the title cell says where
the worked solutions are, for self-learners who are stuck. The regions are cut by the same rules as nbgrader's
``ClearSolutions`` and ``ClearHiddenTests`` (a test compares them), with nbformat alone.

It lives in the learner's package because ``make lab`` builds each learner's copies of the lessons with it
(``learner_copies``), with nothing but what a learner installs. The instructor tools (``course_instructor``:
``student-version``, the student branch, the nbgrader course folder) build the same version from here.

Building twice gives byte-identical files: nothing depends on time, order of a set, or the machine.
"""

from __future__ import annotations

import ast
import copy
import json

import nbformat

from . import meta
from .exercise_layout import Exercise, enclosing_function, python_source, require_sound_layout

STUB_SENTINEL = "@@course-exercise-stub@@"
STUB = "# YOUR CODE HERE\n" + STUB_SENTINEL
CELL_METADATA_TO_DROP = ("execution", "collapsed", "scrolled", "ExecuteTime")
NOTEBOOK_METADATA_TO_DROP = ("widgets",)


def _replace_regions(source: str, begin: str, end: str, replacement) -> str:
    """Replace each region from a line containing ``begin`` to one containing ``end`` (markers included) by
    ``replacement(begin_line)``, a list of lines. nbgrader's test: the words anywhere on the line."""
    lines, inside = [], False
    for line in source.split("\n"):
        if begin in line:
            lines.extend(replacement(line))
            inside = True
        elif end in line:
            inside = False
        elif not inside:
            lines.append(line)
    return "\n".join(lines)


def clear_solution_regions(source: str) -> str:
    """Replace each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` region with the stub, at the marker's indent.

    The same rule as nbgrader's ``ClearSolutions`` (a test compares the two where nbgrader is installed), written
    out here so that learners build their copies with nbformat alone.
    """

    def stub(marker_line: str) -> list:
        indent = marker_line[: len(marker_line) - len(marker_line.lstrip())]
        return [indent + stub_line for stub_line in STUB.split("\n")]

    return _replace_regions(source, "BEGIN SOLUTION", "END SOLUTION", stub)


def remove_hidden_tests(source: str) -> str:
    """Drop each ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region, markers included (as nbgrader)."""
    return _replace_regions(source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", lambda marker_line: [])


def stub_message(exercise: Exercise, function: str) -> str:
    """The message learners see when they run an exercise they have not written yet."""
    what = f"write the body of {function}" if function else f"write your code for check.{exercise.checker}"
    return f"Exercise {exercise.exercise_id}: {what} here, then run the check cell below it."


def _write_messages(source: str, exercise: Exercise) -> str:
    lines = source.split("\n")
    for number, line in enumerate(lines):
        if line.strip() == STUB_SENTINEL:
            indent = line[: len(line) - len(line.lstrip())]
            message = stub_message(exercise, enclosing_function(lines, number) or "")
            lines[number] = f"{indent}raise NotImplementedError({json.dumps(message, ensure_ascii=False)})"
    return "\n".join(lines)


def solutions_note(notebook_filename: str) -> str:
    """The line under the badge of a student notebook that says where the worked solutions are.

    A path, not a link: no link in a student notebook leads to the solutions, but a self-learner who is stuck
    should know they exist and where (the course repository's ``notebooks/`` folder).
    """
    return (
        "*This is your copy of the lesson: the exercises are yours to write, and the check cell under each one "
        "tells you what is right or wrong. Stuck? The worked solutions are in the instructor's version of this "
        f"lesson, `notebooks/{notebook_filename}` in the course repository.*"
    )


def _add_solutions_note(nb: nbformat.NotebookNode, notebook_filename: str) -> None:
    title = nb.cells[0] if nb.cells else None
    if title is None or title.cell_type != "markdown":
        return
    lines = title.source.split("\n")
    badge_line = next((i for i, line in enumerate(lines) if line.startswith("[![Open In Colab]")), 0)
    lines[badge_line + 1 : badge_line + 1] = ["", solutions_note(notebook_filename)]
    title.source = "\n".join(lines)


def point_at_student_location(nb: nbformat.NotebookNode, notebook_filename: str) -> None:
    """Rewrite a notebook's badge and setup cell (in place) to the student location of ``course_utils.meta``."""
    title = nb.cells[0] if nb.cells else None
    if title is not None and title.cell_type == "markdown" and meta.BADGE_PATTERN.search(title.source):
        title.source = meta.BADGE_PATTERN.sub(
            meta.badge(notebook_filename, student=True), title.source, count=1
        )
    for cell in nb.cells:
        if cell.cell_type == "code" and meta.SETUP_TAG in cell.get("metadata", {}).get("tags", []):
            cell.source = meta.setup_source(student=True)


def _clear_outputs(nb: nbformat.NotebookNode) -> None:
    for key in NOTEBOOK_METADATA_TO_DROP:
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        for key in CELL_METADATA_TO_DROP:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


def _check_compiles(nb: nbformat.NotebookNode, label: str) -> None:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            try:
                ast.parse(python_source(cell.source))
            except SyntaxError as error:
                raise ValueError(
                    f"{label}, cell {index + 1}: the student version does not compile: {error}"
                ) from None


def require_student_location() -> None:
    """Refuse to build when the student location of ``course_utils.meta`` is the instructor's own."""
    if (meta.STUDENT_REPOSITORY, meta.STUDENT_BRANCH) == (meta.REPOSITORY, meta.BRANCH):
        raise ValueError(
            "course_utils/meta.py: STUDENT_REPOSITORY/STUDENT_BRANCH is the instructor's repository and branch, "
            "so the student notebooks' badge would open the solutions. Set a student branch or repository there."
        )


def student_notebook(nb: nbformat.NotebookNode, label: str = "notebook") -> nbformat.NotebookNode:
    """The student version of one instructor notebook (a new notebook; ``nb`` is left as it was).

    ``label`` is the notebook's file name (``03_variational_autoencoders.ipynb``): the badge opens that name at
    the student location.
    """
    require_student_location()
    exercises = require_sound_layout(nb, label)
    student = copy.deepcopy(nb)
    by_solution_cell = {e.solution_index: e for e in exercises if e.solution_index is not None}
    check_cells = {e.check_index for e in exercises}
    for index, cell in enumerate(student.cells):
        if index in by_solution_cell:
            cell.source = _write_messages(clear_solution_regions(cell.source), by_solution_cell[index])
        if index in check_cells:
            cell.source = remove_hidden_tests(cell.source)
    point_at_student_location(student, label)
    _add_solutions_note(student, label)
    _clear_outputs(student)
    _check_compiles(student, label)
    return student
