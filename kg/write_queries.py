"""Named, parameterised Cypher for writing the graph. Values always travel as parameters."""

from __future__ import annotations

# Each corpus's own taxonomy and glossary are kept as its relationships (LISTS, DEFINES),
# and the shared Topic and Term nodes that search and browsing read are derived from all of
# them, in corpus-name order: several corpora in one graph then see the same result
# whichever was ingested last, and ingesting them in turn writes nothing.
SYNC_TAXONOMY = """
MATCH (c:Corpus {name: $corpus})
UNWIND $topics AS t
MERGE (n:Topic {path: t.path})
SET n.id = t.id, n.parent = t.parent
MERGE (c)-[l:LISTS]->(n)
SET l.en = t.en, l.ja = t.ja
WITH collect(n) AS nodes
UNWIND nodes AS n
OPTIONAL MATCH (n)-[old:CHILD_OF]->()
DELETE old
WITH DISTINCT n WHERE n.parent IS NOT NULL
MATCH (p:Topic {path: n.parent})
MERGE (n)-[:CHILD_OF]->(p)
"""

DROP_OLD_LISTINGS = """
MATCH (:Corpus {name: $corpus})-[l:LISTS]->(n:Topic) WHERE NOT n.path IN $paths DELETE l
"""

# A topic is in the taxonomy while some corpus lists it, a leaf when no listed topic is
# its child, and labelled as the first corpus by name that lists it labels it.
RESOLVE_TOPICS = """
MATCH (n:Topic)
OPTIONAL MATCH (c:Corpus)-[l:LISTS]->(n)
WITH n, l ORDER BY c.name
WITH n, collect(l) AS ls
WITH n, ls[0] AS first,
     NOT EXISTS { MATCH (:Corpus)-[:LISTS]->(:Topic)-[:CHILD_OF]->(n) } AS leaf
SET n.in_taxonomy = first IS NOT NULL, n.leaf = leaf,
    n.en = coalesce(first.en, n.en), n.ja = coalesce(first.ja, n.ja)
"""

# The corpus's topics whose label in the graph is another corpus's, and whose it is.
TOPIC_LABEL_CONFLICTS = """
MATCH (:Corpus {name: $corpus})-[mine:LISTS]->(n:Topic)
WHERE mine.en <> n.en OR mine.ja <> n.ja
MATCH (c:Corpus)-[theirs:LISTS]->(n) WHERE theirs.en = n.en AND theirs.ja = n.ja
RETURN n.path AS path, mine.en AS own_en, mine.ja AS own_ja, n.en AS en, n.ja AS ja,
       min(c.name) AS corpus
ORDER BY path
"""

SYNC_MARKETS = "UNWIND $codes AS c MERGE (:Market {code: c})"

SYNC_GLOSSARY = """
MATCH (c:Corpus {name: $corpus})
UNWIND $terms AS t
MERGE (n:Term {key: t.key})
MERGE (c)-[d:DEFINES]->(n)
SET d.en = t.en, d.ja = t.ja
"""

DROP_OLD_DEFINITIONS = """
MATCH (:Corpus {name: $corpus})-[d:DEFINES]->(n:Term) WHERE NOT n.key IN $keys DELETE d
"""

DROP_UNDEFINED_TERMS = """
MATCH (n:Term) WHERE NOT EXISTS { MATCH (:Corpus)-[:DEFINES]->(n) } DETACH DELETE n
"""

# A term several corpora define carries all their words, the first corpus's by name first.
RESOLVE_TERMS = """
MATCH (c:Corpus)-[d:DEFINES]->(n:Term)
WITH n, d ORDER BY c.name
WITH n, collect(d) AS ds
SET n.en = reduce(en = [], d IN ds | en + [w IN d.en WHERE NOT w IN en]),
    n.ja = reduce(ja = [], d IN ds | ja + [w IN d.ja WHERE NOT w IN ja])
REMOVE n.corpus
"""

# Graphs written before LISTS and DEFINES: each corpus's topics were a list on its node
# (Corpus.topic_paths) and each term named the corpus that wrote it last (Term.corpus).
ADOPT_LEGACY_VOCABULARY = """
CALL () {
  MATCH (n:Term) WHERE n.corpus IS NOT NULL AND NOT EXISTS { MATCH (:Corpus)-[:DEFINES]->(n) }
  MERGE (c:Corpus {name: n.corpus})
  MERGE (c)-[d:DEFINES]->(n) ON CREATE SET d.en = n.en, d.ja = n.ja
}
CALL () {
  MATCH (c:Corpus) WHERE c.topic_paths IS NOT NULL
  UNWIND c.topic_paths AS path
  MATCH (n:Topic {path: path})
  MERGE (c)-[l:LISTS]->(n) ON CREATE SET l.en = n.en, l.ja = n.ja
}
MATCH (c:Corpus) WHERE c.topic_paths IS NOT NULL
REMOVE c.topic_paths
"""

# What GraphWriter.sync_vocabulary writes, read before and after it: the same rows mean
# the run changed no topic, term or market (and need not move the corpus stamp).
VOCABULARY_STATE = """
CALL () {
  MATCH (t:Topic)
  OPTIONAL MATCH (t)-[:CHILD_OF]->(up:Topic)
  RETURN collect([t.path, t.id, t.en, t.ja, t.parent, t.leaf, t.in_taxonomy, up.path]) AS topics
}
CALL () { MATCH (n:Term) RETURN collect([n.key, n.en, n.ja]) AS terms }
CALL () { MATCH (m:Market) RETURN collect(m.code) AS markets }
OPTIONAL MATCH (c:Corpus {name: $corpus})
RETURN topics, terms, markets, c.root AS root
"""

UPSERT_CORPUS = """
MERGE (c:Corpus {name: $name})
SET c.root = $root, c.ingested_at = datetime()
REMOVE c.removed_at
"""

# The corpus's taxonomy and glossary leave the graph (its documents are retired apart);
# the node stays, for the retired documents' IN_CORPUS and the record.
FORGET_CORPUS = """
MATCH (c:Corpus {name: $corpus})
OPTIONAL MATCH (c)-[r:LISTS|DEFINES]->()
DELETE r
WITH DISTINCT c
SET c.removed_at = coalesce(c.removed_at, datetime())
"""

EXISTING_VERSIONS = """
MATCH (d:Document {id: $doc_id})-[:HAS_VERSION]->(v:DocumentVersion)
RETURN v.key AS key, v.lang AS lang, v.content_hash AS hash, v.current AS current,
       v.source_path AS source_path, d.status AS status, v.derivation AS derivation
"""

# The corpora an active document belongs to (one, unless an older ingest linked two).
ACTIVE_DOCUMENT_CORPORA = """
MATCH (:Document {id: $doc_id, status: 'active'})-[:IN_CORPUS]->(c:Corpus)
RETURN c.name AS name ORDER BY name
"""

# The vectors a document's passages already have, by the text they embed: a version that is
# written again (re-derived, or a new version with few edits) embeds only what is new.
STORED_VECTORS = """
MATCH (:Document {id: $doc_id})-[:HAS_VERSION]->(:DocumentVersion)-[:HAS_SECTION]->(:Section)
      -[:HAS_PASSAGE]->(p:Passage)
WHERE p.embedding IS NOT NULL AND p.embed_text IS NOT NULL
RETURN DISTINCT p.embed_text AS text, p.embedding AS embedding, p.embedding2 AS embedding2
"""

UPSERT_DOCUMENT = """
MERGE (c:Corpus {name: $doc.corpus})
MERGE (d:Document {id: $doc.id})
SET d += $doc, d.status = 'active', d.retired_at = null, d.updated_at = datetime()
MERGE (d)-[:IN_CORPUS]->(c)
WITH d, c
// A document is in one corpus: the one writing it (it may have been retired from another).
OPTIONAL MATCH (d)-[elsewhere:IN_CORPUS]->(other:Corpus) WHERE other <> c
DELETE elsewhere
WITH DISTINCT d
OPTIONAL MATCH (d)-[r:ABOUT|APPLIES_IN|OWNED_BY|CITES]->()
DELETE r
WITH DISTINCT d
OPTIONAL MATCH (t:Topic {path: $doc.topic})
FOREACH (_ IN CASE WHEN t IS NULL THEN [] ELSE [1] END | MERGE (d)-[:ABOUT]->(t))
WITH d
UNWIND $doc.markets AS code
MERGE (m:Market {code: code})
MERGE (d)-[:APPLIES_IN]->(m)
WITH DISTINCT d
MERGE (o:Owner {name: $doc.owner})
MERGE (d)-[:OWNED_BY]->(o)
WITH d
UNWIND $doc.regulations AS reg
MERGE (r:Regulation {name: reg})
MERGE (d)-[:CITES]->(r)
"""

# A version re-ingested under the same version string with new content is replaced.
DELETE_VERSION_CONTENT = """
MATCH (v:DocumentVersion {key: $key})-[:HAS_SECTION]->(s:Section)
OPTIONAL MATCH (s)-[:HAS_PASSAGE]->(p:Passage)
DETACH DELETE p, s
"""

# A new version of a language closes the validity of the one it replaces; both stay
# searchable so that an as-of date can pick the one in effect.
UPSERT_VERSION = """
MATCH (d:Document {id: $v.doc_id})
MERGE (v:DocumentVersion {key: $v.key})
SET v += $v, v.ingested_at = datetime(), v.valid_until = null
MERGE (d)-[:HAS_VERSION]->(v)
WITH d, v
OPTIONAL MATCH (d)-[:HAS_VERSION]->(prev:DocumentVersion {lang: $v.lang, current: true})
WHERE prev.key <> v.key
FOREACH (_ IN CASE WHEN prev IS NULL THEN [] ELSE [1] END |
  MERGE (v)-[:PREVIOUS_VERSION]->(prev)
  SET prev.valid_until = $v.effective)
WITH prev WHERE prev IS NOT NULL
MATCH (prev)-[:HAS_SECTION]->(:Section)-[:HAS_PASSAGE]->(p:Passage)
SET p.valid_until = $v.effective
"""

CREATE_SECTIONS = """
MATCH (v:DocumentVersion {key: $version_key})
UNWIND $sections AS s
CREATE (n:Section)
SET n = s
CREATE (v)-[:HAS_SECTION]->(n)
"""

# {lang_label} is the ontology's per-language passage label (see ontology.schema).
CREATE_PASSAGES = """
UNWIND $passages AS p
MATCH (s:Section {key: p.section_key})
CREATE (n:Passage:{lang_label})
SET n = p, n.current = true, n.retired = false, n.effective = $effective, n.valid_until = null
CREATE (s)-[:HAS_PASSAGE]->(n)
"""

# Which versions are live. A version whose file is broken in this run keeps its state. A
# superseded version stays searchable (for as-of dates); a language version whose file is
# gone, with no newer version of that language, is retired and leaves the indexes.
# Every passage of the document, old or new, gets this write's stamp ($written): a read
# that sees passages of one document with two stamps straddled a write (kg.reader.cards).
SET_CURRENT_VERSIONS = """
MATCH (d:Document {id: $doc_id})-[:HAS_VERSION]->(v:DocumentVersion)
WITH v, (v.key IN $current_keys OR (v.current AND v.source_path IN $protected_paths)) AS live
SET v.current = live
WITH collect(v) AS versions
UNWIND versions AS v
WITH v, [x IN versions WHERE x.lang = v.lang AND x.current] AS live_same_lang
WITH v, NOT v.current AND size(live_same_lang) = 0 AS retired
SET v.retired_at = CASE WHEN retired THEN coalesce(v.retired_at, datetime()) ELSE null END
WITH v, retired
MATCH (v)-[:HAS_SECTION]->(:Section)-[:HAS_PASSAGE]->(p:Passage)
SET p.current = v.current, p.retired = retired, p.written = $written
WITH p, retired WHERE retired
SET p.embedding = null, p.embedding2 = null, p.windows = null, p.search_ja = null,
    p.search_en = null
"""

UPSERT_STATEMENTS = """
MATCH (d:Document {id: $doc_id})
OPTIONAL MATCH (d)-[:HAS_STATEMENT]->(old:Statement)
SET old.current = false
WITH DISTINCT d
UNWIND $statements AS s
MERGE (st:Statement {key: s.key})
SET st.doc_id = s.doc_id, st.item_id = s.item_id, st.kind = s.kind, st.severity = s.severity,
    st.applies_to = s.applies_to, st.current = true
MERGE (d)-[:HAS_STATEMENT]->(st)
"""

# One query per kind: labels cannot be parameters, and only ontology labels go in here.
SET_STATEMENT_LABEL = "MATCH (st:Statement) WHERE st.key IN $keys SET st:{label}"

RELINK_APPLIES_TO = """
MATCH (d:Document {id: $doc_id})-[:HAS_STATEMENT]->(st:Statement)
OPTIONAL MATCH (st)-[r:APPLIES_TO]->()
DELETE r
WITH DISTINCT d
UNWIND $statements AS s
UNWIND s.applies_to AS target
MATCH (a:Statement {key: s.key}), (b:Statement {key: target})
MERGE (a)-[:APPLIES_TO]->(b)
"""

LINK_STATES = """
UNWIND $pairs AS pr
MATCH (p:Passage {key: pr[0]}), (st:Statement {key: pr[1]})
MERGE (p)-[:STATES]->(st)
"""

DROP_TRANSLATIONS = """
MATCH (d:Document {id: $doc_id})-[:HAS_VERSION]->(v:DocumentVersion)
OPTIONAL MATCH (v)-[r1:TRANSLATION_OF]-()
DELETE r1
WITH DISTINCT v
MATCH (v)-[:HAS_SECTION]->(s:Section)
OPTIONAL MATCH (s)-[r2:TRANSLATION_OF]-()
DELETE r2
WITH DISTINCT s
MATCH (s)-[:HAS_PASSAGE]->(p:Passage)
OPTIONAL MATCH (p)-[r3:TRANSLATION_OF]-()
DELETE r3
"""

# One query per node kind ({label}: DocumentVersion, Section or Passage from the ontology).
LINK_TRANSLATIONS = """
UNWIND $pairs AS pr
MATCH (a:{label} {key: pr[0]}), (b:{label} {key: pr[1]})
MERGE (a)-[:TRANSLATION_OF]->(b)
"""

# --- bulk writing of new documents (synthetic benchmark graphs, first loads) ------------
# The same graph as write_document gives for documents the graph does not hold yet, many
# documents per transaction: one query per kind of node over all of them.
BULK_DOCUMENTS = """
UNWIND $docs AS doc
MERGE (d:Document {id: doc.id})
SET d += doc, d.status = 'active', d.retired_at = null, d.updated_at = datetime()
"""

# The new documents' links to the nodes every document shares (its corpus, topic, markets,
# owner, regulations). Creating a relationship locks both ends until commit, so these are
# what concurrent bulk transactions would queue on; a caller may run them apart.
BULK_DOCUMENT_LINKS = """
UNWIND $docs AS doc
MATCH (d:Document {id: doc.id})
MERGE (c:Corpus {name: doc.corpus})
MERGE (d)-[:IN_CORPUS]->(c)
WITH d, doc
CALL (d, doc) {
  MATCH (t:Topic {path: doc.topic})
  MERGE (d)-[:ABOUT]->(t)
}
CALL (d, doc) {
  UNWIND doc.markets AS code
  MERGE (m:Market {code: code})
  MERGE (d)-[:APPLIES_IN]->(m)
}
CALL (d, doc) {
  MERGE (o:Owner {name: doc.owner})
  MERGE (d)-[:OWNED_BY]->(o)
}
CALL (d, doc) {
  UNWIND doc.regulations AS reg
  MERGE (r:Regulation {name: reg})
  MERGE (d)-[:CITES]->(r)
}
"""

BULK_VERSIONS = """
UNWIND $versions AS v
MATCH (d:Document {id: v.doc_id})
CREATE (n:DocumentVersion)
SET n = v, n.ingested_at = datetime(), n.valid_until = null, n.current = true
CREATE (d)-[:HAS_VERSION]->(n)
"""

BULK_SECTIONS = """
UNWIND $sections AS s
MATCH (v:DocumentVersion {key: s.version_key})
CREATE (n:Section)
SET n = s
CREATE (v)-[:HAS_SECTION]->(n)
"""

# {lang_label} as in CREATE_PASSAGES; each row carries its version's effective date.
BULK_PASSAGES = """
UNWIND $rows AS row
MATCH (s:Section {key: row.p.section_key})
CREATE (n:Passage:{lang_label})
SET n = row.p, n.current = true, n.retired = false, n.effective = row.effective,
    n.valid_until = null, n.written = $written
CREATE (s)-[:HAS_PASSAGE]->(n)
"""

BULK_STATEMENTS = """
UNWIND $statements AS s
MATCH (d:Document {id: s.doc_id})
MERGE (st:Statement {key: s.key})
SET st.doc_id = s.doc_id, st.item_id = s.item_id, st.kind = s.kind, st.severity = s.severity,
    st.applies_to = s.applies_to, st.current = true
MERGE (d)-[:HAS_STATEMENT]->(st)
"""

BULK_APPLIES_TO = """
UNWIND $pairs AS pr
MATCH (a:Statement {key: pr[0]}), (b:Statement {key: pr[1]})
MERGE (a)-[:APPLIES_TO]->(b)
"""

# --- corpus-level finishing, after every document of a run ------------------------------
RETIRE_MISSING = """
MATCH (d:Document)-[:IN_CORPUS]->(:Corpus {name: $corpus})
WHERE d.status = 'active' AND NOT d.id IN $present_ids
  AND NOT EXISTS {
    MATCH (d)-[:HAS_VERSION]->(v:DocumentVersion) WHERE v.source_path IN $protected_paths
  }
SET d.status = 'retired', d.retired_at = datetime()
WITH d
OPTIONAL MATCH (d)-[:HAS_STATEMENT]->(st:Statement)
SET st.current = false
WITH DISTINCT d
MATCH (d)-[:HAS_VERSION]->(v:DocumentVersion)
SET v.current = false, v.retired_at = coalesce(v.retired_at, datetime())
WITH d, v
MATCH (v)-[:HAS_SECTION]->(:Section)-[:HAS_PASSAGE]->(p:Passage)
SET p.current = false, p.retired = true, p.embedding = null, p.embedding2 = null,
    p.windows = null, p.search_ja = null, p.search_en = null
RETURN count(DISTINCT d) AS retired
"""

# The relinks write only what differs from the graph (a link kept is not deleted and
# created again), so their counters say whether an ingest changed anything
# (GraphWriter.finish_corpus): a run that wrote nothing leaves the corpus stamp alone.
RELINK_REFERENCES = """
MATCH (p:Passage {current: true})-[:HAS_PASSAGE]-(:Section)<-[:HAS_SECTION]-(:DocumentVersion)
      <-[:HAS_VERSION]-(:Document)-[:IN_CORPUS]->(:Corpus {name: $corpus})
WITH DISTINCT p
CALL (p) {
  MATCH (p)-[r:REFERENCES]->(x)
  WITH r, x, coalesce(x.id, x.target) AS target
  WHERE NOT coalesce(any(link IN coalesce(p.link_targets, [])
                         WHERE split(link, '#')[0] = target
                           AND coalesce(split(link, '#')[1], '') = coalesce(r.section, '')),
                     false)
     OR (x:DanglingReference AND EXISTS { MATCH (:Document {id: target}) })
  DELETE r
}
UNWIND coalesce(p.link_targets, []) AS link
WITH p, split(link, '#')[0] AS target,
     CASE WHEN size(split(link, '#')) > 1 THEN split(link, '#')[1] ELSE null END AS section
OPTIONAL MATCH (d:Document {id: target})
FOREACH (_ IN CASE WHEN d IS NULL THEN [] ELSE [1] END |
  MERGE (p)-[ref:REFERENCES]->(d) ON CREATE SET ref.section = section)
FOREACH (_ IN CASE WHEN d IS NULL THEN [1] ELSE [] END |
  MERGE (x:DanglingReference {target: target})
  MERGE (p)-[ref:REFERENCES]->(x) ON CREATE SET ref.section = section)
"""

DROP_ORPHAN_DANGLING = "MATCH (x:DanglingReference) WHERE NOT (x)<-[:REFERENCES]-() DELETE x"

RELINK_SUPERSEDES = """
MATCH (d:Document)-[:IN_CORPUS]->(:Corpus {name: $corpus})
CALL (d) {
  MATCH (d)-[r:SUPERSEDES]->(old)
  WHERE NOT coalesce(d.status = 'active' AND old.id = d.supersedes, false)
  DELETE r
}
WITH d WHERE d.supersedes IS NOT NULL AND d.status = 'active'
MATCH (old:Document {id: d.supersedes})
MERGE (d)-[:SUPERSEDES]->(old)
"""

# After a re-embedding's switch: the vectors are another model's (the epoch moves).
FORGET_EMBEDDER = (
    "MATCH (m:GraphMeta {name: 'graph'}) REMOVE m.embedder, m.dim "
    "SET m.vectors_epoch = randomUUID()"
)

# An ingest marks the graph before it writes and clears the mark when it ends. A run killed
# or failed midway leaves the mark, and what it wrote has no new stamp yet: the next run
# then sets one even if it writes nothing itself (its documents are unchanged by then).
BEGIN_INGEST = """
MERGE (m:GraphMeta {name: 'graph'})
WITH m, coalesce(m.ingest_unfinished, false) AS unfinished
SET m.ingest_unfinished = true
RETURN unfinished
"""

END_INGEST = "MATCH (m:GraphMeta {name: 'graph'}) REMOVE m.ingest_unfinished"

# An ingest that changed the graph ends by setting a new stamp; running servers reload
# their corpus data on seeing it (GraphReader.corpus_stamp).
STAMP_CORPUS = """
MERGE (m:GraphMeta {name: 'graph'})
SET m.corpus_stamp = $stamp, m.corpus_stamped_at = datetime()
"""

# Deletes everything, in batches (a large graph would not fit one transaction). Needs an
# auto-commit transaction (session.run), as CALL ... IN TRANSACTIONS does.
WIPE_GRAPH = "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"

# --- re-embedding beside the live vectors (see ingest.pipeline.reembed_graph) -----------
PASSAGES_TO_REEMBED = """
MATCH (p:Passage {retired: false})
WHERE p.embedding_next_model IS NULL OR p.embedding_next_model <> $model
RETURN p.key AS key, p.embed_text AS text
ORDER BY p.key
"""

# --- long passages' window vectors (see ingest.pipeline.fill_windows) ---------------------
PASSAGES_WITHOUT_WINDOWS = """
MATCH (p:Passage {retired: false})
WHERE p.window_texts IS NOT NULL AND p.windows IS NULL AND p.embedding IS NOT NULL
RETURN p.key AS key, p.window_texts AS texts
ORDER BY p.key
LIMIT $limit
"""

SET_WINDOWS = """
UNWIND $rows AS r
MATCH (p:Passage {key: r.key})
SET p.windows = r.windows
"""

# --- the second vector space (see ingest.pipeline.backfill_second) ------------------------
PASSAGES_WITHOUT_EMBEDDING2 = """
MATCH (p:Passage {retired: false}) WHERE p.embedding2 IS NULL
RETURN p.key AS key, p.embed_text AS text
ORDER BY p.key
LIMIT $limit
"""

SET_EMBEDDING2 = """
UNWIND $rows AS r
MATCH (p:Passage {key: r.key})
SET p.embedding2 = r.embedding
"""

# Both move the vectors' epoch (kg.read_queries.VECTOR_IDENTITY) when they change the flag.
MARK_EMBEDDER2_FULL = """
MERGE (m:GraphMeta {name: 'graph'})
WITH m WHERE m.embedder2_full IS NULL OR m.embedder2_full <> $model
SET m.embedder2_full = $model, m.vectors_epoch = randomUUID()
"""
FORGET_EMBEDDER2_FULL = """
MATCH (m:GraphMeta {name: 'graph'}) WHERE m.embedder2_full IS NOT NULL
REMOVE m.embedder2_full
SET m.vectors_epoch = randomUUID()
"""

COUNT_CURRENT_PASSAGES = "MATCH (p:Passage {retired: false}) RETURN count(p) AS n"

STAGE_EMBEDDINGS = """
UNWIND $rows AS r
MATCH (p:Passage {key: r.key})
SET p.embedding_next = r.embedding, p.embedding_next_model = $model
"""

# The switch: staged vectors become the live ones; vectors of the old model that were not
# re-embedded (history) are dropped, since a vector index must hold one model only. Long
# passages' window vectors go with them, and are embedded again after (PASSAGES_WITHOUT_WINDOWS).
PROMOTE_EMBEDDINGS = """
MATCH (p:Passage) WHERE p.embedding IS NOT NULL OR p.embedding_next_model IS NOT NULL
CALL (p) {
  SET p.embedding = CASE WHEN p.embedding_next_model = $model THEN p.embedding_next END,
      p.windows = null
  REMOVE p.embedding_next, p.embedding_next_model
} IN TRANSACTIONS OF 5000 ROWS
"""

# Aligned Japanese/English passages, as their fulltext fields (analysed at ingest): the two
# language versions of one statement, and prose paragraphs paired by TRANSLATION_OF
# (ingest.termtable learns from them).
ALIGNED_FIELDS = """
MATCH (a:Passage {lang: 'ja', current: true, retired: false})-[:STATES]->(:Statement)
      <-[:STATES]-(b:Passage {lang: 'en', current: true, retired: false})
RETURN coalesce(a.search_ja, '') AS ja, coalesce(b.search_en, '') AS en
UNION ALL
MATCH (a:Passage {lang: 'ja', current: true, retired: false})-[:TRANSLATION_OF]-
      (b:Passage {lang: 'en', current: true, retired: false})
WHERE a.statement_key IS NULL
RETURN coalesce(a.search_ja, '') AS ja, coalesce(b.search_en, '') AS en
"""

# The learned term table is rebuilt whole (ingest.termtable): derived data, never edited.
DROP_LEARNED_TERMS = "MATCH (t:LearnedTerm) DELETE t"

COUNT_LEARNED_TERMS = "MATCH (t:LearnedTerm) RETURN count(t) AS n"

CREATE_LEARNED_TERMS = """
UNWIND $rows AS r
CREATE (:LearnedTerm {ja: r.ja, en: r.en, score: r.score, pairs: r.pairs})
"""

# Examples sections cite the statements they illustrate ("p1 違反"): derived links, rebuilt
# with the term table (ingest.termtable.example_citations).
EXAMPLE_PASSAGES = """
MATCH (p:Passage {section_kind: 'examples', current: true, retired: false})
MATCH (:Document {id: p.doc_id})-[:HAS_STATEMENT]->(st:Statement {current: true})
RETURN p.key AS key, p.text AS text, collect({item: st.item_id, key: st.key}) AS statements
"""

# The links as they are, and the ones to drop: an ingest writes only the difference with
# what every example names now (13,431 links at 100,000 passages, ten times that at a
# million, were all dropped and created again at each ingest).
ALL_ILLUSTRATES_PAIRS = """
MATCH (p:Passage)-[:ILLUSTRATES]->(st:Statement)
RETURN collect([p.key, st.key]) AS rows
"""

UNLINK_ILLUSTRATES = """
UNWIND $pairs AS pr
MATCH (:Passage {key: pr[0]})-[r:ILLUSTRATES]->(:Statement {key: pr[1]})
DELETE r
"""

LINK_ILLUSTRATES = """
UNWIND $pairs AS pr
MATCH (p:Passage {key: pr[0]}), (st:Statement {key: pr[1]})
MERGE (p)-[:ILLUSTRATES]->(st)
"""
