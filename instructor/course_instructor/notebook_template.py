"""Keep every lesson notebook's Colab badge, setup cell, course metadata and diagrams in line with the repository.

    python -m course_instructor.notebook_template            # rewrite the notebooks in notebooks/
    python -m course_instructor.notebook_template --check    # only report what differs (exit 1 if anything does)

The badge is the line starting ``[![Open In Colab]`` in the first (title) cell, pointing at ``meta.REPOSITORY``;
the setup cell is the code cell tagged ``course-setup``; both are defined in ``course_utils.meta``, because the
student version (``course_utils.student_version``) writes the same badge and setup cell, pointed at the student
location. The notebook metadata ``course.lesson`` ("03", from the file name) tells the grader which lesson a
submission is, whatever its title cell says.

Diagrams: a markdown cell shows one by naming its file, ``![what it shows](assets/NAME.png)``, and this tool
embeds the bytes of ``assets/NAME.png`` (drawn by ``assets/make_diagrams.py``) in the image itself, as a data URI
that keeps the name as its title: ``![what it shows](data:image/png;base64,... "assets/NAME.png")``. An embedded
image travels inside the notebook, so it shows in JupyterLab offline, on Colab (where a relative path such as
``../assets/NAME.png`` finds no file, and cell attachments are not shown) and in notebook viewers. Cell
attachments are reported, since Colab does not show them.

Everything else in the notebooks is left alone.
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
from pathlib import Path
from typing import List, Optional, Tuple

import nbformat

from course_utils.meta import BADGE_PATTERN, SETUP_TAG, badge, setup_source

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
# A diagram in a markdown cell: ![alt](assets/NAME.png) as written, ![alt](data:...;base64,... "assets/NAME.png") once
# embedded. NAME is a file in assets/.
DIAGRAM_PATTERN = re.compile(
    r"!\[(?P<alt>[^\]]*)\]\("
    r'(?:(?P<path>assets/[A-Za-z0-9_.-]+)|data:image/png;base64,[A-Za-z0-9+/=]* "(?P<title>assets/[A-Za-z0-9_.-]+)")'
    r"\)"
)


def lesson_metadata(notebook_filename: str) -> dict:
    """The notebook-level metadata that names the lesson (``{"lesson": "03"}``), read by the grader."""
    return {"lesson": notebook_filename[:2]}


def embedded(alt: str, name: str, png: bytes) -> str:
    """The Markdown of a diagram embedded in its cell: the PNG as a data URI, titled with its file in assets/."""
    return f'![{alt}](data:image/png;base64,{base64.b64encode(png).decode("ascii")} "assets/{name}")'


def _embed_diagrams(source: str, where: str, assets: Path) -> Tuple[str, List[str]]:
    """One cell's Markdown with every diagram it shows embedded from ``assets``, and what differed."""
    problems, parts, end = [], [], 0
    for match in DIAGRAM_PATTERN.finditer(source):
        shown = match["path"] or match["title"]
        file = assets / Path(shown).name
        if not file.is_file() or file.suffix != ".png":
            problems.append(
                f"{where} shows {shown}, but {file} does not exist "
                "(only PNG files drawn by `python assets/make_diagrams.py` can be shown)"
            )
            wanted = match[0]
        else:
            wanted = embedded(match["alt"], file.name, file.read_bytes())
            if match["path"]:
                problems.append(f"{where} shows {shown} but does not embed it")
            elif match[0] != wanted:
                problems.append(f"{where}: the embedded {file.name} differs from {file}")
        parts += [source[end : match.start()], wanted]
        end = match.end()
    return "".join(parts) + source[end:], problems


def sync_diagrams(nb, name: str, assets: Path) -> List[str]:
    """Embed in every markdown cell the diagrams it shows, byte for byte as the files in ``assets`` are.

    Changes ``nb`` in place and returns what differed. What cannot be fixed here is reported and left as it is:
    a diagram that ``assets`` lacks, and cell attachments (Colab does not show them).
    """
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        where = f"{name}: cell {index}"
        if cell.get("attachments") or "](attachment:" in cell.source:
            problems.append(
                f"{where} has a cell attachment, which Colab does not show: draw the picture in "
                "assets/make_diagrams.py and show it with ![what it shows](assets/NAME.png)"
            )
        cell.source, found = _embed_diagrams(cell.source, where, assets)
        problems += found
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
    if nb.metadata.get("course") != lesson_metadata(path.name):
        problems.append(f"{path.name}: notebook metadata 'course' should be {lesson_metadata(path.name)}")
        nb.metadata["course"] = lesson_metadata(path.name)
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
    problems += sync_diagrams(nb, path.name, assets)
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
    # What a rewrite could not fix (a diagram missing from assets/, an attachment, a broken badge) is still there.
    left = [] if args.check else [p for path in notebooks for p in sync_notebook(path, False, assets)]
    for problem in left:
        print("not fixed: " + problem, file=sys.stderr)
    if not problems:
        print(f"All {len(notebooks)} notebooks are in line with the template.")
    return 1 if (problems and args.check) or left else 0


if __name__ == "__main__":
    sys.exit(main())
