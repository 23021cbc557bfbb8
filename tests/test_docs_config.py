from pathlib import Path

from corenn.run import config_reference

DOC = Path(__file__).parents[1] / "docs" / "config.md"


def test_the_config_reference_in_the_docs_is_generated_from_the_fields():
    text = DOC.read_text()
    start = text.index("-->\n", text.index("<!-- generated")) + 4
    end = text.index("<!-- end of generated table -->")
    assert text[start:end].strip() == config_reference().strip(), \
        "docs/config.md is out of date: paste corenn.run.config_reference() between the markers"


def test_the_example_configs_are_valid_run_configs():
    import tomllib

    from corenn.run import RunConfig

    for path in (DOC.parent / "examples").glob("*.toml"):
        cfg = RunConfig.from_mapping(tomllib.loads(path.read_text()), where=str(path))
        assert cfg.epochs > 0
