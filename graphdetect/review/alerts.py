"""What a case of this run asks of the reviewer, given what was decided in earlier runs.

A case's status carries from run to run under its case key; its *alert* says whether
it needs eyes now (``docs/contract.md``, "Monthly runs"):

``new``, ``recurring``, ``grown``, ``shrunk``
    Undecided cases (and decided ones with nothing new since): the lineage state.
``re-alerted``
    Dismissed, not suppressed, and grown materially since the dismissal.
``quiet``
    Dismissed and not grown materially, or suppressed until a date not yet past
    (the suppression holds through that day). Hidden from the queue by default.
``new evidence``
    In review, confirmed or referred, with new core members or new claims since the
    decision that set the status.

Growth is measured against the *snapshot* each decision keeps of the case as it stood
(:func:`snapshot`). It is material when any of :data:`REALERT_DEFAULTS` is reached.
Words are made here, in Chinese and English, from the numbers; the dismissal reason is
quoted as given (blind viewers' callers mask it first).
"""

from __future__ import annotations

from datetime import date

from ..errors import RunError
from ..explain import money
from ..lineage import core_members, mint_key, total_amount

__all__ = ["ALERT_KINDS", "ALERT_LABELS", "REALERT_DEFAULTS", "alert", "classify", "key_of",
           "lineage_text", "re_alerted_keys", "snapshot", "with_snapshot"]

ALERT_KINDS = ("new", "recurring", "grown", "shrunk", "re-alerted", "new evidence", "quiet")
#: Each kind's badge, Chinese and English.
ALERT_LABELS = {"new": ("新案件", "new"), "recurring": ("延续", "recurring"),
                "grown": ("增长", "grown"), "shrunk": ("缩小", "shrunk"),
                "re-alerted": ("重新预警", "re-alerted"),
                "new evidence": ("新证据", "new evidence"), "quiet": ("静默", "quiet")}
#: App config keys and their defaults: a dismissed case re-alerts when it gained this
#: many core members, or its amount rose by this share of the amount at dismissal, or
#: it gained this many occasions.
REALERT_DEFAULTS = {"REALERT_MIN_MEMBERS": 3, "REALERT_MIN_AMOUNT_SHARE": 0.5,
                    "REALERT_MIN_OCCASIONS": 2}
#: The decision each status was set by, in the alert's words.
_SINCE = {"dismissed": ("排除", "dismissal"), "confirmed": ("确认", "confirmation"),
          "referred": ("移送", "referral"), "in_review": ("开始核查", "review began")}


def key_of(case: dict, run_id: str) -> str:
    """The case's key: its own, or the one minted for it (a run made before keys).

    >>> key_of({"case_id": "R-0003"}, "run-277ef379eb95")
    '277ef379-R-0003'
    """
    return case.get("case_key") or mint_key(run_id, case["case_id"])


def snapshot(case: dict, run_id: str) -> dict:
    """The case as it stands, as a decision keeps it: core members, claims, amount,
    occasions, and where it was seen.

    >>> snapshot({"case_id": "R-1", "claim_ids": ["C1"], "metrics": {"occasions": 3},
    ...           "members": [{"kind": "patient", "id": "P1", "role": "member"}]}, "run-1")
    {'run_id': 'run-1', 'case_id': 'R-1', 'members': [['patient', 'P1']], 'claims': 1, \
'total_amount': 0.0, 'occasions': 3}
    """
    return {"run_id": run_id, "case_id": case["case_id"],
            "members": [list(m) for m in sorted(core_members(case))],
            "claims": len(case["claim_ids"]), "total_amount": total_amount(case),
            "occasions": int((case.get("metrics") or {}).get("occasions") or 0)}


def with_snapshot(note: dict | None, runs) -> dict | None:
    """``note``, with the snapshot of the case it was written on if it kept none (a note
    from before snapshots) and ``runs`` (a :class:`graphdetect.runs.Runs`) holds that run."""
    if note is None or note.get("snapshot") is not None or runs is None:
        return note
    try:
        cases = runs.cases(note["run_id"])
    except RunError:
        return note
    case = next((c for c in cases if c["case_id"] == note["case_id"]), None)
    return note if case is None else {**note, "snapshot": snapshot(case, note["run_id"])}


def re_alerted_keys(runs, store, *, limits: dict | None = None,
                    today: date | None = None) -> set[str]:
    """The keys of the newest run's cases that are re-alerted (dismissed, grown since).

    ``runs`` is a :class:`graphdetect.runs.Runs`, ``store`` a :class:`.ReviewStore`;
    ``today`` defaults to the machine's date.
    """
    states, lasts = store.states(), store.last_decisions()
    today = today or date.today()
    return {c["case_key"] for c in runs.newest.cases
            if classify(c, states.get(c["case_key"]), with_snapshot(lasts.get(c["case_key"]),
                                                                    runs), limits, today)[0]
            == "re-alerted"}


def _since(case: dict, snap: dict) -> dict:
    """What the case gained since ``snap``: core members, claims, amount, occasions."""
    then = {tuple(m) for m in snap.get("members") or ()}
    now = snapshot(case, snap.get("run_id", ""))
    return {"members": len(core_members(case) - then),
            "claims": now["claims"] - int(snap.get("claims") or 0),
            "amount": round(now["total_amount"] - float(snap.get("total_amount") or 0), 2),
            "occasions": now["occasions"] - int(snap.get("occasions") or 0)}


def _material(gain: dict, snap: dict, limits: dict) -> bool:
    lim = {**REALERT_DEFAULTS, **(limits or {})}
    before = float(snap.get("total_amount") or 0)
    return (gain["members"] >= lim["REALERT_MIN_MEMBERS"]
            or (before > 0 and gain["amount"] >= lim["REALERT_MIN_AMOUNT_SHARE"] * before)
            or gain["occasions"] >= lim["REALERT_MIN_OCCASIONS"])


def classify(case: dict, state_row: dict | None, last_decision: dict | None,
             limits: dict | None, today: date) -> tuple[str, dict | None, bool]:
    """The alert kind of a case, the gains it rests on (None: the lineage's delta
    tells), and whether a suppression holds.

    ``last_decision`` is the note that set the status (:meth:`.ReviewStore.last_decision`);
    without its snapshot, a dismissed case stays quiet and a decided one shows its
    lineage state.
    """
    status = (state_row or {}).get("status") or "new"
    note = last_decision or {}
    snap = note.get("snapshot")
    if status == "dismissed":
        until = note.get("suppress_until")
        if until and today <= date.fromisoformat(until):
            return "quiet", None, True
        if snap is None:
            return "quiet", None, False
        gain = _since(case, snap)
        return ("re-alerted" if _material(gain, snap, limits) else "quiet"), gain, False
    if status in ("in_review", "confirmed", "referred") and snap is not None:
        gain = _since(case, snap)
        if gain["members"] > 0 or gain["claims"] > 0:
            return "new evidence", gain, False
    return (case.get("lineage") or {}).get("state") or "new", None, False


def alert(case: dict, state_row: dict | None, last_decision: dict | None, limits: dict | None,
          today: date) -> dict:
    """The case's alert: ``{"kind", "text_zh", "text_en"}``.

    Parameters
    ----------
    case : dict
        The case of the run shown (with ``lineage``; without it, a new case).
    state_row : dict or None
        Its state (:meth:`.ReviewStore.state`); None: new.
    last_decision : dict or None
        The note that set the status, its ``reason`` as the viewer may read it.
    limits : dict or None
        Re-alert thresholds (:data:`REALERT_DEFAULTS` keys); missing ones default.
    today : datetime.date
        The bureau's today, for suppressions.

    Examples
    --------
    >>> ring = {"case_id": "R-2", "claim_ids": ["C1", "C2"], "metrics": {"total_amount": 3e5},
    ...         "members": [{"kind": "patient", "id": p, "role": "member"} for p in "abcdefgh"]}
    >>> note = {"created_at": "2024-03-02T08:00:00+00:00", "reason": "家属陪护",
    ...         "status_to": "dismissed", "suppress_until": None,
    ...         "snapshot": {"members": [["patient", p] for p in "ab"], "claims": 2,
    ...                      "total_amount": 2e5, "occasions": 0}}
    >>> a = alert(ring, {"status": "dismissed"}, note, None, date(2024, 4, 1))
    >>> a["kind"]
    're-alerted'
    >>> a["text_en"]
    're-alerted: +6 members, +¥100,000 since dismissal on 2024-03-02 (reason: 家属陪护)'
    >>> a["text_zh"]
    '重新预警：自 2024-03-02 排除以来成员 +6，金额 +¥100,000（排除理由：家属陪护）'
    """
    kind, gain, suppressed = classify(case, state_row, last_decision, limits, today)
    texts = {lang: (_decided(kind, gain, suppressed, last_decision or {}, lang)
                    if kind in ("re-alerted", "quiet", "new evidence")
                    else _lineage(kind, case.get("lineage") or {}, lang))
             for lang in ("zh", "en")}
    return {"kind": kind, "text_zh": texts["zh"], "text_en": texts["en"]}


def _decided(kind: str, gain: dict | None, suppressed: bool, note: dict, lang: str) -> str:
    """The words of an alert measured against a decision."""
    zh = lang == "zh"
    on = (note.get("created_at") or "")[:10]
    if kind == "new evidence":
        word = _SINCE.get(note.get("status_to"), ("决定", "decision"))[0 if zh else 1]
        return (f"新证据：自 {on} {word}以来{_gains(gain, lang)}" if zh
                else f"new evidence since {word} on {on}: {_gains(gain, lang)}")
    reason = note.get("reason") or ""
    quoted = (f"（排除理由：{reason}）" if zh else f" (reason: {reason})") if reason else ""
    if kind == "re-alerted":
        return (f"重新预警：自 {on} 排除以来{_gains(gain, lang)}{quoted}" if zh
                else f"re-alerted: {_gains(gain, lang)} since dismissal on {on}{quoted}")
    if suppressed:
        until = note["suppress_until"]
        return (f"静默：{on} 已排除，暂停预警至 {until}{quoted}" if zh
                else f"quiet: dismissed on {on}, re-alerts suppressed until {until}{quoted}")
    return (f"静默：{on} 已排除，此后无实质增长{quoted}" if zh
            else f"quiet: dismissed on {on}, not grown materially since{quoted}")


def lineage_text(lin: dict, lang: str) -> str:
    """What changed since the last run, in words: a case's ``lineage`` (or a row of
    :meth:`graphdetect.runs.Runs.history`), ``lang`` ``zh`` or ``en``.

    >>> lineage_text({"state": "new", "split_from": "277ef379-R-0003"}, "en")
    'new: split from 277ef379-R-0003'
    """
    return _lineage(lin.get("state") or "new", lin, lang)


def _lineage(kind: str, lin: dict, lang: str) -> str:
    zh = lang == "zh"
    delta = lin.get("delta") or {}
    if kind == "new":
        split = lin.get("split_from")
        text = ("新案件" if not split else f"新案件：由 {split} 拆分而来") if zh \
            else ("new case" if not split else f"new: split from {split}")
    elif kind == "recurring":
        text = "延续上期：无新增成员或结算" if zh else "recurring: no new members or claims"
    else:
        lost = delta.get("lost_members", 0) if kind == "shrunk" else 0
        change = {"members": delta.get("members", 0) - lost, "claims": delta.get("claims", 0),
                  "amount": delta.get("amount", 0.0)}
        text = (f"较上期{'增长' if kind == 'grown' else '缩小'}：{_gains(change, lang)}" if zh
                else f"{kind} since the last run: {_gains(change, lang)}")
    merged = lin.get("merged_from") or []
    if merged:
        text += (f"；由 {'、'.join(merged)} 合并而来" if zh
                 else f"; merged from {' and '.join(merged)}")
    return text


def _gains(gain: dict | None, lang: str) -> str:
    """``+6 members, +31 claims, +¥84,000`` (what changed, in that order; none: none)."""
    parts = []
    names = {"members": ("成员", "member"), "claims": ("结算", "claim"),
             "occasions": ("场次", "occasion")}
    for key in ("members", "claims", "occasions"):
        n = (gain or {}).get(key) or 0
        if n:
            zh, en = names[key]
            signed = f"{'+' if n > 0 else '−'}{abs(n)}"
            parts.append(f"{zh} {signed}" if lang == "zh"
                         else f"{signed} {en}{'' if abs(n) == 1 else 's'}")
    amount = (gain or {}).get("amount") or 0
    if amount:
        parts.append(("金额 " if lang == "zh" else "") + ("+" if amount > 0 else "−")
                     + money(abs(amount), 0))
    if not parts:
        return "无变化" if lang == "zh" else "no change"
    return ("，" if lang == "zh" else ", ").join(parts)
