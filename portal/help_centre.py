"""What the Help centre shows: the how-to videos a role can use, and how to read each kind of chart.

    from portal import help_centre
    help_centre.videos_for("commissioner")    # HelpVideo per page the role may open, in menu order
    help_centre.CHART_GUIDES                   # (kind of chart, where you see it, how to read it)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from portal import config, navigation, textfiles, walkthrough


@dataclass(frozen=True)
class HelpVideo:
    page: str                 # "waiting_lists"
    title: str                # "Waiting lists"
    spec: navigation.PageSpec
    video: Path | None        # help_videos/<page>.mp4 when made
    captions: Path | None
    transcript: str           # the video's transcript, or the walkthrough's words if there is no video yet
    guide: walkthrough.Walkthrough | None


def page_name(spec: navigation.PageSpec) -> str:
    return Path(spec.path).stem


def videos_for(role: str) -> list[HelpVideo]:
    """One entry per page the role may open (so nobody is shown help for a page they cannot reach)."""
    found = []
    for spec in navigation.pages_for(role):
        page = page_name(spec)
        folder = config.HELP_VIDEOS_DIR
        video, captions, text = folder / f"{page}.mp4", folder / f"{page}.vtt", folder / f"{page}.txt"
        try:
            guide = walkthrough.load(page)
        except walkthrough.WalkthroughError:
            guide = None
        if text.exists():
            transcript = text.read_text(encoding="utf-8")
        elif guide is not None:
            transcript = "\n\n".join(f"{step.label}. {walkthrough.plain_text(step.body)}" for step in guide.steps)
        else:
            transcript = ""
        found.append(HelpVideo(page, spec.title, spec, video if video.exists() else None,
                               captions if captions.exists() else None, transcript, guide))
    return found


# How to read each kind of chart the portal draws: plain English, reading age about 11.
CHART_GUIDES: list[tuple[str, str, str]] = [
    ("Bar chart", "Waiting lists, EHCP journey, Education, Survey feedback, Transitions",
     "Each bar is one group. The longer the bar, the bigger the number. The label at the end of the axis "
     "says what is counted and in what unit, for example weeks or per 1,000 children."),
    ("Line chart (trend)", "Waiting lists, EHCP journey, Sleep services, Health services use, Survey feedback",
     "Time runs from left to right. Each line is one group; the legend says which colour is which. "
     "A line going up means the number went up. Look at the whole line, not one month: numbers go up and "
     "down a little by chance."),
    ("Grid (heat map)", "Waiting lists, Sleep services",
     "Each square is one pair, for example one service in one locality. Darker squares mean bigger numbers. "
     "A star (*) means the number is hidden to protect privacy."),
    ("Map", "Sleep services",
     "Each shape is a locality. Darker areas have more children for every 1,000 who live there. "
     "The table under the map has the same numbers, so you do not need to see the colours."),
    ("Dots with lines (confidence intervals)", "Inequalities",
     "Each dot is a group's rate. The line through it shows the range the true rate is likely to be in. "
     "The dashed line is the whole area. If a group's line crosses the dashed line, the difference could "
     "be chance."),
    ("Before and after (impact view)", "Health services use",
     "Dots are the real months. The lines are what the model expects before and after the date you chose. "
     "A jump between the lines at that date is the change. The 95% confidence interval says how sure we "
     "can be; if it includes zero, there may be no real change."),
    ("Scorecard (How do we compare?)", "How do we compare?",
     "Each row is one published figure. The dot shows where our area stands among all areas in England: "
     "further right is better. Better or worse is judged against England."),
]

NO_VIDEO_YET = "The video for this page has not been made yet; the steps below say the same."


def video_table(videos: list[HelpVideo]):
    """Every page's video as a short table: page, length, steps (so a user sees what help exists)."""
    import pandas as pd

    rows = []
    for video in videos:
        length = "not made yet"
        if video.video is not None:
            stamp = video.video.with_suffix(".stamp.json")
            try:
                seconds = float(textfiles.read_json(stamp)["seconds"])
                length = f"{int(seconds // 60)} min {int(seconds % 60)} s"
            except (OSError, ValueError, KeyError):
                length = "made"
        rows.append({"Page": video.title, "Video length": length,
                     "Steps": len(video.guide.steps) if video.guide else 0,
                     "Captions": "Yes" if video.captions else "No"})
    return pd.DataFrame(rows, columns=["Page", "Video length", "Steps", "Captions"])


def glossary_table(entries, search: str = ""):
    """The glossary as a table, narrowed to terms or meanings containing ``search`` (any case)."""
    import pandas as pd

    wanted = " ".join(search.split()).lower()
    rows = [{"Word": entry.term, "What it means": entry.definition,
             "Also called": ", ".join(entry.also)} for entry in entries
            if not wanted or wanted in entry.term.lower() or wanted in entry.definition.lower()
            or any(wanted in alias.lower() for alias in entry.also)]
    return pd.DataFrame(rows, columns=["Word", "What it means", "Also called"])
