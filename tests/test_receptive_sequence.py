"""1-D schedules: receptive field, gridding, whether a schedule covers a series length,
the schedule chosen for a length, and `kerasdil rf SCHEDULE --length N`."""

import json
import os
import subprocess
import sys

import pytest

from kerasdil.receptive import analyze_sequence_schedule, covers_length, schedule_for_length

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_receptive_field_of_a_1d_schedule_is_one_plus_kernel_minus_one_times_the_rates():
    assert analyze_sequence_schedule((1, 2, 4, 8)).receptive_field == 31
    assert analyze_sequence_schedule((1, 2, 4), kernel=5).receptive_field == 29


def test_gridding_detected_for_2_4_8_in_1d():
    report = analyze_sequence_schedule((2, 4, 8), length=20)
    assert not report.gridding_free and 1 in report.hole_offsets and report.covers


@pytest.mark.parametrize("length", [2, 24, 29, 150, 1460])
def test_schedule_for_length_is_the_shortest_doubling_schedule_that_covers_it(length):
    schedule = schedule_for_length(length)
    assert covers_length(schedule, length)
    assert len(schedule) == 1 or not covers_length(schedule[:-1], length)
    assert analyze_sequence_schedule(schedule).gridding_free


def test_bad_length_and_kernel_are_one_sentence():
    with pytest.raises(ValueError, match="length must be a positive int"):
        covers_length((1, 2), 0)
    with pytest.raises(ValueError, match="kernel must be an int >= 2"):
        schedule_for_length(10, kernel=1)


def _rf(*args):
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.run([sys.executable, "-m", "kerasdil.cli", "rf", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_rf_cli_says_a_short_schedule_does_not_cover_150_steps_and_names_one_that_does():
    done = _rf("1,2,4,8", "--length", "150")
    assert done.returncode == 0, done.stderr
    assert "NOT covered (31 < 150)" in done.stdout and "1,2,4,8,16,32,64" in done.stdout
    report = json.loads(_rf("1,2,4,8,16,32,64", "--length", "150", "--json").stdout)
    assert report["receptive_field"] == 255 and report["covers"] is True


def test_rf_cli_refuses_a_zero_length_with_exit_2():
    done = _rf("1,2", "--length", "0")
    assert done.returncode == 2 and "length must be a positive int" in done.stderr
