"""Instructor commands (see INSTRUCTORS.md):

python -m course_instructor student-version OUT_DIR      # the learners' notebooks, solutions removed
python -m course_instructor grade SUBMISSION.ipynb [--format md|json] [--fast] [--no-strict]
python -m course_instructor tag-nbgrader [--check] [NOTEBOOK ...]   # nbgrader metadata on exercises
python -m course_instructor sync [--check]   # tag-nbgrader on all lessons + the INSTRUCTORS.md table
python -m course_instructor nbgrader-course DIR [--lessons NN ...] [--full]   # an nbgrader course folder
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

from course_utils.exercise_layout import LayoutError, lesson_notebooks

from .catalog import sync_guide
from .grading import DEFAULT_CHECK_TIMEOUT, DEFAULT_MEMORY_GB, grade_notebooks
from .nbgrader_course import CourseFolderError, make_course
from .student import build_student_version
from .tagging import tag_files

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_NOTEBOOKS = REPO_ROOT / "notebooks"
DEFAULT_GUIDE = REPO_ROOT / "INSTRUCTORS.md"


def _student_version(args) -> int:
    written = build_student_version(args.source, args.out_dir)
    for path in written:
        print(f"wrote {path}")
    print(f"Student version of {len(written)} notebook(s) in {args.out_dir}.")
    return 0


def _grade(args) -> int:
    reports = grade_notebooks(
        args.submissions,
        timeout=args.timeout,
        check_timeout=args.check_timeout,
        memory_gb=args.memory_gb,
        fast=args.fast,
        lesson=args.lesson,
        source=args.source,
        strict=args.strict,
    )
    if args.format == "json":
        data = [r.to_dict() for r in reports] if len(reports) > 1 else reports[0].to_dict()
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = "\n".join(r.to_markdown() for r in reports)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        for r in reports:
            print(f"{r.submission}: {r.score:g} / {r.max_score:g} points", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _nbgrader_course(args) -> int:
    written = make_course(
        args.folder, lessons=args.lessons, fast=not args.full, cell_timeout=args.cell_timeout
    )
    for path in written:
        print(f"wrote {path}")
    print(
        f"nbgrader course folder ready: cd {args.folder} && nbgrader generate_assignment lesson00 "
        "(see INSTRUCTORS.md for release, collect and autograde)."
    )
    return 0


def _notebooks(paths: List[Path]) -> List[Path]:
    if paths:
        return paths
    found = lesson_notebooks(DEFAULT_NOTEBOOKS)
    if not found:
        raise FileNotFoundError(f"No lesson notebooks (NN_*.ipynb) in {DEFAULT_NOTEBOOKS}.")
    return found


def _tag(args) -> int:
    changes = tag_files(_notebooks(args.notebooks), write=not args.check)
    for change in changes:
        print(("differs: " if args.check else "tagged: ") + change)
    if not changes:
        print("Every exercise cell carries its nbgrader metadata.")
    return 1 if (changes and args.check) else 0


def _sync(args) -> int:
    status = _tag(argparse.Namespace(notebooks=[], check=args.check))
    stale = sync_guide(DEFAULT_GUIDE, DEFAULT_NOTEBOOKS, write=not args.check)
    if stale:
        print(f"{'differs' if args.check else 'updated'}: the exercise table in {DEFAULT_GUIDE.name}")
    else:
        print(f"The exercise table in {DEFAULT_GUIDE.name} is up to date.")
    return 1 if (args.check and (status or stale)) else 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="python -m course_instructor",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = main.add_subparsers(dest="command", required=True)

    student = commands.add_parser("student-version", help="build the learners' notebooks into OUT_DIR")
    student.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    student.add_argument("--source", type=Path, default=DEFAULT_NOTEBOOKS, help="instructor notebooks folder")
    student.set_defaults(run=_student_version)

    grade = commands.add_parser("grade", help="run a submitted notebook and report a grade per exercise")
    grade.add_argument("submissions", type=Path, nargs="+", metavar="SUBMISSION.ipynb")
    grade.add_argument("--format", choices=("md", "json"), default="md")
    grade.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds for the whole submission (default: from the limits)",
    )
    grade.add_argument(
        "--check-timeout",
        "--cell-timeout",
        type=float,
        default=DEFAULT_CHECK_TIMEOUT,
        help=f"seconds per exercise (default {DEFAULT_CHECK_TIMEOUT:g})",
    )
    grade.add_argument(
        "--memory-gb",
        type=float,
        default=DEFAULT_MEMORY_GB,
        help=f"memory per exercise in GiB (default {DEFAULT_MEMORY_GB:g})",
    )
    grade.add_argument("--fast", action="store_true", help="run in the course's fast mode (COURSE_FAST=1)")
    grade.add_argument(
        "--lesson", help="lesson number NN (default: the notebook's metadata, else its file name)"
    )
    grade.add_argument(
        "--source",
        type=Path,
        help="the instructor's notebook or folder of notebooks (default: this repository's notebooks/)",
    )
    grade.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="a flagged exercise scores 0 (default); --no-strict only reports the findings",
    )
    grade.add_argument("--output", "-o", type=Path, help="write the report here instead of printing it")
    grade.set_defaults(run=_grade)

    tag = commands.add_parser("tag-nbgrader", help="give exercise cells their nbgrader metadata")
    tag.add_argument("notebooks", type=Path, nargs="*", help="default: every lesson notebook in notebooks/")
    tag.add_argument(
        "--check", action="store_true", help="only report what differs (exit 1 if anything does)"
    )
    tag.set_defaults(run=_tag)

    sync = commands.add_parser(
        "sync", help="tag-nbgrader on every lesson, then refresh the INSTRUCTORS.md table"
    )
    sync.add_argument(
        "--check", action="store_true", help="only report what differs (exit 1 if anything does)"
    )
    sync.set_defaults(run=_sync)
    course = commands.add_parser(
        "nbgrader-course", help="create an nbgrader course folder (outside the repository) from the lessons"
    )
    course.add_argument("folder", type=Path, metavar="DIR")
    course.add_argument("--lessons", nargs="+", metavar="NN", help="default: every lesson")
    course.add_argument(
        "--full", action="store_true", help="full mode (no COURSE_FAST) with a 1800 s cell limit"
    )
    course.add_argument("--cell-timeout", type=int, help="seconds per cell when nbgrader runs a notebook")
    course.set_defaults(run=_nbgrader_course)
    return main


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (LayoutError, CourseFolderError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
