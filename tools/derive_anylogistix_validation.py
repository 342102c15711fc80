"""Derive scenarios/validation/anylogistix_kpis.csv: the anyLogistix answers of the SupplyNetPy validation
models 1-8 (all 19 KPIs each; SupplyNetPy agrees with every one), in long form, checked for consistency.

Usage: python tools/derive_anylogistix_validation.py ../shared/reference/supplynetpy_anylogistix
Source: SupplyChainSimulation/SupplyNetPy validation/validation_snp_anylogistix_cmp.csv (MIT, commit
fcae5f4), encoding cp1252. Only the derived table is written, never a copy of the file.

Three things in the published sheet are fixed here, each proved by the sheet's own identities (total cost
= holding + spend + transport, profit = revenue - total cost, cost per order = total cost / every order
placed, cost per item = total cost / every unit ordered, demand received = customers' + sites'), which the
script checks for every model after the fixes:
- models 6-8 list their values in anyLogistix's own metric order, not in the sheet's row order;
- model 2's average cost per item and per order are swapped;
- model 1's "demand received" cells read 36 orders and 35 products, but its cost per order and per item
  (published to 10 digits) divide its total cost by 37 and 7,100, the customers' plus the site's orders.
"""

import sys
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "scenarios" / "validation" / "anylogistix_kpis.csv"
METRICS = [  # the sheet's row order
    "Available Inventory (at Simulation End)", "Average cost per item", "Average cost per order",
    "Demand Placed (Orders) by Customer", "Demand Placed (Orders) by Site",
    "Demand Placed (Products) by Customer", "Demand Placed (Products) by Site",
    "Demand received (orders) Total", "Demand received (products) Total",
    "Fulfillment Received (Orders) by Customer", "Fulfillment Received (Orders) by Site",
    "Fulfillment Received (Products) by Customer", "Fulfillment Received (Products) by Site",
    "Inventory carrying (holding) cost", "Inventory spend (replenishment cost)", "Profit", "Revenue",
    "Total cost", "Tranportation cost",
]  # fmt: skip
ANYLOGISTIX_ORDER = [  # models 6-8: the same metrics in anyLogistix's order
    "Available Inventory (at Simulation End)", "Demand Placed (Orders) by Customer",
    "Demand Placed (Orders) by Site", "Demand Placed (Products) by Customer",
    "Demand Placed (Products) by Site", "Demand received (orders) Total", "Demand received (products) Total",
    "Fulfillment Received (Orders) by Customer", "Fulfillment Received (Orders) by Site",
    "Fulfillment Received (Products) by Customer", "Fulfillment Received (Products) by Site",
    "Average cost per item", "Average cost per order", "Inventory carrying (holding) cost",
    "Inventory spend (replenishment cost)", "Tranportation cost", "Total cost", "Revenue", "Profit",
]  # fmt: skip


def published(folder: Path) -> dict[int, dict[str, str]]:
    sheet = pd.read_csv(folder / "validation_snp_anylogistix_cmp.csv", encoding="cp1252", header=None)
    rows = sheet.iloc[3:].set_index(0)
    assert list(rows.index) == METRICS, list(rows.index)
    return {m: dict(rows[1 + 3 * (m - 1)].items()) for m in range(1, 9)}  # the published text


def fixed(models: dict[int, dict[str, str]]) -> dict[int, dict[str, str]]:
    out = {m: dict(v) for m, v in models.items()}
    for m in (6, 7, 8):
        values = [models[m][k] for k in METRICS]
        out[m] = dict(zip(ANYLOGISTIX_ORDER, values, strict=True))
    two = out[2]
    two["Average cost per item"], two["Average cost per order"] = (
        two["Average cost per order"], two["Average cost per item"])  # fmt: skip
    one = out[1]
    for what in ("Orders", "Products"):
        placed = int(one[f"Demand Placed ({what}) by Customer"]) + int(one[f"Demand Placed ({what}) by Site"])
        one[f"Demand received ({what.lower()}) Total"] = str(placed)
    return out


def check(m: int, text: dict[str, str]) -> None:
    k = {name: float(value) for name, value in text.items()}
    total = k["Total cost"]
    orders, units = k["Demand received (orders) Total"], k["Demand received (products) Total"]
    spent = k["Inventory carrying (holding) cost"] + k["Inventory spend (replenishment cost)"]
    identities = {
        "total cost": (total, spent + k["Tranportation cost"]),
        "profit": (k["Profit"], k["Revenue"] - total),
        "cost per order": (k["Average cost per order"], total / orders),
        "cost per item": (k["Average cost per item"], total / units),
        "orders": (orders, k["Demand Placed (Orders) by Customer"] + k["Demand Placed (Orders) by Site"]),
        "units": (units, k["Demand Placed (Products) by Customer"] + k["Demand Placed (Products) by Site"]),
    }  # fmt: skip
    for name, (value, expected) in identities.items():  # to the digits published
        assert abs(value - expected) <= 1e-5 * max(1.0, abs(expected)), (m, name, value, expected)


def main(folder: Path) -> None:
    models = fixed(published(folder))
    lines = [
        "# Derived by tools/derive_anylogistix_validation.py from SupplyChainSimulation/SupplyNetPy",
        "# validation/validation_snp_anylogistix_cmp.csv (commit fcae5f4, MIT): anyLogistix's KPIs of the",
        "# validation models 1-8 (SupplyNetPy's agree to zero difference); models 6-8 un-permuted, model 2's",
        "# cost per item/order unswapped, model 1's demand received recomputed (see the script's docstring)",
        "model,metric,value",
    ]
    for m, kpis in models.items():
        check(m, kpis)
        lines += [f'{m},"{name}",{kpis[name]}' for name in METRICS]
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT} ({len(lines) - 5} values)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
