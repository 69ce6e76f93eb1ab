"""HTTP edges of the registry: each view parses input, calls one core function, renders."""
