"""Prepare a classroom folder for ``jupyterhub_config.py`` (outside the repository; default ~/genmodels-classroom).

    python classroom/prepare.py [--run-dir DIR] [--assignments lesson00 lesson02]

It makes, once (re-running keeps what exists, refreshes the student version and the releases):
- ``node_modules/``: JupyterHub's proxy, ``configurable-http-proxy``, from npm;
- ``data/FashionMNIST/raw/``: the shared dataset folder, from Debian's ``dataset-fashion-mnist`` files (or
  ``--data-from DIR`` with the four ``*-ubyte.gz`` files), made read-only;
- ``student/``: the student version of every lesson (``python -m course_utils.instructor student-version``);
- ``course/``: the instructor's nbgrader course folder, with the exchange below, and the assignments generated and
  released for learners to fetch;
- ``exchange/``: nbgrader's exchange (writable by every learner's server).
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from course_utils.instructor.nbgrader_course import make_course
from course_utils.instructor.student import build_student_version

REPO = Path(__file__).resolve().parents[1]
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
COURSE_ID = os.environ.get("CLASSROOM_COURSE_ID", "genmodels")


def nbgrader(course: Path, *args: str) -> None:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, check=True)


def read_only(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        mode = path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        path.chmod(mode | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH | (0o111 if path.is_dir() else 0))


def prepare(run: Path, assignments, data_from: Path) -> None:
    run.mkdir(parents=True, exist_ok=True)
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
    if (run / "student").exists():
        shutil.rmtree(run / "student")
    build_student_version(REPO / "notebooks", run / "student")
    exchange = run / "exchange"
    exchange.mkdir(exist_ok=True)
    exchange.chmod(0o777)
    course = run / "course"
    make_course(course, course_id=COURSE_ID)
    config = course / "nbgrader_config.py"
    if "c.Exchange.root" not in config.read_text():
        with config.open("a") as file:
            file.write(
                f"c.Exchange.root = {str(exchange)!r}  # the classroom's exchange (classroom/prepare.py)\n"
            )
    for assignment in assignments:
        nbgrader(course, "generate_assignment", assignment, "--force")
        nbgrader(course, "release_assignment", assignment, "--force")
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
        default=Path(os.environ.get("CLASSROOM_RUN_DIR", Path.home() / "genmodels-classroom")),
    )
    parser.add_argument("--assignments", nargs="*", default=["lesson00", "lesson02"])
    parser.add_argument("--data-from", type=Path, default=DEBIAN_FASHION_MNIST)
    args = parser.parse_args(argv)
    prepare(args.run_dir.expanduser().resolve(), args.assignments, args.data_from)
    return 0


if __name__ == "__main__":
    sys.exit(main())
