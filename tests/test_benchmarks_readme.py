"""benchmarks/README.md is what benchmarks/make_readme.py writes from benchmarks/results/: a row per file."""

from __future__ import annotations

import json
import shutil

import pytest

from benchmarks import make_readme


def test_the_committed_readme_is_what_the_generator_writes():
    committed = make_readme.README.read_text(encoding="utf-8")
    assert make_readme.render(committed) == committed, (
        "benchmarks/README.md differs from what benchmarks/results/*.json give: run "
        "`python benchmarks/make_readme.py` (see the difference with `--check`) and commit the README."
    )


def test_every_results_file_has_a_row_linking_to_it():
    table = make_readme.benchmarks_table(make_readme.RESULTS_DIR)
    for path in sorted(make_readme.RESULTS_DIR.glob("*.json")):
        assert f"[{path.name}](results/{path.name})" in table, (
            f"{path.name} has no row in benchmarks/README.md"
        )
        record = json.loads(path.read_text(encoding="utf-8"))
        assert f"`{record['command']}`" in table, f"{path.name}: its command is not in its row"


def test_the_league_table_is_the_one_league_table_py_wrote():
    section = make_readme.league_section(make_readme.RESULTS_DIR)
    markdown = (make_readme.RESULTS_DIR / "league_table.md").read_text(encoding="utf-8")
    table = "\n".join(line for line in markdown.splitlines() if line.startswith("|"))
    assert table in section and "standard deviation over the" in section


@pytest.fixture
def results_copy(tmp_path):
    folder = tmp_path / "results"
    shutil.copytree(make_readme.RESULTS_DIR, folder)
    return folder


def test_an_unknown_results_file_stops_the_generator(results_copy):
    record = {"benchmark": "brand_new_benchmark", "command": "python benchmarks/brand_new_benchmark.py"}
    (results_copy / "brand_new_benchmark.json").write_text(json.dumps(record))
    with pytest.raises(make_readme.ResultsError, match="brand_new_benchmark.json.*no extractor"):
        make_readme.benchmarks_table(results_copy)


def test_a_file_with_a_summary_gets_a_row_from_it(results_copy):
    record = {
        "benchmark": "some_search",
        "command": "python benchmarks/some_search.py",
        "date": "2026-01-02T03:04:05",
        "machine": {
            "cpu_count": 4,
            "torch_threads": 2,
            "cuda": None,
            "load_average_1min": {"at_start": None},
        },
        "summary": {"compares": "three learning rates", "headline": "8e-4 is best", "lesson": "05"},
    }
    (results_copy / "some_search.json").write_text(json.dumps(record))
    table = make_readme.benchmarks_table(results_copy)
    row = next(line for line in table.splitlines() if "some_search.json" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:4] == ["05", "three learning rates", "8e-4 is best", f"`{record['command']}`"]
    assert cells[4:9] == ["CPU (4 cores)", "2", "–", "not recorded", "2026-01-02"]


def test_a_known_benchmark_with_a_changed_structure_stops_the_generator(results_copy):
    path = results_copy / "pipeline_throughput.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    del record["figures"]["ratio"]
    path.write_text(json.dumps(record))
    with pytest.raises(make_readme.ResultsError, match="pipeline_throughput.json.*extractor"):
        make_readme.benchmarks_table(results_copy)


def test_league_files_from_different_runs_stop_the_generator(results_copy):
    path = results_copy / "league_table.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    record["figures"]["rows"] = record["figures"]["rows"][1:]
    path.write_text(json.dumps(record))
    with pytest.raises(make_readme.ResultsError, match="different runs"):
        make_readme.league_section(results_copy)


def test_check_mode_names_the_command_that_fixes_a_stale_readme(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "README.md"
    stale.write_text(f"# Benchmarks\n\n{make_readme.START}\nold table\n{make_readme.END}\n")
    monkeypatch.setattr(make_readme, "README", stale)
    assert make_readme.main(["--check"]) == 1
    assert "run `python benchmarks/make_readme.py`" in capsys.readouterr().out
    assert make_readme.main([]) == 0 and make_readme.main(["--check"]) == 0
    assert stale.read_text().startswith("# Benchmarks\n\n") and "old table" not in stale.read_text()
