"""Make a page's how-to video from its walkthrough and video script (see the package docstring).

    from portal.videos import maker
    maker.stale_pages()                       # pages whose video does not match its current scripts
    maker.make_videos(["waiting_lists"])      # start a portal, record, narrate, mux; returns the outputs

A video script (``portal/videos/scripts/<page>.yaml``)::

    role: commissioner            # who signs in (a demo user of that role)
    steps:                        # one list of actions per walkthrough step, in order
      - - select: {label: Service, option: Autism assessment}
      - - select: {label: Locality, option: Eastfield, sidebar: true}
      - - show: Waiting now, by service

Actions: ``show`` (a heading's text, or ``{text: ...}`` / ``{role: ..., name: ...}``), ``select``
(``label``, ``option``, ``sidebar``), ``fill`` (``label``, ``text``, ``submit``: press Enter after), ``click`` (a button's name),
``check`` (a checkbox's label), ``open`` (an expander's label), ``tab`` (a tab's name). The element the
last action of a step touched is scrolled into view and outlined in the screenshot for that step.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml

from portal import config, navigation, walkthrough
from portal.server_process import serving

SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"
# Part of every video's hash: change it when the way videos are made changes, so all are remade.
MAKER_VERSION = "1"
ACTIONS = ("show", "select", "fill", "click", "check", "open", "tab")
ROLES_ALLOWED = ("commissioner", "clinician", "gp", "analyst", "admin")

VIEWPORT = {"width": 1280, "height": 800}
VIDEO_WIDTH = 960          # scaled down from the viewport: small files, still readable
FRAMES_PER_SECOND = 2      # the picture changes once a step; a low rate keeps files a few hundred KB
VOICE, WORDS_PER_MINUTE = "en-gb", 140   # a little slower than espeak's default, for clarity
SENTENCE_GAP_SECONDS = 0.35
# How espeak-ng should say what it would otherwise read letter by letter or as a word (speech only:
# captions and transcripts keep the written form).
SPOKEN = {"A&E": "A and E", "EHCPs": "E H C Ps", "EHCP": "E H C P", "CSV": "C S V", "CAMHS": "cams",
          "SEND": "send", "SEN": "S E N", "ADHD": "A D H D", "GP": "G P", "NHS": "N H S", "ICB": "I C B",
          "IMD": "I M D", "SLT": "S L T", "EHC": "E H C"}
HIGHLIGHT_CSS = (".portal-video-focus { outline: 5px solid #FFEB3B !important; outline-offset: 3px !important;"
                 " box-shadow: 0 0 0 9px #212B32 !important; }")
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--hide-scrollbars"]


class VideoScriptError(ValueError):
    """A video script that cannot be used (unknown action, wrong number of steps, unknown role)."""


@dataclass(frozen=True)
class VideoScript:
    page: str                        # "waiting_lists"
    title: str                       # the menu title, "Waiting lists"
    url_path: str                    # "waiting-lists"
    role: str
    guide: walkthrough.Walkthrough
    actions: tuple[tuple[dict, ...], ...]   # one tuple of actions per step


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


# ------------------------------------------------------------------------------------ scripts and hashes
def script_file(page: str) -> Path:
    return SCRIPTS_DIR / f"{page}.yaml"


def script_pages() -> list[str]:
    """Every page with a video script, in menu order."""
    order = [spec.path.removeprefix("pages/").removesuffix(".py") for spec in navigation.PAGES]
    found = {path.stem for path in SCRIPTS_DIR.glob("*.yaml")}
    return [page for page in order if page in found] + sorted(found.difference(order))


def page_spec(page: str) -> navigation.PageSpec:
    for spec in navigation.PAGES:
        if spec.path == f"pages/{page}.py":
            return spec
    raise VideoScriptError(f"{page!r} is not a page in portal/navigation.py")


def load_script(page: str) -> VideoScript:
    path = script_file(page)
    if not path.exists():
        raise VideoScriptError(f"no video script for {page!r} ({path.relative_to(config.REPO_ROOT)})")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    guide = walkthrough.load(page)
    if guide is None:
        raise VideoScriptError(f"{page!r} has no walkthrough file to narrate")
    spec = page_spec(page)
    role = raw.get("role")
    if role not in ROLES_ALLOWED or not spec.allows(role):
        raise VideoScriptError(f"{path.name}: role {role!r} cannot open the {spec.title} page")
    steps = raw.get("steps") or []
    if len(steps) != len(guide.steps):
        raise VideoScriptError(f"{path.name} has {len(steps)} steps but the walkthrough has {len(guide.steps)}")
    actions = []
    for number, step in enumerate(steps, start=1):
        step = step or []
        for action in step:
            if not isinstance(action, dict) or len(action) != 1 or next(iter(action)) not in ACTIONS:
                raise VideoScriptError(f"{path.name} step {number}: unknown action {action!r}; use one of {ACTIONS}")
        actions.append(tuple(step))
    return VideoScript(page, spec.title, spec.url_path, role, guide, tuple(actions))


def script_hash(page: str) -> str:
    """What the video is made from: the walkthrough's words, the script's actions and the maker's version."""
    digest = hashlib.sha256(f"maker {MAKER_VERSION}\n".encode())
    for path in (walkthrough.walkthrough_file(page), script_file(page)):
        digest.update(path.name.encode() + b"\n" + (path.read_bytes() if path.exists() else b"(missing)") + b"\n")
    return digest.hexdigest()


def outputs(page: str) -> dict[str, Path]:
    folder = config.HELP_VIDEOS_DIR
    return {"video": folder / f"{page}.mp4", "captions": folder / f"{page}.vtt",
            "transcript": folder / f"{page}.txt", "stamp": folder / f"{page}.stamp.json"}


def read_stamp(page: str) -> dict | None:
    path = outputs(page)["stamp"]
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def is_current(page: str) -> bool:
    """The video and all its companions exist and were made from the page's current scripts."""
    stamp = read_stamp(page)
    return (stamp is not None and stamp.get("script_hash") == script_hash(page)
            and all(path.exists() for path in outputs(page).values()))


def stale_pages() -> list[str]:
    return [page for page in script_pages() if not is_current(page)]


# ------------------------------------------------------------------------------------------- narration
def sentences(text: str) -> list[str]:
    """Split narration into sentences, one caption each (a label's colon stays inside its sentence)."""
    parts = re.split(r'(?<=[.!?])\s+(?=["\'(A-Z0-9])', " ".join(text.split()))
    return [part for part in parts if part]


def spoken(text: str) -> str:
    for written, said in SPOKEN.items():
        text = re.sub(rf"(?<![A-Za-z]){re.escape(written)}(?![A-Za-z])", said, text)
    return text


def speak(text: str, wav_path: Path) -> None:
    subprocess.run(["espeak-ng", "-v", VOICE, "-s", str(WORDS_PER_MINUTE), "-w", str(wav_path), spoken(text)],
                   check=True, capture_output=True)


def narration_for(script: VideoScript) -> list[list[str]]:
    """Sentences to say over each picture: an introduction over the page as it opens, then each step."""
    intro = [f"This video shows how to use the {script.title} page."]
    return [intro] + [sentences(step.narration) for step in script.guide.steps]


def build_soundtrack(frames: list[list[str]], workdir: Path) -> tuple[Path, list[float], list[Cue]]:
    """Speak every sentence, join them with short pauses into one WAV; return it, each frame's length
    in seconds and one caption cue per sentence, timed to the speech."""
    params, chunks, cues, frame_seconds, clock = None, [], [], [], 0.0
    for frame_number, frame_sentences in enumerate(frames):
        frame_start = clock
        for sentence_number, sentence in enumerate(frame_sentences):
            path = workdir / f"say-{frame_number:02d}-{sentence_number:02d}.wav"
            speak(sentence, path)
            with wave.open(str(path), "rb") as source:
                params = params or source.getparams()
                audio = source.readframes(source.getnframes())
                seconds = source.getnframes() / source.getframerate()
            gap = b"\0" * (int(params.framerate * SENTENCE_GAP_SECONDS) * params.sampwidth * params.nchannels)
            chunks.extend([audio, gap])
            cues.append(Cue(clock, clock + seconds, sentence))
            clock += seconds + SENTENCE_GAP_SECONDS
        frame_seconds.append(clock - frame_start)
    soundtrack = workdir / "narration.wav"
    with wave.open(str(soundtrack), "wb") as out:
        out.setparams(params)
        out.writeframes(b"".join(chunks))
    return soundtrack, frame_seconds, cues


def webvtt(cues: list[Cue]) -> str:
    def stamp(seconds: float) -> str:
        millis = round(seconds * 1000)
        return f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d}.{millis % 1000:03d}"

    blocks = [f"{number}\n{stamp(cue.start)} --> {stamp(cue.end)}\n{cue.text}"
              for number, cue in enumerate(cues, start=1)]
    return "WEBVTT\n\n" + "\n\n".join(blocks) + "\n"


def transcript(script: VideoScript) -> str:
    lines = [f"How to use the {script.title} page", "",
             f"Transcript of the how-to video help_videos/{script.page}.mp4.", "",
             f"This video shows how to use the {script.title} page.", ""]
    for step in script.guide.steps:
        lines += [f"{step.label}.", walkthrough.plain_text(step.body), ""]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------- browser
def wait_until_idle(page, timeout: float = 60_000) -> None:
    page.wait_for_timeout(300)  # give a just-triggered run a moment to start
    page.wait_for_selector(READY, timeout=timeout)


def sign_in(page, base_url: str, role: str) -> None:
    from portal.demo_users import DEMO_USERS, demo_password

    username = next(name for name, _title, user_role in DEMO_USERS if user_role == role)
    page.goto(base_url + "/")
    page.get_by_role("textbox", name="Username").wait_for(timeout=120_000)
    wait_until_idle(page)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(demo_password(username))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for(timeout=120_000)
    wait_until_idle(page)


def _locate(page, target):
    if isinstance(target, str):
        heading = page.get_by_role("heading", name=target)
        return heading.first if heading.count() else page.get_by_text(target).first
    scope = page.get_by_test_id("stSidebar") if target.get("sidebar") else page
    if "role" in target:
        return scope.get_by_role(target["role"], name=target["name"], exact=target.get("exact", False)).first
    return scope.get_by_text(target["text"], exact=target.get("exact", False)).first


def do_action(page, action: dict):
    """Do one script action; return the element to outline."""
    kind, value = next(iter(action.items()))
    if kind == "show":
        return _locate(page, value)
    if kind == "select":
        # the sidebar's filters and a page's own boxes may share a label (SEND status): look in one of them
        scope = page.get_by_test_id("stSidebar" if value.get("sidebar") else "stMain")
        box = scope.get_by_role("combobox", name=value["label"])
        box.click()
        page.get_by_role("option", name=value["option"], exact=True).click()
        wait_until_idle(page)
        # outline the whole box with its label (the combobox itself is the small text cursor inside)
        return scope.get_by_role("combobox", name=value["label"]).locator(
            "xpath=ancestor::*[@data-testid='stSelectbox'][1]")
    if kind == "fill":
        box = page.get_by_label(value["label"]).first
        box.fill(str(value["text"]))
        if value.get("submit"):  # a one-line box applies its text on Enter
            box.press("Enter")
            wait_until_idle(page)
        return box
    clicked = {  # actions that click one element, found by what the script names
        "click": lambda: page.get_by_role("button", name=value),
        "check": lambda: page.get_by_text(value, exact=True),
        "open": lambda: page.locator("summary", has_text=value),
        "tab": lambda: page.get_by_role("tab", name=value),
    }
    if kind in clicked:
        element = clicked[kind]().first
        element.click()
        wait_until_idle(page)
        return element
    raise VideoScriptError(f"unknown action {kind!r}")


def outline(page, element) -> None:
    page.evaluate("() => document.querySelectorAll('.portal-video-focus')"
                  ".forEach(e => e.classList.remove('portal-video-focus'))")
    if element is not None:
        element.scroll_into_view_if_needed()
        element.evaluate("e => { e.scrollIntoView({block: 'center'}); e.classList.add('portal-video-focus'); }")
        page.wait_for_timeout(400)


def record_frames(script: VideoScript, browser, base_url: str, workdir: Path) -> list[Path]:
    """Screenshots of the real page: as it opens, then after each step's actions."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(60_000)
    try:
        page = context.new_page()
        sign_in(page, base_url, script.role)
        page.goto(f"{base_url}/{script.url_path}")
        page.get_by_role("heading", level=1).first.wait_for(timeout=120_000)
        wait_until_idle(page)
        page.add_style_tag(content=HIGHLIGHT_CSS)
        frames = [workdir / "frame-00.png"]
        page.screenshot(path=str(frames[0]))
        for number, actions in enumerate(script.actions, start=1):
            target = None
            for action in actions:
                try:
                    target = do_action(page, action) or target
                except Exception as exc:
                    page.screenshot(path=str(workdir / f"failed-step-{number}.png"))
                    raise VideoScriptError(f"{script.page} step {number}: {action} failed: {exc}") from exc
            try:
                outline(page, target)
            except Exception as exc:
                raise VideoScriptError(f"{script.page} step {number}: cannot show {actions[-1]}: {exc}") from exc
            frames.append(workdir / f"frame-{number:02d}.png")
            page.screenshot(path=str(frames[-1]))
        return frames
    finally:
        context.close()


# ------------------------------------------------------------------------------------------------ muxing
def mux(frames: list[Path], frame_seconds: list[float], soundtrack: Path, video: Path, workdir: Path) -> None:
    listing = ["ffconcat version 1.0"]
    for frame, seconds in zip(frames, frame_seconds):
        listing += [f"file '{frame.name}'", f"duration {seconds:.3f}"]
    listing.append(f"file '{frames[-1].name}'")  # the concat demuxer ignores the last entry's duration
    (workdir / "frames.txt").write_text("\n".join(listing) + "\n")
    subprocess.run([
        "ffmpeg", "-y", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i", str(workdir / "frames.txt"),
        "-i", str(soundtrack),
        "-vf", f"scale={VIDEO_WIDTH}:-2:flags=lanczos,fps={FRAMES_PER_SECOND},format=yuv420p",
        "-c:v", "libx264", "-preset", "slow", "-crf", "30", "-tune", "stillimage",
        "-c:a", "aac", "-b:a", "24k", "-ac", "1",
        "-movflags", "+faststart", "-shortest", str(video),
    ], check=True, capture_output=True)


def make_one(script: VideoScript, browser, base_url: str) -> dict[str, Path]:
    out = outputs(script.page)
    out["video"].parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"video-{script.page}-") as tmp:
        workdir = Path(tmp)
        frames = record_frames(script, browser, base_url, workdir)
        soundtrack, frame_seconds, cues = build_soundtrack(narration_for(script), workdir)
        made = workdir / "video.mp4"
        mux(frames, frame_seconds, soundtrack, made, workdir)
        shutil.move(str(made), out["video"])
    out["captions"].write_text(webvtt(cues), encoding="utf-8")
    out["transcript"].write_text(transcript(script), encoding="utf-8")
    out["stamp"].write_text(json.dumps({
        "page": script.page, "script_hash": script_hash(script.page),
        "made_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(cues[-1].end, 1), "bytes": out["video"].stat().st_size,
    }, indent=2) + "\n")
    return out


# ----------------------------------------------------------------------------------------------- server
def ensure_demo_data(data_dir: Path) -> None:
    """The small synthetic demo in its own data directory (never the portal's live data)."""
    if (data_dir / "marts" / "CURRENT").exists():
        return
    print(f"Building the small demo in {data_dir} for the videos ...", flush=True)
    subprocess.run([sys.executable, "-m", "portal", "build-demo", "--scale", "small"], cwd=config.REPO_ROOT,
                   env={**os.environ, "SEND_PORTAL_DATA_DIR": str(data_dir)}, check=True)


def make_videos(pages: list[str], data_dir: Path, report=print) -> list[dict[str, Path]]:
    """Make the videos of ``pages`` (scripts are checked before anything starts)."""
    from playwright.sync_api import sync_playwright

    scripts = [load_script(page) for page in pages]
    if not scripts:
        return []
    ensure_demo_data(data_dir)
    made, failed = [], []
    with serving(data_dir, data_dir / "video-portal.log") as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for script in scripts:
                started = time.monotonic()
                try:
                    out = make_one(script, browser, base_url)
                except Exception as exc:  # one broken script must not stop the others
                    failed.append(script.page)
                    report(f"{script.page}: NOT MADE: {exc}")
                    continue
                report(f"{script.page}: {out['video'].relative_to(config.REPO_ROOT)} "
                       f"({out['video'].stat().st_size // 1024} KB, {time.monotonic() - started:.0f} s to make)")
                made.append(out)
        finally:
            browser.close()
    if failed:
        raise VideoScriptError(f"videos not made: {', '.join(failed)} (the others were)")
    return made
