"""Every notebook runs top to bottom (a copy, in fast mode: STREAMDEX_FAST=1) without a cell
error and shows at least one plot. `make notebooks` runs them in place, outputs kept."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).parent.parent
NOTEBOOKS = sorted([ROOT / "Simulation.ipynb", *(ROOT / "notebooks").glob("*.ipynb")])
_SPEC = importlib.util.spec_from_file_location("execute", ROOT / "notebooks" / "execute.py")
assert _SPEC is not None and _SPEC.loader is not None
runner = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(runner)


def execute(path: Path, workdir: Path) -> nbformat.NotebookNode:
    """Run a copy of `path` (from its own directory in the repository) into `workdir`."""
    copy = workdir / path.relative_to(ROOT)
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, copy)
    notebook: nbformat.NotebookNode = runner.execute(path, copy, timeout=120)
    return notebook


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_notebook_runs_and_plots(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMDEX_FAST", "1")
    monkeypatch.setenv("PATH", os.environ["PATH"])  # execute() prepends .venv/bin: undone after
    notebook = execute(path, tmp_path)
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no plot"


def test_the_notebooks_in_the_repository_keep_their_plots() -> None:
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
        assert any("image/png" in o.get("data", {}) for o in outputs), f"{path}: run make notebooks"
