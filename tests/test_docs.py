"""The code in the docs runs: every fenced ```python block of every ``docs/*.md``
page and of README.md, in order, one namespace per file, in a temporary working
directory. A page added later is picked up without a line here.

Each file gets a registry of its own (loaded from the installed entry points), so
a page that registers a plugin in-process leaves nothing behind for other tests.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

import corenn.registry

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line number, code)`` of each fenced block whose info string is ``python``."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, info = match["indent"], match["fence"], match["info"].strip().split()
        start, i = i + 1, i + 1
        while i < len(lines) and not (lines[i].strip().startswith(fence[0] * len(fence))
                                      and set(lines[i].strip()) == {fence[0]}):
            i += 1
        if info[:1] == ["python"]:
            body = [line[len(indent):] if line.startswith(indent) else line for line in lines[start:i]]
            blocks.append((start + 1, textwrap.dedent("\n".join(body)) + "\n"))
        i += 1
    return blocks


ALL_PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
PAGES = [p for p in ALL_PAGES if python_blocks(p.read_text(encoding="utf-8"))]  # pages with code to run


def test_the_block_finder():
    text = "intro\n```python\nx = 1\n```\n```console\n$ corenn list\n```\n  ```python\n  y = x + 1\n  ```\n"
    assert python_blocks(text) == [(3, "x = 1\n"), (9, "y = x + 1\n")]


def test_the_core_pages_exist_and_have_code():
    for page in ("architecture.md", "plugin-guide.md", "index.md"):
        assert (ROOT / "docs" / page).is_file(), f"docs/{page} is missing"
    for page in ("architecture.md", "plugin-guide.md"):
        assert python_blocks((ROOT / "docs" / page).read_text(encoding="utf-8")), f"docs/{page} has no python block"


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_the_python_blocks_of_a_page_run(page, tmp_path, monkeypatch):
    blocks = python_blocks(page.read_text(encoding="utf-8"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("CORENN_DISABLE_PLUGINS", raising=False)
    monkeypatch.setattr(corenn.registry, "_registry", None)  # a registry of its own, dropped afterwards
    name = page.relative_to(ROOT).as_posix()
    namespace = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for number, (line, code) in enumerate(blocks, 1):
        try:
            exec(compile(code, f"{name}:{line}", "exec"), namespace)
        except Exception as exc:
            raise AssertionError(f"{name}, python block {number} (line {line}) failed: "
                                 f"{type(exc).__name__}: {exc}") from exc


def test_the_index_links_every_page():
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([^)#\s]+\.md)", index))
    pages = {p.name for p in (ROOT / "docs").glob("*.md")} - {"index.md"}
    assert pages - linked == set(), f"docs/index.md does not link {sorted(pages - linked)}"
    assert linked - pages == set(), f"docs/index.md links missing pages {sorted(linked - pages)}"
