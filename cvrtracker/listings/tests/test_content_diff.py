"""content_diff and content_apply: field-level changes between two canonical contents."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from cvrtracker.listings.diff import FieldChange, content_apply, content_diff, content_digest_view

# No example database on disk, no deadline: two cores are shared by several test runs.
PROPERTY = settings(database=None, deadline=None, max_examples=150)

SUPPRESSION = {
    "code": "90220",
    "severity": "ERROR",
    "message": "'item_type_keyword' is required but not supplied.",
    "enforcement": ["SEARCH_SUPPRESSED"],
}
WARNING = {"code": "18448", "severity": "WARNING", "message": "Missing.", "enforcement": []}


def content(**fields) -> dict:
    base = {
        "title": "Acme Kettle, 1.7 l",
        "bullets": ["Boils fast", "Quiet", "Auto off"],
        "description": "A kettle.",
        "images": [
            {"variant": "MAIN", "link": "https://m.media-amazon.com/images/I/main.jpg"},
            {"variant": "PT01", "link": "https://m.media-amazon.com/images/I/pt1.jpg"},
            {"variant": "PT02", "link": "https://m.media-amazon.com/images/I/pt2.jpg"},
        ],
        "price": {"amount": "20.00", "currency": "USD"},
        "fba_quantity": None,
        "mfn_quantity": 12,
        "status": ["BUYABLE", "DISCOVERABLE"],
        "issues": [],
        "brand": "Acme",
        "product_type": "KITCHEN",
    }
    return {**base, **fields}


def only(changes: list[FieldChange]) -> FieldChange:
    assert len(changes) == 1, changes
    return changes[0]


# -- each field kind ------------------------------------------------------------------


def test_equal_contents_have_no_change():
    assert content_diff(content(), content()) == []


def test_a_first_snapshot_has_no_change():
    assert content_diff(None, content()) == []


def test_a_title_edit():
    change = only(content_diff(content(), content(title="Acme Kettle 2")))
    assert change.payload() == {
        "action": "edited",
        "before": "Acme Kettle, 1.7 l",
        "after": "Acme Kettle 2",
    }
    assert change.field == "title" and change.position is None


def test_a_description_edit():
    change = only(content_diff(content(), content(description="A better kettle.")))
    assert (change.field, change.action, change.after) == (
        "description",
        "edited",
        "A better kettle.",
    )


def test_an_inserted_bullet_is_one_addition_not_an_edit_of_every_later_one():
    new = content(bullets=["Boils fast", "Steel body", "Quiet", "Auto off"])
    change = only(content_diff(content(), new))
    assert (change.field, change.action, change.position) == ("bullet", "added", 2)
    assert change.before is None and change.after == "Steel body"


def test_a_removed_bullet_is_dated_at_its_old_place():
    change = only(content_diff(content(), content(bullets=["Boils fast", "Auto off"])))
    assert (change.action, change.position, change.before, change.after) == (
        "removed",
        2,
        "Quiet",
        None,
    )


def test_an_edited_bullet():
    change = only(content_diff(content(), content(bullets=["Boils fast", "Silent", "Auto off"])))
    assert change.payload() == {"action": "edited", "before": "Quiet", "after": "Silent"}
    assert change.position == 2


def test_a_moved_bullet_is_reordered_from_its_old_place():
    change = only(content_diff(content(), content(bullets=["Auto off", "Boils fast", "Quiet"])))
    assert change.payload() == {
        "action": "reordered",
        "before": "Auto off",
        "after": "Auto off",
        "from_position": 3,
    }
    assert change.position == 1


def test_a_replaced_main_image():
    images = copy.deepcopy(content()["images"])
    images[0]["link"] = "https://m.media-amazon.com/images/I/main2.jpg"
    change = only(content_diff(content(), content(images=images)))
    assert (change.field, change.action, change.position) == ("main_image", "edited", None)
    assert change.before.endswith("main.jpg") and change.after.endswith("main2.jpg")


def test_other_images_are_added_removed_replaced_and_reordered_by_place():
    old = content()
    link = "https://m.media-amazon.com/images/I/{}.jpg".format
    added = content(images=old["images"] + [{"variant": "PT03", "link": link("pt3")}])
    change = only(content_diff(old, added))
    assert (change.field, change.action, change.position, change.after) == (
        "image",
        "added",
        3,
        link("pt3"),
    )
    removed = only(content_diff(old, content(images=old["images"][:2])))
    assert (removed.action, removed.position, removed.before) == ("removed", 2, link("pt2"))
    replaced = copy.deepcopy(old["images"])
    replaced[1]["link"] = link("pt1b")
    edited = only(content_diff(old, content(images=replaced)))
    assert (edited.action, edited.before, edited.after) == ("edited", link("pt1"), link("pt1b"))
    swapped = [old["images"][0], old["images"][2], old["images"][1]]
    moved = only(content_diff(old, content(images=swapped)))
    assert moved.action == "reordered" and moved.field == "image"
    # Re-numbering the variants without changing the gallery is no change.
    renamed = [old["images"][0], {"variant": "PT03", "link": link("pt1")}, old["images"][2]]
    renamed[2] = {"variant": "PT05", "link": link("pt2")}
    assert content_diff(old, content(images=renamed)) == []


def test_a_price_change_with_its_percentage():
    change = only(content_diff(content(), content(price={"amount": "17.99", "currency": "USD"})))
    assert change.payload() == {
        "action": "changed",
        "before": {"amount": "20.00", "currency": "USD"},
        "after": {"amount": "17.99", "currency": "USD"},
        "pct": -10.05,
    }


def test_a_currency_change_has_no_percentage():
    change = only(content_diff(content(), content(price={"amount": "20.00", "currency": "CAD"})))
    assert change.action == "changed" and change.extras == {"pct": None}


def test_an_offer_that_goes_away_and_comes_back():
    gone = only(content_diff(content(), content(price=None)))
    assert (gone.action, gone.after, gone.extras["pct"]) == ("removed", None, None)
    back = only(content_diff(content(price=None), content()))
    assert back.action == "added" and back.after == {"amount": "20.00", "currency": "USD"}


def test_stock_counts_only_when_it_crosses_zero():
    assert content_diff(content(mfn_quantity=12), content(mfn_quantity=3)) == []
    out = only(content_diff(content(mfn_quantity=3), content(mfn_quantity=0)))
    assert (out.field, out.action, out.before, out.after) == ("mfn_stock", "out_of_stock", 3, 0)
    back = only(content_diff(content(fba_quantity=0), content(fba_quantity=40)))
    assert (back.field, back.action, back.before, back.after) == (
        "fba_stock",
        "back_in_stock",
        0,
        40,
    )


def test_an_unknown_quantity_becoming_known_is_not_a_change():
    assert content_diff(content(fba_quantity=None), content(fba_quantity=0)) == []
    assert content_diff(content(mfn_quantity=5), content(mfn_quantity=None)) == []


def test_a_status_change():
    change = only(content_diff(content(), content(status=["DISCOVERABLE"])))
    assert change.payload() == {
        "action": "changed",
        "before": ["BUYABLE", "DISCOVERABLE"],
        "after": ["DISCOVERABLE"],
    }


def test_status_order_is_not_a_change():
    assert content_diff(content(), content(status=["DISCOVERABLE", "BUYABLE"])) == []


def test_a_suppressing_issue_appears_and_clears():
    appeared = only(content_diff(content(), content(issues=[SUPPRESSION])))
    assert appeared.payload() == {
        "action": "appeared",
        "before": None,
        "after": SUPPRESSION,
        "severity": "ERROR",
        "suppresses": True,
    }
    assert appeared.discriminator == "90220"
    cleared = only(content_diff(content(issues=[SUPPRESSION, WARNING]), content(issues=[WARNING])))
    assert (cleared.action, cleared.before, cleared.after) == ("cleared", SUPPRESSION, None)


def test_a_warning_does_not_suppress():
    change = only(content_diff(content(), content(issues=[WARNING])))
    assert change.extras == {"severity": "WARNING", "suppresses": False}
    # An ERROR without a suppression enforcement does not hide the listing either.
    error = {**WARNING, "code": "1", "severity": "ERROR"}
    assert only(content_diff(content(), content(issues=[error]))).extras["suppresses"] is False


def test_an_issue_whose_message_changes_is_the_same_issue():
    reworded = {**WARNING, "message": "Still missing."}
    assert content_diff(content(issues=[WARNING]), content(issues=[reworded])) == []


def test_brand_and_product_type_changes():
    changes = content_diff(content(), content(brand="Acme Pro", product_type="KETTLE"))
    assert [(c.field, c.action, c.before, c.after) for c in changes] == [
        ("brand", "changed", "Acme", "Acme Pro"),
        ("product_type", "changed", "KITCHEN", "KETTLE"),
    ]


def test_brand_and_product_type_missing_before_are_no_change():
    # Snapshots taken before brand and product type were kept have neither key.
    old = {k: v for k, v in content().items() if k not in ("brand", "product_type")}
    assert content_diff(old, content()) == []
    assert content_diff(content(), old) == []


def test_the_sellers_side_is_not_compared():
    old = content(seller={"title": "Mine", "bullets": [], "description": "", "images": []})
    new = content(seller={"title": "Mine, edited", "bullets": [], "description": "", "images": []})
    assert content_diff(old, new) == []


def test_several_fields_change_at_once():
    new = content(
        title="New",
        bullets=["Boils fast", "Quiet", "Auto off", "Two year warranty"],
        price={"amount": "25.00", "currency": "USD"},
        mfn_quantity=0,
    )
    fields = sorted(c.field for c in content_diff(content(), new))
    assert fields == ["bullet", "mfn_stock", "price", "title"]


# -- properties -----------------------------------------------------------------------

WORDS = st.sampled_from(["Quiet", "Fast", "Steel", "Warranty", "Light", "Safe", "Blue"])
LINKS = st.sampled_from([f"https://m.media-amazon.com/images/I/{n}.jpg" for n in "abcdefg"])
ISSUES = st.sampled_from(
    [
        SUPPRESSION,
        WARNING,
        {"code": "8541", "severity": "ERROR", "message": "Mismatch.", "enforcement": []},
        {
            "code": "99",
            "severity": "ERROR",
            "message": "Gone.",
            "enforcement": ["LISTING_SUPPRESSED"],
        },
    ]
)
QUANTITY = st.one_of(st.none(), st.integers(min_value=0, max_value=30))
OPTIONAL = st.sampled_from(["", "missing", "Acme", "Zed"])


@st.composite
def contents(draw) -> dict:
    main = draw(st.one_of(st.none(), LINKS))
    others = draw(st.lists(LINKS, max_size=6))
    images = [{"variant": "MAIN", "link": main}] if main else []
    images += [{"variant": f"PT{n:02d}", "link": link} for n, link in enumerate(others, 1)]
    price = draw(
        st.one_of(
            st.none(),
            st.builds(
                lambda cents, currency: {"amount": f"{cents / 100:.2f}", "currency": currency},
                st.integers(min_value=0, max_value=5000),
                st.sampled_from(["USD", "CAD"]),
            ),
        )
    )
    issues = draw(st.lists(ISSUES, max_size=4, unique_by=lambda i: i["code"]))
    out = {
        "title": draw(WORDS),
        "bullets": draw(st.lists(WORDS, max_size=7)),
        "description": draw(st.sampled_from(["", "A kettle.", "A better kettle."])),
        "images": images,
        "price": price,
        "fba_quantity": draw(QUANTITY),
        "mfn_quantity": draw(QUANTITY),
        "status": sorted(draw(st.sets(st.sampled_from(["BUYABLE", "DISCOVERABLE"])))),
        "issues": issues,
    }
    for key in ("brand", "product_type"):
        value = draw(OPTIONAL)
        if value != "missing":
            out[key] = value
    return out


def compared(content: dict) -> dict:
    """What a diff compares: the gallery's links (not their variant names), stock as in or
    out (None: unknown), the set of statuses, the issues' codes, brand and product type
    when known."""
    main = next((i["link"] for i in content["images"] if i["variant"] == "MAIN"), None)
    return {
        "title": content["title"],
        "bullets": content["bullets"],
        "description": content["description"],
        "main_image": main,
        "images": [i["link"] for i in content["images"] if i["variant"] != "MAIN"],
        "price": content["price"],
        "fba": None if content["fba_quantity"] is None else content["fba_quantity"] > 0,
        "mfn": None if content["mfn_quantity"] is None else content["mfn_quantity"] > 0,
        "status": sorted(set(content["status"])),
        "issues": sorted(i["code"] for i in content["issues"]),
        "brand": content.get("brand"),
        "product_type": content.get("product_type"),
    }


def comparable(old: dict, new: dict, result: dict) -> tuple[dict, dict]:
    """`result` and `new` on what can be compared from `old` to `new`: a quantity or a
    brand unknown on either side is never a change, so it keeps its old state."""
    before, after, got = compared(old), compared(new), compared(result)
    for key in ("fba", "mfn", "brand", "product_type"):
        if before[key] is None or after[key] is None:
            got[key] = after[key] = before[key]
    return got, after


@PROPERTY
@given(contents())
def test_a_content_compared_with_itself_has_no_change(c):
    assert content_diff(c, copy.deepcopy(c)) == []


@PROPERTY
@given(contents())
def test_a_first_snapshot_never_has_a_change(c):
    assert content_diff(None, c) == []


@PROPERTY
@given(contents(), contents())
def test_applying_the_changes_gives_the_new_content(old, new):
    changes = content_diff(old, new)
    got, expected = comparable(old, new, content_apply(old, changes))
    assert got == expected


@PROPERTY
@given(contents(), contents())
def test_no_two_changes_share_a_field_place_and_kind(old, new):
    changes = content_diff(old, new)
    keys = [(c.field, c.position, c.discriminator) for c in changes]
    assert len(keys) == len(set(keys))
    # And every change is a real one: before and after differ, or the item moved.
    for change in changes:
        assert change.before != change.after or change.action == "reordered"


@PROPERTY
@given(st.lists(WORDS, max_size=7), st.integers(min_value=0, max_value=7), WORDS)
def test_one_inserted_bullet_is_one_change(bullets, at, bullet):
    at = min(at, len(bullets))
    new = bullets[:at] + [bullet] + bullets[at:]
    changes = content_diff(content(bullets=bullets), content(bullets=new))
    assert len(changes) == 1 and changes[0].action == "added"


@PROPERTY
@given(contents(), contents(), QUANTITY, QUANTITY)
def test_the_digest_never_hides_a_change(old, other, fba, mfn):
    # A snapshot (and its changes) is stored only when the digest view differs.
    for new in (other, {**old, "fba_quantity": fba, "mfn_quantity": mfn}):
        if content_diff(old, new):
            assert content_digest_view(old) != content_digest_view(new)
