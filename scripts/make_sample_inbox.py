"""Write the sample partner inbox (data/inbox/<partner_id>/...): three fictional partners whose
figures are plausible beside the official SDG series for Afghanistan (M49 4) in the bundled
snapshot (SH_OOP_XPD_EARNNET40: 32.30% in 2016, 34.56% in 2020; women 38.04/40.49, men
32.26/34.51; 60+ 33.76/37.64; urban 15.39/17.99, rural 37.59/39.84).

Deterministic (seeded), so running it again rewrites the same bytes; the output is committed.
Each file carries a few deliberately bad rows, listed in data/inbox/README.md, so the feedback
reports have something to say. Usage: ``.venv/bin/python scripts/make_sample_inbox.py``.

The fourth sample partner, community_wg_survey (a KoBoToolbox survey export), is written by
scripts/make_kobo_sample.py; this script leaves its folder alone.
"""

from __future__ import annotations

import csv
import io
import random
import zipfile
from pathlib import Path

import openpyxl
from openpyxl.styles import Font

ROOT = Path(__file__).resolve().parent.parent
INBOX = ROOT / "data" / "inbox"
SEED = 20240601

# Official national values (snapshot) the partners' totals stay close to.
OFFICIAL_OOP = {2016: 32.30, 2020: 34.56}


def _jitter(rng: random.Random, value: float, spread: float) -> float:
    return round(min(99.0, max(1.0, value + rng.uniform(-spread, spread))), 1)


def _set(rows: list[list[str]], key: list[str], value: str, note: str, value_at: int = 7, note_at: int = 8) -> None:
    row = next(row for row in rows if row[: len(key)] == key)
    row[value_at], row[note_at] = value, note


def ability_forum(rng: random.Random) -> str:
    """Open SDG-style CSV (UTF-8): catastrophic health spending by sex x age x disability, and
    unemployment by sex x disability. Blank cell = total; the all-blank row is the headline."""
    rows = []
    sexes = {"": 0.0, "Female": 4.5, "Male": -1.5}
    ages = {"": 0.0, "Under 60": -0.6, "60 and over": 2.8}
    disability = {"": 0.0, "With disability": 14.0, "Without disability": -1.8}
    for year, national in ((2016, OFFICIAL_OOP[2016]), (2018, 33.4), (2020, OFFICIAL_OOP[2020])):
        for sex, ds in sexes.items():
            for age, da in ages.items():
                for status, dd in disability.items():
                    value = _jitter(rng, national + ds + da + dd, 0.8)
                    size = rng.randint(60, 900) if (sex or age or status) else rng.randint(2400, 3000)
                    rows.append([str(year), "SH_OOP_XPD_EARNNET40", sex, age, status, "Percentage",
                                 str(size), f"{value}", "Normal value", rng.choice(["A. Rahimi", "S. Noori", "M. Haidari"])])
    for year, national in ((2017, 11.2), (2020, 11.7)):
        for sex, ds in {"": 0.0, "Female": 3.1, "Male": -1.0}.items():
            for status, dd in {"": 0.0, "With disability": 8.5, "Without disability": -0.4}.items():
                value = _jitter(rng, national + ds + dd, 0.6)
                rows.append([str(year), "SL_TLF_UEM", sex, "15 and over", status, "Percentage",
                             str(rng.randint(80, 1200)), f"{value}", "Normal value", rng.choice(["A. Rahimi", "S. Noori"])])
    # A value not collected, and one below the publication threshold (both accepted as such).
    _set(rows, ["2018", "SH_OOP_XPD_EARNNET40", "Male", "", "With disability"], "n/a", "Missing value")
    _set(rows, ["2017", "SL_TLF_UEM", "Female", "15 and over", "With disability"], "<5", "Low reliability")
    # Deliberately bad rows (see data/inbox/README.md).
    rows += [
        ["2020", "SH_OOP_XPD_EARNNET40", "Femal", "60 and over", "With disability", "Percentage", "84", "55.1", "Normal value", "S. Noori"],
        ["2020", "SL_TLF_UEM", "Female", "Under 60", "With disability", "Percentage", "95", "104.5", "Normal value", "A. Rahimi"],
        ["", "SL_TLF_UEM", "Male", "15 and over", "Without disability", "Percentage", "410", "10.9", "Normal value", "A. Rahimi"],
    ]
    # A conflicting duplicate: the 2016 female/with-disability total given a second time.
    first = next(row for row in rows if row[:5] == ["2016", "SH_OOP_XPD_EARNNET40", "Female", "", "With disability"])
    rows.append([*first[:7], f"{float(first[7]) + 6.3:.1f}", "Normal value", "M. Haidari"])
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Year", "Series", "Sex", "Age", "Disability status", "Units", "Sample size", "Value",
                     "Observation status", "Data collector"])
    writer.writerows(rows)
    return out.getvalue()


def idp_network(rng: random.Random) -> bytes:
    """Semicolon CSV in cp1252 with French labels and decimal commas, as Excel in a French
    locale saves it: catastrophic health spending by area x displacement status x province."""
    areas = {"Urbain": -14.0, "Rural": 5.5}
    statuses = {"Déplacés internes": 12.0, "Rapatriés": 7.0, "Communauté d’accueil": 0.5}
    provinces = ["Kaboul", "Hérat", "Nangarhar", "Balkh"]
    rows = []
    for period, national in (("2019/20", 33.8), ("2021", 35.1)):
        for area, da in areas.items():
            for status, ds in statuses.items():
                for province in provinces:
                    value = _jitter(rng, national + da + ds, 2.0)
                    size = rng.randint(25, 400)
                    rows.append([period, "SH_OOP_XPD_EARNNET40", area, status, province, "Pourcentage",
                                 f"{value:.1f}".replace(".", ","), str(size), ""])
    # A cell with a handful of respondents (suppressed downstream under MIN_CELL_SIZE).
    rows.append(["2021", "SH_OOP_XPD_EARNNET40", "Rural", "Rapatriés", "Badakhchan", "Pourcentage", "61,0", "4",
                 "très petit échantillon"])
    # A value not available, and one published only as "less than 5" (both accepted as such).
    _set(rows, ["2019/20", "SH_OOP_XPD_EARNNET40", "Urbain", "Rapatriés", "Nangarhar"], "<5", "valeur arrondie", value_at=6, note_at=8)
    _set(rows, ["2021", "SH_OOP_XPD_EARNNET40", "Urbain", "Communauté d’accueil", "Kaboul"], "n/d", "", value_at=6, note_at=8)
    rows += [
        ["2021", "SH_OOP_XPD_EARNNET40", "Semi-urbain", "Déplacés internes", "Kaboul", "Pourcentage", "41,2", "60", ""],
        ["2021", "SH_OOP_XPD_EARNNET40", "Urbain", "Déplacés internes", "Ghazni", "Pourcentage", "12,5,3", "75", "saisie à vérifier"],
        ["2019/20", "SH_OOP_XPD_EARNNET40", "Rural", "Communauté d’accueil", "Ghazni", "Pourcentage", "112,0", "55", ""],
        ["2021", "SH_OOP_XPD_EARNNET40", "Rural", "Déplacés internes", "Ghazni", "Pourcentage", "38,4", "-12", ""],
    ]
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["Année", "Série", "Milieu", "Statut migratoire", "Province", "Unité", "Valeur",
                     "Taille de l'échantillon", "Commentaire"])
    writer.writerows(rows)
    text = out.getvalue()
    # A line saved with commas by another tool (a wrong_delimiter row).
    text += "2021,SH_OOP_XPD_EARNNET40,Urbain,Rapatriés,Ghazni,Pourcentage,30.2,48,\r\n"
    return text.encode("cp1252")


def older_voices(rng: random.Random, path: Path) -> None:
    """Wide XLSX: one column per survey year, a notes sheet first, title rows above the header,
    values formatted as percentages (stored as fractions, shown as 37.6%)."""
    workbook = openpyxl.Workbook()
    notes = workbook.active
    notes.title = "Notes"
    notes["A1"] = "Older Voices Afghanistan (fictional) - community survey of people aged 60 and over"
    notes["A2"] = "Catastrophic health spending: share of older people in households spending more than 40% of their budget on health."
    notes["A3"] = "Pension: share of people above pension age who receive an old-age pension."
    sheet = workbook.create_sheet("Data")
    sheet["A1"] = "Older Voices Afghanistan - survey results"
    sheet["A1"].font = Font(bold=True)
    sheet["A2"] = "Source: Older Voices household survey; percentages of the group"
    header = ["SDG indicator", "Indicator", "Sex", "Age group", "Area", "2016", "2018", "2020", "2022"]
    sheet.append([])
    sheet.append(header)  # row 4
    series = {
        ("3.8.2", "Catastrophic health spending (>40% of budget)"): {2016: 33.8, 2018: 35.9, 2020: 37.6, 2022: 38.9},
        ("1.3.1", "Receives an old-age pension"): {2016: 9.8, 2018: 10.4, 2020: 10.9, 2022: 11.3},
    }
    sexes = {"All": 0.0, "Women": 2.0, "Men": -2.2}
    ages = {"60+": 0.0, "60-69": -1.5, "70-79": 1.2, "80+": 3.5}
    areas = {"All": 0.0, "Urban": -9.0, "Rural": 3.0}
    for (sdg, name), by_year in series.items():
        for sex, ds in sexes.items():
            for age, da in ages.items():
                for area, dr in areas.items():
                    if age != "60+" and area != "All":
                        continue  # the survey is not large enough for age x area
                    scale = 0.3 if sdg == "1.3.1" else 1.0
                    cells = [round(_jitter(rng, value + scale * (ds + da + dr), 1.0 * scale) / 100, 4)
                             for value in by_year.values()]
                    sheet.append([sdg, name, sex, age, area, *cells])
    # Deliberately bad cells and rows (see data/inbox/README.md).
    sheet.append(["3.8.2", "Catastrophic health spending (>40% of budget)", "Women", "60-", "All", 0.351, None, 0.372, 0.389])
    sheet.append(["3.8.2", "Catastrophic health spending (>40% of budget)", "Men", "80+", "Rural", 0.402, "about 40", "n/a", 1.05])
    sheet.append(["1.3.1", "Receives an old-age pension", "Women", "70-79", "Urban", None, "=SUM(F5:F7)", 0.128, None])
    for row in sheet.iter_rows(min_row=5):
        for cell in row[5:]:
            if isinstance(cell.value, float):
                cell.number_format = "0.0%"
    # A formula-looking text must stay text (not a formula) in the workbook.
    formula_cell = sheet.cell(row=sheet.max_row, column=7)
    formula_cell.data_type = "s"
    workbook.save(path)
    _normalise_zip(path)


def _normalise_zip(path: Path) -> None:
    """openpyxl stamps the current time into the workbook; rewrite it with fixed timestamps and
    properties so the file is byte-for-byte reproducible."""
    with zipfile.ZipFile(path) as source:
        members = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    fixed = []
    for name, data in members:
        if name == "docProps/core.xml":
            text = data.decode("utf-8")
            for tag in ("dcterms:created", "dcterms:modified"):
                start = text.find(f"<{tag}")
                if start >= 0:
                    end = text.find(f"</{tag}>", start) + len(f"</{tag}>")
                    text = text[:start] + f'<{tag} xsi:type="dcterms:W3CDTF">2024-06-01T00:00:00Z</{tag}>' + text[end:]
            data = text.encode("utf-8")
        fixed.append((name, data))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in fixed:
            info = zipfile.ZipInfo(name, date_time=(2024, 6, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)


def main() -> None:
    rng = random.Random(SEED)
    folders = {name: INBOX / name for name in ("ability_forum", "idp_monitoring_network", "older_voices")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    (folders["ability_forum"] / "ability_forum_indicators_2016-2020.csv").write_text(ability_forum(rng), encoding="utf-8", newline="")
    (folders["idp_monitoring_network"] / "suivi_deplaces_2019-2021.csv").write_bytes(idp_network(rng))
    older_voices(rng, folders["older_voices"] / "older_voices_survey.xlsx")
    for folder in folders.values():
        for path in sorted(folder.iterdir()):
            print(f"{path.relative_to(ROOT)}  {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
