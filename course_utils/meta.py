"""Facts about the course itself. The repository's address, and the learners', live here and only here, with the
two things every lesson notebook builds from them: its "Open in Colab" badge and its setup cell.

Publishing the course under another address is one edit to ``REPOSITORY``, then the instructor tool
``python -m course_instructor.notebook_template`` rewrites every notebook's Colab badge and setup cell (a test
fails until that is done).

The notebooks in the repository are the instructor's version (with solutions). Learners get the student version
(``course_utils.student_version``), whose badge and setup cell point at the *student* location below instead, so
that no link in a student notebook leads to the solutions. Set it once, here: a branch of this repository that
holds only the student version (``STUDENT_BRANCH``), or, better when grades matter and this repository is public,
a separate repository (``STUDENT_REPOSITORY``). See INSTRUCTORS.md.
"""

import re

REPOSITORY = "genmodels-course/generative-models-step-by-step"  # GitHub owner/name
BRANCH = "main"
REPOSITORY_URL = f"https://github.com/{REPOSITORY}"
INSTALL_SPEC = f"git+{REPOSITORY_URL}@{BRANCH}"

# Where learners open the student version: the same notebook names, in STUDENT_NOTEBOOKS_DIR of this branch.
STUDENT_REPOSITORY = REPOSITORY
STUDENT_BRANCH = "student"
STUDENT_NOTEBOOKS_DIR = "notebooks"
STUDENT_INSTALL_SPEC = f"git+https://github.com/{STUDENT_REPOSITORY}@{STUDENT_BRANCH}"


def colab_url(notebook_filename: str, student: bool = False) -> str:
    """The address that opens a lesson notebook in Google Colab: the instructor's, or the student version's."""
    if student:
        return (
            f"https://colab.research.google.com/github/{STUDENT_REPOSITORY}/blob/{STUDENT_BRANCH}/"
            f"{STUDENT_NOTEBOOKS_DIR}/{notebook_filename}"
        )
    return (
        f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/notebooks/{notebook_filename}"
    )


def instructor_locations() -> tuple:
    """Address fragments that lead to the instructor's notebooks (a student notebook must contain none)."""
    return (
        f"github/{REPOSITORY}/blob/{BRANCH}/notebooks/",
        f"github.com/{REPOSITORY}/blob/{BRANCH}/notebooks/",
        f"github.com/{REPOSITORY}/tree/{BRANCH}/notebooks",
        f"raw.githubusercontent.com/{REPOSITORY}/{BRANCH}/notebooks/",
    )


# The badge is the line starting ``[![Open In Colab]`` in a lesson's first (title) cell; the setup cell is the code
# cell tagged SETUP_TAG.
SETUP_TAG = "course-setup"
BADGE_PATTERN = re.compile(r"^\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)$", re.MULTILINE)

SETUP_SOURCE = """\
# Setup: works in a checkout of the course, in JupyterLab, and on Colab (it installs the course package there).
import importlib.util
import subprocess
import sys
from pathlib import Path

COURSE_PACKAGE = "{install}"
if importlib.util.find_spec("course_utils") is None:
    if Path("../course_utils").is_dir():  # a checkout of the course, not installed with pip
        sys.path.insert(0, str(Path("..").resolve()))
    else:  # Colab or another fresh Python: install the course package from GitHub
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", COURSE_PACKAGE], check=True)

import course_utils

device = course_utils.setup(seed=0)"""


def badge(notebook_filename: str, student: bool = False) -> str:
    """The Markdown of the "Open in Colab" badge for one notebook (of the student version if ``student``)."""
    return (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({colab_url(notebook_filename, student=student)})"
    )


def setup_source(student: bool = False) -> str:
    """The setup cell's code; the student version installs the package from the student location."""
    return SETUP_SOURCE.replace("{install}", STUDENT_INSTALL_SPEC if student else INSTALL_SPEC)
