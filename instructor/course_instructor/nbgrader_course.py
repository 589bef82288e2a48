"""Create an nbgrader course folder from the course's notebooks, outside the repository.

    python -m course_instructor nbgrader-course ~/genmodels-nbgrader            # fast mode, 600 s per cell
    python -m course_instructor nbgrader-course DIR --lessons 00 03 --full     # full mode, 1800 s per cell

The folder gets ``source/lessonNN/NN_*.ipynb`` (the instructor's notebooks: nbgrader's assignment source, with
the badge and setup cell pointed at the student location of ``course_utils.meta``, so that what nbgrader releases
links to no solution) and an
``nbgrader_config.py`` that sets the course root, the course's fast mode (``COURSE_FAST=1``, so the training
cells of a lesson fit the time limit) and a per-cell time limit that suits it. nbgrader's own default limit is 30 s
per cell, which cuts full-mode training cells; its ``validate`` command still says "Success!" then, because a
timed-out cell only matters to the grade when it is a check cell.

The folder must not be inside the repository: nbgrader writes a gradebook, students' files and releases there,
which the course's lint and tests would then read. Re-running the command refreshes ``source/`` and keeps
everything else (gradebook, submissions).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional, Sequence

import nbformat

from course_utils.exercise_layout import lesson_notebooks, read_notebook, require_sound_layout
from course_utils.student_version import point_at_student_location

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG_NAME = "nbgrader_config.py"
CONFIG_MARK = "# Written by `python -m course_instructor nbgrader-course`"
# How a config file says this command wrote it, whatever the module path in front of the command's name.
WRITTEN_BY_THIS_COMMAND = re.compile(r"^# Written by `python -m [\w.]+ nbgrader-course`", re.MULTILINE)
FAST_CELL_TIMEOUT = (
    600  # seconds: a fast-mode lesson's longest cell takes well under a minute on a laptop CPU
)
FULL_CELL_TIMEOUT = 1800  # seconds: full-mode training cells take minutes on a CPU

CONFIG_TEMPLATE = """{mark}; edit it freely (re-running the command keeps an edited file).
import os

# The course's fast mode: less data and fewer epochs, the same exercises and checkers. Kernels that nbgrader
# starts (validate, autograde) inherit it. Remove this line for full mode, and raise the time limit below.
{fast_line}

c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = {course_id!r}
# Seconds per cell when nbgrader runs a notebook (its default, 30 s, cuts training cells; validate still
# says "Success!" when a non-graded cell timed out).
c.Execute.timeout = {timeout}
c.ExecutePreprocessor.timeout = {timeout}
# nbgrader's autograde runs each submission whole, in one kernel, so code in a submission can patch a checker
# there. For grades that count, also run the course's grader on submitted/ (see INSTRUCTORS.md).
"""


class CourseFolderError(ValueError):
    """The course folder cannot be made where asked (inside the repository, or over someone else's config)."""


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def assignment_name(notebook: Path) -> str:
    """The nbgrader assignment of a lesson notebook: ``03_variational_autoencoders.ipynb`` -> ``lesson03``."""
    return f"lesson{notebook.name[:2]}"


def make_course(
    target: Path,
    lessons: Optional[Sequence[str]] = None,
    fast: bool = True,
    cell_timeout: Optional[int] = None,
    course_id: str = "generative-models",
    notebooks: Path = REPO_ROOT / "notebooks",
) -> List[Path]:
    """Write ``target/source/lessonNN/`` and ``target/nbgrader_config.py``; return the files written."""
    target = Path(target).expanduser().resolve()
    if _inside(target, REPO_ROOT.resolve()):
        raise CourseFolderError(
            f"{target} is inside the course repository ({REPO_ROOT}); nbgrader writes a gradebook and students' "
            "files there. Choose a folder outside it, e.g. ~/genmodels-nbgrader."
        )
    chosen = [p for p in lesson_notebooks(notebooks) if lessons is None or p.name[:2] in set(lessons)]
    if not chosen:
        raise FileNotFoundError(f"No lesson notebooks {list(lessons or [])} in {notebooks}.")
    for path in chosen:  # refuse before writing anything
        require_sound_layout(read_notebook(path), path.name)
    written = []
    config = target / CONFIG_NAME
    if config.exists() and not WRITTEN_BY_THIS_COMMAND.search(config.read_text(encoding="utf-8")):
        raise CourseFolderError(f"{config} exists and was not written by this command; leaving it alone.")
    target.mkdir(parents=True, exist_ok=True)
    if not config.exists():
        timeout = cell_timeout or (FAST_CELL_TIMEOUT if fast else FULL_CELL_TIMEOUT)
        fast_line = 'os.environ["COURSE_FAST"] = "1"' if fast else '# os.environ["COURSE_FAST"] = "1"'
        config.write_text(
            CONFIG_TEMPLATE.format(
                mark=CONFIG_MARK, fast_line=fast_line, course_id=course_id, timeout=timeout
            ),
            encoding="utf-8",
        )
        written.append(config)
    for path in chosen:
        folder = target / "source" / assignment_name(path)
        folder.mkdir(parents=True, exist_ok=True)
        nb = read_notebook(path)
        point_at_student_location(nb, path.name)  # what nbgrader releases must not link to the solutions
        nbformat.write(nb, str(folder / path.name))
        written.append(folder / path.name)
    return written
