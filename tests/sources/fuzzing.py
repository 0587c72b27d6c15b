"""One knob for every fuzz test: CQIA_FUZZ_EXAMPLES=N runs N hypothesis examples per test.

CI uses each test's small default (the whole fuzz suite stays under about a minute); run longer
locally with e.g. `CQIA_FUZZ_EXAMPLES=5000 pytest tests/sources/test_fuzz_files.py
--hypothesis-show-statistics` (the statistics give the number of inputs each test ran).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings


def fuzz_settings(default_examples: int) -> settings:
    examples = int(os.environ.get("CQIA_FUZZ_EXAMPLES", default_examples))
    return settings(max_examples=examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])
