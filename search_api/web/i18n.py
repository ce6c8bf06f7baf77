"""The web pages' labels in English and Japanese, and how a page picks its language.

The language of the labels is the `sopkg_lang` cookie when set (the switch in the page
header sets it), else the best of `en`/`ja` in the browser's `Accept-Language`, else
English. The SOP texts keep their own language whatever the labels' language is.
"""

from __future__ import annotations

from collections.abc import Mapping

UI_LANGS: tuple[str, ...] = ("en", "ja")
DEFAULT_LANG = "en"
LANG_COOKIE = "sopkg_lang"

# key -> (English, Japanese). `{name}` placeholders are filled by `Labels.__call__`.
LABELS: dict[str, tuple[str, str]] = {
    # --- frame ------------------------------------------------------------------------
    "app.name": ("SOP search", "SOP検索"),
    "nav.main": ("Main", "メイン"),
    "nav.search": ("Search", "検索"),
    "nav.coverage": ("Coverage", "カバレッジ"),
    "nav.findings": ("Findings", "指摘事項"),
    "nav.changes": ("Changes", "変更履歴"),
    "nav.dashboard": ("My dashboard", "ダッシュボード"),
    "nav.signin": ("Sign in", "サインイン"),
    "nav.signout": ("Sign out", "サインアウト"),
    "nav.role": ("Role: {role}", "ロール: {role}"),
    "nav.open_mode": ("Local open mode", "ローカル（認証なし）"),
    "nav.skip": ("Skip to content", "本文へスキップ"),
    "ui.language": ("Display language", "表示言語"),
    "lang.en": ("English", "英語"),
    "lang.ja": ("Japanese", "日本語"),
    "role.reader": ("reader", "閲覧者"),
    "role.owner": ("owner", "オーナー"),
    "role.admin": ("admin", "管理者"),
    # --- search -----------------------------------------------------------------------
    "search.title": ("Search the SOPs", "SOPを検索"),
    "search.label": ("Question (Japanese or English)", "質問（日本語または英語）"),
    "search.placeholder": (
        "e.g. counterfeit listing / コピー品 出品",
        "例: コピー品 出品 / counterfeit listing",
    ),
    "search.button": ("Search", "検索"),
    "search.hint": (
        "Press / to focus the box, Enter to search.",
        "/ で検索欄へ移動、Enter で検索します。",
    ),
    "search.filters": ("Filters", "絞り込み"),
    "filter.market": ("Market", "マーケット"),
    "filter.topic": ("Topic", "トピック"),
    "filter.language": ("Language", "言語"),
    "filter.any_market": ("All markets", "すべてのマーケット"),
    "filter.any_topic": ("All topics", "すべてのトピック"),
    "filter.any_language": ("Both languages", "両方の言語"),
    "search.results": (
        "{n} results for “{query}”",
        "「{query}」の検索結果 {n} 件",
    ),
    "search.one_result": ("1 result for “{query}”", "「{query}」の検索結果 1 件"),
    "search.none": (
        "No SOP matched “{query}”. Try other words or fewer filters.",
        "「{query}」に一致するSOPはありません。別の言葉で試すか、絞り込みを減らしてください。",
    ),
    "search.empty": (
        "Type a question first: the search box is empty.",
        "検索欄が空です。質問を入力してください。",
    ),
    "search.too_long": (
        "The question is {n} characters long; at most {max} are accepted. Shorten it.",
        "質問が {n} 文字あります。{max} 文字以内にしてください。",
    ),
    "search.invalid": ("The search could not run: {message}", "検索できませんでした: {message}"),
    "search.searching": ("Searching…", "検索中…"),
    "search.failed": (
        "The search failed ({status}). Try again in a moment.",
        "検索に失敗しました（{status}）。しばらくしてから再度お試しください。",
    ),
    "search.signed_out": (
        "Your sign-in has expired: sign in again.",
        "サインインの有効期限が切れました。再度サインインしてください。",
    ),
    # --- result card ------------------------------------------------------------------
    "card.show_lang": ("Show in {lang}", "{lang}で表示"),
    "card.no_translation": ("No translation", "翻訳なし"),
    "card.copy": ("Copy citation", "引用をコピー"),
    "card.copied": ("Copied", "コピーしました"),
    "card.copy_failed": (
        "Copy failed: select the line and copy it",
        "コピーできませんでした。行を選択してコピーしてください",
    ),
    "card.ticket_line": ("Ticket-ready citation", "チケット用の引用"),
    "card.open_document": ("Open in document", "文書で開く"),
    "card.owner": ("Owner", "オーナー"),
    "card.markets": ("Markets", "マーケット"),
    "card.severity": ("severity {severity}", "重大度 {severity}"),
    "card.applied_by": ("Applies here", "適用される項目"),
    "card.applies_to": ("Applies to", "適用先"),
    "cite.document": ("Document", "文書"),
    "cite.title": ("Title", "タイトル"),
    "cite.version": ("Version", "版"),
    "cite.section": ("Section", "セクション"),
    "cite.item": ("Item", "項目"),
    "cite.effective": ("Effective", "施行日"),
    "cite.source": ("Source", "ソース"),
    "warn.stale": (
        "Review overdue: this SOP was due for review on {date}.",
        "レビュー期限切れ: このSOPのレビュー期限は {date} でした。",
    ),
    "warn.due_soon": (
        "Review due soon: by {date}.",
        "まもなくレビュー期限: {date} まで。",
    ),
    "warn.translation_outdated": (
        "Translation out of date: made from an older version of the source; "
        "check the source language.",
        "翻訳が古い可能性: 原文の旧版から翻訳されています。原文を確認してください。",
    ),
    "feedback.question": ("Did this answer it?", "この検索で解決しましたか？"),
    "feedback.yes": ("Yes", "はい"),
    "feedback.no": ("No", "いいえ"),
    "feedback.thanks": ("Thank you: noted.", "ありがとうございます。記録しました。"),
    "feedback.failed": ("Could not record the answer.", "回答を記録できませんでした。"),
    # --- kinds ------------------------------------------------------------------------
    "kind.policy": ("Policy", "ポリシー"),
    "kind.exception": ("Exception", "例外"),
    "kind.enforcement": ("Enforcement", "措置"),
    "kind.escalation": ("Escalation", "エスカレーション"),
    "kind.overview": ("Overview", "概要"),
    "kind.scope": ("Scope", "適用範囲"),
    "kind.definitions": ("Definitions", "定義"),
    "kind.exceptions": ("Exceptions", "例外"),
    "kind.examples": ("Examples", "事例"),
    "kind.references": ("References", "参考資料"),
    "kind.other": ("Section", "セクション"),
    # --- document page ----------------------------------------------------------------
    "doc.facts": ("About this document", "文書の情報"),
    "doc.topic": ("Topic", "トピック"),
    "doc.markets": ("Markets", "マーケット"),
    "doc.status": ("Status", "ステータス"),
    "doc.owner": ("Owner", "オーナー"),
    "doc.regulations": ("Regulations", "関連法令"),
    "doc.supersedes": ("Supersedes", "置き換え元"),
    "doc.superseded_by": ("Superseded by", "置き換え先"),
    "doc.review_by": ("Review by", "レビュー期限"),
    "doc.contents": ("Contents", "本文"),
    "doc.original": ("original", "原文"),
    "doc.cited": ("Cited item", "引用された項目"),
    "doc.no_current": (
        "This document has no current version.",
        "この文書には現行版がありません。",
    ),
    "doc.missing_lang": ("Not written in {lang}", "{lang}版はありません"),
    "doc.versions": ("Version history", "版の履歴"),
    "doc.changes": ("Changes in the latest version", "最新版の変更点"),
    "doc.no_changes": ("No changes recorded.", "記録された変更はありません。"),
    "ver.lang": ("Language", "言語"),
    "ver.version": ("Version", "版"),
    "ver.effective": ("Effective", "施行日"),
    "ver.review_by": ("Review by", "レビュー期限"),
    "ver.valid_until": ("Valid until", "有効期限"),
    "ver.state": ("State", "状態"),
    "ver.translation_of": ("Translated from", "翻訳元"),
    "ver.source": ("Source file", "ソースファイル"),
    "ver.current": ("current", "現行"),
    "ver.retired": ("retired", "廃止"),
    "ver.past": ("past", "過去"),
    # --- owner pages ------------------------------------------------------------------
    "coverage.title": ("Coverage: topics × markets", "カバレッジ: トピック × マーケット"),
    "coverage.topic": ("Topic", "トピック"),
    "coverage.legend": ("Legend", "凡例"),
    "coverage.generated": (
        "As of {today} (review due within {days} days)",
        "{today} 時点（レビュー期限 {days} 日以内を警告）",
    ),
    "coverage.findings": ("Findings by kind", "種類別の指摘事項"),
    "coverage.owners": ("Owners", "オーナー"),
    "coverage.documents": ("Documents", "文書"),
    "cell.covered": ("covered", "カバー済み"),
    "cell.due-soon": ("review due soon", "レビュー期限間近"),
    "cell.stale": ("review overdue", "レビュー期限切れ"),
    "cell.none": ("no SOP", "SOPなし"),
    "docstate.ok": ("ok", "正常"),
    "docstate.stale": ("review overdue", "レビュー期限切れ"),
    "docstate.due-soon": ("review due soon", "レビュー期限間近"),
    "docstate.superseded": ("superseded", "置き換え済み"),
    "findings.title": ("Findings", "指摘事項"),
    "findings.owner": ("Owner", "オーナー"),
    "findings.kind": ("Kind", "種類"),
    "findings.any_owner": ("All owners", "すべてのオーナー"),
    "findings.any_kind": ("All kinds", "すべての種類"),
    "findings.apply": ("Filter", "絞り込む"),
    "findings.none": ("No findings.", "指摘事項はありません。"),
    "findings.shown": ("{n} of {total} findings", "{total} 件中 {n} 件を表示"),
    "findings.document": ("Document", "文書"),
    "findings.lang": ("Language", "言語"),
    "findings.item": ("Item", "項目"),
    "findings.reason": ("Why", "理由"),
    "finding.topic-without-document": ("Topic without document", "文書のないトピック"),
    "finding.missing-translation": ("Missing translation", "翻訳なし"),
    "finding.outdated-translation": ("Outdated translation", "古い翻訳"),
    "findings.ack_invalid": (
        "The finding was not acknowledged: {message}",
        "確認済みにできませんでした: {message}",
    ),
    "findings.acknowledge": ("Acknowledge", "確認済みにする"),
    "findings.ack_reason": ("Reason", "理由"),
    "findings.ack_expires": ("Until (optional)", "期限（任意）"),
    "findings.ack_submit": ("Acknowledge finding", "確認済みとして記録"),
    "findings.acknowledged": ("Acknowledged findings", "確認済みの指摘"),
    "findings.ack_by": ("By", "記録者"),
    "findings.ack_until": ("Until", "期限"),
    "findings.no_expiry": ("no expiry", "期限なし"),
    "findings.lapsed_expired": (
        "acknowledged by {by} (“{reason}”) until {date}: expired",
        "{by} が確認済み（「{reason}」）、期限 {date} 切れ",
    ),
    "findings.lapsed_changed": (
        "acknowledged by {by} (“{reason}”); the documents changed since",
        "{by} が確認済み（「{reason}」）、その後文書が変更",
    ),
    "finding.translation-drift": ("Translation says otherwise", "翻訳と原文の食い違い"),
    "finding.stale": ("Review overdue", "レビュー期限切れ"),
    "finding.due-soon": ("Review due soon", "レビュー期限間近"),
    "finding.policy-without-enforcement": ("Policy without enforcement", "措置のないポリシー"),
    "finding.policy-without-escalation": (
        "Policy without escalation",
        "エスカレーションのないポリシー",
    ),
    "finding.missing-applies-to": ("Missing applies_to", "適用先の指定なし"),
    "finding.dangling-link": ("Dangling link", "リンク切れ"),
    "finding.near-duplicate": ("Near-duplicate", "ほぼ重複"),
    "finding.contradiction": ("Contradiction", "矛盾"),
    "dashboard.affected": (
        "Changes that affected the most searches",
        "検索結果に最も影響した変更",
    ),
    "dashboard.no_affected": (
        "No recent search showed a statement that a new version changed.",
        "新しい版で変わった記述を表示した最近の検索はありません。",
    ),
    "changes.recent_searches": (
        "shown by {n} searches in the last {days} days",
        "過去{days}日間に{n}件の検索で表示",
    ),
    "dashboard.title": ("Dashboard: {owner}", "ダッシュボード: {owner}"),
    "dashboard.unknown": (
        "No document is owned by “{owner}”.",
        "「{owner}」が所有する文書はありません。",
    ),
    "dashboard.pick": ("Owners", "オーナー"),
    "dashboard.trends": ("Trends", "推移"),
    "chart.by_topic": (
        "Unanswered and weak searches per week, by topic (last {weeks} weeks)",
        "週ごとの未解決・低確信の検索（トピック別、直近 {weeks} 週）",
    ),
    "chart.by_language": (
        "Unanswered and weak searches per week, by language (last {weeks} weeks)",
        "週ごとの未解決・低確信の検索（言語別、直近 {weeks} 週）",
    ),
    "chart.findings_title": (
        "Findings by kind on each version of the change feed",
        "変更履歴の各バージョンの指摘事項（種類別）",
    ),
    "chart.no_data": ("Nothing to show yet.", "まだ表示するデータがありません。"),
    "chart.other": ("other", "その他"),
    "chart.legend": ("Legend", "凡例"),
    "chart.table": ("The numbers as a table", "数値を表で見る"),
    "chart.week": ("Week of", "週の初日"),
    "chart.version": ("Version", "バージョン"),
    "chart.cell_is": ("each cell: unanswered / weak", "各欄: 未解決 / 低確信"),
    "chart.bar_tip": (
        "week of {week}, {name}: {unanswered} unanswered, {weak} weak",
        "{week} の週、{name}: 未解決 {unanswered}、低確信 {weak}",
    ),
    "chart.weekly_desc": (
        "Bars per week over {weeks} weeks: {unanswered} unanswered and {weak} weak searches "
        "in all; the most in {most}.",
        "{weeks} 週の週ごとの棒グラフ: 未解決 {unanswered} 件、低確信 {weak} 件。最多は {most}。",
    ),
    "chart.findings_desc": (
        "One bar per version: {findings} findings on {versions} versions.",
        "バージョンごとの棒グラフ: {versions} バージョンに指摘 {findings} 件。",
    ),
    "dashboard.documents": ("Documents owned", "所有する文書"),
    "dashboard.summary": (
        "{docs} documents · {stale} overdue · {due} due soon · {findings} findings",
        "文書 {docs} 件 · 期限切れ {stale} 件 · 期限間近 {due} 件 · 指摘 {findings} 件",
    ),
    "dashboard.topics": ("Topics", "トピック"),
    "dashboard.demand": ("Unanswered questions in these topics", "これらのトピックで未解決の質問"),
    "dashboard.no_demand": (
        "No unanswered questions logged.",
        "未解決の質問は記録されていません。",
    ),
    "dashboard.asked": ("asked {n}×", "{n} 回"),
    "doc.title": ("Title", "タイトル"),
    "doc.versions_short": ("Versions", "版"),
    "doc.state": ("State", "状態"),
    "changes.title": ("Change feed", "変更フィード"),
    "changes.since": ("Since", "開始日"),
    "changes.show": ("Show", "表示"),
    "changes.none": (
        "No version took effect in this period.",
        "この期間に施行された版はありません。",
    ),
    "changes.new_document": ("first version", "初版"),
    "changes.from": ("v{old} → v{new}", "v{old} → v{new}"),
    "change.added": ("added", "追加"),
    "change.removed": ("removed", "削除"),
    "change.reworded": ("reworded", "変更"),
    "change.retagged": ("attributes changed", "属性の変更"),
    "change.applies_to": ("Applies to", "適用先"),
    "change.attributes": ("Attributes", "属性"),
    "change.old": ("Before", "変更前"),
    "change.new": ("After", "変更後"),
    # --- sign-in and errors -----------------------------------------------------------
    "signin.title": ("Sign in", "サインイン"),
    "signin.key": ("API key", "APIキー"),
    "signin.help": (
        "Paste the API key your administrator gave you. It is kept in a cookie this "
        "browser sends only to this site, and never shown again.",
        "管理者から受け取ったAPIキーを貼り付けてください。キーはこのサイトにのみ送信される"
        "Cookieに保存され、再表示されません。",
    ),
    "signin.button": ("Sign in", "サインイン"),
    "signin.unknown": ("That key is not known here.", "このキーは登録されていません。"),
    "signin.empty": ("Enter a key.", "キーを入力してください。"),
    "signin.open_mode": (
        "This server runs in local open mode: no sign-in is needed.",
        "このサーバーはローカルの認証なしモードで動作しています。サインインは不要です。",
    ),
    "signin.signed_out": ("You are signed out.", "サインアウトしました。"),
    "error.title": ("Error {status}", "エラー {status}"),
    "error.forbidden": (
        "This page is for SOP owners. Your key's role is {role}.",
        "このページはSOPオーナー向けです。あなたのキーのロールは「{role}」です。",
    ),
    "error.not_found": ("There is no document “{doc_id}”.", "文書「{doc_id}」はありません。"),
    "error.unavailable": (
        "The graph database is not reachable right now. Try again in a few seconds.",
        "グラフデータベースに接続できません。数秒後に再度お試しください。",
    ),
    "error.no_page": ("There is no page at this address.", "このアドレスのページはありません。"),
    "error.refused": ("This cannot be shown: {message}", "表示できません: {message}"),
    "error.cross_site": (
        "This form must be sent from this site.",
        "このフォームはこのサイトから送信する必要があります。",
    ),
    "error.back": ("Back to search", "検索に戻る"),
}


class Labels:
    """`t("key", name=value)`: the label in one language, placeholders filled."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in UI_LANGS else DEFAULT_LANG
        self._i = UI_LANGS.index(self.lang)

    def __call__(self, key: str, **values: object) -> str:
        text = LABELS[key][self._i]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in LABELS

    def kind(self, kind: str | None) -> str:
        key = f"kind.{kind}"
        return self(key) if key in LABELS else (kind or "")

    def lang_name(self, lang: str) -> str:
        key = f"lang.{lang}"
        return self(key) if key in LABELS else lang


def negotiate(accept_language: str | None) -> str:
    """The best of UI_LANGS in an Accept-Language header (by q, then order)."""
    best: tuple[float, int, str] | None = None
    for pos, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in UI_LANGS:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        cand = (-q, pos, primary)
        if best is None or cand < best:
            best = cand
    return best[2] if best else DEFAULT_LANG


def pick_lang(cookies: Mapping[str, str], accept_language: str | None) -> str:
    chosen = cookies.get(LANG_COOKIE)
    return chosen if chosen in UI_LANGS else negotiate(accept_language)
