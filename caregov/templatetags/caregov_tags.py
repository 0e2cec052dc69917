from django import template
from django.forms import BoundField

register = template.Library()

TAG_COLOURS = {
    "planning": "grey",
    "rollout": "blue",
    "stabilised": "green",
    "active": "green",
    "deactivated": "grey",
    "open": "blue",
    "in review": "amber",
    "overdue": "red",
    "signed off": "green",
    "acknowledged": "amber",
    "resolved": "green",
    "high": "red",
    "medium": "amber",
    "low": "grey",
    "draft": "grey",
    "done": "green",
    "effective": "green",
    "not effective": "red",
    "done, check due": "blue",
    "under test": "blue",
    "approved": "green",
    "superseded": "grey",
    "withdrawn": "grey",
    "failed": "red",
    "partly practical": "amber",
    "practical": "green",
    "improves": "green",
    "no change": "amber",
    "worse": "red",
    "ready": "green",
    "building": "blue",
    "waiting to build": "blue",
}


@register.filter
def tag_colour(value: str) -> str:
    return TAG_COLOURS.get(str(value).lower(), "grey")


@register.filter
def widget_type(field: BoundField) -> str:
    return field.field.widget.__class__.__name__.lower()


@register.simple_tag(takes_context=True)
def page_url(context, page_number: int) -> str:
    query = context.get("querystring", "")
    return f"?{query}&page={page_number}" if query else f"?page={page_number}"


FIGURE_LABELS = {
    "days_since_period_end": "Days since the period ended",
    "threshold_days": "Days allowed before escalating",
    "levels_up": "Levels escalated above the reviewing body",
    "review_body": "Reviewed by",
    "status": "Review status when raised",
    "days_overdue": "Days overdue",
    "owner": "Owner",
}


ACRONYMS = {"ecm": "ECM", "cqc": "CQC", "rag": "RAG"}


@register.filter
def figure_label(key: str) -> str:
    key = str(key)
    if key in FIGURE_LABELS:
        return FIGURE_LABELS[key]
    words = [ACRONYMS.get(w, w) for w in key.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


@register.filter
def days_ago(days: int) -> str:
    if days <= 0:
        return "today"
    return "yesterday" if days == 1 else f"{days} days ago"
