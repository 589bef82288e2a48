"""Every relative link in the course's Markdown files and notebooks leads to a file of the repository, and
every benchmark results file the text cites exists.

Checked in every Markdown file git tracks and in every notebook's markdown cells:

- ``[text](path)``, ``![alt](path)``, ``[text]: path`` and HTML ``src="path"`` / ``href="path"``: the path,
  relative to the file (a notebook's to ``notebooks/``), is a tracked file or folder. Addresses with a scheme
  (``https:``, ``mailto:``, a notebook's embedded ``data:`` images) are skipped, and so is code (fenced
  blocks, inline code, math);
- ``#anchor`` on a link to a Markdown file (or alone, within one): a heading of that file has it as its
  GitHub anchor.

Checked in every tracked Markdown file, notebook (all cells) and Python file: each
``benchmarks/results/NAME.json``, and each bare ``NAME.json`` whose NAME starts with a benchmark script's name
(``dcgan_quality-gpu.json`` is a run of ``benchmarks/dcgan_quality.py``), is a tracked file in
``benchmarks/results/``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[1]
RESULTS = "benchmarks/results"


def tracked_files() -> List[str]:
    """The files git tracks that are in the working tree, as paths relative to the repository."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    return sorted(path for path in listed if path and (REPO / path).is_file())


TRACKED = tracked_files()
TRACKED_SET = set(TRACKED)
FOLDERS = {str(folder) for path in TRACKED for folder in Path(path).parents}
DOCUMENTS = [path for path in TRACKED if path.endswith((".md", ".ipynb"))]

# ------------------------------------------------------------------------------------------------------------
# Reading Markdown
# ------------------------------------------------------------------------------------------------------------

CODE_BLOCK = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[^\n]*$", re.DOTALL | re.MULTILINE)
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.DOTALL)
COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
INLINE_LINK = re.compile(r"\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.MULTILINE)
HTML_LINK = re.compile(r"<[a-zA-Z][^>]*?\s(?:src|href)\s*=\s*[\"']([^\"']+)[\"']", re.DOTALL)
HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
HTML_ID = re.compile(r"<[a-zA-Z][^>]*?\s(?:id|name)\s*=\s*[\"']([^\"']+)[\"']")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//")


def prose(markdown: str) -> str:
    """Markdown without what is not prose: code blocks, inline code, math and comments."""
    for pattern in (CODE_BLOCK, COMMENT, INLINE_CODE, MATH):
        markdown = pattern.sub(" ", markdown)
    return markdown


def link_targets(markdown: str) -> List[str]:
    """Every link target of a Markdown text (inline, reference-style and HTML), in order of appearance."""
    text = prose(markdown)
    found = []
    for pattern in (INLINE_LINK, REFERENCE_LINK, HTML_LINK):
        found += [(match.start(), match.group(1).strip("<>")) for match in pattern.finditer(text)]
    return [target for _, target in sorted(found)]


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: its text, lower-case, without punctuation, spaces as hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(markdown: str) -> Set[str]:
    """The anchors a Markdown file offers: its headings' (``-1``, ``-2`` for repeats) and explicit ids."""
    found: Set[str] = set()
    counts: Dict[str, int] = {}
    without_code = COMMENT.sub(" ", CODE_BLOCK.sub(" ", markdown))
    for heading in HEADING.findall(without_code):
        anchor = github_anchor(heading)
        repeat = counts.get(anchor, 0)
        counts[anchor] = repeat + 1
        found.add(anchor if repeat == 0 else f"{anchor}-{repeat}")
    return found | set(HTML_ID.findall(markdown))


def markdown_of(path: str) -> str:
    """A Markdown file's text, or a notebook's markdown cells joined."""
    text = (REPO / path).read_text(encoding="utf-8")
    if not path.endswith(".ipynb"):
        return text
    cells = json.loads(text)["cells"]
    return "\n\n".join(
        "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for cell in cells
        if cell["cell_type"] == "markdown"
    )


# ------------------------------------------------------------------------------------------------------------
# Checking a link
# ------------------------------------------------------------------------------------------------------------


def problem_with(document: str, target: str) -> Optional[str]:
    """What is wrong with the link ``target`` in ``document`` (a path relative to the repository), or None."""
    if SCHEME.match(target):
        return None
    path, _, anchor = target.partition("#")
    path = unquote(path.split("?")[0])
    if path:
        start = "" if path.startswith("/") else os.path.dirname(document)
        resolved = os.path.normpath(os.path.join(start, path.lstrip("/")))
        if resolved == ".." or resolved.startswith("../"):
            return (
                "points outside the repository: link to a file inside it, or give the full https:// address"
            )
        if resolved not in TRACKED_SET and resolved not in FOLDERS:
            if (REPO / resolved).exists():
                return f"{resolved} exists but git does not track it: `git add` it, or link to a tracked file"
            return (
                f"no file {resolved} in the repository: correct the path (relative to {document}) or drop it"
            )
    else:
        resolved = document
    if anchor and resolved.endswith(".md") and resolved in TRACKED_SET:
        if anchor.lower() not in anchors((REPO / resolved).read_text(encoding="utf-8")):
            return f"{resolved} has no heading with the anchor #{anchor}: correct the anchor or the heading"
    return None


def broken_links(documents: List[str]) -> Iterator[str]:
    for document in documents:
        for target in link_targets(markdown_of(document)):
            problem = problem_with(document, target)
            if problem:
                yield f"{document}: ({target}) {problem}"


# ------------------------------------------------------------------------------------------------------------
# Cited results files
# ------------------------------------------------------------------------------------------------------------

# Results files are named in lower case, after their script; an upper-case NAME.json is a placeholder.
RESULTS_PATH = re.compile(r"(?<![\w/.-])(?:\.\./)?benchmarks/results/([a-z0-9][\w.-]*\.json)\b")
BARE_JSON = re.compile(r"(?<![\w/.-])([A-Za-z0-9_][\w.-]*\.json)\b")
NOT_BENCHMARKS = ("benchmarks/common.py", "benchmarks/make_readme.py")
BENCHMARK_SCRIPTS = sorted(
    Path(path).stem
    for path in TRACKED
    if re.fullmatch(r"benchmarks/[a-z]\w*\.py", path) and path not in NOT_BENCHMARKS
)


def is_results_name(name: str, scripts: List[str] = BENCHMARK_SCRIPTS) -> bool:
    """Whether a bare file name is a benchmark's results file: it starts with a benchmark script's name."""
    stem = name[: -len(".json")]
    return any(stem == script or stem.startswith((script + "-", script + "_")) for script in scripts)


def cited_results(text: str, scripts: List[str] = BENCHMARK_SCRIPTS) -> Set[str]:
    """The names of the results files a text cites, by path or by a bare name that is a results file's."""
    named = set(RESULTS_PATH.findall(text))
    return named | {name for name in BARE_JSON.findall(text) if is_results_name(name, scripts)}


def missing_results(paths: List[str]) -> Iterator[str]:
    for path in paths:
        text = (REPO / path).read_text(encoding="utf-8")
        for name in sorted(cited_results(text)):
            if f"{RESULTS}/{name}" not in TRACKED_SET:
                yield (
                    f"{path}: cites {name}, which is not in {RESULTS}/: commit the file (its benchmark "
                    "writes it), or cite one that is there"
                )


# ------------------------------------------------------------------------------------------------------------
# The tests
# ------------------------------------------------------------------------------------------------------------


def test_the_repository_has_documents_to_check():
    assert "README.md" in DOCUMENTS and any(path.startswith("notebooks/") for path in DOCUMENTS)
    assert "gan_quality" in BENCHMARK_SCRIPTS


def test_every_relative_link_resolves():
    broken = list(broken_links(DOCUMENTS))
    assert not broken, f"{len(broken)} broken link(s):\n" + "\n".join(broken)


def test_every_cited_results_file_exists():
    # Tests name files that do not exist on purpose (their own examples, written to temporary folders).
    citing = [
        path for path in TRACKED if path.endswith((".md", ".ipynb", ".py")) and not path.startswith("tests/")
    ]
    missing = list(missing_results(citing))
    assert not missing, f"{len(missing)} cited results file(s) missing:\n" + "\n".join(missing)


# The checker itself, on small texts: it finds what it claims to find and skips what it claims to skip.

TEXT = """# A title

See [the lessons](notebooks/), [a file](docs/missing.md), ![a picture](<assets/a b.png> "title") and
[the top](#a-title), [nowhere](#no-such-heading), [a site](https://example.org/x.md),
![embedded](data:image/png;base64,AAAA).
`code[0](not_a_link.md)` and $x[1](y)$ are not links. <img src="assets/pic.png" width="10">

```python
also_not[0](a_link.md)
```

[ref]: docs/ref.md
"""


def test_links_are_found_outside_code_and_math():
    assert link_targets(TEXT) == [
        "notebooks/", "docs/missing.md", "assets/a b.png", "#a-title", "#no-such-heading",
        "https://example.org/x.md", "data:image/png;base64,AAAA", "assets/pic.png", "docs/ref.md",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "document, target, expected",
    [
        ("README.md", "notebooks/00_welcome.ipynb", None),
        ("README.md", "notebooks", None),
        ("notebooks/00_welcome.ipynb", "../README.md", None),
        ("notebooks/00_welcome.ipynb", "README.md", "no file notebooks/README.md"),
        ("README.md", "docs/no_such_file.md", "no file docs/no_such_file.md"),
        ("README.md", "../outside.md", "outside the repository"),
        ("README.md", "https://example.org/missing.md", None),
        ("README.md", "data:image/png;base64,AAAA", None),
        ("README.md", "benchmarks/README.md#the-league-table-lesson-08", None),
        ("README.md", "benchmarks/README.md#no-such-heading", "no heading with the anchor #no-such-heading"),
    ],
)
def test_a_link_is_judged_against_the_tracked_files(document, target, expected):
    problem = problem_with(document, target)
    assert problem is None if expected is None else expected in problem


def test_github_anchors_drop_punctuation_and_number_repeats():
    assert github_anchor("The league table (lesson 08)") == "the-league-table-lesson-08"
    assert github_anchor("`make test`: what it runs") == "make-test-what-it-runs"
    assert anchors("# Setup\n## Setup\n```\n# not a heading\n```\n") == {"setup", "setup-1"}


def test_results_files_are_cited_by_path_or_by_a_benchmark_s_name():
    text = (
        "see benchmarks/results/x_search.json, `gan_quality-cuda.json`, gan_quality.json, grades.json, "
        "page_config.json, benchmarks/results/NAME.json and benchmarks/results/*.json"
    )
    expected = {"x_search.json", "gan_quality-cuda.json", "gan_quality.json"}
    assert cited_results(text, scripts=["gan_quality"]) == expected
