"""Keep every lesson notebook's Colab badge, setup cell and diagrams in line with the repository.

    python -m course_utils.notebook_template            # rewrite the notebooks in notebooks/
    python -m course_utils.notebook_template --check    # only report what differs (exit 1 if anything does)

The badge is the line starting ``[![Open In Colab]`` in the first (title) cell, pointing at ``meta.REPOSITORY``;
the setup cell is the code cell tagged ``course-setup``.

Diagrams: a markdown cell shows one with ``![what it shows](attachment:NAME.png)``, and this tool puts the bytes
of ``assets/NAME.png`` (drawn by ``assets/make_diagrams.py``) into that cell's ``attachments``, base64-encoded.
An attachment travels inside the notebook, so the picture shows in JupyterLab offline and on Colab, where a
relative path such as ``../assets/NAME.png`` finds no file. Attachments no reference uses are dropped.
Everything else in the notebooks is left alone.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import re
import sys
from pathlib import Path
from typing import List, Optional

import nbformat

from .meta import INSTALL_SPEC, colab_url

SETUP_TAG = "course-setup"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
BADGE_PATTERN = re.compile(r"^\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)$", re.MULTILINE)
# ![alt text](attachment:NAME) in Markdown, or src="attachment:NAME" in HTML: NAME is a file in assets/.
ATTACHMENT_PATTERN = re.compile(r"attachment:([A-Za-z0-9_.-]+)")

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


def badge(notebook_filename: str) -> str:
    """The Markdown of the "Open in Colab" badge for one notebook."""
    return (
        "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"({colab_url(notebook_filename)})"
    )


def setup_source() -> str:
    return SETUP_SOURCE.replace("{install}", INSTALL_SPEC)


def _attached_bytes(bundle) -> Optional[bytes]:
    """The PNG bytes an attachment holds (its base64 may be one string or a list of lines), or None."""
    data = bundle.get("image/png") if isinstance(bundle, dict) else None
    if isinstance(data, list):
        data = "".join(data)
    if not isinstance(data, str):
        return None
    try:
        return base64.b64decode(data, validate=False)
    except (binascii.Error, ValueError):
        return None


def sync_attachments(nb, name: str, assets: Path) -> List[str]:
    """Make every markdown cell carry exactly the diagrams its text shows, byte for byte as in ``assets``.

    Changes ``nb`` in place and returns what differed. A reference to a file that ``assets`` lacks cannot be
    fixed here: it is reported, and the cell's attachments are otherwise left as they are.
    """
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        where = f"{name}: cell {index}"
        current = dict(cell.get("attachments") or {})
        wanted, broken = {}, False
        for ref in sorted(set(ATTACHMENT_PATTERN.findall(cell.source))):
            file = assets / ref
            if not ref.endswith(".png") or not file.is_file():
                problems.append(
                    f"{where} shows attachment:{ref}, but {file} does not exist "
                    "(only PNG files drawn by `python assets/make_diagrams.py` can be attached)"
                )
                broken = True
                continue
            payload = file.read_bytes()
            wanted[ref] = {"image/png": base64.b64encode(payload).decode("ascii")}
            if ref not in current:
                problems.append(f"{where} shows attachment:{ref} but does not carry it")
            elif _attached_bytes(current[ref]) != payload or set(current[ref]) != {"image/png"}:
                problems.append(f"{where}: attachment {ref} differs from {file}")
        if broken:  # leave this cell as it is until its references are fixed
            continue
        for unused in sorted(set(current) - set(wanted)):
            problems.append(f"{where} carries attachment {unused}, which its text does not show")
        if wanted:
            cell["attachments"] = wanted
        else:
            cell.pop("attachments", None)
    return problems


def sync_notebook(path: Path, write: bool = True, assets: Optional[Path] = None) -> List[str]:
    """Bring one notebook's badge, setup cell and diagrams in line; return what differed (empty when in line).

    ``assets`` is the folder of diagram PNGs, by default ``assets/`` beside the notebook's folder.
    """
    nb = nbformat.read(path, as_version=4)
    assets = Path(path).resolve().parent.parent / "assets" if assets is None else Path(assets)
    problems = []
    if nb.metadata.get("kernelspec") != KERNELSPEC or "jupytext" in nb.metadata:
        problems.append(f"{path.name}: notebook metadata (kernel) differs from the template")
        nb.metadata.pop("jupytext", None)
        nb.metadata["kernelspec"] = dict(KERNELSPEC)
        nb.metadata.setdefault("language_info", {"name": "python"})
    title = nb.cells[0] if nb.cells else None
    if title is None or title.cell_type != "markdown" or not BADGE_PATTERN.search(title.source):
        problems.append(f"{path.name}: the first cell must be the title with an 'Open In Colab' badge line")
    else:
        wanted = badge(path.name)
        if BADGE_PATTERN.search(title.source).group(0) != wanted:
            problems.append(f"{path.name}: Colab badge points elsewhere")
            title.source = BADGE_PATTERN.sub(wanted, title.source, count=1)
    setup_cells = [
        c for c in nb.cells if c.cell_type == "code" and SETUP_TAG in c.get("metadata", {}).get("tags", [])
    ]
    if len(setup_cells) != 1:
        problems.append(
            f"{path.name}: needs exactly one code cell tagged '{SETUP_TAG}', found {len(setup_cells)}"
        )
    elif setup_cells[0].source != setup_source():
        problems.append(f"{path.name}: setup cell differs from the template")
        setup_cells[0].source = setup_source()
    problems += sync_attachments(nb, path.name, assets)
    if write and problems:
        nbformat.write(nb, path)
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="report differences without writing")
    parser.add_argument("folder", nargs="?", default="notebooks", type=Path)
    parser.add_argument(
        "--assets", type=Path, default=None, help="folder of diagram PNGs (default: assets/ beside FOLDER)"
    )
    args = parser.parse_args(argv)
    notebooks = sorted(args.folder.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        print(f"No lesson notebooks (NN_*.ipynb) in {args.folder}.", file=sys.stderr)
        return 2
    assets = args.assets if args.assets is not None else args.folder.resolve().parent / "assets"
    problems = [p for path in notebooks for p in sync_notebook(path, write=not args.check, assets=assets)]
    for problem in problems:
        print(("differs: " if args.check else "fixed: ") + problem)
    # What a rewrite could not fix (a diagram missing from assets/, a broken badge line) is still there.
    left = [] if args.check else [p for path in notebooks for p in sync_notebook(path, False, assets)]
    for problem in left:
        print("not fixed: " + problem, file=sys.stderr)
    if not problems:
        print(f"All {len(notebooks)} notebooks are in line with the template.")
    return 1 if (problems and args.check) or left else 0


if __name__ == "__main__":
    sys.exit(main())
