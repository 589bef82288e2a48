"""Prepare a classroom folder for ``jupyterhub_config.py`` (outside the repository; default /srv/genmodels-classroom).

    sudo python classroom/prepare.py [--run-dir DIR] [--assignments lesson00 lesson02]

Run it as root (the hub runs as root to start each learner's server as that learner). It makes, once, and
refreshes on every run (run it again to publish a change of the lessons or a new assignment mid-term):

- ``node_modules/``: JupyterHub's proxy, ``configurable-http-proxy``, from npm;
- ``data/FashionMNIST/raw/``: the shared dataset folder, from Debian's ``dataset-fashion-mnist`` files (or
  ``--data-from DIR`` with the four ``*-ubyte.gz`` files): owned by root, read-only for everyone;
- ``student/``: the student version of every lesson, the text each learner's copy gets (``lessons.py``): readable
  by everyone, no solution in it;
- ``course/``: the instructor's nbgrader course folder (your notebooks with their solutions, the gradebook, the
  hand-ins), mode 0700: no learner can read it; the assignments are generated and released from it;
- ``exchange/``: nbgrader's exchange; learners can hand in to its ``inbound`` folder but not list it, and the
  sticky bit keeps anyone from deleting or renaming someone else's hand-in;
- ``jupyter/nbgrader_config.py``: the learners' nbgrader settings (course id, exchange), read-only;
- ``hub/``: the hub's database, cookie secret, log and the learners' passwords, mode 0700 (root only);
- ``homes/``: one home per learner, each 0700, made by ``accounts.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from course_instructor.nbgrader_course import make_course
from course_utils.learner_copies import student_texts

REPO = Path(__file__).resolve().parents[1]
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
COURSE_ID = os.environ.get("CLASSROOM_COURSE_ID", "genmodels")
LEARNER_NBGRADER_CONFIG = """\
# Written by classroom/prepare.py: where every learner fetches and hands in (read-only for learners).
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course!r}
c.Exchange.root = {exchange!r}
"""


def nbgrader(course: Path, *args: str) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, check=True)


def read_only(folder: Path) -> None:
    """Everyone may read ``folder``; no one but root may change it (root owns it, no write bits)."""
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, 0, 0)
        path.chmod(0o555 if path.is_dir() else 0o444)


def publish_student_version(run: Path, notebooks: Path) -> Path:
    """Write ``student/``: each lesson's student text as ``learner_copies`` builds it, swapped in whole."""
    texts = student_texts(notebooks)
    fresh, student = run / "student.new", run / "student"
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    for name, text in texts.items():
        (fresh / name).write_text(text, encoding="utf-8")
    read_only(fresh)
    old = run / "student.old"
    shutil.rmtree(old, ignore_errors=True)
    if student.exists():
        student.rename(old)
    fresh.rename(student)  # a learner's copy never sees half a folder
    shutil.rmtree(old, ignore_errors=True)
    return student


def closed_folder(path: Path):
    """The first folder above ``path`` (or itself) that other users cannot pass through, or None."""
    for folder in [path, *path.parents]:
        if folder.is_dir() and not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    return None


def require_reachable(run: Path) -> None:
    """Learners must reach their homes, the Python that runs their servers and this folder of scripts."""
    python = Path(sys.executable).resolve()
    for path, what, fix in (
        (run, "their homes", "choose a classroom folder such as /srv/genmodels-classroom (--run-dir)"),
        (python, "the Python that runs their servers", "make the environment from a system Python, in /opt"),
        (
            Path(sys.base_prefix).resolve() / "lib",
            "Python's standard library",
            "make the environment from a system Python, in /opt",
        ),
        (
            REPO / "classroom",
            "classroom/lessons.py, which copies their lessons",
            "keep the course's clone in a folder others can read",
        ),
    ):
        closed = closed_folder(path)
        if closed is not None:
            raise SystemExit(
                f"{closed} is closed to other users, so learners could not reach {what} ({path}): {fix}."
            )


def prepare(run: Path, assignments, data_from: Path, notebooks: Path = REPO / "notebooks") -> None:
    run.mkdir(parents=True, exist_ok=True)
    require_reachable(run)
    run.chmod(0o755)
    for private in ("hub", "course"):
        (run / private).mkdir(exist_ok=True)
        (run / private).chmod(0o700)
    if not (run / "node_modules" / ".bin" / "configurable-http-proxy").exists():
        subprocess.run(
            ["npm", "install", "--prefix", str(run), "--no-audit", "--no-fund", "configurable-http-proxy"],
            check=True,
        )
    raw = run / "data" / "FashionMNIST" / "raw"
    if not raw.exists():
        raw.mkdir(parents=True)
        for name in FILES:
            shutil.copyfile(data_from / name, raw / name)
    read_only(run / "data")
    publish_student_version(run, notebooks)
    exchange = run / "exchange"
    exchange.mkdir(exist_ok=True)
    exchange.chmod(0o777 | stat.S_ISVTX)  # nbgrader wants it writable by all; sticky: only owners delete
    jupyter = run / "jupyter"
    jupyter.mkdir(exist_ok=True)
    jupyter.chmod(0o755)
    (jupyter / "nbgrader_config.py").write_text(
        LEARNER_NBGRADER_CONFIG.format(course=COURSE_ID, exchange=str(exchange))
    )
    (jupyter / "nbgrader_config.py").chmod(0o644)
    course = run / "course"
    make_course(course, course_id=COURSE_ID, notebooks=notebooks)
    config = course / "nbgrader_config.py"
    if "c.Exchange.root" not in config.read_text():
        with config.open("a") as file:
            file.write(
                f"c.Exchange.root = {str(exchange)!r}  # the classroom's exchange (classroom/prepare.py)\n"
            )
    for assignment in assignments:
        nbgrader(course, "generate_assignment", assignment, "--force")
        nbgrader(course, "release_assignment", assignment, "--force")
    inbound = exchange / COURSE_ID / "inbound"
    if inbound.exists():  # hand in (write, enter) but not list; sticky: a hand-in is its owner's alone
        inbound.chmod(inbound.stat().st_mode | stat.S_ISVTX)
    print(
        f"Classroom ready in {run}: CLASSROOM_RUN_DIR={run} jupyterhub -f {REPO / 'classroom' / 'jupyterhub_config.py'}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=Path(os.environ.get("CLASSROOM_RUN_DIR", "/srv/genmodels-classroom")),
    )
    parser.add_argument("--assignments", nargs="*", default=["lesson00", "lesson02"])
    parser.add_argument("--data-from", type=Path, default=DEBIAN_FASHION_MNIST)
    parser.add_argument(
        "--notebooks", type=Path, default=REPO / "notebooks", help="the instructor's notebooks"
    )
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("run it as root: the classroom's folders belong to root and to each learner")
    prepare(args.run_dir.expanduser().resolve(), args.assignments, args.data_from, args.notebooks.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
