"""Publish the student version as a branch of the repository: what Colab badges and the student setup cell open.

    python -m course_instructor.student_branch                      # commit it to the local branch
    python -m course_instructor.student_branch --push origin        # ... and push that branch to origin

The student branch (``meta.STUDENT_BRANCH``) holds the same files as the commit it was made from, except that
every lesson in ``notebooks/`` is its student version (solutions replaced by stubs, hidden tests removed, badges
and setup cell pointing at the student branch). Each run adds one commit on top of the branch, "Student version
of <commit>", or none when nothing changed, so the branch's history says which main commit each version is.

It works with git's plumbing on a temporary index: the checkout, its index and its current branch are never
touched. ``.github/workflows/student.yml`` runs it on every push to main.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

from course_utils import meta


class PublishError(RuntimeError):
    """The student branch could not be built or pushed; the message says why and what to do."""


def _git(repo: Path, *args: str, env: Optional[Dict[str, str]] = None, stdin: Optional[str] = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, input=stdin, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise PublishError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _branch_tip(repo: Path, branch: str, remote: Optional[str]) -> Optional[str]:
    """The student branch's latest commit: the remote's when there is one, else the local branch's."""
    if remote:
        fetched = subprocess.run(
            ["git", "fetch", "-q", remote, f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}"],
            cwd=repo,
            capture_output=True,
            text=True,
        )
        if fetched.returncode == 0:
            return _git(repo, "rev-parse", f"refs/remotes/{remote}/{branch}")
    local = subprocess.run(
        ["git", "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
        cwd=repo,
        capture_output=True,
        text=True,
    )
    return local.stdout.strip() or None


def student_tree(repo: Path, source_commit: str) -> str:
    """Write the tree of ``source_commit`` with every lesson replaced by its student version; return its id."""
    from course_utils.learner_copies import student_texts

    folder = meta.STUDENT_NOTEBOOKS_DIR
    texts = student_texts(repo / "notebooks")
    with tempfile.TemporaryDirectory() as scratch:
        env = dict(os.environ, GIT_INDEX_FILE=str(Path(scratch) / "index"))
        _git(repo, "read-tree", source_commit, env=env)
        for name, text in texts.items():
            blob = _git(repo, "hash-object", "-w", "--stdin", stdin=text)
            _git(repo, "update-index", "--add", "--cacheinfo", f"100644,{blob},{folder}/{name}", env=env)
        return _git(repo, "write-tree", env=env)


def publish_student_branch(
    repo: Path, branch: str = meta.STUDENT_BRANCH, remote: Optional[str] = None, push: bool = False
) -> Optional[str]:
    """Commit the student version of the checkout's HEAD to ``branch`` (and push it); return the new commit.

    Returns None when the branch already holds exactly this student version.
    """
    repo = Path(repo)
    if _git(repo, "status", "--porcelain", "--", "notebooks"):
        raise PublishError(
            "notebooks/ has uncommitted changes: commit them first, so that the student branch says truthfully "
            "which commit it was built from."
        )
    source = _git(repo, "rev-parse", "HEAD")
    tree = student_tree(repo, source)
    parent = _branch_tip(repo, branch, remote)
    if parent and _git(repo, "rev-parse", f"{parent}^{{tree}}") == tree:
        return None
    parents: List[str] = ["-p", parent] if parent else []
    message = f"Student version of {source}\n\nBuilt by python -m course_instructor.student_branch."
    commit = _git(repo, "commit-tree", tree, *parents, "-m", message)
    _git(repo, "update-ref", f"refs/heads/{branch}", commit)
    if push:
        if not remote:
            raise PublishError("--push needs the remote to push to (e.g. --push origin).")
        _git(repo, "push", "-q", remote, f"refs/heads/{branch}:refs/heads/{branch}")
    return commit


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the checkout (default: here)")
    parser.add_argument(
        "--branch", default=meta.STUDENT_BRANCH, help="the student branch (course_utils/meta.py)"
    )
    parser.add_argument("--push", metavar="REMOTE", help="push the branch to this remote after committing")
    args = parser.parse_args(argv)
    try:
        commit = publish_student_branch(args.repo, args.branch, remote=args.push, push=bool(args.push))
    except PublishError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if commit is None:
        print(f"The branch {args.branch} already holds the student version of this commit: nothing to do.")
    else:
        where = f" and pushed to {args.push}" if args.push else ""
        print(f"Committed the student version to {args.branch} ({commit[:12]}){where}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
