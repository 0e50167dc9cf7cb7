"""Sign-in for the portal: streamlit-authenticator's form and cookie, checked against server-side sessions.

streamlit-authenticator's cookie is a signed JWT holding only the username and an expiry time; the
server cannot revoke it. So every sign-in also creates a session row in the operational database, bound
to that cookie (its expiry time is unique per sign-in), and every run checks the row:

- a run that already has a session id in ``st.session_state`` re-validates it (revoked, expired, user
  disabled or locked -> back to the login form);
- a new browser session restored from the cookie is accepted only if the cookie's session row is live,
  so a cookie copied before sign-out stops working the moment the user signs out;
- disabling a user, or changing their password or role, revokes all their session rows (portal.ops).

Failed sign-ins are counted in the user store and lock the account for a while (``ops.LOCKOUT_*``).
The signed-in user is put in ``st.session_state["portal_user"]`` as a ``portal.roles.User`` built from
the user store, never from anything the browser sent.
"""
from __future__ import annotations

import json
import secrets
from urllib.parse import urlsplit

import jwt
import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.models import cookie_model

from portal import config, ops
from portal.roles import ROLE_LABELS, User

COOKIE_NAME = "send_portal_login"
USER_KEY = "portal_user"
SESSION_ID_KEY = "portal_session_id"
_COOKIE_SCRIPT_KEY = "_portal_cookie_script"  # a cookie to write or clear on the next run
_NOTICE_KEY = "_portal_login_notice"
REQUESTED_VIEW_KEY = "_portal_requested_view"  # (page url_path, query params) asked for before sign-in
_LIBRARY_KEYS = ("name", "username", "authentication_status", "email", "roles")

SESSION_ENDED = "Your session has ended. Please sign in again."
WRONG_CREDENTIALS = "The username or password is incorrect."
LOCKED = ("This account is locked for {minutes} minutes after repeated failed sign-ins. "
          "Try again later, or ask your portal administrator to unlock it.")

_unmatchable_hash: str | None = None


class _CookieManagerWithoutFrame:
    """Takes the place of extra_streamlit_components' CookieManager inside streamlit-authenticator.

    That component draws a hidden frame whose first report back triggers an extra rerun shortly after the
    sign-in form appears; a "Sign in" click that lands in that window is lost (measured in the browser
    tests on a busy machine). The library reads the cookie from st.context.cookies, and only calls set()
    and delete() on this object; the portal writes and clears the cookie itself (write_pending_cookie).
    """

    def __init__(self, key: str = "init"):
        self.cookies = dict(st.context.cookies)

    def get(self, cookie: str):
        return self.cookies.get(cookie)

    def get_all(self, key: str | None = None) -> dict:
        return self.cookies

    def set(self, cookie, val, *args, **kwargs) -> None:
        pass  # written by write_pending_cookie on the next run

    def delete(self, cookie, *args, **kwargs) -> None:
        pass  # cleared by write_pending_cookie on the next run


cookie_model.stx = type("_NoFrameComponents", (), {"CookieManager": _CookieManagerWithoutFrame})


def _never_matching_hash() -> str:
    """A real bcrypt hash of a random secret: disabled and locked accounts get it, so no password works
    for them while the form still behaves exactly as for a wrong password."""
    global _unmatchable_hash
    if _unmatchable_hash is None:
        _unmatchable_hash = ops.hash_password(secrets.token_urlsafe(32))
    return _unmatchable_hash


def credentials_from_store() -> dict:
    """streamlit-authenticator's credentials dict, rebuilt from the user store on every run."""
    usernames = {}
    for record in ops.list_users():
        usable = record.active and not record.is_locked()
        usernames[record.username] = {
            "name": record.name,
            "password": record.password_hash if usable else _never_matching_hash(),
            "roles": [record.role],
        }
    return {"usernames": usernames}


def current_user() -> User | None:
    """The signed-in user if this browser session holds a live server-side session, else None."""
    session_id = st.session_state.get(SESSION_ID_KEY)
    if not session_id:
        st.session_state.pop(USER_KEY, None)
        return None
    record = ops.validate_session(session_id)
    if record is None:
        _forget_sign_in(notice=SESSION_ENDED)
        return None
    user = record.to_user()
    st.session_state[USER_KEY] = user
    return user


def login_screen(intro=None) -> None:
    """Draw the sign-in form; on a successful sign-in record the session and rerun as the new user.

    ``intro`` is called to draw text above the form (product name, demo sign-ins).
    """
    write_pending_cookie()
    _remember_requested_view()
    authenticator = stauth.Authenticate(
        credentials_from_store(), COOKIE_NAME, config.get_secret("COOKIE_KEY"),
        cookie_expiry_days=ops.SESSION_HOURS / 24, auto_hash=False, login_sleep_time=0,
    )
    credentials = authenticator.authentication_controller.authentication_model.credentials
    if intro:
        intro()
    notice = st.session_state.get(_NOTICE_KEY)  # kept until the next sign-in, so a rerun keeps it
    if notice:
        st.info(notice)
    authenticator.login(location="main", key="portal-login", fields={
        "Form name": "Sign in", "Username": "Username", "Password": "Password", "Login": "Sign in"})

    status = st.session_state.get("authentication_status")
    if status:
        username = st.session_state["username"]
        cookie_model = authenticator.cookie_controller.cookie_model
        if cookie_model.exp_date is not None:  # signed in through the form just now
            _start_session(username, cookie_model.exp_date)
        else:  # restored from the browser's cookie: only a live session row counts
            _resume_session(username, cookie_model.token)
        st.rerun()
    elif status is False:
        _failed_sign_in(credentials)


def _remember_requested_view() -> None:
    """Keep the page and filters of the URL that brought the user here, to open them after sign-in
    (a shared link then shows the shared view). Only the first URL of a signed-out visit counts."""
    if REQUESTED_VIEW_KEY in st.session_state:
        return
    url = st.context.url or ""
    path = urlsplit(url).path.rstrip("/")
    url_path = path.rsplit("/", 1)[-1] if path else ""
    st.session_state[REQUESTED_VIEW_KEY] = (url_path, {key: st.query_params.get_all(key)
                                                       for key in st.query_params})


def _start_session(username: str, exp_date: float) -> None:
    session = ops.create_session(username, _cookie_binding(exp_date))
    ops.clear_failed_logins(username)
    ops.audit("login", username, {"session": session.session_id[:8]})
    st.session_state.pop(_NOTICE_KEY, None)
    st.session_state[SESSION_ID_KEY] = session.session_id
    st.session_state["logout"] = None
    # The same token the library would write (see _CookieManagerWithoutFrame), written on the next run.
    token = jwt.encode({"username": username, "exp_date": exp_date}, config.get_secret("COOKIE_KEY"),
                       algorithm="HS256")
    st.session_state[_COOKIE_SCRIPT_KEY] = (token, int(ops.SESSION_HOURS * 3600))


def _resume_session(username: str, token) -> None:
    session = None
    if isinstance(token, dict) and "exp_date" in token:
        session = ops.find_session_by_cookie(username, _cookie_binding(token["exp_date"]))
    if session is None or ops.validate_session(session.session_id) is None:
        ops.audit("session_rejected", username, {"reason": "cookie without a live session"})
        _forget_sign_in(notice=SESSION_ENDED, clear_cookie=True)
        return
    st.session_state[SESSION_ID_KEY] = session.session_id


def _failed_sign_in(credentials: dict) -> None:
    # The library counts a wrong password against the (fresh, per-run) credentials dict; that is how
    # we learn which known username was tried. An unknown username leaves no trace there.
    tried = [name for name, entry in credentials["usernames"].items() if entry.get("failed_login_attempts")]
    st.session_state["authentication_status"] = None
    if not tried:
        ops.audit("login_failed", None, {"reason": "unknown username"})
        st.error(WRONG_CREDENTIALS)
        return
    username = tried[0]
    record = ops.get_user(username)
    if record is not None and record.is_locked():
        ops.audit("login_failed", username, {"reason": "account locked"})
        st.error(LOCKED.format(minutes=ops.LOCKOUT_MINUTES))
        return
    if record is not None and not record.active:
        ops.audit("login_failed", username, {"reason": "account disabled"})
        st.error(WRONG_CREDENTIALS)
        return
    ops.audit("login_failed", username, {"reason": "wrong password"})
    if ops.record_failed_login(username):
        st.error(LOCKED.format(minutes=ops.LOCKOUT_MINUTES))
    else:
        st.error(WRONG_CREDENTIALS)


def sign_out() -> None:
    """End the server-side session (so its cookie is dead everywhere) and return to the login form."""
    session_id = st.session_state.get(SESSION_ID_KEY)
    user = st.session_state.get(USER_KEY)
    if session_id:
        ops.revoke_session(session_id, "signed out")
    ops.audit("logout", user.username if user else None, {})
    _forget_sign_in(notice="You have signed out.", clear_cookie=True)
    st.session_state[REQUESTED_VIEW_KEY] = ("", {})  # the next sign-in here starts at home


def _forget_sign_in(notice: str | None = None, clear_cookie: bool = False) -> None:
    for key in (SESSION_ID_KEY, USER_KEY):
        st.session_state.pop(key, None)
    for key in _LIBRARY_KEYS:
        st.session_state[key] = None
    # Tells the library not to sign in again from the cookie during this browser session.
    st.session_state["logout"] = True
    if clear_cookie:
        st.session_state[_COOKIE_SCRIPT_KEY] = ("", 0)
    if notice:
        st.session_state[_NOTICE_KEY] = notice


def _cookie_binding(exp_date) -> str:
    return repr(float(exp_date))


def write_pending_cookie() -> None:
    """Write (or clear, with max-age 0) the login cookie in the browser, if the last run asked for it.

    Called on every run (signed in or not) so the cookie of a fresh sign-in or sign-out arrives. It holds
    its place with an empty slot on the runs with nothing to write: otherwise everything after it moves up
    one place on the next run, and Streamlit draws moved tabs afresh, back on their first tab."""
    slot = st.empty()
    pending = st.session_state.pop(_COOKIE_SCRIPT_KEY, None)
    if pending is None:
        return
    token, max_age = pending
    cookie = f"{COOKIE_NAME}={token}; path=/; max-age={max_age}; SameSite=Strict"
    if (st.context.url or "").startswith("https:") or st.context.headers.get("X-Forwarded-Proto") == "https":
        cookie += "; Secure"  # behind HTTPS the cookie must never travel over plain HTTP
    # A script in the page itself runs as soon as it is drawn; a component frame had to load first, and the
    # next run could take it down before then (the cookie was lost and a reload signed the user out). The
    # value is a JWT (URL-safe), written as a JSON string.
    slot.html(f"<script>document.cookie = {json.dumps(cookie)};</script>", unsafe_allow_javascript=True)


def role_label(user: User) -> str:
    label = ROLE_LABELS.get(user.role, user.role)
    if user.practice_code:
        label += f", practice {user.practice_code}"
    if user.service:
        label += f", {user.service} service in {user.locality}"
    return label
