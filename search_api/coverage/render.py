"""The coverage report, the owner dashboard and the change feed as Markdown (for people
reading a terminal or a ticket) and as one self-contained HTML page (the topic-by-market
matrix, to look at rather than read). JSON is each object's `as_json()`."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from ontology.governance import FINDING_DESCRIPTIONS, ChangeKind, FindingKind
from search_api.coverage.changes import VersionChanges
from search_api.coverage.demand import Demand
from search_api.coverage.findings import Finding
from search_api.coverage.report import CoverageReport, DocumentStatus, OwnerDashboard


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(head: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return out


def _findings_md(findings: Sequence[Finding], with_owner: bool = True) -> list[str]:
    out: list[str] = []
    for kind in FindingKind:
        rows = [f for f in findings if f.kind == kind]
        if not rows:
            continue
        out += ["", f"### {kind.value} ({len(rows)})", "", f"_{FINDING_DESCRIPTIONS[kind]}_", ""]
        head = ["doc", "lang", "item", *(["owner"] if with_owner else []), "reason"]
        out += _table(
            head,
            ([f.doc, f.lang, f.item, *([f.owner or "-"] if with_owner else []), f.reason]
             for f in rows),
        )  # fmt: skip
    return out


def _demand_md(d: Demand) -> list[str]:
    out = [
        "",
        f'{len(d.unanswered)} of {d.logged} logged searches unanswered (feedback "no", no '
        f"result, or fewer than {d.weak_agreement:.0%} of the retrievers agreed on the top "
        "result).",
    ]
    if d.by_topic:
        out += ["", "By topic:", ""]
        out += _table(
            ["topic", "count", "of which feedback no", "examples"],
            ([g.label, g.count, g.feedback_no, "; ".join(q for q, _ in g.queries.most_common(3))]
             for g in d.by_topic),
        )  # fmt: skip
    if d.by_wording:
        out += ["", "By similar wording:", ""]
        out += _table(
            ["question", "count", "topics"],
            ([g.label, g.count, ", ".join(g.topics)] for g in d.by_wording),
        )  # fmt: skip
    return out


def _documents_md(docs: Sequence[DocumentStatus]) -> list[str]:
    return _table(
        ["doc", "state", "review_by", "versions", "topic", "markets"],
        (
            [d.id, d.state, d.review_by or "-",
             ", ".join(f"{lang} {v}" for lang, v in d.versions.items()), d.topic,
             ",".join(d.markets)]
            for d in docs
        ),
    )  # fmt: skip


def _matrix_md(report: CoverageReport) -> list[str]:
    markets = report.markets
    rows = []
    for r in report.matrix:
        name = ("  " * r.depth) + (r.path.rsplit("/", 1)[-1] if r.depth else r.path)
        cells = [str(len(r.cells[m])) if r.cells[m] else "·" for m in markets]
        rows.append([f"`{name}`" if r.leaf else f"**{name}**", *cells])
    return _table(["topic", *markets], rows)


def _documents_phrase(report: CoverageReport) -> str:
    """How many documents are in effect, and how many are superseded (still active in the
    graph, but on their way out: left out of every check)."""
    superseded = sum(d.state == "superseded" for d in report.documents)
    phrase = f"{len(report.documents) - superseded} document(s) in effect"
    return phrase + (f" and {superseded} superseded" if superseded else "")


def report_markdown(report: CoverageReport) -> str:
    counts = {k: n for k, n in report.counts().items() if n}
    out = [
        f"# SOP coverage report ({report.today.isoformat()})",
        "",
        f"{len(report.findings)} finding(s) over {_documents_phrase(report)}; "
        f"due-soon means review_by within {report.due_within_days} days.",
        "",
    ]
    out += _table(["kind", "findings"], counts.items()) if counts else ["No findings."]
    out += ["", "## Findings"]
    out += _findings_md(report.findings)
    out += ["", "## Topics by market", "",
            "Documents covering each topic in each market (a document for ALL covers every "
            "market; `·` = none).", ""]  # fmt: skip
    out += _matrix_md(report)
    out += ["", "## Unanswered demand"]
    out += _demand_md(report.demand)
    out += ["", "## Documents", ""]
    out += _documents_md(report.documents)
    return "\n".join(out) + "\n"


def dashboard_markdown(d: OwnerDashboard) -> str:
    out = [f"# {d.owner}: SOP dashboard ({d.today.isoformat()})", ""]
    out += [f"{len(d.documents)} document(s); {len(d.stale)} stale, {len(d.due_soon)} due "
            f"within {d.due_within_days} days; {len(d.findings)} finding(s).", ""]  # fmt: skip
    out += ["## Documents", ""]
    out += _documents_md(d.documents)
    out += ["", "## Findings on these documents"]
    out += _findings_md(d.findings, with_owner=False) if d.findings else ["", "None."]
    out += ["", f"## Unanswered questions in these topics ({', '.join(d.topics) or '-'})"]
    out += _demand_md(d.demand)
    return "\n".join(out) + "\n"


def changes_markdown(feed: Sequence[VersionChanges], since: str) -> str:
    out = [f"# SOP changes since {since}", ""]
    if not feed:
        return "\n".join([*out, "No new versions."]) + "\n"
    for v in feed:
        head = f"## {v.doc_id} {v.version} ({v.lang})"
        if v.title:
            head += f": {v.title}"
        out += [head, ""]
        eff = v.effective.isoformat() if v.effective else "?"
        if v.new_document:
            out += [f"Effective {eff}. First version in the graph (nothing to compare).", ""]
            continue
        c = v.counts()
        out += [f"Effective {eff}, replaces {v.previous_version}; owner {v.owner or '-'}. "
                f"{c['added']} added, {c['removed']} removed, {c['reworded']} reworded, "
                f"{c['retagged']} retagged.", ""]  # fmt: skip
        for ch in v.changes:
            where = f"{ch.kind or ''} {ch.item_id}" if ch.item_id else f"section {ch.section}"
            out.append(f"- **{ch.change.value}** {where.strip()} ({ch.heading or ch.section})")
            if ch.change is ChangeKind.RETAGGED:
                out.append(f"  - text: {ch.new_text}")
            else:
                if ch.old_text is not None:
                    out.append(f"  - before: {ch.old_text}")
                if ch.new_text is not None:
                    out.append(f"  - after: {ch.new_text}")
            out += [f"  - {name}: {before} -> {after}" for name, before, after in ch.retags()]
            rs = ch.recent_searches
            if rs is not None:
                asked = ", ".join(f"“{q}” ({n})" for q, n in rs.queries)
                out.append(f"  - recent_searches: {rs.count} in {rs.days} days"
                           + (f": {asked}" if asked else ""))  # fmt: skip
        out.append("")
    return "\n".join(out)


# --- HTML ---------------------------------------------------------------------------------
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","Hiragino Sans","Noto Sans JP",sans-serif;
  margin:24px;color:#1d232a;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.muted{color:#5b6670}.kinds{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}
.kinds span{border:1px solid #d5dbe1;border-radius:12px;padding:2px 10px;background:#f6f8fa}
table{border-collapse:collapse}th,td{border:1px solid #d5dbe1;padding:4px 8px;vertical-align:top}
th{background:#f0f3f6;text-align:left}
table.matrix td.c{width:46px;text-align:center;font-weight:600}
td.covered{background:#cdebd3;color:#16532a}td.gap{background:#fbe3c4;color:#7a4a05}
td.none{background:#f7c9c9;color:#8a1c1c}tr.parent td.t{font-weight:600;background:#f6f8fa}
tr.parent td.c{opacity:.75}td.t{white-space:nowrap}
.legend span{display:inline-block;padding:2px 10px;margin-right:8px;border-radius:3px}
table.findings td:nth-child(5){max-width:680px}
"""


def _e(v: object) -> str:
    return html.escape(str(v), quote=True)


def _matrix_html(report: CoverageReport) -> list[str]:
    markets = report.markets
    out = ['<table class="matrix"><thead><tr><th>topic</th>']
    out += [f"<th>{_e(m)}</th>" for m in markets]
    out.append("</tr></thead><tbody>")
    for r in report.matrix:
        indent = "&nbsp;" * 4 * r.depth
        label = f'{indent}{_e(r.path.rsplit("/", 1)[-1])} <span class="muted">{_e(r.en)}' \
                f" · {_e(r.ja)}</span>"  # fmt: skip
        cls = "parent" if not r.leaf else ""
        out.append(f'<tr class="{cls}"><td class="t" title="{_e(r.path)}">{label}</td>')
        anywhere = bool(r.documents)
        for m in markets:
            docs = r.cells[m]
            if docs:
                state, text = "covered", str(len(docs))
                tip = f"{r.path} in {m}: " + ", ".join(docs)
            elif anywhere:
                state, text = "gap", "–"
                tip = f"{r.path}: no document for {m} (documents elsewhere: " \
                      f"{', '.join(r.documents)})"  # fmt: skip
            else:
                state, text = "none", "✕"
                tip = f"{r.path}: no document in any market"
            out.append(f'<td class="c {state}" title="{_e(tip)}">{text}</td>')
        out.append("</tr>")
    out.append("</tbody></table>")
    return out


def _findings_html(findings: Sequence[Finding]) -> list[str]:
    out = ['<table class="findings"><thead><tr><th>kind</th><th>doc</th><th>lang</th>'
           "<th>item</th><th>reason</th><th>owner</th></tr></thead><tbody>"]  # fmt: skip
    for f in findings:
        out.append(
            f'<tr title="{_e(FINDING_DESCRIPTIONS[f.kind])}"><td>{_e(f.kind.value)}</td>'
            f"<td>{_e(f.doc)}</td><td>{_e(f.lang)}</td><td>{_e(f.item)}</td>"
            f"<td>{_e(f.reason)}</td><td>{_e(f.owner or '-')}</td></tr>"
        )
    out.append("</tbody></table>")
    return out


def report_html(report: CoverageReport) -> str:
    counts = {k: n for k, n in report.counts().items() if n}
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>SOP coverage {report.today.isoformat()}</title><style>{_CSS}</style></head>",
        "<body>",
        f'<h1>SOP coverage report</h1><p class="muted">as of {report.today.isoformat()}; '
        f"{_e(_documents_phrase(report))}; {len(report.findings)} findings; "
        f"generated {report.generated_at.isoformat()}</p>",
        '<div class="kinds">',
        *(f"<span>{_e(k)}: <b>{n}</b></span>" for k, n in counts.items()),
        "</div>",
        "<h2>Topics by market</h2>",
        '<p class="legend"><span class="covered" style="background:#cdebd3">n = documents '
        'covering it</span><span style="background:#fbe3c4">– not in this market</span>'
        '<span style="background:#f7c9c9">✕ no document anywhere</span> A document for ALL '
        "covers every market; a parent topic counts its subtopics' documents. Hover a cell "
        "for the documents.</p>",
        *_matrix_html(report),
        "<h2>Findings</h2>",
        *_findings_html(report.findings),
        "<h2>Unanswered demand</h2>",
    ]
    d = report.demand
    out.append(
        f"<p>{len(d.unanswered)} of {d.logged} logged searches unanswered (feedback “no”, no "
        f"result, or fewer than {d.weak_agreement:.0%} of the retrievers agreed on the top "
        "result).</p>"
    )
    if d.by_topic:
        out.append("<table><thead><tr><th>topic</th><th>count</th><th>feedback no</th>"
                   "<th>examples</th></tr></thead><tbody>")  # fmt: skip
        for g in d.by_topic:
            examples = "; ".join(q for q, _ in g.queries.most_common(3))
            out.append(f"<tr><td>{_e(g.label)}</td><td>{g.count}</td><td>{g.feedback_no}</td>"
                       f"<td>{_e(examples)}</td></tr>")  # fmt: skip
        out.append("</tbody></table>")
    out += ["</body></html>", ""]
    return "\n".join(out)
