"""The one table of what the generator plants: every variant, its count and its parameters.

Each planted group and each look-alike draws its own parameters from the ranges below
(``_params.draw``); ``generate(fix=...)`` pins one of them for sweeps, within
``Param.fix_range``.
The README's tables, the argument checks and the truth's ``params`` all come from here.
"""

from __future__ import annotations

from ._params import Lookalike, Variant
from ._params import real as _f
from ._params import whole as _i

__all__ = ["VARIANTS", "LOOKALIKES", "markdown_table"]

_RECRUIT = {"villages": _i(1, 3, "nearest villages the recruits come from"),
            "elderly_weight": _f(2, 10, "weight of people aged 60+ when recruiting", digits=2)}
_BILLS = {"stay_days": _i(4, 12, "length of stay (±1 per occasion, ±2 per person)"),
          "bill": _f(2000, 12000, "mean bill, yuan", digits=0),
          "bill_cv": _f(0.01, 0.12, "coefficient of variation of the bills"),
          "codes": _i(1, 3, "diagnosis codes used")}
_OCCASIONS = {"doctors": _i(1, 3, "doctors of the host who admit"),
              "occasions": _i(4, 10, "admission occasions (fewer when the period is short)"),
              "gap_days": _i(21, 60, "least days between occasions (and at least the longest "
                                     "stay + spread + 7)")}
_IDENTITY = {"villages": _i(1, 4, "villages the people come from"),
             "interval_weeks": _i(1, 3, "weeks between the settlement days"),
             "attendance": _f(0.3, 0.8, "share of the people settled on each of those days"),
             "doctors": _i(1, 2, "doctors of the clinic"),
             "bill": _f(30, 150, "median bill, yuan", digits=0),
             "bill_sigma": _f(0.1, 0.4, "lognormal spread of the bills"),
             "codes": _i(1, 3, "diagnosis codes used")}
_STAY = {"first_days": _i(6, 15, "length of the first (county or city) stay"),
         "second_days": _i(3, 10, "length of the second stay, admitted during the first")}

VARIANTS: dict[str, Variant] = {
    "batch_admission": Variant("collusion_ring", 6, (
        "a private hospital (or a health centre, 30%) and its doctors admit recruited, mostly "
        "elderly villagers together, the same morning minutes apart, again and again"), {
        "members": _i(8, 30, "recruits"), **_RECRUIT, **_OCCASIONS,
        "attendance": _f(0.55, 0.95, "share of the recruits admitted per occasion (±0.05)"),
        "admit_gap_minutes": _f(2, 10, "mean minutes between two admissions (less when they "
                                       "would run past 14:00)", digits=1),
        **_BILLS}),
    "spread_week": Variant("collusion_ring", 4, (
        "the same, but each occasion's admissions are spread over a few days at normal "
        "hours"), {
        "members": _i(8, 30, "recruits"), **_RECRUIT, **_OCCASIONS,
        "attendance": _f(0.55, 0.95, "share of the recruits admitted per occasion (±0.05)"),
        "spread_days": _i(3, 7, "days an occasion's admissions are spread over"), **_BILLS}),
    "partial_pool": Variant("collusion_ring", 3, (
        "a large recruited pool of whom each occasion brings in only a part, the same "
        "morning or spread over a few days"), {
        "pool": _i(60, 120, "recruits"), **{**_RECRUIT, "villages": _i(1, 4, "nearest "
                                                                        "villages")},
        **{**_OCCASIONS, "occasions": _i(5, 12, "admission occasions (fewer in short "
                                                "periods)"),
           "gap_days": _i(21, 45, "least days between occasions (and at least the longest "
                                  "stay + spread + 7)")},
        "attendance": _f(0.25, 0.45, "share of the pool admitted per occasion (±0.03)",
                         fix=(0.25, 1.0)),
        "spread_days": _i(1, 5, "days an occasion is spread over (1: one morning, minutes "
                                "apart)"),
        "admit_gap_minutes": _f(2, 10, "mean minutes between admissions of one morning (less "
                                       "when they would run past 14:00)", digits=1), **_BILLS}),
    "weekly_trickle": Variant("collusion_ring", 3, (
        "a small pool of whom a few are admitted every week, by the same doctors, for "
        "similar bills"), {
        "pool": _i(12, 20, "recruits"), **{**_RECRUIT, "villages": _i(1, 2, "nearest "
                                                                        "villages")},
        "doctors": _i(1, 2, "doctors who admit"),
        "weeks": _i(8, 20, "weeks with admissions (fewer when the period is short)"),
        "per_week": _i(3, 5, "admissions a week (fewer when too few have been home a week)"),
        "spacing_days": _i(6, 8, "days from one week's admissions to the next",
                           weights=(0.2, 0.6, 0.2)),
        "spacing_jitter": _i(0, 1, "days a spacing may differ by (0: exactly spacing_days)",
                             weights=(0.6, 0.4)),
        "stay_days": _i(3, 7, "length of stay (±1 per person)"),
        "bill": _f(1500, 6000, "mean bill, yuan", digits=0),
        "bill_cv": _f(0.01, 0.08, "coefficient of variation of the bills"),
        "codes": _i(1, 2, "diagnosis codes used")}),
    "multi_site": Variant("collusion_ring", 3, (
        "a ring working 2-3 nearby private hospitals / health centres: one doctor (on the "
        "doctors table at his home site) bills at every site; the same recruits are admitted "
        "at the sites in turn"), {
        "sites": _i(2, 3, "cooperating institutions"), "recruits": _i(10, 30, "recruits"),
        **_RECRUIT, "occasions": _i(5, 10, "occasions, each at the next site in turn"),
        "gap_days": _i(21, 45, "least days between occasions"),
        "attendance": _f(0.5, 0.9, "share of the recruits admitted per occasion (±0.05)"),
        "spread_days": _i(1, 3, "days an occasion's admissions are spread over"),
        "shared_share": _f(0.5, 1.0, "share of stays under the shared doctor (the rest under "
                                     "the site's own doctor)"),
        **{**_BILLS, "stay_days": _i(4, 10, "length of stay (±1 per occasion, ±2 per "
                                            "person)")}}),
    "pharmacy_after_hours": Variant("card_pooling", 6, (
        "a pharmacy holds many far-away people's cards and swipes them at night on one "
        "terminal by one cashier"), {
        "holders": _i(20, 60, "cards held"),
        "far_villages": _i(2, 6, "far-away villages most holders come from"),
        "far_share": _f(0.5, 0.9, "share of holders from those villages"),
        "core_share": _f(0.0, 0.9, "share of holders swiped five times as often (0: the "
                                   "cards in even rotation)"),
        "nights": _i(5, 15, "nights with a run (at most one per 10 days of the period)"),
        "run_size": _i(10, 40, "cards per run (±30%)"),
        "gap_minutes": _f(1, 5, "mean minutes between swipes (±50%)", digits=2),
        "late_share": _f(0.4, 0.9, "share of runs at 21:30-23:00 (the rest 01:00-04:00)"),
        "base": _i(100, 400, "base amount, yuan"),
        "jitter_yuan": _i(0, 5, "amounts vary by up to this many whole yuan"),
        "in_hospital": _i(1, 3, "holders in hospital elsewhere during one of the runs")}),
    "pharmacy_daytime": Variant("card_pooling", 4, (
        "a pharmacy swipes runs of pooled cards during opening hours (8:00-21:00) across "
        "several terminals with varying cashiers"), {
        "run_size": _i(20, 40, "cards per run (±15%; fewer when the run would pass 21:00)"),
        "holders_ratio": _f(1.0, 1.8, "cards held per card of a run", digits=2),
        "far_villages": _i(2, 6, "far-away villages most holders come from"),
        "far_share": _f(0.6, 0.9, "share of holders from those villages"),
        "runs": _i(5, 15, "days with a run (distinct days)"),
        "terminals": _i(2, 3, "terminals the runs are spread over"),
        "operators": _i(2, 4, "cashiers who staff those terminals, varying run by run"),
        "gap_minutes": _f(2, 30, "centre of the group's range of minutes between swipes",
                          digits=2),
        "gap_spread": _f(0.1, 0.6, "that range is gap_minutes × (1 ± gap_spread), inside "
                                   "2-30"),
        "base": _i(80, 400, "base amount, yuan"),
        "amount_spread": _f(0.05, 0.15, "amounts vary uniformly by ± this share of base")}),
    "phantom_billing": Variant("card_pooling", 3, (
        "a village doctor bills outpatient visits nobody made on many villagers' cards, in "
        "runs spread over the clinic's terminals and cashiers swipe by swipe"), {
        "members": _i(15, 40, "villagers whose cards are used (adults; elderly and rare "
                              "visitors weighted)"),
        "days": _i(4, 15, "days with a run (at most one per 10 days of the period)"),
        "attendance": _f(0.5, 0.9, "share of the members billed per day"),
        "terminals": _i(1, 3, "terminals alternated swipe by swipe"),
        "operators": _i(1, 3, "cashiers alternated swipe by swipe"),
        "gap_minutes": _f(1, 10, "mean minutes between swipes (±50%)", digits=2),
        "evening_share": _f(0.0, 0.6, "share of runs in the evening (the rest afternoon)"),
        "base": _i(30, 120, "base amount, yuan (±1)"),
        "codes": _i(1, 3, "diagnosis codes used")}),
    "bussed_elderly": Variant("outpatient_gathering", 3, (
        "聚集性就医 without admission: elderly villagers brought in together, seen minutes "
        "apart one morning by one doctor, for near-identical high bills"), {
        "people": _i(12, 30, "people aged 60+"), "villages": _i(1, 2, "villages"),
        "occasions": _i(6, 15, "occasions (fewer when the period is short)"),
        "interval_days": _i(7, 21, "days between occasions"),
        "attendance": _f(0.7, 1.0, "share of the people brought on each occasion"),
        "doctors": _i(1, 2, "doctors who see them", weights=(0.75, 0.25)),
        "gap_minutes": _f(1, 6, "mean minutes between visits (±50%)", digits=2),
        "bill": _f(400, 1500, "bill, yuan", digits=0),
        "bill_cv": _f(0.0, 0.05, "coefficient of variation of the bills (0 in ~30%)",
                      at_lo=0.3),
        "codes": _i(1, 2, "diagnosis codes used")}),
    "shared_phone": Variant("shared_identity", 3, (
        "多户头 / 冒名就医: insured people of several households whose patients-table phone is "
        "one value (the fraudster's), all settled at one clinic or village clinic"), {
        "people": _i(15, 60, "people (all ages from 5)"), **_IDENTITY}),
    "shared_address": Variant("shared_identity", 3, (
        "the same with one address that is neither a household nor a care home"), {
        "people": _i(15, 40, "people (all ages from 5)"), **_IDENTITY}),
    "two_institutions": Variant("concurrent_stay", 8, (
        "a person (45+) in a county/city hospital bed and admitted to a private hospital or "
        "health centre during it"), dict(_STAY)),
    "two_institutions_pharmacy": Variant("concurrent_stay", 7, (
        "the same, plus a pharmacy purchase during the first stay"), dict(_STAY)),
    "readmission_same_diagnosis": Variant("split_stay", 15, (
        "discharge and readmission to the same place 0-2 days later with the same diagnosis "
        "and doctor (same day: readmitted in the afternoon)"), {
        "first_days": _i(5, 14, "length of the first stay"),
        "gap_days": _i(0, 2, "days from discharge to readmission"),
        "second_days": _i(3, 10, "length of the second stay")}),
}

LOOKALIKES: dict[str, Lookalike] = {
    "dialysis": Lookalike("thrice_weekly", 1.5, (
        "a dialysis unit at a tertiary or county 人民医院 (capped by their number): N18.5 "
        "patients Mon/Wed/Fri or Tue/Thu/Sat, morning or afternoon shift, 2-3 nephrologists, "
        "daytime"), {
        "patients": _i(15, 40, "patients"),
        "price": _f(380, 480, "session price, yuan (±3%; 10% +80)", digits=0),
        "late_share": _f(0.05, 0.25, "share who start part-way through the period")}, least=1),
    "nursing_home": Lookalike("monthly_round", 3, (
        "residents (75+) share the home's address; one morning a month one health-centre "
        "doctor on one terminal sees them all, minutes apart, amounts by condition"), {
        "residents": _i(20, 60, "residents"),
        "attendance": _f(0.85, 1.0, "share seen each month"),
        "gap_minutes": _f(2, 6, "mean minutes between residents", digits=2)}),
    "checkup_day": Lookalike("school / elderly", 3, (
        "children (6-14) or elderly (65+) of one township checked at its health centre one "
        "morning, fixed package price (45 or 120 yuan, some +20), Z00.1/Z00.0"), {
        "people": _i(150, 450, "people checked"),
        "hours": _f(2, 5, "length of the session, hours", digits=2)}),
    "household": Lookalike("joint_visit", 100, (
        "1 per 200 people (at least 10): a family seen together, minutes apart, same doctor, "
        "same diagnosis"), least=10),
    "hub_hospital": Lookalike("busy_days", 0, (
        "each tertiary hospital and its 5 busiest days (no members, no claim ids)"), least=0),
    "rehab_course": Lookalike("ward_courses", 2, (
        "a rehabilitation ward (a private 康复医院 or a county 人民医院) readmits the same "
        "stroke patients (I69.x) together on a regular schedule for fixed-length courses, "
        "billed by package, under several rehabilitation doctors"), {
        "patients": _i(10, 30, "patients aged 50+ with stroke sequelae"),
        "interval_days": _i(80, 100, "days between course starts (±2)"),
        "course_days": _i(10, 16, "length of a course (±1 per patient)"),
        "attendance": _f(0.8, 1.0, "share of the patients on each course"),
        "doctors": _i(2, 4, "rehabilitation doctors"),
        "day_rate": _f(300, 700, "package price per day, yuan", digits=0),
        "bill_cv": _f(0.05, 0.15, "coefficient of variation of the bills")}, least=1),
    "chronic_followup": Lookalike("monthly_clinic", 3, (
        "one doctor's chronic-disease clinic day (a health centre or county hospital): the "
        "same I10 / E11.9 patients on a fixed day each month, spread over the day, ordinary "
        "bills"), {
        "patients": _i(20, 60, "patients"),
        "attendance": _f(0.7, 0.95, "share who come each month")}),
    "mobile_team": Lookalike("village_visit", 2, (
        "a county hospital's team visits one village on a fixed day each month and sees a "
        "changing subset of its people, several doctors, ordinary bills"), {
        "villagers": _i(30, 80, "people seen per visit"),
        "overlap": _f(0.3, 0.6, "share of a visit's people also seen on the visit before"),
        "doctors": _i(3, 5, "doctors of the team")}),
    "vaccination_day": Lookalike("campaign", 2, (
        "hundreds of people of a township vaccinated at its health centre on one or two days, "
        "near-identical low amounts, Z23"), {
        "people": _i(200, 600, "people"), "days": _i(1, 2, "consecutive days"),
        "price": _f(15, 60, "price, yuan", digits=1),
        "price_cv": _f(0.0, 0.02, "coefficient of variation of the amounts")}, least=1),
    "large_household": Lookalike("village_clinic", 5, (
        "a three-generation household of 8-12 (grandparents, parents, children) sharing "
        "phone and address, seen at its village clinic, sometimes several together"), {
        "size": _i(8, 12, "people"),
        "occasions": _i(4, 12, "visit days at the village clinic (1-4 people each)")}),
    "readmission": Lookalike("other_cause", 10, (
        "a person (40+) discharged from a county or city hospital and readmitted there 0-2 "
        "days later for another illness (another ICD chapter, another department's doctor; "
        "same day: in the afternoon)"), {
        "first_days": _i(3, 12, "length of the first stay"),
        "gap_days": _i(0, 2, "days from discharge to readmission"),
        "second_days": _i(3, 10, "length of the second stay")}),
    "treatment_course": Lookalike("physiotherapy / infusion", 2, (
        "a course room (version 5): a township health centre's physiotherapy on weekdays, or "
        "a clinic's infusions every day; each patient every day of a course of a few days "
        "to two weeks at one price (a package, a prescription), new patients starting as "
        "others finish, so a morning's patients are mostly the day before's"), {
        "in_course": _i(5, 25, "patients in a course on a day, on average (fewer where the "
                               "township has too few people)"),
        "course_days": _i(3, 14, "visits in a course (±2 per patient, at least 3)"),
        "price": _f(40, 250, "price per visit, yuan", digits=0),
        "price_cv": _f(0.0, 0.2, "coefficient of variation of the prices between patients"),
        "again_share": _f(0.0, 0.3, "share of the patients back for a second course")},
        least=1),
}


def _num(v: float) -> str:
    return f"{v:g}" if float(v) != int(v) else f"{int(v):,}"


def markdown_table() -> str:
    """The README tables of variants and look-alikes with their parameters and ranges."""
    def rows(table: dict, look: bool) -> list[str]:
        out = []
        for name, v in table.items():
            ps = []
            for pn, p in v.params.items():
                rng = f"{_num(p.lo)}-{_num(p.hi)}"
                if p.fix:
                    rng += f" (fix {_num(p.fix[0])}-{_num(p.fix[1])})"
                ps.append(f"`{pn}` {rng}: {p.doc}")
            count = f"{_num(v.per_20k)} (≥{v.least})" if v.per_20k else "each hub"
            head = f"| `{name}` | `{v.variant}` | {count} |" if look else \
                f"| `{v.kind}` | `{name}` | {count} |"
            out.append(f"{head} {v.doc} | {'; '.join(ps) or '-'} |")
        return out

    return "\n".join([
        "| kind | variant | per 20k (least) | what is planted | parameters (drawn per group) |",
        "|---|---|---|---|---|", *rows(VARIANTS, False), "",
        "| kind | variant | per 20k (least) | what it is | parameters (drawn per entry) |",
        "|---|---|---|---|---|", *rows(LOOKALIKES, True)])
