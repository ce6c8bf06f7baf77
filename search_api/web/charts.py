"""Server-rendered SVG charts for the owner pages, accessible without a script:

- each chart is an `<svg role="img">` with a `<title>` and a `<desc>` that says in words
  what it shows (totals, the largest series), and a `<title>` on every bar segment;
- the numbers themselves are in a real `<table>` below it (in a `<details>`), which screen
  readers and keyboards reach like any table;
- colours come from the Okabe-Ito palette (told apart with colour-blindness) and the
  legend is text, not colour alone.

No style attributes (the pages' CSP forbids inline styles): colours are SVG `fill`s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from search_api.models import OwnerDashboardResponse, VersionFindingsOut, WeeklySeriesOut
from search_api.web.i18n import Labels

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
TOP_SERIES = len(PALETTE) - 1  # the rest are added up as "other"
WIDTH, HEIGHT = 640, 200
LEFT, BOTTOM, TOP = 36, 28, 10


@dataclass(frozen=True)
class Chart:
    svg: Markup
    legend: Markup
    table: Markup


def _swatch(colour: str) -> str:
    return (
        f'<svg class="swatch" width="12" height="12" aria-hidden="true" focusable="false">'
        f'<rect width="12" height="12" fill="{colour}"/></svg>'
    )


def _legend(keys: Sequence[str], label: str) -> Markup:
    items = "".join(
        f"<li>{_swatch(PALETTE[i % len(PALETTE)])} {escape(k)}</li>" for i, k in enumerate(keys)
    )
    return Markup(f'<ul class="legend" aria-label="{escape(label)}">{items}</ul>')


def _top(series: Sequence[WeeklySeriesOut], other: str) -> list[tuple[str, list[int], list[int]]]:
    kept = [(s.key, list(s.unanswered), list(s.weak)) for s in series[:TOP_SERIES]]
    rest = series[TOP_SERIES:]
    if rest:
        n = len(rest[0].unanswered)
        kept.append((other,
                     [sum(s.unanswered[i] for s in rest) for i in range(n)],
                     [sum(s.weak[i] for s in rest) for i in range(n)]))  # fmt: skip
    return kept


def _y_axis(top: int, plot_h: int) -> str:
    ticks = sorted({0, top // 2, top}) if top else [0]
    out = []
    for v in ticks:
        y = TOP + plot_h - (plot_h * v / top if top else 0)
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}" stroke="#c8c8c8"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#333333">{v}</text>'
        )
    return "".join(out)


def weekly_chart(
    chart_id: str,
    title: str,
    weeks: Sequence[dt.date],
    series: Sequence[WeeklySeriesOut],
    t: Labels,
) -> Chart:
    """Stacked bars: per week, the unanswered and weak searches of each series."""
    rows = _top(series, t("chart.other"))
    totals = [sum(u[i] + w[i] for _, u, w in rows) for i in range(len(weeks))]
    top = max(totals, default=0)
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT) / max(len(weeks), 1)
    bars = []
    for i, week in enumerate(weeks):
        y = float(TOP + plot_h)
        x = LEFT + i * slot + slot * 0.15
        for j, (key, u, w) in enumerate(rows):
            n = u[i] + w[i]
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            tip = t("chart.bar_tip", week=week.isoformat(), name=key, unanswered=u[i], weak=w[i])
            bars.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(tip)}</title></rect>'
            )
        if i % 2 == 0 or len(weeks) <= 6:
            bars.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                f'font-size="11" fill="#333333">{week.strftime("%m-%d")}</text>'
            )
    unanswered = sum(sum(u) for _, u, _ in rows)
    weak = sum(sum(w) for _, _, w in rows)
    most = rows[0][0] if rows else "-"
    desc = t("chart.weekly_desc", weeks=len(weeks), unanswered=unanswered, weak=weak, most=most)
    svg = Markup(
        f'<svg class="chart" id="{chart_id}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>'
        f"{_y_axis(top, plot_h)}{''.join(bars)}</svg>"
    )
    head = "".join(f'<th scope="col">{escape(k)}</th>' for k, _, _ in rows)
    body = "".join(
        f'<tr><th scope="row">{week.isoformat()}</th>'
        + "".join(f"<td>{u[i]} / {w[i]}</td>" for _, u, w in rows)
        + "</tr>"
        for i, week in enumerate(weeks)
    )
    table = Markup(
        f'<details class="chart-data"><summary>{escape(t("chart.table"))}</summary>'
        f'<div class="table-wrap"><table data-chart="{chart_id}"><caption>{escape(title)} — '
        f"{escape(t('chart.cell_is'))}</caption>"
        f'<thead><tr><th scope="col">{escape(t("chart.week"))}</th>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div></details>"
    )
    return Chart(svg, _legend([k for k, _, _ in rows], t("chart.legend")), table)


def findings_chart(
    chart_id: str, title: str, rows: Sequence[VersionFindingsOut], t: Labels
) -> Chart:
    """Horizontal stacked bars: per version of the change feed, its findings by kind."""
    kinds = sorted({k for r in rows for k in r.counts})
    top = max((r.total for r in rows), default=0)
    label_w, row_h = 190, 24
    height = TOP + row_h * max(len(rows), 1) + 8
    plot_w = WIDTH - label_w - 10
    parts = []
    for i, r in enumerate(rows):
        y = TOP + i * row_h
        name = f"{r.doc_id} {r.lang} v{r.version}"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="11" '
            f'fill="#333333">{escape(name[:30])}</text>'
        )
        x = float(label_w)
        for kind in kinds:
            n = r.counts.get(kind, 0)
            if not n:
                continue
            w = plot_w * n / top
            tip = f"{name}: {t('finding.' + kind) if t.has('finding.' + kind) else kind} {n}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                f'fill="{PALETTE[kinds.index(kind) % len(PALETTE)]}"><title>{escape(tip)}</title></rect>'
            )
            x += w
        parts.append(
            f'<text x="{x + 4:.1f}" y="{y + 15}" font-size="11" fill="#333333">{r.total}</text>'
        )
    names = [t("finding." + k) if t.has("finding." + k) else k for k in kinds]
    desc = t("chart.findings_desc", versions=len(rows), findings=sum(r.total for r in rows))
    svg = Markup(
        f'<svg class="chart" id="{chart_id}" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>{"".join(parts)}</svg>'
    )
    head = "".join(f'<th scope="col">{escape(n)}</th>' for n in names)
    body = "".join(
        f'<tr><th scope="row">{escape(r.doc_id)} {escape(r.lang)} v{escape(r.version)} '
        f"({r.effective.isoformat() if r.effective else '-'})</th>"
        + "".join(f"<td>{r.counts.get(k, 0)}</td>" for k in kinds)
        + "</tr>"
        for r in rows
    )
    table = Markup(
        f'<details class="chart-data"><summary>{escape(t("chart.table"))}</summary>'
        f'<div class="table-wrap"><table data-chart="{chart_id}"><caption>{escape(title)}</caption>'
        f'<thead><tr><th scope="col">{escape(t("chart.version"))}</th>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div></details>"
    )
    return Chart(svg, _legend(names, t("chart.legend")), table)


def dashboard_charts(board: OwnerDashboardResponse, t: Labels) -> list[tuple[str, Chart | None]]:
    """The owner dashboard's three charts (None where there is nothing to draw)."""
    weekly = board.demand_weekly
    out: list[tuple[str, Chart | None]] = []
    for chart_id, key, series in (
        ("chart-topic", "chart.by_topic", weekly.by_topic),
        ("chart-language", "chart.by_language", weekly.by_language),
    ):
        title = t(key, weeks=len(weekly.weeks))
        out.append(
            (title, weekly_chart(chart_id, title, weekly.weeks, series, t) if series else None)
        )
    title = t("chart.findings_title")
    rows = board.findings_by_version
    out.append((title, findings_chart("chart-findings", title, rows, t) if rows else None))
    return out
