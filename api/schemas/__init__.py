"""Wire schemas, one module per route module: what the API takes and gives, with examples."""
