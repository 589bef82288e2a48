"""Every learner's grade per exercise, as one CSV an LMS gradebook imports: one row per learner, one column per
exercise, and the total.

    sudo python classroom/export_grades.py --from course-grader --out grades.csv      # grades the hand-ins first
    sudo python classroom/export_grades.py --from nbgrader --out grades.csv           # after `nbgrader autograde`

Both read the classroom's nbgrader course folder (``CLASSROOM_RUN_DIR/course``, or ``--course DIR``):

- ``--from nbgrader``: nbgrader's gradebook (``gradebook.db``), as ``nbgrader autograde ASSIGNMENT`` (and any
  manual grading in its formgrader) left it; each autograded check cell ``exNN_k_check`` is exercise ``NN.k``.
- ``--from course-grader``: the course's own grader (``python -m course_instructor grade``, see
  INSTRUCTORS.md) on every collected hand-in, ``submitted/LEARNER/ASSIGNMENT/*.ipynb``. Run as root, it runs as the
  account ``genmodels-grader`` (made by ``accounts.py``) on copies of the hand-ins, so a learner's code being
  graded can read no one's files. Its reports are kept in ``course/grades/`` (``--reports FILE...`` exports
  from saved reports instead of grading again).

On honest hand-ins both give the same numbers (the load test checks it on its hand-ins). The columns are the
graded exercises (ungraded practice exercises have no column), named by exercise id (``00.1``); a cell is empty
when the learner handed nothing in for that lesson, and the total adds what the learner has. ``--points-row``
adds a second row with each column's points possible (Canvas wants it; Moodle does not).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

GRADER = "genmodels-grader"
CHECK_CELL = re.compile(r"^ex(\d+)_(\d+)_check$")

Grades = Dict[str, Dict[str, float]]  # learner -> exercise id -> points
MaxPoints = Dict[str, float]  # exercise id -> points possible


def exercise_column(cell_name: str) -> str:
    """nbgrader's check cell ``ex03_1_check`` -> the course's exercise id ``03.1`` (other names unchanged)."""
    match = CHECK_CELL.match(cell_name)
    return f"{int(match.group(1)):02d}.{match.group(2)}" if match else cell_name


def column_key(column: str) -> Tuple:
    parts = column.split(".")
    return (0, *map(int, parts)) if all(p.isdigit() for p in parts) else (1, column)


# ------------------------------------------------------------------------------------------------- nbgrader


def from_gradebook(db_url: str, assignments: Optional[Iterable[str]] = None) -> Tuple[Grades, MaxPoints]:
    """Grades per learner and exercise from nbgrader's gradebook (the score: manual if given, else automatic)."""
    from nbgrader.api import Gradebook, MissingEntry

    wanted = set(assignments) if assignments else None
    grades: Grades = {}
    max_points: MaxPoints = {}
    with Gradebook(db_url) as gradebook:
        for assignment in gradebook.assignments:
            if wanted is not None and assignment.name not in wanted:
                continue
            submissions = []
            for student in gradebook.students:
                try:
                    submissions.append(gradebook.find_submission(assignment.name, student.id))
                except MissingEntry:
                    continue
            if not submissions:  # released, not handed in yet: no columns (as the course grader has none)
                continue
            for notebook in assignment.notebooks:
                for cell in notebook.grade_cells:
                    if cell.max_score > 0:  # practice exercises are worth nothing: no column
                        max_points[exercise_column(cell.name)] = float(cell.max_score)
            for submission in submissions:
                mine = grades.setdefault(submission.student.id, {})
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        column = exercise_column(grade.name)
                        if column in max_points:
                            mine[column] = float(grade.score)
    return grades, max_points


# ------------------------------------------------------------------------------------------- course grader


def from_reports(reports: Iterable[Dict]) -> Tuple[Grades, MaxPoints]:
    """Grades per learner and exercise from the course grader's JSON reports of ``submitted/LEARNER/ASSIGNMENT/``."""
    grades: Grades = {}
    max_points: MaxPoints = {}
    for report in reports:
        learner = Path(report["submission"]).parts[-3]
        mine = grades.setdefault(learner, {})
        for exercise in report["exercises"]:
            if exercise["max_points"] > 0:
                max_points[exercise["exercise_id"]] = float(exercise["max_points"])
                mine[exercise["exercise_id"]] = float(exercise["points"])
    return grades, max_points


def read_reports(paths: Iterable[Path]) -> List[Dict]:
    reports = []
    for path in paths:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        reports.extend(data if isinstance(data, list) else [data])
    return reports


def run_course_grader(course: Path, assignments: Iterable[str], fast: bool = True) -> List[Path]:
    """Grade every hand-in of each assignment with the course's grader; return the JSON report files written.

    As root, the grader runs as the unprivileged account ``genmodels-grader`` on copies of the hand-ins and of
    the instructor's notebook, in a folder only that account can read, so a learner's code can read nothing else.
    """
    as_grader = os.geteuid() == 0
    if as_grader:
        try:
            grader = pwd.getpwnam(GRADER)
        except KeyError:
            raise SystemExit(f"no account {GRADER}: run `python classroom/accounts.py add` first") from None
    out_folder = course / "grades"
    out_folder.mkdir(exist_ok=True)
    written = []
    for assignment in assignments:
        hand_ins = sorted((course / "submitted").glob(f"*/{assignment}/*.ipynb"))
        sources = sorted((course / "source" / assignment).glob("*.ipynb"))
        if not hand_ins or not sources:
            continue
        with tempfile.TemporaryDirectory(prefix="grading-") as folder:
            work = Path(folder)
            copies = []
            for hand_in in hand_ins:
                copy = work / "submitted" / hand_in.relative_to(course / "submitted")
                copy.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(hand_in, copy)
                copies.append(str(copy.relative_to(work)))
            shutil.copyfile(sources[0], work / sources[0].name)
            command = [sys.executable, "-m", "course_instructor", "grade", *copies, "--format", "json"]
            command += ["--source", sources[0].name, "-o", "report.json"] + (["--fast"] if fast else [])
            options = {}
            if as_grader:
                for path in [work, *work.rglob("*")]:
                    os.chown(path, grader.pw_uid, grader.pw_gid)
                env = {"HOME": str(work), "PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"}
                env.update({k: v for k, v in os.environ.items() if k.startswith("COURSE_")})
                options = dict(user=grader.pw_uid, group=grader.pw_gid, extra_groups=[], env=env)
            subprocess.run(command, cwd=work, check=True, capture_output=True, **options)
            report = out_folder / f"course-grader-{assignment}.json"
            shutil.copyfile(work / "report.json", report)
            written.append(report)
    return written


# ------------------------------------------------------------------------------------------------------ CSV


def grades_csv(
    grades: Grades, max_points: MaxPoints, learners: Iterable[str] = (), points_row: bool = False
) -> str:
    """The gradebook as CSV: ``username, <exercise>..., total``; one row per learner, sorted by name."""
    columns = sorted(max_points, key=column_key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["username", *columns, "total"])
    if points_row:
        writer.writerow(
            ["Points Possible", *(f"{max_points[c]:g}" for c in columns), f"{sum(max_points.values()):g}"]
        )
    for learner in sorted(set(grades) | set(learners)):
        mine = grades.get(learner, {})
        cells = [f"{mine[c]:g}" if c in mine else "" for c in columns]
        total = f"{sum(mine[c] for c in columns if c in mine):g}" if any(c in mine for c in columns) else ""
        writer.writerow([learner, *cells, total])
    return buffer.getvalue()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--from", dest="source", choices=("nbgrader", "course-grader"), required=True)
    parser.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    parser.add_argument(
        "--course",
        type=Path,
        help="the nbgrader course folder (default: CLASSROOM_RUN_DIR/course, i.e. /srv/genmodels-classroom/course)",
    )
    parser.add_argument("--assignments", nargs="*", help="only these (default: every assignment handed in)")
    parser.add_argument(
        "--reports", type=Path, nargs="*", help="course grader: export these saved JSON reports"
    )
    parser.add_argument("--full", action="store_true", help="course grader: full mode instead of fast mode")
    parser.add_argument(
        "--class-list", type=Path, help="one learner a line: a row for each, handed in or not"
    )
    parser.add_argument("--points-row", action="store_true", help="a second row of points possible (Canvas)")
    args = parser.parse_args(argv)
    run = Path(os.environ.get("CLASSROOM_RUN_DIR", "/srv/genmodels-classroom"))
    course = (args.course or run / "course").expanduser().resolve()
    if args.source == "nbgrader":
        grades, max_points = from_gradebook(f"sqlite:///{course / 'gradebook.db'}", args.assignments)
    else:
        paths = args.reports
        if not paths:
            handed_in = sorted({p.name for p in (course / "submitted").glob("*/*") if p.is_dir()})
            paths = run_course_grader(course, args.assignments or handed_in, fast=not args.full)
        grades, max_points = from_reports(read_reports(paths))
    learners = args.class_list.read_text().split() if args.class_list else []
    args.out.write_text(grades_csv(grades, max_points, learners, args.points_row), encoding="utf-8")
    print(f"{args.out}: {len(set(grades) | set(learners))} learners, {len(max_points)} exercises")
    return 0


if __name__ == "__main__":
    sys.exit(main())
