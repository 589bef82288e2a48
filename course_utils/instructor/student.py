"""Build the student version of the course from the instructor's notebooks.

Each solution region becomes a stub that raises ``NotImplementedError`` naming the exercise and the function to
complete; hidden-test regions are removed; outputs and execution data are cleared; everything else (prose, setup
cell's code, checker calls, nbgrader metadata) is kept, except that the Colab badge and the setup cell point at the
student location set in ``course_utils.meta`` (never at the instructor's notebooks). The regions are cut by nbgrader's own ``ClearSolutions`` and
``ClearHiddenTests`` preprocessors (nbgrader is in the ``instructor`` extra, never in what learners install); this
module only writes the per-exercise message into each stub and checks the result.

Building twice gives byte-identical files: nothing depends on time, order of a set, or the machine.
"""

from __future__ import annotations

import ast
import copy
import json
from pathlib import Path
from typing import Dict, List

import nbformat

from .. import meta
from ..notebook_template import point_at_student_location
from .layout import (
    Exercise,
    enclosing_function,
    lesson_notebooks,
    python_source,
    read_notebook,
    require_sound_layout,
)

STUB_SENTINEL = "@@course-exercise-stub@@"
STUB = "# YOUR CODE HERE\n" + STUB_SENTINEL
CELL_METADATA_TO_DROP = ("execution", "collapsed", "scrolled", "ExecuteTime")
NOTEBOOK_METADATA_TO_DROP = ("widgets",)


class NbgraderMissing(RuntimeError):
    """nbgrader (the ``instructor`` extra) is not installed."""


def _preprocessors():
    try:
        from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions
    except ImportError as error:
        raise NbgraderMissing(
            "Building the student version uses nbgrader's ClearSolutions and ClearHiddenTests preprocessors. "
            "Install the instructor tools first: pip install -e '.[instructor]' (or run `make student`)."
        ) from error
    return (
        ClearSolutions(code_stub={"python": STUB}, enforce_metadata=False),
        ClearHiddenTests(enforce_metadata=False),
    )


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
    clear_solutions, clear_hidden_tests = _preprocessors()
    student = copy.deepcopy(nb)
    resources: Dict = {"language": "python"}
    by_solution_cell = {e.solution_index: e for e in exercises if e.solution_index is not None}
    check_cells = {e.check_index for e in exercises}
    for index, cell in enumerate(student.cells):
        if index in by_solution_cell:
            clear_solutions.preprocess_cell(cell, resources, index)
            cell.source = _write_messages(cell.source, by_solution_cell[index])
        if index in check_cells:
            clear_hidden_tests.preprocess_cell(cell, resources, index)
    point_at_student_location(student, label)
    _clear_outputs(student)
    _check_compiles(student, label)
    return student


def build_student_version(source_dir: Path, out_dir: Path) -> List[Path]:
    """Write the student version of every lesson notebook of ``source_dir`` into ``out_dir``; return the files."""
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    if out_dir.resolve() == source_dir.resolve():
        raise ValueError(f"{out_dir} is the instructor's folder itself; choose another output folder.")
    notebooks = lesson_notebooks(source_dir)
    if not notebooks:
        raise FileNotFoundError(f"No lesson notebooks (NN_*.ipynb) in {source_dir}.")
    # Build every notebook before writing any, so a broken one leaves the output folder as it was.
    built = [(path.name, student_notebook(read_notebook(path), path.name)) for path in notebooks]
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, nb in built:
        target = out_dir / name
        nbformat.write(nb, str(target))
        written.append(target)
    return written
