"""Facts about the course itself. The repository's address, and the learners', live here and only here.

Publishing the course under another address is one edit to ``REPOSITORY``, then
``python -m course_utils.notebook_template`` rewrites every notebook's Colab badge and setup cell (a test fails
until that is done).

The notebooks in the repository are the instructor's version (with solutions). Learners get the student version
(``python -m course_utils.instructor student-version``), whose badge and setup cell point at the *student*
location below instead, so that no link in a student notebook leads to the solutions. Set it once, here: a
branch of this repository that holds only the student version (``STUDENT_BRANCH``), or, better when grades
matter and this repository is public, a separate repository (``STUDENT_REPOSITORY``). See INSTRUCTORS.md.
"""

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
