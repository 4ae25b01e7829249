"""Product copy for the seeded world: titles, bullet points, descriptions, images.

Every text is derived from a few hashed choices among hand-written phrases, so
a 50,000-product catalogue costs no memory until a listing is actually read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .hashing import pick, unit


@dataclass(frozen=True)
class Category:
    product_type: str
    browse_name: str
    browse_id: str
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]
    features: tuple[str, ...]
    materials: tuple[str, ...]
    price_range: tuple[float, float]


CATEGORIES: tuple[Category, ...] = (
    Category(
        "KITCHEN",
        "Kitchen & Dining",
        "284507",
        (
            "Chef's Knife",
            "Cutting Board",
            "Pour-Over Coffee Kettle",
            "Spice Grinder",
            "Salad Spinner",
        ),
        ("Professional", "Compact", "Premium", "Ergonomic", "Heavy-Duty"),
        ("Dishwasher Safe", "Non-Slip Base", "Gift Box Included", "BPA Free", "Easy Clean"),
        ("Stainless Steel", "Bamboo", "Acacia Wood", "Borosilicate Glass", "Cast Iron"),
        (9.0, 79.0),
    ),
    Category(
        "SPORTING_GOODS",
        "Sports & Outdoors",
        "3375251",
        ("Yoga Mat", "Resistance Band Set", "Jump Rope", "Water Bottle", "Foam Roller"),
        ("Extra Thick", "Lightweight", "Travel", "Pro", "Adjustable"),
        ("Non-Slip Surface", "Carry Strap Included", "Leak Proof", "Sweat Resistant", "Foldable"),
        ("TPE", "Natural Rubber", "Insulated Steel", "EVA Foam", "Nylon"),
        (12.0, 59.0),
    ),
    Category(
        "PET_SUPPLIES",
        "Pet Supplies",
        "2619533011",
        ("Dog Leash", "Cat Scratching Post", "Pet Water Fountain", "Slow Feeder Bowl", "Dog Bed"),
        ("Reflective", "Orthopedic", "Quiet", "Chew Resistant", "Washable"),
        ("For Small and Medium Dogs", "Ultra Quiet Pump", "Machine Washable Cover", "Anti-Slip"),
        ("Nylon", "Sisal Rope", "Memory Foam", "Food-Grade Silicone", "Ceramic"),
        (11.0, 69.0),
    ),
    Category(
        "OFFICE_PRODUCTS",
        "Office Products",
        "1064954",
        (
            "Desk Organizer",
            "Monitor Stand",
            "Gel Pen Set",
            "Dotted Notebook",
            "Cable Management Box",
        ),
        ("Minimalist", "Large", "Stackable", "Refillable", "Sturdy"),
        ("With Drawer", "Quick Dry Ink", "120 GSM Paper", "Fits Most Monitors", "Tool-Free Setup"),
        ("Walnut Wood", "Aluminum", "Recycled Paper", "ABS Plastic", "Mesh Metal"),
        (7.0, 49.0),
    ),
    Category(
        "BEAUTY",
        "Beauty & Personal Care",
        "3760911",
        (
            "Facial Cleansing Brush",
            "Hair Dryer Brush",
            "Makeup Brush Set",
            "Jade Roller",
            "Nail Kit",
        ),
        ("Gentle", "Salon Grade", "Travel Size", "Rechargeable", "Vegan"),
        ("Cruelty Free", "For All Skin Types", "Waterproof", "With Storage Case", "Cordless"),
        ("Soft Silicone", "Synthetic Bristles", "Natural Jade", "Ceramic Ionic", "Stainless Steel"),
        (10.0, 89.0),
    ),
    Category(
        "HOME",
        "Home & Kitchen",
        "1055398",
        ("Throw Blanket", "Scented Candle", "Storage Basket", "Shower Curtain", "Table Lamp"),
        ("Cozy", "Modern", "Handwoven", "Dimmable", "Oversized"),
        ("Machine Washable", "40 Hour Burn Time", "Set of 3", "Mildew Resistant", "Touch Control"),
        ("Sherpa Fleece", "Soy Wax", "Seagrass", "Polyester", "Linen"),
        (14.0, 99.0),
    ),
)

COLORS = ("Black", "White", "Sage Green", "Navy Blue", "Charcoal", "Blush Pink", "Natural", "Grey")
SIZES = ("Small", "Medium", "Large", "12 Inch", "2 Pack", "4 Pack", "One Size")
BRAND_STEMS = (
    "Northway",
    "Kivo",
    "Lumera",
    "Brightnest",
    "Oakhollow",
    "Velta",
    "Pinecrest",
    "Zenko",
)
BRAND_SUFFIXES = ("", " Home", " Co.", " Goods", " Labs")

BULLET_TEMPLATES = (
    "{FEATURE}: our {adj} {noun} is built from {material} to last through daily use.",
    "WHY IT WORKS: a design tested by {count} customers before launch, {feature_lc}.",
    "EASY TO USE: ready out of the box, with a quick start guide and no tools needed.",
    "WHAT YOU GET: 1 {noun} in {color}, {size}, plus our 30-day satisfaction promise.",
    "THOUGHTFUL GIFT: packed in a recyclable box that is ready for birthdays and holidays.",
)

# The Listings model's shape for an ERROR issue that takes the listing out of search.
SUPPRESSION_ISSUE = {
    "code": "90220",
    "message": "'item_type_keyword' is required but not supplied.",
    "severity": "ERROR",
    "attributeNames": ["item_type_keyword"],
    "categories": ["MISSING_ATTRIBUTE"],
    "enforcements": {
        "actions": [{"action": "SEARCH_SUPPRESSED"}],
        "exemption": {"status": "NOT_EXEMPT"},
    },
}


def brand_for(seed: int, seller_index: int, brand_index: int) -> str:
    stem = pick(BRAND_STEMS, seed, "brand", seller_index, brand_index)
    return stem + pick(BRAND_SUFFIXES, seed, "brand-suffix", seller_index, brand_index)


def base_copy(seed: int, seller_index: int, index: int, brand: str, cat: Category) -> dict:
    """The launch copy of a product: title, five bullets, description, colour and size."""
    # Every listing read builds it again (several times per call): keep the drawn text,
    # hand out a fresh dict and list so that no caller can change the cached one.
    copy = _base_copy(seed, seller_index, index, brand, cat)
    return {**copy, "bullets": list(copy["bullets"])}


@lru_cache(maxsize=65_536)
def _base_copy(seed: int, seller_index: int, index: int, brand: str, cat: Category) -> dict:
    key = (seed, seller_index, index)
    noun = pick(cat.nouns, *key, "noun")
    adj = pick(cat.adjectives, *key, "adj")
    feature = pick(cat.features, *key, "feature")
    material = pick(cat.materials, *key, "material")
    color = pick(COLORS, *key, "color")
    size = pick(SIZES, *key, "size")
    count = 100 + int(unit(*key, "count") * 4900)
    words = {
        "noun": noun.lower(),
        "adj": adj.lower(),
        "FEATURE": feature.upper(),
        "feature_lc": feature.lower(),
        "material": material.lower(),
        "color": color.lower(),
        "size": size.lower(),
        "count": f"{count:,}",
    }
    return {
        "title": f"{brand} {adj} {noun}, {feature}, {material}, {color}, {size}",
        "bullets": [template.format(**words) for template in BULLET_TEMPLATES],
        "description": (
            f"The {brand} {noun} brings {adj.lower()} design to everyday life. "
            f"Made from {material.lower()} and finished in {color.lower()}, it is "
            f"{feature.lower()} and sized {size.lower()} to fit where you need it. "
            "Every unit is inspected before it ships."
        ),
        "color": color,
        "size": size,
        "material": material,
    }


def rewritten_title(title: str, version: int) -> str:
    """A later title for scripted title changes: same product, different wording."""
    hooks = ("Upgraded 2026 Model", "Best Seller Edition", "Bundle with Travel Pouch", "New Look")
    base = title.split(", ")[0]
    return f"{base} - {hooks[version % len(hooks)]}, {', '.join(title.split(', ')[1:])}"


def rewritten_bullet(bullet: str, version: int) -> str:
    leads = ("NOW IMPROVED", "CUSTOMER FAVOURITE", "RISK FREE", "MADE TO LAST")
    return f"{leads[version % len(leads)]}: " + bullet.split(": ", 1)[-1]


@lru_cache(maxsize=262_144)
def image_id(seed: int, seller_index: int, index: int, variant: str, version: int = 0) -> str:
    """An Amazon-style image id (e.g. 71aB3cD4eFL) for a product image variant."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    n = int(unit(seed, seller_index, index, variant, version, "img") * 2**52)
    chars = []
    for _ in range(8):
        n, r = divmod(n, len(alphabet))
        chars.append(alphabet[r])
    return "71" + "".join(chars) + "L"
