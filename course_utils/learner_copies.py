"""The learner's own copies of the lessons: the exercises to write, never the answers, never written over.

    python -m course_utils.learner_copies                 # into my-notebooks/ (what `make lab` runs)
    python -m course_utils.learner_copies --into DIR      # another folder

The notebooks in ``notebooks/`` are the instructor's version, with every solution written in. A learner works in
copies of the *student* version instead (each solution replaced by a stub that raises ``NotImplementedError``,
hidden tests removed; see ``course_utils.student_version``), in a folder of the clone that git ignores.

The one rule: **nothing a learner wrote is ever lost.** A copy that exists is never touched. When a lesson is new,
its copy is written. When a lesson changed in the course since its copy was made, the new version is written
*beside* the learner's copy, under a name that says so (``05_dcgan.updated-1a2b3c4d.ipynb``), and the learner
moves their answers across when they like. To start a lesson afresh, delete (or rename) its copy and run this
again. A small record in the folder, ``.course-copies.json``, remembers which version of each lesson was already
handed out, so a second run with nothing new does nothing.

Building the copies needs nbformat alone (installed with JupyterLab), not the instructor tools
(``course_instructor``, which a learner does not install).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import nbformat

from .exercise_layout import lesson_notebooks, read_notebook
from .student_version import student_notebook

# Both relative to where it runs: the course's folder (a clone of the repository), as `make lab` does.
INSTRUCTOR_NOTEBOOKS = Path("notebooks")
DEFAULT_FOLDER = Path("my-notebooks")
RECORD_NAME = ".course-copies.json"


@dataclass
class CopyReport:
    """What one run did, file by file (names relative to the learner's folder)."""

    written: List[str] = field(default_factory=list)  # new copies: the lesson had none
    updates: List[str] = field(default_factory=list)  # a newer version, written beside the learner's copy
    kept: List[str] = field(default_factory=list)  # copies left exactly as they were

    def summary(self, folder: Path) -> str:
        lines = [f"Your copies of the lessons are in {folder}:"]
        if self.written:
            lines.append(f"  new:  {', '.join(self.written)}")
        if self.kept:
            lines.append(f"  kept as they were: {len(self.kept)} lesson(s)")
        for name in self.updates:
            original = name.split(".updated-")[0] + ".ipynb"
            lines.append(
                f"  the course changed {original} since your copy was made: the new version is {name}, "
                f"beside yours ({original} is unchanged)"
            )
        return "\n".join(lines)


def content_id(text: str) -> str:
    """A short fingerprint of one version of a student notebook (its exact text)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def updated_name(notebook_name: str, version: str) -> str:
    """``05_dcgan.ipynb`` -> ``05_dcgan.updated-1a2b3c4d.ipynb``: the name of a newer version of a lesson."""
    return f"{Path(notebook_name).stem}.updated-{version}.ipynb"


def _read_record(folder: Path) -> Dict[str, List[str]]:
    path = folder / RECORD_NAME
    if not path.exists():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # an unreadable record only means we may offer a version twice, never lose a file
    return {name: list(versions) for name, versions in record.get("handed_out", {}).items()}


def _write_record(folder: Path, record: Dict[str, List[str]]) -> None:
    text = json.dumps({"handed_out": record}, indent=1, sort_keys=True) + "\n"
    temporary = folder / (RECORD_NAME + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, folder / RECORD_NAME)


def _write_new_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, which must not exist: mode "x" refuses to open an existing file."""
    with open(path, "x", encoding="utf-8") as handle:
        handle.write(text)


def student_texts(source: Path) -> Dict[str, str]:
    """The student version of every lesson in ``source``, as the exact text each copy would hold."""
    notebooks = lesson_notebooks(source) if Path(source).is_dir() else []
    if not notebooks:
        raise FileNotFoundError(
            f"No lesson notebooks (NN_*.ipynb) in {Path(source).resolve()}. Run this in the course's folder (the "
            "clone of the repository, which holds notebooks/), or say where the lessons are with --source."
        )
    return {
        path.name: nbformat.writes(student_notebook(read_notebook(path), path.name)) + "\n"
        for path in notebooks
    }


def make_learner_copies(folder: Path = DEFAULT_FOLDER, source: Path = INSTRUCTOR_NOTEBOOKS) -> CopyReport:
    """Bring the learner's folder up to date with the course without changing any file already in it."""
    folder, source = Path(folder), Path(source)
    if folder.resolve() == source.resolve():
        raise ValueError(
            f"{folder} holds the instructor's notebooks; the learner's copies need another folder."
        )
    texts = student_texts(source)  # every lesson is built before anything is written
    folder.mkdir(parents=True, exist_ok=True)
    record = _read_record(folder)
    report = CopyReport()
    for name, text in texts.items():
        version = content_id(text)
        handed_out = record.setdefault(name, [])
        copy = folder / name
        if not copy.exists():
            _write_new_file(copy, text)
            report.written.append(name)
        elif version in handed_out or copy.read_text(encoding="utf-8") == text:
            report.kept.append(name)
        else:
            beside = folder / updated_name(name, version)
            if not beside.exists():
                _write_new_file(beside, text)
            report.updates.append(beside.name)
            report.kept.append(name)
        if version not in handed_out:
            handed_out.append(version)
    _write_record(folder, record)
    return report


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--into", type=Path, default=DEFAULT_FOLDER, help="the learner's folder (my-notebooks/)"
    )
    parser.add_argument(
        "--source", type=Path, default=INSTRUCTOR_NOTEBOOKS, help="the instructor's notebooks"
    )
    args = parser.parse_args(argv)
    try:
        report = make_learner_copies(args.into, args.source)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report.summary(args.into))
    return 0


if __name__ == "__main__":
    sys.exit(main())
