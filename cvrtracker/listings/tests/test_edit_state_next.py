"""edit_state_next: the seller's own edits, other contributors' changes, edits not live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cvrtracker.listings.edits import BY_OTHER, BY_SELLER, edit_state_next

NOW = datetime(2026, 12, 2, 18, 0, tzinfo=UTC)
PAGE = {"title": "Kettle", "bullets": ["Steel"], "description": "A kettle.", "images": []}


def page(**fields):
    return {**PAGE, **fields}


def step(previous, current, pending=(), since=None, now=NOW):
    return edit_state_next(
        previous=previous, current=current, pending_fields=pending, pending_since=since, now=now
    )


def test_a_seller_edit_waits_then_is_their_own_when_the_page_shows_it():
    edited = step((page(), page()), (page(), page(title="Better Kettle")))
    assert edited.pending_fields == ("title",) and edited.pending_since == NOW
    assert edited.catalog_changed == () and edited.changed_by == ""
    later = NOW + timedelta(days=2)
    live = step(
        (page(), page(title="Better Kettle")),
        (page(title="Better Kettle"), page(title="Better Kettle")),
        edited.pending_fields,
        edited.pending_since,
        later,
    )
    assert live.catalog_changed == ("title",) and live.changed_by == BY_SELLER
    assert live.pending_fields == () and live.pending_since is None


def test_a_page_change_the_seller_did_not_make_is_another_contributors():
    state = step((page(), page()), (page(title="Amazon Kettle"), page()))
    assert state.changed_by == BY_OTHER and state.catalog_changed == ("title",)


def test_a_page_change_to_another_value_than_the_sellers_is_not_theirs():
    state = step(
        (page(), page(title="Mine")), (page(title="Theirs"), page(title="Mine")), ["title"], NOW
    )
    assert state.changed_by == BY_OTHER
    assert state.pending_fields == ("title",)


def test_an_edit_keeps_its_first_day_while_more_edits_wait():
    first = NOW - timedelta(days=2)
    state = step(
        (page(), page(title="Mine")),
        (page(), page(title="Mine", description="New")),
        ["title"],
        first,
    )
    assert state.pending_fields == ("title", "description") and state.pending_since == first


def test_a_reverted_edit_is_no_longer_pending_and_no_page_change():
    state = step((page(), page(title="Mine")), (page(), page()), ["title"], NOW)
    assert state.pending_fields == () and state.catalog_changed == ()


def test_an_image_edit_counts_as_live_when_the_page_images_change_after_it():
    # Amazon serves its own link for a processed image, not the one submitted.
    submitted = [{"variant": "MAIN", "link": "https://seller.example/new.jpg"}]
    served = [{"variant": "MAIN", "link": "https://m.media-amazon.com/images/I/x.jpg"}]
    state = step(
        (page(), page(images=submitted)),
        (page(images=served), page(images=submitted)),
        ["images"],
        NOW,
    )
    assert state.changed_by == BY_SELLER and state.pending_fields == ()


def test_after_a_snapshot_of_one_side_the_author_is_unknown():
    state = step((page(), None), (page(title="New"), page()))
    assert state.catalog_changed == ("title",) and state.changed_by == ""
    assert state.pending_fields == ()


def test_the_first_snapshot_changes_nothing():
    state = step((None, None), (page(), page(title="Differs from the page")))
    assert state.catalog_changed == () and state.pending_fields == ()
