"""`pos demo`: the whole product (hub and one outlet edge) on one machine, set up as a real
chain is. It drives edge and hub through their CLIs and HTTP APIs only (``demo.launcher``)."""
