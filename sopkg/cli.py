"""`sopkg`: the command line. A thin layer over library calls; errors mapped once here."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ingest.lint import lint, run_lint
from ingest.model import Issue
from ingest.pipeline import IngestSummary, ingest_corpus, reembed_graph, remove_corpus
from kg import allocator
from kg.connection import Connection, local_connection, resolve_connection
from kg.embedders import make_embedder, make_second_embedder
from kg.errors import ConfigError, GraphUnavailable, InvalidInput, SopkgError
from kg.local_neo4j import LocalNeo4j
from kg.locks import graph_write_lock
from kg.settings import Settings, get_settings
from ontology.rules import parse_day
from sopkg.progress import ProgressBars, progress_bars

if TYPE_CHECKING:
    from neo4j import Driver

SAMPLE_CORPUS = Path(__file__).resolve().parents[1] / "sample_corpus"

Handler = Callable[[argparse.Namespace, Settings], int]


EXIT_OK = 0  # done; for lint and ingest: no errors in the input
EXIT_FINDINGS = 1  # lint or ingest found errors in the input (the rest was done)
EXIT_USAGE = 2  # a bad command line or input value: nothing was done
EXIT_UNAVAILABLE = 3  # Neo4j could not be reached, or `neo4j status`: not running
FORMATS = {"md": "markdown"}  # short names accepted for --format


def _format(value: str) -> str:
    return FORMATS.get(value, value)


def _print_json(data: Any) -> int:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    return 0


# --- neo4j -----------------------------------------------------------------------------
def _neo4j_start(args: argparse.Namespace, settings: Settings) -> int:
    if settings.neo4j_uri:
        print(f"NEO4J_URI is set ({settings.neo4j_uri}): using that server, nothing to start")
        return 0
    server = LocalNeo4j(settings, args.instance)
    res = server.start()
    if args.json:
        return _print_json({"instance": args.instance, "running": True, **asdict(res)})
    how = "already running" if res.already_running else "started"
    jars = " (jars fetched from Maven Central)" if res.downloaded_jars else ""
    print(f"neo4j[{args.instance}] {how}: {res.uri}, pid {res.pid}, {res.seconds:.1f} s{jars}")
    return 0


def _neo4j_stop(args: argparse.Namespace, settings: Settings) -> int:
    stopped = LocalNeo4j(settings, args.instance).stop()
    if args.json:
        _print_json({"instance": args.instance, "stopped": stopped})
        return 0
    print(f"neo4j[{args.instance}] {'stopped' if stopped else 'was not running'}")
    return 0


def _neo4j_status(args: argparse.Namespace, settings: Settings) -> int:
    st = LocalNeo4j(settings, args.instance).status()
    if args.json:
        _print_json({k: str(v) if isinstance(v, Path) else v for k, v in asdict(st).items()})
    else:
        print(st.describe())
    return EXIT_OK if st.running else EXIT_UNAVAILABLE


def _neo4j_shell_env(args: argparse.Namespace, settings: Settings) -> int:
    server = LocalNeo4j(settings, args.instance)
    password = server.password()  # first: an instance never started gets no port file
    pairs = {
        "NEO4J_URI": server.uri(),
        "NEO4J_USER": "neo4j",
        "NEO4J_PASSWORD": password,
        "NEO4J_DATABASE": "neo4j",
    }
    for k, v in pairs.items():
        print(f"export {k}={shlex.quote(v)}")
    return 0


def _local_only(settings: Settings, what: str) -> None:
    if settings.neo4j_uri:
        raise ConfigError(
            f"NEO4J_URI is set: {what} works on a local instance only (--instance), and "
            f"reads no NEO4J_* variable; unset NEO4J_URI for it (`sopkg neo4j shell-env` "
            f"sets it), or back up and restore {settings.neo4j_uri} with Neo4j's own tools "
            "(docs/operations.md)"
        )


def _backup(args: argparse.Namespace, settings: Settings) -> int:
    from kg.backup import DATABASE, backup

    _local_only(settings, "sopkg backup")
    server = LocalNeo4j(settings, args.instance)
    with graph_write_lock(settings.state_dir, server.uri(), DATABASE, "sopkg backup"):
        res = backup(server, Path(args.file), overwrite=args.force)
    restarted = " (Neo4j stopped for the dump and started again)" if res.restarted else ""
    print(f"backup of neo4j[{args.instance}] written to {res.path}: {res.bytes} bytes, "
          f"{res.seconds:.1f} s{restarted}")  # fmt: skip
    return 0


def _restore(args: argparse.Namespace, settings: Settings) -> int:
    from kg.backup import DATABASE, restore
    from kg.digest import graph_digest

    _local_only(settings, "sopkg restore")
    server = LocalNeo4j(settings, args.instance)
    with graph_write_lock(settings.state_dir, server.uri(), DATABASE, "sopkg restore"):
        res = restore(server, Path(args.file))
    if res.previous:
        print(f"the graph it replaced is kept in {res.previous}", file=sys.stderr)
    print(f"neo4j[{args.instance}] restored from {res.path} in {res.seconds:.1f} s")
    if server.status().running:
        with local_connection(server).driver() as driver:
            counts = graph_digest(driver, DATABASE).counts()
        print(json.dumps(counts, ensure_ascii=False, indent=2))
    return 0


# --- corpus ---------------------------------------------------------------------------
def _lint(args: argparse.Namespace, settings: Settings) -> int:
    if not args.json:
        return run_lint(Path(args.corpus))
    corpus = lint(Path(args.corpus))
    _print_json(
        {
            "files": len(corpus.files) + len(corpus.broken),
            "broken": corpus.broken,
            "documents": len(corpus.documents()),
            "errors": [_issue_json(i) for i in corpus.errors],
            "warnings": [_issue_json(i) for i in corpus.warnings],
        }
    )
    return EXIT_FINDINGS if corpus.errors else EXIT_OK


def _issue_json(issue: Issue) -> dict[str, Any]:
    return {"path": issue.path, "line": issue.line, "rule": issue.rule,
            "message": issue.message, "text": str(issue)}  # fmt: skip


def _write_lock(settings: Settings, conn: Connection, what: str) -> AbstractContextManager[None]:
    """One writer per graph (see kg.locks): a second one is refused with who holds it."""
    return graph_write_lock(settings.state_dir, conn.uri, conn.database, what)


def _ensure_local_server(settings: Settings) -> None:
    if not settings.neo4j_uri:
        res = LocalNeo4j(settings).start()
        if not res.already_running:
            print(f"neo4j[main] started: {res.uri} ({res.seconds:.1f} s)", file=sys.stderr)


@contextmanager
def _bars(args: argparse.Namespace) -> Iterator[ProgressBars | None]:
    """Progress bars on a terminal (stderr), none with --json or off a terminal."""
    bars = progress_bars(json_only=args.json)
    try:
        yield bars
    finally:
        if bars is not None:
            bars.close()


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    root = Path(args.corpus)
    if not root.is_dir():
        print(f"sopkg: error: {root} is not a folder", file=sys.stderr)
        return EXIT_USAGE
    _ensure_local_server(settings)
    conn = resolve_connection(settings)
    embedder = make_embedder(settings)
    with _write_lock(settings, conn, "sopkg ingest"), conn.driver() as driver, _bars(args) as bars:
        summary = ingest_corpus(
            root, driver, conn.database, embedder,
            corpus_name=args.name, batch=settings.embed_batch, progress=bars,
            second=make_second_embedder(settings),
        )  # fmt: skip
    # As lint prints them: file:line: rule: message (warnings first, then the errors).
    for line in [*summary.warning_lines, *summary.errors]:
        print(line, file=sys.stderr)
    print(json.dumps(summary.as_json(), ensure_ascii=False, indent=2))
    return EXIT_FINDINGS if summary.errors else EXIT_OK


def _corpora(args: argparse.Namespace, settings: Settings) -> int:
    """The corpora in the graph, or (--remove) one of them taken out."""
    from kg.reader import GraphReader

    _ensure_local_server(settings)
    conn = resolve_connection(settings)
    if args.remove:
        with _write_lock(settings, conn, "sopkg corpora --remove"), conn.driver() as driver:
            summary = remove_corpus(args.remove, driver, conn.database)
        print(json.dumps(summary.as_json(), ensure_ascii=False, indent=2))
        return EXIT_OK
    with conn.driver() as driver:
        rows = GraphReader(driver, conn.database).corpora()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"{len(rows)} corpus(es)")
    for r in rows:
        state = (
            f"removed {r['removed_at'][:10]}"
            if r["removed_at"]
            else f"ingested {str(r['ingested_at'])[:10]}"
        )
        print(
            f"{r['name']}: {r['documents']} document(s), {r['retired']} retired, "
            f"{r['topics']} topic(s), {r['terms']} glossary group(s); {state}; {r['root']}"
        )
    return EXIT_OK


def _reembed(args: argparse.Namespace, settings: Settings) -> int:
    _ensure_local_server(settings)
    conn = resolve_connection(settings)
    embedder = make_embedder(settings)
    with _write_lock(settings, conn, "sopkg reembed"), conn.driver() as driver, _bars(args) as bars:
        n = reembed_graph(driver, conn.database, embedder, settings.embed_batch, progress=bars)
    print(json.dumps({"embedder": embedder.name, "dim": embedder.dim, "passages": n}))
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from search_api.fusion import served_fusion
    from sopkg.comparison import comparison_table
    from sopkg.evaluation import EvalSet, fusion_config, load_queries, run_eval, summary_table
    from sopkg.outputs import writable_file, writable_folder

    pairs = [tuple(x) for x in args.set or []]
    if args.corpus or args.queries:
        if not (args.corpus and args.queries):
            raise InvalidInput("--corpus/--queries", "give both, or use --set CORPUS QUERIES")
        pairs.insert(0, (args.corpus, args.queries))
    if not pairs:
        raise InvalidInput("--set", "give at least one judged set (--set CORPUS QUERIES)")
    sets = []
    for corpus, queries in pairs:
        if not Path(corpus).is_dir():
            raise InvalidInput("corpus", f"{corpus} is not a folder")
        if not Path(queries).is_file():
            raise InvalidInput("queries", f"{queries} is not a file")
        load_queries(Path(queries))  # a malformed file is refused before any graph is built
        sets.append(EvalSet(Path(corpus), Path(queries)))
    fusion = fusion_config(
        Path(args.fusion) if args.fusion else None, args.param or [], served_fusion(settings)
    )
    against = _load_report(args.against) if args.against else None
    runs = writable_folder("--runs", args.runs) if args.runs else None
    if args.out:
        writable_file("--out", args.out)
    with _bars(args) as bars:
        report = run_eval(
            settings, make_embedder(settings), sets, modes=args.mode,
            with_per_query=args.per_query, fresh=args.fresh, fusion=fusion, progress=bars,
            against=against, runs=runs,
        )  # fmt: skip
    text = json.dumps(report, ensure_ascii=False, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    if args.format == "table" and not args.json:
        tables = [summary_table(report)]
        if "against" in report:
            tables += [f"Against {args.against}:", comparison_table(report["against"])]
            if changes := report["against"]["environment_changes"]:
                tables.append(
                    "Measured differently, so not every difference is the change's: "
                    + "; ".join(changes)
                )
        text = "\n\n".join(tables)
    print(text)
    return 0


def _load_report(path: str) -> dict[str, Any]:
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput("--against", f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidInput("--against", f"{path}: not a JSON report ({e})") from None
    if not isinstance(report, dict):
        raise InvalidInput("--against", f"{path}: not a `sopkg eval` report")
    return report


def _up(args: argparse.Namespace, settings: Settings) -> int:
    """The README's main job: Neo4j, the sample corpus, then the API."""
    from search_api.serve import check_listen, serve_settings

    args.corpus = str(args.corpus or SAMPLE_CORPUS)
    args.name = None
    if not Path(args.corpus).is_dir():  # before Neo4j starts: nothing is done
        raise InvalidInput("corpus", f"{args.corpus} is not a folder")
    check_listen(serve_settings(settings, open_mode_hint=True))
    _ensure_local_server(settings)
    code = _ingest(args, settings)
    if code == 2:  # not a folder
        return code
    # Files with errors were reported above and skipped; the rest is served.
    from search_api.serve import serve  # imported late: the web stack is not needed above

    return serve(
        settings, open_mode_hint=True, ingest_runner=_ingest_runner(settings),
        corpus_remover=_corpus_remover(settings), worker_factory=WORKER_APP,
    )  # fmt: skip


# --- API and search --------------------------------------------------------------------
def _ingest_runner(settings: Settings) -> Callable[[Path], dict[str, Any]]:
    """What POST /v1/ingest runs (the API does not import `ingest` itself)."""

    def run(root: Path) -> dict[str, Any]:
        embedder = make_embedder(settings)  # the model itself is loaded once per process
        second = make_second_embedder(settings)
        return _api_write(settings, "an API ingest", lambda driver, database: ingest_corpus(
            root, driver, database, embedder, batch=settings.embed_batch, second=second
        ))  # fmt: skip

    return run


def _corpus_remover(settings: Settings) -> Callable[[str], dict[str, Any]]:
    """What DELETE /v1/corpora/{name} runs."""

    def run(name: str) -> dict[str, Any]:
        return _api_write(settings, "an API corpus removal", partial(remove_corpus, name))

    return run


def _api_write(
    settings: Settings, what: str, write: Callable[[Driver, str], IngestSummary]
) -> dict[str, Any]:
    """One write the API asked for, under the graph's write lock (409 while another
    writer holds it); an unreachable Neo4j is a 503, not a 500."""
    from neo4j.exceptions import DriverError

    conn = resolve_connection(settings)
    try:
        with _write_lock(settings, conn, what), conn.driver() as driver:
            summary = write(driver, conn.database)
    except DriverError as e:
        raise GraphUnavailable(f"Neo4j is not reachable: {e}") from e
    return summary.as_json()


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    # imported late: the web stack is not needed by the other commands
    from search_api.serve import serve, serve_settings

    update: dict[str, Any] = {}
    if args.open:
        update["open_mode"] = True
    if args.host:
        update["host"] = args.host
    if args.port is not None:
        update["port"] = args.port
    if args.workers is not None:
        update["workers"] = args.workers
    served = serve_settings(settings.model_copy(update=update))  # refuses unprotected setups
    _ensure_local_server(served)
    return serve(
        served, ingest_runner=_ingest_runner(served), corpus_remover=_corpus_remover(served),
        worker_factory=WORKER_APP,
    )  # fmt: skip


WORKER_APP = "sopkg.cli:worker_app"


def _choose_allocator(settings: Settings) -> None:
    """Long-running commands start again under jemalloc when installed (kg.allocator)."""
    chosen = allocator.plan(
        settings.allocator, os.environ, allocator.find_jemalloc(), allocator.loaded_libraries()
    )
    if chosen.env is not None:
        allocator.reexec_with(chosen.env, sys.argv[1:])
    print(f"  {chosen.note}", file=sys.stderr)


def _date(text: str) -> dt.date:
    try:
        return parse_day(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _given(text: str) -> str:
    """A name or path that must say something: an empty one would silently mean "all" or
    "here"."""
    if not text.strip() or any(ch < " " for ch in text):
        raise argparse.ArgumentTypeError(
            f"must be a non-empty name without control characters, got {text!r}"
        )
    return text


def _corpus_name(text: str) -> str:
    """A corpus name: as a folder's name could be (it is one by default), at most 255
    characters; Neo4j refuses to index much longer values, after the documents are read."""
    if len(_given(text)) > 255:
        raise argparse.ArgumentTypeError(f"must be at most 255 characters, got {len(text)}")
    return text


def _whole_number(what: str, low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`, named `what` in the error."""

    def parse(text: str) -> int:
        n = int(text) if text.strip().isdigit() else low - 1
        if not low <= n <= high:
            raise argparse.ArgumentTypeError(f"must be {what} from {low} to {high}, got {text!r}")
        return n

    return parse


_port_number = _whole_number("a port number", 1, 65535)
_worker_count = _whole_number("a whole number", 1, 64)


def worker_app() -> Any:
    """The app of one `sopkg serve --workers N` process (uvicorn calls it in each)."""
    from search_api.app import create_app
    from search_api.serve import worker_settings

    settings = worker_settings()
    return create_app(settings, _ingest_runner(settings), corpus_remover=_corpus_remover(settings))


def _print_results(response: Any) -> None:
    """A search response, readable in a terminal."""
    print(f"{len(response.results)} result(s) for {response.query!r} "
          f"(query language {response.query_lang}, mode {response.mode})")  # fmt: skip
    if response.expansion.matched:
        print(f"glossary: {', '.join(response.expansion.matched)}")
    if response.expansion.translated:
        words = [f"{t.term} -> {t.translation}" for t in response.expansion.translated[:8]]
        print(f"dictionary: {', '.join(words)}")
    for r in response.results:
        flags = [f for f in ("stale", "due_soon", "translation_outdated") if getattr(r.document, f)]
        severity = f" severity={r.severity}" if r.severity else ""
        print(f"\n{r.rank:>2}. [{r.kind}{severity}] {r.unit.key}   score {r.score:.4f} "
              f"({', '.join(r.retrievers)}){'  ' + ' '.join(flags) if flags else ''}")  # fmt: skip
        print(f"    {r.text}")
        print(f"    cite: {r.citation.ticket_line}")
        if r.translation:
            print(f"    {r.translation.lang}: {r.translation.text}")
        owner = r.document.owner or "?"
        print(f"    owner: {owner}; markets: {', '.join(r.document.markets)}; "
              f"topic: {r.document.topic}")  # fmt: skip
        for rel in r.related:
            sev = f" severity={rel.severity}" if rel.severity else ""
            print(f"    - {rel.relation} {rel.kind} {rel.item_id}{sev}: {rel.text or ''}")


def _runtime(settings: Settings, resident: bool = False) -> Any:
    """The same runtime the API serves with (driver, embedder, glossary), for one command
    (`resident`: a server's, which holds the passage vectors in memory)."""
    from search_api.deps import Runtime

    _ensure_local_server(settings)
    return Runtime(
        settings,
        make_embedder(settings),
        second=make_second_embedder(settings),
        resident=resident,
    )


def _search(args: argparse.Namespace, settings: Settings) -> int:
    from search_api import services

    request = services.search_request(
        query=args.query, market=args.market, topic=args.topic, language=args.language,
        query_lang=args.query_lang, as_of=args.as_of, include_superseded=args.superseded,
        limit=args.limit, mode=args.mode,
    )  # fmt: skip
    services.check_query(request.query, settings.max_query_chars)
    # The passage vectors held in memory as a server holds them, so that the ranking is the
    # served one (window vectors, exact scores); past the server's limit, or if they take
    # longer than a report's timeout to load, Neo4j's indexes answer, as they do there.
    runtime = _runtime(settings, resident=True)
    runtime.hold_vectors(wait_seconds=settings.report_timeout_seconds)
    try:
        response = services.search(runtime, request, None, log=False)
    finally:
        runtime.close()
    if args.json:
        print(response.model_dump_json(indent=2))
    else:
        _print_results(response)
    return 0


# --- MCP -------------------------------------------------------------------------------
def _mcp(args: argparse.Namespace, settings: Settings) -> int:
    """The MCP tools over stdio (the protocol owns stdout: messages go to stderr) or
    streamable HTTP behind the API keys."""
    import os

    import uvicorn

    from search_api.mcp_server import build_server, http_app, local_principal
    from search_api.serve import check_listen, serve_settings

    if args.http and args.key:
        raise InvalidInput("--key", "is for stdio; over --http each request brings its key")
    stray = [flag for flag, given in (("--open", args.open), ("--host", args.host),
                                      ("--port", args.port is not None)) if given]  # fmt: skip
    if stray and not args.http:
        raise InvalidInput(stray[0], "is for --http; stdio has no address")
    if args.http:
        update: dict[str, Any] = {"open_mode": settings.open_mode or args.open}
        if args.host:
            update["host"] = args.host
        if args.port is not None:
            update["port"] = args.port
        settings = serve_settings(settings.model_copy(update=update))  # refuses unprotected
        check_listen(settings)
    # A stdio key is checked before the model and the graph are loaded.
    who = (
        None
        if args.http
        else local_principal(settings, args.key or os.environ.get("SOPKG_MCP_KEY"))
    )
    runtime = _runtime(settings, resident=True)
    try:
        runtime.warm_embedder()
        runtime.hold_vectors()
        if args.http:
            app = http_app(runtime)
            print(f"sopkg MCP (streamable HTTP) at http://{settings.host}:{settings.port}/mcp",
                  file=sys.stderr, flush=True)  # fmt: skip
            uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
        else:
            build_server(runtime, who).run("stdio")
    finally:
        runtime.close()
    return EXIT_OK


def _glossary(args: argparse.Namespace, settings: Settings) -> int:
    """The glossary the knowledge owners wrote, or the term table learnt at ingest."""
    from kg.reader import GraphReader

    _ensure_local_server(settings)
    conn = resolve_connection(settings)
    with conn.driver() as driver:
        reader = GraphReader(driver, conn.database)
        rows = reader.learned_terms() if args.learned else reader.glossary()
    if args.term:
        needle = args.term.lower()
        rows = [r for r in rows if any(needle in str(x).lower() for x in _row_words(r))]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif args.learned:
        print(f"{len(rows)} learned translation(s) (ja -> en, Dice score, aligned pairs)")
        for r in rows:
            print(f"{r['ja']}\t{r['en']}\t{r['score']:.3f}\t{r['pairs']}")
    else:
        print(f"{len(rows)} glossary term group(s)")
        for r in rows:
            print(f"{r['key']}: ja {' / '.join(r['ja'] or [])} | en {' / '.join(r['en'] or [])}")
    return EXIT_OK


def _row_words(row: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for k in ("ja", "en", "key"):
        v = row.get(k)
        out += [str(x) for x in v] if isinstance(v, list) else [str(v or "")]
    return out


# --- governance ------------------------------------------------------------------------
def _check_out(out: str | None) -> None:
    """Refuse an `--out` that cannot be written before the report is built."""
    if out is not None:
        from sopkg.outputs import writable_file

        writable_file("--out", out)


def _write_out(text: str, out: str | None) -> None:
    if out:
        Path(out).write_text(text, encoding="utf-8")
        print(f"written to {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def _coverage(args: argparse.Namespace, settings: Settings) -> int:
    """The report or an owner's dashboard: as JSON the API's own responses
    (GET /v1/coverage, GET /v1/owners/{owner}/dashboard), else rendered."""
    from search_api import services
    from search_api.coverage.render import dashboard_markdown, report_html, report_markdown

    if args.owner and args.format == "html":
        raise InvalidInput("--format", "an owner dashboard is Markdown or JSON")
    _check_out(args.out)
    if args.today:
        settings = settings.model_copy(update={"today": args.today})
    runtime = _runtime(settings)
    try:
        if args.format == "json":
            response = (services.dashboard(runtime, args.owner) if args.owner
                        else services.coverage(runtime))  # fmt: skip
            text = response.model_dump_json(indent=2) + "\n"
        elif args.owner:
            text = dashboard_markdown(services.owner_board(runtime, args.owner))
        elif args.format == "html":
            text = report_html(services.coverage_report(runtime))
        else:
            text = report_markdown(services.coverage_report(runtime))
    finally:
        runtime.close()
    _write_out(text, args.out)
    return 0


def _changes(args: argparse.Namespace, settings: Settings) -> int:
    from search_api import services
    from search_api.coverage.render import changes_markdown

    _check_out(args.out)
    runtime = _runtime(settings)
    try:
        if args.format == "json":
            response = services.changes(runtime, args.since, args.until, args.doc, args.owner)
            text = response.model_dump_json(indent=2) + "\n"
        else:
            feed = services.change_records(runtime, args.since, args.until, args.doc, args.owner)
            text = changes_markdown(feed, args.since.isoformat())
    finally:
        runtime.close()
    _write_out(text, args.out)
    return 0


# --- parser ----------------------------------------------------------------------------
EXIT_CODES_HELP = """exit codes:
  0  done (lint, ingest: no errors in the input)
  1  lint or ingest found errors in the input (printed as file:line: rule: message)
  2  usage: a bad option or input value; nothing was done
  3  Neo4j could not be reached (or `neo4j status`: not running)"""


def _json_flag(parser: argparse.ArgumentParser, text: str = "print JSON") -> None:
    parser.add_argument("--json", action="store_true", help=text)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sopkg",
        description="Knowledge graph and bilingual search over content-moderation SOPs.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)

    neo = sub.add_parser(
        "neo4j",
        help="run the local Neo4j server",
        description="Run a local Neo4j 5.26 Community server (jars from Maven Central).",
        epilog='example: sopkg neo4j start && eval "$(sopkg neo4j shell-env)"',
    )
    neo_sub = neo.add_subparsers(dest="action", required=True)
    for name, fn, text in [
        ("start", _neo4j_start, "start it (fetching jars once) and wait until Bolt answers"),
        ("stop", _neo4j_stop, "stop it cleanly"),
        ("status", _neo4j_status, "tell whether it runs (exit 3 when stopped)"),
        ("shell-env", _neo4j_shell_env, "print export lines for NEO4J_URI/USER/PASSWORD"),
    ]:
        sp = neo_sub.add_parser(name, help=text, description=text)
        sp.add_argument("--instance", default="main", help="named local instance (default main)")
        if name != "shell-env":
            _json_flag(sp)
        sp.set_defaults(handler=fn)

    bk = sub.add_parser(
        "backup", help="write the local graph to a file (Neo4j's offline dump)",
        description="Dump the local instance's graph (nodes, relationships, properties, "
        "indexes, query log) into one file with neo4j-admin. Neo4j is stopped for the "
        "dump and started again if it was running.",
        epilog="example: sopkg backup sopkg-$(date +%%F).dump",
    )  # fmt: skip
    bk.add_argument("file", help="the backup file to write")
    bk.add_argument("--force", action="store_true", help="replace FILE if it exists")
    bk.add_argument("--instance", default="main", help="named local instance (default main)")
    bk.set_defaults(handler=_backup)

    rs = sub.add_parser(
        "restore", help="replace the local graph by a backup file",
        description="Load a file written by `sopkg backup` (or `neo4j-admin database dump`) "
        "over the local instance's graph. The graph it replaces is dumped first into "
        ".sopkg/backups/ and put back if the load fails.",
        epilog="example: sopkg restore sopkg-2026-11-29.dump",
    )  # fmt: skip
    rs.add_argument("file", help="the backup file to load")
    rs.add_argument("--instance", default="main", help="named local instance (default main)")
    rs.set_defaults(handler=_restore)

    lint = sub.add_parser(
        "lint", help="validate a corpus without writing (file:line: rule: message)",
        epilog="example: sopkg lint sample_corpus",
    )  # fmt: skip
    lint.add_argument("corpus", type=_given, help="corpus folder (searched recursively for *.md)")
    _json_flag(lint, "errors and warnings as JSON (path, line, rule, message)")
    lint.set_defaults(handler=_lint)

    ing = sub.add_parser(
        "ingest", help="ingest a corpus into the graph (incremental)",
        epilog="example: sopkg ingest sample_corpus",
    )  # fmt: skip
    ing.add_argument("corpus", type=_given, help="corpus folder")
    ing.add_argument(
        "--name", type=_corpus_name, help="corpus name in the graph (default: folder name)"
    )
    _json_flag(ing, "only the JSON summary: no progress bar (the default off a terminal)")
    ing.set_defaults(handler=_ingest)

    ree = sub.add_parser(
        "reembed", help="re-embed every current passage with the configured embedder",
        epilog="example: SOPKG_EMBEDDER=sentence-transformers sopkg reembed",
    )  # fmt: skip
    _json_flag(ree, "only the JSON summary: no progress bar (the default off a terminal)")
    ree.set_defaults(handler=_reembed)

    ev = sub.add_parser(
        "eval", help="nDCG@10 / Recall@10 / MRR@10 of judged queries (isolated graph)",
        epilog="example: sopkg eval --set ../shared/eval/dev/corpus "
        "../shared/eval/dev/queries.jsonl --set ../shared/eval/dev-xl/corpus "
        "../shared/eval/dev-xl/queries.jsonl --mode hybrid --param k=60 --format table",
    )  # fmt: skip
    ev.add_argument(
        "--set", nargs=2, action="append", metavar=("CORPUS", "QUERIES"),
        help="a judged set: corpus folder and queries (JSON lines); repeatable, "
        "each reported alone and then macro-averaged",
    )  # fmt: skip
    ev.add_argument("--corpus", help="corpus folder (one set; same as --set)")
    ev.add_argument("--queries", help="judged queries for --corpus (JSON lines)")
    ev.add_argument(
        "--mode", action="append", choices=["hybrid", "fused", "lexical", "dense"],
        help="retriever mode(s) to evaluate (repeatable; default: all four)",
    )  # fmt: skip
    ev.add_argument("--fusion", metavar="FILE", help="JSON/YAML file of FusionConfig fields")
    ev.add_argument(
        "--param", action="append", metavar="FIELD=VALUE",
        help="override one FusionConfig field, after --fusion (k=60, weights.focus=0); "
        "repeatable",
    )  # fmt: skip
    ev.add_argument("--per-query", action="store_true",
                    help="include per-query figures and each query's ranked units")  # fmt: skip
    ev.add_argument(
        "--runs", metavar="DIR",
        help="also write each set's judgements (<set>.qrels) and rankings (<set>.<mode>.run) "
        "in the TREC formats, to score them again with other tools (trec_eval, ranx)",
    )  # fmt: skip
    ev.add_argument(
        "--against", metavar="REPORT",
        help="an earlier report made with --per-query: compare this run with it query by "
        "query (wins, losses, a paired randomisation test, the gain without its lead query)",
    )  # fmt: skip
    ev.add_argument("--format", choices=["json", "table"], default="json",
                    help="print the JSON report (default) or a Markdown summary")  # fmt: skip
    ev.add_argument("--out", help="also write the JSON report to this file")
    ev.add_argument("--fresh", action="store_true", help="wipe the eval graphs first")
    _json_flag(ev, "only the JSON report: no progress bar (the default off a terminal)")
    ev.set_defaults(handler=_eval)

    srv = sub.add_parser(
        "serve", help="serve the HTTP API (needs SOPKG_API_KEYS, or --open on this machine)",
        description="Serve the HTTP API. Every caller needs an API key from SOPKG_API_KEYS "
        "unless --open is given, which is allowed on a loopback host only.",
        epilog="example: SOPKG_API_KEYS='{\"s3cret-reader-key\": \"reader\"}' sopkg serve",
    )  # fmt: skip
    srv.add_argument("--open", action="store_true",
                     help="local open mode: no key needed, loopback host only")  # fmt: skip
    srv.add_argument("--host", help="address to bind (default SOPKG_HOST, 127.0.0.1)")
    srv.add_argument("--port", type=_port_number, help="port (default SOPKG_PORT, 8000)")
    srv.add_argument("--workers", type=_worker_count,
                     help="server processes, each with its own model and Neo4j driver "
                     "(default SOPKG_WORKERS, 1)")  # fmt: skip
    srv.set_defaults(handler=_serve)

    se = sub.add_parser(
        "search", help="search the SOPs from the terminal (same results as POST /v1/search)",
        epilog='example: sopkg search "コピー品 出品" --market JP',
    )  # fmt: skip
    se.add_argument("query", help="the question, in Japanese or English")
    se.add_argument("--market", choices=["JP", "SG", "MY", "TH", "VN", "PH", "ID", "ALL"],
                    help="only documents for this market (documents for ALL always match)")  # fmt: skip
    se.add_argument("--topic", help="only this topic path or below (e.g. ipr)")
    se.add_argument("--language", choices=["en", "ja"], help="only passages in this language")
    se.add_argument("--query-lang", choices=["en", "ja"],
                    help="the query's language (default: detected)")  # fmt: skip
    se.add_argument("--mode", default="hybrid", choices=["hybrid", "fused", "lexical", "dense"],
                    help="retrievers to use (default hybrid)")  # fmt: skip
    se.add_argument("--limit", type=int, default=10, help="results (1-50, default 10)")
    se.add_argument("--as-of", type=_date, metavar="YYYY-MM-DD",
                    help="search the SOPs in effect on this date")  # fmt: skip
    se.add_argument("--superseded", action="store_true",
                    help="include documents superseded by another")  # fmt: skip
    se.add_argument("--json", action="store_true", help="print the API's JSON response")
    se.set_defaults(handler=_search)

    gl = sub.add_parser(
        "glossary", help="list the glossary, or (--learned) the term table learnt at ingest",
        epilog="example: sopkg glossary --learned --term 出品",
    )  # fmt: skip
    gl.add_argument("--learned", action="store_true",
                    help="the bilingual term table learnt from aligned passages")  # fmt: skip
    gl.add_argument("--term", help="only entries containing this text")
    _json_flag(gl, "print the rows as JSON")
    gl.set_defaults(handler=_glossary)

    co = sub.add_parser(
        "corpora", help="list the corpora in the graph, or remove one (--remove NAME)",
        description="Each corpus ingested into the graph (`sopkg ingest --name`, by default "
        "the folder's name): its folder, documents, topics and glossary groups. --remove "
        "retires every document of the corpus (kept for as-of search and the record, as when "
        "their files are gone) and drops its taxonomy and glossary; ingesting the folder "
        "again brings it back.",
        epilog="example: sopkg corpora --remove old-listings",
    )  # fmt: skip
    co.add_argument(
        "--remove", metavar="NAME", type=_given, help="take this corpus out of the graph"
    )
    _json_flag(co, "print the rows as JSON")
    co.set_defaults(handler=_corpora)

    up = sub.add_parser(
        "up", help="main job: start Neo4j, ingest the sample corpus, serve the API",
        epilog="example: sopkg up",
    )  # fmt: skip
    up.add_argument(
        "corpus", nargs="?", type=_given, help="corpus to ingest (default: the sample corpus)"
    )
    _json_flag(up, "only the JSON ingest summary: no progress bar (the default off a terminal)")
    up.set_defaults(handler=_up)
    mc = sub.add_parser(
        "mcp", help="serve the MCP tools for assistants (stdio; --http: streamable HTTP)",
        description="An MCP server with the tools search_sops, get_document, get_statement "
        "and (role owner) coverage_findings, answering what the API answers. Over stdio the "
        "client is trusted as the command line is, unless --key (or SOPKG_MCP_KEY) names an "
        "API key whose role applies; over HTTP every request needs a key from SOPKG_API_KEYS.",
        epilog="example: sopkg mcp   (in an assistant's MCP settings: command sopkg, args mcp)",
    )  # fmt: skip
    mc.add_argument("--http", action="store_true", help="streamable HTTP at /mcp instead of stdio")
    mc.add_argument("--open", action="store_true",
                    help="with --http: local open mode, no key needed, loopback only")  # fmt: skip
    mc.add_argument("--host", help="with --http: address to bind (default SOPKG_HOST)")
    mc.add_argument("--port", type=_port_number, help="with --http: port (default SOPKG_PORT)")
    mc.add_argument("--key", help="stdio: act with this API key's role (default SOPKG_MCP_KEY)")
    mc.set_defaults(handler=_mcp)
    cov = sub.add_parser(
        "coverage", help="coverage report: gaps, stale documents, contradictions, demand",
        description="Coverage and governance report over the graph (see docs/coverage.md): "
        "Markdown for people, JSON for tools, HTML with the topic-by-market matrix.",
        epilog="example: sopkg coverage --format html --out coverage.html; "
        'sopkg coverage --owner "IPR Policy JP"',
    )  # fmt: skip
    cov.add_argument("--format", choices=["markdown", "json", "html"], default="markdown",
                     type=_format, metavar="{md,markdown,json,html}",
                     help="output format (default markdown)")  # fmt: skip
    _json_flag(cov, "the same as --format json")
    cov.add_argument("--out", help="write to this file instead of standard output")
    cov.add_argument(
        "--owner", type=_given, help="one owner's dashboard instead of the whole report"
    )
    cov.add_argument("--today", type=_date, metavar="YYYY-MM-DD",
                     help="judge review dates as of this day (default SOPKG_TODAY or today)")  # fmt: skip
    cov.set_defaults(handler=_coverage)

    chg = sub.add_parser(
        "changes", help="change feed: what new versions changed, by section and statement",
        epilog="example: sopkg changes --since 2026-11-01",
    )  # fmt: skip
    chg.add_argument("--since", required=True, type=_date, metavar="YYYY-MM-DD",
                     help="versions effective from this date")  # fmt: skip
    chg.add_argument("--until", type=_date, metavar="YYYY-MM-DD",
                     help="versions effective up to this date")  # fmt: skip
    chg.add_argument("--doc", type=_given, help="one document id")
    chg.add_argument("--owner", type=_given, help="one owner's documents")
    chg.add_argument("--format", choices=["markdown", "json"], default="markdown",
                     type=_format, metavar="{md,markdown,json}",
                     help="output format (default markdown)")  # fmt: skip
    _json_flag(chg, "the same as --format json")
    chg.add_argument("--out", help="write to this file instead of standard output")
    chg.set_defaults(handler=_changes)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "json", False) and hasattr(args, "format"):
        args.format = "json"
    if getattr(args, "handler", None) is _eval and not args.mode:
        args.mode = ["lexical", "dense", "fused", "hybrid"]
    handler: Handler = args.handler
    # The driver logs each retry of an unreachable server; the command says it once. So
    # does the runtime's warning that a server answers 503, unless this is a server.
    logging.getLogger("neo4j").setLevel(logging.ERROR)
    if handler not in (_serve, _up, _mcp):
        logging.getLogger("sopkg.api").setLevel(logging.ERROR)
    try:
        settings = get_settings()
        if argv is None and handler in (_serve, _up):
            _choose_allocator(settings)
        return handler(args, settings)
    except GraphUnavailable as e:
        reason = " ".join(str(e).split())  # the driver's message spans lines
        print(f"sopkg: Neo4j is unavailable: {reason}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except SopkgError as e:
        print(f"sopkg: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:  # a path the system refuses (too long, no access) given as input
        where = f"{e.filename}: " if e.filename else ""
        print(f"sopkg: error: {where}{e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE
    except ValidationError as e:  # a setting from the environment or .env (kg.settings)
        bad = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
        print(f"sopkg: error: invalid setting (environment or .env): {bad}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
