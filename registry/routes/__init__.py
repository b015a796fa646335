"""HTTP routes, one module per resource. Thin: parse, call the store, shape the answer."""
