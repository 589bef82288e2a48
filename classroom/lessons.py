"""The lessons in each learner's home, updated mid-term without ever writing over a learner's work.

    sudo python classroom/lessons.py update              # after prepare.py published a change: every learner now
    python classroom/lessons.py copy --into ~/lessons --student DIR     # what runs as the learner (the hub does it)

The rule is the course's own (``course_utils.learner_copies``, what ``make lab`` uses): a lesson the learner has
no copy of is written; a copy that exists is never touched; when the course changed a lesson since the learner's
copy was made, the new version arrives *beside* it as ``NN_name.updated-<hash>.ipynb``, and the learner moves
their answers across when they like.

The texts come from ``CLASSROOM_RUN_DIR/student/``: the student version of each lesson, exactly as
``learner_copies`` builds it from the instructor's notebooks, written there by ``prepare.py`` (learners cannot
read the instructor's notebooks; they can read ``student/``, which holds no solution). Each learner's copy is made
by a process running as that learner, so every file in their home is theirs and nothing is written with root's
rights inside a folder a learner controls.

The hub runs ``copy`` for a learner before each start of their server, so a learner whose server is stopped gets
a change at their next start; ``update`` brings everyone up to date at once, running servers included.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pwd
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

HERE = Path(__file__).resolve().parent
LESSONS = "lessons"  # the folder in each home


def student_texts_from(student: Path) -> Dict[str, str]:
    """The exact text of each lesson in ``student/`` (built by prepare.py with ``learner_copies.student_texts``)."""
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(student.glob("[0-9][0-9]_*.ipynb"))}
    if not texts:
        raise FileNotFoundError(f"no lessons in {student}: run classroom/prepare.py")
    return texts


def copy_lessons(into: Path, student: Path):
    """Apply ``learner_copies``' keep-my-copy rule to ``into``, with the lessons of ``student/`` as the course."""
    from course_utils import learner_copies

    texts = student_texts_from(student)
    learner_copies.student_texts = lambda source: texts  # the texts as published, not rebuilt
    return learner_copies.make_learner_copies(into, student)


def as_learner(name: str) -> Dict:
    """Keyword arguments that make a subprocess run as the learner: their user, their own group only, umask 077."""
    user = pwd.getpwnam(name)
    return {
        "user": user.pw_uid,
        "group": user.pw_gid,
        "extra_groups": [],
        "umask": 0o077,
        "cwd": user.pw_dir,
        "env": {"HOME": user.pw_dir, "USER": name, "PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8"},
    }


def copy_command(name: str, student: Path) -> List[str]:
    home = Path(pwd.getpwnam(name).pw_dir)
    return [
        sys.executable,
        str(HERE / "lessons.py"),
        "copy",
        "--into",
        str(home / LESSONS),
        "--student",
        str(student),
    ]


def update_learner(name: str, student: Path) -> subprocess.CompletedProcess:
    """Bring one learner's lessons up to date, as that learner."""
    return subprocess.run(
        copy_command(name, student), capture_output=True, text=True, check=False, **as_learner(name)
    )


async def update_learner_async(name: str, student: Path) -> str:
    """The same, for the hub's event loop (its hook before a server starts)."""
    process = await asyncio.create_subprocess_exec(
        *copy_command(name, student), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **as_learner(name)
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"copying the lessons for {name} failed: {output.decode(errors='replace')[-800:]}")
    return output.decode(errors="replace")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    copy = commands.add_parser("copy", help="as the learner: bring INTO up to date with STUDENT")
    copy.add_argument("--into", type=Path, required=True)
    copy.add_argument("--student", type=Path, required=True)
    update = commands.add_parser("update", help="as root: every learner of the class, each as themselves")
    update.add_argument(
        "--run-dir",
        type=Path,
        default=Path(os.environ.get("CLASSROOM_RUN_DIR", "/srv/genmodels-classroom")),
    )
    args = parser.parse_args(argv)
    if args.command == "copy":
        report = copy_lessons(args.into, args.student)
        print(report.summary(args.into))
        return 0
    sys.path.insert(0, str(HERE))
    from accounts import class_members

    student, failed = args.run_dir.expanduser().resolve() / "student", 0
    for name in class_members():
        result = update_learner(name, student)
        failed += result.returncode != 0
        print(f"{name}: {(result.stdout + result.stderr).strip()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
