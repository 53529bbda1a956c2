import json

from bench.report import BenchResult


def test_report_has_the_comparable_shape(tmp_path):
    path = BenchResult("demo", {"wall_s": 1.5}, "DuckDB read_csv", 1.2, 3.0).write(tmp_path)
    assert json.loads(path.read_text()) == {
        "name": "demo", "figures": {"wall_s": 1.5}, "reference": "DuckDB read_csv",
        "ratio_to_reference": 1.2, "target_ratio": 3.0,
    }
