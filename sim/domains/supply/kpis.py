"""The supply world's KPIs: per node (its products together), per product and for the network: service,
stock, flows and money, the bullwhip ratio, and per disruption what end customers felt. A mixin of
`SupplyWorld`, reading its kernel run (`run`), streams of customer orders and lanes after the run."""

from __future__ import annotations

import numpy as np


class NetworkKpis:
    ADDITIVE = ("end_inventory", "orders_placed", "units_ordered", "deliveries_received", "units_received",
                "customer_orders", "customer_units", "customer_orders_delivered", "customer_units_delivered",
                "holding_cost", "backlog_cost", "purchase_cost", "ordering_cost", "transport_cost",
                "lost_sales", "total_cost", "revenue", "profit")  # fmt: skip

    def kpis(self, scale: float) -> dict:
        """Per node (its products together) and for the network: service, stock, flows, money and the
        bullwhip ratio; per product too when there are several."""
        n_nodes, n_products = len(self.names), len(self.product_names)
        per_node = {
            name: self._kpis_of([p * n_nodes + i for p in range(n_products)])
            for i, name in enumerate(self.names)
        }
        cost_by_node = {name: k["total_cost"] for name, k in per_node.items()}
        out = {
            "disruptions": [self._recovery(o) for o in self.occurrences],
            "nodes": per_node,
            "cost_by_node": cost_by_node,
            "team_cost": float(sum(cost_by_node.values())),
            "total": self._total(per_node, range(n_nodes * n_products)),
            "facilities": self.facilities.kpis(),
        }
        if n_products > 1:
            out["products"] = {}
            for p, product in enumerate(self.product_names):
                nodes = {name: self._kpis_of([p * n_nodes + i]) for i, name in enumerate(self.names)}
                out["products"][product] = {
                    "nodes": nodes,
                    "total": self._total(nodes, range(p * n_nodes, (p + 1) * n_nodes)),
                }
        return out

    def _total(self, per_node: dict, kernel_nodes) -> dict:
        """The network's KPIs from its nodes' (sums) and from the kernel nodes' series (service, stock)."""
        r, ks = self.run, list(kernel_nodes)
        total = {key: float(sum(k[key] for k in per_node.values())) for key in self.ADDITIVE}
        orders = total["customer_orders"] + total["orders_placed"]  # every order placed, by anyone
        units = total["customer_units"] + total["units_ordered"]
        total.update(
            fill_rate=float(r.external[0][:, ks].sum() / max(self.chain.demand[0][:, ks].sum(), 1e-12)),
            mean_inventory=float(r.inventory[0][:, ks].sum(axis=1).mean()),
            mean_backlog=float(r.backlog[0][:, ks].sum(axis=1).mean()),
            cost_per_order=total["total_cost"] / orders if orders else None,
            cost_per_unit=total["total_cost"] / units if units else None,
        )
        return total

    def _kpis_of(self, ks: list[int]) -> dict:
        """KPIs of kernel nodes `ks` taken together (one node's products, or one product at one node)."""
        r = self.run

        def summed(series: np.ndarray) -> np.ndarray:
            return series[0][:, ks].sum(axis=1)

        incoming, inventory, backlog = summed(r.incoming), summed(r.inventory), summed(r.backlog)
        short = (backlog > 0) | (summed(r.lost_sales) > 0)  # someone waits, or a customer left
        received_var = float(np.var(incoming))
        kpis = {
            "fill_rate": float(sum(self._filled_at_once(k).sum() for k in ks) / incoming.sum())
            if incoming.sum() > 0
            else None,
            "cycle_service_level": float(np.mean(~short)),
            "mean_inventory": float(inventory.mean()),
            "mean_backlog": float(backlog.mean()),
            "bullwhip": float(np.var(summed(r.orders)) / received_var) if received_var > 0 else None,
        }
        money = [self._flows_and_money(k) for k in ks]
        kpis.update({key: float(sum(m[key] for m in money)) for key in self.ADDITIVE})
        return kpis

    def _flows_and_money(self, k: int) -> dict:
        """Kernel node k's orders and deliveries, in counts and units, and its money. A delivery is a step
        in which goods arrived; a customer order is delivered when it is filled in full at once and reaches
        the customer (after its stream's `delivery_time`) within the horizon."""
        r, steps, node, value = self.run, self.chain.weeks, self.spec_nodes[k], self.value[k]
        orders, received = r.orders[0, :, k], r.received[0, :, k]
        inventory, backlog = r.inventory[0, :, k], r.backlog[0, :, k]
        transport = 0.0
        for index, (_, to, lane, _) in enumerate(self.lanes):
            if to == k:  # per shipment sent to node k, and per unit carried
                sent = r.lane_shipped[0, :, index]
                transport += lane.transport_cost * np.count_nonzero(sent) + lane.unit_cost * float(sent.sum())
        demand, filled = self.chain.demand[0, :, k], r.external[0, :, k]
        in_full = filled >= demand - 1e-9
        share = np.divide(filled, demand, out=np.zeros(steps), where=demand > 0)
        out = {"end_inventory": float(inventory[-1]), "orders_placed": int(np.count_nonzero(orders)),
               "units_ordered": float(orders.sum()), "deliveries_received": int(np.count_nonzero(received)),
               "units_received": float(received.sum()), "customer_orders": 0, "customer_units": 0.0,
               "customer_orders_delivered": 0, "customer_units_delivered": 0.0,
               "transport_cost": transport, "lost_sales": float(r.lost_sales[0, :, k].sum())}  # fmt: skip
        for j, (node_index, _, _, spec) in enumerate(self.streams):
            if node_index != k:
                continue
            placed = self.stream_orders[:, j]
            arrives = np.arange(steps) + spec.delivery_time < steps
            out["customer_orders"] += int(np.count_nonzero(placed))
            out["customer_units"] += float(placed.sum())
            out["customer_orders_delivered"] += int(np.count_nonzero((placed > 0) & in_full & arrives))
            out["customer_units_delivered"] += float((placed * share)[arrives].sum())
            out["transport_cost"] += spec.delivery_cost * int(np.count_nonzero((placed > 0) & (filled > 0)))
        out["holding_cost"] = float(node.holding_cost * value * inventory.sum())
        lost = float(r.lost_sales[0, :, k].sum())  # charged once per unit, as a step of backlog
        out["backlog_cost"] = float(node.backlog_cost * value * (backlog.sum() + lost))
        out["purchase_cost"] = node.buy_price * value * out["units_received"]
        out["ordering_cost"] = node.order_cost * out["orders_placed"]
        out["revenue"] = node.sell_price * value * float(r.sold[0, :, k].sum())
        costs = ("holding_cost", "backlog_cost", "purchase_cost", "ordering_cost", "transport_cost")
        out["total_cost"] = float(sum(out[c] for c in costs))
        out["profit"] = out["revenue"] - out["total_cost"]
        return out

    def _filled_at_once(self, i: int) -> np.ndarray:
        """Per step, how much of the orders node i received it filled at once (older backlog first)."""
        r = self.run
        incoming, shipped = r.incoming[0, :, i], r.shipped[0, :, i]
        backlog_before = r.backlog[0, :, i] - incoming + shipped + r.lost_sales[0, :, i]
        on_hand_for_new = np.maximum(r.inventory[0, :, i] + shipped - backlog_before, 0.0)
        return np.minimum(incoming, on_hand_for_new)

    def service_level(self) -> np.ndarray:
        """Per step, the share of customers' demand (at every node facing customers) filled at once."""
        demand = self.chain.demand[0].sum(axis=1)
        filled = self.run.external[0].sum(axis=1)
        return np.divide(filled, demand, out=np.ones_like(demand), where=demand > 0)

    def _recovery(self, occurrence) -> dict:
        """What end customers felt: from the disruption's start (until the next one starts), the first
        stretch in which the nodes facing customers run a backlog or lose sales, its peak (`impact`), and
        the steps from the start until it is cleared (`time_to_recover`; 0 when customers never noticed,
        None if it does not clear before the next disruption or the end)."""
        later = [o.start_step for o in self.occurrences if o.start_step > occurrence.start_step]
        stop = min(later, default=None)  # until the next disruption starts
        felt = self.run.backlog[0] + self.run.lost_sales[0]  # customers waiting, or gone without
        backlog = felt[occurrence.start_step : stop][:, self.customers].sum(axis=1)
        short = np.flatnonzero(backlog > 0)
        recover, impact = 0, 0.0
        if len(short):
            clear = np.flatnonzero(backlog[short[0] :] == 0)
            recover = int(short[0] + clear[0]) if len(clear) else None
            impact = float(backlog[short[0] : None if recover is None else recover].max())
        return {
            "event": occurrence.event,
            "kind": occurrence.kind,
            "target": occurrence.target,
            "start_step": occurrence.start_step,
            "end_step": occurrence.end_step,
            "impact": impact,
            "time_to_recover": recover,
        }
