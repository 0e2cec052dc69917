"""The pack framework: a pack kind is its data assembly, its charts and its print template.

    register_pack_kind(PackKind(
        code="board", name="Board assurance pack", template="reporting/board_pack.html",
        audience="The board", assemble=board.assemble, charts=board.charts))

`assemble(organisation, period, at)` reads the apps' selectors and returns the pack's numbers as
plain JSON: the snapshot, frozen before anything is drawn. `charts(snapshot)` returns Plotly
figures drawn from the snapshot alone, so a pack rebuilt from its snapshot draws the same
charts. The template extends reporting/pack_base.html and reads `snapshot` and `charts`.
Building, storing, scheduling, progress, downloads and the command line are the framework's
(reporting/building.py), the same for every kind.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import plotly.graph_objects as go

from caregov.cadence import Cadence, Period
from caregov.models import Organisation
from caregov.registry import Registry

Assemble = Callable[[Organisation, Period, datetime], dict]
Charts = Callable[[dict], list[tuple[str, go.Figure]]]


def _no_charts(snapshot: dict) -> list[tuple[str, go.Figure]]:
    return []


@dataclass(frozen=True)
class PackKind:
    code: str
    name: str
    template: str
    #: Who the pack is for, on its cover: "The board".
    audience: str
    assemble: Assemble
    charts: Charts = _no_charts
    cadence: str = Cadence.QUARTERLY
    #: Built by the scheduler once each period has ended.
    on_schedule: bool = True
    view_capability: str = "packs.view"
    build_capability: str = "packs.build"


pack_kinds = Registry()


def register_pack_kind(kind: PackKind) -> PackKind:
    pack_kinds.add(kind.code, kind)
    return kind


def canonical(snapshot: dict) -> str:
    """The snapshot as the one JSON text its hash is taken of: sorted keys, no spacing."""
    return json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def freeze(snapshot: dict) -> tuple[dict, str]:
    """The snapshot as it will be stored (JSON round trip: what is rendered is what is kept)
    and its sha256. Anything that is not plain JSON is refused here, before it is stored."""
    text = canonical(snapshot)
    return json.loads(text), hashlib.sha256(text.encode()).hexdigest()
