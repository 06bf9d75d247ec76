"""Name parts for generated customers, so large customer lists still read like real clients."""

from __future__ import annotations

import random

PLACES = (
    "Banksia",
    "Coral Bay",
    "Redgum",
    "Wattle",
    "Harbourside",
    "Blue Gum",
    "Ironbark",
    "Saltwater",
    "Jacaranda",
    "Lyrebird",
    "Brindabella",
    "Tasman",
    "Barossa",
    "Karri",
    "Southern Reach",
    "Northshore",
    "Riverbend",
    "Eastbrook",
    "Highfield",
    "Kingfisher",
    "Silver Birch",
    "Oakridge",
    "Greenway",
    "Stonebridge",
    "Cedar Point",
    "Westgate",
    "Mariner",
    "Summit",
    "Bayview",
    "Clearwater",
)
TRADES = (
    "Logistics",
    "Dental",
    "Legal",
    "Accounting",
    "Physiotherapy",
    "Builders",
    "Realty",
    "Veterinary Clinic",
    "Engineering",
    "Architects",
    "Freight",
    "Medical Centre",
    "Plumbing",
    "Electrical",
    "Landscapes",
    "Consulting",
    "Optometrists",
    "Pharmacy",
    "Property Group",
    "Recruitment",
    "Hospitality Group",
    "Childcare",
    "Fitness",
    "Interiors",
    "Motors",
)


def company_names(rng: random.Random, count: int, *, suffix: str, taken: set[str]) -> list[str]:
    """Distinct company names not already in `taken` (which is updated)."""
    names: list[str] = []
    while len(names) < count:
        name = f"{rng.choice(PLACES)} {rng.choice(TRADES)} {suffix}"
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names
