"""Test support shipped with the package (fault injection); production code never imports it."""
