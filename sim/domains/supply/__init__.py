"""Supply chains: serial and networked inventory systems under ordering policies and disruptions."""
