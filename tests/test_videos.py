"""How-to videos: every page has one made from its current walkthrough and script (remake with
``python -m portal videos make``), each a valid H.264/AAC MP4 with WebVTT captions timed to the speech and
a transcript; and the maker's own parts (speech, captions, muxing) work on real espeak-ng and ffmpeg."""
from __future__ import annotations

import json
import re
import subprocess

import pytest

from portal import config, navigation, walkthrough
from portal.videos import maker

PAGES = [spec.path.removeprefix("pages/").removesuffix(".py") for spec in navigation.PAGES]
CUE = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)$")


def _seconds(h, m, s, ms) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def cues_of(vtt_text: str) -> list[tuple[float, float, str]]:
    assert vtt_text.startswith("WEBVTT\n")
    cues = []
    for block in vtt_text.split("\n\n")[1:]:
        lines = block.strip().splitlines()
        timing = next(i for i, line in enumerate(lines) if "-->" in line)
        match = CUE.match(lines[timing])
        assert match, lines[timing]
        cues.append((_seconds(*match.groups()[:4]), _seconds(*match.groups()[4:]), " ".join(lines[timing + 1:])))
    return cues


def probe(path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
                          str(path)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_every_page_has_a_video_script():
    assert maker.script_pages() == PAGES
    for page in PAGES:
        script = maker.load_script(page)
        assert len(script.actions) == len(script.guide.steps)


@pytest.mark.parametrize("page", PAGES)
def test_video_matches_its_current_walkthrough_and_script(page):
    stamp = maker.read_stamp(page)
    assert stamp is not None, f"no video for {page}: run  python -m portal videos make {page}"
    assert stamp["script_hash"] == maker.script_hash(page), (
        f"pages/{page}.walkthrough.md or portal/videos/scripts/{page}.yaml changed after the video was made: "
        f"run  python -m portal videos make {page}")


@pytest.mark.parametrize("page", PAGES)
def test_video_is_a_small_valid_mp4_with_captions_and_transcript(page):
    out = maker.outputs(page)
    for kind in ("video", "captions", "transcript"):
        assert out[kind].exists(), f"{out[kind].name} is missing"
    info = probe(out["video"])
    codecs = {stream["codec_type"]: stream["codec_name"] for stream in info["streams"]}
    assert codecs == {"video": "h264", "audio": "aac"}
    assert "mp4" in info["format"]["format_name"]
    duration = float(info["format"]["duration"])
    assert 10 < duration < 240
    assert out["video"].stat().st_size < 1_500_000, "keep committed videos small"

    cues = cues_of(out["captions"].read_text())
    assert cues and cues[0][0] == 0
    for (start, end, text), (next_start, _, _) in zip(cues, cues[1:] + [(duration + 1, 0, "")]):
        assert start < end <= next_start and text
    assert cues[-1][1] <= duration + 0.5, "captions run past the end of the video"

    guide = walkthrough.load(page)
    spoken_text = " ".join(text for _, _, text in cues)
    transcript = out["transcript"].read_text()
    for step in guide.steps:
        assert step.label in spoken_text and step.label in transcript
        assert walkthrough.plain_text(step.body) in transcript


def test_hash_changes_when_the_walkthrough_or_script_changes(tmp_path, monkeypatch):
    pages, scripts = tmp_path / "pages", tmp_path / "scripts"
    pages.mkdir(), scripts.mkdir()
    monkeypatch.setattr(config, "PAGES_DIR", pages)
    monkeypatch.setattr(maker, "SCRIPTS_DIR", scripts)
    (pages / "demo.walkthrough.md").write_text("**Step 1 of 1: look.** At the chart.")
    (scripts / "demo.yaml").write_text("role: commissioner\nsteps:\n  - - show: Chart\n")
    first = maker.script_hash("demo")
    assert maker.script_hash("demo") == first
    (pages / "demo.walkthrough.md").write_text("**Step 1 of 1: look.** At the table.")
    second = maker.script_hash("demo")
    (scripts / "demo.yaml").write_text("role: commissioner\nsteps:\n  - - show: Table\n")
    assert len({first, second, maker.script_hash("demo")}) == 3


def test_a_stale_video_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "HELP_VIDEOS_DIR", tmp_path)
    assert maker.stale_pages() == maker.script_pages()  # nothing made in an empty folder
    for kind, path in maker.outputs("home").items():
        path.write_text("x")
    maker.outputs("home")["stamp"].write_text(json.dumps({"script_hash": maker.script_hash("home")}))
    assert "home" not in maker.stale_pages()
    maker.outputs("home")["stamp"].write_text(json.dumps({"script_hash": "0" * 64}))
    assert "home" in maker.stale_pages()


@pytest.mark.parametrize("script_text, problem", [
    ("role: analyst\nsteps:\n  - - show: A\n", "steps but the walkthrough has"),
    ("role: commissioner\nsteps:\n  - - show: A\n  - - show: B\n", "cannot open"),  # analysts' and admins' page
    ("role: analyst\nsteps:\n  - - dance: A\n  - - show: B\n", "unknown action"),
])
def test_bad_scripts_are_refused(tmp_path, monkeypatch, script_text, problem):
    pages, scripts = tmp_path / "pages", tmp_path / "scripts"
    pages.mkdir(), scripts.mkdir()
    monkeypatch.setattr(config, "PAGES_DIR", pages)
    monkeypatch.setattr(maker, "SCRIPTS_DIR", scripts)
    (pages / "data_status.walkthrough.md").write_text("**Step 1 of 2: a.** b.\n\n**Step 2 of 2: c.** d.")
    (scripts / "data_status.yaml").write_text(script_text)
    with pytest.raises(maker.VideoScriptError, match=problem):
        maker.load_script("data_status")


def test_sentences_and_speech_forms():
    assert maker.sentences('Step 1 of 2: choose. Use the "Service" box. Then press Next!') == [
        "Step 1 of 2: choose.", 'Use the "Service" box.', "Then press Next!"]
    assert maker.spoken("A&E use by EHCP and SEND children (CSV)") == \
        "A and E use by E H C P and send children (C S V)"
    assert maker.spoken("EHCPs") == "E H C Ps"


def test_soundtrack_captions_and_mux_on_real_tools(tmp_path):
    """espeak-ng speaks, the cues follow the speech, ffmpeg makes a playable MP4 of the right length."""
    frames = []
    for number, colour in enumerate(["white", "navy"]):
        frame = tmp_path / f"frame-{number:02d}.png"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", f"color={colour}:s=1280x800",
                        "-frames:v", "1", str(frame)], check=True)
        frames.append(frame)
    soundtrack, frame_seconds, cues = maker.build_soundtrack(
        [["This video shows the test page."], ["Step 1 of 1: look.", "At the chart."]], tmp_path)
    assert [cue.text for cue in cues] == ["This video shows the test page.", "Step 1 of 1: look.", "At the chart."]
    assert abs(sum(frame_seconds) - (cues[-1].end + maker.SENTENCE_GAP_SECONDS)) < 0.01
    video = tmp_path / "out.mp4"
    maker.mux(frames, frame_seconds, soundtrack, video, tmp_path)
    info = probe(video)
    assert {s["codec_name"] for s in info["streams"]} == {"h264", "aac"}
    assert abs(float(info["format"]["duration"]) - sum(frame_seconds)) < 1.0
    width = next(s["width"] for s in info["streams"] if s["codec_type"] == "video")
    assert width == maker.VIDEO_WIDTH
    parsed = cues_of(maker.webvtt(cues))
    assert [round(start, 2) for start, _, _ in parsed] == [round(cue.start, 2) for cue in cues]
