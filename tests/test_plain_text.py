"""User-facing text stands alone: it cites the tutorial or a paper, never a document
outside the repository, and ``corenn info`` prints plain text, not reST markup."""

import re
from pathlib import Path

import pytest

import corenn
from corenn.cli import main
from corenn.registry import ALL_KINDS, plain_text

ROOT = Path(__file__).resolve().parents[1]
REGISTERED = [(kind, name) for kind in ALL_KINDS for name in corenn.available(kind)]
MARKUP = re.compile(r"``|::\s*$|:[a-z]+:`", re.MULTILINE)


def test_no_source_file_or_page_cites_the_contract_by_section():
    files = [p for folder in ("corenn", "plugins", "docs") for p in (ROOT / folder).rglob("*")
             if p.suffix in (".py", ".md", ".toml", ".tmpl") and ".venv" not in p.parts]
    citing = [str(p.relative_to(ROOT)) for p in files
              if re.search(r"contract section", p.read_text(encoding="utf-8"), re.IGNORECASE)]
    assert citing == [], "name the formula's source (the tutorial, a paper) instead"


def test_plain_text_drops_literals_roles_and_block_markers():
    doc = "Adam: ``adam(lr=0.001)``, see :func:`corenn.value_at`::\n\n    m = beta1 * m\n\nText ::\n\n    x"
    assert plain_text(doc) == "Adam: adam(lr=0.001), see corenn.value_at:\n\n    m = beta1 * m\n\nText\n\n    x"


@pytest.mark.parametrize(("kind", "name"), REGISTERED, ids=[f"{k}-{n}" for k, n in REGISTERED])
def test_info_prints_plain_text(kind, name, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "240")
    assert main(["info", kind, name]) == 0
    out = capsys.readouterr().out
    assert not MARKUP.search(out), MARKUP.search(out).group(0)
