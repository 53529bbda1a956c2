"""The page of a KoBo export in a partner's feedback report, from ``raw_kobo``: counts, the reasons
interviews were set aside with their fixes, answers that could not be used, and the survey. Counts and
codes only: the interviews stay in ``raw_kobo_restricted``.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ingestion.kobo.validation import NO_STATUS, set_aside_by_status, status_counts
from ingestion.partners.document import Code, Document, Strong, compose, rich
from ingestion.partners.i18n import N_, Nn_, Translator
from ingestion.warehouse import fetch_dicts


@dataclass(frozen=True)
class KoboReason:
    """Why a KoBo interview (submission) was set aside, in the words the partner reads (English msgids,
    translated where shown)."""

    counted: tuple[str, str]  # ("{count} pilot interview before ...", "{count} pilot interviews before ..."): ngettext
    explanation: str
    fix: str


# The reasons ingestion.kobo gives in raw_kobo.exclusions (submissions and repeat rows), in the
# order a partner should read them: what needs their action first, then what is expected.
KOBO_REASONS: dict[str, KoboReason] = {
    "malformed_row": KoboReason(
        Nn_("{count} unreadable row", "{count} unreadable rows"),
        N_("The row could not be read as an interview: it has more or fewer cells than the column names."),
        N_("Export the data again from KoBoToolbox and send the file without editing it. If it happens again, tell us."),
    ),
    "missing_key": KoboReason(
        Nn_("{count} interview without its KoBo identifier", "{count} interviews without their KoBo identifier"),
        N_("The row has no `_uuid` (nor `meta/rootUuid`), so it cannot be told apart from other interviews or from "
           "its later edits."),
        N_("Export again from KoBoToolbox keeping every meta column (`_uuid`, `_id`, `_submission_time`)."),
    ),
    "field_conflict": KoboReason(
        Nn_("{count} interview answering one question twice, differently", "{count} interviews answering one question twice, differently"),
        N_("The interview answers the same question in two places of the form (a question that moved between form "
           "versions), with two different answers; we cannot tell which is right."),
        N_("Correct the interview in KoBoToolbox so that only one place is answered, then export again."),
    ),
    "conflicting_duplicate": KoboReason(
        Nn_("{count} interview sent twice with different answers", "{count} interviews sent twice with different answers"),
        N_("Several copies of one interview (the same KoBo identifier) have different answers, and no edit says which "
           "one replaces the others, so none of them is used."),
        N_("In KoBoToolbox, delete the wrong copies (or edit the interview) and export again."),
    ),
    "not_approved": KoboReason(
        Nn_("{count} interview not approved", "{count} interviews not approved"),
        N_("A supervisor set the interview's validation status to `Not Approved` in KoBoToolbox."),
        N_("Nothing to do if the decision stands. If the interview was checked and is fine, change its validation "
           "status in KoBoToolbox and export again."),
    ),
    "on_hold": KoboReason(
        Nn_("{count} interview on hold", "{count} interviews on hold"),
        N_("A supervisor set the interview's validation status to `On Hold` in KoBoToolbox, and your survey contract "
           "publishes approved interviews only."),
        N_("Once the interview is checked, set its validation status to `Approved` in KoBoToolbox and export again."),
    ),
    "not_validated": KoboReason(
        Nn_("{count} interview not yet validated", "{count} interviews not yet validated"),
        N_("The interview has no validation status in KoBoToolbox, and your survey contract publishes approved "
           "interviews only."),
        N_("Once the interview is checked, set its validation status to `Approved` in KoBoToolbox and export again."),
    ),
    "test_before_launch": KoboReason(
        Nn_("{count} pilot interview before the launch date", "{count} pilot interviews before the launch date"),
        N_("The interview was submitted before the survey's launch date in its survey contract, so it counts as a "
           "pilot (practice) interview."),
        N_("Nothing to do if these were practice interviews. If the launch date is wrong, tell us the right one and "
           "we will correct the survey contract."),
    ),
    "test_tagged": KoboReason(
        Nn_("{count} interview tagged as a test", "{count} interviews tagged as tests"),
        N_("The interview carries a tag in KoBoToolbox that your survey contract reserves for test interviews "
           "(such as `test` or `pilot`)."),
        N_("Nothing to do if it was a test. If it is a real interview, remove the tag in KoBoToolbox and export again."),
    ),
    "duplicate": KoboReason(
        Nn_("{count} re-sent copy of an interview", "{count} re-sent copies of interviews"),
        N_("The same interview, with the same answers, is in the file more than once (usually a phone sent it "
           "twice). The first copy was kept."),
        N_("Nothing to do."),
    ),
    "superseded_edit": KoboReason(
        Nn_("{count} earlier version replaced by an edit", "{count} earlier versions replaced by an edit"),
        N_("The interview was edited in KoBoToolbox and the file holds both versions; the edited one was kept."),
        N_("Nothing to do."),
    ),
    "orphan_repeat_row": KoboReason(
        Nn_("{count} repeat-group row without its interview", "{count} repeat-group rows without their interview"),
        N_("A row of a repeat group (for example a household member) refers to no interview of the file."),
        N_("Export again from KoBoToolbox as XLS with every sheet and without removing columns (`_index`, "
           "`_parent_index`)."),
    ),
    "parent_excluded": KoboReason(
        Nn_("{count} repeat-group row of an interview set aside", "{count} repeat-group rows of interviews set aside"),
        N_("The row belongs to an interview that was set aside for one of the reasons above."),
        N_("Nothing more to do than for its interview."),
    ),
}

# The reason a partner reads for an interview set aside by the survey's validation status policy
# (ingestion.kobo.validation), by its status; an approved interview is never set aside.
POLICY_REASONS = {"not_approved": "not_approved", "on_hold": "on_hold", NO_STATUS: "not_validated"}
# KoBoToolbox's own words for each validation status.
# Translators: KoBoToolbox's interface says Approved, On Hold and Not Approved; use its words in your language.
STATUS_LABELS = {"approved": N_("Approved"), "on_hold": N_("On Hold"), "not_approved": N_("Not Approved"),
                 NO_STATUS: N_("no status (not validated)")}
POLICY_TEXT = {"all_but_not_approved": N_("every interview except those `Not Approved`"),
               "approved_only": N_("only the interviews a supervisor marked `Approved`")}


def policy_reasons(counts: dict[str, dict[str, int]]) -> dict[str, int]:
    """Reason -> interviews the validation status policy set aside (``ingestion.kobo.validation.status_counts``)."""
    return {POLICY_REASONS.get(status, f"validation_status_{status}"): n
            for status, n in set_aside_by_status(counts).items()}


# What a KoBo answer problem counted in raw_kobo.field_issues means; the answer itself is never shown.
KOBO_FIELD_ISSUES: dict[str, str] = {
    "unmapped_code": N_("a choice that is not in the survey contract's list (kept as `unmapped`)"),
    "out_of_range": N_("a number outside the range agreed in the survey contract (left empty)"),
    "invalid_integer": N_("not a whole number (left empty)"),
    "invalid_decimal": N_("not a number (left empty)"),
    "invalid_date": N_("not a date (left empty)"),
    "multiple_choices_in_select_one": N_("several choices for a single-choice question (left empty)"),
    "summary_mismatch": N_("the summary column disagrees with the one-column-per-choice columns (those were used)"),
    "summary_only": N_("only the summary column was filled, not the one-column-per-choice columns (the summary was used)"),
    "invalid_timestamp": N_("a submission time that could not be read"),
}


def kobo_summary(tr: Translator, read: int, landed: int, exclusions: list[tuple[str, int]]) -> str:
    """'320 interviews kept, 14 set aside: 4 pilot interviews before the launch date, ...' (largest first)."""
    kept = tr.ngettext("{count} interview kept", "{count} interviews kept", landed)
    if read == landed:
        return tr.gettext("{kept}, none set aside.").format(kept=kept)
    order = list(KOBO_REASONS)
    parts = [tr.ngettext(*KOBO_REASONS[reason].counted, n) if reason in KOBO_REASONS else f"{tr.number(n)} × {reason}"
             for reason, n in sorted(exclusions, key=lambda item: (-item[1], order.index(item[0])
                                                                   if item[0] in order else len(order)))]
    return tr.gettext("{kept}, {count} set aside: {reasons}.").format(
        kept=kept, count=tr.number(read - landed), reasons=", ".join(parts))


def kobo_sections(con: duckdb.DuckDBPyConnection, doc: Document, row: dict, tr: Translator) -> None:
    """A KoBo export's page, from raw_kobo: counts, reasons and fixes, answers we could not use, and
    the survey. Counts and codes only: the interviews stay in raw_kobo_restricted."""
    _, number = tr.gettext, tr.number
    if not row["landed_batch_id"]:
        return
    source_id = f"{row['partner_id']}/{row['source_file']}"
    loads = fetch_dicts(con, """
        select l.survey_id, s.title, s.published_validation_statuses as policy, l.submissions_read,
               l.repeat_rows_read, l.repeat_rows_landed, len(l.form_versions) as form_versions
        from raw_kobo.loads l left join raw_kobo.surveys s using (survey_id)
        where l.source_id = ? and l.batch_id = ?""", [source_id, row["landed_batch_id"]])
    if not loads:
        return
    load = loads[0]
    key = [load["survey_id"], source_id, row["landed_batch_id"]]
    exclusions = fetch_dicts(con, """
        select unit, reason, row_count, detail from raw_kobo.exclusions
        where survey_id = ? and source_id = ? and batch_id = ? order by unit desc, reason""", key)
    statuses = status_counts(con, load["survey_id"], source_id)  # of the version in use: its rows are landed
    exclusions += [{"unit": "submission", "reason": reason, "row_count": n, "detail": None}
                   for reason, n in policy_reasons(statuses).items()]
    kept = sum(item["published"] for item in statuses.values())
    submissions = [(item["reason"], item["row_count"]) for item in exclusions if item["unit"] == "submission"]
    if row["status"] in ("loaded", "loaded_with_rejections"):
        doc.para(kobo_summary(tr, load["submissions_read"], kept, submissions))
    doc.heading(2, _("In numbers") if row["landed_sha256"] == row["sha256"] else _("In numbers (the version in use)"))
    table = [[_("interviews in the file (KoBo submissions)"), number(load["submissions_read"])],
             [_("interviews kept"), number(kept)],
             [_("interviews set aside"), number(load["submissions_read"] - kept)]]
    if load["repeat_rows_read"]:
        table += [[_("repeat-group rows kept"), number(load["repeat_rows_landed"])],
                  [_("repeat-group rows set aside"), number(load["repeat_rows_read"] - load["repeat_rows_landed"])]]
    doc.table(["", _("count")], table)
    _status_section(doc, tr, load["policy"], statuses)
    order = list(KOBO_REASONS)
    exclusions.sort(key=lambda item: (item["unit"] != "submission", -item["row_count"],
                                      order.index(item["reason"]) if item["reason"] in order else len(order)))
    if exclusions:
        doc.heading(2, _("Why interviews were set aside"))
        doc.para(_("Set-aside interviews are not counted in any figure. Where a fix is needed, correct the interviews in "
                   "KoBoToolbox and send a new export of the whole survey; it replaces this one."))
    for item in exclusions:
        reason = KOBO_REASONS.get(item["reason"])
        title = (tr.ngettext(*reason.counted, item["row_count"]) if reason
                 else f"{number(item['row_count'])} × {item['reason']}")
        doc.heading(3, [title[0].upper() + title[1:] + " (", Code(item["reason"]), ")"])
        if reason:
            doc.para(compose(_("What happened: {explanation}"), explanation=rich(_(reason.explanation))))
            doc.para(compose(_("How to fix it: {fix}"), fix=rich(_(reason.fix))))
        if item["detail"]:  # row numbers only (ingestion.kobo never puts answers there)
            doc.para(_("Where in the file: {detail}.").format(detail=item["detail"]))
    issues = fetch_dicts(con, """
        select field, issue, row_count from raw_kobo.field_issues
        where survey_id = ? and source_id = ? and batch_id = ? order by field, issue""", key)
    if issues:
        doc.heading(2, _("Answers we could not use"))
        doc.para(_("These interviews were kept, but one answer was not usable as written. Please check the form or "
                   "the survey contract."))
        doc.table([_("question"), _("problem"), _("interviews")],
                  [[Code(item["field"]), rich(_(meaning) if (meaning := KOBO_FIELD_ISSUES.get(item["issue"])) else item["issue"]),
                    number(item["row_count"])] for item in issues])
    indicators = fetch_dicts(con, """
        select series_code, coalesce(description, series_code) as description from raw_kobo.indicator_definitions
        where survey_id = ? order by series_code""", [load["survey_id"]])
    doc.heading(2, _("What we compute from it"))
    doc.para(compose(_("Survey {title} (survey contract {survey}), {versions} form version(s) in the file. Figures are "
                       "published for groups of people, never for one person, and only for groups large enough not "
                       "to point at anyone."),
                     title=Strong(load["title"] or load["survey_id"]), survey=Code(load["survey_id"]),
                     versions=number(load["form_versions"])))
    doc.items([[Code(item["series_code"]), ": ", item["description"]] for item in indicators])


def _status_section(doc: Document, tr: Translator, policy: str | None, statuses: dict[str, dict[str, int]]) -> None:
    """The interviews by validation status in KoBoToolbox, and how many of each the survey's policy uses."""
    _, number = tr.gettext, tr.number
    doc.heading(2, _("By validation status"))
    policy_text = _(POLICY_TEXT[policy]) if policy in POLICY_TEXT else f"`{policy}`"
    doc.para(compose(_("Your survey contract publishes {policy}. Counted among the interviews not set aside for "
                       "another reason."), policy=rich(policy_text)))
    doc.table([_("validation status in KoBoToolbox"), _("interviews"), _("used"), _("set aside")],
              [[_(STATUS_LABELS[status]) if status in STATUS_LABELS else status, number(item["landed"]),
                number(item["published"]), number(item["set_aside"])] for status, item in statuses.items()])
