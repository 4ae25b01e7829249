from cvrtracker.dashboard.sparkline import HEIGHT, PAD, WIDTH, sparkline


def points(segment: str) -> list[tuple[float, float]]:
    return [tuple(map(float, p.split(","))) for p in segment.split()]


def test_a_gap_splits_the_line_instead_of_dropping_to_zero():
    line = sparkline([1.0, 2.0, None, 3.0, 4.0])
    assert len(line.segments) == 2
    first, second = (points(s) for s in line.segments)
    assert [x for x, _ in first] == [PAD, PAD + (WIDTH - 2 * PAD) / 4]
    # The lowest value sits at the bottom, the highest at the top.
    assert first[0][1] == HEIGHT - PAD and second[-1][1] == PAD


def test_a_flat_line_runs_across_the_middle():
    line = sparkline([2.5, 2.5, 2.5])
    assert {y for _, y in points(line.segments[0])} == {HEIGHT / 2}


def test_a_lone_bucket_is_drawn_as_a_dash():
    (segment,) = sparkline([None, 5.0, None]).segments
    (x1, y1), (x2, y2) = points(segment)
    assert x1 < x2 and y1 == y2


def test_no_known_value_draws_nothing():
    assert sparkline([None, None]) is None
    assert sparkline([]) is None


def test_the_label_says_where_it_starts_and_ends():
    assert sparkline([None, 1.0, 2.5]).label == "Conversion trend from 1.00% to 2.50%"
