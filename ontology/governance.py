"""What governance reports speak of: the kinds of coverage finding and of change.

These are part of what exists (a report, the API and the docs all name them), so they live
here with the other vocabularies; the analysis that produces them is in
`search_api.coverage`.
"""

from __future__ import annotations

from enum import StrEnum


class FindingKind(StrEnum):
    """A coverage or consistency problem of the SOP corpus (see docs/coverage.md)."""

    TOPIC_WITHOUT_DOCUMENT = "topic-without-document"
    MISSING_TRANSLATION = "missing-translation"
    OUTDATED_TRANSLATION = "outdated-translation"
    TRANSLATION_DRIFT = "translation-drift"
    STALE = "stale"
    DUE_SOON = "due-soon"
    POLICY_WITHOUT_ENFORCEMENT = "policy-without-enforcement"
    POLICY_WITHOUT_ESCALATION = "policy-without-escalation"
    MISSING_APPLIES_TO = "missing-applies-to"
    DANGLING_LINK = "dangling-link"
    NEAR_DUPLICATE = "near-duplicate"
    CONTRADICTION = "contradiction"


FINDING_DESCRIPTIONS: dict[FindingKind, str] = {
    FindingKind.TOPIC_WITHOUT_DOCUMENT: "a leaf topic of the taxonomy has no active document "
    "in any market",
    FindingKind.MISSING_TRANSLATION: "a document has no version in one of the languages",
    FindingKind.OUTDATED_TRANSLATION: "a translation follows an older version of its source",
    FindingKind.TRANSLATION_DRIFT: "a statement and its current translation require "
    "different things (numbers, sanctions, escalation teams)",
    FindingKind.STALE: "the document's review_by date has passed",
    FindingKind.DUE_SOON: "the document's review_by date falls within the next days",
    FindingKind.POLICY_WITHOUT_ENFORCEMENT: "no enforcement item applies to a policy",
    FindingKind.POLICY_WITHOUT_ESCALATION: "no escalation item applies to a policy",
    FindingKind.MISSING_APPLIES_TO: "an exception, enforcement or escalation item names no "
    "statement it applies to",
    FindingKind.DANGLING_LINK: "a [[link]] names a document that does not exist",
    FindingKind.NEAR_DUPLICATE: "documents for different markets say nearly the same thing",
    FindingKind.CONTRADICTION: "statements of the same kind, topic and market in different "
    "documents are about the same thing but require different things",
}


class ChangeKind(StrEnum):
    """How a statement or section paragraph changed from one version to the next."""

    ADDED = "added"
    REMOVED = "removed"
    REWORDED = "reworded"
    # Same text, but `applies_to` names other statements: an exception or an enforcement
    # action that now covers other policies changes what moderators must do.
    RETAGGED = "retagged"
