"""Named, parameterised Cypher for governance: coverage facts, version history for the change
feed, and the bounded search query log. Values always travel as parameters."""

from __future__ import annotations

# Every active document with its owner, the active documents that supersede it, and all of
# its versions (the current ones and the older ones kept for history).
DOCUMENTS = """
MATCH (d:Document {status: 'active'})
OPTIONAL MATCH (d)-[:OWNED_BY]->(o:Owner)
OPTIONAL MATCH (newer:Document {status: 'active'})-[:SUPERSEDES]->(d)
WITH d, o, collect(DISTINCT newer.id) AS superseded_by
OPTIONAL MATCH (d)-[:HAS_VERSION]->(v:DocumentVersion)
WITH d, o, superseded_by, v ORDER BY v.lang, v.effective
RETURN d.id AS id, d.topic AS topic, d.markets AS markets, d.source_lang AS source_lang,
       o.name AS owner, superseded_by,
       [x IN collect(v {.key, .lang, .version, .title, .effective, .review_by, .current,
                        .translation_of_lang, .translation_of_version, .content_hash})
        WHERE x.key IS NOT NULL] AS versions
ORDER BY id
"""

# Current statements of active documents, each with its passages in the current versions.
STATEMENTS = """
MATCH (d:Document {status: 'active'})-[:HAS_STATEMENT]->(st:Statement {current: true})
OPTIONAL MATCH (st)<-[:STATES]-(p:Passage {current: true})
WITH d, st, p ORDER BY p.lang
RETURN d.id AS doc_id, st.key AS key, st.item_id AS item_id, st.kind AS kind,
       st.severity AS severity, coalesce(st.applies_to, []) AS applies_to,
       [x IN collect(p {.lang, .text, .align_key, .line_start, .applies_to,
                        embedding: CASE WHEN $embeddings THEN p.embedding ELSE null END})
        WHERE x.lang IS NOT NULL] AS passages
ORDER BY doc_id, key
"""

# Links from current passages of active documents to an id that does not exist, or to a
# document that has been retired.
DANGLING_LINKS = """
MATCH (d:Document {status: 'active'})-[:HAS_VERSION]->(v:DocumentVersion {current: true})
      -[:HAS_SECTION]->(s:Section)-[:HAS_PASSAGE]->(p:Passage)-[r:REFERENCES]->(x)
WHERE x:DanglingReference OR (x:Document AND x.status <> 'active')
RETURN d.id AS doc_id, v.lang AS lang, s.align_key AS section, p.item_id AS item_id,
       coalesce(x.target, x.id) AS target, r.section AS target_section,
       x:Document AS retired_target
ORDER BY doc_id, lang, section
"""

TOPICS = """
MATCH (t:Topic) WHERE coalesce(t.in_taxonomy, true)
RETURN t.path AS path, t.en AS en, t.ja AS ja, t.parent AS parent, coalesce(t.leaf, false) AS leaf
ORDER BY path
"""

# Every passage of the given versions (current or not: old versions keep their text).
VERSION_PASSAGES = """
UNWIND $keys AS key
MATCH (v:DocumentVersion {key: key})-[:HAS_SECTION]->(s:Section)-[:HAS_PASSAGE]->(p:Passage)
RETURN key AS version_key, s.align_key AS section, s.heading AS heading, s.kind AS section_kind,
       s.order AS section_order, p.key AS key, p.item_id AS item_id,
       p.statement_key AS statement_key, p.statement_kind AS statement_kind, p.order AS ord,
       p.text AS text, p.applies_to AS applies_to, p.attributes AS attributes
ORDER BY version_key, section_order, ord
"""

# Versions of active documents that took effect in [since, until], with the version each
# replaced (PREVIOUS_VERSION, same language).
VERSIONS_SINCE = """
MATCH (d:Document {status: 'active'})-[:HAS_VERSION]->(v:DocumentVersion)
WHERE v.effective >= $since AND ($until IS NULL OR v.effective <= $until)
OPTIONAL MATCH (v)-[:PREVIOUS_VERSION]->(prev:DocumentVersion)
OPTIONAL MATCH (d)-[:OWNED_BY]->(o:Owner)
RETURN d.id AS doc_id, d.topic AS topic, d.markets AS markets, o.name AS owner,
       v.key AS key, v.lang AS lang, v.version AS version, v.title AS title,
       v.effective AS effective, v.current AS current,
       prev.key AS previous_key, prev.version AS previous_version,
       prev.effective AS previous_effective
ORDER BY effective DESC, doc_id, lang
"""

# --- acknowledgements of findings -----------------------------------------------------------
# One per finding id: acknowledging again replaces the reason, the expiry and the basis.
ACKNOWLEDGE = """
MERGE (a:Acknowledgement {finding_id: $ack.finding_id})
SET a += $ack, a.at = datetime()
RETURN a {.*} AS ack
"""

ACKNOWLEDGEMENTS = """
MATCH (a:Acknowledgement)
RETURN a {.*} AS ack
ORDER BY a.finding_id
"""

# What a coverage report depends on, read cheaply: a report built for other values is
# not shown (search_api.shared_build). The count store answers the QueryLog count.
REPORT_INPUTS = """
OPTIONAL MATCH (m:GraphMeta {name: 'graph'})
WITH m.corpus_stamp AS corpus
OPTIONAL MATCH (a:Acknowledgement)
WITH corpus, count(a) AS acks, toString(max(a.at)) AS acked
RETURN corpus, acks, acked, COUNT { (:QueryLog) } AS logged
"""

# --- the search query log ---------------------------------------------------------------
# Entries come in batches: one writer thread drains what searches queued meanwhile.
LOG_QUERIES = "UNWIND $entries AS entry CREATE (q:QueryLog) SET q = entry"

COUNT_QUERY_LOG = "MATCH (q:QueryLog) RETURN count(q) AS n"

# Drop the $excess oldest entries (the count store answers COUNT_QUERY_LOG in O(1), so this
# runs only when the log is over its bound). Ascending with LIMIT, the `query_log_at` index
# hands over the oldest few in order: a full log sorted all of its entries on every search
# when this was "newest first, SKIP $keep" (20,000 db hits a search at 10,000 entries).
TRIM_QUERY_LOG = """
MATCH (q:QueryLog) WHERE q.at IS NOT NULL
WITH q ORDER BY q.at, q.id LIMIT $excess
DETACH DELETE q
"""

QUERY_FEEDBACK = """
MATCH (q:QueryLog {id: $id})
SET q.answered = $answered, q.feedback_at = datetime()
RETURN q.id AS id
"""

# Logged searches since $since whose results showed one of the given statements (a result
# id is the statement key, the same for both languages).
RECENT_SEARCHES = """
MATCH (q:QueryLog) WHERE q.at >= $since
UNWIND q.result_ids AS key
WITH key, q WHERE key IN $keys
RETURN key, count(q) AS n, collect(q.query) AS queries
"""

QUERY_LOG = """
MATCH (q:QueryLog) WHERE q.at IS NOT NULL
WITH q ORDER BY q.at DESC LIMIT $limit
// One row (a record per entry cost more in the driver than the read), `at` as ISO text
// (hydrating thousands of driver DateTimes cost more than the rest of the read).
RETURN collect(q {.*, at: toString(q.at)}) AS entries
"""
