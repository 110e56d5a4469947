"""Run notebooks top to bottom with nbclient, outputs kept: `make notebooks` and the tests.

    python notebooks/execute.py Simulation.ipynb notebooks/*.ipynb

Each notebook runs from its own directory, in the `python3` kernel of the interpreter that runs
this script (`.venv`'s ipykernel), so it imports the repository's packages as they are.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(source: Path, target: Path | None = None, timeout: int = 600) -> nbformat.NotebookNode:
    """Execute `source` and write the result to `target` (default: in place)."""
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    notebook = nbformat.read(source, as_version=4)
    NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(source.parent.resolve())}},
    ).execute()
    nbformat.write(notebook, target or source)
    return notebook


if __name__ == "__main__":
    for name in sys.argv[1:]:
        execute(Path(name))
        print("executed", name)
