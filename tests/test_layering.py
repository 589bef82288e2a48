"""The package stays layered: notebooks → course_utils; models/ → training, batches, data; never the reverse.

Issue 12: one training loop (``training.fit``) under every model family, and imports that run one way, so a
learner reading a module finds what it builds on below it, never a cycle. Issue 31: the instructor tools are a
package of their own (``course_instructor``, in ``instructor/``) that builds on ``course_utils``; ``course_utils``,
which is what a learner installs, never imports it and holds no instructor-only module.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_utils"
INSTRUCTOR_PACKAGE = ROOT / "instructor" / "course_instructor"
# The foundation: modules that every model builds on. They must not import models, the judge, or the lessons'
# checkers and instructor tools.
FOUNDATION = [
    "batches",
    "checkpoints",
    "data",
    "errors",
    "images",
    "live",
    "metrics",
    "plots",
    "runtime",
    "training",
]
ABOVE_THE_FOUNDATION = ("models", "judge", "exercises", "widgets", "check")


def imported_modules(path: Path):
    """Course modules a file imports (relative imports resolved against the package), as dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = path.parent.relative_to(PACKAGE.parent).parts
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            yield ".".join([*base, *(node.module.split(".") if node.module else [])])
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("course_utils"):
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("course_utils"))


def test_the_foundation_imports_nothing_above_it():
    for name in FOUNDATION:
        for module in imported_modules(PACKAGE / f"{name}.py"):
            part = module.split(".")[1] if "." in module else ""
            assert part not in ABOVE_THE_FOUNDATION, (
                f"course_utils/{name}.py imports {module}: a layering cycle"
            )


def test_every_model_family_trains_through_the_one_loop():
    """No model module runs its own loop over batches: each hands a step to training.fit."""
    for path in sorted((PACKAGE / "models").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "def train_" in text:
            # Either it calls the loop itself, or it hands its step to the GAN trainer (which calls the loop).
            assert "fit(" in text or "gan.train_gan(" in text, (
                f"{path.name} trains without course_utils.training.fit"
            )
            # The step (with its backward) sits above the trainer, or is lesson 09's regression_step, shared.
            step_above = "backward()" in text.rsplit("\ndef train_", 1)[0] or "regression_step(" in text
            assert "for x in batches" not in text and step_above, (
                f"{path.name}: the step (with its backward) sits above the trainer, which only calls fit"
            )


def imported_names(path: Path):
    """Every absolute module name a file imports (``import a.b``, ``from a.b import c``), relative imports left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_course_utils_never_imports_the_instructor_tools():
    """The arrows run one way, course_instructor → course_utils: a learner installs course_utils alone."""
    for path in sorted(PACKAGE.rglob("*.py")):
        for module in imported_names(path):
            assert module.split(".")[0] != "course_instructor", (
                f"{path.relative_to(ROOT)} imports {module}: course_utils must work without the instructor tools"
            )


def test_the_instructor_tools_live_in_their_own_package():
    # Modules, not folders: a clone updated across the move may keep an ignored course_utils/instructor/__pycache__.
    assert not list((PACKAGE / "instructor").glob("*.py")), (
        "the instructor tools belong in instructor/course_instructor/"
    )
    assert not (PACKAGE / "notebook_template.py").exists(), (
        "rewriting the instructor's notebooks is an instructor tool: instructor/course_instructor/"
    )
    assert (INSTRUCTOR_PACKAGE / "__main__.py").exists() and (
        INSTRUCTOR_PACKAGE / "notebook_template.py"
    ).exists()
    # The instructor package reaches course_utils by its name: it is installed apart, not a subpackage.
    for path in sorted(INSTRUCTOR_PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        too_far = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level > 1]
        assert not too_far, (
            f"{path.name}: import course_utils by name, not by a relative import above the package"
        )
