"""The student branch that Colab opens: built from a commit, pushed to a remote, with no solution in it.

The GitHub workflow (.github/workflows/student.yml) cannot run here, so its one step is tested on a local bare
repository standing in for GitHub: clone, build, push to the branch, check out the branch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils import meta
from course_utils.meta import STUDENT_INSTALL_SPEC

REPO = Path(__file__).resolve().parents[1]
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Course publisher",
    "GIT_AUTHOR_EMAIL": "publisher@example.org",
    "GIT_COMMITTER_NAME": "Course publisher",
    "GIT_COMMITTER_EMAIL": "publisher@example.org",
}

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (REPO / ".git").exists(), reason="needs git and a clone of the course"
)


def git(cwd: Path, *args: str) -> str:
    env = dict(os.environ, **GIT_IDENTITY)
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def publish(clone: Path) -> subprocess.CompletedProcess:
    """What the workflow runs, on the clone, pushing to the stand-in for GitHub (with this checkout's code)."""
    env = dict(os.environ, **GIT_IDENTITY)
    command = [sys.executable, "-m", "course_instructor.student_branch", "--repo", str(clone)]
    return subprocess.run([*command, "--push", "github"], cwd=REPO, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A bare repository (GitHub), a clone of the course pushed to it, and the student branch built once."""
    root = tmp_path_factory.mktemp("publish")
    remote, clone = root / "github.git", root / "clone"
    git(root, "init", "-q", "--bare", str(remote))
    git(root, "clone", "-q", "--no-hardlinks", str(REPO), str(clone))
    git(clone, "remote", "add", "github", str(remote))
    git(clone, "push", "-q", "github", "HEAD:refs/heads/main")
    done = publish(clone)
    assert done.returncode == 0, done.stderr[-3000:]
    checkout = root / "student-checkout"
    git(root, "clone", "-q", "--branch", meta.STUDENT_BRANCH, str(remote), str(checkout))
    return remote, clone, checkout, done.stdout


def test_the_student_branch_holds_no_solution_line(published):
    _, clone, checkout, output = published
    assert "pushed to github" in output
    lessons = sorted(p.name for p in (clone / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert sorted(p.name for p in (checkout / "notebooks").glob("*.ipynb")) == lessons
    for name in lessons:
        text = (checkout / "notebooks" / name).read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text, name
        assert "raise NotImplementedError(" in text, name


def test_every_badge_and_setup_cell_points_at_the_student_branch(published):
    _, _, checkout, _ = published
    for path in sorted((checkout / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        assert meta.colab_url(path.name, student=True) in nb.cells[0].source, path.name
        text = path.read_text(encoding="utf-8")
        assert not any(location in text for location in meta.instructor_locations()), path.name
        setup = [c for c in nb.cells if "course-setup" in c.metadata.get("tags", [])]
        assert setup and STUDENT_INSTALL_SPEC in setup[0].source, path.name


def test_everything_but_the_lessons_is_the_commit_it_was_built_from(published):
    _, clone, checkout, _ = published
    source = git(clone, "rev-parse", "HEAD")
    assert git(checkout, "log", "-1", "--format=%s") == f"Student version of {source}"
    changed = git(checkout, "diff", "--name-only", source, "HEAD").splitlines()
    assert changed and all(name.startswith("notebooks/") for name in changed), changed


def test_a_second_run_adds_nothing_and_a_new_commit_adds_one_on_top(published):
    remote, clone, _, _ = published
    tip = git(remote, "rev-parse", f"refs/heads/{meta.STUDENT_BRANCH}")
    done = publish(clone)
    assert done.returncode == 0 and "nothing to do" in done.stdout
    assert git(remote, "rev-parse", f"refs/heads/{meta.STUDENT_BRANCH}") == tip

    lesson = clone / "notebooks" / "00_welcome.ipynb"
    nb = nbformat.read(str(lesson), as_version=4)
    nb.cells[0].source += "\n\nA sentence added to the course."
    nbformat.write(nb, str(lesson))
    git(clone, "commit", "-q", "-am", "Lesson 00: one more sentence")
    done = publish(clone)
    assert done.returncode == 0, done.stderr
    new_tip = git(remote, "rev-parse", f"refs/heads/{meta.STUDENT_BRANCH}")
    assert git(remote, "rev-parse", f"{new_tip}^") == tip, "each version is one commit on top of the last"
    shown = git(remote, "show", f"{new_tip}:notebooks/00_welcome.ipynb")
    assert "A sentence added to the course." in shown and "BEGIN SOLUTION" not in shown


def test_uncommitted_lessons_are_refused_with_the_reason(published):
    _, clone, _, _ = published
    lesson = clone / "notebooks" / "01_generative_vs_discriminative.ipynb"
    original = lesson.read_bytes()
    try:
        lesson.write_bytes(original + b"\n")
        done = publish(clone)
        assert done.returncode == 2 and "uncommitted changes" in done.stderr
    finally:
        lesson.write_bytes(original)


def test_the_workflow_runs_the_tested_step_on_every_push_to_main():
    workflow = (REPO / ".github" / "workflows" / "student.yml").read_text(encoding="utf-8")
    assert "branches: [main]" in workflow and "contents: write" in workflow
    assert "run: python -m course_instructor.student_branch --push origin" in workflow
    assert "-e ./instructor" in workflow, "the step runs the instructor tools: the workflow must install them"
