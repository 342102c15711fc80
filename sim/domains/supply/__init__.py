"""Supply chains and distribution trees under ordering policies and disruptions."""
