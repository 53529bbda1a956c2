"""Generate the bundled fictional KoBo survey: a CSV export in KoBo's exact shape and its XLSForm.

    .venv/bin/python scripts/make_kobo_sample.py [--export-dir DIR] [--form-dir DIR] [--out DIR]

The export is what the fictional partner community_wg_survey sends, so it goes to its inbox folder
(default data/inbox/community_wg_survey/, read through contracts/partners/community_wg_survey.yml);
the XLSForm is the survey's definition the data team keeps beside its survey contract (default
data/kobo/demo_wg_household_2025/; in the inbox it would be read as one more partner file).
``--out DIR`` writes both into DIR.

Everything is seeded, so running it again writes byte-identical files (the XLSX's zip timestamps
and document dates are fixed too). Every person is fictional: names are random pairs drawn from
lists of common Malian given names and family names, phone numbers use the prefix "+223 00",
which Malian mobile numbers never start with, and points are random offsets around region
centres. The survey is a household survey with the Washington Group Short Set on Functioning
(WG-SS), sex, age, region, urban/rural and displacement status, plus income questions.

The export deliberately contains the defects the landing rules exist for, in exact numbers
(see data/kobo/demo_wg_household_2025/README.md): test submissions before the launch date and
tagged "test", submissions "Not Approved", exact duplicates (re-sent submissions), edited
submissions present with the version they replaced, invalid and missing GPS points, and the
economy questions under two group names (form version 1: "livelihood", version 2: "economy").
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import uuid
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import openpyxl

SURVEY_ID = "demo_wg_household_2025"
PARTNER_ID = "community_wg_survey"  # the fictional organisation that runs the survey and sends the export
DATA = Path(__file__).resolve().parent.parent / "data"
DEFAULT_EXPORT_DIR = DATA / "inbox" / PARTNER_ID
DEFAULT_FORM_DIR = DATA / "kobo" / SURVEY_ID
SEED = 20250310
EN, FR = "English (en)", "Français (fr)"
VERSION_1 = "vQm7KfT3pXw9LrB2nD8sHa"  # KoBo's __version__ uids for the two deployments
VERSION_2 = "vR4tY8uWc2ZxN6mJ1bPqEs"
LAUNCH = datetime(2025, 3, 10, tzinfo=timezone.utc)
VERSION_2_FROM = datetime(2025, 4, 1, tzinfo=timezone.utc)
FIXED_ZIP_TIME = (2025, 6, 2, 0, 0, 0)

# The numbers the README and the tests rely on.
N_KEPT = 320  # distinct valid submissions (the edited versions included)
N_BEFORE_LAUNCH = 4  # pilot interviews before the launch date
N_TAGGED_TEST = 2  # after launch, tagged "test" by the supervisor
N_NOT_APPROVED = 3
N_DUPLICATES = 3  # re-sent copies of kept submissions
N_EDITS = 2  # kept submissions that were edited; the replaced version is in the file too
N_INVALID_GPS = 2  # kept submissions with an impossible point (flagged, kept)
N_OUTSIDE_GPS = 1  # kept submission with a possible point outside Mali (flagged, kept)
N_MISSING_GPS = 6  # kept submissions without a point

CHOICES: dict[str, list[tuple[str, str, str]]] = {
    "yes_no": [("yes", "Yes", "Oui"), ("no", "No", "Non")],
    "yes_no_dk": [("yes", "Yes", "Oui"), ("no", "No", "Non"), ("dont_know", "Don't know", "Ne sait pas")],
    "sex": [("female", "Female", "Féminin"), ("male", "Male", "Masculin")],
    "region": [
        ("bamako", "Bamako", "Bamako"), ("kayes", "Kayes", "Kayes"), ("koulikoro", "Koulikoro", "Koulikoro"),
        ("sikasso", "Sikasso", "Sikasso"), ("segou", "Ségou", "Ségou"), ("mopti", "Mopti", "Mopti"),
        ("tombouctou", "Timbuktu", "Tombouctou"), ("gao", "Gao", "Gao"),
    ],
    "area_type": [("urban", "Urban", "Urbain"), ("rural", "Rural", "Rural")],
    "displacement": [
        ("resident", "Resident, never displaced", "Résident, jamais déplacé"),
        ("idp", "Internally displaced", "Déplacé interne"),
        ("refugee", "Refugee or asylum seeker", "Réfugié ou demandeur d'asile"),
        ("returnee", "Returnee", "Rapatrié"),
    ],
    "wg_answer": [
        ("no_difficulty", "No difficulty", "Aucune difficulté"),
        ("some_difficulty", "Some difficulty", "Quelques difficultés"),
        ("a_lot_of_difficulty", "A lot of difficulty", "Beaucoup de difficultés"),
        ("cannot_do", "Cannot do at all", "Ne peut pas du tout"),
        ("dont_know", "Don't know", "Ne sait pas"),
        ("refused", "Refused", "Refus"),
    ],
    "income_source": [
        ("farming", "Farming", "Agriculture"), ("livestock", "Livestock", "Élevage"),
        ("trade", "Trade or small business", "Commerce ou petite entreprise"),
        ("wage_labour", "Wage labour", "Travail salarié"), ("remittances", "Remittances", "Transferts de fonds"),
        ("assistance", "Humanitarian assistance", "Aide humanitaire"), ("none", "No income", "Aucun revenu"),
    ],
    "barrier": [
        ("cost", "Cost", "Coût"), ("distance", "Distance", "Distance"),
        ("inaccessible_building", "Building not accessible", "Bâtiment non accessible"),
        ("no_transport", "No transport", "Pas de transport"),
        ("attitudes", "Attitudes of staff", "Attitude du personnel"),
        ("none", "No barrier", "Aucun obstacle"),
    ],
}

WG_QUESTIONS = [
    ("wg_seeing", "Do you have difficulty seeing, even if wearing glasses?",
     "Avez-vous des difficultés à voir, même si vous portez des lunettes ?"),
    ("wg_hearing", "Do you have difficulty hearing, even if using a hearing aid?",
     "Avez-vous des difficultés à entendre, même si vous utilisez un appareil auditif ?"),
    ("wg_walking", "Do you have difficulty walking or climbing steps?",
     "Avez-vous des difficultés à marcher ou à monter des marches ?"),
    ("wg_remembering", "Do you have difficulty remembering or concentrating?",
     "Avez-vous des difficultés à vous souvenir ou à vous concentrer ?"),
    ("wg_selfcare", "Do you have difficulty (with self-care such as) washing all over or dressing?",
     "Avez-vous des difficultés (pour prendre soin de vous, par exemple) à vous laver entièrement ou à vous habiller ?"),
    ("wg_communicating", "Using your usual (customary) language, do you have difficulty communicating, for example "
     "understanding or being understood?",
     "En utilisant votre langue habituelle, avez-vous des difficultés à communiquer, par exemple à comprendre les "
     "autres ou à vous faire comprendre ?"),
]


def economy_group(name: str, en: str, fr: str) -> list[tuple]:
    return [
        ("begin_group", name, en, fr, {}),
        ("select_one yes_no_dk", "lost_income", "In the past 12 months, did you lose all or part of your income?",
         "Au cours des 12 derniers mois, avez-vous perdu tout ou partie de vos revenus ?", {"required": "yes"}),
        ("select_multiple income_source", "income_sources", "What are your household's current sources of income?",
         "Quelles sont les sources de revenus actuelles de votre ménage ?", {"required": "yes"}),
        ("select_one yes_no_dk", "health_cost_hardship",
         "In the past 12 months, did health care costs force your household to cut spending on food or other basic needs?",
         "Au cours des 12 derniers mois, les frais de santé ont-ils obligé votre ménage à réduire ses dépenses "
         "de nourriture ou d'autres besoins essentiels ?", {"required": "yes"}),
        ("select_multiple barrier", "service_barriers",
         "What stopped you from using health services when you needed them?",
         "Qu'est-ce qui vous a empêché d'utiliser les services de santé quand vous en aviez besoin ?", {}),
        ("end_group", "", None, None, {}),
    ]


# (type, name, English label, French label, other columns); version 2 of the form.
SURVEY: list[tuple] = [
    ("start", "start", None, None, {}),
    ("end", "end", None, None, {}),
    ("today", "today", None, None, {}),
    ("deviceid", "deviceid", None, None, {}),
    ("begin_group", "consent", "Consent", "Consentement", {}),
    ("select_one yes_no", "consent_given", "Do you agree to take part in this survey?",
     "Acceptez-vous de participer à cette enquête ?", {"required": "yes"}),
    ("end_group", "", None, None, {}),
    ("begin_group", "respondent", "Respondent", "Répondant", {"relevant": "${consent_given} = 'yes'"}),
    ("text", "hh_code", "Household code (on the household card)", "Code du ménage (sur la carte du ménage)", {}),
    ("text", "resp_name", "Respondent's full name", "Nom complet du répondant", {}),
    ("text", "resp_phone", "Respondent's phone number", "Numéro de téléphone du répondant", {}),
    ("select_one sex", "resp_sex", "Sex of the respondent", "Sexe du répondant", {"required": "yes"}),
    ("integer", "resp_age", "Age of the respondent (completed years)", "Âge du répondant (années révolues)",
     {"required": "yes", "constraint": ". >= 18 and . <= 110"}),
    ("end_group", "", None, None, {}),
    ("begin_group", "location", "Location", "Localisation", {}),
    ("select_one region", "admin1", "Region", "Région", {"required": "yes"}),
    ("select_one area_type", "area_type", "Type of area", "Type de zone", {"required": "yes"}),
    ("geopoint", "gps", "GPS location of the household", "Position GPS du ménage", {}),
    ("end_group", "", None, None, {}),
    ("begin_group", "displacement", "Displacement", "Déplacement", {}),
    ("select_one displacement", "displacement_status", "Which best describes your household's situation?",
     "Quelle situation décrit le mieux votre ménage ?", {"required": "yes"}),
    ("end_group", "", None, None, {}),
    ("begin_group", "wg", "Washington Group Short Set on Functioning",
     "Questions courtes du Groupe de Washington sur le fonctionnement", {}),
    *[("select_one wg_answer", name, en, fr, {"required": "yes"}) for name, en, fr in WG_QUESTIONS],
    ("end_group", "", None, None, {}),
    *economy_group("economy", "Income and costs", "Revenus et dépenses"),
    ("text", "comments", "Any other comments (do not record names)", "Autres commentaires (ne pas noter de noms)", {}),
]
# Version 1 had the economy questions in a group named "livelihood"; an all-versions export keeps both.
VERSION_1_GROUP = economy_group("livelihood", "Livelihood", "Moyens de subsistance")

META_COLUMNS = ["meta/rootUuid", "meta/deprecatedID", "_id", "_uuid", "_submission_time", "_validation_status",
                "_notes", "_status", "_submitted_by", "__version__", "_tags", "_index"]

REGIONS = {  # centre (lat, lon), share of urban households, share displaced
    "bamako": ((12.6392, -8.0029), 1.0, 0.15), "kayes": ((14.10, -10.80), 0.25, 0.05),
    "koulikoro": ((13.40, -7.20), 0.25, 0.08), "sikasso": ((11.50, -6.00), 0.30, 0.05),
    "segou": ((13.50, -6.30), 0.30, 0.15), "mopti": ((14.50, -4.00), 0.25, 0.40),
    "tombouctou": ((16.80, -3.20), 0.20, 0.40), "gao": ((16.30, -0.20), 0.25, 0.45),
}
REGION_WEIGHTS = {"bamako": 70, "kayes": 30, "koulikoro": 35, "sikasso": 35, "segou": 35, "mopti": 45,
                  "tombouctou": 35, "gao": 35}
GIVEN_F = ["Aminata", "Fatoumata", "Mariam", "Awa", "Kadiatou", "Oumou", "Assitan", "Rokia", "Hawa", "Salimata",
           "Djeneba", "Aissata", "Nana", "Bintou", "Korotoumou", "Safiatou"]
GIVEN_M = ["Moussa", "Oumar", "Ibrahim", "Seydou", "Boubacar", "Mamadou", "Modibo", "Bakary", "Souleymane", "Adama",
           "Lassina", "Drissa", "Yacouba", "Sekou", "Abdoulaye", "Mahamadou"]
FAMILY = ["Traoré", "Diarra", "Coulibaly", "Keïta", "Konaté", "Sangaré", "Touré", "Cissé", "Dembélé", "Maïga",
          "Sidibé", "Doumbia", "Kané", "Sacko", "Diallo", "Ballo", "Koné", "Samaké"]
ENUMERATORS = [f"enum_demo_{number:02d}" for number in range(1, 7)]
COMMENTS = ["", "", "", "", "", "", "Household head is away for seasonal work.",
            "Interview interrupted once, completed the same day.", "{given} asked to be visited again after the harvest.",
            "Respondent answered for herself with help from a relative.", "Call back {phone} if questions remain."]


# -- the XLSForm ---------------------------------------------------------------------------------------------
def form_rows() -> list[dict[str, str]]:
    rows = []
    for kind, name, en, fr, extra in SURVEY:
        row = {"type": kind, "name": name}
        if en is not None:
            row[f"label::{EN}"] = en
            row[f"label::{FR}"] = fr
        row.update(extra)
        rows.append(row)
    return rows


def write_xlsform(path: Path) -> None:
    workbook = openpyxl.Workbook()
    survey = workbook.active
    survey.title = "survey"
    columns = ["type", "name", f"label::{EN}", f"label::{FR}", "required", "relevant", "constraint"]
    survey.append(columns)
    for row in form_rows():
        survey.append([row.get(column, "") or None for column in columns])
    choices = workbook.create_sheet("choices")
    choices.append(["list_name", "name", f"label::{EN}", f"label::{FR}"])
    for list_name, items in CHOICES.items():
        for name, en, fr in items:
            choices.append([list_name, name, en, fr])
    settings = workbook.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "default_language"])
    settings.append(["Household survey on disability and livelihoods (fictional demo)", SURVEY_ID, "2", EN])
    fixed = datetime(*FIXED_ZIP_TIME)
    workbook.properties.creator = "scripts/make_kobo_sample.py"
    workbook.properties.created = fixed
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.write_bytes(_deterministic_zip(buffer.getvalue(), fixed))


def _deterministic_zip(data: bytes, fixed: datetime) -> bytes:
    """Re-pack the workbook with fixed entry times and document dates, so reruns are byte-identical."""
    stamp = fixed.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                                 rb"\g<1>" + stamp.encode() + rb"\g<2>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            target.writestr(entry, content)
    return out.getvalue()


# -- the export ----------------------------------------------------------------------------------------------
def export_columns() -> list[str]:
    """KoBo's XML-values header for all versions: questions in form order, then meta columns."""
    columns: list[str] = []
    stack: list[str] = []
    survey = list(SURVEY)
    economy_end = max(i for i, row in enumerate(survey) if row[0] == "end_group" and i > survey.index(
        next(r for r in survey if r[1] == "economy")))
    survey[economy_end + 1:economy_end + 1] = VERSION_1_GROUP
    for kind, name, *_ in survey:
        if kind == "begin_group":
            stack.append(name)
            continue
        if kind == "end_group":
            stack.pop()
            continue
        xpath = "/".join([*stack, name])
        columns.append(xpath)
        if kind.startswith("select_multiple"):
            columns.extend(f"{xpath}/{choice}" for choice, _, _ in CHOICES[kind.split()[1]])
        if kind == "geopoint":
            columns.extend(f"_{xpath}_{part}" for part in ("latitude", "longitude", "altitude", "precision"))
    return columns + META_COLUMNS


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _kobo_time(moment: datetime, millis: int) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}+00:00"


class Generator:
    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def person(self, when: datetime, version: str) -> dict[str, str]:
        rng = self.rng
        region = _pick(rng, REGION_WEIGHTS)
        (lat, lon), urban_share, displaced_share = REGIONS[region]
        sex = "female" if rng.random() < 0.52 else "male"
        age = min(95, 18 + int(rng.expovariate(1 / 19)))
        displaced = rng.random() < displaced_share
        status = _pick(rng, {"idp": 70, "refugee": 12, "returnee": 18}) if displaced else "resident"
        disability_odds = 0.06 if age < 45 else 0.16 if age < 65 else 0.42
        has_disability = rng.random() < disability_odds
        wg = {name: "no_difficulty" if rng.random() < 0.8 else "some_difficulty" for name, _, _ in WG_QUESTIONS}
        if has_disability:
            for name in rng.sample([name for name, _, _ in WG_QUESTIONS], rng.choice([1, 1, 2, 3])):
                wg[name] = "a_lot_of_difficulty" if rng.random() < 0.75 else "cannot_do"
        if rng.random() < 0.02:
            wg[rng.choice(list(wg))] = rng.choice(["dont_know", "refused"])
        lost_odds = 0.30 + (0.22 if has_disability else 0) + (0.15 if displaced else 0)
        lost = "dont_know" if rng.random() < 0.03 else ("yes" if rng.random() < lost_odds else "no")
        hardship = "dont_know" if rng.random() < 0.03 else (
            "yes" if rng.random() < 0.22 + (0.18 if has_disability else 0) else "no")
        sources = [name for name, _, _ in CHOICES["income_source"][:-1]
                   if rng.random() < {"farming": 0.45, "livestock": 0.25, "trade": 0.3, "wage_labour": 0.25,
                                      "remittances": 0.15, "assistance": 0.25 if displaced else 0.05}[name]]
        sources = sources or ["none"]
        barriers = [name for name in ("cost", "distance", "inaccessible_building", "no_transport", "attitudes")
                    if rng.random() < {"cost": 0.35, "distance": 0.25, "no_transport": 0.15,
                                       "inaccessible_building": 0.25 if has_disability else 0.03,
                                       "attitudes": 0.15 if has_disability else 0.04}[name]]
        barriers = barriers or ["none"]
        given = rng.choice(GIVEN_F if sex == "female" else GIVEN_M)
        phone = f"+223 00 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"
        minutes = rng.randint(14, 38)
        start = when - timedelta(minutes=minutes, seconds=rng.randint(0, 59))
        group = "livelihood" if version == VERSION_1 else "economy"
        point_lat = lat + rng.uniform(-0.35, 0.35)
        point_lon = lon + rng.uniform(-0.35, 0.35)
        row = {
            "start": _kobo_time(start, rng.randint(0, 999)),
            "end": _kobo_time(when - timedelta(seconds=rng.randint(20, 90)), rng.randint(0, 999)),
            "today": when.strftime("%Y-%m-%d"),
            "deviceid": "collect:" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(16)),
            "consent/consent_given": "yes",
            "respondent/hh_code": f"HH-{region[:3].upper()}-{rng.randint(1, 9999):04d}",
            "respondent/resp_name": f"{given} {rng.choice(FAMILY)}",
            "respondent/resp_phone": phone,
            "respondent/resp_sex": sex,
            "respondent/resp_age": str(age),
            "location/admin1": region,
            "location/area_type": "urban" if rng.random() < urban_share else "rural",
            "displacement/displacement_status": status,
            **{f"wg/{name}": answer for name, answer in wg.items()},
            f"{group}/lost_income": lost,
            f"{group}/income_sources": " ".join(sources),
            f"{group}/health_cost_hardship": hardship,
            f"{group}/service_barriers": " ".join(barriers),
            "comments": rng.choice(COMMENTS).format(given=given, phone=phone),
            "__version__": version,
            "_submitted_by": rng.choice(ENUMERATORS),
            "_status": "submitted_via_web",
            "_submission_time": when.strftime("%Y-%m-%dT%H:%M:%S"),
            "_validation_status": "Approved" if rng.random() < 0.8 else "",
        }
        for choice, _, _ in CHOICES["income_source"]:
            row[f"{group}/income_sources/{choice}"] = "1" if choice in sources else "0"
        for choice, _, _ in CHOICES["barrier"]:
            row[f"{group}/service_barriers/{choice}"] = "1" if choice in barriers else "0"
        self.set_point(row, f"{point_lat:.6f}", f"{point_lon:.6f}", f"{rng.uniform(250, 420):.1f}",
                       f"{rng.uniform(3, 15):.1f}")
        return row

    @staticmethod
    def set_point(row: dict[str, str], lat: str, lon: str, altitude: str, precision: str) -> None:
        row["location/gps"] = f"{lat} {lon} {altitude} {precision}".strip()
        row["_location/gps_latitude"] = lat
        row["_location/gps_longitude"] = lon
        row["_location/gps_altitude"] = altitude
        row["_location/gps_precision"] = precision

    def rows(self) -> list[dict[str, str]]:
        rng = self.rng
        first, last = LAUNCH + timedelta(hours=8), datetime(2025, 5, 30, 17, tzinfo=timezone.utc)
        span = (last - first).total_seconds()

        def interview(when: datetime, version: str | None = None) -> dict[str, str]:
            row = self.person(when, version or (VERSION_1 if when < VERSION_2_FROM else VERSION_2))
            row.update({"_notes": "", "_tags": "", "meta/deprecatedID": "", "#kind": "submission"})
            return row

        def fieldwork() -> datetime:
            return first + timedelta(seconds=round(rng.uniform(0, span)))

        pilots = [interview(datetime(2025, 3, 5 + n // 2, 9 + 2 * n, 17, tzinfo=timezone.utc), VERSION_1)
                  for n in range(N_BEFORE_LAUNCH)]
        for row in pilots[:2]:
            row["_tags"] = "pilot"
        kept = [interview(fieldwork()) for _ in range(N_KEPT)]
        others = [interview(fieldwork()) for _ in range(N_NOT_APPROVED + N_TAGGED_TEST)]
        for row in others[:N_NOT_APPROVED]:
            row["_validation_status"] = "Not Approved"
        for row in others[N_NOT_APPROVED:]:
            row["_tags"] = "test"
            row["_validation_status"] = ""
        for index in rng.sample(range(N_KEPT), 2):
            kept[index]["_validation_status"] = "On Hold"
        spots = rng.sample(range(N_KEPT), N_INVALID_GPS + N_OUTSIDE_GPS + N_MISSING_GPS)
        self.set_point(kept[spots[0]], "0.000000", "0.000000", "0.0", "0.0")  # a device without a fix
        lat, lon = kept[spots[1]]["_location/gps_latitude"], kept[spots[1]]["_location/gps_longitude"]
        self.set_point(kept[spots[1]], "1" + lat, lon, "0.0", "25.0")  # latitude 112.x: a digit typed twice
        lat, lon = kept[spots[2]]["_location/gps_latitude"], kept[spots[2]]["_location/gps_longitude"]
        self.set_point(kept[spots[2]], lon, lat, "0.0", "25.0")  # swapped: a valid point, but in the Atlantic
        for index in spots[3:]:
            self.set_point(kept[index], "", "", "", "")
        for row in pilots + kept + others:
            instance = self.uuid()
            row.update({"_uuid": instance, "meta/rootUuid": f"uuid:{instance}"})
        # Edited submissions: the edit keeps _id, rootUuid and _submission_time, gets a new _uuid and
        # names the instance it replaced in meta/deprecatedID; the replaced version is in the file too.
        originals = []
        for index in rng.sample(range(N_KEPT), N_EDITS):
            edited = kept[index]
            original = dict(edited)
            original["respondent/resp_age"] = str(int(edited["respondent/resp_age"]) + 10)  # the typo corrected
            edited.update({"_uuid": self.uuid(), "meta/deprecatedID": f"uuid:{original['_uuid']}", "#kind": "edit"})
            originals.append(original)
        # Re-sent submissions: the same instance and answers, a later _submission_time, a new _id.
        duplicates = []
        for index in rng.sample(range(N_KEPT), N_DUPLICATES):
            copy = dict(kept[index])
            later = datetime.fromisoformat(copy["_submission_time"]) + timedelta(minutes=rng.randint(2, 30))
            copy.update({"_submission_time": later.strftime("%Y-%m-%dT%H:%M:%S"), "#kind": "duplicate"})
            duplicates.append(copy)
        rows = pilots + kept + others + originals + duplicates
        rows.sort(key=lambda row: (row["_submission_time"], row["#kind"] == "edit"))
        ids: dict[str, int] = {}
        next_id = 48213001
        for index, row in enumerate(rows, start=1):
            if row["#kind"] == "edit":
                row["_id"] = str(ids[row["meta/deprecatedID"].removeprefix("uuid:")])
            else:
                row["_id"] = str(next_id)
                ids.setdefault(row["_uuid"], next_id)
                next_id += 1
            row["_index"] = str(index)
        return rows


def write_export(path: Path, rows: list[dict[str, str]]) -> None:
    columns = export_columns()
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(column, "") for column in columns])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--export-dir", type=Path, default=DEFAULT_EXPORT_DIR, help="where the CSV export goes")
    parser.add_argument("--form-dir", type=Path, default=DEFAULT_FORM_DIR, help="where the XLSForm goes")
    parser.add_argument("--out", type=Path, help="write both files into this folder instead")
    args = parser.parse_args(argv)
    export_dir, form_dir = (args.out, args.out) if args.out else (args.export_dir, args.form_dir)
    for folder in (export_dir, form_dir):
        folder.mkdir(parents=True, exist_ok=True)
    rows = Generator().rows()
    write_export(export_dir / f"{SURVEY_ID}.csv", rows)
    write_xlsform(form_dir / f"{SURVEY_ID}_form.xlsx")
    print(f"wrote {len(rows)} submissions to {export_dir / f'{SURVEY_ID}.csv'} "
          f"and the XLSForm to {form_dir / f'{SURVEY_ID}_form.xlsx'}")


if __name__ == "__main__":
    main()
