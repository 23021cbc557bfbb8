"""What `corenn search` prints: a table that fits 80 columns with the borders of `corenn list`,
and `--json` (with or without `--show`) as the documented plain data."""

import json

import pytest

from corenn.cli import main

ARGS = ["--dataset", "spiral", "--hidden", "8", "--epochs", "1", "--no-default-callbacks", "--no-progress",
        "--workers", "0", "--trials", "3", "-p", "optimizer.lr=log:1e-3..1e-1", "-p", "regularizer.strength=log:1e-6..1e-2",
        "--regularizer", "l2", "-p", "activation=choice:relu|tanh"]
KEYS = {"storage", "folder", "finished", "planned", "ran", "space", "trials", "best", "importance", "warnings",
        "figure", "best_config"}
TRIAL_KEYS = {"stage", "trial", "params", "status", "val_acc", "train_acc", "val_loss", "loss", "epochs", "seconds",
              "error"}


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    out = tmp_path_factory.mktemp("search") / "s"
    assert main(["search", *ARGS, "--out", str(out), "--json"]) == 0
    return out


def test_search_json_lists_every_trial_best_first(searched, capsys):
    assert main(["search", "--show", str(searched), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == KEYS and doc["finished"] and len(doc["trials"]) == 3
    assert all(set(t) == TRIAL_KEYS for t in doc["trials"])
    accs = [t["val_acc"] for t in doc["trials"]]
    assert accs == sorted(accs, reverse=True) and doc["best"] == doc["trials"][0]
    assert set(doc["trials"][0]["params"]) == {"optimizer.lr", "regularizer.strength", "activation"}


def test_the_table_fits_80_columns_without_borders_or_cut_values(searched, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["search", "--show", str(searched)]) == 0
    out = capsys.readouterr().out
    table = [line for line in out.splitlines() if line[:1] == " " or line.startswith("rank")]
    assert table and max(len(line) for line in table) <= 80
    assert not any(ch in out for ch in "│┃━─…")
    header = next(line for line in out.splitlines() if line.startswith("rank"))
    assert header.split()[:5] == ["rank", "trial", "lr", "strength", "activation"]
