"""The NHS chart theme: registered, and its colours distinct for colour-blind readers."""
from __future__ import annotations

import itertools

import altair as alt
import numpy as np
import pytest

from portal import theme

# Machado, Oliveira and Fernandes (2009), severity 1.0, applied to linear RGB.
SIMULATIONS = {
    "typical": np.eye(3),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}


def _linear(hex_colour: str) -> np.ndarray:
    srgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ np.clip(linear_rgb, 0, 1)
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _closest_pair(colours, simulation) -> float:
    """The smallest CIE76 colour difference between any two colours as seen with this vision."""
    matrix = SIMULATIONS[simulation]
    return min(np.linalg.norm(_lab(matrix @ _linear(a)) - _lab(matrix @ _linear(b)))
               for a, b in itertools.combinations(colours, 2))


def _contrast_on_white(hex_colour: str) -> float:
    luminance = float(np.dot([0.2126, 0.7152, 0.0722], _linear(hex_colour)))
    return 1.05 / (luminance + 0.05)


@pytest.mark.parametrize("simulation", SIMULATIONS)
@pytest.mark.parametrize("n, at_least", [(2, 80), (3, 35), (4, 25), (6, 15)])
def test_the_first_categorical_colours_stay_distinct(simulation, n, at_least):
    assert _closest_pair(theme.CATEGORICAL[:n], simulation) >= at_least


@pytest.mark.parametrize("simulation", SIMULATIONS)
def test_send_status_colours_stay_distinct(simulation):
    assert _closest_pair(list(theme.SEND_STATUS_COLOURS.values()), simulation) >= 15


def test_text_colours_meet_wcag_contrast_on_white():
    assert _contrast_on_white(theme.NHS_TEXT) >= 4.5
    assert _contrast_on_white(theme.NHS_SECONDARY_TEXT) >= 4.5


def test_the_nhs_theme_is_on_and_uses_the_palette():
    assert alt.theme.active == "nhs"
    spec = alt.Chart({"values": [{"x": 1}]}).mark_bar().encode(x="x:Q").to_dict()
    assert spec["config"]["range"]["category"] == theme.CATEGORICAL
    assert spec["config"]["mark"]["color"] == theme.NHS_BLUE
    assert theme.send_status_scale().to_dict()["range"] == list(theme.SEND_STATUS_COLOURS.values())


def test_streamlit_config_has_the_nhs_look_and_hides_error_details():
    import tomllib

    from streamlit import config as st_config

    from portal import config

    settings = tomllib.loads((config.REPO_ROOT / ".streamlit" / "config.toml").read_text())
    st_config.get_config_options()
    for section, options in settings.items():
        for option in options:
            assert f"{section}.{option}" in st_config._config_options, f"{section}.{option} is not a Streamlit option"
    assert settings["theme"]["primaryColor"] == theme.NHS_BLUE
    assert settings["theme"]["textColor"] == theme.NHS_TEXT
    assert settings["theme"]["secondaryBackgroundColor"] == theme.NHS_BACKGROUND_GREY
    assert settings["client"]["showErrorDetails"] == "none"
    assert settings["client"]["toolbarMode"] == "minimal"
