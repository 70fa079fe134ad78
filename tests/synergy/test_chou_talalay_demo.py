"""The bundled `make demo` example is exactly what its generator script makes."""

import importlib.util
from pathlib import Path

import pandas as pd

import letrolab

EXAMPLE = Path(letrolab.__file__).parent / "data" / "examples" / "letrozole_nvp_aew541.csv"


def test_bundled_example_matches_its_generator(test_data):
    script = test_data / "chou_talalay" / "make_demo_example.py"
    spec = importlib.util.spec_from_file_location("make_demo_example", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    made = module.make()
    shipped = pd.read_csv(EXAMPLE)
    pd.testing.assert_frame_equal(shipped, made, check_dtype=False, atol=1e-9)
    # 1 control + 12 single-agent + 5 constant-ratio + 4 non-constant-ratio doses, 3 replicates
    assert len(shipped) == 22 * 3
