"""Give exercise cells nbgrader's cell metadata, so the notebooks can serve as an nbgrader assignment source as
they are: solution cells are ``solution`` cells, check cells are locked, autograded ``grade`` cells worth the
checker's points. Every other cell loses any stale nbgrader metadata.

The metadata follows from the cells (markers and checker calls) and from ``CHECKERS``, so it is never edited by
hand: re-run ``python -m course_instructor tag-nbgrader`` after changing an exercise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

import nbformat

from course_utils.exercise_layout import Exercise, read_notebook, require_sound_layout

NBGRADER_SCHEMA_VERSION = 3


def _number(points: float):
    return int(points) if float(points).is_integer() else float(points)


def grade_id(exercise: Exercise, role: str) -> str:
    """A stable nbgrader id (letters, digits, ``_`` and ``-`` only), e.g. ``ex03_1_solution``."""
    return f"ex{exercise.exercise_id.replace('.', '_')}_{role}"


def solution_metadata(exercise: Exercise) -> Dict:
    return {
        "grade": False,
        "grade_id": grade_id(exercise, "solution"),
        "locked": False,
        "schema_version": NBGRADER_SCHEMA_VERSION,
        "solution": True,
        "task": False,
    }


def check_metadata(exercise: Exercise) -> Dict:
    return {
        "grade": True,
        "grade_id": grade_id(exercise, "check"),
        "locked": True,
        "points": _number(exercise.points),
        "schema_version": NBGRADER_SCHEMA_VERSION,
        "solution": False,
        "task": False,
    }


def wanted_metadata(nb: nbformat.NotebookNode, label: str) -> List[Optional[Dict]]:
    """For each cell, the nbgrader metadata it should carry (None: none at all)."""
    wanted: List[Optional[Dict]] = [None] * len(nb.cells)
    for exercise in require_sound_layout(nb, label):
        wanted[exercise.check_index] = check_metadata(exercise)
        if exercise.solution_index is not None:
            wanted[exercise.solution_index] = solution_metadata(exercise)
    return wanted


def tag_notebook(nb: nbformat.NotebookNode, label: str = "notebook") -> List[str]:
    """Set the nbgrader metadata of every cell in place; return what changed (empty when it was right)."""
    changes = []
    for index, (cell, wanted) in enumerate(zip(nb.cells, wanted_metadata(nb, label))):
        current = cell.metadata.get("nbgrader")
        if current == wanted:
            continue
        if wanted is None:
            del cell.metadata["nbgrader"]
            changes.append(f"{label}: cell {index + 1}: removed stale nbgrader metadata")
        else:
            cell.metadata["nbgrader"] = wanted
            role = "solution" if wanted["solution"] else f"check ({wanted['points']} points)"
            changes.append(
                f"{label}: cell {index + 1}: {'set' if current is None else 'updated'} {role} metadata"
            )
    return changes


def tag_files(paths: List[Path], write: bool = True) -> List[str]:
    """Tag notebooks on disk; a file is rewritten only when its metadata changed."""
    changes = []
    for path in paths:
        nb = read_notebook(path)
        notebook_changes = tag_notebook(nb, path.name)
        if write and notebook_changes:
            nbformat.write(nb, str(path))
        changes.extend(notebook_changes)
    return changes
