"""Every command's ``--json`` prints JSON with exactly the keys docs/cli.md documents for it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

import corenn
from corenn.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def documented() -> dict[str, set[str]]:
    """``{"corenn train": {"folder", ...}, ...}`` from the key tables under each ``### `corenn ... --json` ``."""
    keys, command = {}, None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"### `(corenn [\w -]+?) --json`", line)
        if heading:
            command = heading[1]
            keys[command] = set()
        elif line.startswith("#"):
            command = None
        elif command and (row := re.match(r"\| `(\w+)` \|", line)):
            keys[command].add(row[1])
    return keys


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A finished run on spiral, an input file for predict, a stored search."""
    tmp = tmp_path_factory.mktemp("json")
    quick = ["--dataset", "spiral", "--hidden", "8", "--epochs", "1", "--no-default-callbacks", "--quiet"]
    assert main(["train", *quick, "--out", str(tmp / "run")]) == 0
    np.save(tmp / "x.npy", corenn.create("dataset", "spiral").load(seed=0).X_test[:4])
    if "search" in corenn_commands():
        assert main(["search", *quick[:-1], "--no-progress", "--workers", "0", "--trials", "2",
                     "-p", "optimizer.lr=log:1e-3..1e-1", "--out", str(tmp / "search"), "--json"]) == 0
    return tmp


def corenn_commands() -> set[str]:
    import typer

    from corenn.cli import build_app

    group = typer.main.get_command(build_app())
    return set(group.list_commands(None))


def arguments(command: str, tmp: Path) -> list[str] | None:
    """The arguments that make ``command`` report, or None where its plugin is not installed."""
    run, x = str(tmp / "run"), str(tmp / "x.npy")
    table = {
        "corenn list": ["list"], "corenn info": ["info", "optimizer", "sgd"], "corenn plugins": ["plugins"],
        "corenn train": ["train", "--dataset", "spiral", "--hidden", "8", "--epochs", "1", "--no-default-callbacks",
                         "--out", str(tmp / "json-run")],
        "corenn evaluate": ["evaluate", run], "corenn predict": ["predict", run, x],
        "corenn check": ["check", "--dataset", "spiral", "--hidden", "8"],
        "corenn search": ["search", "--show", str(tmp / "search")],
        "corenn diagnose activations": ["diagnose", "activations", "--layers", "2", "--units", "20", "--samples", "50",
                                        "--out", str(tmp)],
        "corenn plot": ["plot", run],
    }
    args = table.get(command)
    return args if args and args[0] in corenn_commands() else None


def test_the_page_documents_the_core_commands():
    assert {"corenn list", "corenn info", "corenn plugins", "corenn train", "corenn evaluate",
            "corenn predict"} <= set(documented())


@pytest.mark.parametrize("command", sorted(documented()))
def test_json_output_parses_and_has_the_documented_keys(command, files, capsys):
    args = arguments(command, files)
    if args is None:
        pytest.skip(f"{command}: its plugin is not installed (or the test does not know its arguments)")
    capsys.readouterr()
    ok = (0, 1) if command == "corenn check" else (0,)  # check exits 1 when a check fails
    assert main([*args, "--json"]) in ok, capsys.readouterr().err
    doc = json.loads(capsys.readouterr().out)
    keys = documented()[command]
    objects = doc if isinstance(doc, list) else [doc]
    assert objects
    for obj in objects:
        if command == "corenn predict":  # labels or probabilities, by --proba
            assert set(obj) | {"labels", "probabilities"} == keys and len(set(obj) & {"labels", "probabilities"}) == 1
        else:
            assert set(obj) == keys, (command, sorted(obj))
