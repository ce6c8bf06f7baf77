"""Named, parameterised Cypher for reading: retrieval, expansion, documents, topics."""

from __future__ import annotations

# Shared filter for retrieval hits: in effect on $as_of, in an active document, in the
# requested markets (a document for ALL matches any), topic subtree and language, and not
# one of $hidden_docs (by default the documents an active document supersedes, from
# kg.corpus_facts: an anti-join over SUPERSEDES per hit was two thirds of this read's work).
_HIT_FILTER = """
WITH node, score
WHERE node.retired = false
  AND node.effective <= $as_of AND (node.valid_until IS NULL OR node.valid_until > $as_of)
  AND ($lang IS NULL OR node.lang = $lang)
MATCH (d:Document {id: node.doc_id})
WHERE d.status = 'active'
  AND ($markets IS NULL OR any(m IN d.markets WHERE m IN $markets))
  AND ($topic IS NULL OR d.topic = $topic OR d.topic STARTS WITH $topic + '/')
  AND NOT d.id IN $hidden_docs
RETURN node.key AS key, score, node.lang AS lang, node.doc_id AS doc_id,
       node.statement_key AS statement_key, node.align_key AS align_key,
       node.statement_kind AS statement_kind, node.section_kind AS section_kind,
       d.markets AS markets
ORDER BY score DESC
LIMIT $k
"""

FULLTEXT_SEARCH = (
    "CALL db.index.fulltext.queryNodes($index, $query, {limit: $fetch}) YIELD node, score"
    + _HIT_FILTER
)

VECTOR_SEARCH = (
    "CALL db.index.vector.queryNodes($index, $fetch, $embedding) YIELD node, score" + _HIT_FILTER
)

# The same unit in the other language(s): the statement's other passages, or the section
# paragraph paired by TRANSLATION_OF, restricted to what is in effect on $as_of.
_TWIN_MATCH = """
UNWIND $keys AS key
MATCH (p:Passage {key: key})
OPTIONAL MATCH (p)-[:STATES]->(:Statement)<-[:STATES]-(t1:Passage)
WHERE t1.lang <> p.lang AND t1.retired = false AND t1.effective <= $as_of
  AND (t1.valid_until IS NULL OR t1.valid_until > $as_of)
OPTIONAL MATCH (p)-[:TRANSLATION_OF]-(t2:Passage)
WHERE p.statement_key IS NULL AND t2.retired = false AND t2.effective <= $as_of
  AND (t2.valid_until IS NULL OR t2.valid_until > $as_of)
WITH key, [x IN collect(DISTINCT t1) + collect(DISTINCT t2) WHERE x IS NOT NULL] AS twins
"""

# The twins of a query's leading passages, with what a second query in their language is
# built from: their text (for the fulltext index) and their stored embedding.
TWIN_FEEDBACK = (
    _TWIN_MATCH
    + """UNWIND twins AS t
RETURN key, t.key AS twin_key, t.lang AS lang, t.text AS text, t.embedding AS embedding
"""
)

# Everything the result cards need, in one round trip: each chosen passage's twins (as
# TWINS) and, for the passage and each twin, one row with what its card shows.
PASSAGE_CARDS = (
    _TWIN_MATCH
    + """UNWIND [key] + [t IN twins | t.key] AS shown
CALL (shown) {
  MATCH (p:Passage {key: shown})<-[:HAS_PASSAGE]-(s:Section)<-[:HAS_SECTION]-
        (v:DocumentVersion)<-[:HAS_VERSION]-(d:Document)
  OPTIONAL MATCH (p)-[:STATES]->(st:Statement)
  OPTIONAL MATCH (d)-[:OWNED_BY]->(o:Owner)
  OPTIONAL MATCH (d)-[:HAS_VERSION]->(cur:DocumentVersion
                  {lang: v.translation_of_lang, current: true})
  RETURN p, s, v, d, o, st, cur LIMIT 1
}
RETURN key AS chosen, [t IN twins | t.key] AS twin_keys,
       p.key AS key, p.text AS text, p.lang AS lang, p.doc_id AS doc_id, p.item_id AS item_id,
       p.section_kind AS section_kind, p.align_key AS align_key, p.heading_path AS heading_path,
       p.line_start AS line_start, p.line_end AS line_end, p.source_path AS source_path,
       p.written AS written, s.anchor AS anchor, s.heading AS heading,
       v.key AS version_key, v.title AS title, v.version AS version, v.effective AS effective,
       v.review_by AS review_by, v.translation_of_lang AS translation_of_lang,
       v.translation_of_version AS translation_of_version, v.current AS version_current,
       cur.version AS source_current_version,
       d.topic AS topic, d.markets AS markets, o.name AS owner,
       st.key AS statement_key, st.kind AS statement_kind, st.severity AS severity
"""
)

# Statements related through APPLIES_TO, in both directions, with their texts in effect.
RELATED_STATEMENTS = """
UNWIND $keys AS key
MATCH (st:Statement {key: key})
CALL (st) {
  MATCH (st)-[:APPLIES_TO]->(o:Statement {current: true})
  RETURN o, 'applies_to' AS relation
  UNION
  MATCH (o:Statement {current: true})-[:APPLIES_TO]->(st)
  RETURN o, 'applied_by' AS relation
}
MATCH (o)<-[:STATES]-(p:Passage)
WHERE p.retired = false AND p.effective <= $as_of
  AND (p.valid_until IS NULL OR p.valid_until > $as_of)
RETURN key, relation, o.key AS statement_key, o.kind AS kind, o.item_id AS item_id,
       o.severity AS severity, collect({lang: p.lang, text: p.text, key: p.key}) AS texts
ORDER BY key, relation, o.item_id
"""

TOPIC_EXISTS = "MATCH (t:Topic {path: $path}) RETURN count(t) > 0 AS ok"

LIST_TOPICS = """
MATCH (t:Topic) WHERE coalesce(t.in_taxonomy, true)
OPTIONAL MATCH (d:Document {status: 'active'})
WHERE d.topic = t.path OR d.topic STARTS WITH t.path + '/'
RETURN t.path AS path, t.id AS id, t.en AS en, t.ja AS ja, t.parent AS parent,
       t.leaf AS leaf, count(d) AS documents
ORDER BY path
"""

GLOSSARY = "MATCH (t:Term) RETURN t.key AS key, t.en AS en, t.ja AS ja ORDER BY key"

CORPORA = """
MATCH (c:Corpus)
RETURN c.name AS name, c.root AS root, toString(c.ingested_at) AS ingested_at,
       toString(c.removed_at) AS removed_at,
       COUNT { MATCH (d:Document {status: 'active'})-[:IN_CORPUS]->(c) } AS documents,
       COUNT { MATCH (d:Document {status: 'retired'})-[:IN_CORPUS]->(c) } AS retired,
       COUNT { MATCH (c)-[:LISTS]->(:Topic) } AS topics,
       COUNT { MATCH (c)-[:DEFINES]->(:Term) } AS terms
ORDER BY name
"""

SECOND_SPACE = "MATCH (m:GraphMeta {name: 'graph'}) RETURN m.embedder2_full AS model"
CORPUS_STAMP = "MATCH (m:GraphMeta {name: 'graph'}) RETURN m.corpus_stamp AS stamp"

DOCUMENT = """
MATCH (d:Document {id: $id})
OPTIONAL MATCH (d)-[:OWNED_BY]->(o:Owner)
OPTIONAL MATCH (d)-[:CITES]->(r:Regulation)
OPTIONAL MATCH (d)-[:SUPERSEDES]->(old:Document)
OPTIONAL MATCH (newer:Document {status: 'active'})-[:SUPERSEDES]->(d)
RETURN d {.id, .topic, .markets, .status, .supersedes, .source_lang} AS doc, o.name AS owner,
       collect(DISTINCT r.name) AS regulations, collect(DISTINCT newer.id) AS superseded_by
"""

DOCUMENT_VERSIONS = """
MATCH (:Document {id: $id})-[:HAS_VERSION]->(v:DocumentVersion)
RETURN v.key AS key, v.lang AS lang, v.title AS title, v.version AS version,
       v.effective AS effective, v.review_by AS review_by, v.current AS current,
       v.valid_until AS valid_until, v.translation_of_lang AS translation_of_lang,
       v.translation_of_version AS translation_of_version, v.source_path AS source_path,
       v.retired_at IS NOT NULL AS retired
ORDER BY v.lang, v.effective DESC
"""

VERSION_SECTIONS = """
MATCH (v:DocumentVersion {key: $key})-[:HAS_SECTION]->(s:Section)
OPTIONAL MATCH (s)-[:HAS_PASSAGE]->(p:Passage)
WITH s, p ORDER BY p.line_start
RETURN s.key AS key, s.anchor AS anchor, s.align_key AS align_key, s.kind AS kind,
       s.heading AS heading, s.order AS ord,
       collect({key: p.key, text: p.text, item_id: p.item_id, kind: p.statement_kind,
                line_start: p.line_start, line_end: p.line_end,
                statement_key: p.statement_key}) AS passages
ORDER BY ord
"""

STATEMENT = """
MATCH (d:Document)-[:HAS_STATEMENT]->(st:Statement {key: $key})
OPTIONAL MATCH (st)<-[:STATES]-(p:Passage)<-[:HAS_PASSAGE]-(:Section)<-[:HAS_SECTION]-
               (v:DocumentVersion)
RETURN st {.key, .doc_id, .item_id, .kind, .severity, .current, .applies_to} AS statement,
       d.status AS doc_status,
       collect({key: p.key, lang: p.lang, text: p.text, version: v.version,
                current: v.current, line_start: p.line_start, line_end: p.line_end,
                source_path: p.source_path}) AS passages
"""

PING = "RETURN 1 AS ok"

# Every APPLIES_TO link with whether each end is current, for score propagation; grouped
# into each statement's current neighbours in both directions by kg.reader.
ALL_STATEMENT_NEIGHBOURS = """
MATCH (a:Statement)-[:APPLIES_TO]->(b:Statement)
RETURN collect([a.key, a.current, b.key, b.current]) AS rows
"""

# Passages in effect that state the given statements (for units reached through the graph).
STATEMENT_PASSAGES = """
UNWIND $keys AS key
MATCH (:Statement {key: key})<-[:STATES]-(p:Passage)
WHERE p.retired = false AND p.effective <= $as_of
  AND (p.valid_until IS NULL OR p.valid_until > $as_of)
  AND ($lang IS NULL OR p.lang = $lang)
MATCH (d:Document {id: p.doc_id})
RETURN p.key AS key, 0.0 AS score, p.lang AS lang, p.doc_id AS doc_id,
       p.statement_key AS statement_key, p.align_key AS align_key,
       p.statement_kind AS statement_kind, d.markets AS markets
"""

# Every passage of a few documents scored against the query embedding of its language
# ($embeddings: lang -> vector). Reached from the documents (an index seek), not by a
# property scan of all passages; a handful of documents hold a few hundred passages.
# With $means (language -> mean vector, possibly empty), `to_mean` is each passage's cosine
# with its language's mean, from which kg.reader computes the centred cosine (kg.centring).
DOCUMENT_PASSAGE_SIMILARITY = """
UNWIND $doc_ids AS doc_id
MATCH (d:Document {id: doc_id})-[:HAS_VERSION]->(:DocumentVersion)-[:HAS_SECTION]->(:Section)
      -[:HAS_PASSAGE]->(p:Passage)
WHERE p.retired = false AND p.lang IN keys($embeddings) AND p.embedding IS NOT NULL
  AND p.effective <= $as_of AND (p.valid_until IS NULL OR p.valid_until > $as_of)
RETURN p.key AS key, vector.similarity.cosine(p.embedding, $embeddings[p.lang]) AS score,
       vector.similarity.cosine(p.embedding, coalesce($means[p.lang], $embeddings[p.lang]))
         AS to_mean,
       p.lang AS lang, p.doc_id AS doc_id, p.statement_key AS statement_key,
       p.align_key AS align_key, p.statement_kind AS statement_kind,
       p.section_kind AS section_kind, d.markets AS markets
ORDER BY score DESC
"""

# About $limit current passages' vectors of one language, for its mean vector
# (kg.centring), spread over the whole store: the i-th passage in store order is read when
# the fractional part of i times the golden ratio falls below $limit / (their number), all of
# them when there are fewer. The first $limit in store order are the documents ingested
# first, often one topic: the mean of 50 of them cost confirm-xl 0.033 nDCG@10, spread
# ones nothing. Every k-th would align with a regular layout of sections (on the
# benchmark graph its Japanese mean missed the whole's by 0.048 at every sample size); the
# golden ratio's steps do not (docs/evaluation.md, "The language mean's sample").
LANGUAGE_VECTORS = """
MATCH (p:Passage)
WHERE p.lang = $lang AND p.retired = false AND p.embedding IS NOT NULL
WITH collect(p) AS ps
RETURN [i IN range(0, size(ps) - 1) WHERE (i * 0.6180339887498949) % 1.0 * size(ps) < $limit
        | ps[i].embedding] AS rows
"""

# The corpus facts' queries (ALL_*) return their rows collected in one row, read by
# GraphReader._read_collected: per-row records cost the driver most of the time at scale.
# The unretired versions of every document, for the languages a document can be read in
# on a given date (kg.corpus_facts): retrieval needs to know which retrievers could have
# seen a document at all (a fulltext index of one language is blind to a document written
# only in the other).
ALL_DOCUMENT_VERSIONS = """
MATCH (d:Document)-[:HAS_VERSION]->(v:DocumentVersion)
WHERE v.retired_at IS NULL
RETURN collect({doc_id: d.id, lang: v.lang, effective: v.effective,
                valid_until: v.valid_until}) AS rows
"""

# Documents that an active document supersedes: left out of search unless asked for.
ALL_SUPERSEDED = """
MATCH (s:Document {status: 'active'})-[:SUPERSEDES]->(d:Document)
WITH d.id AS doc_id, collect(DISTINCT s.id) AS by
RETURN collect({doc_id: doc_id, by: by}) AS rows
"""

LEARNED_TERMS = """
MATCH (t:LearnedTerm)
RETURN t.ja AS ja, t.en AS en, t.score AS score, t.pairs AS pairs
ORDER BY ja, score DESC, en
"""

# The distinct terms of the unretired passages' fulltext fields, per language, a page of
# passages at a time in key order (the passage_key constraint's index): the vocabulary that
# filters the general dictionary's translations (search_api.dictionary). Counted distinct
# on the server, so only the vocabulary crosses the wire; paged, so that each read stays
# well within the read timeout at a million passages. The null keeps a row for every
# passage (collect skips it), so a page of passages without terms still returns its last key.
VOCABULARY_PAGE = """
MATCH (p:Passage)
WHERE p.key > $after AND p.retired = false
WITH p ORDER BY p.key LIMIT $page
WITH collect(p) AS ps
UNWIND ps AS p
WITH ps[-1].key AS last, p.lang AS lang,
     split(coalesce(CASE p.lang WHEN 'ja' THEN p.search_ja ELSE toLower(p.search_en) END, ''),
           ' ') AS words
UNWIND words + [null] AS term
WITH last, lang, term WHERE term IS NULL OR size(term) >= 2
RETURN last, lang, collect(DISTINCT term) AS terms
"""

# Every example passage and the current statements it names (ILLUSTRATES, derived at ingest).
ALL_ILLUSTRATES = """
MATCH (p:Passage)-[:ILLUSTRATES]->(st:Statement {current: true})
WITH p.key AS key, collect(st.key) AS statements
RETURN collect({key: key, statements: statements}) AS rows
"""

# The passages a process holds in memory for exact vector search (kg.resident), a page at a
# time in key order (the passage_key constraint's index): the vectors of 100,000 passages
# as one result would be gigabytes of driver objects at once.
_RESIDENT_FIELDS = """
RETURN p.key AS key, p.lang AS lang, p.doc_id AS doc_id, p.statement_key AS statement_key,
       p.align_key AS align_key, p.statement_kind AS statement_kind,
       p.section_kind AS section_kind, p.effective AS effective,
       p.valid_until AS valid_until, p.embedding AS embedding, p.windows AS windows,
       CASE WHEN $second THEN p.embedding2 END AS embedding2
"""
RESIDENT_PASSAGES = (
    """
MATCH (p:Passage)
WHERE p.key > $after AND p.retired = false
"""
    + _RESIDENT_FIELDS
    + """
ORDER BY p.key
LIMIT $page
"""
)

# The same for some documents only: those written since a snapshot was read
# (kg.resident.refresh_resident), reached through the document id's index.
RESIDENT_PASSAGES_OF = (
    """
MATCH (d:Document)-[:HAS_VERSION]->(:DocumentVersion)-[:HAS_SECTION]->(:Section)
      -[:HAS_PASSAGE]->(p:Passage)
WHERE d.id IN $ids AND p.retired = false
"""
    + _RESIDENT_FIELDS
)

# Per document, its unretired passages and its latest write's stamp (every passage of a
# document carries it; see SET_CURRENT_VERSIONS): a snapshot keeps these, and at the next
# corpus stamp reads again only the documents whose pair moved (kg.resident).
DOCUMENT_WRITES = """
MATCH (p:Passage)
WHERE p.retired = false
WITH p.doc_id AS id, count(p) AS passages, max(p.written) AS written
RETURN collect({id: id, passages: passages, written: written}) AS rows
"""

# What the graph's vectors are: the models of both spaces and an epoch that every
# wholesale change of vectors moves (a re-embedding, the second space filled or dropped),
# which no document's write stamp shows.
VECTOR_IDENTITY = """
MATCH (m:GraphMeta {name: 'graph'})
RETURN m.embedder AS embedder, m.embedder2_full AS second, m.vectors_epoch AS epoch
"""

# Changes with every document write (each passage carries its write's time-ordered stamp)
# and retirement, whether or not the ingest that made it lived to set a new corpus stamp.
PASSAGE_FINGERPRINT = """
MATCH (p:Passage)
WHERE p.retired = false
RETURN count(p) AS passages, max(p.written) AS written
"""

RESIDENT_DOCUMENTS = """
MATCH (d:Document)
RETURN collect({id: d.id, status: d.status, markets: d.markets, topic: d.topic}) AS rows
"""
