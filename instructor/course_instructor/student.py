"""The student version of the whole course, written to a folder (``python -m course_instructor student-version``).

The version of one notebook is ``course_utils.student_version.student_notebook``, the same transform that builds
a learner's copies with ``make lab``; this writes it for every lesson of a folder, for an instructor to hand out.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import nbformat

from course_utils.exercise_layout import lesson_notebooks, read_notebook
from course_utils.student_version import student_notebook


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
