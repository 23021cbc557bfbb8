"""corenn-figures: the helpers figure-drawing plugins share (pyplot on Agg, atomic saves, smoothing)."""

import os
import subprocess
import sys

import numpy as np
import pytest

import corenn
from corenn_figures import pyplot, save_figure, smooth


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


# -- smoothing ---------------------------------------------------------------------------------------

def test_the_moving_average_is_bias_corrected_so_it_starts_at_the_first_value():
    # a_i = beta a_(i-1) + (1 - beta) x_i, a_(-1) = 0, s_i = a_i / (1 - beta^(i+1)); with beta 0.5:
    # s_0 = 0.5 / 0.5 = 1, s_1 = (0.25 + 1) / 0.75 = 5/3, s_2 = (0.625 + 1.5) / 0.875 = 17/7
    np.testing.assert_allclose(smooth([1.0, 2.0, 3.0], 0.5), [1.0, 5 / 3, 17 / 7], rtol=1e-15)
    np.testing.assert_allclose(smooth([2.0] * 6), 2.0, rtol=1e-15)  # a constant is not pulled towards 0


def test_the_moving_average_is_the_weighted_mean_of_the_values_so_far():
    x = np.random.default_rng(0).normal(size=40)
    for beta in (0.0, 0.3, 0.9, 0.98):
        expected = [np.average(x[:i + 1], weights=beta ** np.arange(i, -1, -1.0)) for i in range(len(x))]
        np.testing.assert_allclose(smooth(x, beta), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(smooth(x, 0.0), x)  # beta 0: no smoothing
    np.testing.assert_array_equal(smooth(x), smooth(x, 0.9))  # the default beta is 0.9


def test_the_moving_average_damps_noise_and_follows_the_trend():
    noise = np.tile([1.0, -1.0], 50)
    s = smooth(np.linspace(10, 0, 100) + noise, 0.9)
    assert np.abs(np.diff(s[10:])).max() < 0.3 < np.abs(np.diff(noise)).max()
    assert s[-1] < 1.5 < 8.5 < s[0]


def test_a_window_gives_the_trailing_mean_of_the_last_values():
    x = [1.0, 2.0, 3.0, 4.0, 5.0]
    np.testing.assert_allclose(smooth(x, window=2), [1.0, 1.5, 2.5, 3.5, 4.5], rtol=1e-15)
    np.testing.assert_allclose(smooth(x, window=10), [1.0, 1.5, 2.0, 2.5, 3.0], rtol=1e-15)  # fewer at the start
    np.testing.assert_array_equal(smooth(x, window=1), x)
    y = np.random.default_rng(1).normal(size=30)
    np.testing.assert_allclose(smooth(y, window=7), [y[max(0, i - 6):i + 1].mean() for i in range(30)],
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kwargs", [{"beta": 0.9}, {"window": 3}], ids=["beta", "window"])
def test_smooth_returns_a_new_float64_curve_of_the_same_length(kwargs):
    ints = np.arange(8)
    out = smooth(ints, **kwargs)
    assert out.dtype == np.float64 and out.shape == (8,)
    np.testing.assert_array_equal(ints, np.arange(8))  # the input is left alone
    assert smooth([], **kwargs).shape == (0,)
    with_nan = smooth([1.0, 2.0, np.nan, 3.0, 4.0], **kwargs)
    assert np.isfinite(with_nan[:2]).all() and np.isnan(with_nan[2:]).all()


@pytest.mark.parametrize("kwargs", [
    {"beta": 1.0}, {"beta": -0.1}, {"beta": "0.9"}, {"beta": True},
    {"window": 0}, {"window": 2.5}, {"window": True}, {"beta": 0.9, "window": 3},
])
def test_bad_smoothing_parameters_are_refused(kwargs):
    with pytest.raises(corenn.InvalidInput, match="smooth"):
        smooth([1.0, 2.0, 3.0], **kwargs)


def test_only_a_single_curve_can_be_smoothed():
    with pytest.raises(corenn.InvalidInput, match="1-D"):
        smooth(np.ones((3, 2)))


# -- matplotlib, imported lazily ---------------------------------------------------------------------

def test_the_module_imports_without_matplotlib_and_pyplot_then_says_what_is_missing():
    code = ("import sys; sys.modules['matplotlib'] = None\n"  # as if matplotlib were not installed
            "import corenn_figures as p\n"
            "print(p.smooth([1.0, 3.0], window=2)[-1])\n"
            "try:\n    p.pyplot()\nexcept ModuleNotFoundError as e:\n    print(e.name, '|', e)\n")
    result = _python(code)
    assert result.returncode == 0, result.stderr
    smoothed, error = result.stdout.splitlines()
    assert smoothed == "2.0"
    assert error.startswith("matplotlib |") and "pip install matplotlib" in error


def test_pyplot_selects_agg_and_matplotlib_is_imported_only_on_first_use():
    pytest.importorskip("matplotlib")
    code = ("import sys, corenn_figures as p\n"
            "print('matplotlib' in sys.modules)\n"
            "plt = p.pyplot()\n"
            "print(plt.get_backend().lower(), plt is sys.modules['matplotlib.pyplot'])\n")
    result = _python(code, MPLBACKEND="svg")  # another backend asked for by the environment
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "agg", "True"]


# -- saving ------------------------------------------------------------------------------------------

@pytest.fixture
def plt():
    pytest.importorskip("matplotlib")
    return pyplot()


def _figure(plt, dpi=50):
    fig, ax = plt.subplots(figsize=(4, 3), dpi=dpi)
    ax.plot([0, 1, 2], [0, 1, 4], linewidth=3)
    return fig


def test_save_figure_writes_a_readable_png_closes_the_figure_and_returns_the_path(plt, tmp_path):
    import matplotlib.image

    fig = _figure(plt)
    path = tmp_path / "new" / "folder" / "figure.png"
    assert save_figure(fig, path) == path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == (150, 200)  # 4 x 3 inches at the figure's own 50 dpi
    assert image[..., :3].std() > 0.01, "not blank"
    assert not plt.fignum_exists(fig.number)
    assert sorted(p.name for p in path.parent.iterdir()) == ["figure.png"]  # no temporary file left
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_dpi_sets_the_resolution_of_the_file(plt, tmp_path):
    import matplotlib.image

    path = save_figure(_figure(plt), tmp_path / "sharp.png", dpi=100)
    assert matplotlib.image.imread(path).shape[:2] == (300, 400)


def test_the_format_follows_the_suffix_and_the_path_is_kept_as_given(plt, tmp_path):
    svg = save_figure(_figure(plt), tmp_path / "figure.svg")
    assert b"<svg" in svg.read_bytes()[:1000]
    bare = save_figure(_figure(plt), tmp_path / "figure")
    assert bare.name == "figure" and bare.read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "figure.png").exists()


def test_a_failed_save_leaves_the_old_file_whole_and_still_closes_the_figure(plt, tmp_path):
    path = tmp_path / "figure.png"
    path.write_bytes(b"the previous figure")
    fig = _figure(plt)
    with pytest.raises(ValueError):
        save_figure(fig, path, format="no-such-format")
    assert path.read_bytes() == b"the previous figure"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figure.png"]
    assert not plt.fignum_exists(fig.number)


def test_a_figure_made_without_pyplot_is_saved_too(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1), dpi=40)
    FigureCanvasAgg(fig)
    fig.subplots().plot([0, 1])
    assert save_figure(fig, tmp_path / "plain.png", dpi=30).read_bytes()[:4] == b"\x89PNG"


def test_wrap_title_breaks_at_spaces_into_lines_that_fit_and_keeps_paths_whole():
    from corenn_figures import wrap_title

    text = "a run on digits with " + "many words " * 20 + "in /some/very/long/folder/name/that/must/stay/whole"
    wrapped = wrap_title(text, width=4, fontsize=12)  # 4 inches: 40 characters of 0.6 em at 12 points
    lines = wrapped.split("\n")
    assert " ".join(lines) == " ".join(text.split())
    assert all(len(line) <= 40 for line in lines if "/" not in line)
    assert "/some/very/long/folder/name/that/must/stay/whole" in lines
    assert wrap_title("short", 4) == "short"
