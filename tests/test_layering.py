"""The package stays layered: notebooks → course_utils; models/ → training, batches, data; never the reverse.

Issue 12: one training loop (``training.fit``) under every model family, and imports that run one way, so a
learner reading a module finds what it builds on below it, never a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "course_utils"
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
ABOVE_THE_FOUNDATION = ("models", "judge", "exercises", "instructor", "widgets", "check")


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
            assert "for x in batches" not in text and "backward()" in text.rsplit("\ndef train_", 1)[0], (
                f"{path.name}: the step (with its backward) sits above the trainer, which only calls fit"
            )
