"""Facts about the course itself. The repository's address lives here and only here.

Publishing the course under another address is one edit to ``REPOSITORY``, then
``python -m course_utils.notebook_template`` rewrites every notebook's Colab badge and setup cell (a test fails
until that is done).
"""

REPOSITORY = "genmodels-course/generative-models-step-by-step"  # GitHub owner/name
BRANCH = "main"
REPOSITORY_URL = f"https://github.com/{REPOSITORY}"
INSTALL_SPEC = f"git+{REPOSITORY_URL}@{BRANCH}"


def colab_url(notebook_filename: str) -> str:
    """The address that opens a lesson notebook of the repository in Google Colab."""
    return (
        f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/notebooks/{notebook_filename}"
    )
