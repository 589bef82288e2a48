"""The diagrams in assets/: the script draws each of them reproducibly, and the notebook tool embeds them.

The notebooks show a diagram as a markdown-cell attachment (``![alt](attachment:NAME.png)``) holding the bytes of
``assets/NAME.png``; ``python -m course_instructor.notebook_template`` fills and checks those attachments.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from course_instructor import notebook_template

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets"
SCRIPT = ASSETS / "make_diagrams.py"
COMMITTED = sorted(ASSETS.glob("*.png"))
MAX_BYTES = 80 * 1024  # each diagram is embedded in a notebook: keep the notebooks small


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> Path:
    """The diagrams as the script draws them now, in a fresh folder."""
    out = tmp_path_factory.mktemp("diagrams")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return out


def library_versions() -> str:
    import matplotlib
    import PIL

    return f"matplotlib {matplotlib.__version__}, Pillow {PIL.__version__}"


def test_the_diagrams_are_committed():
    names = {p.name for p in COMMITTED}
    assert {"generative_vs_discriminative.png", "autoencoder.png", "gan_loop.png"} <= names
    assert {"vae_graphical_model.png", "vae_reparameterization.png"} <= names


def test_the_script_draws_every_committed_diagram_and_no_other(drawn):
    assert sorted(p.name for p in drawn.glob("*.png")) == [p.name for p in COMMITTED]


@pytest.mark.parametrize("committed", COMMITTED, ids=lambda p: p.name)
def test_diagram_is_small_readable_and_reproducible(committed, drawn):
    new = drawn / committed.name
    assert new.stat().st_size <= MAX_BYTES, f"{new.name} is {new.stat().st_size} bytes; keep it under 80 KB"
    with Image.open(new) as fresh, Image.open(committed) as old:
        assert 700 <= fresh.width <= 900, f"{new.name} is {fresh.width} px wide: a notebook shows 700–900 px"
        assert "Software" not in fresh.info and "Creation Time" not in fresh.info
        assert fresh.size == old.size, f"{committed.name} changed size: rerun python assets/make_diagrams.py"
        stamp = old.info.get("Comment", "")
        if stamp.endswith(library_versions()):
            # Same libraries as when the files were committed: the output must be the committed file exactly.
            assert new.read_bytes() == committed.read_bytes(), (
                f"{committed.name} differs from what assets/make_diagrams.py draws: rerun the script, then "
                "`python -m course_instructor.notebook_template` to embed the new file in the notebooks"
            )
        elif f"matplotlib {__import__('matplotlib').__version__}," in stamp:
            # Same matplotlib, another Pillow (PNG compression may differ): the pixels must still be equal.
            assert np.array_equal(np.asarray(fresh), np.asarray(old)), f"{committed.name}: pixels differ"
        # Another matplotlib may place text a pixel apart (font rendering and layout change between releases):
        # then only the size is compared, above.


def test_the_script_is_deterministic(drawn, tmp_path):
    """Two runs give the same bytes: no dates, no random state left to chance."""
    result = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    for first in drawn.glob("*.png"):
        assert (tmp_path / first.name).read_bytes() == first.read_bytes(), first.name


# ------------------------------------------------------------------ embedding diagrams in the notebooks


LESSON = ROOT / "notebooks" / "04_gans_from_scratch.ipynb"
CELL = "A picture:\n\n![The GAN's two players](assets/gan_loop.png)\n\n*A caption.*"


@pytest.fixture
def lesson_copy(tmp_path) -> Path:
    """A copy of a lesson in a notebooks/ folder of its own, with the lesson's own diagram cells taken out and one
    diagram cell added after the title (so the test knows exactly which cell shows a diagram)."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    path = folder / LESSON.name
    nb = nbformat.read(LESSON, as_version=4)
    nb.cells = [
        c for c in nb.cells if not (c.cell_type == "markdown" and "data:image/png;base64" in c.source)
    ]
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(CELL))
    nbformat.write(nb, path)
    return path


def cell_of(path: Path, index: int = 1) -> str:
    return nbformat.read(path, as_version=4).cells[index].source


def embedded_png(source: str) -> bytes:
    return base64.b64decode(source.split("data:image/png;base64,")[1].split(" ")[0])


def test_sync_embeds_a_diagram_byte_for_byte(lesson_copy, capsys):
    problems = notebook_template.sync_notebook(lesson_copy, write=False, assets=ASSETS)
    assert problems == [f"{lesson_copy.name}: cell 1 shows assets/gan_loop.png but does not embed it"]
    assert cell_of(lesson_copy) == CELL, "--check must not write"

    assert notebook_template.main([str(lesson_copy.parent), "--assets", str(ASSETS)]) == 0
    source = cell_of(lesson_copy)
    assert source.startswith("A picture:\n\n![The GAN's two players](data:image/png;base64,iVBOR")
    assert source.endswith(' "assets/gan_loop.png")\n\n*A caption.*'), "the rest of the cell is kept"
    assert embedded_png(source) == (ASSETS / "gan_loop.png").read_bytes()
    assert notebook_template.main(["--check", str(lesson_copy.parent), "--assets", str(ASSETS)]) == 0
    assert "in line with the template" in capsys.readouterr().out


def test_check_fails_when_the_embedded_diagram_differs_from_assets(lesson_copy, tmp_path):
    notebook_template.sync_notebook(lesson_copy, assets=ASSETS)
    assets = tmp_path / "assets"  # the default: assets/ beside the notebooks' folder
    shutil.copytree(ASSETS, assets)
    (assets / "gan_loop.png").write_bytes(
        (ASSETS / "autoencoder.png").read_bytes()
    )  # the diagram was redrawn
    assert notebook_template.main(["--check", str(lesson_copy.parent)]) == 1
    assert notebook_template.sync_notebook(lesson_copy, write=False) == [
        f"{lesson_copy.name}: cell 1: the embedded gan_loop.png differs from {assets / 'gan_loop.png'}"
    ]
    assert notebook_template.main([str(lesson_copy.parent)]) == 0  # the rewrite embeds the new bytes
    assert embedded_png(cell_of(lesson_copy)) == (assets / "autoencoder.png").read_bytes()


def test_a_diagram_missing_from_assets_is_reported_and_not_fixed(lesson_copy, capsys):
    nb = nbformat.read(lesson_copy, as_version=4)
    nb.cells[1].source = "![A picture nobody drew](assets/no_such_diagram.png)"
    nbformat.write(nb, lesson_copy)
    assert notebook_template.main([str(lesson_copy.parent), "--assets", str(ASSETS)]) == 1
    err = capsys.readouterr().err
    assert "not fixed" in err and "no_such_diagram.png" in err and "does not exist" in err
    assert cell_of(lesson_copy) == "![A picture nobody drew](assets/no_such_diagram.png)"


def test_a_cell_attachment_is_reported_because_colab_does_not_show_it(lesson_copy):
    nb = nbformat.read(lesson_copy, as_version=4)
    nb.cells[1].source = "![pasted](attachment:image.png)"
    nb.cells[1].attachments = {"image.png": {"image/png": base64.b64encode(b"not really a png").decode()}}
    nbformat.write(nb, lesson_copy)
    problems = notebook_template.sync_notebook(lesson_copy, write=False, assets=ASSETS)
    assert len(problems) == 1 and "attachment, which Colab does not show" in problems[0]
