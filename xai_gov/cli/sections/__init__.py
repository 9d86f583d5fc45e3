"""``xai-gov explanations show``'s part for each method's record section: a module per section, defining
``SECTION`` (the record's key), ``PLACE`` (order, lower first), ``show(record)`` (called only where the
record has the section) and optionally ``score_rows(scores)``: (score, value) rows of "Every score"."""
