"""The payments world's aggregate actors, as Mesa users inspect them (`model.agents`): each population of
accounts (merchants one per category where they have categories) with its balances and limits as read
now, and each fraud ring with its members and the incidents it has started."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.engine.world import Actor

if TYPE_CHECKING:
    from sim.domains.payments.accounts import Block
    from sim.domains.payments.world import PaymentsWorld

KINDS = {"customer": "customers", "merchant": "merchants", "bank": "banks", "mule": "mules"}


def payments_actors(world: PaymentsWorld) -> list[Actor]:
    accounts = world.accounts
    blocks: list[tuple[str, str, Block]] = []
    for block in accounts.blocks.values():
        if block.role == "merchant" and accounts.category_names:
            blocks += [("merchant_category", b.name, b) for b in accounts.category_blocks]
        elif block.role in KINDS:
            blocks.append((KINDS[block.role], block.name, block))
    actors = [Actor(kind, name, _account_views(world, block)) for kind, name, block in blocks]
    fraud = world.fraud
    for name, spec in fraud.specs.items():
        views = {
            "typology": lambda spec=spec: spec.typology,
            "members": lambda name=name: fraud.counts[name],
            "incidents": lambda name=name: fraud.incidents[name],
        }
        actors.append(Actor("fraud_ring", name, views))
    return actors


def _account_views(world: PaymentsWorld, block: Block) -> dict:
    rows = slice(block.start, block.stop)
    return {
        "size": lambda: block.size,
        "balance": lambda: world.balance[world.public[rows]],
        "overdraft_limit": lambda: world.overdraft[world.public[rows]],
        "opening_balance": lambda: world.accounts.opening[rows],
        "transactions_per_day": lambda: world.accounts.rate_per_day[rows],
    }
