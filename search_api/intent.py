"""Query understanding beyond words: which market a query speaks of, and which kind of
statement it asks for (an escalation path, an exception, a penalty). Used as soft boosts
in ranking, never as filters: a wrong guess may reorder results but never hides one."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kg.analysis import normalize
from ontology.vocabulary import MARKET_NAMES, StatementKind

# Cue words per statement kind, in both languages: how moderators ask for that kind.
_INTENT_CUES: dict[StatementKind, tuple[str, ...]] = {
    StatementKind.ESCALATION: (
        r"\bescalat\w*",
        r"\bwho (do|should|handles|makes|decides|to)\b",
        r"\bwhere (does|do|should) (it|this|that|i)\b",
        r"\breport (it |this |that )?to\b",
        r"\bhand (it )?over\b",
        r"\bwho\b.*\b(call|contact|tell)\b",
        "エスカレ",
        "誰に",
        "だれに",
        "どこに",
        "報告先",
        "連絡先",
        "相談先",
        "上げる",
        "照会",
        "どこへ",
    ),
    StatementKind.EXCEPTION: (
        r"\bexcept\w*",
        r"\bexempt\w*",
        r"\b(allowed|okay|ok|permitted|fine)\b",
        r"\bstay up\b",
        r"\bcan (a|an|the|i|we|they|sellers?|creators?|hosts?|shops?)\b",
        r"\bis it (ok|okay|fine|allowed)\b",
        "例外",
        "対象外",
        "OK",
        "ok",
        "あり?",
        "いい?",
        "いいですか",
        "できる?",
        "できますか",
        "大丈夫",
        "問題ない",
    ),
    StatementKind.ENFORCEMENT: (
        r"\bpenalt\w*",
        r"\bpunish\w*",
        r"\bsanction\w*",
        r"\bstrikes?\b",
        r"\bsuspen\w*",
        r"\bban(ned)?\b",
        r"\bwhat happens\b",
        r"\bfirst[- ]offen[cs]e\b",
        r"\bwarning\b",
        "ペナルティ",
        "処分",
        "措置",
        "罰",
        "停止",
        "凍結",
        "警告",
        "ストライク",
        "どうなる",
        "初回",
        "何回",
    ),
}
_COMPILED = {
    kind: [re.compile(c, re.IGNORECASE) for c in cues] for kind, cues in _INTENT_CUES.items()
}
_MARKETS = {
    code: [re.compile(rf"(?<![a-z]){re.escape(n)}(?![a-z])") if n.isascii() else re.compile(re.escape(n))
           for n in names]
    for code, names in MARKET_NAMES.items()
}  # fmt: skip


@dataclass(frozen=True)
class QueryIntent:
    markets: frozenset[str]
    kinds: frozenset[str]


def understand(query: str) -> QueryIntent:
    text = normalize(query)
    lower = text.lower()
    kinds = frozenset(k.value for k, cues in _COMPILED.items() if any(c.search(text) for c in cues))
    markets = frozenset(
        code for code, pats in _MARKETS.items() if any(p.search(lower) for p in pats)
    )
    return QueryIntent(markets=markets, kinds=kinds)
