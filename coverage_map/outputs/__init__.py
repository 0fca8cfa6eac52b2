"""Everything that leaves the tool: tables, figures, map exports, the HTML map and the report."""
