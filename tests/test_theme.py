"""The NHS chart theme: registered, and its colours distinct for colour-blind readers."""
from __future__ import annotations

import itertools
import json
import re

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


def _layers():
    """Layers like the portal's (line, points, a rule, a text label), and a pair with a selection parameter."""
    import pandas as pd

    data = pd.DataFrame({"month": pd.date_range("2025-01-01", periods=6, freq="MS"), "n": [3, 5, 4, 6, 8, 7]})
    base = alt.Chart(data).encode(x="month:T", y="n:Q")
    rule = alt.Chart(pd.DataFrame({"month": [data.month[3]]})).mark_rule(strokeDash=[4, 4]).encode(x="month:T")
    return ([base.mark_line(), base.mark_point(), rule, base.mark_text(dy=-8).encode(text="n:Q")],
            [base.mark_line().add_params(alt.selection_interval(encodings=["x"])), base.mark_point()])


def _layered(copies: list) -> list[dict]:
    """The two layered charts' specs; ``copies`` gets the layers copied while layering."""
    plain, with_selection = _layers()
    copies.clear()
    charts = [alt.layer(*plain).properties(height=200, title="Trend"),
              alt.layer(*with_selection).properties(width=300)]
    copied = [chart for chart in copies if isinstance(chart, alt.Chart)]
    copies[:] = copied
    # Altair numbers parameters and views from a counter for the whole process: compare without the numbers
    return [json.loads(re.sub(r'"(param|view)_\d+"', r'"\1_n"', json.dumps(chart.to_dict(), default=str)))
            for chart in charts]


def test_layers_without_parameters_are_not_copied_and_give_the_same_spec(monkeypatch):
    from altair.utils import schemapi
    from altair.vegalite.v5 import api

    assert theme.layer_without_copying_unparameterised_layers()  # on since import; idempotent
    copies = []
    copy = schemapi.SchemaBase.copy
    monkeypatch.setattr(schemapi.SchemaBase, "copy", lambda self, *a, **k: copies.append(self) or copy(self, *a, **k))
    ours = _layered(copies)
    ours_copied = len(copies)
    monkeypatch.setattr(api, "_remove_duplicate_params", api._portal_altair_layer_functions[0])
    monkeypatch.setattr(api, "_combine_subchart_params", api._portal_altair_layer_functions[1])
    altairs = _layered(copies)
    assert ours == altairs
    assert ours[1]["params"][0]["select"]["type"] == "interval"  # a parameter is still lifted to the top
    assert ours_copied < len(copies), (ours_copied, len(copies))


def _portal_like_charts():
    """Charts like the portal's: layers, conditions, dates, numpy numbers, nested titles, typed and untyped
    shorthands (the untyped ones take their type from the data)."""
    import numpy as np
    import pandas as pd

    data = pd.DataFrame({"month": pd.date_range("2025-01-01", periods=4, freq="MS"), "n": [3, 5, 4, 6],
                         "area": ["North", "South", "North", "South"]})
    plain, with_selection = _layers()
    return [
        alt.layer(*plain).properties(height=200, title=alt.Title("Trend", subtitle=["a", "b"])),
        alt.layer(*with_selection),
        alt.Chart(data).mark_bar().encode(
            x=alt.X("month:T", title=None, axis=alt.Axis(format="%b %Y", values=[np.int64(1), 2.5])),
            y=alt.Y("n:Q", scale=alt.Scale(domain=[np.float64(0), 10])),
            color=theme.colour_if("datum.n > 4", "#005EB8", "#768692"),
            tooltip=[alt.Tooltip("n:Q", format=","), alt.Tooltip("area")]).properties(
                width=np.int64(300), description="Bars"),
        alt.Chart(data).mark_line().encode(x="month", y="sum(n)", color="area", strokeDash=alt.StrokeDash("area:N")),
    ]


def _specs(charts) -> list[dict]:
    return [json.loads(re.sub(r'"(param|view)_\d+"', r'"\1_n"', json.dumps(chart.to_dict(), default=str)))
            for chart in charts]


def test_typed_shorthands_parsed_once_give_the_same_spec(monkeypatch):
    from altair.vegalite.v5.schema import channels

    assert theme.parse_typed_shorthands_once()  # on since import; idempotent
    charts = _portal_like_charts()
    ours, again = _specs(charts), _specs(charts)  # the second time from the kept shorthands
    monkeypatch.setattr(channels, "parse_shorthand", channels._portal_parse_shorthand)
    altairs = _specs(charts)
    assert ours == again == altairs
    assert altairs[3]["encoding"]["x"]["type"] == "temporal", "an untyped shorthand still takes its type from the data"
    with pytest.raises(ValueError, match="valid encoding data types"):
        alt.Chart().encode(x="n:Z").to_dict()


def test_plain_values_skip_altairs_checks_and_give_the_same_spec(monkeypatch):
    """The same spec with plain values handed back at once as through Altair's own ``_todict`` for each."""
    from altair.utils import schemapi

    assert theme.todict_plain_values_directly()  # on since import; idempotent
    charts = _portal_like_charts()
    ours = _specs(charts)
    checked = []
    original = schemapi._portal_todict
    monkeypatch.setattr(schemapi, "_todict",
                        lambda obj, *a, **k: checked.append(type(obj)) or original(obj, *a, **k))
    assert _specs(charts) == ours
    assert {str, int, float, bool} & set(checked), "the comparison must have gone through plain values"
