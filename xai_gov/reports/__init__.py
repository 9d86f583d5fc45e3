"""PDF audit packets (reportlab stays in this folder): a decision packet and a model-version packet."""
