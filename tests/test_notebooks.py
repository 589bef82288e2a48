"""Every lesson notebook follows the template and is committed clean (the notebooks themselves run under nbval)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from course_instructor import notebook_template
from course_utils.meta import REPOSITORY

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_there_are_lessons():
    assert NOTEBOOKS and NOTEBOOKS[0].name == "00_welcome.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_template_title_badge_setup_and_wrap_up(path):
    problems = notebook_template.sync_notebook(path, write=False)  # badge, setup cell, embedded diagrams
    assert problems == [], "run `python -m course_instructor.notebook_template`: " + "; ".join(problems)
    nb = nbformat.read(path, as_version=4)
    title = nb.cells[0].source
    assert re.match(rf"# {path.name[:2]} · \S", title), "the first line must be '# NN · Title'"
    assert REPOSITORY in title and f"notebooks/{path.name}" in title
    assert "**Time:**" in title, "say how long the lesson takes"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for heading in ("## Wrap-up", "## What you should see"):
        assert heading in text, f"{path.name} lacks a '{heading}' section"
    budget_cells = [c for c in nb.cells if c.cell_type == "code" and "budget(" in c.source]
    assert len(budget_cells) <= 1, "one budget line per notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solution_markers_are_balanced_and_followed_by_a_check(path):
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(cells):
        begins, ends = cell.source.count("### BEGIN SOLUTION"), cell.source.count("### END SOLUTION")
        assert begins == ends, f"{path.name}: unbalanced solution markers in a cell"
        if begins:
            following = cells[i + 1].source if i + 1 < len(cells) else ""
            assert "check." in following, f"{path.name}: a solution cell must be followed by its check cell"
