"""Narrated how-to videos made from the real portal.

Each page's video comes from two text files: its walkthrough (``pages/<page>.walkthrough.md``, the words)
and its video script (``portal/videos/scripts/<page>.yaml``, the role to sign in as and the browser
actions for each step). ``python -m portal videos make [PAGE...]`` starts the real portal over a separate
data directory, signs in, and for each step does the actions in headless Chromium, takes a screenshot
with the element in question outlined, speaks the step with espeak-ng, and muxes the pictures and speech
with ffmpeg into ``help_videos/<page>.mp4`` (H.264/AAC), with WebVTT captions timed to the speech
(``.vtt``), a plain-text transcript (``.txt``) and a stamp of the scripts' hash (``.stamp.json``).
``tests/test_videos.py`` fails when a walkthrough or script has changed but its video was not remade.
"""
