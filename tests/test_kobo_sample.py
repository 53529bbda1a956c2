"""The bundled fictional survey (seeded, reproducible), and the dbt models that aggregate KoBo microdata into
indicator cells (int_kobo_respondents_derived, int_kobo_indicator_cells_aggregated), run by the real dbt on
eight hand-made respondents and on the sample, against cells computed by hand and the Washington Group rule
written independently in Python."""

import csv
import importlib.util
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

from ingestion.kobo import ingest_kobo_export, load_contract, parse_contract
from ingestion.kobo.form import FormDefinition
from ingestion.warehouse import connect
from tests.conftest import run_dbt

REPO = Path(__file__).resolve().parent.parent
# The export is the fictional partner's inbox file; the XLSForm stays beside the survey's data folder.
SAMPLE_DIR = REPO / "data" / "kobo" / "demo_wg_household_2025"
SAMPLE_CSV = REPO / "data" / "inbox" / "community_wg_survey" / "demo_wg_household_2025.csv"
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=timezone.utc)
WG = ["wg_seeing", "wg_hearing", "wg_walking", "wg_cognition", "wg_selfcare", "wg_communication"]


def generator():
    spec = importlib.util.spec_from_file_location("make_kobo_sample", REPO / "scripts" / "make_kobo_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generator_reproduces_the_committed_files_byte_for_byte(tmp_path):
    generator().main(["--export-dir", str(tmp_path / "inbox"), "--form-dir", str(tmp_path / "form")])
    assert (tmp_path / "inbox" / SAMPLE_CSV.name).read_bytes() == SAMPLE_CSV.read_bytes()
    form = "demo_wg_household_2025_form.xlsx"
    assert (tmp_path / "form" / form).read_bytes() == (SAMPLE_DIR / form).read_bytes()
    generator().main(["--out", str(tmp_path / "both")])
    assert sorted(path.name for path in (tmp_path / "both").iterdir()) == [SAMPLE_CSV.name, form]
    # The form is not in the inbox, where it would be read as one more partner file.
    assert sorted(path.name for path in SAMPLE_CSV.parent.iterdir()) == [SAMPLE_CSV.name]
    assert not (SAMPLE_DIR / SAMPLE_CSV.name).exists()


def test_the_generator_defaults_are_the_committed_locations():
    module = generator()
    assert (module.DEFAULT_EXPORT_DIR, module.DEFAULT_FORM_DIR) == (SAMPLE_CSV.parent, SAMPLE_DIR)


def test_the_export_has_kobo_shape():
    raw = SAMPLE_CSV.read_bytes()
    assert b"\r\n" not in raw and raw.endswith(b"\n")
    with SAMPLE_CSV.open(encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle, delimiter=";"))
    header, body = table[0], table[1:]
    assert len(body) == 334 and len(header) == 71 and all(len(row) == 71 for row in body)
    assert raw.splitlines()[1].startswith(b'"2025-') and raw.count(b'";"') == 70 * 335  # every field quoted
    assert header[-12:] == ["meta/rootUuid", "meta/deprecatedID", "_id", "_uuid", "_submission_time",
                            "_validation_status", "_notes", "_status", "_submitted_by", "__version__", "_tags", "_index"]
    assert header[header.index("location/gps"):header.index("location/gps") + 5] == [
        "location/gps", "_location/gps_latitude", "_location/gps_longitude", "_location/gps_altitude",
        "_location/gps_precision"]
    first_choice = header.index("economy/income_sources")
    assert header[first_choice + 1:first_choice + 8] == [f"economy/income_sources/{c}" for c in (
        "farming", "livestock", "trade", "wage_labour", "remittances", "assistance", "none")]
    column = {name: index for index, name in enumerate(header)}
    for row in body:  # answered in one version's group, empty (not 0) in the other's
        answered = "economy" if row[column["economy/lost_income"]] else "livelihood"
        other = "livelihood" if answered == "economy" else "economy"
        assert {row[column[f"{answered}/income_sources/{c}"]] for c in ("farming", "none")} <= {"0", "1"}
        assert row[column[f"{other}/income_sources/farming"]] == "" and row[column[f"{other}/lost_income"]] == ""


def test_the_xlsform_has_the_washington_group_short_set_in_two_languages():
    form = FormDefinition.load(SAMPLE_DIR / "demo_wg_household_2025_form.xlsx")
    assert form.languages == ("English (en)", "Français (fr)") and form.version == "2"
    wg = [q for q in form.questions.values() if q.parents == ("wg",)]
    assert [q.name for q in wg] == ["wg_seeing", "wg_hearing", "wg_walking", "wg_remembering", "wg_selfcare",
                                    "wg_communicating"]
    assert {q.type for q in wg} == {"select_one"} and {q.list_name for q in wg} == {"wg_answer"}
    assert [c.name for c in form.choices["wg_answer"]] == ["no_difficulty", "some_difficulty", "a_lot_of_difficulty",
                                                          "cannot_do", "dont_know", "refused"]
    assert form.questions["economy/income_sources"].type == "select_multiple"
    assert form.questions["location/gps"].type == "geopoint"
    assert form.questions["respondent/resp_sex"].labels["Français (fr)"] == "Sexe du répondant"


# -- the dbt aggregation ----------------------------------------------------------------------------------------------
MICRO_CONTRACT = {
    "survey_id": "micro_wg", "title": "Eight fictional respondents", "organisation": "tests", "geo_area_m49": 466,
    "synthetic": True, "reference_year": 2025,
    "fields": {
        "sex": {"source": "sex", "type": "select_one", "codes": {"female": "F", "male": "M"}},
        "age": {"source": "age", "type": "integer"},
        **{name: {"source": name.removeprefix("wg_"), "type": "select_one", "codes": {
            "no": "NO_DIFFICULTY", "some": "SOME_DIFFICULTY", "alot": "A_LOT_OF_DIFFICULTY", "cannot": "CANNOT_DO",
            "dk": "DONT_KNOW", "refused": "REFUSED"}} for name in WG},
        "lost_income": {"source": "lost_income", "type": "select_one", "codes": {"y": "YES", "n": "NO", "dk": "DK"}},
    },
    "age_groups": [{"code": "Y18T24", "min": 18, "max": 24}, {"code": "Y25T64", "min": 25, "max": 64},
                   {"code": "Y_GE65", "min": 65, "max": None}],
    "indicators": [
        {"series_code": "CGD_INCOME_LOSS", "unit": "PT", "numerator": "lost_income == 'YES'",
         "denominator": "lost_income in ('YES', 'NO')", "disaggregate_by": ["disability_status", "sex"]},
        {"series_code": "CGD_PD_COUNT", "unit": "NUMBER", "numerator": "disability_status == 'PD'",
         "disaggregate_by": ["age_group"]},
    ],
}
# sex, age, seeing, hearing, walking, cognition, selfcare, communication, lost_income
MICRO_ROWS = [
    ("female", 30, "no", "no", "no", "no", "no", "no", "y"),          # 1 PWD
    ("female", 70, "alot", "no", "no", "no", "no", "no", "y"),        # 2 PD
    ("male", 40, "no", "no", "cannot", "no", "no", "no", "n"),        # 3 PD
    ("male", 22, "some", "some", "some", "some", "some", "some", "n"),  # 4 PWD
    ("female", 50, "dk", "no", "no", "no", "no", "no", "y"),          # 5 undetermined
    ("male", 65, "no", "no", "no", "no", "no", "no", "dk"),           # 6 PWD, answer DK: not in the denominator
    ("female", 19, "no", "refused", "no", "alot", "no", "no", ""),    # 7 PD, unanswered
    ("male", 33, "no", "no", "no", "no", "no", "no", "y"),            # 8 PWD
]


def land_micro(con, tmp_path):
    header = ["sex", "age", "seeing", "hearing", "walking", "cognition", "selfcare", "communication", "lost_income",
              "_id", "_uuid", "_submission_time", "_validation_status", "_index"]
    path = tmp_path / "micro.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(header)
        for number, row in enumerate(MICRO_ROWS, start=1):
            writer.writerow([*row, number, f"00000000-0000-4000-8000-00000000000{number}", "2025-04-01T10:00:00", "",
                             number])
    contract = parse_contract(MICRO_CONTRACT, base_dir=REPO)
    assert ingest_kobo_export(con, path, contract, pii_salt=None, run_id="r", now=NOW).submissions_landed == 8


CELL_COLUMNS = "series_code, disability_status, sex, age_group, sample_size, value, below_min_cell_size"
SAMPLE_CONTRACT = REPO / "contracts" / "kobo" / "demo_wg_household_2025.yml"


@pytest.fixture(scope="module")
def kobo_cells(tmp_path_factory):
    """A warehouse holding the eight respondents (survey micro_wg) and the sample, after `dbt run` of the
    KoBo models with MIN_CELL_SIZE=5: a read-only connection, the respondents' canonical answers beside it."""
    directory = tmp_path_factory.mktemp("kobo_cells")
    warehouse = directory / "warehouse.duckdb"
    with connect(warehouse) as con:
        land_micro(con, directory)
        ingest_kobo_export(con, SAMPLE_CSV, load_contract(SAMPLE_CONTRACT, base_dir=REPO), pii_salt=None,
                           run_id="r", now=NOW)
        # The default policy publishes every validation status but not_approved (written here independently).
        sample_answers = [fields for (fields,) in con.execute(
            "select fields from raw_kobo_restricted.submissions where survey_id = 'demo_wg_household_2025' "
            "and validation_status is distinct from 'not_approved'").fetchall()]
    completed = run_dbt("run", "--select", "+int_kobo_indicator_cells_aggregated", "--target-path",
                        str(directory / "target"), warehouse=warehouse)
    assert completed.returncode == 0, completed.stdout[-4000:]
    con = duckdb.connect(str(warehouse), read_only=True)
    yield con, sample_answers
    con.close()


def cells(con, survey_id: str) -> list[tuple]:
    return con.execute(f"select {CELL_COLUMNS} from intermediate.int_kobo_indicator_cells_aggregated "
                       "where survey_id = ? order by all", [survey_id]).fetchall()


@pytest.mark.dbt
def test_dbt_aggregation_gives_the_hand_computed_cells(kobo_cells):
    con, _ = kobo_cells
    micro = [cell[:6] for cell in cells(con, "micro_wg")]
    assert [cell for cell in micro if cell[0] == "CGD_INCOME_LOSS"] == [
        # disability_status, sex: respondents 1,2,3,4,5,8 answered yes or no; 1,2,5,8 said yes
        ("CGD_INCOME_LOSS", "PD", "F", "_T", 1, 100.0),
        ("CGD_INCOME_LOSS", "PD", "M", "_T", 1, 0.0),
        ("CGD_INCOME_LOSS", "PD", "_T", "_T", 2, 50.0),
        ("CGD_INCOME_LOSS", "PWD", "F", "_T", 1, 100.0),
        ("CGD_INCOME_LOSS", "PWD", "M", "_T", 2, 50.0),
        ("CGD_INCOME_LOSS", "PWD", "_T", "_T", 3, 66.7),
        ("CGD_INCOME_LOSS", "_T", "F", "_T", 3, 100.0),
        ("CGD_INCOME_LOSS", "_T", "M", "_T", 3, 33.3),
        ("CGD_INCOME_LOSS", "_T", "_T", "_T", 6, 66.7),
        ("CGD_INCOME_LOSS", "_U", "F", "_T", 1, 100.0),
        ("CGD_INCOME_LOSS", "_U", "_T", "_T", 1, 100.0),
    ]
    assert [cell for cell in micro if cell[0] == "CGD_PD_COUNT"] == [
        # respondents with a determined status: all but 5; PD: 2 (70), 3 (40), 7 (19)
        ("CGD_PD_COUNT", "_T", "_T", "Y18T24", 2, 1.0),
        ("CGD_PD_COUNT", "_T", "_T", "Y25T64", 3, 1.0),
        ("CGD_PD_COUNT", "_T", "_T", "Y_GE65", 2, 1.0),
        ("CGD_PD_COUNT", "_T", "_T", "_T", 7, 3.0),
    ]


@pytest.mark.dbt
def test_dbt_aggregation_flags_cells_under_the_minimum_size(kobo_cells):
    con, _ = kobo_cells
    micro = cells(con, "micro_wg")
    assert [cell[:6] for cell in micro if not cell[6]] == [("CGD_INCOME_LOSS", "_T", "_T", "_T", 6, 66.7),
                                                          ("CGD_PD_COUNT", "_T", "_T", "_T", 7, 3.0)]
    assert all(cell[4] < 5 for cell in micro if cell[6])


@pytest.mark.dbt
def test_disability_prevalence_on_the_sample_matches_the_washington_group_rule(kobo_cells):
    con, answers = kobo_cells
    total = con.execute("""select sample_size, value from intermediate.int_kobo_indicator_cells_aggregated
        where survey_id = 'demo_wg_household_2025' and series_code = 'CGD_DISABILITY_PREVALENCE' and sex = '_T'
          and age_group = '_T' and disability_status = '_T' and location = '_T' and migratory_status = '_T'""").fetchall()
    statuses = []
    for fields in answers:  # the rule, written independently of the SQL
        domains = [fields[name] for name in WG]
        if any(answer in ("A_LOT_OF_DIFFICULTY", "CANNOT_DO") for answer in domains):
            statuses.append("PD")
        elif all(answer in ("NO_DIFFICULTY", "SOME_DIFFICULTY") for answer in domains):
            statuses.append("PWD")
    assert len(answers) == 320 and 0 < statuses.count("PD") < len(statuses) <= 320
    assert total == [(len(statuses), round(100 * statuses.count("PD") / len(statuses), 1))]


@pytest.mark.parametrize("series", ["CGD_INCOME_LOSS", "CGD_HEALTH_COST_HARDSHIP", "CGD_DISABILITY_PREVALENCE",
                                    "CGD_HEALTH_ACCESS_BARRIER_BUILDING"])
@pytest.mark.dbt
def test_every_sample_indicator_yields_a_published_total(kobo_cells, series):
    con, _ = kobo_cells
    totals = con.execute("""select count(*), min(sample_size), bool_or(below_min_cell_size)
        from intermediate.int_kobo_indicator_cells_aggregated
        where survey_id = 'demo_wg_household_2025' and series_code = ? and sex = '_T' and age_group = '_T'
          and disability_status = '_T' and location = '_T' and migratory_status = '_T'""", [series]).fetchone()
    assert totals[0] == 1 and totals[1] >= 300 and totals[2] is False
