"""Help centre (SPEC §3.13): every how-to video with captions and transcript, the glossary, how to read charts."""
from __future__ import annotations

import streamlit as st

from portal import glossary, help_centre, ui

user = ui.current_user()
if user is None:
    st.warning("Please sign in to see this page.")
    st.stop()
st.title("Help centre", anchor=False)
ui.page_help("help_centre")
st.markdown("Short videos show how to use each page. Every video has captions, and you can read the same words "
            "below it. You can also start a step-by-step guide on any page with **Start the walkthrough**.")

videos = help_centre.videos_for(user.role)
st.header("How-to videos", anchor=False)
titles = {video.page: video.title for video in videos}
chosen = ui.choose("Which page do you want help with?", titles, key="help_centre_page")
video = next(v for v in videos if v.page == chosen)
st.subheader(f"How to use the {video.title} page", anchor=False)
if video.video is not None:
    st.video(str(video.video), subtitles={"English": video.captions} if video.captions else None)
else:
    st.info(help_centre.NO_VIDEO_YET)
st.page_link(video.spec.absolute_path, label=f"Open the {video.title} page", icon=video.spec.icon)
with st.expander(f"Transcript: {video.title}", expanded=True):
    st.text(video.transcript)

st.markdown("**All the videos**")
ui.show_table(help_centre.video_table(videos))

st.header("How to read the charts", anchor=False)
st.markdown("Every chart has a table under it with the same numbers, and a short summary in words above it.")
for kind, where, how in help_centre.CHART_GUIDES:
    st.markdown(f"**{kind}** (on {where}). {how}")

st.header("Words we use", anchor=False)
search = st.text_input("Find a word", key="help_centre_word", max_chars=40)
ui.show_table(help_centre.glossary_table(glossary.entries(), search))

st.header("Still stuck?", anchor=False)
st.markdown("- Use **Ask for data** for figures that are not on any page, or to tell us about a problem.\n"
            "- Read the **Accessibility statement** if something is hard to use with your device or software.")
