"""The service blueprint as inline SVG: journey stages across, frontstage above the line of visibility, backstage below.

Each experience is a box in its stage's column (funded: filled, with its go-live quarter and
NPV; not funded: a dashed outline). A line runs from each enabler to what needs it: solid
when both are funded, dashed when the link is planned but not live. Sized for an A4
landscape page and a screen; text from the inputs is escaped.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from planner.render.charts import ACCENT, GRID, INK, MUTED, Format, _clip, _svg, _text
from planner.reports.experience_view import Blueprint, BlueprintNode

BOX_HEIGHT, BOX_GAP, HEADER, MARGIN = 34, 5, 34, 10
FUNDED_FILL, OPEN_FILL = "#dbe7f3", "#ffffff"


def blueprint_svg(blueprint: Blueprint, fmt: Format, width: int = 1000) -> Markup:
    """The blueprint of a plan; `fmt` formats an NPV the way the report's tables do."""
    stages = blueprint.stages
    column = (width - 2 * MARGIN) / max(1, len(stages))
    front = max((len(blueprint.lane(s, "frontstage")) for s in stages), default=0)
    back = max((len(blueprint.lane(s, "backstage")) for s in stages), default=0)
    line_y = HEADER + 22 + max(1, front) * (BOX_HEIGHT + BOX_GAP) + 6
    height = int(line_y + 26 + max(1, back) * (BOX_HEIGHT + BOX_GAP) + MARGIN)
    where: dict[str, tuple[float, float]] = {}
    boxes: list[str] = []
    for s, stage in enumerate(stages):
        x = MARGIN + s * column
        boxes.append(_text(x + column / 2, HEADER - 12, stage, 12, weight="bold", fill=ACCENT))
        for layer, top in (("frontstage", HEADER + 22), ("backstage", line_y + 26)):
            for k, node in enumerate(blueprint.lane(stage, layer)):
                y = top + k * (BOX_HEIGHT + BOX_GAP)
                where[node.id] = (x + column / 2, y)
                boxes.append(_box(node, x + 4, y, column - 8, fmt))
    parts = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>']
    for s in range(1, len(stages)):
        x = MARGIN + s * column
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{HEADER - 28}" y2="{height - MARGIN}" stroke="{GRID}"/>')
    parts.append(_text(MARGIN, HEADER + 12, "Frontstage: what customers touch", 10, "start", MUTED))
    parts.append(f'<line x1="{MARGIN}" x2="{width - MARGIN}" y1="{line_y:.1f}" y2="{line_y:.1f}" stroke="{INK}" '
                 f'stroke-width="1.5" stroke-dasharray="8 4"/>')
    parts.append(_text(MARGIN, line_y + 16, "line of visibility · backstage: the systems and processes behind it", 10, "start", MUTED))
    for link in blueprint.links:
        if link.source in where and link.target in where:
            parts.append(_link(where[link.source], where[link.target], link.live))
    parts.extend(boxes)
    title = "Service blueprint: journey stages across, frontstage above the line of visibility, backstage below"
    return _svg(width, height, title, parts)


def _box(node: BlueprintNode, x: float, y: float, width: float, fmt: Format) -> str:
    fill = FUNDED_FILL if node.funded else OPEN_FILL
    dash = "" if node.funded else ' stroke-dasharray="4 3"'
    detail = f"live {node.go_live} · {fmt(node.npv)}" if node.funded else "not funded"
    tip = f"{node.id} {node.name} ({node.channel}): {detail}"
    return (f'<g><title>{escape(tip)}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{BOX_HEIGHT}" rx="4" fill="{fill}" '
            f'stroke="{ACCENT if node.funded else MUTED}"{dash}/>'
            + _text(x + 5, y + 14, _clip(f"{node.id} {node.name}", width - 10), 10, "start", INK if node.funded else MUTED,
                    "bold" if node.funded else "normal")
            + _text(x + 5, y + 28, _clip(detail, width - 10), 9.5, "start", MUTED)
            + "</g>")


def _link(source: tuple[float, float], target: tuple[float, float], live: bool) -> str:
    (x1, y1), (x2, y2) = source, target
    # From the enabler's top edge to the dependent's bottom edge (or side by side in one lane).
    start_y = y1 if y2 < y1 else y1 + BOX_HEIGHT
    end_y = y2 + BOX_HEIGHT if y2 < y1 else y2
    style = f'stroke="{ACCENT}" stroke-width="1.6"' if live else f'stroke="{MUTED}" stroke-width="1" stroke-dasharray="3 3"'
    return (f'<path d="M{x1:.1f},{start_y:.1f} C{x1:.1f},{(start_y + end_y) / 2:.1f} {x2:.1f},{(start_y + end_y) / 2:.1f} '
            f'{x2:.1f},{end_y:.1f}" fill="none" {style} opacity="0.75"/>')

