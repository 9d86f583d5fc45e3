"""The decision packet's part for each method's record section: a module per section, defining

- ``SECTION``: the record's key it renders, and ``PLACE``: where in the packet (lower first);
- ``flowables(record)``: the part itself (called only where the record has the section);
- optionally ``trust_rows(scores)``: rows (score, value, what it measures) of the packet's score table,
  and ``FLAGS``: (score path, test, caution) shown in plain words when the test holds.
"""
