"""NHS colours and the Altair theme every chart uses (registered and enabled on import).

The colours are from the NHS identity palette. The categorical order was chosen by measuring colour
differences under simulated colour vision deficiency, so the first colours stay distinct for people with
red-green or blue-yellow colour blindness; charts with more than two series must also vary a
second channel (line dash, point shape, or direct labels), which :func:`dash_scale` helps with. Never
let colour alone carry meaning.

Draw charts with ``portal.ui.draw_chart`` (``theme=None``, so Streamlit does not override the theme).
Fixed meanings: :data:`SEND_STATUS_COLOURS` keeps EHCP / SEN support / No SEND the same colour on every page.
"""
from __future__ import annotations

import altair as alt

NHS_BLUE = "#005EB8"
NHS_DARK_BLUE = "#003087"
NHS_LIGHT_BLUE = "#41B6E6"
NHS_BRIGHT_BLUE = "#0072CE"
NHS_AQUA_GREEN = "#00A499"
NHS_ORANGE = "#ED8B00"
NHS_WARM_YELLOW = "#FFB81C"
NHS_PINK = "#AE2573"
NHS_PURPLE = "#330072"
NHS_DARK_GREY = "#425563"
NHS_MID_GREY = "#768692"
NHS_PALE_GREY = "#E8EDEE"
NHS_TEXT = "#212B32"
NHS_SECONDARY_TEXT = "#4C6272"
NHS_BACKGROUND_GREY = "#F0F4F5"

NHS_PLUM = "#7C2855"
NHS_DARK_RED = "#8A1538"

# Ordered so that every prefix stays as distinct as the NHS palette allows under simulated protan,
# deutan and tritan colour vision (tests/test_theme.py measures it): two series are blue and orange.
CATEGORICAL = [NHS_BLUE, NHS_ORANGE, NHS_PLUM, NHS_LIGHT_BLUE, NHS_PURPLE, NHS_MID_GREY, NHS_DARK_RED,
               NHS_WARM_YELLOW]
SEQUENTIAL = ["#E8EDEE", "#A6C9E8", "#5E9FD6", NHS_BLUE, NHS_DARK_BLUE]
# Diverging around a midpoint (e.g. better/worse than England): orange for worse, blue for better.
DIVERGING = [NHS_ORANGE, "#F6C68A", NHS_PALE_GREY, "#8BB6E0", NHS_BLUE]

SEND_STATUS_COLOURS = {"EHCP": NHS_BLUE, "SEN support": NHS_ORANGE, "No SEND": NHS_MID_GREY}
DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3], [4, 4], [10, 2]]

FONT = "Frutiger W01, Arial, Helvetica, sans-serif"


@alt.theme.register("nhs", enable=True)
def nhs_theme() -> alt.theme.ThemeConfig:
    axis = {
        "labelColor": NHS_TEXT, "titleColor": NHS_TEXT, "labelFontSize": 13, "titleFontSize": 14,
        "titleFontWeight": "normal", "domainColor": NHS_MID_GREY, "tickColor": NHS_MID_GREY,
        "gridColor": NHS_PALE_GREY, "labelFont": FONT, "titleFont": FONT,
    }
    return {
        "config": {
            "background": "#FFFFFF",
            "font": FONT,
            "view": {"stroke": None, "continuousWidth": 600, "continuousHeight": 320},
            "title": {"color": NHS_TEXT, "fontSize": 16, "font": FONT, "anchor": "start", "fontWeight": "bold"},
            "axis": axis,
            "axisX": {"grid": False},
            "legend": {"labelColor": NHS_TEXT, "titleColor": NHS_TEXT, "labelFontSize": 13, "titleFontSize": 13,
                       "labelFont": FONT, "titleFont": FONT, "orient": "bottom", "symbolStrokeWidth": 2.5},
            "range": {"category": CATEGORICAL, "ordinal": SEQUENTIAL, "ramp": SEQUENTIAL,
                      "heatmap": SEQUENTIAL, "diverging": DIVERGING},
            "mark": {"color": NHS_BLUE},
            "bar": {"color": NHS_BLUE},
            "line": {"color": NHS_BLUE, "strokeWidth": 2.5},
            "point": {"color": NHS_BLUE, "filled": True, "size": 60},
            "area": {"color": NHS_BLUE, "opacity": 0.3},
            "rule": {"color": NHS_DARK_GREY},
            "text": {"color": NHS_TEXT, "font": FONT, "fontSize": 13},
            "header": {"labelColor": NHS_TEXT, "titleColor": NHS_TEXT, "labelFontSize": 13, "labelFont": FONT},
        }
    }


def send_status_scale() -> alt.Scale:
    """The colour scale for SEND status, the same on every page."""
    return alt.Scale(domain=list(SEND_STATUS_COLOURS), range=list(SEND_STATUS_COLOURS.values()))


def dash_scale(domain: list[str]) -> alt.Scale:
    """Line dashes for series, so lines differ by more than colour."""
    return alt.Scale(domain=list(domain), range=[DASHES[i % len(DASHES)] for i in range(len(domain))])


def enable() -> None:
    """Make sure the NHS theme is on (importing this module does it; this is for clarity at call sites)."""
    alt.theme.enable("nhs")


# Altair checks every chart object against the Vega-Lite JSON schema when it is made and again when it is
# turned into a spec. On a page rerun that was the largest single cost after the queries (about 30 ms a
# chart, jsonschema walking the whole schema). The portal's charts are fixed code, not user input, so the
# check belongs in the tests (tests/test_chart_specs.py validates every chart every page draws), not in
# every rerun of every user.
alt.utils.schemapi.disable_debug_mode()


def layer_without_copying_unparameterised_layers() -> bool:
    """Stop ``alt.layer`` deep-copying every layer twice when no layer has parameters; idempotent.

    Altair 5.5 copies each layer in ``_remove_duplicate_params`` and again in ``_combine_subchart_params``
    (and so on every ``properties()`` of a layered chart), only to sort out selection parameters. The portal's
    charts have none. Those copies were about 2.5% of the server's CPU under load (a profile of 30 sessions).
    With no parameter anywhere, both functions leave the layers unchanged, so the same layers are kept
    without copying; with any parameter, Altair's own functions run. The specs of every chart on every
    page are the same either way (tests/test_theme.py)."""
    from altair.vegalite.v5 import api

    if getattr(api, "_portal_layers_uncopied", False):
        return True
    remove_duplicate_params, combine_subchart_params = api._remove_duplicate_params, api._combine_subchart_params

    def has_parameters(chart) -> bool:
        return not alt.utils.is_undefined(getattr(chart, "params", alt.Undefined))

    def remove_duplicate_params_if_any(layer):
        if any(has_parameters(chart) for chart in layer):
            return remove_duplicate_params(layer)
        return list(layer)

    def combine_subchart_params_if_any(params, subcharts):
        if (alt.utils.is_undefined(params) or not params) and not any(has_parameters(c) for c in subcharts):
            return alt.Undefined, list(subcharts)
        return combine_subchart_params(params, subcharts)

    api._portal_altair_layer_functions = (remove_duplicate_params, combine_subchart_params)
    api._remove_duplicate_params = remove_duplicate_params_if_any
    api._combine_subchart_params = combine_subchart_params_if_any
    api._portal_layers_uncopied = True
    return True


layer_without_copying_unparameterised_layers()

# The values ``schemapi._todict`` hands back unchanged, by exact type (subclasses such as numpy's float64
# still go through Altair's own checks).
_PLAIN_VALUE_TYPES = frozenset({str, int, float, bool, type(None)})


def todict_plain_values_directly() -> bool:
    """Let Altair's ``_todict`` hand back plain values (text, numbers, booleans, None) at once; idempotent.

    ``_todict`` turns a chart into its spec one value at a time, and before reaching its last branch (return
    the value as it is) it asks ``isinstance(value, SchemaLike)``, a runtime-checkable Protocol whose check
    inspects the class's attributes (``inspect.getattr_static``) every time: about 18 µs per value, some 40
    values a chart, about 40% of turning the portal's charts into specs (cProfile, 21 charts of five pages).
    For these exact types every branch before the last is false, so the answer is the value itself; anything
    else, its recursion included, goes through Altair's function (tests/test_theme.py compares the two)."""
    from altair.utils import schemapi

    if getattr(schemapi, "_portal_todict", None) is not None:
        return True
    todict = schemapi._todict

    def todict_plain_values_first(obj, context, np_opt, pd_opt):  # Altair passes these by name too
        if type(obj) in _PLAIN_VALUE_TYPES:
            return obj
        return todict(obj, context=context, np_opt=np_opt, pd_opt=pd_opt)

    schemapi._portal_todict = todict  # Altair's own, for the tests
    schemapi._todict = todict_plain_values_first  # its recursive calls look the name up here too
    return True


todict_plain_values_directly()

_SHORTHANDS_KEPT = 4096  # distinct "field:type" strings; the portal's charts use a few hundred


def parse_typed_shorthands_once() -> bool:
    """Parse each channel shorthand that names its type (``"month:T"``) once, not on every chart; idempotent.

    Altair's channels parse their shorthand string on every ``to_dict`` by trying up to twelve regular
    expressions: about 13% of turning the portal's charts into specs. The result depends on the chart's data
    only when the shorthand gives no type (the type is then inferred from the data), so only results that
    have a type are kept, by the string; callers get a copy, as they change it. Anything else goes to
    Altair's function (tests/test_theme.py compares the two)."""
    from altair.vegalite.v5.schema import channels

    if getattr(channels, "_portal_parse_shorthand", None) is not None:
        return True
    parse_shorthand = channels.parse_shorthand
    kept: dict[str, dict] = {}

    def parse_typed_shorthand_once(shorthand, data=None, **options):
        if not isinstance(shorthand, str) or options:
            return parse_shorthand(shorthand, data, **options)
        parsed = kept.get(shorthand)
        if parsed is None:
            parsed = parse_shorthand(shorthand)
            if "type" not in parsed:
                return parse_shorthand(shorthand, data)  # its type comes from the data
            if len(kept) < _SHORTHANDS_KEPT:
                kept[shorthand] = parsed
        return dict(parsed)

    channels._portal_parse_shorthand = parse_shorthand  # Altair's own, for the tests
    channels.parse_shorthand = parse_typed_shorthand_once
    return True


parse_typed_shorthands_once()


def unvalidated(chart):
    """The same chart, whose ``to_dict()`` (as Streamlit calls it) skips the schema check."""
    to_dict = chart.to_dict

    def to_dict_unvalidated(*args, validate: bool = False, **kwargs):
        return to_dict(*args, validate=validate, **kwargs)

    # Altair objects keep attribute assignments as chart properties; set the method on the object itself.
    object.__setattr__(chart, "to_dict", to_dict_unvalidated)
    return chart


def colour_if(test, when_true, otherwise) -> alt.ColorValue:
    """A colour that changes where ``test`` holds (a Vega expression, ``alt.datum`` comparison or
    predicate): ``alt.condition(...)`` as a typed channel. ``when_true`` is a colour or an ``alt.Color``
    field; ``otherwise`` a colour. Given to ``encode`` as the plain dict that ``alt.condition`` returns,
    Altair matched it against every candidate schema on every rerun (about 7 ms each); the typed value
    skips that and gives the same spec."""
    chosen = alt.condition(test, alt.value(when_true) if isinstance(when_true, str) else when_true,
                           alt.value(otherwise))
    return alt.ColorValue(chosen["value"], condition=chosen["condition"])
