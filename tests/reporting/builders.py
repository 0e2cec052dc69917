"""Pack contexts and PDF text for the reporting tests."""

import subprocess


def pdf_pages(pdf: bytes, *, layout: bool = False) -> list[str]:
    """The text of each page, as a reader selecting it would get it; with `layout`, laid out
    as on the page, so that a table row is one line."""
    options = ["-layout"] if layout else []
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", *options, "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return text.split("\f")[:-1]


def pack_context(**overrides) -> dict:
    context = {
        "organisation": "Oakfield Care Group",
        "pack_name": "Board assurance pack",
        "period": "Q3 2026 (Jul to Sep)",
        "audience": "Board meeting, 22 Nov 2026",
        "prepared_on": "14 Nov 2026",
        "status": "Draft",
        "footer_note": "Official: sensitive",
        "reliable_months": 9,
        "contents": [
            {"anchor": "summary", "title": "Summary"},
            {"anchor": "trend", "title": "Is completeness improving at Willow House?"},
            {"anchor": "audits", "title": "Audited records"},
        ],
        "chart": "",
        "rows": audit_rows(60),
    }
    return {**context, **overrides}


def audit_rows(count: int) -> list[dict]:
    return [
        {
            "reference": f"R{i:05d}",
            "service": ("Willow House", "Beech Court")[i % 2],
            "measure": "Completeness",
            "score": 60 + i % 40,
            "rating": ("Red", "Amber", "Green")[i % 3],
            "finding": f"Start of R{i:05d}. Care notes were written after the shift had ended, "
            "so the times recorded do not match the visit log. The team leader checked the "
            "rota and found the same pattern on three night shifts; the registered manager "
            f"has asked for notes to be written before handover. End of R{i:05d}.",
        }
        for i in range(1, count + 1)
    ]
