"""The evaluation protocol for the provincial message board's 7 labels (../shared/data/README.md).

The board's labels are coarser than, and cut differently from, the county's 28 categories. A predicted category
counts as correct for a board label when it is in that label's set below (copied from the data's README).
"""

BOARD_LABEL_CATEGORIES = {
    "城乡建设": {
        "urban_rural_construction", "city_management", "water_gas_heating", "natural_resources", "work_safety",
        "fire_safety", "power_supply", "water_conservancy", "government_services",
    },
    "环境保护": {"eco_environment", "forestry_greening"},
    "交通运输": {"transport", "road_traffic_safety"},
    "教育文体": {"education_sports", "culture_tourism"},
    "劳动和社会保障": {
        "human_resources_social_security", "medical_insurance", "civil_affairs", "veterans_affairs",
        "disabled_persons", "tax_finance",
    },
    "商贸旅游": {"market_regulation", "culture_tourism", "telecom"},
    "卫生计生": {"health", "market_regulation", "medical_insurance"},
}


def is_correct(board_label: str, category: str | None) -> bool:
    """True when ``category`` counts as correct for ``board_label``.

    Raises:
        KeyError: ``board_label`` is not one of the board's 7 labels.
    """
    return category in BOARD_LABEL_CATEGORIES[board_label]
