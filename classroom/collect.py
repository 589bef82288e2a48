"""Collect the hand-ins of an assignment, refusing any handed in under someone else's name.

    sudo python classroom/collect.py lesson00 lesson02          # then grade: export_grades.py, INSTRUCTORS.md

nbgrader names a hand-in after the student id its sender gives (``nbgrader submit --student bob`` works for
anyone), and its ``collect`` only warns when that name is not the Unix owner of the hand-in. Every learner here
has an account of their own, so the owner is who handed in: before ``nbgrader collect``, this moves each hand-in
whose name is not its owner's to ``exchange/COURSE/refused/`` (root only) and lists it, so learner A can never
hand in as learner B. Then it runs ``nbgrader collect --update`` in the course folder.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

COURSE_ID = os.environ.get("CLASSROOM_COURSE_ID", "genmodels")


def owner(path: Path) -> str:
    try:
        return pwd.getpwuid(path.stat().st_uid).pw_name
    except KeyError:
        return f"uid {path.stat().st_uid}"


def refuse_impersonations(exchange: Path, assignment: str, course_id: str = COURSE_ID) -> List[str]:
    """Move the hand-ins of ``assignment`` whose name is not their owner's out of nbgrader's reach."""
    inbound = exchange / course_id / "inbound"
    refused_folder = exchange / course_id / "refused"
    refused = []
    for entry in sorted(inbound.glob(f"*+{assignment}+*")):
        claimed = entry.name.split("+", 1)[0]
        if claimed != owner(entry):
            refused_folder.mkdir(mode=0o700, exist_ok=True)
            shutil.move(str(entry), str(refused_folder / entry.name))
            refused.append(f"{entry.name} (handed in by {owner(refused_folder / entry.name)})")
    return refused


def collect(run: Path, assignments: List[str]) -> Dict[str, List[str]]:
    """Refuse impersonations, then ``nbgrader collect --update``; return the refused hand-ins per assignment."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    refused = {}
    for assignment in assignments:
        refused[assignment] = refuse_impersonations(run / "exchange", assignment)
        subprocess.run(
            [sys.executable, "-m", "nbgrader", "collect", assignment, "--update"],
            cwd=run / "course",
            env=env,
            capture_output=True,
            check=True,
        )
    return refused


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("assignments", nargs="+")
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=Path(os.environ.get("CLASSROOM_RUN_DIR", "/srv/genmodels-classroom")),
    )
    args = parser.parse_args(argv)
    run = args.run_dir.expanduser().resolve()
    for assignment, refused in collect(run, args.assignments).items():
        submitted = sorted((run / "course" / "submitted").glob(f"*/{assignment}"))
        print(f"{assignment}: {len(submitted)} learner(s) collected in {run / 'course' / 'submitted'}")
        for item in refused:
            print(f"  refused, handed in under another learner's name: {item}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
