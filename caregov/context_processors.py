"""The navigation a signed-in person sees: only what their roles let them open."""

from django.urls import reverse

from caregov import access
from caregov.registry import menu_items

MENU = [
    ("My work", "home", "work.view", False),
    ("Reviews", "review_list", "reviews.view", False),
    ("Escalations", "escalation_list", "escalations.view", False),
    ("Actions", "action_list", "actions.view", False),
    ("Decisions", "meeting_list", "decisions.view", False),
    ("Services", "service_list", "services.view", False),
    ("People", "person_list", "people.view", False),
    ("Triggers", "trigger_list", "triggers.configure", False),
    ("Security log", "security_event_list", "security.view", False),
]


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": []}
    if getattr(request, "caregov_second_factor_pending", None):
        # Until the second factor is passed, nothing else opens: no menu to lead elsewhere.
        return {"nav_items": [], "second_factor_pending": True}
    items = []
    current = request.path
    for label, url_name, capability, organisation_wide in [MENU[0], *menu_items, *MENU[1:]]:
        allowed = (
            access.has_organisation_capability(user, capability)
            if organisation_wide
            else access.has_capability(user, capability)
        )
        if allowed:
            items.append({"label": label, "url": reverse(url_name), "active": False})
    # The entry whose address is the longest start of this page's is the one you are in.
    matches = [
        i
        for i in items
        if (current == i["url"] if i["url"] == "/" else current.startswith(i["url"]))
    ]
    if matches:
        max(matches, key=lambda i: len(i["url"]))["active"] = True
    from caregov.views.notices import unread_count

    return {
        "nav_items": items,
        "read_only": access.is_read_only(user),
        "unread_notices": unread_count(user),
    }
