"""The wheelhouse install of docs/plugin-guide.md, done for real: the wheels of the core and of a
few plugins are built into a folder, and a fresh environment gets corenn, relu, dense, sgd,
softmax-cross-entropy and spiral from that folder alone (``--no-index --find-links``), each
with only the first-party distributions it declares. Their third-party requirements come from
the locked versions in uv's cache (conftest.py's new_env), so no index is asked at all.

Then: they train ``corenn.mlp([2, 64, 3])`` on spiral; every component there is created with
its default hyperparameters; ``corenn train`` fails once, naming every missing distribution;
``corenn install adam`` makes ``--optimizer adam`` work.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from corenn.distributions import closure

ROOT = Path(__file__).resolve().parents[1]
CHOSEN = ["corenn-relu", "corenn-dense", "corenn-sgd", "corenn-softmax-cross-entropy", "corenn-spiral"]
LATER = ["corenn-adam"]  # in the wheelhouse, installed later by `corenn install adam`


@pytest.fixture(scope="module")
def fresh(uv, new_env):
    """(environment, wheelhouse): the chosen plugins installed from the wheelhouse into a new venv."""
    base = Path(tempfile.mkdtemp(prefix="corenn-wheelhouse-"))
    try:
        wheelhouse = base / "wheelhouse"
        for dist in closure(CHOSEN + LATER):
            uv.run("build", "--wheel", "--quiet", "--out-dir", str(wheelhouse), str(ROOT / "plugins" / dist))
        uv.run("build", "--wheel", "--quiet", "--out-dir", str(wheelhouse), str(ROOT))
        env = new_env(base)
        # the documented command: first-party names from the wheelhouse alone
        uv.run("pip", "install", "--quiet", "--python", env.python, "--no-index", "--find-links", str(wheelhouse),
               "corenn", *CHOSEN, network=False)
        yield env, wheelhouse
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _installed_first_party(env) -> set[str]:
    proc = env.python_c("import importlib.metadata as m; print(' '.join(sorted(d.metadata['Name'] for d in "
                        "m.distributions() if d.metadata['Name'].startswith('corenn'))))")
    return set(proc.stdout.split())


def test_the_wheelhouse_install_brings_each_plugin_with_the_plugins_it_declares_and_no_more(fresh):
    env, _ = fresh
    assert _installed_first_party(env) == {"corenn", *closure(CHOSEN)}
    assert {"corenn-he", "corenn-xavier", "corenn-zeros"} <= _installed_first_party(env)  # dense's defaults


def test_there_an_mlp_trains_on_spiral_and_every_component_is_made_with_its_defaults(fresh):
    env, _ = fresh
    result = fresh[0].probe("""
import numpy as np
made, failed = [], []
for kind in corenn.KINDS:
    for name in corenn.available(kind):
        required = {h.name for h in corenn.describe(kind, name).hyperparameters if h.required}
        given = {"in_features": 2, "out_features": 3} if required == {"in_features", "out_features"} else {}
        if required - set(given):
            continue
        try:
            corenn.create(kind, {"name": name, **given})
            made.append(f"{kind} {name}")
        except Exception as exc:
            failed.append(f"{kind} {name}: {exc}")
data = corenn.create("dataset", "spiral").load(seed=0)
model = corenn.mlp([2, 64, 3])
trainer = corenn.Trainer(model, loss="softmax_cross_entropy", optimizer="sgd:lr=1.0", epochs=30, batch_size=32)
history = trainer.fit(data.X_train, data.y_train)
result = {"made": made, "failed": failed, "loss": [history.epochs[0]["loss"], history.epochs[-1]["loss"]],
          "accuracy": trainer.evaluate(data.X_test, data.y_test)["accuracy"]}
""")
    assert result["failed"] == []
    assert {"layer dense", "initializer he", "initializer zeros", "activation relu", "optimizer sgd",
            "dataset spiral", "loss softmax_cross_entropy"} <= set(result["made"])
    first, last = result["loss"]
    assert last < 0.5 * first
    assert result["accuracy"] > 0.6  # three classes: chance is 1/3


def test_there_an_unknown_command_of_a_first_party_plugin_says_what_to_install(fresh):
    env, _ = fresh
    proc = env.corenn("check")
    assert proc.returncode == 2
    assert "it is provided by corenn-check, which is not installed; install it with `corenn install check`" \
        in " ".join(proc.stderr.replace("│", " ").split())


def test_there_corenn_train_names_every_missing_plugin_and_corenn_install_adds_them(fresh, tmp_path):
    env, wheelhouse = fresh
    proc = env.corenn("train", "--epochs", "1", "--out", str(tmp_path / "default-run"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("error: this run needs components that are not installed: ")
    for missing in ("dataset 'digits' (corenn-digits)", "preprocessor 'mean_subtraction' (corenn-mean-subtraction)",
                    "optimizer 'adam' (corenn-adam)", "install them with `corenn install digits mean_subtraction adam`"):
        assert missing in proc.stderr
    assert not (tmp_path / "default-run").exists()

    config = tmp_path / "spiral.toml"
    config.write_text('dataset = "spiral"\npreprocess = []\nhidden = [64]\nepochs = 2\ndefault_callbacks = false\n')
    adam = ("--optimizer", "adam:lr=0.01")
    before = env.corenn("train", str(config), *adam, "--out", str(tmp_path / "before"), "--no-progress")
    assert before.returncode == 2 and "optimizer 'adam' (corenn-adam)" in before.stderr

    path = f"{ROOT / '.tools' / ('Scripts' if os.name == 'nt' else 'bin')}{os.pathsep}{os.environ.get('PATH', '')}"
    install = env.corenn("install", "adam", "--wheelhouse", str(wheelhouse), PATH=path, UV_OFFLINE="1")
    assert install.returncode == 0, install.stderr
    assert "installed corenn-adam: optimizer adam" in install.stdout
    assert "--no-index" in install.stderr  # the installer command it ran
    assert "corenn-adam" in env.corenn("plugins").stdout
    after = env.corenn("train", str(config), *adam, "--out", str(tmp_path / "after"), "--no-progress")
    assert after.returncode == 0, after.stderr
    assert (tmp_path / "after" / "model.npz").is_file()
