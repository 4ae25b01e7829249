"""A small bench/impact_score.py: verdicts against the simulator's ground truth.

About 300 scored changes (one seed), so the targets carry slack: the bench's
≥ 1,000 changes a seed and three seeds give the figures in the README.
"""

from __future__ import annotations

from datetime import date

import pytest

from cvrtracker.impact.tests.scoring import metrics, replay_and_score

pytestmark = pytest.mark.django_db


def test_verdicts_match_the_truth_within_the_targets():
    score = replay_and_score(
        seed=17, asins=300, change_rate=3.0, days=150, today=date(2026, 11, 30), cvr_noise=None
    )
    m = metrics(score.changes)
    assert m["scored"] >= 200
    coverage, alarms, wrong = m["coverage"], m["false_alarms"], m["wrong_sign"]
    assert coverage.n >= 150 and alarms.n >= 40
    # Goal 90-98%; a 300-change sample moves about ±2.5 points.
    assert 0.87 <= coverage.value <= 0.995, coverage.text()
    # Goal <= 5% false alarms and <= 1% wrong signs, with the slack of the sample.
    assert alarms.value <= 0.10, alarms.text()
    assert wrong.value <= 0.025, wrong.text()
    # Every verdict kind is reachable on a world like this.
    assert m["verdicts"]["improved"] and m["verdicts"]["worsened"]
    assert m["verdicts"]["no_clear_effect"] and m["verdicts"]["not_enough_data"]
