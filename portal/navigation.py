"""The page registry: which pages exist and which roles may open them.

``portal/app.py`` registers with ``st.navigation`` only the pages the signed-in user's role may see, so a
page missing from a role's menu cannot be reached by URL either. Add one ``PageSpec`` line per page, and
only once the page file exists and works (no placeholders).
"""
from __future__ import annotations

from dataclasses import dataclass

from portal import config
from portal.roles import ADMIN, ANALYST, CLINICIAN, COMMISSIONER, GP, ROLES

EVERYONE = frozenset(ROLES)
DATA_TEAM = frozenset({ANALYST, ADMIN})
GP_ONLY = frozenset({GP})
# The themed journeys (SPEC §3.2-§3.10): every role that sees aggregates.
JOURNEY_ROLES = frozenset({COMMISSIONER, CLINICIAN, GP, ANALYST, ADMIN})


@dataclass(frozen=True)
class PageSpec:
    path: str              # page file relative to the repository root, e.g. "pages/home.py"
    title: str             # menu label and browser tab title
    icon: str              # Streamlit icon, e.g. ":material/home:"
    url_path: str          # the URL segment, e.g. "waiting-lists"
    roles: frozenset       # roles that may see and open the page
    section: str = "Journeys"  # menu group
    default: bool = False  # the landing page (exactly one: home)

    @property
    def absolute_path(self) -> str:
        return str(config.REPO_ROOT / self.path)

    def allows(self, role: str) -> bool:
        return role in self.roles


# One line per page. Keep the order: it is the menu order.
PAGES: list[PageSpec] = [
    PageSpec("pages/home.py", "Home", ":material/home:", "home", EVERYONE, section="Overview", default=True),
    PageSpec("pages/waiting_lists.py", "Waiting lists", ":material/schedule:", "waiting-lists", JOURNEY_ROLES),
    PageSpec("pages/ehcp_journey.py", "EHCP journey", ":material/route:", "ehcp-journey", JOURNEY_ROLES),
    PageSpec("pages/sleep_services.py", "Sleep services", ":material/bedtime:", "sleep-services", JOURNEY_ROLES),
    PageSpec("pages/education.py", "Education", ":material/school:", "education", JOURNEY_ROLES),
    PageSpec("pages/health_services.py", "Health services use", ":material/local_hospital:", "health-services",
             JOURNEY_ROLES),
    PageSpec("pages/survey_feedback.py", "Survey feedback", ":material/reviews:", "survey-feedback", JOURNEY_ROLES),
    PageSpec("pages/inequalities.py", "Inequalities", ":material/diversity_3:", "inequalities", JOURNEY_ROLES),
    PageSpec("pages/transitions.py", "Transitions (14 to 25)", ":material/transfer_within_a_station:",
             "transitions", JOURNEY_ROLES),
    PageSpec("pages/compare.py", "How do we compare?", ":material/leaderboard:", "how-do-we-compare", JOURNEY_ROLES),
    PageSpec("pages/gp_cohort_finder.py", "GP cohort finder", ":material/patient_list:", "gp-cohort-finder",
             GP_ONLY, section="Direct care"),
    PageSpec("pages/ask_for_data.py", "Ask for data", ":material/contact_support:", "ask-for-data", EVERYONE,
             section="Self-service"),
    PageSpec("pages/help_centre.py", "Help centre", ":material/help:", "help-centre", EVERYONE, section="Help"),
    PageSpec("pages/accessibility.py", "Accessibility statement", ":material/accessibility:", "accessibility",
             EVERYONE, section="Help"),
    PageSpec("pages/data_status.py", "Data status", ":material/monitor_heart:", "data-status", DATA_TEAM,
             section="Data team"),
    PageSpec("pages/audit_log.py", "Audit log", ":material/policy:", "audit-log", frozenset({ADMIN}),
             section="Data team"),
]


def pages_for(role: str) -> list[PageSpec]:
    """The pages a role may see, in menu order; an unknown role sees nothing."""
    return [page for page in PAGES if page.allows(role)]


def sections_for(role: str) -> dict[str, list[PageSpec]]:
    """The role's pages grouped by menu section, sections in first-appearance order."""
    grouped: dict[str, list[PageSpec]] = {}
    for page in pages_for(role):
        grouped.setdefault(page.section, []).append(page)
    return grouped
