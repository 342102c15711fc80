"""The calibration notebooks run end to end (small budgets), so they never rot."""

import nbformat
import pytest

from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "calibration").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_writes_its_calibrated_scenario(path, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("SIM_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("SIM_NOTEBOOK_OUT", str(tmp_path))
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    errors = [
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.output_type == "error"
    ]
    assert not errors
    written = list(tmp_path.glob("*/*.calibrated.yaml"))
    assert len(written) == 1 and written[0].stat().st_size > 0
    assert any("image/png" in o.get("data", {}) for c in notebook.cells for o in c.get("outputs", []))


def test_both_notebooks_are_shipped_with_their_outputs():
    """A reader sees the figures without running anything; `tools/run_notebooks.py` stored them (full
    budgets) with the time each took, which the README states."""
    assert {p.stem for p in NOTEBOOKS} == {"paysim_month", "beer_game"}
    readme = (ROOT / "README.md").read_text()
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        code = [c for c in notebook.cells if c.cell_type == "code"]
        assert all(c.get("execution_count") for c in code), path
        outputs = [o for c in code for o in c.get("outputs", [])]
        assert not [o for o in outputs if o.output_type == "error"], path
        assert any("image/png" in o.get("data", {}) for o in outputs), path
        minutes = round(notebook.metadata["sim"]["run_seconds"] / 60)
        assert f"`{path.name}` ({minutes} min" in readme, f"the README states how long {path.name} takes"
