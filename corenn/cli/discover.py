"""``corenn list``, ``corenn info`` and ``corenn plugins``."""

from __future__ import annotations

import json
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..errors import UnknownComponent
from ..registry import ALL_KINDS, describe, plugins, registry
from ..spec import format_spec

JSON_OPTION = typer.Option(False, "--json", metavar="", help="Print machine-readable JSON instead of a table.")


def _console() -> Console:
    # no emoji codes: ':name:' in a docstring stays text (and rich's emoji table is not loaded)
    return Console(soft_wrap=False, emoji=False)


def _kinds(kind: str | None) -> tuple[str, ...]:
    if kind is None:
        return ALL_KINDS
    if kind not in ALL_KINDS:
        # accept the plural, as in 'corenn list activations'
        if kind.endswith("s") and kind[:-1] in ALL_KINDS:
            return (kind[:-1],)
        raise UnknownComponent("", kind, ALL_KINDS, what="kind")
    return (kind,)


def list_components(kind: Optional[str] = typer.Argument(None, help=f"One of: {', '.join(ALL_KINDS)}."),
                    as_json: bool = JSON_OPTION) -> None:
    """List registered components: name, distribution and summary, by kind."""
    kinds = _kinds(kind)
    rows = [describe(k, n) for k in kinds for n in registry().available(k)]
    if as_json:
        print(json.dumps([{"kind": d.kind, "name": d.name, "distribution": d.distribution,
                           "version": d.version, "summary": d.summary} for d in rows], indent=2))
        return
    console = _console()
    if rows:
        for line in component_lines(rows, console.width):
            console.print(line, soft_wrap=True)
    else:
        console.print("no components registered; install plugins (see 'corenn plugins')")
    failed = [p for p in plugins() if p.status == "failed"]
    if failed:
        console.print(f"[yellow]{len(failed)} plugin(s) failed to load: "
                      f"{', '.join(p.distribution for p in failed)}; see 'corenn plugins'[/yellow]", soft_wrap=True)
    reg = registry()
    for k, n in sorted(reg.conflicts):
        if k in kinds:
            console.print(f"[yellow]left out: {escape(reg.conflict_message(k, n))}[/yellow]", highlight=False,
                          soft_wrap=True)


def component_lines(rows: list, width: int) -> list:
    """``corenn list`` as lines that fit ``width``: a header per kind, then one line per component
    (two-space indent, name, distribution, summary cut to the width with an ellipsis)."""
    from rich.text import Text

    lines = []
    for kind in dict.fromkeys(d.kind for d in rows):
        group = [d for d in rows if d.kind == kind]
        names, dists = (max(len(getattr(d, f)) for d in group) for f in ("name", "distribution"))
        lines.append(Text(kind, style="bold"))
        for d in group:
            line = Text(f"  {d.name:<{names}}  {d.distribution:<{dists}}  {d.summary}".rstrip())
            line.truncate(max(width, 1), overflow="ellipsis")
            lines.append(line)
    return lines


def info(kind: str = typer.Argument(..., help="Component kind."),
         name: str = typer.Argument(..., help="Component name."),
         as_json: bool = JSON_OPTION) -> None:
    """Describe a component: summary, distribution and hyperparameters."""
    (kind,) = _kinds(kind)
    d = describe(kind, name)
    if as_json:
        print(json.dumps(d.to_dict(), indent=2, default=repr))
        return
    console = _console()
    console.print(f"[bold]{d.kind} {d.name}[/bold]  ({escape(f'{d.distribution} {d.version}'.strip())})")
    if d.doc:
        console.print(reflow(d.doc), markup=False)
    if d.hyperparameters:
        table = Table("hyperparameter", "type", "default", "doc", box=None, header_style="bold")
        for h in d.hyperparameters:
            table.add_row(h.name, escape(h.type + (" | schedule" if h.schedulable else "")),
                          "(required)" if h.required else escape(repr(h.default)), escape(h.doc))
        console.print(table)
        example = format_spec(d.name, {h.name: h.default for h in d.hyperparameters if not h.required})
        console.print(f"spec: {example}", markup=False, highlight=False, soft_wrap=True)
    else:
        console.print("no hyperparameters")


def list_plugins(as_json: bool = JSON_OPTION) -> None:
    """Installed plugin distributions, what each registers, and any that failed."""
    infos = plugins()
    conflicts = registry().conflicts
    if as_json:
        def clashes(p):
            return [{"kind": k, "name": n, "distributions": [e.distribution for e in entries]}
                    for (k, n), entries in sorted(conflicts.items()) if any(e.plugin == p.plugin for e in entries)]

        print(json.dumps([{**p.to_dict(), "conflicts": clashes(p)} for p in infos], indent=2))
        return
    table = Table("entry point", "distribution", "version", "status", "registers", box=None, header_style="bold")
    for p in infos:
        status = {"ok": "[green]ok[/green]", "disabled": "[dim]disabled[/dim]"}.get(p.status, "[red]failed[/red]")
        registers = ", ".join(f"{k} {n}" for k, n in p.components)
        table.add_row(p.plugin, p.distribution, p.version, status, escape(registers or (p.error or "")))
    console = _console()
    console.print(table if infos else "no plugins installed")
    for p in infos:
        if p.status == "failed":
            console.print(f"[red]{p.distribution}[/red] ({p.plugin}): {escape(p.error or '')}", highlight=False,
                          soft_wrap=True)
    for kind, name in sorted(conflicts):
        console.print(f"[red]conflict[/red]: {escape(registry().conflict_message(kind, name))}", highlight=False,
                      soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command("list")(list_components)
    app.command("info")(info)
    app.command("plugins")(list_plugins)


def reflow(doc: str) -> str:
    """A docstring's paragraphs as single lines, for the console to wrap at its width; indented
    lines (formulas, examples, tables) and the lines of a list stay as they are."""
    paragraphs, current = [], []
    for line in doc.splitlines():
        keep = not line.strip() or line.startswith((" ", "\t", "- ", "* ", "|"))
        if keep:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            paragraphs.append(line)
        else:
            current.append(line.strip())
    if current:
        paragraphs.append(" ".join(current))
    return "\n".join(paragraphs)
