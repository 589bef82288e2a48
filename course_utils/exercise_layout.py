"""Where the exercises are in a lesson notebook: solution cells, check cells and their markers.

The convention (see the course guide): an exercise is a code cell whose solution sits between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` (inside a function), followed by a separate code cell that starts
with the checker call ``check.<name>(<name>)``. The checker, registered in ``course_utils.check``, gives the
exercise its id ("03.1") and points. Hidden tests (``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``) may
follow the checker call in a check cell.

It lives in the learner's package because building a learner's copy of a lesson (``student_version``) needs it.
The instructor tools (``course_instructor``: grading, nbgrader metadata) read notebooks through
:func:`find_exercises` too, so they all agree on what an exercise is, and all refuse the same broken layouts with
the same messages.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import nbformat

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
# nbgrader treats any line *containing* these words as a marker, so they may appear only on marker lines.
MARKER_WORDS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
LESSON_NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"


@dataclass
class Exercise:
    """One exercise of a notebook: its checker and the cells that hold its solution and its check."""

    exercise_id: str
    checker: str  # the checker's name in course_utils.check
    points: float
    check_index: int  # index of the check cell in nb.cells
    solution_index: Optional[int] = None  # index of the solution cell (None: a check with nothing to write)
    functions: List[str] = field(default_factory=list)  # functions whose bodies hold a solution region


class LayoutError(ValueError):
    """A notebook's exercise cells do not follow the convention; the message lists every problem."""


def checkers() -> Dict[str, object]:
    """Every registered checker by name (importing ``course_utils.check`` registers them all)."""
    from . import check

    return {
        name: getattr(check, name)
        for name in dir(check)
        if hasattr(getattr(check, name, None), "exercise_id")
    }


def exercise_sort_key(exercise_id: str) -> Tuple:
    """Sort "02.10" after "02.9"."""
    return tuple(int(part) if part.isdigit() else part for part in exercise_id.split("."))


def read_notebook(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def lesson_notebooks(folder: Path) -> List[Path]:
    """The lesson notebooks of a folder (``NN_name.ipynb``), in lesson order."""
    return sorted(Path(folder).glob(LESSON_NOTEBOOK_GLOB))


def python_source(source: str) -> str:
    """Cell source as plain Python: IPython magics (``%time``, ``!pip``) become function calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


def checker_call(source: str) -> Optional[str]:
    """The name ``x`` if the cell *starts with* a call ``check.x(...)``, else None.

    Only the first statement counts, so a cell that merely demonstrates a checker further down (e.g. inside
    ``try``) is not a check cell.
    """
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return None
    if (
        not tree.body
        or not isinstance(tree.body[0], ast.Expr)
        or not isinstance(tree.body[0].value, ast.Call)
    ):
        return None
    func = tree.body[0].value.func
    if not isinstance(func, ast.Attribute):
        return None
    owner = func.value
    is_check = (isinstance(owner, ast.Name) and owner.id == "check") or (
        isinstance(owner, ast.Attribute) and owner.attr == "check"
    )
    return func.attr if is_check else None


def _marker_problems(index: int, cell: nbformat.NotebookNode) -> Tuple[List[str], List[Tuple[int, int]]]:
    """Check the markers of one cell; return problems and the (begin, end) line numbers of solution regions."""
    problems: List[str] = []
    regions: List[Tuple[int, int]] = []
    where = f"cell {index + 1}"
    lines = cell.source.split("\n")
    for number, line in enumerate(lines):
        if any(word in line for word in MARKER_WORDS) and line.strip() not in (
            BEGIN_SOLUTION,
            END_SOLUTION,
            BEGIN_HIDDEN,
            END_HIDDEN,
        ):
            problems.append(
                f"{where}, line {number + 1}: {line.strip()!r} mentions a marker's words; nbgrader would treat the "
                "line as a marker. Put markers alone on their line, and rephrase any text that mentions them."
            )
    if cell.cell_type != "code":
        if any(word in cell.source for word in MARKER_WORDS) and not problems:
            problems.append(f"{where} is a {cell.cell_type} cell with solution or hidden-test markers.")
        return problems, regions
    for begin, end, kind in (
        (BEGIN_SOLUTION, END_SOLUTION, "solution"),
        (BEGIN_HIDDEN, END_HIDDEN, "hidden-test"),
    ):
        start = None
        for number, line in enumerate(lines):
            if line.strip() == begin:
                if start is not None:
                    problems.append(f"{where}, line {number + 1}: a {kind} region starts inside another one.")
                start = number
            elif line.strip() == end:
                if start is None:
                    problems.append(f"{where}, line {number + 1}: {end!r} without a {begin!r} before it.")
                elif kind == "solution":
                    regions.append((start, number))
                start = None
        if start is not None:
            problems.append(f"{where}, line {start + 1}: {begin!r} is never closed by {end!r}.")
    return problems, regions


def enclosing_function(lines: List[str], line_number: int) -> Optional[str]:
    """The name of the function whose body holds ``lines[line_number]`` (by indentation), or None."""
    indent = len(lines[line_number]) - len(lines[line_number].lstrip())
    for line in reversed(lines[:line_number]):
        match = re.match(r"^(\s*)(?:async\s+)?def\s+(\w+)", line)
        if match and len(match.group(1)) < indent:
            return match.group(2)
    return None


def find_exercises(nb: nbformat.NotebookNode) -> Tuple[List[Exercise], List[str]]:
    """The exercises of a notebook, in order, and the problems with its layout (empty when it is sound)."""
    known = checkers()
    problems: List[str] = []
    exercises: List[Exercise] = []
    pending_solution: Optional[Tuple[int, List[str]]] = None
    hidden_cells = set()
    for index, cell in enumerate(nb.cells):
        cell_problems, regions = _marker_problems(index, cell)
        problems.extend(cell_problems)
        if cell.cell_type != "code":
            continue
        if BEGIN_HIDDEN in cell.source:
            hidden_cells.add(index)
        name = checker_call(cell.source)
        if name is not None and name not in known:
            from . import check

            if not hasattr(check, name):
                problems.append(
                    f"cell {index + 1}: `check.{name}` is not a registered checker; register it in "
                    "course_utils/check.py (or fix the name)."
                )
            name = None
        if name is not None:
            info = known[name]
            solution = pending_solution[0] if pending_solution else None
            functions = pending_solution[1] if pending_solution else []
            exercises.append(Exercise(info.exercise_id, name, info.points, index, solution, functions))
            pending_solution = None
            if regions:
                problems.append(
                    f"cell {index + 1}: a check cell must not hold a solution; put it in the cell above."
                )
            continue
        if pending_solution is not None:
            problems.append(
                f"cell {pending_solution[0] + 1} holds a solution but the next code cell (cell {index + 1}) does not "
                "start with its checker call, e.g. `check.my_function(my_function)`."
            )
            pending_solution = None
        if regions:
            lines = cell.source.split("\n")
            functions = [enclosing_function(lines, begin) or "" for begin, _ in regions]
            pending_solution = (index, [f for f in functions if f])
    if pending_solution is not None:
        problems.append(f"cell {pending_solution[0] + 1} holds a solution but no check cell follows it.")
    check_cells = {e.check_index for e in exercises}
    for index in sorted(hidden_cells - check_cells):
        problems.append(f"cell {index + 1}: hidden tests belong in a check cell, after the checker call.")
    seen: Dict[str, int] = {}
    for exercise in exercises:
        if exercise.exercise_id in seen:
            problems.append(
                f"cell {exercise.check_index + 1}: exercise {exercise.exercise_id} is already checked in cell "
                f"{seen[exercise.exercise_id] + 1}; each exercise has one check cell."
            )
        seen.setdefault(exercise.exercise_id, exercise.check_index)
    return exercises, problems


def require_sound_layout(nb: nbformat.NotebookNode, label: str) -> List[Exercise]:
    """The exercises of a notebook, or a ``LayoutError`` listing every problem with its layout."""
    exercises, problems = find_exercises(nb)
    if problems:
        raise LayoutError(
            f"{label}: the exercise cells do not follow the convention:\n- " + "\n- ".join(problems)
        )
    return exercises
