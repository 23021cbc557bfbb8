"""Every command's --help reads whole at 80 columns (a common terminal, and Rich's width for a pipe):
no example, option name or default is cut with an ellipsis. The plugins' commands are included."""

import click
import pytest
import typer

from corenn.cli import build_app, main

def command_paths() -> list[list[str]]:
    def walk(command, path):
        yield path
        if hasattr(command, "list_commands"):  # a group: corenn itself, corenn diagnose
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                yield from walk(command.get_command(ctx, name), [*path, name])

    return list(walk(typer.main.get_command(build_app()), []))


def test_the_walk_finds_the_core_and_plugin_commands():
    names = {" ".join(p) for p in command_paths()}
    assert {"", "list", "info", "train", "evaluate", "predict"} <= names
    if "diagnose" in names:
        assert "diagnose activations" in names


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "corenn")
def test_help_at_80_columns_cuts_no_word(path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    cut = [word for line in out.splitlines() for word in line.split() if word.endswith("…")]
    assert not cut, cut
