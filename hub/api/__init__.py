"""HTTP layer of the hub: thin Litestar handlers (parse, call a service, return)."""
