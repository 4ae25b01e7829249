"""word_diff: the words that changed inside a bullet or description, escaped."""

from cvrtracker.listings.textdiff import word_diff


def test_it_marks_only_the_changed_words():
    html = word_diff("Keeps tea hot for 6 hours.", "Keeps tea hot for 12 hours.")
    assert html == "Keeps tea hot for <del>6</del><ins>12</ins> hours."


def test_an_unchanged_text_has_no_markup():
    assert word_diff("Same words, same order.", "Same words, same order.") == (
        "Same words, same order."
    )


def test_an_added_or_removed_text_is_marked_whole():
    assert word_diff("", "New bullet") == "<ins>New bullet</ins>"
    assert word_diff("Old bullet", "") == "<del>Old bullet</del>"


def test_amazon_text_is_escaped_inside_and_outside_the_markup():
    html = word_diff('Safe <b>bold</b> & "quoted"', "Safe <script>alert(1)</script> & 'quoted'")
    assert "<script>" not in html and "<b>" not in html
    assert html == (
        "Safe &lt;<del>b</del><ins>script</ins>&gt;<del>bold</del><ins>alert(1)</ins>"
        "&lt;/<del>b</del><ins>script</ins>&gt; &amp; <del>&quot;</del><ins>&#x27;</ins>"
        "quoted<del>&quot;</del><ins>&#x27;</ins>"
    )
